//! HTTP plumbing shared by every surface: the application state, the request shape handed to
//! surfaces, host-based dispatch, and the TLS and identity listeners.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use vaultlink_core::Engine;
use vaultlink_crypto::{Sealer, Signer};

/// Largest request body accepted (ARM's limit is 4 MB; the data plane's values are far smaller).
pub(crate) const MAX_BODY: usize = 4 * 1024 * 1024;

/// Everything a request handler can reach.
pub(crate) struct App {
    pub engine: Arc<Engine>,
    /// The engine's clock: what tokens, sessions and error timestamps are dated by.
    pub clock: Arc<vaultlink_core::engine::Clock>,
    pub signer: Arc<Signer>,
    pub sealer: Arc<Sealer>,
    /// Data-plane throttling (Azure's per-vault limits).
    pub throttle: vaultlink_core::kv::Throttle,
    /// The public address of a caller on the internet ("this machine").
    pub public_address: std::net::Ipv4Addr,
    /// The identity endpoint's address, so the proxy can serve plain-HTTP requests for it.
    pub identity_addr: SocketAddr,
    /// The audiences of the direct listener as a custom cloud (`https://localhost:{port}/`, ...):
    /// Resource Manager accepts them beside its own, whatever a request's Host says.
    pub direct_audiences: Vec<String>,
    /// TLS for every emulated host (leaves minted per SNI by the local CA).
    pub tls: Arc<rustls::ServerConfig>,
    /// The local CA's certificate in PEM (`wellknown::CA_PATH` serves it).
    pub ca_pem: String,
    /// Lab mode's namespaces, when `serve --lab`.
    pub lab: Option<Arc<crate::lab::Lab>>,
    /// Portable DNS listeners per VNet view (VNet id -> address), opened on first use.
    pub view_dns: std::sync::Mutex<std::collections::HashMap<String, SocketAddr>>,
    /// The portal's sign-in sessions (`portal.rs`).
    pub portal: crate::portal::Sessions,
    /// The threads that serve HTTPS connections.
    pub conns: Arc<ConnThreads>,
    /// `--allowed-host` names (lower case), for `hosts::local_host_allowed`.
    pub allowed_hosts: Vec<String>,
    /// Connection limits and timeouts (`limits.rs`).
    pub limits: super::limits::Limits,
    /// `serve --strict-reads`: every request first applies what other replicas committed.
    pub strict_reads: bool,
    /// The template deployments under way (`arm/deployments.rs`).
    pub deployments: crate::arm::deployments::Runner,
    /// Where linked templates may be fetched from (`serve --allowed-template-link`).
    pub template_links: Arc<crate::arm::links::Links>,
    /// Run Command's operations (`arm/compute.rs`).
    pub compute: crate::arm::compute::Operations,
    /// `serve --shared`: the admin key (the admin API, the identity endpoint's headers).
    pub shared: Option<Arc<crate::admin::Shared>>,
    /// The tenants' request budgets (`quota::Requests`), counted in this process.
    pub tenant_requests: vaultlink_core::quota::Requests,
    /// Syncs the disk for the writes answered on a connection's thread (`settle.rs`).
    pub settler: super::settle::Settler,
    /// Requests on the blocking pool now (`Runs::Pool`): writes that may take long.
    pub pool_requests: std::sync::atomic::AtomicUsize,
}

