//! X.509 for Key Vault certificates: key generation, self-signed certificates and CSRs from a
//! policy's fields (rcgen), parsing (x509-parser), PKCS#12 (p12-keystore) and PEM bundles.
//!
//! Pure functions over DER bytes; private keys are PKCS#8 DER in and out.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, ECDSA_P521_SHA512_ASN1_SIGNING, EcdsaKeyPair,
};
use base64::Engine as _;
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose, OtherNameValue,
    SanType, SerialNumber,
};
use time::OffsetDateTime;

/// A refusal with a message fit for a client (never key material).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct X509Error(pub String);

fn err(m: impl Into<String>) -> X509Error {
    X509Error(m.into())
}

/// The key a certificate is generated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySpec {
    Rsa(u32),
    P256,
    P384,
    P521,
}

/// Generates a private key, PKCS#8 DER.
pub fn generate_key(spec: KeySpec) -> Result<Vec<u8>, X509Error> {
    use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
    let fail = |_| err("key generation failed");
    Ok(match spec {
        KeySpec::Rsa(bits) => {
            let size = match bits {
                2048 => KeySize::Rsa2048,
                3072 => KeySize::Rsa3072,
                4096 => KeySize::Rsa4096,
                other => return Err(err(format!("RSA key size {other} is not supported"))),
            };
            RsaKeyPair::generate(size).map_err(fail)?.as_der().map_err(fail)?.as_ref().to_vec()
        }
        KeySpec::P256 => ec(&ECDSA_P256_SHA256_ASN1_SIGNING)?,
        KeySpec::P384 => ec(&ECDSA_P384_SHA384_ASN1_SIGNING)?,
        KeySpec::P521 => ec(&ECDSA_P521_SHA512_ASN1_SIGNING)?,
    })
}

fn ec(alg: &'static aws_lc_rs::signature::EcdsaSigningAlgorithm) -> Result<Vec<u8>, X509Error> {
    let k = EcdsaKeyPair::generate(alg).map_err(|_| err("key generation failed"))?;
    Ok(k.to_pkcs8v1().map_err(|_| err("key export failed"))?.as_ref().to_vec())
}

/// What goes into a certificate or CSR, from a certificate policy.
#[derive(Debug, Clone, Default)]
pub struct CertSpec {
    /// An X.500 name as Key Vault takes it: `CN=a, O=b, ...`.
    pub subject: String,
    pub dns_names: Vec<String>,
    pub emails: Vec<String>,
    pub upns: Vec<String>,
    /// IPv4 or IPv6 addresses, as text.
    pub ip_addresses: Vec<String>,
    pub uris: Vec<String>,
    pub validity_months: u32,
    /// Key Vault's names: `digitalSignature`, `keyEncipherment`, ...
    pub key_usage: Vec<String>,
    /// Dotted OIDs.
    pub ekus: Vec<String>,
    /// The start of the validity (Unix seconds): the engine's time, which may be ahead of the
    /// system's; None for the system's time.
    pub not_before: Option<i64>,
}

/// The UPN other-name OID (Microsoft).
const UPN_OID: &[u64] = &[1, 3, 6, 1, 4, 1, 311, 20, 2, 3];

/// Parses `CN=a, O=b` into a distinguished name; refuses an empty or malformed subject.
pub fn parse_subject(subject: &str) -> Result<DistinguishedName, X509Error> {
    let mut dn = DistinguishedName::new();
    let bad = || err(format!("The subject name '{subject}' is not a valid X.500 distinguished name."));
    let mut any = false;
    for part in split_rdns(subject) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (k, v) = part.split_once('=').ok_or_else(bad)?;
        let v = v.trim().trim_matches('"').to_string();
        let ty = match k.trim().to_ascii_uppercase().as_str() {
            "CN" => DnType::CommonName,
            "O" => DnType::OrganizationName,
            "OU" => DnType::OrganizationalUnitName,
            "L" => DnType::LocalityName,
            "S" | "ST" => DnType::StateOrProvinceName,
            "C" => DnType::CountryName,
            "E" | "EMAILADDRESS" => DnType::CustomDnType(vec![1, 2, 840, 113549, 1, 9, 1]),
            "DC" => DnType::CustomDnType(vec![0, 9, 2342, 19200300, 100, 1, 25]),
            _ => return Err(bad()),
        };
        if v.is_empty() {
            return Err(bad());
        }
        dn.push(ty, v);
        any = true;
    }
    if !any {
        return Err(bad());
    }
    Ok(dn)
}

