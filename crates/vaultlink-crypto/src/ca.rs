//! vaultlink's local certificate authority and the rustls server config that mints leaf certificates per SNI name.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
    GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose, NameConstraints, PKCS_ECDSA_P256_SHA256, SanType,
    SerialNumber,
};
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::version::{TLS12, TLS13};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use time::{Duration, OffsetDateTime};

use crate::{CryptoError, files};

const CERT_FILE: &str = "ca.pem";
const KEY_FILE: &str = "ca-key.pem";
const CA_COMMON_NAME: &str = "vaultlink local CA";
const CA_ORGANIZATION: &str = "vaultlink";
const CA_VALIDITY: Duration = Duration::days(3650);
/// Leaf lifetime; browsers reject server certificates valid for more than 398 days.
const LEAF_VALIDITY: Duration = Duration::days(397);
/// Leaves are re-minted this long before they expire.
const LEAF_RENEW_MARGIN: Duration = Duration::days(7);
/// Upper bound on cached SNI leaves; the cache is emptied when it is reached.
const MAX_CACHED_LEAVES: usize = 4096;

/// The DNS names the CA may certify, as X.509 name constraints (RFC 5280 section 4.2.1.10: each
/// permits itself and every name below it): the Azure host names vaultlink plays and
/// `localhost`. With the loopback addresses, nothing else: a client that trusts the CA (as
/// `vaultlink env` asks) trusts it for no other site. `ingress/hosts.rs` serves exactly these
/// names (a test there keeps the two tables in step).
pub const PERMITTED_DNS: &[&str] = &[
    "management.azure.com",
    "login.microsoftonline.com",
    "login.windows.net",
    "sts.windows.net",
    "graph.microsoft.com",
    "vault.azure.net",
    "localhost",
];

/// Whether the CA may certify `name` (a DNS name or an IP literal, any case).
pub fn permitted(name: &str) -> bool {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return ip.is_loopback();
    }
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    let n = n.strip_prefix("*.").unwrap_or(&n);
    PERMITTED_DNS.iter().any(|p| n == *p || n.strip_suffix(p).is_some_and(|head| head.ends_with('.')))
}

/// vaultlink's local certificate authority (ECDSA P-256), kept in `ca.pem` / `ca-key.pem`.
///
/// Cheap to clone (shared inner state).
#[derive(Clone)]
pub struct Ca {
    inner: Arc<CaInner>,
}

struct CaInner {
    cert_pem: String,
    cert_der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
    /// This start replaced a CA without vaultlink's name constraints (an older data directory).
    replaced_unconstrained: bool,
}

impl Ca {
    /// Loads `dir/ca.pem` and `dir/ca-key.pem`, or creates a new CA there if neither exists.
    ///
    /// The key file must not be accessible by group or others. If `ca-key.pem` exists without
    /// `ca.pem`, a new CA certificate is issued for the existing key; if `ca.pem` exists
    /// without its key, this fails rather than silently replacing a CA users may trust.
    pub fn load_or_create(dir: &Path) -> Result<Ca, CryptoError> {
        files::ensure_dir(dir)?;
        let cert_path = dir.join(CERT_FILE);
        let key_path = dir.join(KEY_FILE);
        let (have_cert, have_key) = (files::exists(&cert_path), files::exists(&key_path));
        if have_cert && !have_key {
            return Err(CryptoError::invalid_key(
                key_path.display().to_string(),
                format!(
                    "missing, but {} exists; restore the key or delete the certificate to create a new CA",
                    cert_path.display()
                ),
            ));
        }
        let key = if have_key {
            let pem = files::read_private(&key_path)?;
            let pem = String::from_utf8(pem).map_err(|_| CryptoError::invalid_key(KEY_FILE, "not a PEM file"))?;
            KeyPair::from_pem(&pem).map_err(|e| CryptoError::invalid_key(KEY_FILE, format!("unusable key: {e}")))?
        } else {
            let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(cert_err)?;
            files::write_private(&key_path, key.serialize_pem().as_bytes())
                .map_err(|e| CryptoError::io(&key_path, e))?;
            key
        };
        if have_cert {
            let cert_pem = files::read_text(&cert_path)?;
            let ca = Self::from_pem(cert_pem, key, false)?;
            if has_our_constraints(ca.cert_der()) {
                return Ok(ca);
            }
            let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(cert_err)?;
            files::write_private(&key_path, key.serialize_pem().as_bytes())
                .map_err(|e| CryptoError::io(&key_path, e))?;
            return Self::create_cert(&cert_path, key, true);
        }
        Self::create_cert(&cert_path, key, false)
    }

