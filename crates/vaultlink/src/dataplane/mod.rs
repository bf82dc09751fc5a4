//! The Key Vault data plane at `https://{vault}.vault.azure.net`: the challenge, the token's
//! signature and lifetime, the status mapping, and the two steps of every request: its route
//! (method and path) names one `kv::Operation`, and that kind's `run` calls the core inside a read
//! or a write that first passes the operation through `kv::admit` (the caller, its tenant, the
//! network, throttling and authorization, in one snapshot). One file per kind: `secrets.rs`,
//! `keys.rs`, `certificates.rs`, and `deleted.rs` for the deleted objects of all three.

mod certificates;
mod deleted;
mod keys;
mod secrets;

use std::borrow::Cow;
use std::net::Ipv4Addr;

use hyper::header::HeaderValue;
use hyper::{Method, StatusCode};
use serde_json::json;
use vaultlink_core::error::{Error, Kind};
use vaultlink_core::firewall::NetworkContext;
use vaultlink_core::kv::{self, Admitted, Ask, Operation, objects};
use vaultlink_core::model::Vault;
use vaultlink_core::{Batch, State, keyvault, netctx, seed};
use vaultlink_crypto::Claims;

use crate::http::{App, Ingress, Req, Resp};

/// What Key Vault reports as its service version.
const SERVICE_VERSION: &str = "1.9.2665.1";

/// Key Vault's challenge: where to get a token for this vault (its tenant's authority).
fn challenge(tenant: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "Bearer authorization=\"https://login.microsoftonline.com/{tenant}\", resource=\"https://vault.azure.net\""
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("Bearer resource=\"https://vault.azure.net\""))
}

/// The one place that decides data-plane status codes.
fn error(e: &Error) -> Resp {
    let status = match e.kind {
        Kind::BadRequest => StatusCode::BAD_REQUEST,
        Kind::Unauthorized => StatusCode::UNAUTHORIZED,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::NotFound => StatusCode::NOT_FOUND,
        // An ARM precondition cannot arise here; it was always the data plane's 409.
        Kind::Conflict | Kind::PreconditionFailed => StatusCode::CONFLICT,
        Kind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        Kind::Internal => {
            tracing::error!(detail = %e.message, "data-plane internal error");
            return crate::http::json(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"error": {"code": "InternalServerError", "message": "vaultlink encountered an internal error. See its log."}}),
            );
        }
        Kind::Unavailable => {
            return crate::http::unavailable(
                &e.message,
                &json!({"error": {"code": e.code, "message": crate::http::UNAVAILABLE}}),
            );
        }
    };
    let mut body = json!({"error": {"code": e.code, "message": e.message}});
    if let Some(inner) = &e.inner {
        body["error"]["innererror"] = json!({"code": inner});
    }
    let mut r = crate::http::json(status, &body);
    if e.kind == Kind::Unauthorized {
        r.headers_mut().insert(hyper::header::WWW_AUTHENTICATE, challenge(seed::TENANT_ID));
    }
    r
}

/// The caller's network context from how the request arrived: decided by the proxy at CONNECT
/// time, by the lab listener's address, or "this machine on the internet".
fn network_context(app: &App, req: &Req) -> NetworkContext {
    match &req.ingress {
        Ingress::Proxy { context: Some(ctx) } => ctx.clone(),
        Ingress::Lab { origin_id, local } => {
            let origin = app.engine.read(|s| netctx::origin_of(s, origin_id));
            match app.engine.read(|s| netctx::connect(s, &origin, *local, &req.host)) {
                netctx::Route::Reaches(ctx) => ctx,
                // Dropped at accept time; if the state changed since, the vault refuses the path.
                _ => NetworkContext {
                    client_address: Ipv4Addr::UNSPECIFIED,
                    service_endpoint_subnet: None,
                    private_endpoint: Some(String::new()),
                    trusted_service: false,
                },
            }
        }
        _ => NetworkContext::internet(app.public_address),
    }
}

/// The request's bearer token, checked for its signature and lifetime (whom it names, and for
/// which audience, `kv::admit` checks).
fn authenticate(app: &App, req: &Req) -> Result<std::sync::Arc<Claims>, Error> {
    let unauthorized = |m: &str| Error::new(Kind::Unauthorized, "Unauthorized", m);
    let Some(auth) = req.header("authorization") else {
        return Err(unauthorized("AKV10000: Request is missing a Bearer or PoP token."));
    };
    let Some(token) = auth.strip_prefix("Bearer ").or_else(|| auth.strip_prefix("bearer ")) else {
        return Err(unauthorized("AKV10000: Request is missing a Bearer or PoP token."));
    };
    let claims = app.signer.verify(token.trim(), app.now()).map_err(|e| match e {
        vaultlink_crypto::TokenError::Expired => unauthorized("AKV10022: Invalid token: the token has expired."),
        vaultlink_crypto::TokenError::NotYetValid => {
            unauthorized("AKV10022: Invalid token: the token is not yet valid.")
        }
        _ => unauthorized("AKV10032: Invalid token: the token signature could not be validated."),
    })?;
    if let Some(tid) = claims.get("tid").and_then(serde_json::Value::as_str) {
        app.count_request(tid)?;
    }
    Ok(claims)
}

