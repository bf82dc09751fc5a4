//! Key Vault certificates: create with a policy (self-signed now; `Unknown` and named issuers
//! through a pending operation with a CSR, then merge), import (PKCS#12, PEM), get, list,
//! versions, policy, update, the pending operation, soft delete, recover, purge, backup, restore;
//! issuers and contacts.
//!
//! Each version is backed by a key and a secret of the same name and version (`managed`, written
//! in the same batch by `keys::put_managed` / `secrets::put_managed`): the key holds the private
//! key, the secret the PKCS#12 (empty password) or PEM bundle, with the private key when the
//! policy says `exportable`. Deleting, recovering and purging a certificate does the same to both.
//!
//! Choices where Azure's behaviour is unknown (keep them here and in docs/behaviour.md):
//! - a self-signed create completes inside the create request: its response says `inProgress`
//!   (as Azure's does; the SDK's poller polls only then) and the first poll says `completed`;
//! - `Unknown` and named issuers both leave the operation `inProgress` with a CSR until a merge
//!   (vaultlink contacts no certificate authority); until then the certificate has no version,
//!   GET answers 404 and only `includePending=true` lists it;
//! - a create while an operation is in progress replaces it; curve P-256K is refused;
//! - without `preserveCertOrder` the leaf moves to the front of the chain, the rest keep their
//!   order; `cer` is the leaf either way; merge also takes `x5c` entries the way the SDKs' own
//!   merge tests send them (base64 of base64 text, base64 of PEM), as Azure does;
//! - a non-exportable certificate's secret holds the certificate chain without the private key;
//! - error codes `PendingCertificateNotFound`, `CertificateIssuerNotFound`, `ContactsNotFound`, and
//!   the messages marked "vaultlink's wording" are plausible, not captured from Azure.

mod issuers;
mod pending;
pub mod policy;
mod render;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use vaultlink_crypto::Sealer;
use vaultlink_crypto::x509::{self, Bundle};

use super::objects::{self, AttributesSpec, Page, VaultObject, check_name, check_tags, find_version, live, record_key};
use super::{keys, secrets};
use crate::engine::{Batch, State};
use crate::error::{Error, Kind};
use crate::kv::Admitted;
use crate::model::{
    CertificateIssuer, CertificateObject, CertificateVersion, DeletedState, KeyObject, PendingCertificate, Record,
    SecretObject, SecretVersion, Tags, Vault,
};
use issuers::issuer_exists;
pub use issuers::{
    ContactsSpec, IssuerCredentials, IssuerSpec, delete_contacts, delete_issuer, get_contacts, get_issuer,
    list_issuers, set_contacts, set_issuer,
};
pub(crate) use pending::renew_due;
pub use pending::{CreateSpec, MergeSpec, cancel_pending, create, delete_pending, get_pending, merge};
pub use policy::Policy;
pub use render::{
    render, render_contacts, render_issuer, render_issuer_item, render_item, render_operation, render_policy,
};

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn store_key(vault: &Vault, name: &str) -> String {
    record_key::<CertificateObject>(vault, name)
}

fn aad(vault: &Vault, name: &str, what: &str) -> Vec<u8> {
    aad_in(&vault.internal_id, name, what)
}

fn aad_in(vault_internal_id: &str, name: &str, what: &str) -> Vec<u8> {
    format!("vaultlink-cert-{what}\0{vault_internal_id}\0{}", name.to_ascii_lowercase()).into_bytes()
}

/// The sealed private key of `obj`'s operation in progress sealed again, `from` to `to`
/// (`snapshot::reseal`).
pub(crate) fn reseal(obj: &mut CertificateObject, from: &Sealer, to: &Sealer) -> Result<(), Error> {
    if let Some(p) = &mut obj.pending
        && let Some(sealed) = &mut p.sealed_private
    {
        let aad = aad_in(&obj.vault_internal_id, &format!("{}/{}", obj.name, p.version), "pending");
        objects::reseal_b64(sealed, &aad, from, to)?;
    }
    Ok(())
}

/// An issuer's sealed password sealed again, `from` to `to` (`snapshot::reseal`).
pub(crate) fn reseal_issuer(i: &mut CertificateIssuer, from: &Sealer, to: &Sealer) -> Result<(), Error> {
    if let Some(sealed) = &mut i.sealed_password {
        objects::reseal_b64(sealed, &aad_in(&i.vault_internal_id, &i.name, "issuer-pwd"), from, to)?;
    }
    Ok(())
}

