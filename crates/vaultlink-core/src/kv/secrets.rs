//! Key Vault secrets: set, get, update, list, versions, soft delete, recover, purge, backup,
//! restore. Values are sealed at rest, bound to (vault, name, version).

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use vaultlink_crypto::Sealer;

use super::objects::{self, AttributesSpec, Page, VaultObject, check_name, check_tags, find_version, live};
use crate::engine::{Batch, State};
use crate::error::{Error, Kind};
use crate::kv::Admitted;
use crate::model::{DeletedState, Record, SecretObject, SecretVersion, Tags, Vault};

/// Azure's limits (azure-behaviour.md §5.6).
pub const MAX_VALUE_BYTES: usize = 25 * 1024;
pub const MAX_CONTENT_TYPE: usize = 255;

pub(crate) fn key(vault: &Vault, name: &str) -> String {
    objects::record_key::<SecretObject>(vault, name)
}

fn aad(vault: &Vault, name: &str, version: &str) -> Vec<u8> {
    aad_in(&vault.internal_id, name, version)
}

fn aad_in(vault_internal_id: &str, name: &str, version: &str) -> Vec<u8> {
    format!("vaultlink-secret\0{vault_internal_id}\0{}\0{version}", name.to_ascii_lowercase()).into_bytes()
}

/// Every sealed value of `obj` sealed again, `from` to `to` (`snapshot::reseal`).
pub(crate) fn reseal(obj: &mut SecretObject, from: &Sealer, to: &Sealer) -> Result<(), Error> {
    for v in &mut obj.versions {
        if !v.sealed_value.is_empty() {
            objects::reseal_b64(&mut v.sealed_value, &aad_in(&obj.vault_internal_id, &obj.name, &v.version), from, to)?;
        }
    }
    Ok(())
}

/// Whether each stored value of `obj` opens with `sealer` (for the root key's check,
/// `crate::rootkey`): true for each that does.
pub(crate) fn opens(sealer: &Sealer, obj: &SecretObject) -> impl Iterator<Item = bool> {
    obj.versions.iter().map(move |v| {
        b64()
            .decode(&v.sealed_value)
            .ok()
            .is_some_and(|sealed| sealer.open(&sealed, &aad_in(&obj.vault_internal_id, &obj.name, &v.version)).is_ok())
    })
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// `PUT /secrets/{name}` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetSpec {
    pub value: String,
    pub content_type: Option<String>,
    pub tags: Option<Tags>,
    pub attributes: Option<AttributesSpec>,
}

/// `PATCH /secrets/{name}/{version}` body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateSpec {
    pub content_type: Option<String>,
    pub tags: Option<Tags>,
    pub attributes: Option<AttributesSpec>,
}

fn check_metadata(content_type: Option<&str>, tags: Option<&Tags>) -> Result<(), Error> {
    if content_type.is_some_and(|c| c.chars().count() > MAX_CONTENT_TYPE) {
        return Err(Error::bad_parameter(format!(
            "The contentType is longer than the maximum of {MAX_CONTENT_TYPE} characters."
        )));
    }
    check_tags(tags)
}

/// A secret version as the surfaces render it.
#[derive(Debug, Clone)]
pub struct SecretView {
    pub name: String,
    pub version: SecretVersion,
    pub value: Option<String>,
    pub recovery_level: &'static str,
    pub recoverable_days: u32,
    pub deleted: Option<DeletedState>,
    pub managed: bool,
}

fn view(vault: &Vault, obj: &SecretObject, version: &SecretVersion, value: Option<String>) -> SecretView {
    SecretView {
        name: obj.name.clone(),
        version: version.clone(),
        value,
        recovery_level: objects::recovery_level(vault),
        recoverable_days: vault.soft_delete_retention_in_days,
        deleted: obj.deleted.clone(),
        managed: obj.managed,
    }
}

fn open(sealer: &Sealer, vault: &Vault, name: &str, v: &SecretVersion) -> Result<String, Error> {
    let sealed = b64()
        .decode(&v.sealed_value)
        .map_err(|_| Error::new(Kind::Internal, "InternalServerError", "stored secret is not base64"))?;
    let plain = sealer.open(&sealed, &aad(vault, name, &v.version)).map_err(|_| {
        Error::new(
            Kind::Internal,
            "InternalServerError",
            format!("secret {name}/{} failed to decrypt (altered or moved on disk)", v.version),
        )
    })?;
    String::from_utf8(plain)
        .map_err(|_| Error::new(Kind::Internal, "InternalServerError", "stored secret is not UTF-8"))
}

