//! `Microsoft.KeyVault/vaults/keys`: the data-plane key as Resource Manager serves it (how ARM
//! templates and Bicep create keys, for customer-managed encryption). One key, two doors: a PUT
//! here creates the very record `kv::keys` serves, its private part sealed the same way. What
//! differs is the gate and the view:
//! - authorized by the control-plane actions `Microsoft.KeyVault/vaults/keys/{read,write}` and
//!   `.../keys/versions/read` (`rbac::admit`, which the `rbac::Admitted` these functions take
//!   proves), not by the vault's data-plane permission model, and not subject to its firewall;
//! - the PUT is Azure's `Keys_CreateIfNotExist`: it creates the first version of a key that does
//!   not exist, and for one that does it answers the current version and writes nothing (no new
//!   version, no update), as Azure documents;
//! - no answer carries key material: the view is metadata and URIs (Azure writes the key URIs
//!   with the port, `https://{vault}.vault.azure.net:443/keys/...`, unlike secrets' URIs).
//!
//! Names, types, sizes, curves and operations are the data plane's own rules (`create_in`);
//! vaultlink does not serve exportable keys, so `attributes.exportable: true` and a
//! `release_policy` are refused with 400 `BadRequest` (docs/behaviour.md).

use serde::Deserialize;
use serde_json::{Value, json};
use vaultlink_crypto::Sealer;

use super::rotation::checked_policy;
use super::{CreateSpec, KeyView, create_in, view};
use crate::engine::{Batch, State};
use crate::error::Error;
use crate::keyvault::{self, VAULT_TYPE};
use crate::kv::objects::{self, check_name, find_version};
use crate::model::{KeyObject, KeyVersion, Record, Tags, Vault};
use crate::rbac::Admitted;

/// The resource types, as Azure spells them.
pub const KEY_TYPE: &str = "Microsoft.KeyVault/vaults/keys";
pub const VERSION_TYPE: &str = "Microsoft.KeyVault/vaults/keys/versions";

/// `(subscription, resource group, vault name)` as the path names them.
pub type VaultKey<'a> = (&'a str, &'a str, &'a str);

/// `PUT .../vaults/{v}/keys/{name}` body (`KeyCreateParameters`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutSpec {
    pub tags: Option<Tags>,
    pub properties: PropertiesSpec,
}

/// `KeyProperties` as a request gives them; the read-only `keyUri`s are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertiesSpec {
    pub kty: Option<String>,
    pub key_ops: Option<Vec<String>>,
    pub key_size: Option<u32>,
    pub curve_name: Option<String>,
    pub attributes: Option<AttributesSpec>,
    pub rotation_policy: Option<Value>,
    /// Azure spells this one in snake case.
    #[serde(rename = "release_policy")]
    pub release_policy: Option<Value>,
}

/// `KeyAttributes` as a request gives them.
#[derive(Debug, Default, Deserialize)]
pub struct AttributesSpec {
    #[serde(flatten)]
    pub common: objects::AttributesSpec,
    pub exportable: Option<bool>,
}

/// One key version as Resource Manager shows it: its vault, the key's name and the version's
/// metadata (the public parts are not shown, the private part is never held).
#[derive(Debug, Clone)]
pub struct KeyResource {
    vault_id: String,
    vault_name: String,
    location: String,
    name: String,
    recovery_level: &'static str,
    rotation_policy: Option<Value>,
    version: KeyVersion,
}

impl KeyResource {
    fn of(vault: &Vault, obj: &KeyObject, v: KeyView) -> Self {
        Self {
            vault_id: vault.id.clone(),
            vault_name: vault.name.clone(),
            location: vault.location.clone(),
            name: v.name,
            recovery_level: v.recovery_level,
            rotation_policy: obj.rotation_policy.clone(),
            version: v.version,
        }
    }
    /// The key's resource id: the vault's, then `/keys/{name}`.
    pub fn id(&self) -> String {
        format!("{}/keys/{}", self.vault_id, self.name)
    }
    /// This version's id (for tests and logs; the renderings name it in their URIs).
    pub fn version(&self) -> &str {
        &self.version.version
    }
    fn key_uri(&self) -> String {
        format!("https://{}:443/keys/{}", keyvault::vault_host(&self.vault_name), self.name)
    }
}

