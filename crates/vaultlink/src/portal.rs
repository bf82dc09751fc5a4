//! The portal: a web page for the seed's "Azure portal" tab, served on the direct HTTPS listener
//! under `/portal/`. It owns the page's assets (compiled in), sign-in, sessions and cross-site
//! request protection; it implements no Azure rule. Every read and change goes through
//! `crate::arm::handle`, the same routes table `az` uses, as the signed-in principal.
//!
//! Routes (all below `/portal`):
//! - `GET /portal/` and its scripts and style sheet (`ASSETS`): the page (no CDN, nothing fetched).
//! - `POST /portal/api/signin` `{clientId, clientSecret}`: the core's client-credential check;
//!   sets the session cookie and returns the session's CSRF token.
//! - `GET /portal/api/session`, `POST /portal/api/signout`.
//! - `ANY /portal/api/arm/{ARM path}?api-version=...`: one ARM request, as the session's principal.
//! - `POST /portal/api/check-name` `{type, name}`: ARM's name rules for that type, for a form.
//! - `POST /portal/api/deploy` `{steps: [{path, body, skipIfExists, createOnly} | {register}],
//!   validateOnly}`: ARM PUTs in order (and resource provider registrations); when one fails, the
//!   ones it created are deleted again (newest first), so a multi-step create leaves nothing
//!   half-made. `validateOnly` runs them on a trial copy of the state and keeps nothing.
//!
//! Security: the session id travels only in an `HttpOnly; Secure; SameSite=Strict` cookie scoped
//! to `/portal`; every request that is not GET/HEAD must also carry the session's CSRF token in
//! `X-CSRF-Token` and an `Origin` equal to this listener's own origin, and no API request may say
//! (`Sec-Fetch-Site`) that it comes from another origin. A cross-site form or fetch therefore
//! carries no cookie, cannot set the header, and has a foreign origin: three refusals.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use vaultlink_core::identity;

use crate::http::{App, Ingress, Req, Resp, json};

/// The session cookie's name.
pub(crate) const COOKIE: &str = "vaultlink_portal";
/// A session lasts this long after sign-in (an Azure portal session is about this long too).
pub(crate) const SESSION_SECS: i64 = 8 * 3600;
/// Sessions kept at most; the oldest are dropped first.
const MAX_SESSIONS: usize = 1024;
/// Most ARM PUTs one "Review + create" may send (a vault with a few endpoints needs far fewer).
const MAX_DEPLOY_STEPS: usize = 32;
/// The audience of the tokens the portal mints for its principal (what `az` asks for).
const ARM_AUDIENCE: &str = "https://management.azure.com/";

/// The page's files, compiled in: (path below `/portal`, body, content type).
const ASSETS: &[(&str, &str, &str)] = &[
    ("/", include_str!("portal/index.html"), "text/html; charset=utf-8"),
    ("/index.html", include_str!("portal/index.html"), "text/html; charset=utf-8"),
    ("/app.css", include_str!("portal/app.css"), "text/css; charset=utf-8"),
    ("/app.js", include_str!("portal/app.js"), "text/javascript; charset=utf-8"),
    ("/groups.js", include_str!("portal/groups.js"), "text/javascript; charset=utf-8"),
    ("/vaults.js", include_str!("portal/vaults.js"), "text/javascript; charset=utf-8"),
    ("/endpoints.js", include_str!("portal/endpoints.js"), "text/javascript; charset=utf-8"),
    ("/networks.js", include_str!("portal/networks.js"), "text/javascript; charset=utf-8"),
    ("/vms.js", include_str!("portal/vms.js"), "text/javascript; charset=utf-8"),
    ("/topology.js", include_str!("portal/topology.js"), "text/javascript; charset=utf-8"),
    ("/search.js", include_str!("portal/search.js"), "text/javascript; charset=utf-8"),
    ("/favicon.svg", include_str!("portal/favicon.svg"), "image/svg+xml"),
];

/// A signed-in principal's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    pub app_id: String,
    pub display_name: String,
    pub csrf: String,
    pub expires: i64,
}

/// Sessions, by session id (kept in memory only: a restart signs everyone out).
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    /// Held while a deployment is validated on a trial copy of the state (`deploy`).
    trials: Mutex<()>,
}

