//! The lifecycle every vault object (secret, key, certificate) shares, written once: where its
//! record lives, the live and deleted lookups, lists and their paging, soft delete, recover,
//! purge, backup and restore, the recovery level Azure reports, and the checks of names and tags.
//!
//! Each kind implements `VaultObject` for its stored record and says there what differs: whether
//! an object backs a certificate (`managed`: its key and secret, whose lifetime the certificate
//! manages), the records that move with an object (a certificate's key and secret are deleted,
//! recovered and purged with it), and what its backup holds. The kind's module keeps the public
//! entry points (`secrets::delete`, `keys::restore`, ...), each a call of the function here.

use base64::Engine as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use vaultlink_crypto::Sealer;

use crate::engine::{Batch, State};
use crate::error::{Error, Kind};
use crate::model::{DeletedState, Record, Tags, Vault};

/// Azure's limits on tags (azure-behaviour.md §5.6).
pub const MAX_TAGS: usize = 15;
pub const MAX_TAG_LEN: usize = 512;
/// `maxresults` upper bound of list operations.
pub const MAX_PAGE: usize = 25;
/// Backups of objects with more versions fail (azure-behaviour.md §5.4).
pub const MAX_BACKUP_VERSIONS: usize = 500;

/// A kind of vault object, as the shared lifecycle sees it.
pub(crate) trait VaultObject: Clone + Sized {
    type Version;
    /// What the surfaces render.
    type View;
    /// The plaintext content of a backup blob (sealed as a whole; its shape is the kind's own).
    type Backup: Serialize + DeserializeOwned;
    /// The folder under the vault's objects root: `secrets`, `keys`, `certificates`.
    const COLLECTION: &'static str;
    /// The kind as Azure's messages name it: `secret`, `key`, `certificate` (also the backup's
    /// binding and the `managed` refusal's kind).
    const KIND: &'static str;
    /// The same, capitalised: `Secret` (`SecretNotFound`, "Deleted Secret not found").
    const TITLE: &'static str;

    fn of(record: &Record) -> Option<&Self>;
    fn from_record(record: Record) -> Option<Self>;
    fn into_record(self) -> Record;
    fn name(&self) -> &str;
    /// Oldest first; the last is the current version.
    fn versions(&self) -> &[Self::Version];
    fn version_id(v: &Self::Version) -> &str;
    fn deleted_state(&self) -> Option<&DeletedState>;
    fn set_deleted(&mut self, deleted: Option<DeletedState>);
    fn view(vault: &Vault, obj: &Self, v: &Self::Version) -> Self::View;

    /// Backs a certificate: delete, recover, purge, backup (and the kind's own writes) are
    /// refused, and it is not listed among deleted objects.
    fn managed(&self) -> bool {
        false
    }
    /// What `list_versions` sorts (and pages) by; the version id unless the kind says otherwise.
    fn version_order(v: &Self::Version) -> String {
        Self::version_id(v).to_string()
    }
    /// Changes the object itself makes as it is deleted.
    fn on_delete(&mut self) {}
    /// The records that move with the object on delete (`Some`) and recover (`None`).
    fn move_companions(_state: &State, _batch: &mut Batch, _vault: &Vault, _name: &str, _d: Option<&DeletedState>) {}
    /// The records that go with the object when it is purged (or deleted without soft delete).
    fn remove_companions(_batch: &mut Batch, _vault: &Vault, _name: &str) {}

    /// The backup's content of a live object with at least one version.
    fn backup_content(state: &State, sealer: &Sealer, vault: &Vault, obj: &Self) -> Result<Self::Backup, Error>;
    fn backup_name(b: &Self::Backup) -> &str;
    /// Whether restoring `name` finds the name taken (by default: by an object of this kind,
    /// possibly deleted).
    fn restore_taken(state: &State, vault: &Vault, name: &str) -> bool {
        object::<Self>(state, vault, name).is_some()
    }
    fn restore_conflict(name: &str) -> Error {
        let kind = Self::KIND;
        Error::new(
            Kind::Conflict,
            "Conflict",
            format!(
                "There was a conflict restoring {kind} '{name}'. A {kind} with the same name already exists in this vault, possibly in the deleted state."
            ),
        )
    }
    /// The object a backup restores (the kind may write companion records into `batch`).
    fn restored(
        state: &State,
        batch: &mut Batch,
        sealer: &Sealer,
        vault: &Vault,
        b: Self::Backup,
    ) -> Result<Self, Error>;
}

