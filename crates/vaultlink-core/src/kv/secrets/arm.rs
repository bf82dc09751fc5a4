//! `Microsoft.KeyVault/vaults/secrets`: the data-plane secret as Resource Manager serves it (how
//! ARM templates create secrets). One secret, two doors: a PUT here adds a version of the very
//! record `kv::secrets` serves, sealed the same way. What differs is the gate and the view:
//! - authorized by the control-plane actions `Microsoft.KeyVault/vaults/secrets/{read,write}`
//!   (`rbac::admit`, which the `rbac::Admitted` these functions take proves), not by the vault's
//!   data-plane permission model, and not subject to the vault's firewall (as in Azure);
//! - the value goes in and never comes out: [`SecretResource`] does not hold it, so no answer
//!   rendered from one can carry it (Azure's control plane never returns it either).
//!
//! Names, sizes, tags and the soft-deleted and certificate-backed cases are the data plane's own
//! rules (`add_version`, `update_version`); a missing vault or secret is ARM's `ResourceNotFound`.

use serde::Deserialize;
use serde_json::{Value, json};
use vaultlink_crypto::Sealer;

use super::{SetSpec, UpdateSpec, add_version, update_version};
use crate::engine::{Batch, State};
use crate::error::Error;
use crate::keyvault::{self, VAULT_TYPE};
use crate::kv::objects::{self, AttributesSpec, check_name, find_version};
use crate::model::{SecretObject, SecretVersion, Tags, Vault};
use crate::rbac::Admitted;

/// The resource type, as Azure spells it.
pub const SECRET_TYPE: &str = "Microsoft.KeyVault/vaults/secrets";

/// `(subscription, resource group, vault name)` as the path names them.
pub type VaultKey<'a> = (&'a str, &'a str, &'a str);

/// `PUT .../vaults/{v}/secrets/{name}` body (`SecretCreateOrUpdateParameters`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutSpec {
    pub tags: Option<Tags>,
    pub properties: PropertiesSpec,
}

/// `PATCH .../vaults/{v}/secrets/{name}` body (`SecretPatchParameters`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PatchSpec {
    pub tags: Option<Tags>,
    #[serde(default)]
    pub properties: PropertiesSpec,
}

/// `SecretProperties` as a request gives them; the read-only `secretUri`s are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertiesSpec {
    pub value: Option<String>,
    pub content_type: Option<String>,
    pub attributes: Option<AttributesSpec>,
}

/// One secret as Resource Manager shows it: its vault, its name and its current version's
/// metadata. It holds no value, by construction.
#[derive(Debug, Clone)]
pub struct SecretResource {
    vault_id: String,
    vault_name: String,
    location: String,
    name: String,
    version: SecretVersion,
}

impl SecretResource {
    fn of(vault: &Vault, name: &str, version: &SecretVersion) -> Self {
        Self {
            vault_id: vault.id.clone(),
            vault_name: vault.name.clone(),
            location: vault.location.clone(),
            name: name.to_string(),
            version: version.clone(),
        }
    }
    /// The resource id: the vault's, then `/secrets/{name}`.
    pub fn id(&self) -> String {
        format!("{}/secrets/{}", self.vault_id, self.name)
    }
    /// The current version's id (for tests and logs; the rendering names it in its URIs).
    pub fn version(&self) -> &str {
        &self.version.version
    }
}

/// ARM's 404 for a secret the vault does not hold (absent, or soft-deleted).
fn not_found(vault: &Vault, rg: &str, name: &str) -> Error {
    Error::resource_not_found(VAULT_TYPE, &format!("{}/secrets/{name}", vault.name), rg)
}

/// The live secret `name` of `vault`, checked in ARM's order: the vault (404), the name (400),
/// the secret (404).
fn live<'a>(state: &'a State, c: &Admitted, key: VaultKey<'_>, name: &str) -> Result<(Vault, &'a SecretObject), Error> {
    let vault = keyvault::vault(state, c, key.0, key.1, key.2)?;
    check_name(name)?;
    let obj = objects::object::<SecretObject>(state, &vault, name)
        .filter(|o| o.deleted.is_none())
        .ok_or_else(|| not_found(&vault, key.1, name))?;
    Ok((vault, obj))
}

/// `GET .../vaults/{v}/secrets/{name}`: the current version's metadata (a disabled one too).
pub fn get(state: &State, c: &Admitted, key: VaultKey<'_>, name: &str) -> Result<SecretResource, Error> {
    let (vault, obj) = live(state, c, key, name)?;
    let v = find_version(obj, name, None)?;
    Ok(SecretResource::of(&vault, &obj.name, v))
}