fn with_headers(mut r: Resp, vault: Option<&Vault>, ctx: &NetworkContext) -> Resp {
    let h = r.headers_mut();
    let info = format!("conn_type=Ipv4;addr={};act_addr_fam=InterNetwork;", ctx.client_address);
    if let Ok(v) = HeaderValue::from_maybe_shared(bytes::Bytes::from(info)) {
        h.insert("x-ms-keyvault-network-info", v);
    }
    if let Some(v) = vault.and_then(|v| HeaderValue::from_str(&v.location).ok()) {
        h.insert("x-ms-keyvault-region", v);
    }
    h.insert("x-ms-keyvault-service-version", HeaderValue::from_static(SERVICE_VERSION));
    h.insert("strict-transport-security", HeaderValue::from_static("max-age=31536000;includeSubDomains"));
    r
}

pub(crate) fn handle(app: &App, req: &Req) -> Resp {
    let ctx = network_context(app, req);
    let name = req.host.strip_suffix(".vault.azure.net").unwrap_or_default();
    let vault = app.engine.read(|s| keyvault::vault_by_name(s, name).cloned());
    let health = req.method == Method::GET && req.path.trim_end_matches('/').eq_ignore_ascii_case("/healthstatus");
    let resp = match &vault {
        _ if health => crate::http::json(StatusCode::OK, &json!({})),
        None => error(&kv::vault_not_found(name)),
        Some(v) => match serve(app, req, name, &ctx) {
            Ok(r) => r,
            Err(e) => {
                if e.kind == Kind::Forbidden || e.kind == Kind::TooManyRequests {
                    vaultlink_core::info_limited!(vault = %v.name, method = %req.method, path = %req.path, code = %e.code, inner = e.inner.as_deref().unwrap_or(""), "data-plane request refused");
                }
                error(&e)
            }
        },
    };
    let mut resp = with_headers(resp, vault.as_deref(), &ctx);
    if let Some(v) = vault.as_deref()
        && resp.status() == StatusCode::UNAUTHORIZED
    {
        resp.headers_mut().insert(hyper::header::WWW_AUTHENTICATE, challenge(&v.tenant_id));
    }
    resp
}

/// The operation a request names, if its route names one (`http.rs::runs` asks whether it only
/// reads, or is a quick write).
pub(crate) fn operation(req: &Req) -> Option<Operation> {
    let (segs, lower) = split(&req.path);
    let l: Vec<&str> = lower.iter().map(|s| s.as_ref()).collect();
    route(&req.method, &segs, &l).map(|r| r.op)
}

/// The answer to a write whose disk sync failed after `answered` was made: the store's error
/// as the data plane gives it, with the answer's service headers (not its body's).
pub(crate) fn sync_failed(answered: Resp, e: &Error) -> Resp {
    let mut r = error(e);
    for (name, value) in answered.headers() {
        if name.as_str().starts_with("x-ms-") || name == hyper::header::STRICT_TRANSPORT_SECURITY {
            r.headers_mut().insert(name, value.clone());
        }
    }
    r
}

/// The request body as JSON, or Azure's BadParameter.
fn body<T: serde::de::DeserializeOwned>(req: &Req) -> Result<T, Error> {
    if req.body.is_empty() {
        return Err(Error::bad_parameter("The request body is empty."));
    }
    serde_json::from_slice(&req.body).map_err(|e| Error::bad_parameter(format!("The request body is not valid: {e}")))
}

fn ok<T: serde::Serialize + ?Sized>(v: &T) -> Resp {
    crate::http::json(StatusCode::OK, v)
}

/// The path's segments as sent, and lowercased for matching.
fn split(path: &str) -> (Vec<&str>, Vec<Cow<'_, str>>) {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let lower = segs.iter().map(|s| vaultlink_core::engine::lowercase(s)).collect();
    (segs, lower)
}

/// What a request is: one operation, the object it names (authorized at the object's scope
/// when the operation is) and the version it names.
struct Route<'p> {
    op: Operation,
    name: &'p str,
    version: Option<&'p str>,
}