// ---------------------------------------------------------------------------------------------
// Where objects live

/// The store key of object `name` of kind `T`.
pub(crate) fn record_key<T: VaultObject>(vault: &Vault, name: &str) -> String {
    format!("/vaultdata/{}/{}/{}", vault.internal_id, T::COLLECTION, name.to_ascii_lowercase())
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

// ---------------------------------------------------------------------------------------------
// Checks and refusals

/// An object name as Key Vault accepts it (400 `BadParameter` otherwise).
pub(crate) fn check_name(name: &str) -> Result<(), Error> {
    vaultlink_rules::object_name(name).map_err(|e| Error::new(Kind::BadRequest, e.code, e.message))
}

/// At most `MAX_TAGS` tags, names and values at most `MAX_TAG_LEN` characters.
pub(crate) fn check_tags(tags: Option<&Tags>) -> Result<(), Error> {
    if let Some(t) = tags {
        if t.len() > MAX_TAGS {
            return Err(Error::bad_parameter(format!(
                "The number of tags ({}) exceeds the maximum of {MAX_TAGS}.",
                t.len()
            )));
        }
        if t.iter().any(|(k, v)| k.chars().count() > MAX_TAG_LEN || v.chars().count() > MAX_TAG_LEN) {
            return Err(Error::bad_parameter(format!(
                "Tag names and values must be at most {MAX_TAG_LEN} characters long."
            )));
        }
    }
    Ok(())
}

/// Attributes as the wire gives them (`nbf`/`exp` in Unix seconds, within [`UNIX_TIME_RANGE`]).
#[derive(Debug, Default, serde::Deserialize)]
pub struct AttributesSpec {
    pub enabled: Option<bool>,
    #[serde(default, deserialize_with = "unix_time")]
    pub nbf: Option<i64>,
    #[serde(default, deserialize_with = "unix_time")]
    pub exp: Option<i64>,
}

/// The times `nbf` and `exp` may name: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z, the range of
/// the .NET date Key Vault keeps them in (vaultlink's reading; docs/behaviour.md).
pub const UNIX_TIME_RANGE: std::ops::RangeInclusive<i64> = -62_135_596_800..=253_402_300_799;

fn unix_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let t = <Option<i64> as serde::Deserialize>::deserialize(d)?;
    match t {
        Some(t) if !UNIX_TIME_RANGE.contains(&t) => Err(serde::de::Error::custom(format!(
            "the time {t} is out of range: a Unix time between {} and {} (years 0001 to 9999)",
            UNIX_TIME_RANGE.start(),
            UNIX_TIME_RANGE.end()
        ))),
        t => Ok(t),
    }
}

/// A base64 sealed field of a stored record, opened with `from` and sealed again with `to` under
/// the same `aad` (a snapshot moving between a root key and a passphrase).
pub(crate) fn reseal_b64(text: &mut String, aad: &[u8], from: &Sealer, to: &Sealer) -> Result<(), Error> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let unreadable = || Error::internal("a sealed value is not base64");
    let sealed = b64.decode(text.as_bytes()).map_err(|_| unreadable())?;
    let again = from.reseal(&sealed, aad, to).map_err(|e| Error::internal(e.to_string()))?;
    *text = b64.encode(again);
    Ok(())
}

pub(crate) fn not_found<T: VaultObject>(name: &str) -> Error {
    let kind = T::KIND;
    Error::new(
        Kind::NotFound,
        &format!("{}NotFound", T::TITLE),
        format!(
            "A {kind} with (name/id) {name} was not found in this key vault. If you recently deleted this {kind} you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
        ),
    )
}

