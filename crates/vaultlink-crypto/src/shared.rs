//! What a shared server (`serve --shared`) holds beside the local CA: its own certificate, which
//! its listeners present under the server's own names (the local CA may certify only the Azure
//! host names and loopback), and the admin key that authenticates the admin API.

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::sign::CertifiedKey;
use rustls::version::{TLS12, TLS13};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::{CryptoError, files};

/// The operator's certificate chain and key for the server's own names (`--tls-cert`,
/// `--tls-key`), issued by whatever CA the team's machines trust.
#[derive(Clone)]
pub struct ServerIdentity {
    pub(crate) key: Arc<CertifiedKey>,
    names: Vec<String>,
}

impl ServerIdentity {
    /// Loads a PEM certificate chain (the server's certificate first) and its private key (a
    /// file private to its owner, as every key file here).
    pub fn load(cert: &Path, key: &Path) -> Result<Self, CryptoError> {
        let invalid =
            |what: &Path, reason: String| CryptoError::InvalidKey { what: what.display().to_string(), reason };
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(files::read_text(cert)?.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| invalid(cert, format!("not a PEM certificate chain: {e}")))?;
        let Some(first) = chain.first() else { return Err(invalid(cert, "holds no certificate".into())) };
        let (_, parsed) = x509_parser::parse_x509_certificate(first)
            .map_err(|e| invalid(cert, format!("the first certificate does not parse: {e}")))?;
        let names = subject_names(&parsed);
        if names.is_empty() {
            return Err(invalid(cert, "the certificate names no DNS name or IP address (subjectAltName)".into()));
        }
        let der = PrivateKeyDer::from_pem_slice(&files::read_private(key)?)
            .map_err(|e| invalid(key, format!("not a PEM private key: {e}")))?;
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let signing = provider
            .key_provider
            .load_private_key(der)
            .map_err(|e| invalid(key, format!("unusable private key: {e}")))?;
        let certified = CertifiedKey::new(chain, signing);
        certified.keys_match().map_err(|e| invalid(key, format!("does not match {}: {e}", cert.display())))?;
        Ok(Self { key: Arc::new(certified), names })
    }

    /// The DNS names and IP addresses the certificate is for (lower case), which the listeners
    /// then answer to.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// A TLS configuration that presents this certificate whatever the client asks for: for
    /// the listeners clients reach only by the server's own name (the proxy, the identity
    /// endpoint).
    pub fn server_config(&self) -> Arc<ServerConfig> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&TLS13, &TLS12])
            .expect("the default provider supports TLS 1.2 and 1.3")
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(Arc::clone(&self.key))));
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

impl std::fmt::Debug for ServerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerIdentity").field("names", &self.names).field("key", &"<redacted>").finish()
    }
}