/// Why a request was refused before it reached ARM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No session cookie, an unknown one, or an expired one.
    NotSignedIn,
    /// A state change without an `Origin` header, or from another origin.
    CrossOrigin,
    /// A state change without the session's CSRF token.
    BadCsrfToken,
}

impl Refusal {
    fn render(self) -> Resp {
        let (status, code, message) = match self {
            Refusal::NotSignedIn => {
                (StatusCode::UNAUTHORIZED, "NotSignedIn", "Sign in to the portal first (client id and secret).")
            }
            Refusal::CrossOrigin => (
                StatusCode::FORBIDDEN,
                "CrossOriginRequestRefused",
                "The request did not come from the portal's own page (its Origin header is missing or foreign).",
            ),
            Refusal::BadCsrfToken => (
                StatusCode::FORBIDDEN,
                "InvalidCsrfToken",
                "The request did not carry the session's anti-forgery token (X-CSRF-Token).",
            ),
        };
        json(status, &json!({"error": {"code": code, "message": message}}))
    }
}

impl Sessions {
    /// Starts a session for a principal; returns its id (the cookie value) and the session.
    pub(crate) fn create(&self, app_id: &str, display_name: &str, now: i64) -> (String, Session) {
        let id = vaultlink_crypto::random_hex(32);
        let session = Session {
            app_id: app_id.to_string(),
            display_name: display_name.to_string(),
            csrf: vaultlink_crypto::random_hex(32),
            expires: now + SESSION_SECS,
        };
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, s| s.expires > now);
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(id.clone(), session.clone());
        (id, session)
    }

    /// The live session a request's cookie names.
    pub(crate) fn get(&self, headers: &HeaderMap, now: i64) -> Option<(String, Session)> {
        let id = cookie(headers, COOKIE)?;
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&id).filter(|s| s.expires > now).map(|s| (id.clone(), s.clone()))
    }

    /// Ends a session.
    pub(crate) fn remove(&self, id: &str) {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }

    /// The session of a request, checked for what its method needs: a live session always; for
    /// anything but GET and HEAD also the same origin and the session's CSRF token.
    pub(crate) fn check(
        &self,
        method: &Method,
        headers: &HeaderMap,
        authority: &str,
        now: i64,
    ) -> Result<(String, Session), Refusal> {
        let (id, session) = self.get(headers, now).ok_or(Refusal::NotSignedIn)?;
        // Fetch metadata: a browser says where a request comes from; even a read (which could
        // carry the CSRF token in its answer) must come from the portal's own page.
        let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).unwrap_or("same-origin");
        if !matches!(site, "same-origin" | "none") {
            return Err(Refusal::CrossOrigin);
        }
        if !is_safe(method) {
            check_origin(headers, authority)?;
            let sent = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
            if !constant_time_eq(sent.as_bytes(), session.csrf.as_bytes()) {
                return Err(Refusal::BadCsrfToken);
            }
        }
        Ok((id, session))
    }
}

fn is_safe(method: &Method) -> bool {
    *method == Method::GET || *method == Method::HEAD
}

/// The request's `Origin` must be this listener's own (`https://{Host}`).
pub(crate) fn check_origin(headers: &HeaderMap, authority: &str) -> Result<(), Refusal> {
    let origin = headers.get("origin").and_then(|v| v.to_str().ok()).ok_or(Refusal::CrossOrigin)?;
    if authority.is_empty() || !origin.eq_ignore_ascii_case(&format!("https://{authority}")) {
        return Err(Refusal::CrossOrigin);
    }
    Ok(())
}

/// A cookie's value from the `Cookie` headers.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(hyper::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && !a.is_empty() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn session_cookie(id: &str, max_age: i64) -> String {
    format!("{COOKIE}={id}; Path=/portal; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict")
}

