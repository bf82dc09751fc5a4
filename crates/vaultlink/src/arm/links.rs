//! Linked templates and parameter files (`templateLink`, `parametersLink`, issue 17): fetched as
//! ARM fetches them, but only below the URL prefixes the operator allows
//! (`serve --allowed-template-link`). A caller's URI is otherwise a way to make vaultlink request
//! whatever this machine can reach (its own listeners, a metadata service, a LAN), so nothing is
//! fetched by default, redirects are not followed, and each answer is bounded in size and time.
//!
//! Any failure is ARM's `InvalidContentLink` ("Unable to download deployment content from ..."),
//! with the URI shown without its query string (often a SAS token).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use url::Url;
use vaultlink_core::{Error, Result};

/// ARM's limit on a template's size (and vaultlink's on a parameter file's).
pub(crate) const MAX_CONTENT: usize = 4 * 1024 * 1024;
/// How long one download may take, connection included (vaultlink's bound).
const TIMEOUT: Duration = Duration::from_secs(10);

/// The prefixes linked content may be fetched below, and the TLS roots for `https`.
#[derive(Default)]
pub(crate) struct Links {
    prefixes: Vec<Url>,
    tls: OnceLock<Arc<rustls::ClientConfig>>,
}

impl Links {
    /// `prefixes` as given to `serve`: absolute `http` or `https` URLs.
    pub(crate) fn new(prefixes: &[String]) -> anyhow::Result<Self> {
        let prefixes = prefixes
            .iter()
            .map(|p| {
                let url = Url::parse(p.trim()).map_err(|e| anyhow::anyhow!("--allowed-template-link '{p}': {e}"))?;
                anyhow::ensure!(
                    matches!(url.scheme(), "http" | "https") && url.host_str().is_some(),
                    "--allowed-template-link '{p}': give an http:// or https:// URL with a host"
                );
                anyhow::ensure!(url.query().is_none(), "--allowed-template-link '{p}': a prefix has no query string");
                Ok(url)
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self { prefixes, tls: OnceLock::new() })
    }

    /// Whether `url` lies below an allowed prefix: the same scheme, host, port and credentials,
    /// and a path that is the prefix's or goes on below it at a `/` (the path as `url` normalizes
    /// it: `..` and `%2e%2e` segments are resolved before the check).
    fn allows(&self, url: &Url) -> bool {
        self.prefixes.iter().any(|p| {
            let (base, path) = (p.path(), url.path());
            p.scheme() == url.scheme()
                && p.host_str() == url.host_str()
                && p.port_or_known_default() == url.port_or_known_default()
                && p.username() == url.username()
                && p.password() == url.password()
                && (path == base
                    || base.ends_with('/') && path.starts_with(base)
                    || path.strip_prefix(base).is_some_and(|rest| rest.starts_with('/')))
        })
    }

    /// The JSON object at `uri` (`template` or parameters file): strict JSON, then JSON5, as
    /// ARM reads templates with comments.
    pub(crate) fn fetch(&self, uri: &str) -> Result<Value> {
        let url = Url::parse(uri).map_err(|_| unable(uri, ""))?;
        if !matches!(url.scheme(), "http" | "https") || !self.allows(&url) {
            return Err(unable(
                uri,
                " vaultlink downloads linked content only below the prefixes given to 'vaultlink serve --allowed-template-link' (docs/behaviour.md).",
            ));
        }
        let body = std::thread::scope(|s| s.spawn(|| self.download(&url)).join())
            .map_err(|_| unable(uri, ""))?
            .map_err(|why| {
                tracing::info!(uri = %shown(uri), %why, "a linked template could not be downloaded");
                unable(uri, "")
            })?;
        let text = std::str::from_utf8(&body).map_err(|_| parse_failed(uri, "the content is not UTF-8"))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let value = serde_json::from_str::<Value>(text)
            .or_else(|strict| json5::from_str::<Value>(text).map_err(|_| strict))
            .map_err(|e| parse_failed(uri, &e.to_string()))?;
        if !value.is_object() {
            return Err(parse_failed(uri, "the content is not a JSON object"));
        }
        Ok(value)
    }

    /// One GET on a runtime of its own (the callers are plain threads), within [`TIMEOUT`].
    fn download(&self, url: &Url) -> std::result::Result<Bytes, String> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        rt.block_on(async { tokio::time::timeout(TIMEOUT, self.get(url)).await.map_err(|_| "timed out".to_string())? })
    }

