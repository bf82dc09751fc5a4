//! The Key Vault data plane at `https://{vault}.vault.azure.net`: the challenge, token checks, the
//! network decision, throttling, authorization, and the secrets routes table (`/deletedsecrets`
//! through `dataplane_deleted.rs`).

use std::net::Ipv4Addr;

use hyper::header::HeaderValue;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use vaultlink_core::firewall::{self, NetworkContext};
use vaultlink_core::kv::{self, Kind, KvError, Permission, TxClass, objects, secrets};
use vaultlink_core::model::Vault;
use vaultlink_core::{Batch, Caller, State, identity, keyvault, netctx, seed};

use crate::dataplane_deleted::Deleted;
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
fn error(e: &KvError) -> Resp {
    let status = match e.kind {
        Kind::BadRequest => StatusCode::BAD_REQUEST,
        Kind::Unauthorized => StatusCode::UNAUTHORIZED,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::Conflict => StatusCode::CONFLICT,
        Kind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        Kind::Internal => {
            tracing::error!(detail = %e.message, "data-plane internal error");
            return crate::http::json(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"error": {"code": "InternalServerError", "message": "vaultlink encountered an internal error. See its log."}}),
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

fn authenticate(app: &App, req: &Req) -> Result<Caller, KvError> {
    let unauthorized = |m: &str| KvError::new(Kind::Unauthorized, "Unauthorized", m);
    let Some(auth) = req.header("authorization") else {
        return Err(unauthorized("AKV10000: Request is missing a Bearer or PoP token."));
    };
    let Some(token) = auth.strip_prefix("Bearer ").or_else(|| auth.strip_prefix("bearer ")) else {
        return Err(unauthorized("AKV10000: Request is missing a Bearer or PoP token."));
    };
    let claims = app.signer.verify(token.trim(), vaultlink_core::engine::now()).map_err(|e| match e {
        vaultlink_crypto::TokenError::Expired => unauthorized("AKV10022: Invalid token: the token has expired."),
        vaultlink_crypto::TokenError::NotYetValid => {
            unauthorized("AKV10022: Invalid token: the token is not yet valid.")
        }
        _ => unauthorized("AKV10032: Invalid token: the token signature could not be validated."),
    })?;
    app.engine
        .read(|s| identity::caller_from_claims(s, &claims, &[identity::VAULT_AUDIENCE, "https://vault.azure.net/"]))
        .map_err(|_| {
            let aud = claims.get("aud").and_then(Value::as_str).unwrap_or_default();
            unauthorized(&format!("AKV10022: Invalid audience. Expected https://vault.azure.net, found: {aud}."))
        })
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
        None => error(&KvError::new(Kind::NotFound, "VaultNotFound", format!("The vault '{name}' does not exist."))),
        Some(v) => match serve(app, req, v, &ctx) {
            Ok(r) => r,
            Err(e) => {
                if e.kind == Kind::Forbidden || e.kind == Kind::TooManyRequests {
                    tracing::info!(vault = %v.name, method = %req.method, path = %req.path, code = %e.code, inner = e.inner.as_deref().unwrap_or(""), "data-plane request refused");
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

/// Whether a POST only reads state: a key's cryptographic operations (`/keys/{name}/{version}/sign`
/// and the like), which use a stored key and store nothing.
pub(crate) fn post_only_reads(req: &Req) -> bool {
    crate::dataplane_keys::is_crypto_operation(req.path.trim_end_matches('/').rsplit('/').next().unwrap_or_default())
}

/// The request body as JSON, or Azure's BadParameter.
pub(crate) fn body<T: serde::de::DeserializeOwned>(req: &Req) -> Result<T, KvError> {
    if req.body.is_empty() {
        return Err(KvError::bad_parameter("The request body is empty."));
    }
    serde_json::from_slice(&req.body).map_err(|e| KvError::bad_parameter(format!("The request body is not valid: {e}")))
}

pub(crate) fn ok<T: serde::Serialize + ?Sized>(v: &T) -> Resp {
    crate::http::json(StatusCode::OK, v)
}

/// Authentication, the network decision, throttling, then the operation.
fn serve(app: &App, req: &Req, vault: &Vault, ctx: &NetworkContext) -> Result<Resp, KvError> {
    let caller = authenticate(app, req)?;
    // A token is good only for vaults of the tenant that issued it; the challenge names the
    // vault's tenant, so a client gets a token there and tries again.
    if !caller.tenant_id.eq_ignore_ascii_case(&vault.tenant_id) {
        return Err(KvError::new(
            Kind::Unauthorized,
            "Unauthorized",
            format!(
                "AKV10032: Invalid issuer. Expected one of https://sts.windows.net/{t}/, https://login.microsoftonline.com/{t}/v2.0, found https://sts.windows.net/{}/.",
                caller.tenant_id,
                t = vault.tenant_id
            ),
        ));
    }
    kv::check_api_version(req.query("api-version"))?;
    if let Err(denied) = app.engine.read(|s| firewall::decide(s, vault, ctx, &caller)) {
        tracing::info!(vault = %vault.name, client = %ctx.client_address, reason = %denied.reason, "network refused the request");
        return Err(KvError::new(Kind::Forbidden, "Forbidden", denied.message).with_inner(denied.inner_code));
    }
    let segs: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
    let lower: Vec<std::borrow::Cow<'_, str>> = segs.iter().map(|s| vaultlink_core::engine::lowercase(s)).collect();
    let l: Vec<&str> = lower.iter().map(|s| s.as_ref()).collect();
    // CREATE secret and CREATE/IMPORT key share the create budget (azure-behaviour.md §5.4).
    let class = match (&req.method, l.as_slice()) {
        (&Method::PUT, ["secrets", _] | ["keys", _])
        | (&Method::POST, ["keys", _, "create"] | ["certificates", _, "import"]) => TxClass::Create,
        _ => TxClass::Other,
    };
    app.throttle.admit(&vault.id, class)?;
    use crate::dataplane_deleted::deleted_routes;
    match l.first() {
        Some(&"keys") => crate::dataplane_keys::key_routes(app, req, vault, &caller, &segs, &l),
        Some(&"certificates") => crate::dataplane_certs::cert_routes(app, req, vault, &caller, &segs, &l),
        Some(&"deletedsecrets") => deleted_routes::<DeletedSecrets>(app, req, vault, &caller, &segs, &l),
        Some(&"deletedkeys") => {
            deleted_routes::<crate::dataplane_keys::DeletedKeys>(app, req, vault, &caller, &segs, &l)
        }
        Some(&"deletedcertificates") => {
            deleted_routes::<crate::dataplane_certs::DeletedCertificates>(app, req, vault, &caller, &segs, &l)
        }
        _ => secret_routes(app, req, vault, &caller, &segs, &l),
    }
}

const GET: Permission =
    Permission { data_action: "Microsoft.KeyVault/vaults/secrets/getSecret/action", policy: ("secrets", "get") };
const LIST: Permission =
    Permission { data_action: "Microsoft.KeyVault/vaults/secrets/readMetadata/action", policy: ("secrets", "list") };
const SET: Permission =
    Permission { data_action: "Microsoft.KeyVault/vaults/secrets/setSecret/action", policy: ("secrets", "set") };
const UPDATE: Permission =
    Permission { data_action: "Microsoft.KeyVault/vaults/secrets/update/action", policy: ("secrets", "set") };
const DELETE: Permission =
    Permission { data_action: "Microsoft.KeyVault/vaults/secrets/delete", policy: ("secrets", "delete") };
const BACKUP: Permission =
    Permission { data_action: "Microsoft.KeyVault/vaults/secrets/backup/action", policy: ("secrets", "backup") };
const RESTORE: Permission =
    Permission { data_action: "Microsoft.KeyVault/vaults/secrets/restore/action", policy: ("secrets", "restore") };
const RECOVER: Permission =
    Permission { data_action: "Microsoft.KeyVault/vaults/secrets/recover/action", policy: ("secrets", "recover") };
const PURGE: Permission =
    Permission { data_action: "Microsoft.KeyVault/vaults/secrets/purge/action", policy: ("secrets", "purge") };
const GET_DELETED: Permission =
    Permission { data_action: "Microsoft.KeyVault/vaults/secrets/readMetadata/action", policy: ("secrets", "get") };

/// The deleted secrets' routes (`dataplane_deleted.rs`).
pub(crate) struct DeletedSecrets;

impl Deleted for DeletedSecrets {
    type View = secrets::SecretView;
    const PATH: &'static str = "deletedsecrets";
    const SLASH_LISTS: bool = false;
    const LIST: Permission = LIST;
    const GET: Permission = GET_DELETED;
    const PURGE: Permission = PURGE;
    const RECOVER: Permission = RECOVER;

    fn list(s: &State, vault: &Vault, size: usize, skip: Option<&str>) -> Result<objects::Page<Self::View>, KvError> {
        secrets::list_deleted(s, vault, size, skip)
    }
    fn get(s: &State, vault: &Vault, name: &str) -> Result<Self::View, KvError> {
        secrets::get_deleted(s, vault, name)
    }
    fn purge(s: &State, b: &mut Batch, vault: &Vault, name: &str) -> Result<(), KvError> {
        secrets::purge(s, b, vault, name)
    }
    fn recover(s: &State, b: &mut Batch, vault: &Vault, name: &str) -> Result<Self::View, KvError> {
        secrets::recover(s, b, vault, name)
    }
    fn render_item(host: &str, v: &Self::View) -> impl serde::Serialize {
        secrets::render(host, v, false)
    }
    fn render(host: &str, v: &Self::View) -> impl serde::Serialize {
        secrets::render(host, v, true)
    }
}

/// The body of `POST /{secrets,keys,certificates}/restore`.
#[derive(serde::Deserialize)]
pub(crate) struct BackupBlob {
    pub value: String,
}

/// Renders a page of any object kind as `{value, nextLink}`; the next link keeps the request's
/// api-version and `maxresults`.
pub(crate) fn page<'p, T, J: serde::Serialize>(
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

/// The secrets routes table: (method, path) -> authorize, then one core call.
fn secret_routes(
    app: &App,
    req: &Req,
    vault: &Vault,
    caller: &Caller,
    segs: &[&str],
    l: &[&str],
) -> Result<Resp, KvError> {
    use Method as M;
    let e = &app.engine;
    let auth = |perm: Permission, object: Option<&str>| e.read(|s| kv::authorize(s, vault, caller, perm, object));
    let write = |f: &dyn Fn(&State, &mut Batch) -> Result<secrets::SecretView, KvError>| e.write(f);
    let host = req.host.as_str();
    let size = || objects::page_size(req.query("maxresults"));
    let skip = req.query("$skiptoken");
    let name = |i: usize| segs[i];
    Ok(match (&req.method, l) {
        (&M::GET, ["secrets"] | ["secrets", ""]) => {
            auth(LIST, None)?;
            page(req, "/secrets", &e.read(|s| secrets::list(s, vault, size()?, skip))?, |x| {
                secrets::render(&req.host, x, false)
            })
        }
        (&M::POST, ["secrets", "restore"]) => {
            auth(RESTORE, None)?;
            let blob: BackupBlob = body(req)?;
            ok(&secrets::render(host, &write(&|s, b| secrets::restore(s, b, &app.sealer, vault, &blob.value))?, true))
        }
        (&M::GET, ["secrets", _, "versions"]) => {
            auth(LIST, Some(name(1)))?;
            page(
                req,
                &format!("/secrets/{}/versions", name(1)),
                &e.read(|s| secrets::list_versions(s, vault, name(1), size()?, skip))?,
                |x| secrets::render(&req.host, x, true),
            )
        }
        (&M::POST, ["secrets", _, "backup"]) => {
            auth(BACKUP, Some(name(1)))?;
            ok(&json!({"value": e.read(|s| secrets::backup(s, &app.sealer, vault, name(1)))?}))
        }
        (&M::GET, ["secrets", _] | ["secrets", _, _]) => {
            auth(GET, Some(name(1)))?;
            ok(&secrets::render(
                host,
                &e.read(|s| secrets::get(s, &app.sealer, vault, name(1), segs.get(2).copied()))?,
                true,
            ))
        }
        (&M::PUT, ["secrets", _]) => {
            auth(SET, Some(name(1)))?;
            let spec: secrets::SetSpec = body(req)?;
            let out = e.write(|s, b| secrets::set(s, b, &app.sealer, vault, name(1), spec))?;
            ok(&secrets::render(host, &out, true))
        }
        (&M::PATCH, ["secrets", _] | ["secrets", _, _]) => {
            auth(UPDATE, Some(name(1)))?;
            let spec: secrets::UpdateSpec = body(req)?;
            let out = e.write(|s, b| secrets::update(s, b, vault, name(1), segs.get(2).copied(), spec))?;
            ok(&secrets::render(host, &out, true))
        }
        (&M::DELETE, ["secrets", _]) => {
            auth(DELETE, Some(name(1)))?;
            ok(&secrets::render(host, &write(&|s, b| secrets::delete(s, b, vault, name(1)))?, true))
        }
        _ => {
            return Err(KvError::bad_parameter(format!("vaultlink does not serve {} {}.", req.method, req.path)));
        }
    })
}