fn internal(m: impl Into<String>) -> Error {
    Error::new(Kind::Internal, "InternalServerError", m)
}

fn bad(m: impl Into<String>) -> Error {
    Error::bad_parameter(m)
}

/// Azure's answer to a merge whose certificate is not the pending key's (import and merge both).
const KEY_MISMATCH: &str = "Public key from x509 certificate and key of this instance doesn't match";

/// The live certificate to add a version to, or a new empty one; a deleted one is a conflict.
fn live_or_new(state: &State, vault: &Vault, name: &str) -> Result<CertificateObject, Error> {
    match objects::writable::<CertificateObject>(state, vault, name, "create")? {
        Some(o) => Ok(o.clone()),
        None => Ok(CertificateObject {
            vault_internal_id: vault.internal_id.clone(),
            name: name.to_string(),
            versions: vec![],
            deleted: None,
            policy: Value::Null,
            pending: None,
        }),
    }
}

/// A certificate version as the surfaces render it.
#[derive(Debug, Clone)]
pub struct CertView {
    pub name: String,
    pub version: CertificateVersion,
    pub policy: Value,
    pub content_type: String,
    pub recovery_level: &'static str,
    pub recoverable_days: u32,
    pub deleted: Option<DeletedState>,
}

fn view(vault: &Vault, obj: &CertificateObject, v: &CertificateVersion) -> CertView {
    let p = Policy::from_value(&obj.policy).unwrap_or_default();
    CertView {
        name: obj.name.clone(),
        version: v.clone(),
        content_type: p.content_type().to_string(),
        policy: obj.policy.clone(),
        recovery_level: objects::recovery_level(vault),
        recoverable_days: vault.soft_delete_retention_in_days,
        deleted: obj.deleted.clone(),
    }
}

/// A pending operation as the surfaces render it.
#[derive(Debug, Clone)]
pub struct OpView {
    pub name: String,
    pub op: PendingCertificate,
}

// ---------------------------------------------------------------------------------------------
// Writing a version (create, merge, import, restore)

/// The secret value of a version: base64 PKCS#12 (empty password) or PEM.
fn secret_value(policy: &Policy, pkcs8: &[u8], chain: &[Vec<u8>]) -> Result<String, Error> {
    let bundle = Bundle { key: policy.exportable().then(|| pkcs8.to_vec()), chain: chain.to_vec() };
    if policy.content_type() == policy::PEM {
        Ok(x509::to_pem(&bundle))
    } else {
        Ok(b64().encode(x509::to_pkcs12(&bundle, "").map_err(|e| internal(e.0))?))
    }
}

/// A version's chain in the secret's order, where its leaf (the certificate of the version's
/// key) is, and what the leaf says.
struct Chain {
    certs: Vec<Vec<u8>>,
    leaf: usize,
    info: x509::CertInfo,
    preserve: Option<bool>,
}

impl Chain {
    /// `certs` as given, for the key `pkcs8`: without `preserveCertOrder` (the default) the leaf
    /// moves to the front and the others keep their order. `no_leaf` is the refusal when no
    /// certificate is the key's.
    fn arrange(mut certs: Vec<Vec<u8>>, pkcs8: &[u8], preserve: Option<bool>, no_leaf: &str) -> Result<Self, Error> {
        let public = x509::public_key_of(pkcs8).map_err(|e| bad(e.0))?;
        let mut found = None;
        for (i, der) in certs.iter().enumerate() {
            let info = x509::parse(der).map_err(|e| bad(e.0))?;
            if info.public_key == public {
                found = Some((i, info));
                break;
            }
        }
        let (mut leaf, info) = found.ok_or_else(|| bad(no_leaf))?;
        if !preserve.unwrap_or(false) && leaf != 0 {
            let cert = certs.remove(leaf);
            certs.insert(0, cert);
            leaf = 0;
        }
        Ok(Self { certs, leaf, info, preserve })
    }
}

