//! Key Vault secrets: set, get, update, list, versions, soft delete, recover, purge, backup,
//! restore. Values are sealed at rest, bound to (vault, name, version).

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use vaultlink_crypto::Sealer;

use crate::engine::{Batch, State, now};
use crate::kv::{Kind, KvError};
use crate::model::{DeletedState, Record, SecretObject, SecretVersion, Tags, Vault};

/// Azure's limits (azure-behaviour.md §5.6).
pub const MAX_VALUE_BYTES: usize = 25 * 1024;
pub const MAX_CONTENT_TYPE: usize = 255;
pub const MAX_TAGS: usize = 15;
pub const MAX_TAG_LEN: usize = 512;
/// `maxresults` upper bound of list operations.
pub const MAX_PAGE: usize = 25;
/// Backups of objects with more versions fail (azure-behaviour.md §5.4).
pub const MAX_BACKUP_VERSIONS: usize = 500;

/// The key prefix under which a vault's data-plane objects live.
pub fn objects_root(vault_internal_id: &str) -> String {
    format!("/vaultdata/{vault_internal_id}")
}

/// Removes every object of a vault (on purge, or delete without soft delete).
pub(crate) fn purge_vault_objects(state: &State, batch: &mut Batch, vault_internal_id: &str) {
    batch.delete_tree(state, &objects_root(vault_internal_id));
}

pub(crate) fn key(vault: &Vault, name: &str) -> String {
    format!("{}/secrets/{}", objects_root(&vault.internal_id), name.to_ascii_lowercase())
}

fn aad(vault: &Vault, name: &str, version: &str) -> Vec<u8> {
    format!("vaultlink-secret\0{}\0{}\0{}", vault.internal_id, name.to_ascii_lowercase(), version).into_bytes()
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// The deletion-recovery level Azure reports for a vault's objects.
pub fn recovery_level(v: &Vault) -> &'static str {
    let custom = v.soft_delete_retention_in_days < 90;
    match (v.enable_soft_delete, v.enable_purge_protection, custom) {
        (false, _, _) => "Purgeable",
        (true, true, false) => "Recoverable",
        (true, true, true) => "CustomizedRecoverable",
        (true, false, false) => "Recoverable+Purgeable",
        (true, false, true) => "CustomizedRecoverable+Purgeable",
    }
}

fn not_found(name: &str) -> KvError {
    KvError::new(
        Kind::NotFound,
        "SecretNotFound",
        format!(
            "A secret with (name/id) {name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
        ),
    )
}

fn deleted_not_found(name: &str) -> KvError {
    KvError::new(Kind::NotFound, "SecretNotFound", format!("Deleted Secret not found: {name}"))
}

/// The stored object, if any, with expired soft-deleted objects treated as purged.
fn object<'a>(state: &'a State, vault: &Vault, name: &str) -> Option<&'a SecretObject> {
    match state.get(&key(vault, name)) {
        Some(Record::Secret(s)) if s.deleted.as_ref().is_none_or(|d| d.scheduled_purge_date > now()) => Some(s),
        _ => None,
    }
}

fn live<'a>(state: &'a State, vault: &Vault, name: &str) -> Result<&'a SecretObject, KvError> {
    match object(state, vault, name) {
        Some(s) if s.deleted.is_none() => Ok(s),
        _ => Err(not_found(name)),
    }
}

fn check_name(name: &str) -> Result<(), KvError> {
    vaultlink_rules::object_name(name).map_err(|e| KvError::new(Kind::BadRequest, e.code, e.message))
}

/// Attributes as the wire gives them (`nbf`/`exp` in Unix seconds).
#[derive(Debug, Default, Deserialize)]
pub struct AttributesSpec {
    pub enabled: Option<bool>,
    pub nbf: Option<i64>,
    pub exp: Option<i64>,
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

fn check_metadata(content_type: Option<&str>, tags: Option<&Tags>) -> Result<(), KvError> {
    if content_type.is_some_and(|c| c.chars().count() > MAX_CONTENT_TYPE) {
        return Err(KvError::bad_parameter(format!(
            "The contentType is longer than the maximum of {MAX_CONTENT_TYPE} characters."
        )));
    }
    if let Some(t) = tags {
        if t.len() > MAX_TAGS {
            return Err(KvError::bad_parameter(format!(
                "The number of tags ({}) exceeds the maximum of {MAX_TAGS}.",
                t.len()
            )));
        }
        if t.iter().any(|(k, v)| k.chars().count() > MAX_TAG_LEN || v.chars().count() > MAX_TAG_LEN) {
            return Err(KvError::bad_parameter(format!(
                "Tag names and values must be at most {MAX_TAG_LEN} characters long."
            )));
        }
    }
    Ok(())
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
        recovery_level: recovery_level(vault),
        recoverable_days: vault.soft_delete_retention_in_days,
        deleted: obj.deleted.clone(),
        managed: obj.managed,
    }
}