/// Splits on commas (or semicolons) that are not escaped or quoted.
fn split_rdns(s: &str) -> Vec<String> {
    let mut out = vec![];
    let mut cur = String::new();
    let (mut quoted, mut escaped) = (false, false);
    for c in s.chars() {
        match c {
            _ if escaped => {
                cur.push(c);
                escaped = false;
            }
            '\\' => escaped = true,
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ',' | ';' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn key_usage(name: &str) -> Result<KeyUsagePurpose, X509Error> {
    Ok(match name {
        "digitalSignature" => KeyUsagePurpose::DigitalSignature,
        "nonRepudiation" => KeyUsagePurpose::ContentCommitment,
        "keyEncipherment" => KeyUsagePurpose::KeyEncipherment,
        "dataEncipherment" => KeyUsagePurpose::DataEncipherment,
        "keyAgreement" => KeyUsagePurpose::KeyAgreement,
        "keyCertSign" => KeyUsagePurpose::KeyCertSign,
        "cRLSign" => KeyUsagePurpose::CrlSign,
        "encipherOnly" => KeyUsagePurpose::EncipherOnly,
        "decipherOnly" => KeyUsagePurpose::DecipherOnly,
        other => return Err(err(format!("Invalid key usage: {other}"))),
    })
}

/// The key usages Key Vault knows, by name.
pub const KEY_USAGES: &[&str] = &[
    "digitalSignature",
    "nonRepudiation",
    "keyEncipherment",
    "dataEncipherment",
    "keyAgreement",
    "keyCertSign",
    "cRLSign",
    "encipherOnly",
    "decipherOnly",
];

fn eku(oid: &str) -> Result<ExtendedKeyUsagePurpose, X509Error> {
    Ok(match oid {
        "1.3.6.1.5.5.7.3.1" => ExtendedKeyUsagePurpose::ServerAuth,
        "1.3.6.1.5.5.7.3.2" => ExtendedKeyUsagePurpose::ClientAuth,
        "1.3.6.1.5.5.7.3.3" => ExtendedKeyUsagePurpose::CodeSigning,
        "1.3.6.1.5.5.7.3.4" => ExtendedKeyUsagePurpose::EmailProtection,
        "1.3.6.1.5.5.7.3.8" => ExtendedKeyUsagePurpose::TimeStamping,
        "1.3.6.1.5.5.7.3.9" => ExtendedKeyUsagePurpose::OcspSigning,
        "2.5.29.37.0" => ExtendedKeyUsagePurpose::Any,
        other => ExtendedKeyUsagePurpose::Other(
            oid_arcs(other).ok_or_else(|| err(format!("Invalid extended key usage: {other}")))?,
        ),
    })
}

/// The arcs of a dotted object identifier that DER can encode (X.660: at least two arcs, the
/// first 0, 1 or 2, the second below 40 under 0 and 1, and the first two together fitting one
/// 64-bit subidentifier), or None.
pub fn oid_arcs(oid: &str) -> Option<Vec<u64>> {
    let arc = |a: &str| a.bytes().all(|b| b.is_ascii_digit()).then(|| a.parse().ok()).flatten();
    let arcs: Vec<u64> = oid.split('.').map(arc).collect::<Option<_>>()?;
    let (&first, &second) = (arcs.first()?, arcs.get(1)?);
    let ok = match first {
        0 | 1 => second < 40,
        2 => second < u64::MAX - 80,
        _ => false,
    };
    ok.then_some(arcs)
}

fn params(spec: &CertSpec) -> Result<CertificateParams, X509Error> {
    let mut p = CertificateParams::default();
    // An empty subject is allowed when there are alternative names (rcgen then marks the SAN
    // extension critical, as RFC 5280 section 4.2.1.6 requires).
    p.distinguished_name =
        if spec.subject.trim().is_empty() { DistinguishedName::new() } else { parse_subject(&spec.subject)? };
    for d in &spec.dns_names {
        p.subject_alt_names
            .push(SanType::DnsName(d.clone().try_into().map_err(|_| err(format!("Invalid DNS name: {d}")))?));
    }
    for e in &spec.emails {
        p.subject_alt_names
            .push(SanType::Rfc822Name(e.clone().try_into().map_err(|_| err(format!("Invalid email: {e}")))?));
    }
    for u in &spec.upns {
        p.subject_alt_names.push(SanType::OtherName((UPN_OID.to_vec(), OtherNameValue::Utf8String(u.clone()))));
    }
    for a in &spec.ip_addresses {
        p.subject_alt_names.push(SanType::IpAddress(parse_ip(a)?));
    }
    for u in &spec.uris {
        p.subject_alt_names.push(SanType::URI(parse_uri(u)?.try_into().map_err(|_| err(format!("Invalid URI: {u}")))?));
    }
    p.key_usages = spec.key_usage.iter().map(|k| key_usage(k)).collect::<Result<_, _>>()?;
    p.extended_key_usages = spec.ekus.iter().map(|e| eku(e)).collect::<Result<_, _>>()?;
    let mut serial = crate::random_bytes(16);
    serial[0] = (serial[0] & 0x7f) | 0x01;
    p.serial_number = Some(SerialNumber::from_slice(&serial));
    let now = match spec.not_before {
        Some(t) => OffsetDateTime::from_unix_timestamp(t).map_err(|_| err("clock"))?,
        None => OffsetDateTime::now_utc().replace_nanosecond(0).map_err(|_| err("clock"))?,
    };
    p.not_before = now;
    p.not_after = add_months(now, spec.validity_months);
    Ok(p)
}

/// The dotted form of an OID's DER contents (X.690 section 8.19), or None when a subidentifier
/// does not fit 64 bits. (asn1-rs's own `to_id_string` splits only the first byte into the first
/// two arcs, so it reads 2.48 and above wrongly.)
fn dotted(der: &[u8]) -> Option<String> {
    let mut subids = Vec::new();
    let mut acc: u64 = 0;
    for &b in der {
        acc = acc.checked_mul(128)? | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            subids.push(acc);
            acc = 0;
        }
    }
    let (&first, rest) = subids.split_first()?;
    let (a, b) = match first {
        0..40 => (0, first),
        40..80 => (1, first - 40),
        _ => (2, first - 80),
    };
    let arcs = [a, b].into_iter().chain(rest.iter().copied());
    Some(arcs.map(|n| n.to_string()).collect::<Vec<_>>().join("."))
}

/// An IPv4 or IPv6 address of a policy's `ipAddresses`.
pub fn parse_ip(a: &str) -> Result<std::net::IpAddr, X509Error> {
    a.trim().parse().map_err(|_| err(format!("Invalid IP address: {a}")))
}

/// A URI of a policy's `uris`: a scheme (RFC 3986 section 3.1) and something after it, ASCII.
pub fn parse_uri(u: &str) -> Result<String, X509Error> {
    let bad = || err(format!("Invalid URI: {u}"));
    let (scheme, rest) = u.split_once(':').ok_or_else(bad)?;
    let scheme_ok = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !scheme_ok
        || rest.is_empty()
        || !u.is_ascii()
        || u.chars().any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
    {
        return Err(bad());
    }
    Ok(u.to_string())
}

/// `t` plus `months` calendar months (the day clamped to the target month's length).
pub fn add_months(t: OffsetDateTime, months: u32) -> OffsetDateTime {
    let total = t.year() as i64 * 12 + (t.month() as i64 - 1) + months as i64;
    let (year, month0) = (total.div_euclid(12) as i32, total.rem_euclid(12) as u8);
    let month = time::Month::try_from(month0 + 1).unwrap_or(time::Month::January);
    let day = t.day().min(month.length(year));
    let date = time::Date::from_calendar_date(year, month, day).unwrap_or(t.date());
    t.replace_date(date)
}

fn keypair(pkcs8: &[u8]) -> Result<KeyPair, X509Error> {
    KeyPair::try_from(pkcs8).map_err(|_| err("The private key is not a supported PKCS#8 RSA or EC key."))
}

/// A self-signed certificate for the key, DER.
pub fn self_signed(pkcs8: &[u8], spec: &CertSpec) -> Result<Vec<u8>, X509Error> {
    let key = keypair(pkcs8)?;
    let cert = params(spec)?.self_signed(&key).map_err(|e| err(format!("certificate generation failed: {e}")))?;
    Ok(cert.der().to_vec())
}

/// A PKCS#10 certificate signing request for the key, DER.
pub fn csr(pkcs8: &[u8], spec: &CertSpec) -> Result<Vec<u8>, X509Error> {
    let key = keypair(pkcs8)?;
    let mut p = params(spec)?;
    p.serial_number = None;
    let req = p.serialize_request(&key).map_err(|e| err(format!("CSR generation failed: {e}")))?;
    Ok(req.der().to_vec())
}

/// The raw subject public key (RSA: PKCS#1 `RSAPublicKey`; EC: the uncompressed point) of a key.
pub fn public_key_of(pkcs8: &[u8]) -> Result<Vec<u8>, X509Error> {
    Ok(keypair(pkcs8)?.public_key_raw().to_vec())
}

/// What Key Vault reports about a certificate.
#[derive(Debug, Clone)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    pub not_before: i64,
    pub not_after: i64,
    pub dns_names: Vec<String>,
    pub emails: Vec<String>,
    pub upns: Vec<String>,
    pub ip_addresses: Vec<String>,
    pub uris: Vec<String>,
    /// The raw subject public key, comparable with [`public_key_of`].
    pub public_key: Vec<u8>,
    /// SHA-1 of the DER (Key Vault's `x5t`).
    pub sha1: Vec<u8>,
    pub key_usage: Vec<String>,
    pub ekus: Vec<String>,
    /// RSA modulus bits, or the EC curve name (`P-256`, `P-384`, `P-521`).
    pub rsa_bits: Option<u32>,
    pub ec_curve: Option<String>,
}

/// Parses a DER certificate.
pub fn parse(der: &[u8]) -> Result<CertInfo, X509Error> {
    use x509_parser::prelude::*;
    let (rest, cert) =
        parse_x509_certificate(der).map_err(|_| err("The certificate is not a valid X.509 certificate."))?;
    if !rest.is_empty() {
        return Err(err("The certificate has trailing data."));
    }
    let mut info = CertInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        dns_names: vec![],
        emails: vec![],
        upns: vec![],
        ip_addresses: vec![],
        uris: vec![],
        public_key: cert.public_key().subject_public_key.data.to_vec(),
        sha1: aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, der).as_ref().to_vec(),
        key_usage: vec![],
        ekus: vec![],
        rsa_bits: None,
        ec_curve: None,
    };
    match cert.public_key().parsed() {
        Ok(public_key::PublicKey::RSA(r)) => info.rsa_bits = Some(r.key_size() as u32),
        Ok(public_key::PublicKey::EC(_)) => {
            let oid = cert
                .public_key()
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string())
                .unwrap_or_default();
            info.ec_curve = match oid.as_str() {
                "1.2.840.10045.3.1.7" => Some("P-256".into()),
                "1.3.132.0.34" => Some("P-384".into()),
                "1.3.132.0.35" => Some("P-521".into()),
                "1.3.132.0.10" => Some("P-256K".into()),
                _ => None,
            };
        }
        _ => {}
    }
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                GeneralName::DNSName(d) => info.dns_names.push(d.to_string()),
                GeneralName::RFC822Name(e) => info.emails.push(e.to_string()),
                GeneralName::URI(u) => info.uris.push(u.to_string()),
                GeneralName::IPAddress(octets) => match <[u8; 4]>::try_from(*octets) {
                    Ok(v4) => info.ip_addresses.push(std::net::Ipv4Addr::from(v4).to_string()),
                    Err(_) => {
                        if let Ok(v6) = <[u8; 16]>::try_from(*octets) {
                            info.ip_addresses.push(std::net::Ipv6Addr::from(v6).to_string());
                        }
                    }
                },
                GeneralName::OtherName(oid, value) if oid.to_id_string() == "1.3.6.1.4.1.311.20.2.3" => {
                    // [0] EXPLICIT UTF8String: skip the two headers.
                    if let Ok((_, any)) = der_parser::der::parse_der(value)
                        && let Ok(inner) = any.as_slice()
                        && let Ok((_, s)) = der_parser::der::parse_der_utf8string(inner)
                        && let Ok(s) = s.as_str()
                    {
                        info.upns.push(s.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    if let Ok(Some(ku)) = cert.key_usage() {
        let k = ku.value;
        for (on, name) in [
            (k.digital_signature(), "digitalSignature"),
            (k.non_repudiation(), "nonRepudiation"),
            (k.key_encipherment(), "keyEncipherment"),
            (k.data_encipherment(), "dataEncipherment"),
            (k.key_agreement(), "keyAgreement"),
            (k.key_cert_sign(), "keyCertSign"),
            (k.crl_sign(), "cRLSign"),
            (k.encipher_only(), "encipherOnly"),
            (k.decipher_only(), "decipherOnly"),
        ] {
            if on {
                info.key_usage.push(name.to_string());
            }
        }
    }
    if let Ok(Some(eku)) = cert.extended_key_usage() {
        let e = eku.value;
        for (on, oid) in [
            (e.server_auth, "1.3.6.1.5.5.7.3.1"),
            (e.client_auth, "1.3.6.1.5.5.7.3.2"),
            (e.code_signing, "1.3.6.1.5.5.7.3.3"),
            (e.email_protection, "1.3.6.1.5.5.7.3.4"),
            (e.time_stamping, "1.3.6.1.5.5.7.3.8"),
            (e.ocsp_signing, "1.3.6.1.5.5.7.3.9"),
        ] {
            if on {
                info.ekus.push(oid.to_string());
            }
        }
        for o in &e.other {
            info.ekus.push(dotted(o.as_bytes()).unwrap_or_else(|| o.to_id_string()));
        }
    }
    Ok(info)
}

/// A private key (PKCS#8 DER, if any) and a certificate chain (leaf first, DER).
#[derive(Clone, Default)]
pub struct Bundle {
    pub key: Option<Vec<u8>>,
    pub chain: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Bundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bundle")
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .field("chain", &self.chain.len())
            .finish()
    }
}

/// Writes a PKCS#12 file (AES-256 / HMAC-SHA256, as OpenSSL 3 writes by default).
pub fn to_pkcs12(bundle: &Bundle, password: &str) -> Result<Vec<u8>, X509Error> {
    use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
    let mut ks = KeyStore::new();
    let certs: Vec<Certificate> = bundle
        .chain
        .iter()
        .map(|c| Certificate::from_der(c))
        .collect::<Result<_, _>>()
        .map_err(|e| err(e.to_string()))?;
    match &bundle.key {
        Some(k) => {
            let key = PrivateKey::from_der(k).map_err(|e| err(e.to_string()))?;
            let id = crate::random_bytes(20);
            ks.add_entry("1", KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(id, key, certs)));
        }
        None => {
            for (i, c) in certs.into_iter().enumerate() {
                ks.add_entry(&format!("{i}"), KeyStoreEntry::Certificate(c));
            }
        }
    }
    ks.writer(password).write().map_err(|e| err(format!("PKCS#12 encoding failed: {e}")))
}