impl App {
    /// A surface's own audiences and the direct listener's (a custom cloud names the listener
    /// as Resource Manager and as Graph), never one taken from a request's Host.
    pub(crate) fn audiences<'a>(&'a self, own: &[&'a str]) -> Vec<&'a str> {
        own.iter().copied().chain(self.direct_audiences.iter().map(String::as_str)).collect()
    }

    /// Seconds since the Unix epoch by the engine's clock (`vaultlink clock` moves it).
    pub(crate) fn now(&self) -> i64 {
        self.clock.now()
    }

    pub(crate) fn new(parts: AppParts) -> std::io::Result<Self> {
        let engine = Arc::new(parts.engine);
        Ok(Self {
            clock: engine.clock(),
            settler: super::settle::Settler::new(engine.clone()),
            pool_requests: Default::default(),
            engine,
            signer: Arc::new(parts.signer),
            sealer: Arc::new(parts.sealer),
            throttle: vaultlink_core::kv::Throttle::new(parts.throttle),
            public_address: parts.public_address,
            identity_addr: parts.identity_addr,
            direct_audiences: direct_audiences(parts.https_addr),
            tls: parts.tls,
            ca_pem: parts.ca_pem,
            lab: parts.lab,
            view_dns: Default::default(),
            portal: Default::default(),
            conns: Arc::new(ConnThreads::start()?),
            allowed_hosts: parts.allowed_hosts,
            limits: parts.limits,
            strict_reads: parts.strict_reads,
            deployments: Default::default(),
            template_links: Arc::new(parts.template_links),
            compute: Default::default(),
            shared: parts.shared.map(Arc::new),
            tenant_requests: Default::default(),
        })
    }

    /// This application over `engine` (a trial's: `Engine::trial`) instead of its own: the same
    /// keys, certificates and settings, its own memories (sessions, deployments, DNS listeners,
    /// throttling budgets), no lab. What `vaultlink seed` runs a file's requests through.
    pub(crate) fn over(&self, engine: Arc<Engine>) -> Self {
        Self {
            clock: engine.clock(),
            settler: super::settle::Settler::new(engine.clone()),
            pool_requests: Default::default(),
            engine,
            signer: self.signer.clone(),
            sealer: self.sealer.clone(),
            throttle: vaultlink_core::kv::Throttle::new(false),
            public_address: self.public_address,
            identity_addr: self.identity_addr,
            direct_audiences: self.direct_audiences.clone(),
            tls: self.tls.clone(),
            ca_pem: self.ca_pem.clone(),
            lab: None,
            view_dns: Default::default(),
            portal: Default::default(),
            conns: self.conns.clone(),
            allowed_hosts: self.allowed_hosts.clone(),
            limits: self.limits,
            // A trial's engine has no replicas to follow.
            strict_reads: false,
            deployments: Default::default(),
            template_links: self.template_links.clone(),
            compute: Default::default(),
            shared: self.shared.clone(),
            // A trial's requests are the operator's own (a seed file), not a tenant's.
            tenant_requests: Default::default(),
        }
    }

    /// Counts one authenticated request by a caller of tenant `tid` against the tenant's request
    /// quota (`quota::Requests`), or refuses it (429).
    pub(crate) fn count_request(&self, tid: &str) -> Result<(), vaultlink_core::Error> {
        let limit = self.engine.read(|s| vaultlink_core::quota::request_limit(s, tid));
        self.tenant_requests.admit(tid, limit, std::time::Instant::now())
    }

    /// The loopback DNS address that answers as the DNS server of the machine at `origin_id` (a
    /// NIC: Azure DNS of its VNet; an on-premises network: its own server), opened on first use.
    pub(crate) fn dns_for_origin(self: &Arc<Self>, origin_id: &str) -> Option<SocketAddr> {
        let view = self.engine.read(|s| {
            let origin = vaultlink_core::netctx::origin_of(s, origin_id);
            match &origin {
                vaultlink_core::netctx::Origin::Nic { nic_id } => {
                    vaultlink_core::netctx::placement(s, nic_id).map(|_| vaultlink_core::netctx::view(s, &origin))
                }
                _ => Some(vaultlink_core::netctx::view(s, &origin)),
            }
        })?;
        let key = format!("{view:?}").to_ascii_lowercase();
        let mut map = self.view_dns.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(a) = map.get(&key) {
            return Some(*a);
        }
        let (udp, tcp) = bind_dns_pair("127.0.0.1:0".parse().ok()?).ok()?;
        let addr = udp.local_addr().ok()?;
        let selector: Arc<vaultlink_dns::ViewFn> =
            Arc::new(move |_: &vaultlink_core::State, _: SocketAddr, _: SocketAddr| Some(view.clone()));
        let engine = self.engine.clone();
        tokio::spawn(async move {
            let _ = vaultlink_dns::serve(udp, tcp, engine, selector).await;
        });
        map.insert(key, addr);
        Some(addr)
    }
}

/// A UDP socket and a TCP listener on the same address. With port 0 the UDP port is picked first;
/// when that port is taken for TCP (by any local connection), another is tried.
pub(crate) fn bind_dns_pair(addr: SocketAddr) -> std::io::Result<(tokio::net::UdpSocket, TcpListener)> {
    let attempts = if addr.port() == 0 { 50 } else { 1 };
    let mut last = None;
    for _ in 0..attempts {
        let udp = std::net::UdpSocket::bind(addr)?;
        match std::net::TcpListener::bind(udp.local_addr()?) {
            Ok(tcp) => {
                udp.set_nonblocking(true)?;
                tcp.set_nonblocking(true)?;
                return Ok((tokio::net::UdpSocket::from_std(udp)?, TcpListener::from_std(tcp)?));
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free port for DNS")))
}

/// What `App::new` is built from.
/// The names a client reaches the direct listener by (loopback, and its own address when bound
/// to one), each with and without the trailing slash.
fn direct_audiences(addr: SocketAddr) -> Vec<String> {
    let port = addr.port();
    let mut hosts = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    if !addr.ip().is_unspecified() && !addr.ip().is_loopback() {
        hosts.push(addr.ip().to_string());
    }
    hosts.iter().flat_map(|h| [format!("https://{h}:{port}/"), format!("https://{h}:{port}")]).collect()
}

pub(crate) struct AppParts {
    pub engine: Engine,
    /// The direct listener's address (for the audiences Resource Manager accepts).
    pub https_addr: SocketAddr,
    pub signer: Signer,
    pub sealer: Sealer,
    pub identity_addr: SocketAddr,
    pub throttle: bool,
    pub public_address: std::net::Ipv4Addr,
    pub tls: Arc<rustls::ServerConfig>,
    pub ca_pem: String,
    pub lab: Option<Arc<crate::lab::Lab>>,
    pub allowed_hosts: Vec<String>,
    pub limits: super::limits::Limits,
    pub strict_reads: bool,
    pub template_links: crate::arm::links::Links,
    /// `serve --shared`.
    pub shared: Option<crate::admin::Shared>,
}

/// How a request reached vaultlink (its ingress adapter).
#[derive(Debug, Clone)]
pub(crate) enum Ingress {
    /// Through the CONNECT proxy; the network context was decided at CONNECT time (for vault
    /// hosts) from the caller's identity in the proxy URL.
    Proxy { context: Option<vaultlink_core::firewall::NetworkContext> },
    /// Inside a lab namespace: the machine at `origin_id` (a NIC or an on-premises network) connected to `local`.
    Lab { origin_id: String, local: std::net::Ipv4Addr },
    /// On the direct HTTPS listener.
    Direct,
    /// On the plain-HTTP identity (IMDS) listener.
    Identity,
}

/// A request, read whole, as surfaces see it.
#[derive(Debug)]
pub(crate) struct Req {
    pub method: Method,
    /// Percent-decoded path.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Host name without port, lower-cased.
    pub host: String,
    /// `Host` as sent (with port), for building absolute URLs back to the caller.
    pub authority: String,
    pub ingress: Ingress,
}

impl Req {
    pub(crate) fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub(crate) type Resp = Response<Full<Bytes>>;

/// A JSON response.
pub(crate) fn json<T: serde::Serialize + ?Sized>(status: StatusCode, body: &T) -> Resp {
    let mut out = Vec::with_capacity(512);
    let _ = serde_json::to_writer(&mut out, body);
    let mut r = Response::new(Full::new(Bytes::from(out)));
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    r
}

/// The message of every 503 while the state database cannot take writes (docs/behaviour.md).
pub(crate) const UNAVAILABLE: &str =
    "The service is temporarily unavailable: its state database cannot be reached. Retry the request later.";

/// A surface's 503 (`error` is its body, in its own envelope), with `Retry-After` (vaultlink
/// tries the database again every second); the detail is logged, never sent.
pub(crate) fn unavailable(detail: &str, error: &serde_json::Value) -> Resp {
    tracing::warn!(%detail, "a write was refused: the state database is unavailable");
    let mut r = json(StatusCode::SERVICE_UNAVAILABLE, error);
    r.headers_mut().insert(hyper::header::RETRY_AFTER, HeaderValue::from_static("2"));
    r
}

/// A response's JSON body (`Null` when it has none).
pub(crate) fn response_json(resp: Resp) -> serde_json::Value {
    use http_body_util::BodyExt;
    let body = resp.into_body();
    // `Full` is ready at once: poll it without a runtime.
    let bytes = futures_ready(body.collect()).and_then(Result::ok).map(|c| c.to_bytes()).unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or_default()
}

/// Resolves a future that is already complete (a `Full` body), without an executor.
fn futures_ready<F: Future>(f: F) -> Option<F::Output> {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => Some(v),
        std::task::Poll::Pending => None,
    }
}

pub(crate) fn empty(status: StatusCode) -> Resp {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = status;
    r
}

/// A plain-text response.
pub(crate) fn text(status: StatusCode, body: &str) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

/// Percent-encodes a query name or value for a link back to the caller (RFC 3986 unreserved
/// characters kept as they are).
pub(crate) fn percent_encode(s: &str) -> String {
    encode_except(s, b"-._~")
}

/// Percent-encodes a path, keeping its `/` separators.
pub(crate) fn percent_encode_path(s: &str) -> String {
    encode_except(s, b"-._~/")
}

fn encode_except(s: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex =
            b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses an `application/x-www-form-urlencoded` string (query or form body).
pub(crate) fn parse_form(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let decode =
                |s: &str| if s.contains('+') { percent_decode(&s.replace('+', " ")) } else { percent_decode(s) };
            (decode(k), decode(v))
        })
        .collect()
}

/// Reads a hyper request into a `Req`, or answers 413 when the body is too large.
pub(crate) async fn read_request(req: Request<Incoming>, ingress: Ingress) -> Result<Req, Resp> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return Err(json(
                StatusCode::PAYLOAD_TOO_LARGE,
                &serde_json::json!({"error": {"code": "RequestEntityTooLarge", "message": format!("The request content size exceeds the maximum allowed size of {MAX_BODY} bytes.")}}),
            ));
        }
    };
    Ok(request_from_parts(parts, body, ingress))
}

