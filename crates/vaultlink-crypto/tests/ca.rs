//! Integration tests for the local CA: in-memory TLS handshakes against the minted leaves.

use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, ProtocolVersion, RootCertStore, ServerConnection};
use vaultlink_crypto::{Ca, CryptoError};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

fn client_config(ca: &Ca, alpn: &[&[u8]]) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(ca.cert_der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(cfg)
}

/// Pumps TLS records between the two ends until both finish the handshake.
fn handshake(client: &mut ClientConnection, server: &mut ServerConnection) -> Result<(), rustls::Error> {
    for _ in 0..20 {
        if !client.is_handshaking() && !server.is_handshaking() {
            return Ok(());
        }
        let mut buf = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut buf).unwrap();
        }
        if !buf.is_empty() {
            server.read_tls(&mut buf.as_slice()).unwrap();
            server.process_new_packets()?;
        }
        let mut buf = Vec::new();
        while server.wants_write() {
            server.write_tls(&mut buf).unwrap();
        }
        if !buf.is_empty() {
            client.read_tls(&mut buf.as_slice()).unwrap();
            client.process_new_packets()?;
        }
    }
    panic!("handshake did not finish");
}

fn connect(ca: &Ca, extra: &[String], name: ServerName<'static>) -> (ClientConnection, ServerConnection) {
    let mut client = ClientConnection::new(client_config(ca, &[b"http/1.1"]), name).unwrap();
    let mut server = ServerConnection::new(ca.server_config(extra)).unwrap();
    handshake(&mut client, &mut server).expect("handshake");
    (client, server)
}

fn leaf_sans(der: &CertificateDer<'_>) -> (Vec<String>, Vec<IpAddr>) {
    let (_, cert) = X509Certificate::from_der(der).unwrap();
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    let san = cert.subject_alternative_name().unwrap().unwrap();
    for name in &san.value.general_names {
        match name {
            GeneralName::DNSName(d) => dns.push((*d).to_string()),
            GeneralName::IPAddress(b) => ips.push(match b.len() {
                4 => IpAddr::from(<[u8; 4]>::try_from(*b).unwrap()),
                _ => IpAddr::from(<[u8; 16]>::try_from(*b).unwrap()),
            }),
            other => panic!("unexpected SAN {other:?}"),
        }
    }
    (dns, ips)
}

#[test]
fn handshake_per_sni_name() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::load_or_create(dir.path()).unwrap();
    for name in ["management.azure.com", "myvault.vault.azure.net"] {
        let (client, server) = connect(&ca, &[], ServerName::try_from(name).unwrap());
        let version = client.protocol_version().unwrap();
        assert!(version == ProtocolVersion::TLSv1_3 || version == ProtocolVersion::TLSv1_2, "{version:?}");
        assert_eq!(client.alpn_protocol(), Some(&b"http/1.1"[..]));
        assert_eq!(server.server_name(), Some(name));
        let chain = client.peer_certificates().unwrap();
        assert_eq!(chain.len(), 2);
        assert_eq!(chain[1], *ca.cert_der());
        let (dns, ips) = leaf_sans(&chain[0]);
        assert_eq!(dns, vec![name.to_string()]);
        assert!(ips.is_empty());
    }
}

#[test]
fn tls12_only_client_negotiates_tls12() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::load_or_create(dir.path()).unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(ca.cert_der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let cfg = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("myvault.vault.azure.net").unwrap();
    let mut client = ClientConnection::new(Arc::new(cfg), name).unwrap();
    let mut server = ServerConnection::new(ca.server_config(&[])).unwrap();
    handshake(&mut client, &mut server).unwrap();
    assert_eq!(client.protocol_version(), Some(ProtocolVersion::TLSv1_2));
}

#[test]
fn leaf_properties() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::load_or_create(dir.path()).unwrap();
    let (cert_pem, key_pem) = ca.leaf_pem("myvault.vault.azure.net").unwrap();
    assert!(key_pem.contains("PRIVATE KEY"));
    let der = CertificateDer::from_pem_slice(cert_pem.as_bytes()).unwrap();
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    let eku = cert.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.server_auth && !eku.client_auth);
    assert!(!cert.is_ca());
    let validity = cert.validity().time_to_expiration().unwrap();
    assert!(validity.whole_days() < 398 - 1, "{validity}");
    let lifetime = cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp();
    assert_eq!(lifetime, 397 * 86_400);
    assert!(cert.public_key().algorithm.algorithm.to_id_string() == "1.2.840.10045.2.1");

    let (_, ca_cert) = X509Certificate::from_der(ca.cert_der()).unwrap();
    assert!(ca_cert.is_ca());
    assert_eq!(cert.issuer(), ca_cert.subject());
    let subject = ca_cert.subject().to_string();
    assert!(subject.contains("CN=vaultlink local CA") && subject.contains("O=vaultlink"), "{subject}");
    let ku = ca_cert.key_usage().unwrap().unwrap().value;
    assert!(ku.key_cert_sign() && ku.crl_sign());
    let ca_life = ca_cert.validity().not_after.timestamp() - ca_cert.validity().not_before.timestamp();
    assert_eq!(ca_life, 3650 * 86_400);

    assert!(matches!(ca.leaf_pem("not a name"), Err(CryptoError::InvalidName(_))));
}