    fn create_cert(cert_path: &Path, key: KeyPair, replaced: bool) -> Result<Ca, CryptoError> {
        let cert_pem = ca_params().self_signed(&key).map_err(cert_err)?.pem();
        files::write_public(cert_path, cert_pem.as_bytes()).map_err(|e| CryptoError::io(cert_path, e))?;
        Self::from_pem(cert_pem, key, replaced)
    }

    /// Whether this start replaced a CA that had no name constraints: clients that trusted the
    /// old CA (a system trust store, a copied bundle) must trust the new `ca.pem` instead.
    pub fn replaced_unconstrained(&self) -> bool {
        self.inner.replaced_unconstrained
    }

    /// The CA certificate, PEM encoded (what clients must trust).
    pub fn cert_pem(&self) -> &str {
        &self.inner.cert_pem
    }

    /// The CA certificate, DER encoded.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.inner.cert_der
    }

    /// A TLS 1.2/1.3 server config (aws-lc-rs, ALPN `http/1.1` only, no client auth) that
    /// mints a CA-signed leaf certificate for each SNI name on first use and caches it.
    ///
    /// Without SNI (clients connecting by IP) it serves a leaf for `localhost`,
    /// `127.0.0.1`, `::1` and `extra_names` (DNS names or IP literals). Names that are
    /// neither are skipped; use [`Ca::try_server_config`] to have them reported instead.
    pub fn server_config(&self, extra_names: &[String]) -> Arc<ServerConfig> {
        let valid: Vec<String> = extra_names.iter().filter(|n| san_for(n).is_ok()).cloned().collect();
        self.try_server_config(&valid).expect("a server config with valid names and the default provider always builds")
    }

    /// Like [`Ca::server_config`], but fails on an invalid extra name or a TLS setup error.
    pub fn try_server_config(&self, extra_names: &[String]) -> Result<Arc<ServerConfig>, CryptoError> {
        self.config_with(extra_names, None)
    }

    /// For a shared server's direct listener: the CA's leaves for the names it may certify (the
    /// Azure host names, asked by SNI), and `own`, the operator's certificate, for every other
    /// name and for a client that sends none (one that dials the server's address).
    pub fn server_config_beside(&self, own: &crate::ServerIdentity) -> Arc<ServerConfig> {
        self.config_with(&[], Some(Arc::clone(&own.key)))
            .expect("a server config with no extra names and the default provider always builds")
    }

    fn config_with(
        &self,
        extra_names: &[String],
        own: Option<Arc<CertifiedKey>>,
    ) -> Result<Arc<ServerConfig>, CryptoError> {
        let mut default_sans = vec![
            SanType::DnsName("localhost".try_into().map_err(cert_err)?),
            SanType::IpAddress(IpAddr::from([127, 0, 0, 1])),
            SanType::IpAddress(IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1])),
        ];
        for name in extra_names {
            let san = san_for(name)?;
            if !default_sans.contains(&san) {
                default_sans.push(san);
            }
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let resolver = LeafResolver {
            ca: self.clone(),
            provider: Arc::clone(&provider),
            default_sans,
            own,
            cache: Mutex::new(HashMap::new()),
        };
        // Mint the no-SNI leaf now so that configuration errors surface here.
        resolver
            .get(None)
            .ok_or_else(|| CryptoError::Certificate("could not issue the default leaf certificate".into()))?;
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&TLS13, &TLS12])
            .map_err(|e| CryptoError::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(resolver));
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// Issues a fresh leaf for one DNS name or IP address the CA may certify; returns
    /// `(cert_pem, key_pem)`.
    pub fn leaf_pem(&self, name: &str) -> Result<(String, String), CryptoError> {
        let (cert, key) = self.mint_leaf(&[san_for(name)?])?;
        Ok((crate::pem_encode("CERTIFICATE", cert.as_ref()), key.serialize_pem()))
    }

    fn from_pem(cert_pem: String, key: KeyPair, replaced_unconstrained: bool) -> Result<Ca, CryptoError> {
        let cert_der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .map_err(|_| CryptoError::Certificate(format!("{CERT_FILE} holds no certificate")))?;
        let public = key.public_key_raw();
        if !cert_der.windows(public.len()).any(|w| w == public) {
            return Err(CryptoError::Certificate(format!("{CERT_FILE} does not match {KEY_FILE}")));
        }
        let issuer = Issuer::from_ca_cert_der(&cert_der, key).map_err(cert_err)?;
        Ok(Ca { inner: Arc::new(CaInner { cert_pem, cert_der, issuer, replaced_unconstrained }) })
    }

    /// Mints a leaf with exactly `sans`; returns its DER and key.
    fn mint_leaf(&self, sans: &[SanType]) -> Result<(CertificateDer<'static>, KeyPair), CryptoError> {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        let cn = match sans.first() {
            Some(SanType::DnsName(name)) => name.as_str().to_owned(),
            Some(SanType::IpAddress(ip)) => ip.to_string(),
            _ => String::new(),
        };
        if !cn.is_empty() && cn.len() <= 64 {
            dn.push(DnType::CommonName, cn);
        }
        params.distinguished_name = dn;
        params.subject_alt_names = sans.to_vec();
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(random_serial());
        params.not_before = OffsetDateTime::now_utc() - Duration::days(1);
        params.not_after = params.not_before + LEAF_VALIDITY;
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(cert_err)?;
        let cert = params.signed_by(&key, &self.inner.issuer).map_err(cert_err)?;
        Ok((cert.der().clone(), key))
    }
}