/// A request's head and its whole body as a `Req`: the host from `Host` (else the URI's
/// authority) without its port, the path percent-decoded, the query parsed as a form.
pub(crate) fn request_from_parts(parts: hyper::http::request::Parts, body: Bytes, ingress: Ingress) -> Req {
    let authority = parts
        .headers
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
        .unwrap_or_default();
    let host = authority
        .rsplit_once(':')
        .filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit()))
        .map_or(authority.as_str(), |(h, _)| h)
        .to_ascii_lowercase();
    Req {
        method: parts.method,
        path: percent_decode(parts.uri.path()),
        query: parse_form(parts.uri.query().unwrap_or("")),
        headers: parts.headers,
        body,
        host,
        authority,
        ingress,
    }
}

/// Which surface a host name belongs to.
pub(crate) fn route(app: &App, req: Req) -> Resp {
    let host = req.host.as_str();
    use super::hosts::Surface;
    let direct = matches!(req.ingress, Ingress::Direct | Ingress::Identity);
    let well_known = if matches!(req.ingress, Ingress::Identity) { super::wellknown::handle(app, &req) } else { None };
    let resp = if let Some(resp) = well_known {
        resp
    } else if direct && !super::hosts::local_host_allowed(host, &app.allowed_hosts) {
        misdirected(host)
    } else if matches!(req.ingress, Ingress::Identity) {
        crate::entra::handle_identity(app, &req)
    } else if let Some(surface) = super::hosts::surface(host) {
        match surface {
            Surface::ResourceManager => crate::arm::handle(app, &req),
            Surface::EntraId => crate::entra::handle(app, &req),
            Surface::Graph => crate::graph::handle(app, &req),
            Surface::KeyVault => crate::dataplane::handle(app, &req),
        }
    } else {
        // The direct listener serves Resource Manager and Entra ID on one origin.
        let first = req.path.trim_start_matches('/').split('/').next().unwrap_or("").to_ascii_lowercase();
        match first.as_str() {
            "vaultlink"
                if matches!(req.ingress, Ingress::Direct)
                    && req.path.to_ascii_lowercase().starts_with(crate::admin::PREFIX) =>
            {
                crate::admin::handle(app, &req)
            }
            "subscriptions" | "providers" | "metadata" | "tenants" | "vaultlink" => crate::arm::handle(app, &req),
            // Microsoft Graph, where a custom cloud's `microsoftGraphResourceId` points az.
            "v1.0" | "beta" => crate::graph::handle(app, &req),
            "portal" if matches!(req.ingress, Ingress::Direct) => crate::portal::handle(app, &req),
            // A browser opening the listener's address lands on the portal.
            "" if req.method == Method::GET
                && matches!(req.ingress, Ingress::Direct)
                && req.header("accept").is_some_and(|a| a.contains("text/html")) =>
            {
                let mut r = empty(StatusCode::FOUND);
                r.headers_mut().insert(hyper::header::LOCATION, HeaderValue::from_static("/portal/"));
                r
            }
            "" => crate::arm::handle(app, &req),
            _ => crate::entra::handle(app, &req),
        }
    };
    with_request_id(resp)
}