pub(crate) fn deleted_not_found<T: VaultObject>(name: &str) -> Error {
    Error::new(Kind::NotFound, &format!("{}NotFound", T::TITLE), format!("Deleted {} not found: {name}", T::TITLE))
}

fn deleted_conflict<T: VaultObject>(name: &str) -> Error {
    let kind = T::KIND;
    Error::new(
        Kind::Conflict,
        "Conflict",
        format!("{} {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the {kind} can only be recovered or purged.", T::TITLE),
    )
    .with_inner("ObjectIsDeletedButRecoverable")
}

/// The refusal of `op` on a key or secret that backs a certificate (Azure's text for secrets;
/// `KeyManagedByKeyVault` for keys is vaultlink's analogue).
pub(crate) fn managed_refusal(kind: &str, op: &str) -> Error {
    let inner = if kind == "key" { "KeyManagedByKeyVault" } else { "SecretManagedByKeyVault" };
    Error::new(
        Kind::Forbidden,
        "Forbidden",
        format!("Operation \"{op}\" is not allowed as this object's lifetime is managed by Key Vault."),
    )
    .with_inner(inner)
}

/// Refuses `op` on an object that backs a certificate.
pub(crate) fn refuse_managed<T: VaultObject>(obj: &T, op: &str) -> Result<(), Error> {
    if obj.managed() { Err(managed_refusal(T::KIND, op)) } else { Ok(()) }
}

/// Purging a deleted object: refused while the vault's purge protection holds it.
fn purge_allowed(vault: &Vault) -> Result<(), Error> {
    if !vault.enable_purge_protection {
        return Ok(());
    }
    Err(Error::new(
        Kind::Forbidden,
        "Forbidden",
        format!("Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.\r\nVault: {};location={}", vault.name, vault.location),
    )
    .with_inner("PurgeProtectionEnabled"))
}

// ---------------------------------------------------------------------------------------------
// Lookups

fn present<T: VaultObject>(obj: &T, t: i64) -> bool {
    obj.deleted_state().is_none_or(|d| d.retained_at(t))
}

/// The stored object, if any, with expired soft-deleted objects treated as purged.
pub(crate) fn object<'a, T: VaultObject>(state: &'a State, vault: &Vault, name: &str) -> Option<&'a T> {
    state.get(&record_key::<T>(vault, name)).and_then(T::of).filter(|o| present(*o, state.now()))
}

/// A live object; its name is checked first (400), then 404 when it is absent or deleted. A
/// certificate may have no version yet while its first operation is pending.
pub(crate) fn live<'a, T: VaultObject>(state: &'a State, vault: &Vault, name: &str) -> Result<&'a T, Error> {
    check_name(name)?;
    match object::<T>(state, vault, name) {
        Some(o) if o.deleted_state().is_none() => Ok(o),
        _ => Err(not_found::<T>(name)),
    }
}

/// A deleted (and not yet purged) object; its name is checked first.
pub(crate) fn deleted<'a, T: VaultObject>(state: &'a State, vault: &Vault, name: &str) -> Result<&'a T, Error> {
    check_name(name)?;
    match object::<T>(state, vault, name) {
        Some(o) if o.deleted_state().is_some() => Ok(o),
        _ => Err(deleted_not_found::<T>(name)),
    }
}

/// The live object a new version of `name` goes to, `None` for a new object. A deleted object
/// holds its name (409); one that backs a certificate refuses `op`.
pub(crate) fn writable<'a, T: VaultObject>(
    state: &'a State,
    vault: &Vault,
    name: &str,
    op: &str,
) -> Result<Option<&'a T>, Error> {
    match object::<T>(state, vault, name) {
        Some(o) if o.deleted_state().is_some() => Err(deleted_conflict::<T>(name)),
        Some(o) => refuse_managed(o, op).map(|()| Some(o)),
        None => Ok(None),
    }
}

