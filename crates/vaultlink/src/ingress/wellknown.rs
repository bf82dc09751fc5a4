//! The identity listener's two paths for containers and test harnesses, which need no token:
//! `GET /vaultlink/ca.pem`, the CA certificate clients must trust (what `DATA_DIR/ca.pem` holds),
//! so that a client container fetches it in one line, and `GET /vaultlink/health`, 200 with a
//! small JSON body once vaultlink serves. Also the client side, `vaultlink health`, which a
//! container's HEALTHCHECK runs (a `FROM scratch` image has no curl).
//!
//! Both answer whatever the request's Host says (the identity endpoint's other paths answer only
//! to `hosts::local_host_allowed` names): the CA certificate is no secret and health says nothing
//! about the state, so a page that rebinds its name to this machine learns nothing from them, and
//! a client container can name the server by its compose or network alias without
//! `--allowed-host`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Response, StatusCode};

use super::http::{App, Req, Resp, json};

/// The CA certificate in PEM.
pub(crate) const CA_PATH: &str = "/vaultlink/ca.pem";
/// Whether vaultlink serves.
pub(crate) const HEALTH_PATH: &str = "/vaultlink/health";

/// How long `vaultlink health` waits for the connection and for the answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// The answer for one of the two paths, or None for any other path (the identity endpoint's).
/// Health waits for the token key as a token request does (on a fresh data directory it may
/// still be being generated, for at most a moment after `vaultlink ready`), so a 200 means
/// tokens can be issued.
pub(crate) fn handle(app: &App, req: &Req) -> Option<Resp> {
    let ready = || app.signer.wait().is_ok();
    answer(&req.method, &req.path, &app.ca_pem, req.path == HEALTH_PATH && ready())
}

/// The two paths' answers: the CA certificate, and health (503 when the token key could not be
/// made; the server then stops).
fn answer(method: &Method, path: &str, ca_pem: &str, ready: bool) -> Option<Resp> {
    if path != CA_PATH && path != HEALTH_PATH {
        return None;
    }
    if method != Method::GET && method != Method::HEAD {
        let mut r = json(
            StatusCode::METHOD_NOT_ALLOWED,
            &serde_json::json!({"error": "method_not_allowed", "error_description": format!("{path} answers GET only.")}),
        );
        r.headers_mut().insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return Some(r);
    }
    let mut r = if path == CA_PATH {
        let mut r = Response::new(Full::new(Bytes::from(ca_pem.to_string())));
        r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/x-pem-file"));
        r
    } else if ready {
        json(StatusCode::OK, &serde_json::json!({"status": "ready", "version": env!("CARGO_PKG_VERSION")}))
    } else {
        json(
            StatusCode::SERVICE_UNAVAILABLE,
            &serde_json::json!({"status": "starting", "version": env!("CARGO_PKG_VERSION")}),
        )
    };
    r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Some(r)
}

/// `vaultlink health`: probes the identity listener `endpoints.json` in `dir` names, prints the
/// answer or the reason on one line, and returns the exit status (0 ready, 1 otherwise).
pub(crate) fn health(dir: &std::path::Path) -> i32 {
    let result = match crate::serve::Endpoints::read(dir) {
        Some(endpoints) => probe(&endpoints.identity),
        None => Err(anyhow::anyhow!("no vaultlink serve has started with data directory {}", dir.display())),
    };
    match result {
        Ok(line) => {
            println!("{line}");
            0
        }
        Err(e) => {
            eprintln!("vaultlink health: {e}");
            1
        }
    }
}

