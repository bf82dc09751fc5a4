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
//! - a non-exportable certificate's secret holds the certificate chain without the private key;
//! - error codes `PendingCertificateNotFound`, `CertificateIssuerNotFound`, `ContactsNotFound`, and
//!   the messages marked "vaultlink's wording" are plausible, not captured from Azure.

pub mod policy;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use vaultlink_crypto::Sealer;
use vaultlink_crypto::x509::{self, Bundle};

use super::objects::{
    self, AttributesSpec, Page, VaultObject, check_name, check_tags, find_version, live, objects_root, paginate,
    record_key,
};
use super::{keys, secrets};
use crate::engine::{Batch, State, now};
use crate::kv::{Kind, KvError};
use crate::model::{
    CertificateContacts, CertificateIssuer, CertificateObject, CertificateVersion, DeletedState, KeyObject,
    PendingCertificate, Record, SecretObject, SecretVersion, Tags, Vault,
};
pub use policy::Policy;

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn store_key(vault: &Vault, name: &str) -> String {
    record_key::<CertificateObject>(vault, name)
}

fn issuer_key(vault: &Vault, name: &str) -> String {
    format!("{}/certissuers/{}", objects_root(&vault.internal_id), name.to_ascii_lowercase())
}

fn contacts_key(vault: &Vault) -> String {
    format!("{}/certcontacts", objects_root(&vault.internal_id))
}

fn aad(vault: &Vault, name: &str, what: &str) -> Vec<u8> {
    format!("vaultlink-cert-{what}\0{}\0{}", vault.internal_id, name.to_ascii_lowercase()).into_bytes()
}

fn internal(m: impl Into<String>) -> KvError {
    KvError::new(Kind::Internal, "InternalServerError", m)
}

fn bad(m: impl Into<String>) -> KvError {
    KvError::bad_parameter(m)
}

fn pending_not_found(name: &str) -> KvError {
    KvError::new(Kind::NotFound, "PendingCertificateNotFound", format!("Pending certificate not found: {name}"))
}