/// Appends version `version` (key `pkcs8`, its `chain` arranged) with its backing key and secret.
#[allow(clippy::too_many_arguments)]
fn add_version(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    vault: &Vault,
    obj: &mut CertificateObject,
    version: &str,
    pkcs8: &[u8],
    chain: Chain,
    enabled: bool,
    tags: Tags,
) -> Result<CertificateVersion, Error> {
    let Chain { certs: chain, leaf, info, preserve } = chain;
    let policy = Policy::from_value(&obj.policy)?;
    let t = state.now();
    let cv = CertificateVersion {
        version: version.to_string(),
        chain: chain.iter().map(|c| b64().encode(c)).collect(),
        leaf,
        preserve_cert_order: preserve,
        tags: tags.clone(),
        enabled,
        nbf: Some(info.not_before),
        exp: Some(info.not_after),
        created: t,
        updated: t,
    };
    let attrs = || AttributesSpec { enabled: Some(enabled), nbf: Some(info.not_before), exp: Some(info.not_after) };
    keys::put_managed(state, batch, sealer, vault, &obj.name, version, policy.hsm(), pkcs8, attrs(), tags.clone())?;
    let value = secret_value(&policy, pkcs8, &chain)?;
    let sv = SecretVersion {
        version: version.to_string(),
        sealed_value: String::new(),
        content_type: Some(policy.content_type().to_string()),
        tags,
        enabled,
        nbf: Some(info.not_before),
        exp: Some(info.not_after),
        created: t,
        updated: t,
    };
    secrets::put_managed(state, batch, sealer, vault, &obj.name, sv, &value)?;
    crate::model::push_exact(&mut obj.versions, cv.clone());
    Ok(cv)
}

// ---------------------------------------------------------------------------------------------
// Import

/// `POST /certificates/{name}/import` body.
#[derive(Debug, Deserialize)]
pub struct ImportSpec {
    pub value: String,
    pub pwd: Option<String>,
    pub policy: Option<Value>,
    pub attributes: Option<AttributesSpec>,
    pub tags: Option<Tags>,
    #[serde(rename = "preserveCertOrder")]
    pub preserve_cert_order: Option<bool>,
}

/// `POST /certificates/{name}/import`: a PKCS#12 (base64) or PEM bundle with its private key.
pub fn import(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    vault: &Admitted,
    name: &str,
    spec: ImportSpec,
) -> Result<CertView, Error> {
    check_name(name)?;
    check_tags(spec.tags.as_ref())?;
    let given = spec.policy.as_ref().map(Policy::from_value).transpose()?;
    // `value` is base64 of a PKCS#12 file or of PEM text (the SDKs base64 whatever file they
    // are given); raw PEM text is accepted too.
    let raw = if spec.value.trim_start().starts_with("-----BEGIN") {
        spec.value.clone().into_bytes()
    } else {
        b64().decode(spec.value.split_whitespace().collect::<String>()).map_err(|_| {
            bad("The specified PKCS#12 X.509 certificate content can not be read. Please check if certificate is in valid PKCS#12 format.")
        })?
    };
    let pem_text = std::str::from_utf8(&raw).ok().filter(|t| t.trim_start().starts_with("-----BEGIN"));
    let is_pem = pem_text.is_some();
    let password = spec.pwd.as_deref().unwrap_or("");
    let bundle = match pem_text {
        Some(t) => x509::from_pem(t, password).map_err(|e| bad(e.0))?,
        None => x509::from_pkcs12(&raw, password).map_err(|e| bad(e.0))?,
    };
    let pkcs8 = bundle.key.clone().ok_or_else(|| {
        bad("The specified X.509 certificate content does not contain a private key; import needs the certificate with its private key.")
    })?;
    if bundle.chain.is_empty() {
        return Err(bad("The specified X.509 certificate content has no certificate."));
    }
    let chain = Chain::arrange(
        bundle.chain,
        &pkcs8,
        spec.preserve_cert_order,
        "The private key does not match the certificate's public key.",
    )?;
    let info = &chain.info;
    // The policy's content type (if given) decides the secret's format; otherwise the input's.
    let content_type = if is_pem { policy::PEM } else { policy::PKCS12 };
    let derived = policy::from_certificate(info, info.rsa_bits, info.ec_curve.as_deref(), content_type);
    let p = match given {
        // The given policy's fields win; what it leaves out comes from the certificate.
        Some(g) => derived.merged(&g.to_value())?,
        None => derived,
    };
    p.validate(vault, issuer_exists(state, vault), false)?;
    let p = p.normalised();
    let mut obj = live_or_new(state, vault, name)?;
    obj.policy = p.to_value();
    let version = vaultlink_crypto::random_hex(16);
    let attrs = spec.attributes.unwrap_or_default();
    let cv = add_version(
        state,
        batch,
        sealer,
        vault,
        &mut obj,
        &version,
        &pkcs8,
        chain,
        attrs.enabled.unwrap_or(true),
        spec.tags.unwrap_or_default(),
    )?;
    batch.put(&store_key(vault, name), Record::Certificate(Box::new(obj.clone())));
    Ok(view(vault, &obj, &cv))
}