fn open(sealer: &Sealer, vault: &Vault, name: &str, v: &SecretVersion) -> Result<String, KvError> {
    let sealed = b64()
        .decode(&v.sealed_value)
        .map_err(|_| KvError::new(Kind::Internal, "InternalServerError", "stored secret is not base64"))?;
    let plain = sealer.open(&sealed, &aad(vault, name, &v.version)).map_err(|_| {
        KvError::new(
            Kind::Internal,
            "InternalServerError",
            format!("secret {name}/{} failed to decrypt (altered or moved on disk)", v.version),
        )
    })?;
    String::from_utf8(plain)
        .map_err(|_| KvError::new(Kind::Internal, "InternalServerError", "stored secret is not UTF-8"))
}

pub(crate) fn seal(sealer: &Sealer, vault: &Vault, name: &str, version: &str, value: &str) -> String {
    b64().encode(sealer.seal(value.as_bytes(), &aad(vault, name, version)))
}

/// `PUT /secrets/{name}`: a new version (creating the secret if needed).
pub fn set(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    vault: &Vault,
    name: &str,
    spec: SetSpec,
) -> Result<SecretView, KvError> {
    check_name(name)?;
    if spec.value.len() > MAX_VALUE_BYTES {
        return Err(KvError::bad_parameter(format!(
            "The secret value is {} bytes; the maximum allowed size is {MAX_VALUE_BYTES} bytes.",
            spec.value.len()
        )));
    }
    check_metadata(spec.content_type.as_deref(), spec.tags.as_ref())?;
    let mut obj = match object(state, vault, name).cloned() {
        Some(o) if o.deleted.is_some() => {
            return Err(KvError::new(
                Kind::Conflict,
                "Conflict",
                format!("Secret {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged."),
            )
            .with_inner("ObjectIsDeletedButRecoverable"));
        }
        Some(o) if o.managed => return Err(crate::kv::managed_refusal("secret", "set")),
        Some(o) => o,
        None => SecretObject {
            vault_internal_id: vault.internal_id.clone(),
            name: name.to_string(),
            versions: vec![],
            deleted: None,
            managed: false,
        },
    };
    let t = now();
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
    obj.versions.push(v.clone());
    let out = view(vault, &obj, &v, Some(spec.value));
    batch.put(&key(vault, name), Record::Secret(obj));
    Ok(out)
}

fn find_version<'a>(obj: &'a SecretObject, name: &str, version: Option<&str>) -> Result<&'a SecretVersion, KvError> {
    match version.filter(|v| !v.is_empty()) {
        None => obj.versions.last().ok_or_else(|| not_found(name)),
        Some(v) => obj
            .versions
            .iter()
            .find(|x| x.version.eq_ignore_ascii_case(v))
            .ok_or_else(|| not_found(&format!("{name}/{v}"))),
    }
}

/// `GET /secrets/{name}/{version?}`. A disabled version cannot be read.
pub fn get(
    state: &State,
    sealer: &Sealer,
    vault: &Vault,
    name: &str,
    version: Option<&str>,
) -> Result<SecretView, KvError> {
    check_name(name)?;
    let obj = live(state, vault, name)?;
    let v = find_version(obj, name, version)?;
    if !v.enabled {
        return Err(KvError::new(Kind::Forbidden, "Forbidden", "Operation get is not allowed on a disabled secret.")
            .with_inner("SecretDisabled"));
    }
    let value = open(sealer, vault, &obj.name, v)?;
    Ok(view(vault, obj, v, Some(value)))
}

/// `PATCH /secrets/{name}/{version?}`: attributes, content type, tags.
pub fn update(
    state: &State,
    batch: &mut Batch,
    vault: &Vault,
    name: &str,
    version: Option<&str>,
    spec: UpdateSpec,
) -> Result<SecretView, KvError> {
    check_name(name)?;
    check_metadata(spec.content_type.as_deref(), spec.tags.as_ref())?;
    let mut obj = live(state, vault, name)?.clone();
    if obj.managed {
        return Err(crate::kv::managed_refusal("secret", "update"));
    }
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
    v.updated = now();
    let v = v.clone();
    let out = view(vault, &obj, &v, None);
    batch.put(&key(vault, name), Record::Secret(obj));
    Ok(out)
}