pub(crate) fn seal(sealer: &Sealer, vault: &Vault, name: &str, version: &str, value: &str) -> String {
    b64().encode(sealer.seal(value.as_bytes(), &aad(vault, name, version)))
}

/// `PUT /secrets/{name}`: a new version (creating the secret if needed).
pub fn set(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    vault: &Admitted,
    name: &str,
    spec: SetSpec,
) -> Result<SecretView, Error> {
    add_version(state, batch, sealer, vault, name, spec).map(|(view, _)| view)
}

/// A new version of secret `name` (and the secret, when it is new: `true`), for the data plane's
/// `set` and Resource Manager's `vaults/secrets` PUT (`arm`), which is authorized otherwise.
fn add_version(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    vault: &Vault,
    name: &str,
    spec: SetSpec,
) -> Result<(SecretView, bool), Error> {
    check_name(name)?;
    if spec.value.len() > MAX_VALUE_BYTES {
        return Err(Error::bad_parameter(format!(
            "The secret value is {} bytes; the maximum allowed size is {MAX_VALUE_BYTES} bytes.",
            spec.value.len()
        )));
    }
    check_metadata(spec.content_type.as_deref(), spec.tags.as_ref())?;
    let existing = objects::writable::<SecretObject>(state, vault, name, "set")?;
    let created = existing.is_none();
    if created {
        crate::quota::check_secret(state, vault)?;
    }
    let mut obj = match existing {
        Some(o) => o.clone(),
        None => SecretObject {
            vault_internal_id: vault.internal_id.clone(),
            name: name.to_string(),
            versions: vec![],
            deleted: None,
            managed: false,
        },
    };
    let t = state.now();
    let version = vaultlink_crypto::random_hex(16);
    let attrs = spec.attributes.unwrap_or_default();
    let v = SecretVersion {
        version: version.clone(),
        sealed_value: seal(sealer, vault, &obj.name, &version, &spec.value),
        content_type: spec.content_type,
        tags: spec.tags.unwrap_or_default(),
        enabled: attrs.enabled.unwrap_or(true),
        nbf: attrs.nbf,
        exp: attrs.exp,
        created: t,
        updated: t,
    };
    crate::model::push_exact(&mut obj.versions, v.clone());
    let out = view(vault, &obj, &v, Some(spec.value));
    batch.put(&key(vault, name), Record::Secret(obj));
    Ok((out, created))
}

/// `GET /secrets/{name}/{version?}`. A disabled version cannot be read.
pub fn get(
    state: &State,
    sealer: &Sealer,
    vault: &Admitted,
    name: &str,
    version: Option<&str>,
) -> Result<SecretView, Error> {
    let obj = live::<SecretObject>(state, vault, name)?;
    let v = find_version(obj, name, version)?;
    if !v.enabled {
        return Err(Error::new(Kind::Forbidden, "Forbidden", "Operation get is not allowed on a disabled secret.")
            .with_inner("SecretDisabled"));
    }
    let value = open(sealer, vault, &obj.name, v)?;
    Ok(view(vault, obj, v, Some(value)))
}

/// `PATCH /secrets/{name}/{version?}`: attributes, content type, tags.
pub fn update(
    state: &State,
    batch: &mut Batch,
    vault: &Admitted,
    name: &str,
    version: Option<&str>,
    spec: UpdateSpec,
) -> Result<SecretView, Error> {
    update_version(state, batch, vault, name, version, spec)
}

/// The change `update` makes, for the data plane and Resource Manager's `vaults/secrets` PATCH.
fn update_version(
    state: &State,
    batch: &mut Batch,
    vault: &Vault,
    name: &str,
    version: Option<&str>,
    spec: UpdateSpec,
) -> Result<SecretView, Error> {
    check_name(name)?;
    check_metadata(spec.content_type.as_deref(), spec.tags.as_ref())?;
    let mut obj = live::<SecretObject>(state, vault, name)?.clone();
    objects::refuse_managed(&obj, "update")?;
    let wanted = find_version(&obj, name, version)?.version.clone();
    let v = obj.versions.iter_mut().find(|x| x.version == wanted).expect("found above");
    if let Some(c) = spec.content_type {
        v.content_type = Some(c);
    }
    if let Some(t) = spec.tags {
        v.tags = t;
    }
    if let Some(a) = spec.attributes {
        v.enabled = a.enabled.unwrap_or(v.enabled);
        if a.nbf.is_some() {
            v.nbf = a.nbf;
        }
        if a.exp.is_some() {
            v.exp = a.exp;
        }
    }
    v.updated = state.now();
    let v = v.clone();
    let out = view(vault, &obj, &v, None);
    batch.put(&key(vault, name), Record::Secret(obj));
    Ok(out)
}