// ---------------------------------------------------------------------------------------------
// Read, update, lists

/// Whether `vault` holds a live certificate `name` with at least one issued version (the seed
/// file's check before it creates one).
pub fn exists(state: &State, vault: &Vault, name: &str) -> bool {
    objects::object::<CertificateObject>(state, vault, name)
        .is_some_and(|o| o.deleted.is_none() && !o.versions.is_empty())
}

/// `GET /certificates/{name}/{version?}`.
pub fn get(state: &State, vault: &Admitted, name: &str, version: Option<&str>) -> Result<CertView, Error> {
    let obj = live::<CertificateObject>(state, vault, name)?;
    let v = find_version(obj, name, version)?;
    Ok(view(vault, obj, v))
}

/// `PATCH /certificates/{name}/{version?}` body.
#[derive(Debug, Default, Deserialize)]
pub struct UpdateSpec {
    pub policy: Option<Value>,
    pub attributes: Option<AttributesSpec>,
    pub tags: Option<Tags>,
}

/// `PATCH /certificates/{name}/{version?}`: attributes and tags (also on the backing key and
/// secret version), and optionally the policy.
pub fn update(
    state: &State,
    batch: &mut Batch,
    vault: &Admitted,
    name: &str,
    version: Option<&str>,
    spec: UpdateSpec,
) -> Result<CertView, Error> {
    check_tags(spec.tags.as_ref())?;
    let mut obj = live::<CertificateObject>(state, vault, name)?.clone();
    if let Some(patch) = &spec.policy {
        let p = Policy::from_value(&obj.policy)?.merged(patch)?;
        p.validate(vault, issuer_exists(state, vault), false)?;
        obj.policy = p.normalised().to_value();
    }
    let wanted = find_version(&obj, name, version)?.version.clone();
    let v = obj.versions.iter_mut().find(|x| x.version == wanted).expect("found above");
    if let Some(t) = &spec.tags {
        v.tags = t.clone();
    }
    if let Some(e) = spec.attributes.as_ref().and_then(|a| a.enabled) {
        v.enabled = e;
    }
    v.updated = state.now();
    let v = v.clone();
    // The backing key and secret version follow (enabled, tags).
    if let Some(Record::Key(mut k)) = state.get(&keys::store_key(vault, name)).cloned() {
        if let Some(kv) = k.versions.iter_mut().find(|x| x.version == v.version) {
            kv.enabled = v.enabled;
            kv.tags = v.tags.clone();
            kv.updated = v.updated;
        }
        batch.put(&keys::store_key(vault, name), Record::Key(k));
    }
    if let Some(Record::Secret(mut s)) = state.get(&secrets::key(vault, name)).cloned() {
        if let Some(sv) = s.versions.iter_mut().find(|x| x.version == v.version) {
            sv.enabled = v.enabled;
            sv.tags = v.tags.clone();
            sv.updated = v.updated;
        }
        batch.put(&secrets::key(vault, name), Record::Secret(s));
    }
    batch.put(&store_key(vault, name), Record::Certificate(Box::new(obj.clone())));
    Ok(view(vault, &obj, &v))
}

/// `GET /certificates/{name}/policy`.
pub fn get_policy(state: &State, vault: &Admitted, name: &str) -> Result<Value, Error> {
    Ok(live::<CertificateObject>(state, vault, name)?.policy.clone())
}

/// `PATCH /certificates/{name}/policy`: the fields given replace the stored ones.
pub fn update_policy(
    state: &State,
    batch: &mut Batch,
    vault: &Admitted,
    name: &str,
    patch: &Value,
) -> Result<Value, Error> {
    let mut obj = live::<CertificateObject>(state, vault, name)?.clone();
    let p = Policy::from_value(&obj.policy)?.merged(patch)?;
    p.validate(vault, issuer_exists(state, vault), false)?;
    obj.policy = p.normalised().to_value();
    batch.put(&store_key(vault, name), Record::Certificate(Box::new(obj.clone())));
    Ok(obj.policy)
}

