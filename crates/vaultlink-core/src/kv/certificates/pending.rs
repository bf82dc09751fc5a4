//! Creating a certificate from its policy and the pending operation: self-signed completes at
//! once; other issuers leave an operation with a CSR until a merge brings the signed certificate.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;
use vaultlink_crypto::Sealer;
use vaultlink_crypto::x509;

use super::issuers::issuer_exists;
use super::{
    CertView, Chain, KEY_MISMATCH, OpView, Policy, aad, add_version, b64, bad, internal, live_or_new, store_key, view,
};
use crate::engine::{Batch, State};
use crate::error::{Error, Kind};
use crate::kv::Admitted;
use crate::kv::keys;
use crate::kv::objects::{AttributesSpec, check_name, check_tags, live};
use crate::model::{CertificateObject, PendingCertificate, Record, Tags, Vault};

fn pending_not_found(name: &str) -> Error {
    Error::new(Kind::NotFound, "PendingCertificateNotFound", format!("Pending certificate not found: {name}"))
}

fn seal_private(sealer: &Sealer, vault: &Vault, name: &str, version: &str, der: &[u8]) -> String {
    b64().encode(sealer.seal(der, &aad(vault, &format!("{name}/{version}"), "pending")))
}

fn open_private(sealer: &Sealer, vault: &Vault, name: &str, version: &str, sealed: &str) -> Result<Vec<u8>, Error> {
    let raw = b64().decode(sealed).map_err(|_| internal("stored pending key is not base64"))?;
    sealer
        .open(&raw, &aad(vault, &format!("{name}/{version}"), "pending"))
        .map_err(|_| internal("pending key failed to decrypt (altered or moved on disk)"))
}

/// `status_details` of an operation in progress: issuer `Unknown` waits for the caller's merge,
/// a named issuer for its provider (Azure's wording for each).
fn in_progress(issuer: &str) -> &'static str {
    if issuer.eq_ignore_ascii_case("unknown") {
        "Pending certificate created. Please Perform Merge to complete the request."
    } else {
        "Pending certificate created. Certificate request is in progress. This may take some time based on the issuer provider. Please check again later."
    }
}

/// `POST /certificates/{name}/create` body.
#[derive(Debug, Deserialize)]
pub struct CreateSpec {
    pub policy: Option<Value>,
    pub attributes: Option<AttributesSpec>,
    pub tags: Option<Tags>,
    #[serde(rename = "preserveCertOrder")]
    pub preserve_cert_order: Option<bool>,
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
    vault: &Admitted,
    name: &str,
    spec: CreateSpec,
) -> Result<OpView, Error> {
    create_in(state, batch, sealer, vault, name, spec)
}

/// A new version by the policy: `create`, or an `AutoRenew` lifetime action ([`renew_due`]).
fn create_in(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    vault: &Vault,
    name: &str,
    spec: CreateSpec,
) -> Result<OpView, Error> {
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
    let cert_spec = x509::CertSpec { not_before: Some(state.now()), ..p.cert_spec() };
    let mut op = PendingCertificate {
        request_id: vaultlink_crypto::random_hex(16),
        issuer: p.issuer_name().to_string(),
        csr: Some(b64().encode(x509::csr(&pkcs8, &cert_spec).map_err(|e| bad(e.0))?)),
        status: "inProgress".into(),
        status_details: Some(in_progress(p.issuer_name()).into()),
        cancellation_requested: false,
        version: version.clone(),
        sealed_private: None,
        enabled,
        tags: tags.clone(),
        target: None,
        created: state.now(),
        preserve_cert_order: spec.preserve_cert_order,
    };
    if p.issuer_name().eq_ignore_ascii_case("self") {
        let der = x509::self_signed(&pkcs8, &cert_spec).map_err(|e| bad(e.0))?;
        let chain = Chain::arrange(vec![der], &pkcs8, spec.preserve_cert_order, KEY_MISMATCH)?;
        add_version(state, batch, sealer, vault, &mut obj, &version, &pkcs8, chain, enabled, tags)?;
        op.status = "completed".into();
        op.status_details = None;
        op.target = Some(obj.name.clone());
    } else {
        op.sealed_private = Some(seal_private(sealer, vault, &obj.name, &version, &pkcs8));
    }
    obj.pending = Some(op.clone());
    batch.put(&store_key(vault, name), Record::Certificate(Box::new(obj.clone())));
    // The create response says `inProgress`, as Azure's does (the SDK poller and az only poll
    // when it does); the stored operation is already `completed` for a self-signed certificate.
    let shown = PendingCertificate {
        status: "inProgress".into(),
        status_details: Some(in_progress(&op.issuer).into()),
        target: None,
        ..op
    };
    Ok(OpView { name: obj.name, op: shown })
}

/// `GET /certificates/{name}/pending`.
pub fn get_pending(state: &State, vault: &Admitted, name: &str) -> Result<OpView, Error> {
    let obj = live::<CertificateObject>(state, vault, name).map_err(|_| pending_not_found(name))?;
    let op = obj.pending.clone().ok_or_else(|| pending_not_found(name))?;
    Ok(OpView { name: obj.name.clone(), op })
}

/// `PATCH /certificates/{name}/pending` with `cancellation_requested: true`.
pub fn cancel_pending(
    state: &State,
    batch: &mut Batch,
    vault: &Admitted,
    name: &str,
    cancel: bool,
) -> Result<OpView, Error> {
    let mut obj = live::<CertificateObject>(state, vault, name).map_err(|_| pending_not_found(name))?.clone();
    let mut op = obj.pending.clone().ok_or_else(|| pending_not_found(name))?;
    if cancel && op.status == "inProgress" {
        op.cancellation_requested = true;
        op.status = "cancelled".into();
        op.status_details = Some("Certificate request was cancelled.".into());
        op.sealed_private = None;
    }
    obj.pending = Some(op.clone());
    batch.put(&store_key(vault, name), Record::Certificate(Box::new(obj.clone())));
    Ok(OpView { name: obj.name, op })
}