/// Reads a PKCS#12 file: its first private key and its certificates in the file's order.
pub fn from_pkcs12(data: &[u8], password: &str) -> Result<Bundle, X509Error> {
    let archive = p12_keystore::Pkcs12Archive::from_pkcs12(data, password)
        .map_err(|_| err("The specified PKCS#12 X.509 certificate content can not be read. Please check if certificate is in valid PKCS#12 format."))?;
    Ok(Bundle {
        key: archive.keys.first().map(|k| k.key.as_der().to_vec()),
        chain: archive.certs.iter().map(|c| c.cert.as_der().to_vec()).collect(),
    })
}

/// DER tag-length-value.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// Decrypts a PKCS#8 `EncryptedPrivateKeyInfo` (PBES2, or the PKCS#12 PBE ciphers OpenSSL's
/// `-v1` writes) to PKCS#8 DER. The PKCS#12 reader already implements both schemes, with limits
/// on their iteration counts, so the key is handed to it as the only bag of a MAC-less PFX
/// (RFC 7292: `pkcs8ShroudedKeyBag` holds exactly an `EncryptedPrivateKeyInfo`).
pub fn decrypt_pkcs8(encrypted: &[u8], password: &str) -> Result<Vec<u8>, X509Error> {
    const DATA: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
    const SHROUDED_KEY_BAG: &[u8] = &[0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x02];
    let content_info = |inner: &[u8]| tlv(0x30, &[DATA, &tlv(0xa0, &tlv(0x04, inner))].concat());
    let bag = tlv(0x30, &[SHROUDED_KEY_BAG, &tlv(0xa0, encrypted)].concat());
    let auth_safe = tlv(0x30, &content_info(&tlv(0x30, &bag)));
    let pfx = tlv(0x30, &[&[0x02, 0x01, 0x03][..], &content_info(&auth_safe)].concat());
    let archive = p12_keystore::Pkcs12Archive::from_pkcs12(&pfx, password)
        .map_err(|_| err("The private key in the PEM content could not be decrypted with the given password."))?;
    archive
        .keys
        .first()
        .map(|k| k.key.as_der().to_vec())
        .ok_or_else(|| err("The PEM content's encrypted private key is empty."))
}