#[test]
fn no_sni_gets_localhost_and_ip_leaf() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::load_or_create(dir.path()).unwrap();
    let extra = vec!["vl.localhost".to_string(), "127.0.0.2".to_string(), "bad name".to_string()];
    // rustls clients send no SNI when connecting to an IP address.
    let ip = ServerName::IpAddress(IpAddr::from([127, 0, 0, 1]).into());
    let (client, server) = connect(&ca, &extra, ip);
    assert_eq!(server.server_name(), None);
    let (dns, ips) = leaf_sans(&client.peer_certificates().unwrap()[0]);
    assert_eq!(dns, vec!["localhost".to_string(), "vl.localhost".to_string()]);
    let expected: Vec<IpAddr> = ["127.0.0.1", "::1", "127.0.0.2"].iter().map(|s| s.parse().unwrap()).collect();
    assert_eq!(ips, expected);

    // The same leaf also verifies for the extra IP.
    let ip = ServerName::IpAddress(IpAddr::from([127, 0, 0, 2]).into());
    connect(&ca, &extra, ip);

    assert!(matches!(ca.try_server_config(&extra), Err(CryptoError::InvalidName(n)) if n == "bad name"));
    // Names the CA may not certify are refused like malformed ones.
    for outside in ["vaultlink.internal", "10.1.2.3"] {
        assert!(
            matches!(ca.try_server_config(&[outside.to_string()]), Err(CryptoError::InvalidName(n)) if n == outside)
        );
    }
}

#[test]
fn leaves_are_cached_per_name() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::load_or_create(dir.path()).unwrap();
    let config = ca.server_config(&[]);
    let mut leaves = Vec::new();
    for name in ["a.vault.azure.net", "A.Vault.Azure.Net", "b.vault.azure.net"] {
        let server_name = ServerName::try_from(name.to_string()).unwrap();
        let mut client = ClientConnection::new(client_config(&ca, &[]), server_name).unwrap();
        let mut server = ServerConnection::new(Arc::clone(&config)).unwrap();
        handshake(&mut client, &mut server).unwrap();
        assert_eq!(client.alpn_protocol(), None);
        leaves.push(client.peer_certificates().unwrap()[0].clone());
    }
    assert_eq!(leaves[0], leaves[1]);
    assert_ne!(leaves[0], leaves[2]);
}

#[test]
fn untrusted_or_h2_only_client_fails() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::load_or_create(dir.path()).unwrap();
    let other_dir = tempfile::tempdir().unwrap();
    let other = Ca::load_or_create(other_dir.path()).unwrap();
    let name = ServerName::try_from("myvault.vault.azure.net").unwrap();

    let mut client = ClientConnection::new(client_config(&other, &[]), name.clone()).unwrap();
    let mut server = ServerConnection::new(ca.server_config(&[])).unwrap();
    assert!(handshake(&mut client, &mut server).is_err());

    let mut client = ClientConnection::new(client_config(&ca, &[b"h2"]), name).unwrap();
    let mut server = ServerConnection::new(ca.server_config(&[])).unwrap();
    assert!(handshake(&mut client, &mut server).is_err());
}

#[test]
fn reload_keeps_ca_and_key_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::load_or_create(dir.path()).unwrap();
    let again = Ca::load_or_create(dir.path()).unwrap();
    assert_eq!(ca.cert_pem(), again.cert_pem());
    assert_eq!(ca.cert_der(), again.cert_der());
    // A leaf minted by the reloaded CA is trusted by a client of the original.
    let name = ServerName::try_from("management.azure.com").unwrap();
    let mut client = ClientConnection::new(client_config(&ca, &[]), name).unwrap();
    let mut server = ServerConnection::new(again.server_config(&[])).unwrap();
    handshake(&mut client, &mut server).unwrap();

    let key_mode = std::fs::metadata(dir.path().join("ca-key.pem")).unwrap().permissions().mode();
    assert_eq!(key_mode & 0o777, 0o600);
    let cert_mode = std::fs::metadata(dir.path().join("ca.pem")).unwrap().permissions().mode();
    assert_eq!(cert_mode & 0o777, 0o644);
    assert_eq!(std::fs::read_to_string(dir.path().join("ca.pem")).unwrap(), ca.cert_pem());

    let dbg = format!("{ca:?}");
    assert!(dbg.contains("redacted") && !dbg.contains("PRIVATE"));
}