/// 421 for a Host a local listener does not answer to (DNS rebinding: `hosts::local_host_allowed`).
fn misdirected(host: &str) -> Resp {
    vaultlink_core::info_limited!(host = %host.chars().take(255).collect::<String>(), "refused a request for a host name this listener does not serve");
    json(
        StatusCode::MISDIRECTED_REQUEST,
        &serde_json::json!({"error": {"code": "MisdirectedRequest", "message": "This vaultlink listener does not serve that host name. It answers to IP addresses, localhost, the Azure host names vaultlink plays and the names given with --allowed-host (VAULTLINK_ALLOWED_HOSTS)."}}),
    )
}

/// A request id in GUID form, unique within this process's life: random high bits drawn once, and
/// a counter. (A random GUID per response cost a `getrandom` system call per request; ids need to
/// be unique, not unpredictable.)
fn request_id() -> String {
    static BASE: std::sync::LazyLock<u128> = std::sync::LazyLock::new(|| uuid::Uuid::new_v4().as_u128());
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    uuid::Uuid::from_u128(*BASE ^ u128::from(n)).hyphenated().to_string()
}

fn with_request_id(mut r: Resp) -> Resp {
    if let Ok(v) = HeaderValue::from_maybe_shared(Bytes::from(request_id())) {
        r.headers_mut().insert("x-ms-request-id", v.clone());
        r.headers_mut().insert("x-ms-correlation-request-id", v);
    }
    r
}