/// The object backing certificate `name` as this batch leaves it (earlier versions of the batch
/// first: a restore writes several), or `new()`. An object of that name that does not back a
/// certificate is a conflict.
pub(crate) fn managed_or_new<T: VaultObject>(
    state: &State,
    batch: &Batch,
    vault: &Vault,
    name: &str,
    new: impl FnOnce() -> T,
) -> Result<T, Error> {
    match batch.latest(state, &record_key::<T>(vault, name)).and_then(T::from_record) {
        Some(o) if !o.managed() => {
            let kind = T::KIND;
            Err(Error::new(
                Kind::Conflict,
                "Conflict",
                format!(
                    "A {kind} named {name} already exists in this vault; a certificate's name must not be used by a {kind}."
                ),
            ))
        }
        Some(o) => Ok(o),
        None => Ok(new()),
    }
}

/// The version `version` of `obj` (the current one when absent or empty).
pub(crate) fn find_version<'a, T: VaultObject>(
    obj: &'a T,
    name: &str,
    version: Option<&str>,
) -> Result<&'a T::Version, Error> {
    match version.filter(|v| !v.is_empty()) {
        None => obj.versions().last().ok_or_else(|| not_found::<T>(name)),
        Some(v) => obj
            .versions()
            .iter()
            .find(|x| T::version_id(x).eq_ignore_ascii_case(v))
            .ok_or_else(|| not_found::<T>(&format!("{name}/{v}"))),
    }
}

/// Every stored object of kind `T` in the vault, live or deleted (not expired), in key order.
fn all<'a, T: VaultObject>(state: &'a State, vault: &Vault) -> Vec<&'a T> {
    let t = state.now();
    state
        .descendants(&format!("{}/{}", vault.objects_root(), T::COLLECTION))
        .filter_map(|(_, r)| T::of(r).filter(|o| present(*o, t)))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Lists and paging