    async fn get(&self, url: &Url) -> std::result::Result<Bytes, String> {
        let host = url.host_str().ok_or("no host")?.trim_start_matches('[').trim_end_matches(']').to_string();
        let port = url.port_or_known_default().ok_or("no port")?;
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await.map_err(|e| e.to_string())?;
        let authority = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_string(),
        };
        let target = &url[url::Position::BeforePath..url::Position::AfterQuery];
        let req = hyper::Request::get(target)
            .header(hyper::header::HOST, authority)
            .header(hyper::header::USER_AGENT, concat!("vaultlink/", env!("CARGO_PKG_VERSION")))
            .header(hyper::header::ACCEPT, "application/json")
            .body(Empty::<Bytes>::new())
            .map_err(|e| e.to_string())?;
        if url.scheme() == "https" {
            let name = rustls::pki_types::ServerName::try_from(host).map_err(|e| e.to_string())?;
            let tls =
                tokio_rustls::TlsConnector::from(self.tls()).connect(name, tcp).await.map_err(|e| e.to_string())?;
            send(TokioIo::new(tls), req).await
        } else {
            send(TokioIo::new(tcp), req).await
        }
    }

    /// TLS with the system's trust roots (made on first use).
    fn tls(&self) -> Arc<rustls::ClientConfig> {
        self.tls
            .get_or_init(|| {
                let mut roots = rustls::RootCertStore::empty();
                let found = rustls_native_certs::load_native_certs();
                let (added, _) = roots.add_parsable_certificates(found.certs);
                tracing::debug!(added, "system trust roots for linked templates");
                let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
                let config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .expect("the default provider has the default protocol versions")
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                Arc::new(config)
            })
            .clone()
    }
}

/// Sends `req` on one HTTP/1.1 connection; the body of a 2xx answer, at most [`MAX_CONTENT`].
async fn send<IO>(io: IO, req: hyper::Request<Empty<Bytes>>) -> std::result::Result<Bytes, String>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("answered {}", resp.status()));
    }
    let body = Limited::new(resp.into_body(), MAX_CONTENT).collect().await.map_err(|e| e.to_string())?;
    Ok(body.to_bytes())
}

/// `uri` without its query string, for messages and the log.
pub(crate) fn shown(uri: &str) -> &str {
    uri.split_once('?').map_or(uri, |(u, _)| u)
}

fn unable(uri: &str, why: &str) -> Error {
    Error::bad_request(
        "InvalidContentLink",
        format!(
            "Unable to download deployment content from '{}'. The tracking Id is '{}'. Please see https://aka.ms/arm-deploy for usage details.{why}",
            shown(uri),
            vaultlink_core::engine::guid()
        ),
    )
}