/// `GET /certificates`: the current version of every live certificate that has one, and with
/// `includePending` the certificates whose first operation is still in progress (no `x5t`).
pub fn list(
    state: &State,
    vault: &Admitted,
    size: usize,
    skip: Option<&str>,
    include_pending: bool,
) -> Result<Page<CertView>, Error> {
    objects::list_with(state, vault, size, skip, |o: &CertificateObject| {
        let pending = o.pending.as_ref().filter(|p| include_pending && p.status == "inProgress");
        match (o.versions.last(), pending) {
            (Some(v), _) => Some(view(vault, o, v)),
            (None, Some(p)) => {
                let v = CertificateVersion {
                    version: p.version.clone(),
                    chain: vec![],
                    leaf: 0,
                    preserve_cert_order: p.preserve_cert_order,
                    tags: p.tags.clone(),
                    enabled: p.enabled,
                    nbf: None,
                    exp: None,
                    created: p.created,
                    updated: p.created,
                };
                Some(view(vault, o, &v))
            }
            (None, None) => None,
        }
    })
}

/// `GET /certificates/{name}/versions` (in the order they were created).
pub fn list_versions(
    state: &State,
    vault: &Admitted,
    name: &str,
    size: usize,
    skip: Option<&str>,
) -> Result<Page<CertView>, Error> {
    objects::list_versions::<CertificateObject>(state, vault, name, size, skip)
}

// ---------------------------------------------------------------------------------------------
// Soft delete: the certificate, its key and its secret move together

/// `DELETE /certificates/{name}`: the certificate, its key and its secret.
pub fn delete(state: &State, batch: &mut Batch, vault: &Admitted, name: &str) -> Result<CertView, Error> {
    objects::delete::<CertificateObject>(state, batch, vault, name)
}

/// `GET /deletedcertificates/{name}`.
pub fn get_deleted(state: &State, vault: &Admitted, name: &str) -> Result<CertView, Error> {
    objects::get_deleted::<CertificateObject>(state, vault, name)
}

/// `GET /deletedcertificates`.
pub fn list_deleted(state: &State, vault: &Admitted, size: usize, skip: Option<&str>) -> Result<Page<CertView>, Error> {
    objects::list_deleted::<CertificateObject>(state, vault, size, skip)
}

/// `POST /deletedcertificates/{name}/recover`: the certificate, its key and its secret.
pub fn recover(state: &State, batch: &mut Batch, vault: &Admitted, name: &str) -> Result<CertView, Error> {
    objects::recover::<CertificateObject>(state, batch, vault, name)
}

/// `DELETE /deletedcertificates/{name}`: the certificate, its key and its secret, for good.
pub fn purge(state: &State, batch: &mut Batch, vault: &Admitted, name: &str) -> Result<(), Error> {
    objects::purge::<CertificateObject>(state, batch, vault, name)
}

// ---------------------------------------------------------------------------------------------
// Backup / restore

#[derive(Serialize, Deserialize)]
pub(crate) struct Backup {
    v: u32,
    subscription: String,
    name: String,
    policy: Value,
    versions: Vec<BackupVersion>,
}

#[derive(Serialize, Deserialize)]
struct BackupVersion {
    meta: CertificateVersion,
    /// Base64 PKCS#8 of the backing key (the whole blob is sealed).
    pkcs8: String,
}

/// `POST /certificates/{name}/backup`: the certificate with its keys, restorable in the same
/// subscription.
pub fn backup(state: &State, sealer: &Sealer, vault: &Admitted, name: &str) -> Result<String, Error> {
    objects::backup::<CertificateObject>(state, sealer, vault, name)
}

/// `POST /certificates/restore`: the certificate, its key and its secret, every version.
pub fn restore(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    vault: &Admitted,
    blob: &str,
) -> Result<CertView, Error> {
    objects::restore::<CertificateObject>(state, batch, sealer, vault, blob)
}

impl VaultObject for CertificateObject {
    type Version = CertificateVersion;
    type View = CertView;
    type Backup = Backup;
    const COLLECTION: &'static str = "certificates";
    const KIND: &'static str = "certificate";
    const TITLE: &'static str = "Certificate";