/// `GET .../vaults/{v}/secrets`: every live secret, in name order (the surface pages it).
pub fn list(state: &State, c: &Admitted, key: VaultKey<'_>) -> Result<Vec<SecretResource>, Error> {
    let vault = keyvault::vault(state, c, key.0, key.1, key.2)?;
    Ok(objects::all_live::<SecretObject>(state, &vault)
        .into_iter()
        .filter_map(|o| o.versions.last().map(|v| SecretResource::of(&vault, &o.name, v)))
        .collect())
}

/// `PUT .../vaults/{v}/secrets/{name}`: a new version with the body's value and metadata, as the
/// data plane's set makes it; `true` when the secret is new (201). `body` is read once the vault
/// is found, so a missing vault is refused whatever the body's shape.
pub fn put(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    c: &Admitted,
    key: VaultKey<'_>,
    name: &str,
    body: impl FnOnce() -> crate::Result<PutSpec>,
) -> Result<(bool, SecretResource), Error> {
    let vault = keyvault::vault(state, c, key.0, key.1, key.2)?;
    check_name(name)?;
    let spec = body()?;
    let value = spec.properties.value.ok_or_else(missing_value)?;
    let set = SetSpec {
        value,
        content_type: spec.properties.content_type,
        tags: spec.tags,
        attributes: spec.properties.attributes,
    };
    let (view, created) = add_version(state, batch, sealer, &vault, name, set)?;
    Ok((created, SecretResource::of(&vault, &view.name, &view.version)))
}

fn missing_value() -> Error {
    Error::bad_request("BadRequest", "The property 'properties.value' is required to create or update a secret.")
}

/// `PATCH .../vaults/{v}/secrets/{name}`: without a value, the current version's content type,
/// attributes and tags change (200); with one, a new version whose content type, attributes and
/// tags are the body's where it gives them and the current version's otherwise (`true`: 201).
pub fn patch(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    c: &Admitted,
    key: VaultKey<'_>,
    name: &str,
    body: impl FnOnce() -> crate::Result<PatchSpec>,
) -> Result<(bool, SecretResource), Error> {
    let (vault, obj) = live(state, c, key, name)?;
    let spec = body()?;
    let PropertiesSpec { value, content_type, attributes } = spec.properties;
    let Some(value) = value else {
        let update = UpdateSpec { content_type, tags: spec.tags, attributes };
        let view = update_version(state, batch, &vault, name, None, update)?;
        return Ok((false, SecretResource::of(&vault, &view.name, &view.version)));
    };
    let current = find_version(obj, name, None)?;
    let given = attributes.unwrap_or_default();
    let set = SetSpec {
        value,
        content_type: content_type.or_else(|| current.content_type.clone()),
        tags: Some(spec.tags.unwrap_or_else(|| current.tags.clone())),
        attributes: Some(AttributesSpec {
            enabled: Some(given.enabled.unwrap_or(current.enabled)),
            nbf: given.nbf.or(current.nbf),
            exp: given.exp.or(current.exp),
        }),
    };
    let (view, _) = add_version(state, batch, sealer, &vault, name, set)?;
    Ok((true, SecretResource::of(&vault, &view.name, &view.version)))
}

/// A secret as `Secrets_Get` shows it (Azure's `Secret`): no `value`, ever.
pub fn render(r: &SecretResource) -> Value {
    let v = &r.version;
    let uri = format!("https://{}/secrets/{}", keyvault::vault_host(&r.vault_name), r.name);
    let mut attributes = json!({"enabled": v.enabled, "created": v.created, "updated": v.updated});
    if let Some(nbf) = v.nbf {
        attributes["nbf"] = json!(nbf);
    }
    if let Some(exp) = v.exp {
        attributes["exp"] = json!(exp);
    }
    let mut properties = json!({
        "attributes": attributes,
        "secretUriWithVersion": format!("{uri}/{}", v.version),
        "secretUri": uri,
    });
    if let Some(ct) = &v.content_type {
        properties["contentType"] = json!(ct);
    }
    json!({
        "id": r.id(),
        "name": r.name,
        "type": SECRET_TYPE,
        "location": r.location,
        "tags": v.tags,
        "properties": properties,
    })
}

#[cfg(test)]
mod tests;