#[test]
fn refuses_open_key_and_missing_key() {
    let dir = tempfile::tempdir().unwrap();
    Ca::load_or_create(dir.path()).unwrap();
    let key = dir.path().join("ca-key.pem");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = Ca::load_or_create(dir.path()).unwrap_err();
    assert!(matches!(err, CryptoError::InsecurePermissions { .. }), "{err}");
    assert!(err.to_string().contains("ca-key.pem"), "{err}");

    std::fs::remove_file(&key).unwrap();
    let err = Ca::load_or_create(dir.path()).unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
}

#[test]
fn missing_cert_is_reissued_for_existing_key_and_mismatch_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::load_or_create(dir.path()).unwrap();
    std::fs::remove_file(dir.path().join("ca.pem")).unwrap();
    let reissued = Ca::load_or_create(dir.path()).unwrap();
    assert_ne!(ca.cert_pem(), reissued.cert_pem());

    let other = tempfile::tempdir().unwrap();
    let other_ca = Ca::load_or_create(other.path()).unwrap();
    std::fs::write(dir.path().join("ca.pem"), other_ca.cert_pem()).unwrap();
    let err = Ca::load_or_create(dir.path()).unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");
}

#[test]
fn the_ca_is_name_constrained_and_mints_nothing_outside_its_names() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::load_or_create(dir.path()).unwrap();
    assert!(!ca.replaced_unconstrained());
    let (_, cert) = X509Certificate::from_der(ca.cert_der()).unwrap();
    let nc = cert.name_constraints().unwrap().expect("the CA carries name constraints");
    assert!(nc.critical, "RFC 5280: name constraints MUST be critical");
    let mut dns: Vec<String> = nc
        .value
        .permitted_subtrees
        .iter()
        .flatten()
        .filter_map(|s| match s.base {
            GeneralName::DNSName(d) => Some(d.to_string()),
            _ => None,
        })
        .collect();
    dns.sort();
    let mut ours: Vec<String> = vaultlink_crypto::CA_PERMITTED_DNS.iter().map(|s| s.to_string()).collect();
    ours.sort();
    assert_eq!(dns, ours);
    let ips =
        nc.value.permitted_subtrees.iter().flatten().filter(|s| matches!(s.base, GeneralName::IPAddress(_))).count();
    assert_eq!(ips, 2, "127.0.0.0/8 and ::1/128");
    assert!(nc.value.excluded_subtrees.is_none());
    // Any other SNI gets no certificate: the handshake fails.
    for other in ["www.google.com", "evilvault.azure.net", "vault.azure.net.evil.example"] {
        let mut client =
            ClientConnection::new(client_config(&ca, &[b"http/1.1"]), ServerName::try_from(other).unwrap().to_owned())
                .unwrap();
        let mut server = ServerConnection::new(ca.server_config(&[])).unwrap();
        assert!(handshake(&mut client, &mut server).is_err(), "{other}");
    }
    assert!(matches!(ca.leaf_pem("www.google.com"), Err(CryptoError::InvalidName(_))));
}

#[test]
fn an_unconstrained_ca_from_an_older_vaultlink_is_replaced_key_and_all() {
    let dir = tempfile::tempdir().unwrap();
    // What an older vaultlink wrote: a CA without name constraints.
    let old_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    let old_cert = params.self_signed(&old_key).unwrap().pem();
    vaultlink_crypto::files::write_private(&dir.path().join("ca-key.pem"), old_key.serialize_pem().as_bytes()).unwrap();
    vaultlink_crypto::files::write_public(&dir.path().join("ca.pem"), old_cert.as_bytes()).unwrap();
    let ca = Ca::load_or_create(dir.path()).unwrap();
    assert!(ca.replaced_unconstrained());
    assert_ne!(ca.cert_pem(), old_cert);
    let key_now = std::fs::read_to_string(dir.path().join("ca-key.pem")).unwrap();
    assert_ne!(key_now, old_key.serialize_pem(), "a new key: the old certificate can verify nothing new");
    let (_, cert) = X509Certificate::from_der(ca.cert_der()).unwrap();
    assert!(cert.name_constraints().unwrap().is_some());
    // The next start keeps it.
    let again = Ca::load_or_create(dir.path()).unwrap();
    assert!(!again.replaced_unconstrained());
    assert_eq!(again.cert_pem(), ca.cert_pem());
}
