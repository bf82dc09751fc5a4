//! Keys on the wire: `KeyBundle`, `KeyItem`, the public JWK and `KeyOperationResult`.

use base64::Engine as _;
use serde_json::{Value, json};

use super::crypto::OpResult;
use super::{KeyView, b64url};

fn kid(host: &str, name: &str, version: &str) -> String {
    format!("https://{host}/keys/{name}/{version}")
}

fn attributes(k: &KeyView) -> Value {
    let v = &k.version;
    let mut attrs = json!({
        "enabled": v.enabled,
        "created": v.created,
        "updated": v.updated,
        "recoveryLevel": k.recovery_level,
        "recoverableDays": k.recoverable_days,
        "exportable": false,
    });
    if let Some(n) = v.nbf {
        attrs["nbf"] = json!(n);
    }
    if let Some(e) = v.exp {
        attrs["exp"] = json!(e);
    }
    attrs
}

/// The public JSON Web Key of a version (never any private part).
pub fn jwk(host: &str, k: &KeyView) -> Value {
    let v = &k.version;
    let mut out = json!({"kid": kid(host, &k.name, &v.version), "kty": v.kty, "key_ops": v.key_ops});
    for part in ["n", "e", "x", "y"] {
        if let Some(p) = v.public.get(part) {
            out[part] = json!(p);
        }
    }
    if let Some(c) = &v.crv {
        out["crv"] = json!(c);
    }
    out
}

fn add_deleted(host: &str, k: &KeyView, out: &mut Value) {
    if let Some(d) = &k.deleted {
        out["recoveryId"] = json!(format!("https://{host}/deletedkeys/{}", k.name));
        out["deletedDate"] = json!(d.deleted_date);
        out["scheduledPurgeDate"] = json!(d.scheduled_purge_date);
    }
}

/// A `KeyBundle` (or `DeletedKeyBundle` when the key is deleted).
pub fn render(host: &str, k: &KeyView) -> Value {
    with_common(host, k, json!({"key": jwk(host, k), "attributes": attributes(k)}))
}

/// A `KeyItem` of a list (`kid` without version for `GET /keys`, with it for versions).
pub fn render_item(host: &str, k: &KeyView, with_version: bool) -> Value {
    let kid =
        if with_version { kid(host, &k.name, &k.version.version) } else { format!("https://{host}/keys/{}", k.name) };
    with_common(host, k, json!({"kid": kid, "attributes": attributes(k)}))
}

/// What a bundle and a list item both carry after their own fields: tags, `managed`, and a
/// deleted key's recovery fields.
fn with_common(host: &str, k: &KeyView, mut out: Value) -> Value {
    if !k.version.tags.is_empty() {
        out["tags"] = json!(k.version.tags);
    }
    if k.managed {
        out["managed"] = json!(true);
    }
    add_deleted(host, k, &mut out);
    out
}

/// A `KeyOperationResult`.
pub fn render_result(host: &str, r: &OpResult) -> Value {
    json!({"kid": kid(host, &r.name, &r.version), "value": b64url().encode(&r.value)})
}