/// `DELETE /certificates/{name}/pending`: the operation is gone (a certificate that never got a
/// version goes with it).
pub fn delete_pending(state: &State, batch: &mut Batch, vault: &Admitted, name: &str) -> Result<OpView, Error> {
    let mut obj = live::<CertificateObject>(state, vault, name).map_err(|_| pending_not_found(name))?.clone();
    let op = obj.pending.take().ok_or_else(|| pending_not_found(name))?;
    if obj.versions.is_empty() {
        batch.delete(&store_key(vault, name));
    } else {
        batch.put(&store_key(vault, name), Record::Certificate(Box::new(obj.clone())));
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

/// The certificates of one `x5c` entry. The wire form is base64 of DER, but the SDKs' own
/// merge tests send base64 of the certificate's *base64 text* (they pass the PEM body as bytes,
/// which the SDK base64-encodes again) or of PEM text, and Azure merges those: so the decoded
/// bytes are taken as DER, else as PEM text, else as base64 text of DER.
fn x5c_certificates(entry: &str) -> Result<Vec<Vec<u8>>, Error> {
    let refused = || bad("The x5c entries must be base64 DER X.509 certificates.");
    let compact = |t: &str| t.split_whitespace().collect::<String>();
    let text_certs = |t: &str| -> Result<Vec<Vec<u8>>, Error> {
        if t.trim_start().starts_with("-----BEGIN") {
            let b = x509::from_pem(t, "").map_err(|e| bad(e.0))?;
            return Ok(b.chain);
        }
        Ok(vec![b64().decode(compact(t)).map_err(|_| refused())?])
    };
    let certs = match b64().decode(compact(entry)) {
        Ok(raw) if x509::parse(&raw).is_ok() => vec![raw],
        Ok(raw) => text_certs(std::str::from_utf8(&raw).map_err(|_| refused())?)?,
        // Not base64 at all: PEM text itself, or nothing.
        Err(_) => text_certs(entry)?,
    };
    for der in &certs {
        x509::parse(der).map_err(|e| bad(e.0))?;
    }
    Ok(certs)
}

/// `POST /certificates/{name}/pending/merge`: the certificate signed elsewhere, whose public key
/// must be the pending key's.
pub fn merge(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    vault: &Admitted,
    name: &str,
    spec: MergeSpec,
) -> Result<CertView, Error> {
    check_tags(spec.tags.as_ref())?;
    let mut obj = live::<CertificateObject>(state, vault, name).map_err(|_| pending_not_found(name))?.clone();
    let mut op = obj.pending.clone().ok_or_else(|| pending_not_found(name))?;
    let Some(sealed) = op.sealed_private.clone().filter(|_| op.status == "inProgress") else {
        return Err(Error::new(
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
        chain.extend(x5c_certificates(c)?);
    }
    let pkcs8 = open_private(sealer, vault, &obj.name, &op.version, &sealed)?;
    let chain = Chain::arrange(chain, &pkcs8, op.preserve_cert_order, KEY_MISMATCH)?;
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
    batch.put(&store_key(vault, name), Record::Certificate(Box::new(obj.clone())));
    Ok(view(vault, &obj, &cv))
}

/// When the current version of a self-signed certificate is due to renew by its policy's
/// `AutoRenew` actions (`lifetime_percentage` of its validity, or `days_before_expiry`), if ever.
fn renewal_due(obj: &CertificateObject) -> Option<i64> {
    let cur = obj.versions.last()?;
    let (from, until) = (cur.nbf?, cur.exp?);
    let p = Policy::from_value(&obj.policy).ok()?;
    if !p.issuer_name().eq_ignore_ascii_case("self") {
        return None;
    }
    p.lifetime_actions
        .iter()
        .flatten()
        .filter(|a| {
            a.pointer("/action/action_type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case("AutoRenew"))
        })
        .filter_map(|a| {
            match (
                a.pointer("/trigger/lifetime_percentage").and_then(Value::as_i64),
                a.pointer("/trigger/days_before_expiry").and_then(Value::as_i64),
            ) {
                (Some(pct), _) => Some(from + (until - from) * pct / 100),
                (None, Some(days)) => Some(until - days * 86_400),
                (None, None) => None,
            }
        })
        .min()
}

/// Renews every self-signed certificate of `vault` whose `AutoRenew` action is due, as Key Vault
/// does by itself (once per certificate, however far the clock moved): a new version by the
/// stored policy with the current version's tags; returns how many. A certificate that is
/// deleted or has an operation in progress is left alone.
pub(crate) fn renew_due(state: &State, batch: &mut Batch, sealer: &Sealer, vault: &Vault) -> usize {
    let t = state.now();
    let due: Vec<(String, Value, Option<Tags>)> = state
        .descendants(&format!("{}/certificates", vault.objects_root()))
        .filter_map(|(_, r)| match r {
            Record::Certificate(c)
                if c.deleted.is_none()
                    && c.pending.as_ref().is_none_or(|p| p.status != "inProgress")
                    && renewal_due(c).is_some_and(|due| due <= t) =>
            {
                Some((c.name.clone(), c.policy.clone(), c.versions.last().map(|v| v.tags.clone())))
            }
            _ => None,
        })
        .collect();
    due.into_iter()
        .filter(|(name, policy, tags)| {
            let spec = CreateSpec {
                policy: Some(policy.clone()),
                attributes: None,
                tags: tags.clone(),
                preserve_cert_order: None,
            };
            create_in(state, batch, sealer, vault, name, spec).is_ok()
        })
        .count()
}