fn all_objects(state: &State, vault: &Vault) -> Vec<SecretObject> {
    let t = now();
    state
        .descendants(&format!("{}/secrets", objects_root(&vault.internal_id)))
        .filter_map(|(_, r)| match r {
            Record::Secret(s) if s.deleted.as_ref().is_none_or(|d| d.scheduled_purge_date > t) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// Page size from `maxresults` (1–25; default 25).
pub fn page_size(maxresults: Option<&str>) -> Result<usize, KvError> {
    match maxresults {
        None => Ok(MAX_PAGE),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
            _ => Err(KvError::bad_parameter(format!(
                "Invalid value for maxresults: '{s}'. The value must be between 1 and {MAX_PAGE}."
            ))),
        },
    }
}

/// One page of a list: the items and the continuation token for the next page.
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// Sorts `(key, item)` pairs by key and returns the page after the `$skiptoken` (shared by keys).
pub fn paginate<T>(mut all: Vec<(String, T)>, size: usize, skip: Option<&str>) -> Result<Page<T>, KvError> {
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let after = match skip {
        Some(tok) => Some(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(tok)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| KvError::bad_parameter("The $skiptoken is not valid."))?,
        ),
        None => None,
    };
    let rest: Vec<(String, T)> = all.into_iter().filter(|(k, _)| after.as_ref().is_none_or(|a| k > a)).collect();
    let more = rest.len() > size;
    let mut items = Vec::with_capacity(size);
    let mut last = None;
    for (k, t) in rest.into_iter().take(size) {
        last = Some(k);
        items.push(t);
    }
    let next = if more { last.map(|k| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(k)) } else { None };
    Ok(Page { items, next })
}

/// `GET /secrets`: the current version's metadata of every live secret.
pub fn list(state: &State, vault: &Vault, size: usize, skip: Option<&str>) -> Result<Page<SecretView>, KvError> {
    let all = all_objects(state, vault)
        .into_iter()
        .filter(|o| o.deleted.is_none())
        .filter_map(|o| o.versions.last().map(|v| (o.name.to_ascii_lowercase(), view(vault, &o, v, None))))
        .collect();
    paginate(all, size, skip)
}

/// `GET /secrets/{name}/versions`.
pub fn list_versions(
    state: &State,
    vault: &Vault,
    name: &str,
    size: usize,
    skip: Option<&str>,
) -> Result<Page<SecretView>, KvError> {
    check_name(name)?;
    let obj = live(state, vault, name)?;
    let all = obj.versions.iter().map(|v| (v.version.clone(), view(vault, obj, v, None))).collect();
    paginate(all, size, skip)
}

/// `DELETE /secrets/{name}`: every version moves to the deleted state (or is gone without soft delete).
pub fn delete(state: &State, batch: &mut Batch, vault: &Vault, name: &str) -> Result<SecretView, KvError> {
    check_name(name)?;
    let mut obj = live(state, vault, name)?.clone();
    if obj.managed {
        return Err(crate::kv::managed_refusal("secret", "delete"));
    }
    let t = now();
    obj.deleted = Some(DeletedState {
        deleted_date: t,
        scheduled_purge_date: t + i64::from(vault.soft_delete_retention_in_days) * 86_400,
    });
    let current = obj.versions.last().cloned().ok_or_else(|| not_found(name))?;
    let out = view(vault, &obj, &current, None);
    if vault.enable_soft_delete {
        batch.put(&key(vault, name), Record::Secret(obj));
    } else {
        batch.delete(&key(vault, name));
    }
    Ok(out)
}

fn deleted(state: &State, vault: &Vault, name: &str) -> Result<SecretObject, KvError> {
    check_name(name)?;
    match object(state, vault, name) {
        Some(o) if o.deleted.is_some() => Ok(o.clone()),
        _ => Err(deleted_not_found(name)),
    }
}

/// `GET /deletedsecrets/{name}`.
pub fn get_deleted(state: &State, vault: &Vault, name: &str) -> Result<SecretView, KvError> {
    let obj = deleted(state, vault, name)?;
    let v = obj.versions.last().ok_or_else(|| deleted_not_found(name))?;
    Ok(view(vault, &obj, v, None))
}

/// `GET /deletedsecrets`.
pub fn list_deleted(
    state: &State,
    vault: &Vault,
    size: usize,
    skip: Option<&str>,
) -> Result<Page<SecretView>, KvError> {
    let all = all_objects(state, vault)
        .into_iter()
        .filter(|o| o.deleted.is_some() && !o.managed)
        .filter_map(|o| o.versions.last().map(|v| (o.name.to_ascii_lowercase(), view(vault, &o, v, None))))
        .collect();
    paginate(all, size, skip)
}

/// `POST /deletedsecrets/{name}/recover`.
pub fn recover(state: &State, batch: &mut Batch, vault: &Vault, name: &str) -> Result<SecretView, KvError> {
    let mut obj = deleted(state, vault, name)?;
    if obj.managed {
        return Err(crate::kv::managed_refusal("secret", "recover"));
    }
    obj.deleted = None;
    let v = obj.versions.last().cloned().ok_or_else(|| deleted_not_found(name))?;
    let out = view(vault, &obj, &v, None);
    batch.put(&key(vault, name), Record::Secret(obj));
    Ok(out)
}

/// `DELETE /deletedsecrets/{name}`: gone for good, unless purge protection holds it.
pub fn purge(state: &State, batch: &mut Batch, vault: &Vault, name: &str) -> Result<(), KvError> {
    if deleted(state, vault, name)?.managed {
        return Err(crate::kv::managed_refusal("secret", "purge"));
    }
    crate::kv::purge_allowed(vault)?;
    batch.delete(&key(vault, name));
    Ok(())
}

/// The plaintext content of a backup blob, sealed as a whole.
#[derive(Serialize, Deserialize)]
struct Backup {
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

/// `POST /secrets/{name}/backup`: an opaque, encrypted blob restorable in the same subscription.
pub fn backup(state: &State, sealer: &Sealer, vault: &Vault, name: &str) -> Result<String, KvError> {
    check_name(name)?;
    let obj = live(state, vault, name)?;
    if obj.managed {
        return Err(crate::kv::managed_refusal("secret", "backup"));
    }
    if obj.versions.len() > MAX_BACKUP_VERSIONS {
        return Err(KvError::bad_parameter(format!(
            "Backup of secret {name} failed: it has more than {MAX_BACKUP_VERSIONS} versions."
        )));
    }
    let mut versions = Vec::with_capacity(obj.versions.len());
    for v in &obj.versions {
        versions.push(BackupVersion { value: open(sealer, vault, &obj.name, v)?, meta: v.clone() });
    }
    crate::kv::seal_backup(
        sealer,
        "secret",
        vault,
        &Backup { v: 1, subscription: crate::kv::subscription_of(vault), name: obj.name.clone(), versions },
    )
}

/// `POST /secrets/restore`.
pub fn restore(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    vault: &Vault,
    blob: &str,
) -> Result<SecretView, KvError> {
    let b: Backup = crate::kv::open_backup(sealer, "secret", vault, blob)?;
    if object(state, vault, &b.name).is_some() {
        return Err(KvError::new(
            Kind::Conflict,
            "Conflict",
            format!(
                "There was a conflict restoring secret '{}'. A secret with the same name already exists in this vault, possibly in the deleted state.",
                b.name
            ),
        ));
    }
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
    let v = obj.versions.last().cloned().ok_or_else(crate::kv::invalid_backup)?;
    let out = view(vault, &obj, &v, None);
    batch.put(&key(vault, &b.name), Record::Secret(obj));
    Ok(out)
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
) -> Result<(), KvError> {
    // Earlier versions of this batch (restore writes several) come first.
    let current = batch.latest(state, &key(vault, name));
    let mut obj = match current {
        Some(Record::Secret(o)) if !o.managed => {
            return Err(KvError::new(
                Kind::Conflict,
                "Conflict",
                format!(
                    "A secret named {name} already exists in this vault; a certificate's name must not be used by a secret."
                ),
            ));
        }
        Some(Record::Secret(o)) => o,
        _ => SecretObject {
            vault_internal_id: vault.internal_id.clone(),
            name: name.to_string(),
            versions: vec![],
            deleted: None,
            managed: true,
        },
    };
    v.sealed_value = seal(sealer, vault, &obj.name, &v.version, value);
    obj.versions.push(v);
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

#[cfg(test)]
mod tests;