/// Asks the identity listener at `identity` (as `endpoints.json` records it;
/// an unspecified address, a server listening on every interface, is asked on loopback) for
/// `/vaultlink/health`. Ok when it answers 200; the reason otherwise.
pub(crate) fn probe(identity: &str) -> anyhow::Result<String> {
    let tls = identity.starts_with("https://");
    let scheme = if tls { "https" } else { "http" };
    let authority = identity.trim_start_matches("http://").trim_start_matches("https://").trim_end_matches('/');
    let mut addr: SocketAddr =
        authority.parse().map_err(|_| anyhow::anyhow!("the identity endpoint {identity} is not an address"))?;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let mut tcp = TcpStream::connect_timeout(&addr, PROBE_TIMEOUT)
        .map_err(|e| anyhow::anyhow!("vaultlink does not answer at {scheme}://{addr}: {e}"))?;
    tcp.set_read_timeout(Some(PROBE_TIMEOUT))?;
    tcp.set_write_timeout(Some(PROBE_TIMEOUT))?;
    let request = format!("GET {HEALTH_PATH} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let mut answer = Vec::new();
    let read = if tls {
        let mut session = rustls::ClientConnection::new(any_certificate(), addr.ip().into())?;
        let mut stream = rustls::Stream::new(&mut session, &mut tcp);
        stream.write_all(request.as_bytes())?;
        stream.take(64 * 1024).read_to_end(&mut answer)
    } else {
        tcp.write_all(request.as_bytes())?;
        tcp.take(64 * 1024).read_to_end(&mut answer)
    };
    // A TLS peer that closes without close_notify still sent its whole answer.
    if let Err(e) = read
        && answer.is_empty()
    {
        anyhow::bail!("reading the answer of {scheme}://{addr}: {e}");
    }
    let answer = String::from_utf8_lossy(&answer);
    let status = answer.split(' ').nth(1).unwrap_or("");
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b).trim();
    if status == "200" {
        Ok(format!("{scheme}://{addr}{HEALTH_PATH}: {body}"))
    } else {
        anyhow::bail!(
            "{scheme}://{addr}{HEALTH_PATH} answered {}: {body}",
            if status.is_empty() { "nothing" } else { status }
        )
    }
}

/// TLS for the health probe of a shared server's identity listener on this machine: whatever
/// certificate it shows is taken (its names are the server's, not the loopback address dialled,
/// and its CA is the operator's); the probe sends nothing secret and reads only a status.
fn any_certificate() -> std::sync::Arc<rustls::ClientConfig> {
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    #[derive(Debug)]
    struct Any(std::sync::Arc<rustls::crypto::CryptoProvider>);
    impl ServerCertVerifier for Any {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &rustls::DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
        }
        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &rustls::DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("the default provider has the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(std::sync::Arc::new(Any(provider)))
        .with_no_client_auth();
    std::sync::Arc::new(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn body(r: Resp) -> String {
        let mut collect = std::pin::pin!(r.into_body().collect());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match collect.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(Ok(b)) => String::from_utf8(b.to_bytes().to_vec()).unwrap(),
            _ => unreachable!("a Full body is ready at once"),
        }
    }

    const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    #[test]
    fn the_ca_path_serves_the_pem_as_is() {
        let r = answer(&Method::GET, CA_PATH, PEM, true).unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[CONTENT_TYPE], "application/x-pem-file");
        assert_eq!(body(r), PEM);
    }

    #[test]
    fn health_is_ready_only_with_a_token_key() {
        let r = answer(&Method::GET, HEALTH_PATH, PEM, true).unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let v: serde_json::Value = serde_json::from_str(&body(r)).unwrap();
        assert_eq!(v["status"], "ready");
        let r = answer(&Method::GET, HEALTH_PATH, PEM, false).unwrap();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn other_paths_are_left_to_the_identity_endpoint_and_writes_are_refused() {
        assert!(answer(&Method::GET, "/metadata/identity/oauth2/token", PEM, true).is_none());
        assert!(answer(&Method::GET, "/vaultlink/ca.pem/x", PEM, true).is_none());
        let r = answer(&Method::POST, CA_PATH, PEM, true).unwrap();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers()[ALLOW], "GET, HEAD");
    }

    #[test]
    fn the_probe_reads_the_status_of_a_server_on_every_interface_from_loopback() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            for status in ["200 OK", "503 Service Unavailable"] {
                let (mut tcp, _) = listener.accept().unwrap();
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && tcp.read(&mut byte).unwrap() == 1 {
                    head.push(byte[0]);
                }
                assert!(String::from_utf8_lossy(&head).starts_with("GET /vaultlink/health HTTP/1.1\r\n"));
                write!(tcp, "HTTP/1.1 {status}\r\nContent-Length: 18\r\n\r\n{{\"status\":\"ready\"}}").unwrap();
            }
        });
        let ok = probe(&format!("http://0.0.0.0:{port}")).unwrap();
        assert!(ok.ends_with(r#"{"status":"ready"}"#), "{ok}");
        let e = probe(&format!("http://0.0.0.0:{port}/")).unwrap_err().to_string();
        assert!(e.contains("answered 503"), "{e}");
        server.join().unwrap();
    }

    #[test]
    fn the_probe_reports_a_server_that_does_not_answer() {
        // A port nothing listens on: bound, then closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let e = probe(&format!("http://0.0.0.0:{port}")).unwrap_err().to_string();
        assert!(e.contains(&format!("127.0.0.1:{port}")), "{e}");
        assert!(probe("http://not-an-address").is_err());
    }
}