/// ARM's 404 for a key (or version) the vault does not hold (absent, or soft-deleted).
fn not_found(vault: &Vault, rg: &str, what: &str) -> Error {
    Error::resource_not_found(VAULT_TYPE, &format!("{}/keys/{what}", vault.name), rg)
}

/// The live key `name` of `vault`, checked in ARM's order: the vault (404), the name (400), the
/// key (404).
fn live<'a>(state: &'a State, c: &Admitted, key: VaultKey<'_>, name: &str) -> Result<(Vault, &'a KeyObject), Error> {
    let vault = keyvault::vault(state, c, key.0, key.1, key.2)?;
    check_name(name)?;
    let obj = objects::object::<KeyObject>(state, &vault, name)
        .filter(|o| o.deleted.is_none())
        .ok_or_else(|| not_found(&vault, key.1, name))?;
    Ok((vault, obj))
}

fn resource(vault: &Vault, obj: &KeyObject, v: &KeyVersion) -> KeyResource {
    KeyResource::of(vault, obj, view(vault, obj, v))
}

/// `GET .../vaults/{v}/keys/{name}`: the current version (a disabled one too).
pub fn get(state: &State, c: &Admitted, key: VaultKey<'_>, name: &str) -> Result<KeyResource, Error> {
    let (vault, obj) = live(state, c, key, name)?;
    Ok(resource(&vault, obj, find_version(obj, name, None)?))
}

/// `GET .../vaults/{v}/keys/{name}/versions/{version}`.
pub fn get_version(
    state: &State,
    c: &Admitted,
    key: VaultKey<'_>,
    name: &str,
    version: &str,
) -> Result<KeyResource, Error> {
    let (vault, obj) = live(state, c, key, name)?;
    let v = obj
        .versions
        .iter()
        .find(|v| v.version.eq_ignore_ascii_case(version))
        .ok_or_else(|| not_found(&vault, key.1, &format!("{name}/versions/{version}")))?;
    Ok(resource(&vault, obj, v))
}

/// `GET .../vaults/{v}/keys`: the current version of every live key, in name order.
pub fn list(state: &State, c: &Admitted, key: VaultKey<'_>) -> Result<Vec<KeyResource>, Error> {
    let vault = keyvault::vault(state, c, key.0, key.1, key.2)?;
    Ok(objects::all_live::<KeyObject>(state, &vault)
        .into_iter()
        .filter_map(|o| o.versions.last().map(|v| resource(&vault, o, v)))
        .collect())
}

/// `GET .../vaults/{v}/keys/{name}/versions`: every version, oldest first.
pub fn list_versions(state: &State, c: &Admitted, key: VaultKey<'_>, name: &str) -> Result<Vec<KeyResource>, Error> {
    let (vault, obj) = live(state, c, key, name)?;
    Ok(obj.versions.iter().map(|v| resource(&vault, obj, v)).collect())
}