/// Where a request is answered (`serve_connection`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Runs {
    /// On the connection's thread: it only reads state, so it never waits for a disk sync.
    /// Handing every request to the blocking pool cost two thread wake-ups per request, the
    /// largest cost of a secret read (BENCHMARKS.md).
    Here,
    /// On the connection's thread, its disk sync awaited without holding the thread
    /// (`settle.rs`): a write that is quick (a secret's), while no request is on the pool whose
    /// write it could wait behind, holding up the thread's other connections (a key's
    /// generation).
    HereThenSettle,
    /// On the blocking pool: a write that may take long, or wait behind one, or a replica's
    /// request that first follows the others (`--strict-reads`).
    Pool,
}

/// Where `req` is answered by `app`.
pub(crate) fn runs(app: &App, req: &Req) -> Runs {
    runs_with(req, app.strict_reads, app.pool_requests.load(Ordering::Acquire))
}

/// Where `req` is answered, with `on_pool` requests on the blocking pool now. GET and HEAD only
/// read everywhere; the data plane also knows which of its POSTs only read, and which of its
/// writes are quick.
fn runs_with(req: &Req, strict_reads: bool, on_pool: usize) -> Runs {
    if strict_reads {
        return Runs::Pool;
    }
    if matches!(req.method, Method::GET | Method::HEAD) {
        return Runs::Here;
    }
    if !req.host.ends_with(".vault.azure.net") {
        return Runs::Pool;
    }
    match crate::dataplane::operation(req) {
        Some(op) if op.only_reads() => Runs::Here,
        Some(op) if op.quick() && on_pool == 0 => Runs::HereThenSettle,
        _ => Runs::Pool,
    }
}

/// A request on the blocking pool, counted in `App::pool_requests` until it ends (there, even
/// if its connection closed before).
struct OnPool(Arc<App>);

impl OnPool {
    fn new(app: Arc<App>) -> Self {
        app.pool_requests.fetch_add(1, Ordering::AcqRel);
        Self(app)
    }
}