/// Writes a PEM bundle as Key Vault does: the private key (PKCS#8) first, then the chain.
pub fn to_pem(bundle: &Bundle) -> String {
    let mut out = String::new();
    if let Some(k) = &bundle.key {
        out.push_str(&crate::pem_encode("PRIVATE KEY", k));
    }
    for c in &bundle.chain {
        out.push_str(&crate::pem_encode("CERTIFICATE", c));
    }
    out
}

/// Reads a PEM bundle: `PRIVATE KEY` (PKCS#8) or `ENCRYPTED PRIVATE KEY` (with `password`) and
/// `CERTIFICATE` blocks in any order.
pub fn from_pem(text: &str, password: &str) -> Result<Bundle, X509Error> {
    let bad = || {
        err(
            "The specified PEM X.509 certificate content is in an unexpected format. Please check if certificate is in valid PEM format.",
        )
    };
    let mut b = Bundle::default();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(label) = line.strip_prefix("-----BEGIN ").and_then(|l| l.strip_suffix("-----")) else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = String::new();
        loop {
            match lines.next() {
                Some(l) if l == end => break,
                Some(l) => body.push_str(l),
                None => return Err(bad()),
            }
        }
        let der = base64::engine::general_purpose::STANDARD.decode(body).map_err(|_| bad())?;
        match label {
            "CERTIFICATE" => b.chain.push(der),
            "PRIVATE KEY" => b.key = Some(der),
            "ENCRYPTED PRIVATE KEY" => b.key = Some(decrypt_pkcs8(&der, password)?),
            "RSA PRIVATE KEY" | "EC PRIVATE KEY" => {
                return Err(err(format!(
                    "PEM '{label}' blocks are not supported; convert the key to PKCS#8 ('PRIVATE KEY' or 'ENCRYPTED PRIVATE KEY')."
                )));
            }
            _ => {}
        }
    }
    if b.chain.is_empty() {
        return Err(bad());
    }
    Ok(b)
}