fn parse_failed(uri: &str, why: &str) -> Error {
    Error::bad_request(
        "InvalidContentLink",
        format!("The content downloaded from '{}' could not be read as JSON: {why}.", shown(uri)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(prefixes: &[&str]) -> Links {
        Links::new(&prefixes.iter().map(|p| p.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn allowed(l: &Links, uri: &str) -> bool {
        l.allows(&Url::parse(uri).unwrap())
    }

    #[test]
    fn only_what_lies_below_an_allowed_prefix_is_fetched() {
        let l = links(&["http://127.0.0.1:8000/templates/", "https://artifacts.example.com/arm"]);
        assert!(allowed(&l, "http://127.0.0.1:8000/templates/main.json"));
        assert!(allowed(&l, "http://127.0.0.1:8000/templates/nested/a.json?sv=1&sig=x"));
        assert!(allowed(&l, "https://artifacts.example.com/arm/x.json"));
        assert!(allowed(&l, "https://artifacts.example.com:443/arm"));
        assert!(!allowed(&l, "https://artifacts.example.com/armory/x.json"), "a path prefix ends at a '/'");
        assert!(!allowed(&l, "http://127.0.0.1:8000/templates/../secret.json"), "'..' is resolved first");
        assert!(!allowed(&l, "http://127.0.0.1:8000/templates/%2e%2e/secret.json"));
        assert!(!allowed(&l, "http://127.0.0.1:8001/templates/main.json"), "another port");
        assert!(!allowed(&l, "https://127.0.0.1:8000/templates/main.json"), "another scheme");
        assert!(!allowed(&l, "http://localhost:8000/templates/main.json"), "another host name");
        assert!(!allowed(&l, "http://user@127.0.0.1:8000/templates/main.json"), "credentials not in the prefix");
        assert!(!allowed(&Links::default(), "http://127.0.0.1:8000/templates/main.json"), "nothing by default");
        for bad in ["file:///etc/passwd", "ftp://h/x", "http://h/x?sig=1", "not a url"] {
            assert!(Links::new(&[bad.to_string()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn refusals_are_arms_invalid_content_link_without_the_query_string() {
        let l = links(&["http://127.0.0.1:9/allowed/"]);
        for uri in ["http://169.254.169.254/metadata?sig=secret", "file:///etc/passwd", "gopher://x"] {
            let e = l.fetch(uri).unwrap_err();
            assert_eq!(e.code, "InvalidContentLink", "{uri}");
            assert!(e.message.starts_with("Unable to download deployment content from '"), "{}", e.message);
            assert!(!e.message.contains("secret"), "{}", e.message);
        }
        assert!(l.fetch("http://169.254.169.254/x").unwrap_err().message.contains("--allowed-template-link"));
        // Allowed, but nothing listens on the discard port: the plain refusal.
        let e = l.fetch("http://127.0.0.1:9/allowed/t.json").unwrap_err();
        assert_eq!(e.code, "InvalidContentLink");
        assert!(!e.message.contains("--allowed-template-link"), "{}", e.message);
    }

    /// A one-shot HTTP server on a port-0 listener answering `response` (raw bytes).
    fn serve_once(response: Vec<u8>) -> String {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(&response);
            }
        });
        format!("http://127.0.0.1:{port}/t/")
    }

    #[test]
    fn content_is_read_as_arm_reads_it_and_bounded() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 33\r\nConnection: close\r\n\r\n{// note\n \"contentVersion\": \"1\"}\n";
        let base = serve_once(ok.to_vec());
        let got = links(&[&base]).fetch(&format!("{base}main.json?sig=1")).unwrap();
        assert_eq!(got, serde_json::json!({"contentVersion": "1"}));

        let base = serve_once(
            b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\n\r\n".to_vec(),
        );
        assert_eq!(
            links(&[&base]).fetch(&format!("{base}r.json")).unwrap_err().code,
            "InvalidContentLink",
            "no redirects"
        );

        let big = MAX_CONTENT + 1;
        let mut huge = format!("HTTP/1.1 200 OK\r\nContent-Length: {big}\r\n\r\n").into_bytes();
        huge.extend(std::iter::repeat_n(b' ', big));
        let base = serve_once(huge);
        assert_eq!(links(&[&base]).fetch(&format!("{base}big.json")).unwrap_err().code, "InvalidContentLink");

        let base = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]".to_vec());
        let e = links(&[&base]).fetch(&format!("{base}a.json")).unwrap_err();
        assert!(e.message.contains("not a JSON object"), "{}", e.message);
    }
}