fn subject_names(cert: &x509_parser::certificate::X509Certificate<'_>) -> Vec<String> {
    use x509_parser::extensions::GeneralName;
    let Ok(Some(san)) = cert.subject_alternative_name() else { return vec![] };
    san.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(d) => Some(d.to_ascii_lowercase()),
            GeneralName::IPAddress(b) => match b.len() {
                4 => Some(std::net::IpAddr::from(<[u8; 4]>::try_from(*b).ok()?).to_string()),
                16 => Some(std::net::IpAddr::from(<[u8; 16]>::try_from(*b).ok()?).to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The shared server's admin key: a random 256-bit value in a file private to its owner
/// (`admin.key` in the data directory unless `--admin-key-file` names another, so replicas can
/// be given one), presented as a bearer token to the admin API. It also derives each tenant's
/// managed-identity header (an HMAC of the tenant id), so no second secret is stored.
pub struct AdminKey {
    key: zeroize::Zeroizing<String>,
}

impl AdminKey {
    /// Reads the key from `path`, or makes one there (mode 0600) when the file does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, CryptoError> {
        if !path.exists() {
            let made = crate::b64url(&crate::random_bytes(32));
            files::write_private(path, format!("{made}\n").as_bytes()).map_err(|e| CryptoError::io(path, e))?;
        }
        Self::load(path)
    }

    /// Reads the key from `path` (its first line; at least 32 characters).
    pub fn load(path: &Path) -> Result<Self, CryptoError> {
        let bytes = zeroize::Zeroizing::new(files::read_private(path)?);
        let text = std::str::from_utf8(&bytes).unwrap_or_default();
        let key = text.lines().next().unwrap_or_default().trim();
        if key.len() < 32 {
            return Err(CryptoError::InvalidKey {
                what: path.display().to_string(),
                reason: "an admin key is one line of at least 32 characters".into(),
            });
        }
        Ok(Self { key: zeroize::Zeroizing::new(key.to_string()) })
    }

    /// The key itself, for a client to present (`Authorization: Bearer ...`).
    pub fn reveal(&self) -> &str {
        &self.key
    }

    /// Whether `presented` is the key (in constant time).
    pub fn verify(&self, presented: &str) -> bool {
        crate::constant_time_eq(
            &crate::hmac_sha256(b"vaultlink admin key", presented.as_bytes()),
            &crate::hmac_sha256(b"vaultlink admin key", self.key.as_bytes()),
        )
    }

    /// The managed-identity header (`X-IDENTITY-HEADER`, App Service's `IDENTITY_HEADER`) that
    /// lets a caller take tokens for the managed identities of `tenant_id` on a shared server.
    pub fn identity_header(&self, tenant_id: &str) -> String {
        let input = format!("vaultlink identity header\0{}", tenant_id.to_ascii_lowercase());
        crate::b64url(&crate::hmac_sha256(self.key.as_bytes(), input.as_bytes()))
    }
}

impl std::fmt::Debug for AdminKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_admin_key_is_made_private_verified_and_derives_one_header_per_tenant() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin.key");
        let made = AdminKey::load_or_create(&path).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let again = AdminKey::load_or_create(&path).unwrap();
        assert!(again.verify(made.reveal()));
        assert!(!again.verify(&format!("{}x", made.reveal())));
        assert!(!again.verify(""));
        let a = made.identity_header("11111111-1111-1111-1111-111111111111");
        assert_eq!(a, again.identity_header("11111111-1111-1111-1111-111111111111"));
        assert_ne!(a, made.identity_header("22222222-2222-2222-2222-222222222222"));
        std::fs::write(&path, "short\n").unwrap();
        assert!(AdminKey::load(&path).is_err());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(AdminKey::load(&path), Err(CryptoError::InsecurePermissions { .. })));
    }

    #[test]
    fn a_server_identity_names_what_its_certificate_names_and_refuses_a_key_of_another() {
        let dir = tempfile::tempdir().unwrap();
        let mint = |names: Vec<String>| {
            let key = rcgen::KeyPair::generate().unwrap();
            let cert = rcgen::CertificateParams::new(names).unwrap().self_signed(&key).unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let (cert, key) = mint(vec!["Vaultlink.Team.Example".into(), "10.1.2.3".into()]);
        let (_, other_key) = mint(vec!["other.example".into()]);
        let (cert_path, key_path, other_path) =
            (dir.path().join("c.pem"), dir.path().join("k.pem"), dir.path().join("o.pem"));
        std::fs::write(&cert_path, cert).unwrap();
        files::write_private(&key_path, key.as_bytes()).unwrap();
        files::write_private(&other_path, other_key.as_bytes()).unwrap();
        let id = ServerIdentity::load(&cert_path, &key_path).unwrap();
        assert_eq!(id.names(), ["vaultlink.team.example", "10.1.2.3"]);
        let err = ServerIdentity::load(&cert_path, &other_path).unwrap_err();
        assert!(err.to_string().contains("does not match"), "{err}");
        assert!(ServerIdentity::load(&key_path, &key_path).is_err());
    }
}