/// `GET /secrets`: the current version's metadata of every live secret.
pub fn list(state: &State, vault: &Admitted, size: usize, skip: Option<&str>) -> Result<Page<SecretView>, Error> {
    objects::list::<SecretObject>(state, vault, size, skip)
}

/// `GET /secrets/{name}/versions`.
pub fn list_versions(
    state: &State,
    vault: &Admitted,
    name: &str,
    size: usize,
    skip: Option<&str>,
) -> Result<Page<SecretView>, Error> {
    objects::list_versions::<SecretObject>(state, vault, name, size, skip)
}

/// `DELETE /secrets/{name}`: every version moves to the deleted state (or is gone without soft delete).
pub fn delete(state: &State, batch: &mut Batch, vault: &Admitted, name: &str) -> Result<SecretView, Error> {
    objects::delete::<SecretObject>(state, batch, vault, name)
}

/// `GET /deletedsecrets/{name}`.
pub fn get_deleted(state: &State, vault: &Admitted, name: &str) -> Result<SecretView, Error> {
    objects::get_deleted::<SecretObject>(state, vault, name)
}

/// `GET /deletedsecrets`.
pub fn list_deleted(
    state: &State,
    vault: &Admitted,
    size: usize,
    skip: Option<&str>,
) -> Result<Page<SecretView>, Error> {
    objects::list_deleted::<SecretObject>(state, vault, size, skip)
}

/// `POST /deletedsecrets/{name}/recover`.
pub fn recover(state: &State, batch: &mut Batch, vault: &Admitted, name: &str) -> Result<SecretView, Error> {
    objects::recover::<SecretObject>(state, batch, vault, name)
}

/// `DELETE /deletedsecrets/{name}`: gone for good, unless purge protection holds it.
pub fn purge(state: &State, batch: &mut Batch, vault: &Admitted, name: &str) -> Result<(), Error> {
    objects::purge::<SecretObject>(state, batch, vault, name)
}

/// `POST /secrets/{name}/backup`: an opaque, encrypted blob restorable in the same subscription.
pub fn backup(state: &State, sealer: &Sealer, vault: &Admitted, name: &str) -> Result<String, Error> {
    objects::backup::<SecretObject>(state, sealer, vault, name)
}

/// Every live secret of the vault named `vault_name` as the blob `backup` answers, by name, in
/// name order: what `vaultlink export` writes. An operator's command (the data directory's owner
/// runs it, with no token), so no caller is admitted; certificates' own secrets are left out (Key
/// Vault refuses to back them up: their certificate's backup carries them).
pub fn export(state: &State, sealer: &Sealer, vault_name: &str) -> Result<Vec<(String, String)>, Error> {
    let vault = state
        .vault_named(vault_name)
        .ok_or_else(|| Error::new(Kind::NotFound, "VaultNotFound", format!("no vault named {vault_name}")))?;
    let mut names: Vec<String> = state
        .of_kind(crate::model::RecordKind::Secret)
        .filter_map(|r| match r {
            Record::Secret(o)
                if o.vault_internal_id == vault.internal_id
                    && o.deleted.is_none()
                    && !o.managed
                    && !o.versions.is_empty() =>
            {
                Some(o.name.clone())
            }
            _ => None,
        })
        .collect();
    names.sort_by_key(|n| n.to_ascii_lowercase());
    names.into_iter().map(|n| objects::backup::<SecretObject>(state, sealer, vault, &n).map(|b| (n, b))).collect()
}

/// `POST /secrets/restore`.
pub fn restore(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    vault: &Admitted,
    blob: &str,
) -> Result<SecretView, Error> {
    crate::quota::check_secret(state, vault)?;
    objects::restore::<SecretObject>(state, batch, sealer, vault, blob)
}

/// The plaintext content of a backup blob, sealed as a whole.
#[derive(Serialize, Deserialize)]
pub(crate) struct Backup {
    v: u32,
    subscription: String,
    name: String,
    versions: Vec<BackupVersion>,
}

#[derive(Serialize, Deserialize)]
struct BackupVersion {
    meta: SecretVersion,
    value: String,
}

impl VaultObject for SecretObject {
    type Version = SecretVersion;
    type View = SecretView;
    type Backup = Backup;
    const COLLECTION: &'static str = "secrets";
    const KIND: &'static str = "secret";
    const TITLE: &'static str = "Secret";

