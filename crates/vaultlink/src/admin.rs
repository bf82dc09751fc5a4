//! The admin API of a shared server (`serve --shared`, issue 21 item 4): what the owner-only
//! control socket does for the machine's owner (`vaultlink principal/tenant/subscription add`,
//! `quota`, `seed`, `reset`), over HTTPS on the direct listener for an operator elsewhere,
//! authenticated by the admin key (`Authorization: Bearer KEY`). Served nowhere else: without
//! `--shared` the paths answer 404.
//!
//! Routes (JSON in, JSON out; errors `{"error":{"code","message"}}`):
//! - `POST /vaultlink/admin/directory`: a [`DirectoryOp`]; a tenant's answer carries its
//!   managed-identity header.
//! - `POST /vaultlink/admin/seed`: a seed file (docs/seed.md), applied whole or not at all.
//! - `POST /vaultlink/admin/reset`: the state of a fresh instance.
//! - `GET /vaultlink/admin/tenants`: every tenant with its quota, usage and identity header.
//!
//! The client side ([`call`]) is what the commands use when given `--server`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use vaultlink_crypto::AdminKey;

use crate::control::DirectoryOp;
use crate::http::{App, Req, Resp};

pub(crate) const PREFIX: &str = "/vaultlink/admin";

/// What a shared server holds beside an ordinary one.
pub(crate) struct Shared {
    pub admin_key: AdminKey,
    /// Where the key is (said at start, never the key).
    pub key_file: PathBuf,
}

fn error(status: StatusCode, code: &str, message: &str) -> Resp {
    crate::http::json(status, &json!({"error": {"code": code, "message": message}}))
}

/// A core refusal with its own status (through Resource Manager's one mapping), anything else
/// as a bad request.
fn refused(e: &anyhow::Error) -> Resp {
    match e.downcast_ref::<vaultlink_core::Error>() {
        Some(core) => crate::arm::render_error(core),
        None => error(StatusCode::BAD_REQUEST, "BadRequest", &format!("{e:#}")),
    }
}

pub(crate) fn handle(app: &App, req: &Req) -> Resp {
    let Some(shared) = &app.shared else {
        return error(
            StatusCode::NOT_FOUND,
            "NotFound",
            "The admin API is served only by a shared server (vaultlink serve --shared); here, use the vaultlink command on this machine.",
        );
    };
    let presented = req.header("authorization").and_then(|a| a.strip_prefix("Bearer ")).map(str::trim);
    if !presented.is_some_and(|key| shared.admin_key.verify(key)) {
        vaultlink_core::info_limited!(path = %req.path, "admin API refused a request without the admin key");
        let mut resp = error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "The admin API takes the server's admin key as a bearer token (Authorization: Bearer KEY).",
        );
        resp.headers_mut().insert(
            hyper::header::WWW_AUTHENTICATE,
            hyper::header::HeaderValue::from_static("Bearer realm=\"vaultlink admin\""),
        );
        return resp;
    }
    let path = req.path.trim_end_matches('/').to_ascii_lowercase();
    let route = path.strip_prefix(PREFIX).unwrap_or_default();
    let answer = match (&req.method, route) {
        (&Method::POST, "/directory") => serde_json::from_slice::<DirectoryOp>(&req.body)
            .map_err(anyhow::Error::from)
            .and_then(|op| directory(app, shared, &op)),
        (&Method::POST, "/seed") => serde_json::from_slice(&req.body)
            .map_err(|e| anyhow::anyhow!("the body is not a vaultlink seed file: {e}"))
            .and_then(|file| crate::seedfile::apply(app, &file)),
        (&Method::POST, "/reset") => crate::control::state(&app.engine, &app.sealer, &crate::control::StateOp::Reset),
        (&Method::GET, "/tenants") => Ok(tenants(app, shared)),
        (_, "/directory" | "/seed" | "/reset" | "/tenants") => {
            return error(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "This admin path does not take that method.",
            );
        }
        _ => return error(StatusCode::NOT_FOUND, "NotFound", "No such admin path."),
    };
    match answer {
        Ok(v) => {
            tracing::info!(method = %req.method, path = %req.path, "admin API request served");
            crate::http::json(StatusCode::OK, &v)
        }
        Err(e) => refused(&e),
    }
}

fn directory(app: &App, shared: &Shared, op: &DirectoryOp) -> anyhow::Result<Value> {
    let mut answer = crate::control::directory(&app.engine, op)?;
    if let (DirectoryOp::Tenant { .. }, Some(tid)) = (op, answer["tenantId"].as_str()) {
        answer["identityHeader"] = json!(shared.admin_key.identity_header(tid));
    }
    Ok(answer)
}