impl fmt::Debug for Ca {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ca")
            .field("cert_sha256", &crate::hex(&crate::sha256(&self.inner.cert_der)))
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Resolves a server certificate per SNI name, minting and caching leaves on demand.
struct LeafResolver {
    ca: Ca,
    provider: Arc<CryptoProvider>,
    default_sans: Vec<SanType>,
    /// A shared server's own certificate, for the names the CA may not certify and for no SNI.
    own: Option<Arc<CertifiedKey>>,
    /// Keyed by lowercase SNI name; `""` is the no-SNI leaf.
    cache: Mutex<HashMap<String, CachedLeaf>>,
}

struct CachedLeaf {
    key: Arc<CertifiedKey>,
    renew_after: OffsetDateTime,
}

impl LeafResolver {
    fn get(&self, sni: Option<&str>) -> Option<Arc<CertifiedKey>> {
        if let Some(own) = &self.own
            && !sni.is_some_and(permitted)
        {
            return Some(Arc::clone(own));
        }
        let cache_key = sni.map(str::to_ascii_lowercase).unwrap_or_default();
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let now = OffsetDateTime::now_utc();
        if let Some(hit) = cache.get(&cache_key)
            && now < hit.renew_after
        {
            return Some(Arc::clone(&hit.key));
        }
        let sans = match sni {
            // Another name: no certificate, so the handshake fails (the CA could not certify it
            // for a client that honours name constraints anyway).
            Some(_) => vec![san_for(&cache_key).ok()?],
            None => self.default_sans.clone(),
        };
        let (cert, key) = self.ca.mint_leaf(&sans).ok()?;
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let signing_key = self.provider.key_provider.load_private_key(der).ok()?;
        let certified = Arc::new(CertifiedKey::new(vec![cert, self.ca.cert_der().clone()], signing_key));
        if cache.len() >= MAX_CACHED_LEAVES {
            cache.clear();
        }
        cache.insert(
            cache_key,
            CachedLeaf {
                key: Arc::clone(&certified),
                renew_after: now + LEAF_VALIDITY - Duration::days(1) - LEAF_RENEW_MARGIN,
            },
        );
        Some(certified)
    }
}

impl ResolvesServerCert for LeafResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.get(client_hello.server_name())
    }
}

impl fmt::Debug for LeafResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cached = self.cache.lock().unwrap_or_else(PoisonError::into_inner).len();
        f.debug_struct("LeafResolver").field("ca", &self.ca).field("cached_leaves", &cached).finish_non_exhaustive()
    }
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_COMMON_NAME);
    dn.push(DnType::OrganizationName, CA_ORGANIZATION);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: PERMITTED_DNS
            .iter()
            .map(|n| GeneralSubtree::DnsName((*n).to_string()))
            .chain([
                GeneralSubtree::IpAddress(CidrSubnet::from_v4_prefix([127, 0, 0, 0], 8)),
                GeneralSubtree::IpAddress(CidrSubnet::from_v6_prefix(std::net::Ipv6Addr::LOCALHOST.octets(), 128)),
            ])
            .collect(),
        excluded_subtrees: vec![],
    });
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.serial_number = Some(random_serial());
    params.not_before = OffsetDateTime::now_utc() - Duration::days(1);
    params.not_after = params.not_before + CA_VALIDITY;
    params
}

