//! Certificate policies: the wire shape, defaults and validation (before anything is written).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use vaultlink_crypto::x509::{self, CertSpec, KeySpec};

use crate::error::Error;
use crate::model::Vault;

pub const PKCS12: &str = "application/x-pkcs12";
pub const PEM: &str = "application/x-pem-file";

// Sizes of a policy's names. Key Vault documents none; vaultlink's choice (docs/behaviour.md):
// a subject's text, the names of all kinds together, and one name (a DNS name: RFC 1035's 253).
pub const MAX_SUBJECT: usize = 1024;
pub const MAX_SANS: usize = 100;
pub const MAX_SAN: usize = 1024;
pub const MAX_DNS_NAME: usize = 253;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeyProps {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exportable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kty: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reuse_key: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SecretProps {
    #[serde(rename = "contentType", skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Sans {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emails: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_names: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upns: Option<Vec<String>>,
    #[serde(rename = "ipAddresses", skip_serializing_if = "Option::is_none")]
    pub ip_addresses: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uris: Option<Vec<String>>,
}

impl Sans {
    fn is_empty(&self) -> bool {
        [&self.emails, &self.dns_names, &self.upns, &self.ip_addresses, &self.uris]
            .iter()
            .all(|v| v.as_ref().is_none_or(Vec::is_empty))
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct X509Props {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ekus: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sans: Option<Sans>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_usage: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validity_months: Option<u32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IssuerParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cty: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_transparency: Option<bool>,
}

/// `platformManaged` (2025-07-01 and later; "intended for internal use" by Azure): kept and
/// returned as given.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PlatformManaged {
    #[serde(rename = "certificateUsage", skip_serializing_if = "Option::is_none")]
    pub certificate_usage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Map<String, Value>>,
}

/// `CertificatePolicy` as on the wire (`id` is added when rendering).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Policy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_props: Option<KeyProps>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_props: Option<SecretProps>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x509_props: Option<X509Props>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifetime_actions: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<IssuerParams>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Value>,
    #[serde(rename = "platformManaged", skip_serializing_if = "Option::is_none")]
    pub platform_managed: Option<PlatformManaged>,
}

fn bad(m: impl Into<String>) -> Error {
    Error::bad_parameter(m)
}

impl Policy {
    pub fn from_value(v: &Value) -> Result<Self, Error> {
        serde_json::from_value(v.clone()).map_err(|e| bad(format!("The certificate policy is not valid: {e}")))
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| json!({}))
    }

    pub fn issuer_name(&self) -> &str {
        self.issuer.as_ref().and_then(|i| i.name.as_deref()).unwrap_or("Unknown")
    }

    pub fn content_type(&self) -> &str {
        self.secret_props.as_ref().and_then(|s| s.content_type.as_deref()).unwrap_or(PKCS12)
    }

    pub fn exportable(&self) -> bool {
        self.key_props.as_ref().and_then(|k| k.exportable).unwrap_or(true)
    }

    pub fn reuse_key(&self) -> bool {
        self.key_props.as_ref().and_then(|k| k.reuse_key).unwrap_or(false)
    }

    pub fn hsm(&self) -> bool {
        self.key_props.as_ref().and_then(|k| k.kty.as_deref()).is_some_and(|k| k.ends_with("-HSM"))
    }

    /// The key to generate.
    pub fn key_spec(&self) -> Result<KeySpec, Error> {
        let k = self.key_props.clone().unwrap_or_default();
        match k.kty.as_deref().unwrap_or("RSA") {
            "RSA" | "RSA-HSM" => match k.key_size.unwrap_or(2048) {
                s @ (2048 | 3072 | 4096) => Ok(KeySpec::Rsa(s)),
                s => Err(bad(format!("Invalid key size: {s}. RSA keys must be 2048, 3072 or 4096 bits."))),
            },
            "EC" | "EC-HSM" => match (k.crv.as_deref(), k.key_size) {
                (Some("P-256") | None, None | Some(256)) => Ok(KeySpec::P256),
                (Some("P-384"), None | Some(384)) | (None, Some(384)) => Ok(KeySpec::P384),
                (Some("P-521"), None | Some(521)) | (None, Some(521)) => Ok(KeySpec::P521),
                (Some("P-256K"), _) => Err(bad(
                    "Curve P-256K is not supported for certificates by vaultlink (it cannot sign X.509 with secp256k1).",
                )),
                (c, s) => Err(bad(format!(
                    "Invalid curve/key size for an EC certificate key: {} / {}.",
                    c.unwrap_or("-"),
                    s.map(|s| s.to_string()).unwrap_or_else(|| "-".into())
                ))),
            },
            other => {
                Err(bad(format!("Invalid kty value for a certificate key: {other}")).with_inner("KeyTypeNotSupported"))
            }
        }
    }

    /// The X.509 fields.
    pub fn cert_spec(&self) -> CertSpec {
        let x = self.x509_props.clone().unwrap_or_default();
        let sans = x.sans.unwrap_or_default();
        CertSpec {
            subject: x.subject.unwrap_or_default(),
            dns_names: sans.dns_names.unwrap_or_default(),
            emails: sans.emails.unwrap_or_default(),
            upns: sans.upns.unwrap_or_default(),
            ip_addresses: sans.ip_addresses.unwrap_or_default(),
            uris: sans.uris.unwrap_or_default(),
            validity_months: x.validity_months.unwrap_or(12),
            key_usage: x.key_usage.unwrap_or_default(),
            ekus: x.ekus.unwrap_or_default(),
            not_before: None,
        }
    }

    /// Fills Azure's defaults in (key type and size, exportable, reuse, content type, validity,
    /// lifetime action) so that GET returns a complete policy.
    pub fn normalised(mut self) -> Self {
        let spec = self.key_spec();
        let mut k = self.key_props.take().unwrap_or_default();
        let kty = k.kty.clone().unwrap_or_else(|| "RSA".into());
        if kty.starts_with("EC") {
            let (crv, size) = match spec {
                Ok(KeySpec::P384) => ("P-384", 384),
                Ok(KeySpec::P521) => ("P-521", 521),
                _ => ("P-256", 256),
            };
            k.crv = Some(k.crv.unwrap_or_else(|| crv.into()));
            k.key_size = Some(k.key_size.unwrap_or(size));
        } else {
            k.key_size = Some(k.key_size.unwrap_or(2048));
        }
        k.kty = Some(kty);
        k.exportable = Some(k.exportable.unwrap_or(true));
        k.reuse_key = Some(k.reuse_key.unwrap_or(false));
        self.key_props = Some(k);
        let ct = self.content_type().to_string();
        self.secret_props = Some(SecretProps { content_type: Some(ct) });
        let mut x = self.x509_props.take().unwrap_or_default();
        x.validity_months = Some(x.validity_months.unwrap_or(12));
        x.key_usage = Some(x.key_usage.unwrap_or_default());
        // Without `ekus`, Key Vault's certificates are for TLS servers and clients (what `az
        // keyvault certificate show` reports for a default-policy certificate).
        x.ekus = Some(x.ekus.unwrap_or_else(|| vec!["1.3.6.1.5.5.7.3.1".into(), "1.3.6.1.5.5.7.3.2".into()]));
        x.sans = x.sans.filter(|s| !s.is_empty());
        self.x509_props = Some(x);
        if self.lifetime_actions.is_none() {
            let action = if self.issuer_name().eq_ignore_ascii_case("unknown") { "EmailContacts" } else { "AutoRenew" };
            self.lifetime_actions =
                Some(vec![json!({"trigger": {"lifetime_percentage": 80}, "action": {"action_type": action}})]);
        }
        let name = self.issuer_name().to_string();
        let mut issuer = self.issuer.take().unwrap_or_default();
        issuer.name = Some(name);
        self.issuer = Some(issuer);
        self.attributes = Some(
            json!({"enabled": self.attributes.as_ref().and_then(|a| a.get("enabled")).and_then(Value::as_bool).unwrap_or(true)}),
        );
        self
    }

    /// Checks everything Key Vault checks before it writes. `for_create`: a subject or SAN is
    /// required and the issuer must exist.
    pub fn validate(&self, vault: &Vault, issuer_exists: impl Fn(&str) -> bool, for_create: bool) -> Result<(), Error> {
        let spec = self.cert_spec();
        let ct = self.content_type();
        if ct != PKCS12 && ct != PEM {
            return Err(bad(format!("Invalid content type: '{ct}'. The content type must be '{PKCS12}' or '{PEM}'.")));
        }
        self.key_spec()?;
        if self.hsm() && !vault.sku_name.eq_ignore_ascii_case("premium") {
            return Err(bad("Hardware key operation not allowed on standard vault"));
        }
        if self.key_props.as_ref().and_then(|k| k.kty.as_deref()).is_some_and(|k| k.starts_with("RSA"))
            && self.key_props.as_ref().and_then(|k| k.crv.as_ref()).is_some()
        {
            return Err(bad("The 'crv' parameter is not valid for RSA keys."));
        }
        if let Some(m) = self.x509_props.as_ref().and_then(|x| x.validity_months)
            && !(1..=1200).contains(&m)
        {
            return Err(bad(format!("Invalid validity_months: {m}. It must be between 1 and 1200.")));
        }
        for k in &spec.key_usage {
            if !x509::KEY_USAGES.contains(&k.as_str()) {
                return Err(bad(format!("Invalid key usage: {k}")));
            }
        }
        for e in &spec.ekus {
            if x509::oid_arcs(e).is_none() {
                return Err(bad(format!("Invalid extended key usage: {e}")));
            }
        }
        if spec.subject.chars().count() > MAX_SUBJECT {
            return Err(bad(format!("The subject name is longer than {MAX_SUBJECT} characters.")));
        }
        let names = [&spec.dns_names, &spec.emails, &spec.upns, &spec.ip_addresses, &spec.uris];
        if names.iter().map(|n| n.len()).sum::<usize>() > MAX_SANS {
            return Err(bad(format!("The certificate policy has more than {MAX_SANS} subject alternative names.")));
        }
        if let Some(n) = names.iter().flat_map(|n| n.iter()).find(|n| n.chars().count() > MAX_SAN) {
            return Err(bad(format!(
                "A subject alternative name is longer than {MAX_SAN} characters: '{}...'.",
                n.chars().take(32).collect::<String>()
            )));
        }
        if let Some(n) = spec.dns_names.iter().find(|n| n.len() > MAX_DNS_NAME) {
            return Err(bad(format!(
                "The DNS name '{}...' is longer than {MAX_DNS_NAME} characters.",
                n.chars().take(32).collect::<String>()
            )));
        }
        for a in &spec.ip_addresses {
            x509::parse_ip(a).map_err(|e| bad(e.0))?;
        }
        for u in &spec.uris {
            x509::parse_uri(u).map_err(|e| bad(e.0))?;
        }
        let has_sans = self.x509_props.as_ref().and_then(|x| x.sans.as_ref()).is_some_and(|s| !s.is_empty());
        if !spec.subject.trim().is_empty() {
            x509::parse_subject(&spec.subject).map_err(|e| bad(e.0))?;
        } else if for_create && !has_sans && self.platform_managed.is_none() {
            // (The SDKs send a policy without either only for a platform-managed certificate.)
            return Err(bad("The certificate policy must have a subject or subject alternative names."));
        }
        if let Some(pm) = &self.platform_managed
            && pm.certificate_usage.as_deref().is_none_or(str::is_empty)
        {
            return Err(bad("Property platformManaged.certificateUsage is required."));
        }
        for a in self.lifetime_actions.iter().flatten() {
            let ty = a.pointer("/action/action_type").and_then(Value::as_str).unwrap_or_default();
            if !ty.eq_ignore_ascii_case("EmailContacts") && !ty.eq_ignore_ascii_case("AutoRenew") {
                return Err(bad(format!("Invalid lifetime action type: '{ty}'.")));
            }
            let pct = a.pointer("/trigger/lifetime_percentage").and_then(Value::as_i64);
            let days = a.pointer("/trigger/days_before_expiry").and_then(Value::as_i64);
            match (pct, days) {
                (Some(p), None) if (1..=99).contains(&p) => {}
                (None, Some(d)) if d >= 1 => {}
                _ => {
                    return Err(bad(
                        "A lifetime action's trigger must have exactly one of lifetime_percentage (1-99) or days_before_expiry.",
                    ));
                }
            }
        }
        let issuer = self.issuer_name();
        if for_create
            && !issuer.eq_ignore_ascii_case("self")
            && !issuer.eq_ignore_ascii_case("unknown")
            && !issuer_exists(issuer)
        {
            return Err(bad(format!("Issuer '{issuer}' not found in this vault.")).with_inner("IssuerNotFound"));
        }
        Ok(())
    }

    /// Overlays the fields present in `patch` (PATCH policy).
    pub fn merged(&self, patch: &Value) -> Result<Self, Error> {
        let mut base = self.to_value();
        merge(&mut base, patch);
        if let Some(o) = base.as_object_mut() {
            o.remove("id");
        }
        Policy::from_value(&base)
    }
}

fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                match b.get_mut(k) {
                    Some(slot) if v.is_object() => merge(slot, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, p) => *b = p.clone(),
    }
}

/// The policy Key Vault derives for an imported certificate that came without one.
pub fn from_certificate(
    info: &x509::CertInfo,
    rsa_bits: Option<u32>,
    ec_curve: Option<&str>,
    content_type: &str,
) -> Policy {
    let months = ((info.not_after - info.not_before) as f64 / (30.44 * 86_400.0)).round().max(1.0) as u32;
    let key_props = match ec_curve {
        Some(c) => KeyProps { kty: Some("EC".into()), crv: Some(c.into()), ..Default::default() },
        None => KeyProps { kty: Some("RSA".into()), key_size: rsa_bits, ..Default::default() },
    };
    let some = |v: &Vec<String>| if v.is_empty() { None } else { Some(v.clone()) };
    Policy {
        key_props: Some(key_props),
        secret_props: Some(SecretProps { content_type: Some(content_type.into()) }),
        x509_props: Some(X509Props {
            subject: Some(info.subject.clone()).filter(|s| !s.is_empty()),
            ekus: Some(info.ekus.clone()),
            sans: Some(Sans {
                emails: some(&info.emails),
                dns_names: some(&info.dns_names),
                upns: some(&info.upns),
                ip_addresses: some(&info.ip_addresses),
                uris: some(&info.uris),
            }),
            key_usage: Some(info.key_usage.clone()),
            validity_months: Some(months),
        }),
        lifetime_actions: Some(vec![
            json!({"trigger": {"lifetime_percentage": 80}, "action": {"action_type": "EmailContacts"}}),
        ]),
        issuer: Some(IssuerParams { name: Some("Unknown".into()), ..Default::default() }),
        attributes: None,
        platform_managed: None,
    }
}

/// Test helper: overlays `patch` on `base` (nulls remove fields).
#[cfg(test)]
pub(crate) fn tests_merge(base: &mut Value, patch: &Value) {
    if let (Value::Object(b), Value::Object(p)) = (&mut *base, patch) {
        for (k, v) in p {
            if v.is_null() {
                b.remove(k);
            } else if let (Some(slot), true) = (b.get_mut(k), v.is_object()) {
                tests_merge(slot, v);
            } else {
                b.insert(k.clone(), v.clone());
            }
        }
    }
}