/// `PUT .../vaults/{v}/keys/{name}` (`Keys_CreateIfNotExist`): the first version of a new key,
/// with the body's type, size or curve, operations, attributes, tags and rotation policy; a live
/// key of that name is answered as it is and nothing is written. `body` is read once the vault
/// is found, so a missing vault is refused whatever the body's shape.
pub fn put(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    c: &Admitted,
    key: VaultKey<'_>,
    name: &str,
    body: impl FnOnce() -> crate::Result<PutSpec>,
) -> Result<KeyResource, Error> {
    let vault = keyvault::vault(state, c, key.0, key.1, key.2)?;
    check_name(name)?;
    let spec = body()?;
    if let Some(obj) = objects::object::<KeyObject>(state, &vault, name).filter(|o| o.deleted.is_none()) {
        return Ok(resource(&vault, obj, find_version(obj, name, None)?));
    }
    let p = spec.properties;
    let attributes = p.attributes.unwrap_or_default();
    if attributes.exportable == Some(true) || p.release_policy.is_some() {
        return Err(Error::bad_request(
            "BadRequest",
            "vaultlink does not serve exportable keys: 'attributes.exportable' must be false and 'release_policy' absent.",
        ));
    }
    let kty = p.kty.ok_or_else(|| {
        Error::bad_request("BadRequest", "The property 'properties.kty' is required to create a key.")
    })?;
    // The policy is checked before the key is made, so a bad one refuses the whole PUT.
    let policy = p.rotation_policy.map(|body| checked_policy(body, None, state.now())).transpose()?;
    let create = CreateSpec {
        kty,
        key_size: p.key_size,
        public_exponent: None,
        key_ops: p.key_ops,
        attributes: Some(attributes.common),
        tags: spec.tags,
        crv: p.curve_name,
    };
    let made = create_in(state, batch, sealer, &vault, name, create)?;
    let store_key = super::store_key(&vault, name);
    let Some(Record::Key(mut obj)) = batch.latest(state, &store_key) else {
        return Err(Error::internal("the key just created is not in its batch"));
    };
    if policy.is_some() {
        obj.rotation_policy = policy;
        batch.put(&store_key, Record::Key(obj.clone()));
    }
    Ok(KeyResource::of(&vault, &obj, made))
}

fn attributes(r: &KeyResource) -> Value {
    let v = &r.version;
    let mut a =
        json!({"enabled": v.enabled, "created": v.created, "updated": v.updated, "recoveryLevel": r.recovery_level});
    if let Some(nbf) = v.nbf {
        a["nbf"] = json!(nbf);
    }
    if let Some(exp) = v.exp {
        a["exp"] = json!(exp);
    }
    a
}

fn envelope(id: String, name: &str, ty: &str, r: &KeyResource, properties: Value) -> Value {
    json!({
        "id": id,
        "name": name,
        "type": ty,
        "location": r.location,
        "tags": r.version.tags,
        "properties": properties,
    })
}

/// A key as `Keys_Get` and `Keys_CreateIfNotExist` show it (Azure's `Key`).
pub fn render(r: &KeyResource) -> Value {
    envelope(r.id(), &r.name, KEY_TYPE, r, full_properties(r))
}

/// A key as `Keys_List` shows it: attributes and `keyUri` (Azure's list leaves out the rest).
pub fn render_item(r: &KeyResource) -> Value {
    envelope(r.id(), &r.name, KEY_TYPE, r, json!({"attributes": attributes(r), "keyUri": r.key_uri()}))
}

/// A version as `Keys_GetVersion` shows it.
pub fn render_version(r: &KeyResource) -> Value {
    envelope(format!("{}/versions/{}", r.id(), r.version()), r.version(), VERSION_TYPE, r, full_properties(r))
}

/// A version as `Keys_ListVersions` shows it: attributes and both URIs.
pub fn render_version_item(r: &KeyResource) -> Value {
    let properties = json!({
        "attributes": attributes(r),
        "keyUri": r.key_uri(),
        "keyUriWithVersion": format!("{}/{}", r.key_uri(), r.version()),
    });
    envelope(format!("{}/versions/{}", r.id(), r.version()), r.version(), VERSION_TYPE, r, properties)
}

fn full_properties(r: &KeyResource) -> Value {
    let v = &r.version;
    let mut p = json!({
        "attributes": attributes(r),
        "kty": v.kty,
        "keyOps": v.key_ops,
        "keyUri": r.key_uri(),
        "keyUriWithVersion": format!("{}/{}", r.key_uri(), v.version),
    });
    if let Some(size) = v.key_size {
        p["keySize"] = json!(size);
    }
    if let Some(crv) = &v.crv {
        p["curveName"] = json!(crv);
    }
    if let Some(policy) = &r.rotation_policy {
        p["rotationPolicy"] = policy.clone();
    }
    p
}

#[cfg(test)]
mod tests;