/// Headers every portal response carries: nothing may frame it, load from elsewhere, or sniff.
fn harden(mut r: Resp) -> Resp {
    let h = r.headers_mut();
    for (k, v) in [
        (
            "content-security-policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ] {
        h.insert(k, HeaderValue::from_static(v));
    }
    r
}

fn asset(body: &'static str, content_type: &'static str) -> Resp {
    let mut r = Resp::new(http_body_util::Full::new(Bytes::from_static(body.as_bytes())));
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn not_found() -> Resp {
    json(StatusCode::NOT_FOUND, &json!({"error": {"code": "NotFound", "message": "The portal has no such page."}}))
}

/// Everything below `/portal`.
pub(crate) fn handle(app: &App, req: &Req) -> Resp {
    let rest = req.path.trim_start_matches('/').strip_prefix("portal").unwrap_or("");
    let resp = match (&req.method, rest) {
        (&Method::GET, "") => {
            let mut r = crate::http::empty(StatusCode::MOVED_PERMANENTLY);
            r.headers_mut().insert(hyper::header::LOCATION, HeaderValue::from_static("/portal/"));
            r
        }
        (&Method::GET, path) if ASSETS.iter().any(|(p, _, _)| *p == path) => {
            let (_, body, kind) = ASSETS.iter().find(|(p, _, _)| *p == path).expect("matched above");
            asset(body, kind)
        }
        (&Method::POST, "/api/signin") => sign_in(app, req),
        (_, r) if r.starts_with("/api/") => {
            match app.portal.check(&req.method, &req.headers, &req.authority, app.now()) {
                Err(refusal) => {
                    vaultlink_core::info_limited!(method = %req.method, path = %req.path, ?refusal, "portal request refused");
                    refusal.render()
                }
                Ok((id, session)) => signed_in(app, req, &r[5..], &id, &session),
            }
        }
        _ => not_found(),
    };
    harden(resp)
}

/// `POST /portal/api/signin`: the same checks as Entra's token endpoint, for a service
/// principal's secret or a user's password.
fn sign_in(app: &App, req: &Req) -> Resp {
    if let Err(r) = check_origin(&req.headers, &req.authority) {
        return r.render();
    }
    if !req.header("content-type").is_some_and(|c| c.starts_with("application/json")) {
        return json(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &json!({"error": {"code": "UnsupportedMediaType", "message": "Sign-in takes a JSON body."}}),
        );
    }
    let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
    let field = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("").trim().to_string();
    let (client_id, secret) = (field("clientId"), field("clientSecret"));
    // A name with `@` is a user signing in with its password; else a service principal's secret.
    let signed_in = if client_id.contains('@') {
        identity::authenticate_user(&app.engine, "organizations", &client_id, &secret)
    } else {
        identity::authenticate(&app.engine, vaultlink_core::seed::TENANT_ID, &client_id, &secret)
    };
    match signed_in {
        Err(e) => {
            vaultlink_core::info_limited!(client_id = %client_id, error = e.error, "portal sign-in refused");
            json(StatusCode::UNAUTHORIZED, &json!({"error": {"code": e.error, "message": e.description}}))
        }
        Ok(p) => {
            let (id, session) = app.portal.create(&p.app_id, &p.display_name, app.now());
            tracing::info!(client_id = %p.app_id, "portal sign-in");
            let mut r = json(StatusCode::OK, &session_body(&session));
            if let Ok(v) = HeaderValue::from_str(&session_cookie(&id, SESSION_SECS)) {
                r.headers_mut().insert(hyper::header::SET_COOKIE, v);
            }
            r
        }
    }
}

fn session_body(s: &Session) -> Value {
    json!({"principal": {"appId": s.app_id, "displayName": s.display_name}, "csrfToken": s.csrf})
}

fn signed_in(app: &App, req: &Req, api: &str, id: &str, session: &Session) -> Resp {
    match (&req.method, api) {
        (&Method::GET, "session") => json(StatusCode::OK, &session_body(session)),
        (&Method::POST, "signout") => {
            app.portal.remove(id);
            let mut r = crate::http::empty(StatusCode::NO_CONTENT);
            if let Ok(v) = HeaderValue::from_str(&session_cookie("", 0)) {
                r.headers_mut().insert(hyper::header::SET_COOKIE, v);
            }
            r
        }
        (&Method::POST, "deploy") => deploy(app, req, session),
        (&Method::POST, "check-name") => check_name(&req.body),
        (m, a) if a.starts_with("arm/") => {
            let Some(token) = token_for(app, session) else { return Refusal::NotSignedIn.render() };
            let query: Vec<(String, String)> = req.query.clone();
            crate::arm::handle(app, &arm_request(req, m.clone(), &a[3..], query, req.body.clone(), &token))
        }
        _ => not_found(),
    }
}

/// The Azure portal's own application id: the client a user's portal token names.
const PORTAL_CLIENT_ID: &str = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c";

/// A token for the session's principal, as Entra would issue it (None when the principal is gone).
fn token_for(app: &App, session: &Session) -> Option<String> {
    let p = app.engine.read(|s| identity::principal(s, &session.app_id))?;
    Some(app.signer.sign(&identity::token_claims(&p, ARM_AUDIENCE, PORTAL_CLIENT_ID, app.now())))
}

/// The ARM request the portal makes on the principal's behalf: only its own headers go through.
fn arm_request(req: &Req, method: Method, path: &str, query: Vec<(String, String)>, body: Bytes, token: &str) -> Req {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(&format!("Bearer {token}")) {
        headers.insert(hyper::header::AUTHORIZATION, v);
    }
    Req {
        method,
        path: path.to_string(),
        query,
        headers,
        body,
        host: req.host.clone(),
        authority: req.authority.clone(),
        ingress: Ingress::Direct,
    }
}

/// Splits `/subscriptions/...?api-version=X` into path and query.
fn split_path(path_and_query: &str) -> (String, Vec<(String, String)>) {
    match path_and_query.split_once('?') {
        Some((p, q)) => (p.to_string(), crate::http::parse_form(q)),
        None => (path_and_query.to_string(), Vec::new()),
    }
}

/// `POST /portal/api/check-name` `{type, name, windows}`: whether a name may be given to a
/// resource of that type, by the same rules ARM applies to its PUT (`vaultlink_rules::names`,
/// the compute rules for a VM), so a create form can say so beside the field as it is typed.
/// Answers `{valid}` and, when not, ARM's `code` and `message`. (A vault's name is asked of Key
/// Vault's own `checkNameAvailability`, which also knows names in use.)
fn check_name(body: &[u8]) -> Resp {
    let body: Value = serde_json::from_slice(body).unwrap_or_default();
    let text = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default();
    let (kind, name) = (text("type").to_ascii_lowercase(), text("name"));
    let refusal = match kind.as_str() {
        "microsoft.resources/resourcegroups" => {
            vaultlink_rules::resource_group_name(name).err().map(|e| (e.code.to_string(), e.message))
        }
        "microsoft.compute/virtualmachines" => {
            let windows = body.get("windows").and_then(Value::as_bool).unwrap_or(false);
            vaultlink_core::compute::validate_name(name, windows).err().map(|e| (e.code().to_string(), e.message))
        }
        k if k.starts_with("microsoft.network/") && k != "microsoft.network/privatednszones" => {
            vaultlink_rules::network_resource_name(name).err().map(|e| (e.code.to_string(), e.message))
        }
        _ => {
            return json(
                StatusCode::BAD_REQUEST,
                &json!({"error": {"code": "InvalidResourceType", "message": format!("Names of type '{kind}' are not checked here.")}}),
            );
        }
    };
    json(
        StatusCode::OK,
        &match refusal {
            None => json!({"valid": true}),
            Some((code, message)) => json!({"valid": false, "code": code, "message": message}),
        },
    )
}

/// `POST /portal/api/deploy`: ARM PUTs in order, as one all-or-nothing action for the page.
/// ARM makes each PUT atomic; this undoes the earlier ones when a later one fails (a vault is
/// deleted and purged, so its name is free again), and says which step failed and why.
///
/// With `"validateOnly": true` (the page's "Validation passed / failed" on Review + create) the
/// same steps run against a trial copy of the state (`Engine::trial`) that is then dropped: every
/// refusal Create would meet is found by the rules that would refuse it (a name, a full subnet,
/// an overlapping range, a missing role), and nothing changes. One trial runs at a time, so the
/// copies never take more than one state's memory.
fn deploy(app: &App, req: &Req, session: &Session) -> Resp {
    let Some(token) = token_for(app, session) else { return Refusal::NotSignedIn.render() };
    let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
    let steps = body.get("steps").and_then(Value::as_array).cloned().unwrap_or_default();
    if steps.is_empty() || steps.len() > MAX_DEPLOY_STEPS {
        return json(
            StatusCode::BAD_REQUEST,
            &json!({"error": {"code": "InvalidDeployment", "message": format!("A deployment has 1 to {MAX_DEPLOY_STEPS} steps.")}}),
        );
    }
    if body.get("validateOnly").and_then(Value::as_bool).unwrap_or(false) {
        let _one = app.portal.trials.lock().unwrap_or_else(|p| p.into_inner());
        let trial = app.engine.trial();
        let scratch = app.over(trial.engine.clone());
        return match run_steps(&scratch, req, &token, &steps) {
            Ok(results) => json(StatusCode::OK, &json!({"steps": results, "validateOnly": true})),
            Err(failed) => failed.render(Vec::new()),
        };
    }
    let failed = match run_steps(app, req, &token, &steps) {
        Ok(results) => return json(StatusCode::OK, &json!({"steps": results})),
        Err(failed) => failed,
    };
    let mut rolled_back = Vec::new();
    for path in failed.created.iter().rev() {
        let purge = vault_purge_path(app, path);
        let ok = arm_call(app, req, &token, Method::DELETE, path, Bytes::new()).status().is_success();
        if ok && let Some(purge) = purge {
            let _ = arm_call(app, req, &token, Method::POST, &purge, Bytes::new());
        }
        rolled_back.push(json!({"path": path, "deleted": ok}));
    }
    tracing::info!(step = failed.step, path = %failed.path, "portal deployment failed; rolled back");
    failed.render(rolled_back)
}

/// A deployment's step that ARM refused, with what the steps before it did.
struct FailedStep {
    step: usize,
    path: String,
    status: StatusCode,
    error: Value,
    completed: Vec<Value>,
    /// The paths the earlier steps created (what a rollback deletes).
    created: Vec<String>,
}

impl FailedStep {
    fn render(self, rolled_back: Vec<Value>) -> Resp {
        json(
            self.status,
            &json!({
                "error": self.error.get("error").cloned().unwrap_or(json!({"code": "DeploymentFailed", "message": "The deployment failed."})),
                "failedStep": self.step,
                "failedPath": self.path,
                "completed": self.completed,
                "rolledBack": rolled_back,
            }),
        )
    }
}

/// One ARM request as the session's principal, against `app` (the live one or a trial's).
fn arm_call(app: &App, req: &Req, token: &str, method: Method, target: &str, body: Bytes) -> Resp {
    let (path, query) = split_path(target);
    crate::arm::handle(app, &arm_request(req, method, &path, query, body, token))
}

/// Runs the steps in order against `app` until one is refused.
fn run_steps(app: &App, req: &Req, token: &str, steps: &[Value]) -> Result<Vec<Value>, FailedStep> {
    let call = |method: Method, target: &str, body: Bytes| arm_call(app, req, token, method, target, body);
    let (mut completed, mut created) = (Vec::new(), Vec::new());
    for (step, s) in steps.iter().enumerate() {
        match run_step(&call, s) {
            Ok((result, new)) => {
                completed.push(result);
                created.extend(new);
            }
            Err((path, status, error)) => return Err(FailedStep { step, path, status, error, completed, created }),
        }
    }
    Ok(completed)
}

/// A refused step: its path, ARM's status and ARM's error body.
type Refused = (String, StatusCode, Value);

/// One step: `{register}` (a resource provider's path, registered first when it is not, as the
/// Azure portal does before a create) or `{path, body, skipIfExists, createOnly}` (an ARM PUT).
/// Answers what it did and, when the PUT created the resource, its path.
fn run_step(call: &dyn Fn(Method, &str, Bytes) -> Resp, step: &Value) -> Result<(Value, Option<String>), Refused> {
    let refused = |target: &str, resp: Resp| (target.to_string(), resp.status(), crate::http::response_json(resp));
    if let Some(provider) = step.get("register").and_then(Value::as_str) {
        let now = crate::http::response_json(call(Method::GET, provider, Bytes::new()));
        if now.get("registrationState").and_then(Value::as_str) != Some("Registered") {
            let (path, query) = provider.split_once('?').unwrap_or((provider, ""));
            let resp = call(Method::POST, &format!("{path}/register?{query}"), Bytes::new());
            if !resp.status().is_success() {
                return Err(refused(provider, resp));
            }
        }
        return Ok((json!({"path": provider, "status": "registered"}), None));
    }
    let target = step.get("path").and_then(Value::as_str).unwrap_or("");
    let flag = |k: &str| step.get(k).and_then(Value::as_bool).unwrap_or(false);
    let exists = || call(Method::GET, target, Bytes::new()).status() == StatusCode::OK;
    if flag("skipIfExists") && exists() {
        return Ok((json!({"path": target, "status": "exists"}), None));
    }
    // "Create" in the page means a new resource: a PUT must not quietly update an old one.
    if flag("createOnly") && exists() {
        let name = split_path(target).0.rsplit('/').next().unwrap_or_default().to_string();
        let error = json!({"error": {"code": "ResourceAlreadyExists", "message": format!("A resource named '{name}' already exists here; choose another name.")}});
        return Err((target.to_string(), StatusCode::CONFLICT, error));
    }
    let resp = call(Method::PUT, target, Bytes::from(step.get("body").map(Value::to_string).unwrap_or_default()));
    if !resp.status().is_success() {
        return Err(refused(target, resp));
    }
    let new = (resp.status() == StatusCode::CREATED).then(|| target.to_string());
    Ok((json!({"path": target, "status": "created"}), new))
}

/// For a vault's path, the purge path of the soft-deleted vault its DELETE will leave behind.
fn vault_purge_path(app: &App, target: &str) -> Option<String> {
    let (path, query) = split_path(target);
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let is_vault =
        segs.len() == 8 && segs[5].eq_ignore_ascii_case("microsoft.keyvault") && segs[6].eq_ignore_ascii_case("vaults");
    if !is_vault {
        return None;
    }
    let location =
        app.engine.read(|s| vaultlink_core::keyvault::vault_by_name(s, segs[7]).map(|v| v.location.clone()))?;
    let api = query.iter().find(|(k, _)| k == "api-version").map(|(_, v)| v.clone()).unwrap_or_default();
    Some(format!(
        "/subscriptions/{}/providers/Microsoft.KeyVault/locations/{location}/deletedVaults/{}/purge?api-version={api}",
        segs[1], segs[7]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(hyper::header::HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    const HOST: &str = "127.0.0.1:8443";

    fn name_verdict(kind: &str, name: &str, windows: bool) -> (StatusCode, Value) {
        let r = check_name(json!({"type": kind, "name": name, "windows": windows}).to_string().as_bytes());
        (r.status(), crate::http::response_json(r))
    }

    #[test]
    fn names_are_judged_by_arms_rules_for_their_type() {
        let ok = (StatusCode::OK, json!({"valid": true}));
        assert_eq!(name_verdict("Microsoft.Network/privateEndpoints", "pe-1_a.b", false), ok);
        let (status, bad) = name_verdict("Microsoft.Network/privateEndpoints", "bad name!", false);
        assert_eq!(
            (status, &bad["valid"], &bad["code"]),
            (StatusCode::OK, &json!(false), &json!("InvalidResourceName"))
        );
        assert!(bad["message"].as_str().unwrap().starts_with("Resource name bad name! is invalid."), "{bad}");
        assert_eq!(name_verdict("microsoft.resources/resourcegroups", "rg-(1).x", false), ok);
        assert_eq!(name_verdict("Microsoft.Resources/resourceGroups", "rg.", false).1["code"], "InvalidResourceGroup");
        // A VM's name: 64 characters on Linux, 15 on Windows (its computer name).
        assert_eq!(name_verdict("Microsoft.Compute/virtualMachines", "winportal-toolong", false), ok);
        let win = name_verdict("Microsoft.Compute/virtualMachines", "winportal-toolong", true).1;
        assert_eq!((&win["valid"], &win["code"]), (&json!(false), &json!("InvalidParameter")), "{win}");
        // A zone's name follows DNS rules, not this check; unknown types are refused.
        assert_eq!(name_verdict("Microsoft.Network/privateDnsZones", "a.b", false).0, StatusCode::BAD_REQUEST);
        assert_eq!(name_verdict("Microsoft.Foo/bars", "x", false).0, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn a_request_without_the_cookie_is_not_signed_in() {
        let s = Sessions::default();
        s.create("app", "dev", 100);
        assert_eq!(s.check(&Method::GET, &headers(&[]), HOST, 100).unwrap_err(), Refusal::NotSignedIn);
        let forged = headers(&[("cookie", "vaultlink_portal=0123")]);
        assert_eq!(s.check(&Method::GET, &forged, HOST, 100).unwrap_err(), Refusal::NotSignedIn);
    }

    #[test]
    fn a_session_reads_with_its_cookie_and_expires() {
        let s = Sessions::default();
        let (id, session) = s.create("app", "dev", 100);
        assert_eq!(session.expires, 100 + SESSION_SECS);
        let h = headers(&[("cookie", &format!("other=1; {COOKIE}={id}"))]);
        assert_eq!(s.check(&Method::GET, &h, HOST, 200).unwrap().1.app_id, "app");
        assert_eq!(s.check(&Method::GET, &h, HOST, 100 + SESSION_SECS).unwrap_err(), Refusal::NotSignedIn);
    }

    #[test]
    fn a_state_change_needs_the_same_origin_and_the_csrf_token() {
        let s = Sessions::default();
        let (id, session) = s.create("app", "dev", 100);
        let c = format!("{COOKIE}={id}");
        let origin = format!("https://{HOST}");
        let ok = headers(&[("cookie", &c), ("origin", &origin), ("x-csrf-token", &session.csrf)]);
        for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(s.check(&m, &ok, HOST, 101).is_ok());
        }
        let no_origin = headers(&[("cookie", &c), ("x-csrf-token", &session.csrf)]);
        assert_eq!(s.check(&Method::PUT, &no_origin, HOST, 101).unwrap_err(), Refusal::CrossOrigin);
        let foreign = headers(&[("cookie", &c), ("origin", "http://127.0.0.1:9000"), ("x-csrf-token", &session.csrf)]);
        assert_eq!(s.check(&Method::POST, &foreign, HOST, 101).unwrap_err(), Refusal::CrossOrigin);
        let null = headers(&[("cookie", &c), ("origin", "null"), ("x-csrf-token", &session.csrf)]);
        assert_eq!(s.check(&Method::POST, &null, HOST, 101).unwrap_err(), Refusal::CrossOrigin);
        let no_token = headers(&[("cookie", &c), ("origin", &origin)]);
        assert_eq!(s.check(&Method::DELETE, &no_token, HOST, 101).unwrap_err(), Refusal::BadCsrfToken);
        let wrong = headers(&[("cookie", &c), ("origin", &origin), ("x-csrf-token", "00")]);
        assert_eq!(s.check(&Method::POST, &wrong, HOST, 101).unwrap_err(), Refusal::BadCsrfToken);
        // Another session's token is not this session's.
        let (_, other) = s.create("app2", "other", 100);
        let swapped = headers(&[("cookie", &c), ("origin", &origin), ("x-csrf-token", &other.csrf)]);
        assert_eq!(s.check(&Method::POST, &swapped, HOST, 101).unwrap_err(), Refusal::BadCsrfToken);
        // Reads need neither (the page's GETs change nothing)...
        assert!(s.check(&Method::GET, &headers(&[("cookie", &c)]), HOST, 101).is_ok());
        let own = headers(&[("cookie", &c), ("sec-fetch-site", "same-origin")]);
        assert!(s.check(&Method::GET, &own, HOST, 101).is_ok());
        // ...but a browser that says the request comes from another origin is refused even then.
        for site in ["same-site", "cross-site"] {
            let other = headers(&[("cookie", &c), ("sec-fetch-site", site)]);
            assert_eq!(s.check(&Method::GET, &other, HOST, 101).unwrap_err(), Refusal::CrossOrigin);
        }
    }

    #[test]
    fn sign_out_ends_the_session() {
        let s = Sessions::default();
        let (id, _) = s.create("app", "dev", 100);
        s.remove(&id);
        let h = headers(&[("cookie", &format!("{COOKIE}={id}"))]);
        assert_eq!(s.check(&Method::GET, &h, HOST, 101).unwrap_err(), Refusal::NotSignedIn);
    }

    #[test]
    fn sessions_are_bounded_and_ids_unguessable() {
        let s = Sessions::default();
        let (a, sa) = s.create("app", "dev", 100);
        let (b, sb) = s.create("app", "dev", 100);
        assert_ne!(a, b);
        assert_ne!(sa.csrf, sb.csrf);
        assert_eq!(a.len(), 64);
        for i in 0..(MAX_SESSIONS + 10) {
            s.create("app", "dev", 200 + i as i64);
        }
        assert!(s.map.lock().unwrap().len() <= MAX_SESSIONS);
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_scoped() {
        let c = session_cookie("abc", SESSION_SECS);
        for part in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/portal"] {
            assert!(c.contains(part), "{c}");
        }
    }

    #[test]
    fn purge_paths_are_only_for_vaults() {
        let (p, q) = split_path(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v?api-version=2023-07-01",
        );
        assert_eq!(p, "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v");
        assert_eq!(q, vec![("api-version".to_string(), "2023-07-01".to_string())]);
    }
}