impl Drop for OnPool {
    fn drop(&mut self) {
        self.0.pool_requests.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Answers `req` where `runs` says.
async fn answer(app: &Arc<App>, req: Req) -> Resp {
    match runs(app, &req) {
        Runs::Here => route(app, req),
        Runs::HereThenSettle => {
            let (resp, seq) = app.engine.deferring_sync(|| route(app, req));
            match seq {
                Some(seq) => match app.settler.settle(seq).await {
                    Ok(()) => resp,
                    Err(e) => crate::dataplane::sync_failed(resp, &e),
                },
                None => resp,
            }
        }
        Runs::Pool => {
            let on_pool = OnPool::new(app.clone());
            tokio::task::spawn_blocking(move || {
                let app = &on_pool.0;
                match app.strict_reads.then(|| app.engine.follow()) {
                    Some(Err(e)) => unavailable(
                        &e.message,
                        &serde_json::json!({"error": {"code": "ServiceUnavailable", "message": UNAVAILABLE}}),
                    ),
                    _ => route(app, req),
                }
            })
            .await
            .unwrap_or_else(|_| {
                json(StatusCode::INTERNAL_SERVER_ERROR, &serde_json::json!({"error": {"code": "InternalServerError", "message": "vaultlink failed to process the request."}}))
            })
        }
    }
}

/// Serves one HTTP/1.1 connection (plain or TLS) with `ingress` as its context.
pub(crate) async fn serve_connection<IO>(io: IO, app: Arc<App>, ingress: Ingress)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let head_timeout = app.limits.request_head_timeout;
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let app = app.clone();
        let ingress = ingress.clone();
        async move {
            let resp = match read_request(req, ingress).await {
                Ok(req) => {
                    // What the debug line names, copied only when it is written.
                    let logged = tracing::enabled!(tracing::Level::DEBUG)
                        .then(|| (req.method.clone(), req.host.clone(), req.path.clone(), std::time::Instant::now()));
                    let resp = answer(&app, req).await;
                    if let Some((method, host, path, began)) = logged {
                        // How long the answer took from the whole request read (a client's wait
                        // for vaultlink, less the network: the CLI benchmark sums it).
                        let elapsed_us = began.elapsed().as_micros();
                        tracing::debug!(%method, %host, %path, status = resp.status().as_u16(), elapsed_us, "request");
                    }
                    resp
                }
                Err(resp) => resp,
            };
            Ok::<_, Infallible>(resp)
        }
    });
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new()).http1_only();
    builder.http1().timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(head_timeout);
    let _ = builder.serve_connection(TokioIo::new(io), service).await;
}

/// Connection threads: each runs its own single-threaded runtime, and a connection handed to one
/// stays on it for its whole life. With tokio's work-stealing runtime a connection's task moved
/// between threads, so a request's buffers were often freed on another thread than the one that
/// allocated them; glibc's allocator then takes the other thread's arena lock, and under load
/// the two threads contended for it on most requests (a futex wait or wake per 5 requests,
/// BENCHMARKS.md). A connection pinned to one thread allocates and frees on that thread only.
pub(crate) struct ConnThreads {
    queues: Vec<tokio::sync::mpsc::UnboundedSender<Accepted>>,
    next: std::sync::atomic::AtomicUsize,
}

/// An accepted connection and what serves it, on its way to a connection thread.
type Accepted = (std::net::TcpStream, Box<dyn FnOnce(tokio::net::TcpStream) -> ConnFuture + Send>);
type ConnFuture = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

impl ConnThreads {
    /// One thread per core.
    pub(crate) fn start() -> std::io::Result<Self> {
        let n = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        let mut queues = Vec::with_capacity(n);
        for i in 0..n {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Accepted>();
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            std::thread::Builder::new().name(format!("vaultlink-conn-{i}")).spawn(move || {
                rt.block_on(async move {
                    while let Some((std_tcp, serve)) = rx.recv().await {
                        if let Ok(tcp) = tokio::net::TcpStream::from_std(std_tcp) {
                            tokio::spawn(serve(tcp));
                        }
                    }
                });
            })?;
            queues.push(tx);
        }
        Ok(Self { queues, next: Default::default() })
    }

    /// Serves `tcp` on the next connection thread (round robin).
    pub(crate) fn serve<F, Fut>(&self, tcp: tokio::net::TcpStream, serve: F)
    where
        F: FnOnce(tokio::net::TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Ok(std_tcp) = tcp.into_std() else { return };
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.queues.len();
        let _ = self.queues[i].send((std_tcp, Box::new(move |tcp| Box::pin(serve(tcp)))));
    }
}

/// The direct HTTPS listener.
pub(crate) async fn serve_tls(listener: TcpListener, app: Arc<App>, tls: Arc<rustls::ServerConfig>) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let listener = super::limits::Listener::new(listener, "https", app.limits);
    loop {
        let (tcp, _peer, slot) = listener.accept().await;
        let acceptor = acceptor.clone();
        let app2 = app.clone();
        app.conns.serve(tcp, move |tcp| async move {
            let _slot = slot;
            if let Some(stream) = tls_accept(&acceptor, tcp).await {
                serve_connection(stream, app2, Ingress::Direct).await;
            }
        });
    }
}

