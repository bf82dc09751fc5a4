//! Certificate issuers (`/certificates/issuers/{name}`, the password sealed) and the vault's
//! certificate contacts.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;
use vaultlink_crypto::Sealer;

use super::{aad, b64, bad};
use crate::engine::{Batch, State};
use crate::error::Error;
use crate::error::Kind;
use crate::kv::Admitted;
use crate::kv::objects::{AttributesSpec, Page, check_name, paginate};
use crate::model::{CertificateContacts, CertificateIssuer, Record, Vault};

fn issuer_key(vault: &Vault, name: &str) -> String {
    format!("{}/certissuers/{}", vault.objects_root(), name.to_ascii_lowercase())
}

fn contacts_key(vault: &Vault) -> String {
    format!("{}/certcontacts", vault.objects_root())
}

pub(super) fn issuer_exists(state: &State, vault: &Vault) -> impl Fn(&str) -> bool {
    move |n: &str| matches!(state.get(&issuer_key(vault, n)), Some(Record::CertificateIssuer(_)))
}

/// `PUT|PATCH /certificates/issuers/{name}` body.
#[derive(Debug, Default, Deserialize)]
pub struct IssuerSpec {
    pub provider: Option<String>,
    pub credentials: Option<IssuerCredentials>,
    /// `OrganizationDetails`: an object (its fields are kept as given).
    pub org_details: Option<serde_json::Map<String, Value>>,
    pub attributes: Option<AttributesSpec>,
}

#[derive(Debug, Default, Deserialize)]
pub struct IssuerCredentials {
    pub account_id: Option<String>,
    pub pwd: Option<String>,
}

fn issuer_not_found(name: &str) -> Error {
    Error::new(Kind::NotFound, "CertificateIssuerNotFound", format!("Issuer not found: {name}"))
}

fn check_issuer_name(name: &str) -> Result<(), Error> {
    check_name(name)
}

/// `PUT /certificates/issuers/{name}` (create or replace) and `PATCH` (update the given fields).
pub fn set_issuer(
    state: &State,
    batch: &mut Batch,
    sealer: &Sealer,
    vault: &Admitted,
    name: &str,
    spec: IssuerSpec,
    patch: bool,
) -> Result<CertificateIssuer, Error> {
    check_issuer_name(name)?;
    let existing = match state.get(&issuer_key(vault, name)) {
        Some(Record::CertificateIssuer(i)) => Some(i.clone()),
        _ => None,
    };
    let t = state.now();
    let mut i = match (existing, patch) {
        (Some(i), true) => i,
        (None, true) => return Err(issuer_not_found(name)),
        (prev, false) => Box::new(CertificateIssuer {
            vault_internal_id: vault.internal_id.clone(),
            name: prev.as_ref().map(|p| p.name.clone()).unwrap_or_else(|| name.to_string()),
            provider: spec.provider.clone().ok_or_else(|| bad("Property provider is required."))?,
            account_id: None,
            sealed_password: None,
            org_details: None,
            enabled: true,
            created: prev.map(|p| p.created).unwrap_or(t),
            updated: t,
        }),
    };
    if let Some(p) = spec.provider {
        if p.is_empty() {
            return Err(bad("Property provider must not be empty."));
        }
        i.provider = p;
    }
    if let Some(c) = spec.credentials {
        // An empty account id clears it (as the SDKs' issuer tests expect of Azure).
        if let Some(a) = c.account_id {
            i.account_id = Some(a).filter(|a| !a.is_empty());
        }
        if let Some(pw) = c.pwd {
            i.sealed_password = Some(b64().encode(sealer.seal(pw.as_bytes(), &aad(vault, &i.name, "issuer-pwd"))));
        }
    }
    if let Some(o) = spec.org_details {
        i.org_details = Some(Value::Object(o));
    }
    if let Some(e) = spec.attributes.and_then(|a| a.enabled) {
        i.enabled = e;
    }
    i.updated = t;
    batch.put(&issuer_key(vault, name), Record::CertificateIssuer(i.clone()));
    Ok(*i)
}

/// `GET /certificates/issuers/{name}`.
pub fn get_issuer(state: &State, vault: &Admitted, name: &str) -> Result<CertificateIssuer, Error> {
    check_issuer_name(name)?;
    match state.get(&issuer_key(vault, name)) {
        Some(Record::CertificateIssuer(i)) => Ok((**i).clone()),
        _ => Err(issuer_not_found(name)),
    }
}

/// `DELETE /certificates/issuers/{name}`.
pub fn delete_issuer(
    state: &State,
    batch: &mut Batch,
    vault: &Admitted,
    name: &str,
) -> Result<CertificateIssuer, Error> {
    let i = get_issuer(state, vault, name)?;
    batch.delete(&issuer_key(vault, name));
    Ok(i)
}

/// `GET /certificates/issuers`.
pub fn list_issuers(
    state: &State,
    vault: &Admitted,
    size: usize,
    skip: Option<&str>,
) -> Result<Page<CertificateIssuer>, Error> {
    let all = state
        .descendants(&format!("{}/certissuers", vault.objects_root()))
        .filter_map(|(_, r)| match r {
            Record::CertificateIssuer(i) => Some((i.name.to_ascii_lowercase(), (**i).clone())),
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

fn contacts_not_found() -> Error {
    Error::new(Kind::NotFound, "ContactsNotFound", "Contacts not found")
}

/// `PUT /certificates/contacts`.
pub fn set_contacts(
    state: &State,
    batch: &mut Batch,
    vault: &Admitted,
    spec: ContactsSpec,
) -> Result<Vec<Value>, Error> {
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
pub fn get_contacts(state: &State, vault: &Admitted) -> Result<Vec<Value>, Error> {
    match state.get(&contacts_key(vault)) {
        Some(Record::CertificateContacts(c)) => Ok(c.contacts.clone()),
        _ => Err(contacts_not_found()),
    }
}

/// `DELETE /certificates/contacts`: the contacts that were set.
pub fn delete_contacts(state: &State, batch: &mut Batch, vault: &Admitted) -> Result<Vec<Value>, Error> {
    let c = get_contacts(state, vault)?;
    batch.delete(&contacts_key(vault));
    Ok(c)
}