    fn of(record: &Record) -> Option<&Self> {
        match record {
            Record::Certificate(c) => Some(c),
            _ => None,
        }
    }
    fn from_record(record: Record) -> Option<Self> {
        match record {
            Record::Certificate(c) => Some(*c),
            _ => None,
        }
    }
    fn into_record(self) -> Record {
        Record::Certificate(Box::new(self))
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn versions(&self) -> &[CertificateVersion] {
        &self.versions
    }
    fn version_id(v: &CertificateVersion) -> &str {
        &v.version
    }
    fn deleted_state(&self) -> Option<&DeletedState> {
        self.deleted.as_ref()
    }
    fn set_deleted(&mut self, deleted: Option<DeletedState>) {
        self.deleted = deleted;
    }
    fn view(vault: &Vault, obj: &Self, v: &CertificateVersion) -> CertView {
        view(vault, obj, v)
    }
    /// Versions list in the order they were created.
    fn version_order(v: &CertificateVersion) -> String {
        format!("{:020}{}", v.created, v.version)
    }
    /// A deleted certificate has no pending operation.
    fn on_delete(&mut self) {
        self.pending = None;
    }
    /// The backing key and secret are deleted and recovered with the certificate.
    fn move_companions(state: &State, batch: &mut Batch, vault: &Vault, name: &str, d: Option<&DeletedState>) {
        let (kk, sk) = (record_key::<KeyObject>(vault, name), record_key::<SecretObject>(vault, name));
        if let Some(Record::Key(mut k)) = state.get(&kk).cloned() {
            k.deleted = d.cloned();
            batch.put(&kk, Record::Key(k));
        }
        if let Some(Record::Secret(mut s)) = state.get(&sk).cloned() {
            s.deleted = d.cloned();
            batch.put(&sk, Record::Secret(s));
        }
    }
    fn remove_companions(batch: &mut Batch, vault: &Vault, name: &str) {
        batch.delete(&record_key::<KeyObject>(vault, name));
        batch.delete(&record_key::<SecretObject>(vault, name));
    }

    /// Every version with the private key of its backing key version.
    fn backup_content(state: &State, sealer: &Sealer, vault: &Vault, obj: &Self) -> Result<Backup, Error> {
        let name = &obj.name;
        let Some(Record::Key(k)) = state.get(&keys::store_key(vault, name)) else {
            return Err(internal(format!("certificate {name} has no backing key")));
        };
        let mut versions = Vec::with_capacity(obj.versions.len());
        for v in &obj.versions {
            let kv = k
                .versions
                .iter()
                .find(|x| x.version == v.version)
                .ok_or_else(|| internal(format!("certificate {name}/{} has no backing key version", v.version)))?;
            let der = keys::open_private(sealer, vault, &k.name, kv)?;
            versions.push(BackupVersion { meta: v.clone(), pkcs8: b64().encode(der) });
        }
        Ok(Backup {
            v: 1,
            subscription: vault.subscription(),
            name: obj.name.clone(),
            policy: obj.policy.clone(),
            versions,
        })
    }
    fn backup_name(b: &Backup) -> &str {
        &b.name
    }
    /// A key or secret of the name (possibly deleted) takes it too.
    fn restore_taken(state: &State, vault: &Vault, name: &str) -> bool {
        objects::object::<Self>(state, vault, name).is_some()
            || state.get(&keys::store_key(vault, name)).is_some()
            || state.get(&secrets::key(vault, name)).is_some()
    }
    fn restore_conflict(name: &str) -> Error {
        Error::new(
            Kind::Conflict,
            "Conflict",
            format!(
                "There was a conflict restoring certificate '{name}'. A certificate (or key or secret) with the same name already exists in this vault, possibly in the deleted state."
            ),
        )
    }
    /// Each version is written with its backing key and secret.
    fn restored(state: &State, batch: &mut Batch, sealer: &Sealer, vault: &Vault, b: Backup) -> Result<Self, Error> {
        let mut obj = CertificateObject {
            vault_internal_id: vault.internal_id.clone(),
            name: b.name.clone(),
            versions: vec![],
            deleted: None,
            policy: b.policy,
            pending: None,
        };
        for bv in b.versions {
            let der = b64().decode(&bv.pkcs8).map_err(|_| objects::invalid_backup())?;
            let chain: Vec<Vec<u8>> = bv
                .meta
                .chain
                .iter()
                .map(|c| b64().decode(c))
                .collect::<Result<_, _>>()
                .map_err(|_| objects::invalid_backup())?;
            let (version, enabled, tags) = (bv.meta.version.clone(), bv.meta.enabled, bv.meta.tags.clone());
            let chain = Chain::arrange(chain, &der, bv.meta.preserve_cert_order, KEY_MISMATCH)?;
            add_version(state, batch, sealer, vault, &mut obj, &version, &der, chain, enabled, tags)?;
        }
        Ok(obj)
    }
}

#[cfg(test)]
mod tests;