/// A TLS handshake within `limits::TLS_HANDSHAKE_TIMEOUT`.
pub(crate) async fn tls_accept<IO>(
    acceptor: &tokio_rustls::TlsAcceptor,
    io: IO,
) -> Option<tokio_rustls::server::TlsStream<IO>>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    tokio::time::timeout(super::limits::TLS_HANDSHAKE_TIMEOUT, acceptor.accept(io)).await.ok()?.ok()
}

/// The managed-identity listener: plain HTTP (like IMDS at 169.254.169.254), or a shared
/// server's own TLS (`tls`).
pub(crate) async fn serve_identity(listener: TcpListener, app: Arc<App>, tls: Option<Arc<rustls::ServerConfig>>) {
    let listener = super::limits::Listener::new(listener, "identity", app.limits);
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    loop {
        let (tcp, _peer, slot) = listener.accept().await;
        let (app, acceptor) = (app.clone(), acceptor.clone());
        tokio::spawn(async move {
            let _slot = slot;
            match acceptor {
                Some(acceptor) => {
                    if let Some(tls) = tls_accept(&acceptor, tcp).await {
                        serve_connection(tls, app, Ingress::Identity).await;
                    }
                }
                None => serve_connection(tcp, app, Ingress::Identity).await,
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::{Ingress, Runs, request_from_parts, runs_with};

    fn req(method: &str, host: &str, path: &str) -> super::Req {
        let (parts, ()) =
            hyper::Request::builder().method(method).uri(path).header("host", host).body(()).unwrap().into_parts();
        request_from_parts(parts, bytes::Bytes::new(), Ingress::Direct)
    }

    /// Reads and key operations stay on the connection's thread; a secret's writes too, their
    /// sync awaited, unless a request is on the pool; key generation and Resource Manager's writes
    /// go to the pool, as does everything on a replica that follows others first.
    #[test]
    fn requests_run_where_they_cannot_hold_up_a_connection_thread() {
        let vault = "kv1.vault.azure.net";
        let cases = [
            (req("GET", vault, "/secrets/s1?api-version=7.4"), Runs::Here),
            (req("POST", vault, "/keys/k1/0123456789abcdef0123456789abcdef/sign?api-version=7.4"), Runs::Here),
            (req("PUT", vault, "/secrets/s1?api-version=7.4"), Runs::HereThenSettle),
            (req("DELETE", vault, "/secrets/s1?api-version=7.4"), Runs::HereThenSettle),
            (req("POST", vault, "/keys/k1/create?api-version=7.4"), Runs::Pool),
            (
                req("PUT", "management.azure.com", "/subscriptions/x/resourceGroups/rg?api-version=2021-04-01"),
                Runs::Pool,
            ),
            (req("PUT", vault, "/nothing/here"), Runs::Pool),
        ];
        for (r, want) in &cases {
            assert_eq!(&runs_with(r, false, 0), want, "{} {}", r.method, r.path);
            assert_eq!(runs_with(r, true, 0), Runs::Pool, "strict reads: {} {}", r.method, r.path);
        }
        let put = req("PUT", vault, "/secrets/s1?api-version=7.4");
        assert_eq!(runs_with(&put, false, 1), Runs::Pool, "behind a request on the pool");
    }

    /// A write whose sync failed after its answer was made is answered with the store's error
    /// in the data plane's format, keeping the answer's service headers and not its body.
    #[test]
    fn a_failed_sync_replaces_the_answer() {
        let mut answered = super::json(hyper::StatusCode::OK, &serde_json::json!({"value": "s3cret"}));
        answered.headers_mut().insert("x-ms-keyvault-region", hyper::header::HeaderValue::from_static("westeurope"));
        let e = vaultlink_core::Error::internal("sync failed");
        let failed = crate::dataplane::sync_failed(answered, &e);
        assert_eq!(failed.status(), hyper::StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(failed.headers()["x-ms-keyvault-region"], "westeurope");
        let body = super::response_json(failed);
        assert_eq!(body["error"]["code"], "InternalServerError");
        assert!(!body.to_string().contains("s3cret"), "{body}");
    }
}