/// Signs a PKCS#10 request with a CA key (for tests and demonstrations of the merge flow):
/// returns (the CA's self-signed certificate, the issued certificate), DER.
pub fn sign_csr(ca_pkcs8: &[u8], ca_subject: &str, csr_der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), X509Error> {
    use rcgen::{BasicConstraints, CertificateSigningRequestParams, IsCa, Issuer};
    let ca_key = keypair(ca_pkcs8)?;
    let mut ca_params = params(&CertSpec { subject: ca_subject.into(), validity_months: 24, ..Default::default() })?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).map_err(|e| err(e.to_string()))?;
    let mut req =
        CertificateSigningRequestParams::from_der(&csr_der.to_vec().into()).map_err(|e| err(e.to_string()))?;
    req.params.not_before = OffsetDateTime::now_utc();
    req.params.not_after = add_months(req.params.not_before, 12);
    let issuer = Issuer::new(ca_params, ca_key);
    let cert = req.signed_by(&issuer).map_err(|e| err(e.to_string()))?;
    Ok((ca_cert.der().to_vec(), cert.der().to_vec()))
}

/// Base64url without padding (Key Vault's `x5t`).
pub fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_follow_x660() {
        assert_eq!(oid_arcs("1.3.6.1.5.5.7.3.1"), Some(vec![1, 3, 6, 1, 5, 5, 7, 3, 1]));
        assert_eq!(oid_arcs("2.999.1"), Some(vec![2, 999, 1]));
        for bad in ["5.3.6.1", "3.1", "0.40", "1.40.1", "1", "", "1..2", "1.+3", "1.3.x", "2.18446744073709551535"] {
            assert_eq!(oid_arcs(bad), None, "{bad}");
        }
        // Every OID this accepts, rcgen (through yasna) can write.
        let mut s = spec();
        s.ekus = vec![
            "2.48.7".into(),
            "2.99999.1".into(),
            "2.18446744073709551534".into(),
            "0.39.1".into(),
            "1.3.18446744073709551615".into(),
        ];
        let der = self_signed(&generate_key(KeySpec::P256).unwrap(), &s).unwrap();
        assert_eq!(parse(&der).unwrap().ekus, s.ekus);
    }

    fn spec() -> CertSpec {
        CertSpec {
            subject: "CN=app.contoso.com, O=Contoso".into(),
            dns_names: vec!["app.contoso.com".into(), "www.contoso.com".into()],
            emails: vec!["admin@contoso.com".into()],
            upns: vec!["user@contoso.com".into()],
            validity_months: 12,
            key_usage: vec!["digitalSignature".into(), "keyEncipherment".into()],
            ekus: vec!["1.3.6.1.5.5.7.3.1".into(), "1.3.6.1.5.5.7.3.2".into()],
            ..Default::default()
        }
    }

    #[test]
    fn self_signed_certificate_matches_the_spec_for_each_key_type() {
        for ks in [KeySpec::Rsa(2048), KeySpec::P256, KeySpec::P384, KeySpec::P521] {
            let key = generate_key(ks).unwrap();
            let der = self_signed(&key, &spec()).unwrap();
            let info = parse(&der).unwrap();
            assert_eq!(info.subject, "CN=app.contoso.com, O=Contoso");
            assert_eq!(info.issuer, info.subject);
            assert_eq!(info.dns_names, vec!["app.contoso.com", "www.contoso.com"]);
            assert_eq!(info.emails, vec!["admin@contoso.com"]);
            assert_eq!(info.upns, vec!["user@contoso.com"]);
            assert_eq!(info.key_usage, vec!["digitalSignature", "keyEncipherment"]);
            assert_eq!(info.ekus, vec!["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
            assert_eq!(info.public_key, public_key_of(&key).unwrap());
            let days = (info.not_after - info.not_before) / 86_400;
            assert!((365..=366).contains(&days), "{days}");
        }
    }

    #[test]
    fn pkcs12_and_pem_round_trip_with_and_without_password() {
        let key = generate_key(KeySpec::P256).unwrap();
        let der = self_signed(&key, &spec()).unwrap();
        let b = Bundle { key: Some(key.clone()), chain: vec![der.clone()] };
        for pw in ["", "s3cret"] {
            let p12 = to_pkcs12(&b, pw).unwrap();
            let back = from_pkcs12(&p12, pw).unwrap();
            assert_eq!(back.chain, vec![der.clone()]);
            assert_eq!(public_key_of(back.key.as_ref().unwrap()).unwrap(), public_key_of(&key).unwrap());
        }
        assert!(from_pkcs12(&to_pkcs12(&b, "right").unwrap(), "wrong").is_err());
        let pem = to_pem(&b);
        let back = from_pem(&pem, "").unwrap();
        assert_eq!(back.chain, vec![der]);
        assert_eq!(back.key, Some(key));
        assert!(from_pem("not pem", "").is_err());
    }

    #[test]
    fn encrypted_pem_keys_open_with_their_password_pbes2_and_pkcs12_pbe() {
        let plain = from_pem(
            concat!(include_str!("../tests/fixtures/key.pem"), include_str!("../tests/fixtures/cert.pem")),
            "",
        )
        .unwrap();
        let cert = include_str!("../tests/fixtures/cert.pem");
        for encrypted in
            [include_str!("../tests/fixtures/key-pbes2.pem"), include_str!("../tests/fixtures/key-pbe-sha1-3des.pem")]
        {
            let text = format!("{encrypted}{cert}");
            let b = from_pem(&text, "fixture-pw").unwrap();
            assert_eq!(b.key, plain.key, "the decrypted key is the fixture's PKCS#8 key");
            assert_eq!(b.chain, plain.chain);
            assert!(from_pem(&text, "wrong").is_err());
            assert!(from_pem(&text, "").is_err());
        }
    }

    #[test]
    fn alternative_names_without_a_subject_and_ip_and_uri_names() {
        let key = generate_key(KeySpec::P256).unwrap();
        let sans = CertSpec {
            subject: String::new(),
            dns_names: vec!["only.contoso.com".into()],
            ip_addresses: vec!["10.0.0.4".into(), "2001:db8::1".into()],
            uris: vec!["https://contoso.com/app".into()],
            validity_months: 12,
            ..Default::default()
        };
        let der = self_signed(&key, &sans).unwrap();
        let info = parse(&der).unwrap();
        assert_eq!(info.subject, "");
        assert_eq!(info.dns_names, vec!["only.contoso.com"]);
        assert_eq!(info.ip_addresses, vec!["10.0.0.4", "2001:db8::1"]);
        assert_eq!(info.uris, vec!["https://contoso.com/app"]);
        use x509_parser::prelude::FromDer;
        let (_, cert) = x509_parser::certificate::X509Certificate::from_der(&der).unwrap();
        assert!(
            cert.subject_alternative_name().unwrap().unwrap().critical,
            "RFC 5280: critical when the subject is empty"
        );
        assert!(csr(&key, &sans).is_ok());
        assert!(self_signed(&key, &CertSpec { ip_addresses: vec!["10.0.0.256".into()], ..sans.clone() }).is_err());
        assert!(self_signed(&key, &CertSpec { uris: vec!["no scheme".into()], ..sans }).is_err());
    }

    #[test]
    fn csr_carries_the_public_key_and_bad_specs_are_refused() {
        let key = generate_key(KeySpec::Rsa(2048)).unwrap();
        let csr = csr(&key, &spec()).unwrap();
        use x509_parser::prelude::FromDer;
        let (_, req) = x509_parser::certification_request::X509CertificationRequest::from_der(&csr).unwrap();
        assert_eq!(
            req.certification_request_info.subject_pki.subject_public_key.data.to_vec(),
            public_key_of(&key).unwrap()
        );
        assert!(parse_subject("").is_err());
        assert!(parse_subject("nonsense").is_err());
        assert!(parse_subject("XX=1").is_err());
        assert!(self_signed(&key, &CertSpec { key_usage: vec!["bogus".into()], ..spec() }).is_err());
    }

    #[test]
    fn add_months_clamps_the_day() {
        let t = time::macros::datetime!(2026-01-31 12:00 UTC);
        assert_eq!(add_months(t, 1), time::macros::datetime!(2026-02-28 12:00 UTC));
        assert_eq!(add_months(t, 12), time::macros::datetime!(2027-01-31 12:00 UTC));
    }
}