    fn of(record: &Record) -> Option<&Self> {
        match record {
            Record::Secret(s) => Some(s),
            _ => None,
        }
    }
    fn from_record(record: Record) -> Option<Self> {
        match record {
            Record::Secret(s) => Some(s),
            _ => None,
        }
    }
    fn into_record(self) -> Record {
        Record::Secret(self)
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn versions(&self) -> &[SecretVersion] {
        &self.versions
    }
    fn version_id(v: &SecretVersion) -> &str {
        &v.version
    }
    fn deleted_state(&self) -> Option<&DeletedState> {
        self.deleted.as_ref()
    }
    fn set_deleted(&mut self, deleted: Option<DeletedState>) {
        self.deleted = deleted;
    }
    fn view(vault: &Vault, obj: &Self, v: &SecretVersion) -> SecretView {
        view(vault, obj, v, None)
    }
    fn managed(&self) -> bool {
        self.managed
    }

    fn backup_content(_state: &State, sealer: &Sealer, vault: &Vault, obj: &Self) -> Result<Backup, Error> {
        let mut versions = Vec::with_capacity(obj.versions.len());
        for v in &obj.versions {
            versions.push(BackupVersion { value: open(sealer, vault, &obj.name, v)?, meta: v.clone() });
        }
        Ok(Backup { v: 1, subscription: vault.subscription(), name: obj.name.clone(), versions })
    }
    fn backup_name(b: &Backup) -> &str {
        &b.name
    }
    fn restored(_state: &State, _batch: &mut Batch, sealer: &Sealer, vault: &Vault, b: Backup) -> Result<Self, Error> {
        let mut obj = SecretObject {
            vault_internal_id: vault.internal_id.clone(),
            name: b.name.clone(),
            versions: vec![],
            deleted: None,
            managed: false,
        };
        for bv in b.versions {
            let mut meta = bv.meta;
            meta.sealed_value = seal(sealer, vault, &b.name, &meta.version, &bv.value);
            obj.versions.push(meta);
        }
        Ok(obj)
    }
}

/// Adds version `v` (value `value`) to the secret backing certificate `name`, creating it
/// (`managed`) if needed. A plain secret of that name is a conflict.
pub(crate) fn put_managed(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    vault: &Vault,
    name: &str,
    mut v: SecretVersion,
    value: &str,
) -> Result<(), Error> {
    let mut obj = objects::managed_or_new(state, batch, vault, name, || SecretObject {
        vault_internal_id: vault.internal_id.clone(),
        name: name.to_string(),
        versions: vec![],
        deleted: None,
        managed: true,
    })?;
    v.sealed_value = seal(sealer, vault, &obj.name, &v.version, value);
    crate::model::push_exact(&mut obj.versions, v);
    batch.put(&key(vault, name), Record::Secret(obj));
    Ok(())
}

/// Renders a secret as Azure does: a bundle (with `value`), a list item, or a deleted bundle.
pub fn render<'a>(host: &str, s: &'a SecretView, with_version: bool) -> SecretJson<'a> {
    let v = &s.version;
    let id = if with_version {
        format!("https://{host}/secrets/{}/{}", s.name, v.version)
    } else {
        format!("https://{host}/secrets/{}", s.name)
    };
    SecretJson {
        value: s.value.as_deref(),
        id,
        content_type: v.content_type.as_deref(),
        attributes: SecretAttributesJson {
            enabled: v.enabled,
            nbf: v.nbf,
            exp: v.exp,
            created: v.created,
            updated: v.updated,
            recovery_level: s.recovery_level,
            recoverable_days: s.recoverable_days,
        },
        tags: (!v.tags.is_empty()).then_some(&v.tags),
        // A bundle of a certificate's secret names its key; list items (SecretItem) carry no kid.
        kid: (s.managed && with_version).then(|| format!("https://{host}/keys/{}/{}", s.name, v.version)),
        managed: s.managed,
        recovery_id: s.deleted.as_ref().map(|_| format!("https://{host}/deletedsecrets/{}", s.name)),
        deleted_date: s.deleted.as_ref().map(|d| d.deleted_date),
        scheduled_purge_date: s.deleted.as_ref().map(|d| d.scheduled_purge_date),
    }
}

/// A secret on the wire: SecretBundle, SecretItem and their deleted forms (absent fields left out).
/// Serialised straight from the stored version, without an intermediate `serde_json::Value`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a str>,
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_type: Option<&'a str>,
    attributes: SecretAttributesJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<&'a Tags>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    managed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    recovery_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted_date: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scheduled_purge_date: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SecretAttributesJson {
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    created: i64,
    updated: i64,
    recovery_level: &'static str,
    recoverable_days: u32,
}

pub mod arm;

#[cfg(test)]
mod tests;