/// A SAN for an IP literal or a syntactically valid DNS name (a leading `*.` is allowed) that
/// the CA may certify ([`permitted`]).
fn san_for(name: &str) -> Result<SanType, CryptoError> {
    let invalid = || CryptoError::InvalidName(name.to_owned());
    if !permitted(name) {
        return Err(invalid());
    }
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let base = name.strip_prefix("*.").unwrap_or(name);
    match ServerName::try_from(base) {
        Ok(ServerName::DnsName(_)) => {
            Ok(SanType::DnsName(name.to_ascii_lowercase().try_into().map_err(|_| invalid())?))
        }
        _ => Err(invalid()),
    }
}

/// Whether a CA certificate carries exactly [`PERMITTED_DNS`] as its permitted DNS subtrees.
fn has_our_constraints(der: &[u8]) -> bool {
    use x509_parser::extensions::GeneralName;
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else { return false };
    let Ok(Some(nc)) = cert.name_constraints() else { return false };
    let mut dns: Vec<&str> = nc
        .value
        .permitted_subtrees
        .iter()
        .flatten()
        .filter_map(|s| match s.base {
            GeneralName::DNSName(d) => Some(d),
            _ => None,
        })
        .collect();
    let mut ours = PERMITTED_DNS.to_vec();
    dns.sort_unstable();
    ours.sort_unstable();
    dns == ours
}

/// 16 random bytes, positive as a DER INTEGER.
fn random_serial() -> SerialNumber {
    let mut serial = crate::random_bytes(16);
    serial[0] = (serial[0] & 0x7f) | 0x01;
    SerialNumber::from_slice(&serial)
}

fn cert_err(e: rcgen::Error) -> CryptoError {
    CryptoError::Certificate(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn san_for_accepts_dns_and_ip_only() {
        assert!(matches!(san_for("127.0.0.1"), Ok(SanType::IpAddress(_))));
        assert!(matches!(san_for("::1"), Ok(SanType::IpAddress(_))));
        assert!(
            matches!(san_for("MyVault.vault.azure.net"), Ok(SanType::DnsName(n)) if n.as_str() == "myvault.vault.azure.net")
        );
        assert!(matches!(san_for("*.vault.azure.net"), Ok(SanType::DnsName(_))));
        for bad in ["", "has space", "a..b", "*", "http://x", "ü.example"] {
            assert!(matches!(san_for(bad), Err(CryptoError::InvalidName(_))), "{bad}");
        }
    }

    #[test]
    fn serials_are_positive_and_distinct() {
        let a = random_serial().to_bytes();
        assert_eq!(a.len(), 16);
        assert!(a[0] & 0x80 == 0 && a[0] != 0);
        assert_ne!(a, random_serial().to_bytes());
    }

    #[test]
    fn beside_its_own_certificate_a_shared_server_mints_leaves_only_for_the_names_the_ca_may_certify() {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::load_or_create(dir.path()).unwrap();
        let key = KeyPair::generate().unwrap();
        let own_cert =
            CertificateParams::new(vec!["vaultlink.team.example".into()]).unwrap().self_signed(&key).unwrap();
        let (cert_path, key_path) = (dir.path().join("own.pem"), dir.path().join("own-key.pem"));
        std::fs::write(&cert_path, own_cert.pem()).unwrap();
        files::write_private(&key_path, key.serialize_pem().as_bytes()).unwrap();
        let own = crate::ServerIdentity::load(&cert_path, &key_path).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let resolver = LeafResolver {
            ca: ca.clone(),
            provider,
            default_sans: vec![],
            own: Some(Arc::clone(&own.key)),
            cache: Mutex::new(HashMap::new()),
        };
        let served = |sni: Option<&str>| resolver.get(sni).unwrap().cert[0].clone();
        assert_eq!(served(None), *own_cert.der());
        assert_eq!(served(Some("vaultlink.team.example")), *own_cert.der());
        let leaf = served(Some("myvault.vault.azure.net"));
        assert_ne!(leaf, *own_cert.der());
        assert_eq!(resolver.get(Some("myvault.vault.azure.net")).unwrap().cert[1], *ca.cert_der());
    }
}
