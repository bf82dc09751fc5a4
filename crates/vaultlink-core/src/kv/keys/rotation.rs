//! A key's rotation policy: stored as set, with Azure's default when none was.

use serde_json::{Value, json};

use super::store_key;
use crate::engine::{Batch, State};
use crate::error::Error;
use crate::kv::Admitted;
use crate::kv::objects::live;
use crate::model::{KeyObject, Record};

/// The policy Azure reports for a key that never had one set.
fn default_policy() -> Value {
    json!({
        "lifetimeActions": [{"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "Notify"}}],
        "attributes": {},
    })
}

fn render_policy(host: &str, name: &str, p: &Value) -> Value {
    let mut out = p.clone();
    out["id"] = json!(format!("https://{host}/keys/{name}/rotationpolicy"));
    out
}

/// `GET /keys/{name}/rotationpolicy`.
pub fn get_rotation_policy(state: &State, host: &str, vault: &Admitted, name: &str) -> Result<Value, Error> {
    let obj = live::<KeyObject>(state, vault, name)?;
    Ok(render_policy(host, &obj.name, obj.rotation_policy.as_ref().unwrap_or(&default_policy())))
}

/// `PUT /keys/{name}/rotationpolicy`: stores `lifetimeActions` and `attributes.expiryTime`; nothing
/// rotates automatically in vaultlink.
pub fn set_rotation_policy(
    state: &State,
    batch: &mut Batch,
    host: &str,
    vault: &Admitted,
    name: &str,
    body: Value,
) -> Result<Value, Error> {
    let mut obj = live::<KeyObject>(state, vault, name)?.clone();
    let actions = body.get("lifetimeActions").cloned().unwrap_or_else(|| json!([]));
    let Some(list) = actions.as_array() else {
        return Err(Error::bad_parameter("'lifetimeActions' must be an array."));
    };
    for a in list {
        let ty = a.pointer("/action/type").and_then(Value::as_str).unwrap_or_default();
        if !ty.eq_ignore_ascii_case("rotate") && !ty.eq_ignore_ascii_case("notify") {
            return Err(Error::bad_parameter(format!("Invalid lifetime action type: '{ty}'.")));
        }
    }
    let t = state.now();
    let mut attrs = json!({"created": t, "updated": t});
    if let Some(prev) = obj.rotation_policy.as_ref().and_then(|p| p.pointer("/attributes/created")) {
        attrs["created"] = prev.clone();
    }
    if let Some(e) = body.pointer("/attributes/expiryTime") {
        attrs["expiryTime"] = e.clone();
    }
    let policy = json!({"lifetimeActions": actions, "attributes": attrs});
    obj.rotation_policy = Some(policy.clone());
    batch.put(&store_key(vault, name), Record::Key(obj.clone()));
    Ok(render_policy(host, &obj.name, &policy))
}