/// Page size from `maxresults` (1–25; default 25).
pub fn page_size(maxresults: Option<&str>) -> Result<usize, Error> {
    match maxresults {
        None => Ok(MAX_PAGE),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
            _ => Err(Error::bad_parameter(format!(
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

/// Sorts `(key, item)` pairs by key and returns the page after the `$skiptoken`.
pub fn paginate<T>(mut all: Vec<(String, T)>, size: usize, skip: Option<&str>) -> Result<Page<T>, Error> {
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let after = match skip {
        Some(tok) => Some(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(tok)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| Error::bad_parameter("The $skiptoken is not valid."))?,
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

/// The live objects, by name, each as `current` shows it (`None`: not listed).
pub(crate) fn list_with<T: VaultObject>(
    state: &State,
    vault: &Vault,
    size: usize,
    skip: Option<&str>,
    current: impl Fn(&T) -> Option<T::View>,
) -> Result<Page<T::View>, Error> {
    let all = all::<T>(state, vault)
        .into_iter()
        .filter(|o| o.deleted_state().is_none())
        .filter_map(|o| current(o).map(|v| (o.name().to_ascii_lowercase(), v)))
        .collect();
    paginate(all, size, skip)
}

/// Every live object of kind `T` in the vault, in name order, unpaged (Resource Manager's view of
/// secrets pages its own answer: `kv::secrets::arm`).
pub(crate) fn all_live<'a, T: VaultObject>(state: &'a State, vault: &Vault) -> Vec<&'a T> {
    all::<T>(state, vault).into_iter().filter(|o| o.deleted_state().is_none()).collect()
}

/// The current version of every live object.
pub(crate) fn list<T: VaultObject>(
    state: &State,
    vault: &Vault,
    size: usize,
    skip: Option<&str>,
) -> Result<Page<T::View>, Error> {
    list_with(state, vault, size, skip, |o: &T| o.versions().last().map(|v| T::view(vault, o, v)))
}

/// Every version of a live object. A name with no live object (never created, or deleted) has
/// no versions: Azure answers an empty list, not 404.
pub(crate) fn list_versions<T: VaultObject>(
    state: &State,
    vault: &Vault,
    name: &str,
    size: usize,
    skip: Option<&str>,
) -> Result<Page<T::View>, Error> {
    check_name(name)?;
    let all = match object::<T>(state, vault, name) {
        Some(obj) if obj.deleted_state().is_none() => {
            obj.versions().iter().map(|v| (T::version_order(v), T::view(vault, obj, v))).collect()
        }
        _ => Vec::new(),
    };
    paginate(all, size, skip)
}

/// The current version of every deleted object (objects backing a certificate are not listed).
pub(crate) fn list_deleted<T: VaultObject>(
    state: &State,
    vault: &Vault,
    size: usize,
    skip: Option<&str>,
) -> Result<Page<T::View>, Error> {
    let all = all::<T>(state, vault)
        .into_iter()
        .filter(|o| o.deleted_state().is_some() && !o.managed())
        .filter_map(|o| o.versions().last().map(|v| (o.name().to_ascii_lowercase(), T::view(vault, o, v))))
        .collect();
    paginate(all, size, skip)
}

// ---------------------------------------------------------------------------------------------
// Soft delete, recover, purge

/// A deleted object's current version.
pub(crate) fn get_deleted<T: VaultObject>(state: &State, vault: &Vault, name: &str) -> Result<T::View, Error> {
    let obj = deleted::<T>(state, vault, name)?;
    let v = obj.versions().last().ok_or_else(|| deleted_not_found::<T>(name))?;
    Ok(T::view(vault, obj, v))
}

/// Every version moves to the deleted state, with the object's companions (or all are gone at
/// once without soft delete).
pub(crate) fn delete<T: VaultObject>(
    state: &State,
    batch: &mut Batch,
    vault: &Vault,
    name: &str,
) -> Result<T::View, Error> {
    let stored = live::<T>(state, vault, name)?;
    refuse_managed(stored, "delete")?;
    let current = stored.versions().last().ok_or_else(|| not_found::<T>(name))?;
    let t = state.now();
    let d = DeletedState {
        deleted_date: t,
        scheduled_purge_date: t + i64::from(vault.soft_delete_retention_in_days) * 86_400,
    };
    let mut obj = stored.clone();
    obj.set_deleted(Some(d.clone()));
    obj.on_delete();
    let out = T::view(vault, &obj, current);
    let key = record_key::<T>(vault, name);
    if vault.enable_soft_delete {
        batch.put(&key, obj.into_record());
        T::move_companions(state, batch, vault, name, Some(&d));
    } else {
        batch.delete(&key);
        T::remove_companions(batch, vault, name);
    }
    Ok(out)
}

/// A deleted object (and its companions) live again.
pub(crate) fn recover<T: VaultObject>(
    state: &State,
    batch: &mut Batch,
    vault: &Vault,
    name: &str,
) -> Result<T::View, Error> {
    let stored = deleted::<T>(state, vault, name)?;
    refuse_managed(stored, "recover")?;
    let mut obj = stored.clone();
    obj.set_deleted(None);
    let v = stored.versions().last().ok_or_else(|| deleted_not_found::<T>(name))?;
    let out = T::view(vault, &obj, v);
    batch.put(&record_key::<T>(vault, name), obj.into_record());
    T::move_companions(state, batch, vault, name, None);
    Ok(out)
}

/// A deleted object (and its companions) gone for good, unless purge protection holds it.
pub(crate) fn purge<T: VaultObject>(state: &State, batch: &mut Batch, vault: &Vault, name: &str) -> Result<(), Error> {
    refuse_managed(deleted::<T>(state, vault, name)?, "purge")?;
    purge_allowed(vault)?;
    batch.delete(&record_key::<T>(vault, name));
    T::remove_companions(batch, vault, name);
    Ok(())
}

/// Purges the soft-deleted objects of kind `T` in `vault` whose retention has passed, as Key
/// Vault does by itself (purge protection or not); returns how many.
pub(crate) fn purge_expired<T: VaultObject>(state: &State, batch: &mut Batch, vault: &Vault) -> usize {
    let t = state.now();
    let mut purged = 0;
    for (key, record) in state.descendants(&format!("{}/{}", vault.objects_root(), T::COLLECTION)) {
        if let Some(o) = T::of(record)
            && o.deleted_state().is_some_and(|d| !d.retained_at(t))
        {
            batch.delete(key);
            T::remove_companions(batch, vault, o.name());
            purged += 1;
        }
    }
    purged
}

// ---------------------------------------------------------------------------------------------
// Backup and restore

fn backup_aad(kind: &str, vault: &Vault) -> Vec<u8> {
    format!("vaultlink-{kind}-backup\0{}", vault.subscription().to_ascii_lowercase()).into_bytes()
}

/// The refusal of a backup blob that cannot be restored here.
pub(crate) fn invalid_backup() -> Error {
    Error::bad_parameter(
        "Backup blob contains invalid or corrupt data, or was made in another subscription. A backup can only be restored into a key vault of the subscription it was taken in.",
    )
}

/// A live object as an opaque blob restorable in the same subscription: its content sealed as a
/// whole under the root key, bound to the kind of object and the vault's subscription;
/// base64url without padding.
pub(crate) fn backup<T: VaultObject>(
    state: &State,
    sealer: &Sealer,
    vault: &Vault,
    name: &str,
) -> Result<String, Error> {
    let obj = live::<T>(state, vault, name)?;
    refuse_managed(obj, "backup")?;
    if obj.versions().is_empty() {
        return Err(not_found::<T>(name));
    }
    if obj.versions().len() > MAX_BACKUP_VERSIONS {
        return Err(Error::bad_parameter(format!(
            "Backup of {} {name} failed: it has more than {MAX_BACKUP_VERSIONS} versions.",
            T::KIND
        )));
    }
    let content = T::backup_content(state, sealer, vault, obj)?;
    let plain =
        serde_json::to_vec(&content).map_err(|e| Error::new(Kind::Internal, "InternalServerError", e.to_string()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealer.seal(&plain, &backup_aad(T::KIND, vault))))
}

/// Restores a backup blob into `vault`; a blob altered in any byte, of another kind, or from
/// another subscription is refused with 400 `BadParameter`, a name in use with 409.
pub(crate) fn restore<T: VaultObject>(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    vault: &Vault,
    blob: &str,
) -> Result<T::View, Error> {
    let t = blob.trim_end_matches('=');
    let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(t)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(t))
        .map_err(|_| invalid_backup())?;
    let plain = sealer.open(&sealed, &backup_aad(T::KIND, vault)).map_err(|_| invalid_backup())?;
    let b: T::Backup = serde_json::from_slice(&plain).map_err(|_| invalid_backup())?;
    let name = T::backup_name(&b).to_string();
    if T::restore_taken(state, vault, &name) {
        return Err(T::restore_conflict(&name));
    }
    let obj = T::restored(state, batch, sealer, vault, b)?;
    let v = obj.versions().last().ok_or_else(invalid_backup)?;
    let out = T::view(vault, &obj, v);
    batch.put(&record_key::<T>(vault, &name), obj.into_record());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn times_past_years_1_to_9999_are_refused() {
        let parse = |v: serde_json::Value| serde_json::from_value::<AttributesSpec>(v);
        for field in ["exp", "nbf"] {
            for t in [*UNIX_TIME_RANGE.end(), *UNIX_TIME_RANGE.start(), 0] {
                assert!(parse(json!({field: t})).is_ok(), "{field} {t}");
            }
            for t in [UNIX_TIME_RANGE.end() + 1, UNIX_TIME_RANGE.start() - 1, i64::MAX] {
                let e = parse(json!({field: t})).unwrap_err().to_string();
                assert!(e.contains("out of range"), "{field} {t}: {e}");
            }
        }
        assert!(parse(json!({"exp": null})).unwrap().exp.is_none());
    }
}
