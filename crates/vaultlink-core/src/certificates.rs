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

use crate::engine::{Batch, State, now};
use crate::kv::{Kind, KvError};
use crate::model::{
    CertificateContacts, CertificateIssuer, CertificateObject, CertificateVersion, DeletedState, PendingCertificate,
    Record, SecretVersion, Tags, Vault,
};
use crate::secrets::{AttributesSpec, MAX_BACKUP_VERSIONS, Page, objects_root, paginate};
pub use policy::Policy;

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn store_key(vault: &Vault, name: &str) -> String {
    format!("{}/certificates/{}", objects_root(&vault.internal_id), name.to_ascii_lowercase())
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

fn not_found(name: &str) -> KvError {
    KvError::new(
        Kind::NotFound,
        "CertificateNotFound",
        format!(
            "A certificate with (name/id) {name} was not found in this key vault. If you recently deleted this certificate you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
        ),
    )
}

fn deleted_not_found(name: &str) -> KvError {
    KvError::new(Kind::NotFound, "CertificateNotFound", format!("Deleted Certificate not found: {name}"))
}

fn pending_not_found(name: &str) -> KvError {
    KvError::new(Kind::NotFound, "PendingCertificateNotFound", format!("Pending certificate not found: {name}"))
}

fn deleted_conflict(name: &str) -> KvError {
    KvError::new(
        Kind::Conflict,
        "Conflict",
        format!("Certificate {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the certificate can only be recovered or purged."),
    )
    .with_inner("ObjectIsDeletedButRecoverable")
}

fn check_name(name: &str) -> Result<(), KvError> {
    vaultlink_rules::object_name(name).map_err(|e| KvError::new(Kind::BadRequest, e.code, e.message))
}

/// The live certificate to add a version to, or a new empty one; a deleted one is a conflict.
fn live_or_new(state: &State, vault: &Vault, name: &str) -> Result<CertificateObject, KvError> {
    match object(state, vault, name) {
        Some(o) if o.deleted.is_some() => Err(deleted_conflict(name)),
        Some(o) => Ok(o),
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

fn object(state: &State, vault: &Vault, name: &str) -> Option<CertificateObject> {
    match state.get(&store_key(vault, name)) {
        Some(Record::Certificate(c)) if c.deleted.as_ref().is_none_or(|d| d.scheduled_purge_date > now()) => {
            Some(c.clone())
        }
        _ => None,
    }
}

/// A live certificate object (it may have no version yet while its first operation is pending).
fn live(state: &State, vault: &Vault, name: &str) -> Result<CertificateObject, KvError> {
    check_name(name)?;
    match object(state, vault, name) {
        Some(c) if c.deleted.is_none() => Ok(c),
        _ => Err(not_found(name)),
    }
}

fn find_version<'a>(
    obj: &'a CertificateObject,
    name: &str,
    version: Option<&str>,
) -> Result<&'a CertificateVersion, KvError> {
    match version.filter(|v| !v.is_empty()) {
        None => obj.versions.last().ok_or_else(|| not_found(name)),
        Some(v) => obj
            .versions
            .iter()
            .find(|x| x.version.eq_ignore_ascii_case(v))
            .ok_or_else(|| not_found(&format!("{name}/{v}"))),
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
        recovery_level: crate::secrets::recovery_level(vault),
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
    crate::keys::put_managed(
        state,
        batch,
        sealer,
        vault,
        &obj.name,
        version,
        policy.hsm(),
        pkcs8,
        attrs(),
        tags.clone(),
    )?;
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
    crate::secrets::put_managed(state, batch, sealer, vault, &obj.name, sv, &value)?;
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

fn check_tags(tags: Option<&Tags>) -> Result<(), KvError> {
    use crate::secrets::{MAX_TAG_LEN, MAX_TAGS};
    if let Some(t) = tags {
        if t.len() > MAX_TAGS {
            return Err(bad(format!("The number of tags ({}) exceeds the maximum of {MAX_TAGS}.", t.len())));
        }
        if t.iter().any(|(k, v)| k.chars().count() > MAX_TAG_LEN || v.chars().count() > MAX_TAG_LEN) {
            return Err(bad(format!("Tag names and values must be at most {MAX_TAG_LEN} characters long.")));
        }
    }
    Ok(())
}

/// The current version's private key, when the policy reuses keys and the key type still fits.
fn reusable_key(state: &State, sealer: &Sealer, vault: &Vault, obj: &CertificateObject, p: &Policy) -> Option<Vec<u8>> {
    if !p.reuse_key() {
        return None;
    }
    let cur = obj.versions.last()?;
    let Some(Record::Key(k)) = state.get(&crate::keys::store_key(vault, &obj.name)) else { return None };
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
    crate::keys::open_private(sealer, vault, &k.name, kv).ok()
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
    let obj = live(state, vault, name).map_err(|_| pending_not_found(name))?;
    let op = obj.pending.ok_or_else(|| pending_not_found(name))?;
    Ok(OpView { name: obj.name, op })
}

/// `PATCH /certificates/{name}/pending` with `cancellation_requested: true`.
pub fn cancel_pending(
    state: &State,
    batch: &mut Batch,
    vault: &Vault,
    name: &str,
    cancel: bool,
) -> Result<OpView, KvError> {
    let mut obj = live(state, vault, name).map_err(|_| pending_not_found(name))?;
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
    let mut obj = live(state, vault, name).map_err(|_| pending_not_found(name))?;
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
    let mut obj = live(state, vault, name).map_err(|_| pending_not_found(name))?;
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
    let obj = live(state, vault, name)?;
    let v = find_version(&obj, name, version)?;
    Ok(view(vault, &obj, v))
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
    let mut obj = live(state, vault, name)?;
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
    if let Some(Record::Key(mut k)) = state.get(&crate::keys::store_key(vault, name)).cloned() {
        if let Some(kv) = k.versions.iter_mut().find(|x| x.version == v.version) {
            kv.enabled = v.enabled;
            kv.tags = v.tags.clone();
            kv.updated = v.updated;
        }
        batch.put(&crate::keys::store_key(vault, name), Record::Key(k));
    }
    if let Some(Record::Secret(mut s)) = state.get(&crate::secrets::key(vault, name)).cloned() {
        if let Some(sv) = s.versions.iter_mut().find(|x| x.version == v.version) {
            sv.enabled = v.enabled;
            sv.tags = v.tags.clone();
            sv.updated = v.updated;
        }
        batch.put(&crate::secrets::key(vault, name), Record::Secret(s));
    }
    batch.put(&store_key(vault, name), Record::Certificate(obj.clone()));
    Ok(view(vault, &obj, &v))
}

/// `GET /certificates/{name}/policy`.
pub fn get_policy(state: &State, vault: &Vault, name: &str) -> Result<Value, KvError> {
    Ok(live(state, vault, name)?.policy)
}

/// `PATCH /certificates/{name}/policy`: the fields given replace the stored ones.
pub fn update_policy(
    state: &State,
    batch: &mut Batch,
    vault: &Vault,
    name: &str,
    patch: &Value,
) -> Result<Value, KvError> {
    let mut obj = live(state, vault, name)?;
    let p = Policy::from_value(&obj.policy)?.merged(patch)?;
    p.validate(vault, issuer_exists(state, vault), false)?;
    obj.policy = p.normalised().to_value();
    batch.put(&store_key(vault, name), Record::Certificate(obj.clone()));
    Ok(obj.policy)
}

fn all_objects(state: &State, vault: &Vault) -> Vec<CertificateObject> {
    let t = now();
    state
        .descendants(&format!("{}/certificates", objects_root(&vault.internal_id)))
        .filter_map(|(_, r)| match r {
            Record::Certificate(c) if c.deleted.as_ref().is_none_or(|d| d.scheduled_purge_date > t) => Some(c.clone()),
            _ => None,
        })
        .collect()
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
    let all = all_objects(state, vault)
        .into_iter()
        .filter(|o| o.deleted.is_none())
        .filter_map(|o| {
            let pending = o.pending.as_ref().filter(|p| include_pending && p.status == "inProgress");
            match (o.versions.last(), pending) {
                (Some(v), _) => Some((o.name.to_ascii_lowercase(), view(vault, &o, v))),
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
                    Some((o.name.to_ascii_lowercase(), view(vault, &o, &v)))
                }
                (None, None) => None,
            }
        })
        .collect();
    paginate(all, size, skip)
}

/// `GET /certificates/{name}/versions`.
pub fn list_versions(
    state: &State,
    vault: &Vault,
    name: &str,
    size: usize,
    skip: Option<&str>,
) -> Result<Page<CertView>, KvError> {
    let obj = live(state, vault, name)?;
    let all = obj.versions.iter().map(|v| (format!("{:020}{}", v.created, v.version), view(vault, &obj, v))).collect();
    paginate(all, size, skip)
}

// ---------------------------------------------------------------------------------------------
// Soft delete: the certificate, its key and its secret move together

fn set_backing_deleted(state: &State, batch: &mut Batch, vault: &Vault, name: &str, d: Option<DeletedState>) {
    let (kk, sk) = (crate::keys::store_key(vault, name), crate::secrets::key(vault, name));
    if let Some(Record::Key(mut k)) = state.get(&kk).cloned() {
        k.deleted = d.clone();
        batch.put(&kk, Record::Key(k));
    }
    if let Some(Record::Secret(mut s)) = state.get(&sk).cloned() {
        s.deleted = d;
        batch.put(&sk, Record::Secret(s));
    }
}

fn remove_all(batch: &mut Batch, vault: &Vault, name: &str) {
    batch.delete(&store_key(vault, name));
    batch.delete(&crate::keys::store_key(vault, name));
    batch.delete(&crate::secrets::key(vault, name));
}

/// `DELETE /certificates/{name}`: the certificate, its key and its secret.
pub fn delete(state: &State, batch: &mut Batch, vault: &Vault, name: &str) -> Result<CertView, KvError> {
    let mut obj = live(state, vault, name)?;
    let current = obj.versions.last().cloned().ok_or_else(|| not_found(name))?;
    let t = now();
    let d = DeletedState {
        deleted_date: t,
        scheduled_purge_date: t + i64::from(vault.soft_delete_retention_in_days) * 86_400,
    };
    obj.deleted = Some(d.clone());
    obj.pending = None;
    let out = view(vault, &obj, &current);
    if vault.enable_soft_delete {
        batch.put(&store_key(vault, name), Record::Certificate(obj));
        set_backing_deleted(state, batch, vault, name, Some(d));
    } else {
        remove_all(batch, vault, name);
    }
    Ok(out)
}

fn deleted(state: &State, vault: &Vault, name: &str) -> Result<CertificateObject, KvError> {
    check_name(name)?;
    match object(state, vault, name) {
        Some(o) if o.deleted.is_some() => Ok(o),
        _ => Err(deleted_not_found(name)),
    }
}

/// `GET /deletedcertificates/{name}`.
pub fn get_deleted(state: &State, vault: &Vault, name: &str) -> Result<CertView, KvError> {
    let obj = deleted(state, vault, name)?;
    let v = obj.versions.last().ok_or_else(|| deleted_not_found(name))?;
    Ok(view(vault, &obj, v))
}

/// `GET /deletedcertificates`.
pub fn list_deleted(state: &State, vault: &Vault, size: usize, skip: Option<&str>) -> Result<Page<CertView>, KvError> {
    let all = all_objects(state, vault)
        .into_iter()
        .filter(|o| o.deleted.is_some())
        .filter_map(|o| o.versions.last().map(|v| (o.name.to_ascii_lowercase(), view(vault, &o, v))))
        .collect();
    paginate(all, size, skip)
}

/// `POST /deletedcertificates/{name}/recover`.
pub fn recover(state: &State, batch: &mut Batch, vault: &Vault, name: &str) -> Result<CertView, KvError> {
    let mut obj = deleted(state, vault, name)?;
    obj.deleted = None;
    let v = obj.versions.last().cloned().ok_or_else(|| deleted_not_found(name))?;
    let out = view(vault, &obj, &v);
    batch.put(&store_key(vault, name), Record::Certificate(obj));
    set_backing_deleted(state, batch, vault, name, None);
    Ok(out)
}

/// `DELETE /deletedcertificates/{name}`: the certificate, its key and its secret, for good.
pub fn purge(state: &State, batch: &mut Batch, vault: &Vault, name: &str) -> Result<(), KvError> {
    deleted(state, vault, name)?;
    crate::kv::purge_allowed(vault)?;
    remove_all(batch, vault, name);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Backup / restore

#[derive(Serialize, Deserialize)]
struct Backup {
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
    let obj = live(state, vault, name)?;
    if obj.versions.is_empty() {
        return Err(not_found(name));
    }
    if obj.versions.len() > MAX_BACKUP_VERSIONS {
        return Err(bad(format!(
            "Backup of certificate {name} failed: it has more than {MAX_BACKUP_VERSIONS} versions."
        )));
    }
    let Some(Record::Key(k)) = state.get(&crate::keys::store_key(vault, name)) else {
        return Err(internal(format!("certificate {name} has no backing key")));
    };
    let mut versions = Vec::with_capacity(obj.versions.len());
    for v in &obj.versions {
        let kv = k
            .versions
            .iter()
            .find(|x| x.version == v.version)
            .ok_or_else(|| internal(format!("certificate {name}/{} has no backing key version", v.version)))?;
        let der = crate::keys::open_private(sealer, vault, &k.name, kv)?;
        versions.push(BackupVersion { meta: v.clone(), pkcs8: b64().encode(der) });
    }
    let b = Backup {
        v: 1,
        subscription: crate::kv::subscription_of(vault),
        name: obj.name.clone(),
        policy: obj.policy.clone(),
        versions,
    };
    crate::kv::seal_backup(sealer, "certificate", vault, &b)
}

/// `POST /certificates/restore`: the certificate, its key and its secret, every version.
pub fn restore(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    vault: &Vault,
    blob: &str,
) -> Result<CertView, KvError> {
    let b: Backup = crate::kv::open_backup(sealer, "certificate", vault, blob)?;
    let taken = object(state, vault, &b.name).is_some()
        || state.get(&crate::keys::store_key(vault, &b.name)).is_some()
        || state.get(&crate::secrets::key(vault, &b.name)).is_some();
    if taken {
        return Err(KvError::new(
            Kind::Conflict,
            "Conflict",
            format!(
                "There was a conflict restoring certificate '{}'. A certificate (or key or secret) with the same name already exists in this vault, possibly in the deleted state.",
                b.name
            ),
        ));
    }
    let mut obj = CertificateObject {
        vault_internal_id: vault.internal_id.clone(),
        name: b.name.clone(),
        versions: vec![],
        deleted: None,
        policy: b.policy,
        pending: None,
    };
    for bv in b.versions {
        let der = b64().decode(&bv.pkcs8).map_err(|_| crate::kv::invalid_backup())?;
        let chain: Vec<Vec<u8>> = bv
            .meta
            .chain
            .iter()
            .map(|c| b64().decode(c))
            .collect::<Result<_, _>>()
            .map_err(|_| crate::kv::invalid_backup())?;
        let (version, enabled, tags) = (bv.meta.version.clone(), bv.meta.enabled, bv.meta.tags.clone());
        add_version(state, batch, sealer, vault, &mut obj, &version, &der, chain, enabled, tags)?;
    }
    let v = obj.versions.last().cloned().ok_or_else(crate::kv::invalid_backup)?;
    let out = view(vault, &obj, &v);
    batch.put(&store_key(vault, &b.name), Record::Certificate(obj));
    Ok(out)
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