impl<'p> Route<'p> {
    /// An operation on the object named by the path's segment `i` (and the version after it).
    fn on(op: Operation, segs: &[&'p str], i: usize) -> Self {
        Self { op, name: segs.get(i).copied().unwrap_or_default(), version: segs.get(i + 1).copied() }
    }
    /// An operation on the vault's collection (a list, a restore, the contacts).
    fn collection(op: Operation) -> Self {
        Self { op, name: "", version: None }
    }
}

/// The routes table: (method, path) -> operation, per kind.
fn route<'p>(method: &Method, segs: &[&'p str], l: &[&str]) -> Option<Route<'p>> {
    use deleted::route as deleted;
    match l.first() {
        Some(&"keys") => keys::route(method, segs, l),
        Some(&"certificates") => certificates::route(method, segs, l),
        Some(&"deletedsecrets") => deleted::<secrets::DeletedSecrets>(method, segs, l),
        Some(&"deletedkeys") => deleted::<keys::DeletedKeys>(method, segs, l),
        Some(&"deletedcertificates") => deleted::<certificates::DeletedCertificates>(method, segs, l),
        _ => secrets::route(method, segs, l),
    }
}

/// Authentication, then the operation the route names (admitted by the core as it runs).
fn serve(app: &App, req: &Req, vault: &str, ctx: &NetworkContext) -> Result<Resp, Error> {
    let claims = authenticate(app, req)?;
    let ask =
        Ask { vault, claims: &claims, context: ctx, api_version: req.query("api-version"), throttle: &app.throttle };
    let (segs, lower) = split(&req.path);
    let l: Vec<&str> = lower.iter().map(|s| s.as_ref()).collect();
    let Some(r) = route(&req.method, &segs, &l) else {
        return Err(app.engine.read(|s| kv::refuse_unserved(s, &ask, req.method.as_str(), &req.path)));
    };
    let run = Run { app, req, ask, route: &r };
    use kv::{CertificateOp as C, KeyOp as K, SecretOp as S};
    match r.op {
        Operation::Secret(S::Deleted(op)) => deleted::run::<secrets::DeletedSecrets>(&run, op),
        Operation::Key(K::Deleted(op)) => deleted::run::<keys::DeletedKeys>(&run, op),
        Operation::Certificate(C::Deleted(op)) => deleted::run::<certificates::DeletedCertificates>(&run, op),
        Operation::Secret(op) => secrets::run(&run, op),
        Operation::Key(op) => keys::run(&run, op),
        Operation::Certificate(op) => certificates::run(&run, op),
    }
}

/// One routed request on its way to the core.
struct Run<'a> {
    app: &'a App,
    req: &'a Req,
    ask: Ask<'a>,
    route: &'a Route<'a>,
}

impl Run<'_> {
    /// Reads, once the operation is admitted on the same snapshot.
    fn read<T>(&self, f: impl FnOnce(&State, &Admitted) -> Result<T, Error>) -> Result<T, Error> {
        self.app.engine.read(|s| f(s, &kv::admit(s, &self.ask, self.route.op, Some(self.route.name))?))
    }
    /// Writes, once the operation is admitted on the state it changes (inside `Engine::write`).
    fn write<T>(&self, f: impl FnOnce(&State, &mut Batch, &Admitted) -> Result<T, Error>) -> Result<T, Error> {
        self.app.engine.write(|s, b| f(s, b, &kv::admit(s, &self.ask, self.route.op, Some(self.route.name))?))
    }
    /// The page size a list asks for.
    fn size(&self) -> Result<usize, Error> {
        objects::page_size(self.req.query("maxresults"))
    }
    fn skip(&self) -> Option<&str> {
        self.req.query("$skiptoken")
    }
    fn host(&self) -> &str {
        &self.req.host
    }
    /// The request body, parsed (after admission, so a refused caller learns nothing of it).
    fn body<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        body(self.req)
    }
}

/// The body of `POST /{secrets,keys,certificates}/restore`.
#[derive(serde::Deserialize)]
struct BackupBlob {
    value: String,
}

/// Renders a page of any object kind as `{value, nextLink}`; the next link keeps the request's
/// api-version and `maxresults`.
fn page<'p, T, J: serde::Serialize>(
    req: &Req,
    path: &str,
    p: &'p objects::Page<T>,
    render: impl Fn(&'p T) -> J,
) -> Resp {
    let next = p.next.as_ref().map(|tok| {
        let api = req.query("api-version").unwrap_or("7.4");
        let max = req.query("maxresults").map(|m| format!("&maxresults={m}")).unwrap_or_default();
        format!("https://{}{path}?api-version={api}&$skiptoken={tok}{max}", req.host)
    });
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct PageJson<J> {
        value: Vec<J>,
        next_link: Option<String>,
    }
    ok(&PageJson { value: p.items.iter().map(render).collect(), next_link: next })
}