fn tenants(app: &App, shared: &Shared) -> Value {
    use vaultlink_core::{identity, quota};
    app.engine.read(|s| {
        identity::tenants(s)
            .into_iter()
            .map(|t| {
                json!({
                    "tenantId": t.tenant_id,
                    "displayName": t.display_name,
                    "defaultDomain": t.default_domain,
                    "quota": t.quota,
                    "usage": quota::usage(s, &t.tenant_id),
                    "identityHeader": shared.admin_key.identity_header(&t.tenant_id),
                })
            })
            .collect()
    })
}

/// Where a command sends its request instead of the control socket: `--server` and the key.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ServerArgs {
    /// A shared server's direct listener (`https://vaultlink.example:8743`): send the request to
    /// its admin API instead of the instance on this machine.
    #[arg(long, env = "VAULTLINK_SERVER", value_name = "URL")]
    pub server: Option<url::Url>,
    /// The file holding the shared server's admin key (with --server).
    #[arg(long, env = "VAULTLINK_ADMIN_KEY_FILE", value_name = "FILE", requires = "server")]
    pub admin_key_file: Option<PathBuf>,
    /// A PEM file of the CA that issued the shared server's certificate, trusted beside the
    /// system's roots (with --server).
    #[arg(long, env = "VAULTLINK_SERVER_CA", value_name = "FILE", requires = "server")]
    pub server_ca: Option<PathBuf>,
}

/// How long a command waits for the admin API's answer (a seed file may take a while).
const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Sends one request to a shared server's admin API and returns its JSON answer; an error
/// answer is the command's error, with the server's message.
pub(crate) fn call(to: &ServerArgs, method: Method, route: &str, body: Option<Vec<u8>>) -> anyhow::Result<Value> {
    use anyhow::Context;
    let server = to.server.as_ref().context("no --server given")?;
    let key_file =
        to.admin_key_file.as_deref().context("--server needs --admin-key-file (VAULTLINK_ADMIN_KEY_FILE)")?;
    let key = AdminKey::load(key_file).with_context(|| format!("reading the admin key {}", key_file.display()))?;
    let tls = client_tls(to.server_ca.as_deref())?;
    let url = server.join(&format!("{PREFIX}{route}")).context("the --server URL")?;
    anyhow::ensure!(
        url.scheme() == "https",
        "--server takes an https:// URL: the admin key never travels in the clear"
    );
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (status, bytes) = rt.block_on(async {
        tokio::time::timeout(CALL_TIMEOUT, send(&url, tls, method, key.reveal(), body))
            .await
            .map_err(|_| anyhow::anyhow!("{server} did not answer within {} s", CALL_TIMEOUT.as_secs()))?
    })?;
    let value: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{server} answered {status} with a body that is not JSON"))?;
    if !status.is_success() {
        let message = value["error"]["message"].as_str().unwrap_or("(no message)");
        anyhow::bail!("{server} answered {status}: {message}");
    }
    Ok(value)
}

fn client_tls(ca: Option<&Path>) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    use anyhow::Context;
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(ca) = ca {
        let pem = std::fs::read(ca).with_context(|| format!("reading --server-ca {}", ca.display()))?;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            roots.add(cert.with_context(|| format!("{} is not a PEM certificate file", ca.display()))?)?;
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

async fn send(
    url: &url::Url,
    tls: Arc<rustls::ClientConfig>,
    method: Method,
    key: &str,
    body: Option<Vec<u8>>,
) -> anyhow::Result<(StatusCode, bytes::Bytes)> {
    use anyhow::Context;
    use http_body_util::{BodyExt, Full, Limited};
    let host = url.host_str().context("the --server URL has no host")?;
    let port = url.port_or_known_default().unwrap_or(443);
    let bare = host.trim_start_matches('[').trim_end_matches(']').to_string();
    let tcp =
        tokio::net::TcpStream::connect((bare.as_str(), port)).await.with_context(|| format!("connecting to {url}"))?;
    let name = rustls::pki_types::ServerName::try_from(bare)?;
    let stream = tokio_rustls::TlsConnector::from(tls).connect(name, tcp).await.context("TLS with the server")?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let req = hyper::Request::builder()
        .method(method)
        .uri(&url[url::Position::BeforePath..url::Position::AfterQuery])
        .header(hyper::header::HOST, format!("{host}:{port}"))
        .header(hyper::header::AUTHORIZATION, format!("Bearer {key}"))
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(hyper::header::USER_AGENT, concat!("vaultlink/", env!("CARGO_PKG_VERSION")))
        .body(Full::new(bytes::Bytes::from(body.unwrap_or_default())))?;
    let resp = sender.send_request(req).await?;
    let status = resp.status();
    let bytes =
        Limited::new(resp.into_body(), crate::http::MAX_BODY).collect().await.map_err(|e| anyhow::anyhow!(e))?;
    Ok((status, bytes.to_bytes()))
}