/// The live certificate to add a version to, or a new empty one; a deleted one is a conflict.
fn live_or_new(state: &State, vault: &Vault, name: &str) -> Result<CertificateObject, KvError> {
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

fn issuer_exists(state: &State, vault: &Vault) -> impl Fn(&str) -> bool {
    move |n: &str| matches!(state.get(&issuer_key(vault, n)), Some(Record::CertificateIssuer(_)))
}

// ---------------------------------------------------------------------------------------------
// Writing a version (create, merge, import, restore)

fn seal_private(sealer: &Sealer, vault: &Vault, name: &str, version: &str, der: &[u8]) -> String {
    b64().encode(sealer.seal(der, &aad(vault, &format!("{name}/{version}"), "pending")))
}

fn open_private(sealer: &Sealer, vault: &Vault, name: &str, version: &str, sealed: &str) -> Result<Vec<u8>, KvError> {
    let raw = b64().decode(sealed).map_err(|_| internal("stored pending key is not base64"))?;
    sealer
        .open(&raw, &aad(vault, &format!("{name}/{version}"), "pending"))
        .map_err(|_| internal("pending key failed to decrypt (altered or moved on disk)"))
}

/// The secret value of a version: base64 PKCS#12 (empty password) or PEM.
fn secret_value(policy: &Policy, pkcs8: &[u8], chain: &[Vec<u8>]) -> Result<String, KvError> {
    let bundle = Bundle { key: policy.exportable().then(|| pkcs8.to_vec()), chain: chain.to_vec() };
    if policy.content_type() == policy::PEM {
        Ok(x509::to_pem(&bundle))
    } else {
        Ok(b64().encode(x509::to_pkcs12(&bundle, "").map_err(|e| internal(e.0))?))
    }
}

/// Appends version `version` (key `pkcs8`, chain leaf first) with its backing key and secret.
#[allow(clippy::too_many_arguments)]
fn add_version(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    vault: &Vault,
    obj: &mut CertificateObject,
    version: &str,
    pkcs8: &[u8],
    chain: Vec<Vec<u8>>,
    enabled: bool,
    tags: Tags,
) -> Result<CertificateVersion, KvError> {
    let leaf = chain.first().ok_or_else(|| bad("The certificate chain is empty."))?;
    let info = x509::parse(leaf).map_err(|e| bad(e.0))?;
    let policy = Policy::from_value(&obj.policy)?;
    let t = now();
    let cv = CertificateVersion {
        version: version.to_string(),
        chain: chain.iter().map(|c| b64().encode(c)).collect(),
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
    obj.versions.push(cv.clone());
    Ok(cv)
}

// ---------------------------------------------------------------------------------------------
// Create, merge, the pending operation

const IN_PROGRESS: &str = "Pending certificate created. Certificate request is in progress. This may take some time based on the issuer provider. Please check again later.";

/// `POST /certificates/{name}/create` body.
#[derive(Debug, Deserialize)]
pub struct CreateSpec {
    pub policy: Option<Value>,
    pub attributes: Option<AttributesSpec>,
    pub tags: Option<Tags>,
}

/// The current version's private key, when the policy reuses keys and the key type still fits.
fn reusable_key(state: &State, sealer: &Sealer, vault: &Vault, obj: &CertificateObject, p: &Policy) -> Option<Vec<u8>> {
    if !p.reuse_key() {
        return None;
    }
    let cur = obj.versions.last()?;
    let Some(Record::Key(k)) = state.get(&keys::store_key(vault, &obj.name)) else { return None };
    let kv = k.versions.iter().find(|v| v.version == cur.version)?;
    let fits = match p.key_spec().ok()? {
        x509::KeySpec::Rsa(bits) => kv.kty.starts_with("RSA") && kv.key_size == Some(bits),
        x509::KeySpec::P256 => kv.crv.as_deref() == Some("P-256"),
        x509::KeySpec::P384 => kv.crv.as_deref() == Some("P-384"),
        x509::KeySpec::P521 => kv.crv.as_deref() == Some("P-521"),
    };
    if !fits {
        return None;
    }
    keys::open_private(sealer, vault, &k.name, kv).ok()
}

/// `POST /certificates/{name}/create`: self-signed completes now; other issuers leave a pending
/// operation with a CSR.
pub fn create(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    vault: &Vault,
    name: &str,
    spec: CreateSpec,
) -> Result<OpView, KvError> {
    check_name(name)?;
    check_tags(spec.tags.as_ref())?;
    let raw = spec.policy.ok_or_else(|| bad("The certificate policy is required to create a certificate."))?;
    let p = Policy::from_value(&raw)?;
    p.validate(vault, issuer_exists(state, vault), true)?;
    let p = p.normalised();
    let mut obj = live_or_new(state, vault, name)?;
    let pkcs8 = match reusable_key(state, sealer, vault, &obj, &p) {
        Some(k) => k,
        None => x509::generate_key(p.key_spec()?).map_err(|e| bad(e.0))?,
    };
    obj.policy = p.to_value();
    let version = vaultlink_crypto::random_hex(16);
    let attrs = spec.attributes.unwrap_or_default();
    let enabled = attrs.enabled.unwrap_or(true);
    let tags = spec.tags.unwrap_or_default();
    let cert_spec = p.cert_spec();
    let mut op = PendingCertificate {
        request_id: vaultlink_crypto::random_hex(16),
        issuer: p.issuer_name().to_string(),
        csr: Some(b64().encode(x509::csr(&pkcs8, &cert_spec).map_err(|e| bad(e.0))?)),
        status: "inProgress".into(),
        status_details: Some(IN_PROGRESS.into()),
        cancellation_requested: false,
        version: version.clone(),
        sealed_private: None,
        enabled,
        tags: tags.clone(),
        target: None,
        created: now(),
    };
    if p.issuer_name().eq_ignore_ascii_case("self") {
        let der = x509::self_signed(&pkcs8, &cert_spec).map_err(|e| bad(e.0))?;
        add_version(state, batch, sealer, vault, &mut obj, &version, &pkcs8, vec![der], enabled, tags)?;
        op.status = "completed".into();
        op.status_details = None;
        op.target = Some(obj.name.clone());
    } else {
        op.sealed_private = Some(seal_private(sealer, vault, &obj.name, &version, &pkcs8));
    }
    obj.pending = Some(op.clone());
    batch.put(&store_key(vault, name), Record::Certificate(obj.clone()));
    // The create response says `inProgress`, as Azure's does (the SDK poller and az only poll
    // when it does); the stored operation is already `completed` for a self-signed certificate.
    let shown = PendingCertificate {
        status: "inProgress".into(),
        status_details: Some(IN_PROGRESS.into()),
        target: None,
        ..op
    };
    Ok(OpView { name: obj.name, op: shown })
}

/// `GET /certificates/{name}/pending`.
pub fn get_pending(state: &State, vault: &Vault, name: &str) -> Result<OpView, KvError> {
    let obj = live::<CertificateObject>(state, vault, name).map_err(|_| pending_not_found(name))?;
    let op = obj.pending.clone().ok_or_else(|| pending_not_found(name))?;
    Ok(OpView { name: obj.name.clone(), op })
}

/// `PATCH /certificates/{name}/pending` with `cancellation_requested: true`.
pub fn cancel_pending(
    state: &State,
    batch: &mut Batch,
    vault: &Vault,
    name: &str,
    cancel: bool,
) -> Result<OpView, KvError> {
    let mut obj = live::<CertificateObject>(state, vault, name).map_err(|_| pending_not_found(name))?.clone();
    let mut op = obj.pending.clone().ok_or_else(|| pending_not_found(name))?;
    if cancel && op.status == "inProgress" {
        op.cancellation_requested = true;
        op.status = "cancelled".into();
        op.status_details = Some("Certificate request was cancelled.".into());
        op.sealed_private = None;
    }
    obj.pending = Some(op.clone());
    batch.put(&store_key(vault, name), Record::Certificate(obj.clone()));
    Ok(OpView { name: obj.name, op })
}

/// `DELETE /certificates/{name}/pending`: the operation is gone (a certificate that never got a
/// version goes with it).
pub fn delete_pending(state: &State, batch: &mut Batch, vault: &Vault, name: &str) -> Result<OpView, KvError> {
    let mut obj = live::<CertificateObject>(state, vault, name).map_err(|_| pending_not_found(name))?.clone();
    let op = obj.pending.take().ok_or_else(|| pending_not_found(name))?;
    if obj.versions.is_empty() {
        batch.delete(&store_key(vault, name));
    } else {
        batch.put(&store_key(vault, name), Record::Certificate(obj.clone()));
    }
    Ok(OpView { name: obj.name, op })
}

/// `POST /certificates/{name}/pending/merge` body.
#[derive(Debug, Deserialize)]
pub struct MergeSpec {
    pub x5c: Vec<String>,
    pub attributes: Option<AttributesSpec>,
    pub tags: Option<Tags>,
}

/// `POST /certificates/{name}/pending/merge`: the certificate signed elsewhere, whose public key
/// must be the pending key's.
pub fn merge(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    vault: &Vault,
    name: &str,
    spec: MergeSpec,
) -> Result<CertView, KvError> {
    check_tags(spec.tags.as_ref())?;
    let mut obj = live::<CertificateObject>(state, vault, name).map_err(|_| pending_not_found(name))?.clone();
    let mut op = obj.pending.clone().ok_or_else(|| pending_not_found(name))?;
    let Some(sealed) = op.sealed_private.clone().filter(|_| op.status == "inProgress") else {
        return Err(KvError::new(
            Kind::Forbidden,
            "Forbidden",
            format!("Pending certificate {name} is not in progress (status {}); there is nothing to merge.", op.status),
        )
        .with_inner("PendingCertificateNotInProgress"));
    };
    if spec.x5c.is_empty() {
        return Err(bad("Property x5c is required and must hold at least one certificate."));
    }
    let mut chain = Vec::with_capacity(spec.x5c.len());
    for c in &spec.x5c {
        let der = b64().decode(c.trim()).map_err(|_| bad("The x5c entries must be base64 DER X.509 certificates."))?;
        x509::parse(&der).map_err(|e| bad(e.0))?;
        chain.push(der);
    }
    let pkcs8 = open_private(sealer, vault, &obj.name, &op.version, &sealed)?;
    let info = x509::parse(&chain[0]).map_err(|e| bad(e.0))?;
    if info.public_key != x509::public_key_of(&pkcs8).map_err(|e| internal(e.0))? {
        return Err(bad("Public key from x509 certificate and key of this instance doesn't match"));
    }
    let attrs = spec.attributes.unwrap_or_default();
    let enabled = attrs.enabled.unwrap_or(op.enabled);
    let tags = spec.tags.unwrap_or_else(|| op.tags.clone());
    let version = op.version.clone();
    let cv = add_version(state, batch, sealer, vault, &mut obj, &version, &pkcs8, chain, enabled, tags)?;
    op.status = "completed".into();
    op.status_details = None;
    op.sealed_private = None;
    op.target = Some(obj.name.clone());
    obj.pending = Some(op);
    batch.put(&store_key(vault, name), Record::Certificate(obj.clone()));
    Ok(view(vault, &obj, &cv))
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
}

/// `POST /certificates/{name}/import`: a PKCS#12 (base64) or PEM bundle with its private key.
pub fn import(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    vault: &Vault,
    name: &str,
    spec: ImportSpec,
) -> Result<CertView, KvError> {
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
    let bundle = match pem_text {
        Some(t) => x509::from_pem(t).map_err(|e| bad(e.0))?,
        None => x509::from_pkcs12(&raw, spec.pwd.as_deref().unwrap_or("")).map_err(|e| bad(e.0))?,
    };
    let pkcs8 = bundle.key.clone().ok_or_else(|| {
        bad("The specified X.509 certificate content does not contain a private key; import needs the certificate with its private key.")
    })?;
    let leaf =
        bundle.chain.first().ok_or_else(|| bad("The specified X.509 certificate content has no certificate."))?;
    let info = x509::parse(leaf).map_err(|e| bad(e.0))?;
    if info.public_key != x509::public_key_of(&pkcs8).map_err(|e| bad(e.0))? {
        return Err(bad("The private key does not match the certificate's public key."));
    }
    // The policy's content type (if given) decides the secret's format; otherwise the input's.
    let content_type = if is_pem { policy::PEM } else { policy::PKCS12 };
    let derived = policy::from_certificate(&info, info.rsa_bits, info.ec_curve.as_deref(), content_type);
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
        bundle.chain,
        attrs.enabled.unwrap_or(true),
        spec.tags.unwrap_or_default(),
    )?;
    batch.put(&store_key(vault, name), Record::Certificate(obj.clone()));
    Ok(view(vault, &obj, &cv))
}

// ---------------------------------------------------------------------------------------------
// Read, update, lists

/// `GET /certificates/{name}/{version?}`.
pub fn get(state: &State, vault: &Vault, name: &str, version: Option<&str>) -> Result<CertView, KvError> {
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
    vault: &Vault,
    name: &str,
    version: Option<&str>,
    spec: UpdateSpec,
) -> Result<CertView, KvError> {
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
    v.updated = now();
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
    batch.put(&store_key(vault, name), Record::Certificate(obj.clone()));
    Ok(view(vault, &obj, &v))
}

/// `GET /certificates/{name}/policy`.
pub fn get_policy(state: &State, vault: &Vault, name: &str) -> Result<Value, KvError> {
    Ok(live::<CertificateObject>(state, vault, name)?.policy.clone())
}

/// `PATCH /certificates/{name}/policy`: the fields given replace the stored ones.
pub fn update_policy(
    state: &State,
    batch: &mut Batch,
    vault: &Vault,
    name: &str,
    patch: &Value,
) -> Result<Value, KvError> {
    let mut obj = live::<CertificateObject>(state, vault, name)?.clone();
    let p = Policy::from_value(&obj.policy)?.merged(patch)?;
    p.validate(vault, issuer_exists(state, vault), false)?;
    obj.policy = p.normalised().to_value();
    batch.put(&store_key(vault, name), Record::Certificate(obj.clone()));
    Ok(obj.policy)
}

/// `GET /certificates`: the current version of every live certificate that has one, and with
/// `includePending` the certificates whose first operation is still in progress (no `x5t`).
pub fn list(
    state: &State,
    vault: &Vault,
    size: usize,
    skip: Option<&str>,
    include_pending: bool,
) -> Result<Page<CertView>, KvError> {
    objects::list_with(state, vault, size, skip, |o: &CertificateObject| {
        let pending = o.pending.as_ref().filter(|p| include_pending && p.status == "inProgress");
        match (o.versions.last(), pending) {
            (Some(v), _) => Some(view(vault, o, v)),
            (None, Some(p)) => {
                let v = CertificateVersion {
                    version: p.version.clone(),
                    chain: vec![],
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
    vault: &Vault,
    name: &str,
    size: usize,
    skip: Option<&str>,
) -> Result<Page<CertView>, KvError> {
    objects::list_versions::<CertificateObject>(state, vault, name, size, skip)
}

// ---------------------------------------------------------------------------------------------
// Soft delete: the certificate, its key and its secret move together

/// `DELETE /certificates/{name}`: the certificate, its key and its secret.
pub fn delete(state: &State, batch: &mut Batch, vault: &Vault, name: &str) -> Result<CertView, KvError> {
    objects::delete::<CertificateObject>(state, batch, vault, name)
}

/// `GET /deletedcertificates/{name}`.
pub fn get_deleted(state: &State, vault: &Vault, name: &str) -> Result<CertView, KvError> {
    objects::get_deleted::<CertificateObject>(state, vault, name)
}

/// `GET /deletedcertificates`.
pub fn list_deleted(state: &State, vault: &Vault, size: usize, skip: Option<&str>) -> Result<Page<CertView>, KvError> {
    objects::list_deleted::<CertificateObject>(state, vault, size, skip)
}

/// `POST /deletedcertificates/{name}/recover`: the certificate, its key and its secret.
pub fn recover(state: &State, batch: &mut Batch, vault: &Vault, name: &str) -> Result<CertView, KvError> {
    objects::recover::<CertificateObject>(state, batch, vault, name)
}

/// `DELETE /deletedcertificates/{name}`: the certificate, its key and its secret, for good.
pub fn purge(state: &State, batch: &mut Batch, vault: &Vault, name: &str) -> Result<(), KvError> {
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
pub fn backup(state: &State, sealer: &Sealer, vault: &Vault, name: &str) -> Result<String, KvError> {
    objects::backup::<CertificateObject>(state, sealer, vault, name)
}

/// `POST /certificates/restore`: the certificate, its key and its secret, every version.
pub fn restore(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    vault: &Vault,
    blob: &str,
) -> Result<CertView, KvError> {
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
            Record::Certificate(c) => Some(c),
            _ => None,
        }
    }
    fn into_record(self) -> Record {
        Record::Certificate(self)
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
    fn backup_content(state: &State, sealer: &Sealer, vault: &Vault, obj: &Self) -> Result<Backup, KvError> {
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
            subscription: crate::kv::subscription_of(vault),
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
    fn restore_conflict(name: &str) -> KvError {
        KvError::new(
            Kind::Conflict,
            "Conflict",
            format!(
                "There was a conflict restoring certificate '{name}'. A certificate (or key or secret) with the same name already exists in this vault, possibly in the deleted state."
            ),
        )
    }
    /// Each version is written with its backing key and secret.
    fn restored(state: &State, batch: &mut Batch, sealer: &Sealer, vault: &Vault, b: Backup) -> Result<Self, KvError> {
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
            add_version(state, batch, sealer, vault, &mut obj, &version, &der, chain, enabled, tags)?;
        }
        Ok(obj)
    }
}

// ---------------------------------------------------------------------------------------------
// Issuers and contacts

/// `PUT|PATCH /certificates/issuers/{name}` body.
#[derive(Debug, Default, Deserialize)]
pub struct IssuerSpec {
    pub provider: Option<String>,
    pub credentials: Option<IssuerCredentials>,
    pub org_details: Option<Value>,
    pub attributes: Option<AttributesSpec>,
}

#[derive(Debug, Default, Deserialize)]
pub struct IssuerCredentials {
    pub account_id: Option<String>,
    pub pwd: Option<String>,
}

fn issuer_not_found(name: &str) -> KvError {
    KvError::new(Kind::NotFound, "CertificateIssuerNotFound", format!("Issuer not found: {name}"))
}

fn check_issuer_name(name: &str) -> Result<(), KvError> {
    check_name(name)
}

/// `PUT /certificates/issuers/{name}` (create or replace) and `PATCH` (update the given fields).
pub fn set_issuer(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    vault: &Vault,
    name: &str,
    spec: IssuerSpec,
    patch: bool,
) -> Result<CertificateIssuer, KvError> {
    check_issuer_name(name)?;
    let existing = match state.get(&issuer_key(vault, name)) {
        Some(Record::CertificateIssuer(i)) => Some(i.clone()),
        _ => None,
    };
    let t = now();
    let mut i = match (existing, patch) {
        (Some(i), true) => i,
        (None, true) => return Err(issuer_not_found(name)),
        (prev, false) => CertificateIssuer {
            vault_internal_id: vault.internal_id.clone(),
            name: prev.as_ref().map(|p| p.name.clone()).unwrap_or_else(|| name.to_string()),
            provider: spec.provider.clone().ok_or_else(|| bad("Property provider is required."))?,
            account_id: None,
            sealed_password: None,
            org_details: None,
            enabled: true,
            created: prev.map(|p| p.created).unwrap_or(t),
            updated: t,
        },
    };
    if let Some(p) = spec.provider {
        if p.is_empty() {
            return Err(bad("Property provider must not be empty."));
        }
        i.provider = p;
    }
    if let Some(c) = spec.credentials {
        if c.account_id.is_some() {
            i.account_id = c.account_id;
        }
        if let Some(pw) = c.pwd {
            i.sealed_password = Some(b64().encode(sealer.seal(pw.as_bytes(), &aad(vault, &i.name, "issuer-pwd"))));
        }
    }
    if let Some(o) = spec.org_details {
        i.org_details = Some(o);
    }
    if let Some(e) = spec.attributes.and_then(|a| a.enabled) {
        i.enabled = e;
    }
    i.updated = t;
    batch.put(&issuer_key(vault, name), Record::CertificateIssuer(i.clone()));
    Ok(i)
}

/// `GET /certificates/issuers/{name}`.
pub fn get_issuer(state: &State, vault: &Vault, name: &str) -> Result<CertificateIssuer, KvError> {
    check_issuer_name(name)?;
    match state.get(&issuer_key(vault, name)) {
        Some(Record::CertificateIssuer(i)) => Ok(i.clone()),
        _ => Err(issuer_not_found(name)),
    }
}

/// `DELETE /certificates/issuers/{name}`.
pub fn delete_issuer(
    state: &State,
    batch: &mut Batch,
    vault: &Vault,
    name: &str,
) -> Result<CertificateIssuer, KvError> {
    let i = get_issuer(state, vault, name)?;
    batch.delete(&issuer_key(vault, name));
    Ok(i)
}

/// `GET /certificates/issuers`.
pub fn list_issuers(
    state: &State,
    vault: &Vault,
    size: usize,
    skip: Option<&str>,
) -> Result<Page<CertificateIssuer>, KvError> {
    let all = state
        .descendants(&format!("{}/certissuers", objects_root(&vault.internal_id)))
        .filter_map(|(_, r)| match r {
            Record::CertificateIssuer(i) => Some((i.name.to_ascii_lowercase(), i.clone())),
            _ => None,
        })
        .collect();
    paginate(all, size, skip)
}

/// `PUT /certificates/contacts` body.
#[derive(Debug, Deserialize)]
pub struct ContactsSpec {
    pub contacts: Option<Vec<Value>>,
}

fn contacts_not_found() -> KvError {
    KvError::new(Kind::NotFound, "ContactsNotFound", "Contacts not found")
}

/// `PUT /certificates/contacts`.
pub fn set_contacts(
    state: &State,
    batch: &mut Batch,
    vault: &Vault,
    spec: ContactsSpec,
) -> Result<Vec<Value>, KvError> {
    let _ = state;
    let contacts = spec.contacts.unwrap_or_default();
    for c in &contacts {
        let ok = c.get("email").and_then(Value::as_str).is_some_and(|e| e.contains('@'));
        if !ok {
            return Err(bad("Each contact must have a valid email address."));
        }
    }
    batch.put(
        &contacts_key(vault),
        Record::CertificateContacts(CertificateContacts {
            vault_internal_id: vault.internal_id.clone(),
            contacts: contacts.clone(),
        }),
    );
    Ok(contacts)
}

/// `GET /certificates/contacts`.
pub fn get_contacts(state: &State, vault: &Vault) -> Result<Vec<Value>, KvError> {
    match state.get(&contacts_key(vault)) {
        Some(Record::CertificateContacts(c)) => Ok(c.contacts.clone()),
        _ => Err(contacts_not_found()),
    }
}

/// `DELETE /certificates/contacts`: the contacts that were set.
pub fn delete_contacts(state: &State, batch: &mut Batch, vault: &Vault) -> Result<Vec<Value>, KvError> {
    let c = get_contacts(state, vault)?;
    batch.delete(&contacts_key(vault));
    Ok(c)
}

// ---------------------------------------------------------------------------------------------
// Rendering

fn sha1_b64url(der_b64: &str) -> String {
    let der = b64().decode(der_b64).unwrap_or_default();
    x509::b64url(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &der).as_ref())
}

fn attributes(c: &CertView, with_recovery: bool) -> Value {
    let v = &c.version;
    let mut a = json!({"enabled": v.enabled, "created": v.created, "updated": v.updated});
    if let Some(n) = v.nbf {
        a["nbf"] = json!(n);
    }
    if let Some(e) = v.exp {
        a["exp"] = json!(e);
    }
    if with_recovery {
        a["recoveryLevel"] = json!(c.recovery_level);
        a["recoverableDays"] = json!(c.recoverable_days);
    }
    a
}

fn add_deleted(host: &str, c: &CertView, out: &mut Value) {
    if let Some(d) = &c.deleted {
        out["recoveryId"] = json!(format!("https://{host}/deletedcertificates/{}", c.name));
        out["deletedDate"] = json!(d.deleted_date);
        out["scheduledPurgeDate"] = json!(d.scheduled_purge_date);
    }
}

/// A policy with its `id`.
pub fn render_policy(host: &str, name: &str, policy: &Value) -> Value {
    let mut p = policy.clone();
    p["id"] = json!(format!("https://{host}/certificates/{name}/policy"));
    p
}

/// A `CertificateBundle` (or `DeletedCertificateBundle`).
pub fn render(host: &str, c: &CertView) -> Value {
    let v = &c.version;
    let mut out = json!({
        "id": format!("https://{host}/certificates/{}/{}", c.name, v.version),
        "kid": format!("https://{host}/keys/{}/{}", c.name, v.version),
        "sid": format!("https://{host}/secrets/{}/{}", c.name, v.version),
        "x5t": v.chain.first().map(|c| sha1_b64url(c)).unwrap_or_default(),
        "cer": v.chain.first().cloned().unwrap_or_default(),
        "contentType": c.content_type,
        "attributes": attributes(c, true),
        "policy": render_policy(host, &c.name, &c.policy),
    });
    if !v.tags.is_empty() {
        out["tags"] = json!(v.tags);
    }
    add_deleted(host, c, &mut out);
    out
}

/// A `CertificateItem` (`id` without version for `GET /certificates`, with it for versions).
pub fn render_item(host: &str, c: &CertView, with_version: bool) -> Value {
    let v = &c.version;
    let id = if with_version {
        format!("https://{host}/certificates/{}/{}", c.name, v.version)
    } else {
        format!("https://{host}/certificates/{}", c.name)
    };
    let mut out = json!({"id": id, "attributes": attributes(c, c.deleted.is_some())});
    if let Some(cer) = v.chain.first() {
        out["x5t"] = json!(sha1_b64url(cer));
    }
    if !v.tags.is_empty() {
        out["tags"] = json!(v.tags);
    }
    add_deleted(host, c, &mut out);
    out
}

/// A `CertificateOperation`.
pub fn render_operation(host: &str, o: &OpView) -> Value {
    let op = &o.op;
    let mut out = json!({
        "id": format!("https://{host}/certificates/{}/pending", o.name),
        "issuer": {"name": op.issuer},
        "cancellation_requested": op.cancellation_requested,
        "status": op.status,
        "request_id": op.request_id,
    });
    if let Some(c) = &op.csr {
        out["csr"] = json!(c);
    }
    if let Some(d) = &op.status_details {
        out["status_details"] = json!(d);
    }
    if op.target.is_some() {
        out["target"] = json!(format!("https://{host}/certificates/{}", o.name));
    }
    out
}

/// An `IssuerBundle` (the password is never returned).
pub fn render_issuer(host: &str, i: &CertificateIssuer) -> Value {
    let mut out = json!({
        "id": format!("https://{host}/certificates/issuers/{}", i.name),
        "provider": i.provider,
        "attributes": {"enabled": i.enabled, "created": i.created, "updated": i.updated},
    });
    if let Some(a) = &i.account_id {
        out["credentials"] = json!({"account_id": a});
    }
    if let Some(o) = &i.org_details {
        out["org_details"] = o.clone();
    }
    out
}

/// A `CertificateIssuerItem`.
pub fn render_issuer_item(host: &str, i: &CertificateIssuer) -> Value {
    json!({"id": format!("https://{host}/certificates/issuers/{}", i.name), "provider": i.provider})
}

/// `Contacts`.
pub fn render_contacts(host: &str, contacts: &[Value]) -> Value {
    json!({"id": format!("https://{host}/certificates/contacts"), "contacts": contacts})
}

#[cfg(test)]
mod tests;
