//! Certificates on the wire: `CertificateBundle`, `CertificateItem`, the policy, the operation,
//! issuers and contacts.

use base64::Engine as _;
use serde_json::{Value, json};
use vaultlink_crypto::x509;

use super::{CertView, OpView, b64};
use crate::model::CertificateIssuer;

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
        "x5t": v.cer().map(|c| sha1_b64url(c)).unwrap_or_default(),
        "cer": v.cer().cloned().unwrap_or_default(),
        "contentType": c.content_type,
        "attributes": attributes(c, true),
        "policy": render_policy(host, &c.name, &c.policy),
    });
    if !v.tags.is_empty() {
        out["tags"] = json!(v.tags);
    }
    if let Some(p) = v.preserve_cert_order {
        out["preserveCertOrder"] = json!(p);
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
    if let Some(cer) = v.cer() {
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
    if let Some(p) = op.preserve_cert_order {
        out["preserveCertOrder"] = json!(p);
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
