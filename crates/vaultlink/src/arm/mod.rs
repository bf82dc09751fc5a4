//! Azure Resource Manager: authentication, api-version checks, and the routes table. Handlers are
//! one core call each; rendering lives with each resource in the core.

mod authorization;
pub(crate) mod compute;
pub(crate) mod deployments;
mod error;
pub(crate) use error::render as render_error;
pub(crate) mod links;
mod networks;
mod vaults;
mod zones;

use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use vaultlink_core::engine::now;
use vaultlink_core::error::Kind;
use vaultlink_core::network::{self, onprem, peering};
use vaultlink_core::privatedns::Preconditions;
use vaultlink_core::privatelink::{self, connections, zonegroups};
use vaultlink_core::rbac::Admitted;
use vaultlink_core::wire::Provider;
use vaultlink_core::{Caller, Error, Result, State, armops, identity, keyvault, privatedns, rbac, registry, resources};

use crate::http::{App, Req, Resp, empty};

fn json_ok(status: StatusCode, v: &Value) -> Resp {
    crate::http::json(status, v)
}

/// Sets each (lower-case name, value) header of a long-running operation's answer
/// (`azure-asyncoperation`, `location`, `retry-after`); a value that is no valid header value
/// (its URL carries what the request sent) is left out.
fn set_headers(resp: &mut Resp, headers: &[(&'static str, &str)]) {
    for (name, value) in headers {
        if let Ok(v) = hyper::header::HeaderValue::from_str(value) {
            resp.headers_mut().insert(hyper::header::HeaderName::from_static(name), v);
        }
    }
}

/// Items in one page of an ARM list, and the most `$top` asks for (vaultlink's choice, in one
/// place: Azure's page sizes differ by provider and are not documented; docs/behaviour.md).
pub(crate) const ARM_PAGE: usize = 100;

/// A list answer, paged: at most `$top` (at most [`ARM_PAGE`]) items, then a `nextLink` back to
/// the same path and query with `$skiptoken` (the offset of the next page). A caller admitted to
/// only part of the list sees the items it may read.
fn list(req: &Req, c: &Admitted, mut values: Vec<Value>) -> Resp {
    values.retain(|v| v.get("id").and_then(Value::as_str).is_none_or(|id| c.may_read(id)));
    let skip = match req.query("$skiptoken").map(str::parse::<usize>) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            return error::render(&Error::bad_request("InvalidSkipToken", "The provided $skiptoken is invalid."));
        }
    };
    let top = req
        .query("$top")
        .and_then(|t| t.parse::<usize>().ok())
        .filter(|t| *t > 0)
        .map_or(ARM_PAGE, |t| t.min(ARM_PAGE));
    let more = values.len() > skip.saturating_add(top);
    let page: Vec<Value> = values.into_iter().skip(skip).take(top).collect();
    let mut out = json!({"value": page});
    if more {
        let mut next = format!("https://{}{}?", req.authority, crate::http::percent_encode_path(&req.path));
        for (k, v) in req.query.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("$skiptoken")) {
            next.push_str(&format!("{}={}&", crate::http::percent_encode(k), crate::http::percent_encode(v)));
        }
        next.push_str(&format!("$skiptoken={}", skip + top));
        out["nextLink"] = json!(next);
    }
    json_ok(StatusCode::OK, &out)
}

fn created(created: bool) -> StatusCode {
    if created { StatusCode::CREATED } else { StatusCode::OK }
}

fn deleted(existed: bool) -> Resp {
    empty(if existed { StatusCode::OK } else { StatusCode::NO_CONTENT })
}

/// The path, split into original-case segments and lower-case ones for matching.
struct Path {
    orig: Vec<String>,
    lower: Vec<String>,
}

impl Path {
    fn new(path: &str) -> Self {
        let orig: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect();
        let lower = orig.iter().map(|s| s.to_ascii_lowercase()).collect();
        Self { orig, lower }
    }
    fn at(&self, i: usize) -> &str {
        &self.orig[i]
    }
}

/// The newest api-version vaultlink serves for the namespace of `id`.
pub(crate) fn latest_api(id: &str) -> &'static str {
    let lower = id.to_ascii_lowercase();
    let segs: Vec<&str> = lower.split('/').collect();
    let ns = segs.iter().rposition(|s| *s == "providers").and_then(|i| segs.get(i + 1)).copied();
    let served = ["microsoft.keyvault", "microsoft.network", "microsoft.authorization"];
    let ns = ns.filter(|n| served.contains(n)).unwrap_or("microsoft.resources");
    vaultlink_core::apiversion::arm_versions(ns).last().copied().unwrap_or("2024-03-01")
}

/// The namespace a path addresses, for the api-version check.
fn namespace(p: &Path) -> &'static str {
    let ns = p.lower.iter().rposition(|s| s == "providers").and_then(|i| p.lower.get(i + 1));
    match ns.map(String::as_str) {
        Some("microsoft.keyvault") => "microsoft.keyvault",
        Some("microsoft.network") => "microsoft.network",
        Some("microsoft.authorization") => "microsoft.authorization",
        Some("microsoft.compute") => "microsoft.compute",
        _ => "microsoft.resources",
    }
}

fn check_api_version(req: &Req, p: &Path) -> Result<String> {
    vaultlink_core::apiversion::arm(namespace(p), req.query("api-version"))
}

/// Validates the bearer token: signature, lifetime, audience (ARM's own). ARM's 401s otherwise.
fn authenticate(app: &App, req: &Req) -> Result<Caller> {
    let Some(auth) = req.header("authorization") else {
        return Err(Error::unauthorized(
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        ));
    };
    let Some(token) = auth.strip_prefix("Bearer ").or_else(|| auth.strip_prefix("bearer ")) else {
        return Err(Error::unauthorized(
            "AuthenticationFailedInvalidHeader",
            "Authentication failed. The 'Authorization' header is provided in an invalid format.",
        ));
    };
    let caller = caller_of(app, token.trim())?;
    app.count_request(&caller.tenant_id)?;
    Ok(caller)
}

/// The caller a token names, checked as Resource Manager checks it: signature, lifetime, and
/// its own audiences or the direct listener's, never one taken from the request's Host.
fn caller_of(app: &App, token: &str) -> Result<Caller> {
    let claims = app.signer.verify(token, app.now()).map_err(|e| match e {
        vaultlink_crypto::TokenError::Expired => Error::unauthorized(
            "ExpiredAuthenticationToken",
            "The access token expiry UTC time is earlier than current UTC time.",
        ),
        _ => Error::unauthorized("InvalidAuthenticationToken", "The access token is invalid."),
    })?;
    let audiences = app.audiences(identity::ARM_AUDIENCES);
    app.engine.read(|s| identity::caller_from_claims(s, &claims, &audiences))
}

/// The callers of the auxiliary tokens (`x-ms-authorization-auxiliary: Bearer t1, Bearer t2`),
/// each checked as the main token is; a token that does not validate is ARM's 401.
fn auxiliary(app: &App, req: &Req) -> Result<Vec<Caller>> {
    let Some(header) = req.header("x-ms-authorization-auxiliary") else { return Ok(Vec::new()) };
    let tokens: Vec<&str> = header.split(',').map(str::trim).filter(|t| !t.is_empty()).collect();
    if tokens.len() > 3 {
        return Err(Error::bad_request(
            "InvalidAuxiliaryTokens",
            "The request contains more than three auxiliary tokens. At most three are allowed.",
        ));
    }
    tokens
        .into_iter()
        .map(|t| {
            let token = t.strip_prefix("Bearer ").or_else(|| t.strip_prefix("bearer ")).unwrap_or(t).trim();
            caller_of(app, token).map_err(|_| {
                Error::unauthorized("InvalidAuthenticationToken", "The auxiliary access token is invalid.")
            })
        })
        .collect()
}

/// Resource Manager's authorization step: the operation's action (and the linked ones its body
/// names) checked against the caller's role assignments, before any route runs. A subscription
/// that does not exist is reported as such first, as ARM does.
fn admit(app: &App, req: &Req, p: &Path, caller: Caller) -> Result<Admitted> {
    let aux = auxiliary(app, req)?;
    let body = matches!(req.method, Method::PUT | Method::PATCH)
        .then(|| serde_json::from_slice::<Value>(&req.body).ok())
        .flatten();
    let operation = armops::operation(req.method.as_str(), &req.path, body.as_ref());
    app.engine.read(|s| {
        if p.lower.first().is_some_and(|x| x == "subscriptions")
            && let Some(sub) = p.orig.get(1)
        {
            resources::subscription(s, &caller, sub)?;
        }
        rbac::admit_with_auxiliary(s, caller, aux, operation)
    })
}

fn body_json(req: &Req) -> Result<Value> {
    if req.body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(&req.body).map_err(|e| {
        Error::bad_request(
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized: '{e}'."),
        )
    })
}

/// The body parsed into a resource's typed input, a shape error worded as `provider` words it.
fn parse_body<T: serde::de::DeserializeOwned>(req: &Req, provider: Provider) -> Result<T> {
    vaultlink_core::wire::parse_for(provider, body_json(req)?)
}

fn preconditions(req: &Req) -> Preconditions<'_> {
    Preconditions { if_match: req.header("if-match"), if_none_match: req.header("if-none-match") }
}

pub(crate) fn handle(app: &App, req: &Req) -> Resp {
    let p = Path::new(&req.path);
    let l: Vec<&str> = p.lower.iter().map(String::as_str).collect();
    if req.method == Method::GET && matches!(l.as_slice(), ["metadata", "endpoints"]) {
        return json_ok(StatusCode::OK, &metadata_endpoints(req));
    }
    // vaultlink's own: the doctor over HTTP (for a web page), for vaults the caller may read.
    if req.method == Method::GET && matches!(l.as_slice(), ["vaultlink", "doctor"]) {
        return match authenticate(app, req) {
            Ok(c) => doctor_http(app, req, &c),
            Err(e) => error::render(&e),
        };
    }
    let result = (|| {
        let api_version = check_api_version(req, &p)?;
        let caller = admit(app, req, &p, authenticate(app, req)?)?;
        dispatch(app, req, &p, &l, &caller, &api_version)
    })();
    match result {
        Ok(r) => r,
        Err(e) => {
            if e.kind != Kind::NotFound {
                vaultlink_core::info_limited!(method = %req.method, path = %req.path, code = e.code(), "refused");
            }
            let mut r = error::render(&e);
            if e.kind == Kind::Unauthorized
                && let Ok(v) = hyper::header::HeaderValue::from_str(&format!(
                    "Bearer authorization_uri=\"https://login.microsoftonline.com/{}\", error=\"invalid_token\", error_description=\"{}\"",
                    vaultlink_core::seed::TENANT_ID,
                    e.code()
                ))
            {
                r.headers_mut().insert(hyper::header::WWW_AUTHENTICATE, v);
            }
            r
        }
    }
}

/// `GET /vaultlink/doctor?vault=V[&from=NIC|network|IP][&principal=ID]` or `?matrix=true`: for
/// the vaults the caller may read (`Microsoft.KeyVault/vaults/read`), as their ARM GET needs.
fn doctor_http(app: &App, req: &Req, c: &Caller) -> Resp {
    use vaultlink_core::{doctor, netctx};
    const READ: &str = "Microsoft.KeyVault/vaults/read";
    app.engine.read(|s| {
        let grants = rbac::grants(s, &c.object_id);
        let readable = |name: &str| s.vault_named(name).is_some_and(|v| rbac::permits(&grants, READ, &v.id));
        if req.query("matrix").is_some_and(|m| m == "true") {
            let rows: Vec<_> =
                doctor::matrix(s, app.public_address).into_iter().filter(|r| readable(&r.vault)).collect();
            return json_ok(StatusCode::OK, &json!({"value": rows}));
        }
        if let Some(v) = req.query("vault").and_then(|n| s.vault_named(n))
            && !readable(&v.name)
        {
            let check = armops::Check { action: READ.into(), scope: v.id.clone() };
            return error::render(&rbac::authorization_failed(c, &check));
        }
        let origin = match netctx::locate(s, req.query("from"), app.public_address) {
            Ok(o) => o,
            Err(m) => return error::render(&Error::bad_request("BadRequest", m)),
        };
        let principal = req.query("principal").and_then(|p| identity::principal(s, p)).map(|p| Caller {
            tenant_id: p.tenant_id,
            object_id: p.object_id,
            app_id: p.app_id,
        });
        match doctor::diagnose(s, req.query("vault").unwrap_or_default(), &origin, principal.as_ref()) {
            Some(r) => json_ok(StatusCode::OK, &serde_json::to_value(&r).unwrap_or_default()),
            None => error::render(&Error::not_found(
                "VaultNotFound",
                format!("No vault named '{}'.", req.query("vault").unwrap_or_default()),
            )),
        }
    })
}

/// A tenant as `GET /tenants` shows it; `Home` for the caller's own, else `ProjectedBy` (where a
/// multi-tenant application's service principal lives).
fn render_tenant(t: &vaultlink_core::model::Tenant, c: &Caller) -> Value {
    json!({
        "id": format!("/tenants/{}", t.tenant_id),
        "tenantId": t.tenant_id,
        "countryCode": "US",
        "displayName": t.display_name,
        "domains": [t.default_domain],
        "tenantCategory": if t.tenant_id.eq_ignore_ascii_case(&c.tenant_id) { "Home" } else { "ProjectedBy" },
        "defaultDomain": t.default_domain,
        "tenantType": "AAD",
    })
}

/// `GET /metadata/endpoints`: what `az cloud register --endpoint-resource-manager` reads.
fn metadata_endpoints(req: &Req) -> Value {
    let b = format!("https://{}", req.authority);
    json!({
        "galleryEndpoint": format!("{b}/"),
        "graphEndpoint": format!("{b}/"),
        "portalEndpoint": format!("{b}/"),
        "name": "Vaultlink",
        "portal": b,
        "authentication": {"loginEndpoint": b, "audiences": [format!("{b}/")], "tenant": "common", "identityProvider": "AAD"},
        "media": format!("{b}/"),
        "graphAudience": format!("{b}/"),
        "graph": format!("{b}/"),
        "microsoftGraphResourceId": format!("{b}/"),
        "activeDirectoryDataLake": format!("{b}/"),
        "batch": format!("{b}/"),
        "resourceManager": format!("{b}/"),
        "vmImageAliasDoc": format!("{b}/aliases.json"),
        "sqlManagement": format!("{b}/"),
        "gallery": format!("{b}/"),
        "suffixes": {
            "keyVaultDns": "vault.azure.net",
            "storage": "core.windows.net",
            "sqlServerHostname": "database.windows.net",
            "acrLoginServer": "azurecr.io",
            "mhsmDns": "managedhsm.azure.net",
        },
    })
}

/// Runs a write operation through the engine, checking the caller's admission again in the
/// state the write changes (a role removed meanwhile refuses it).
fn write<R>(app: &App, c: &Admitted, f: impl FnOnce(&State, &mut vaultlink_core::Batch) -> Result<R>) -> Result<R> {
    app.engine.write(|s, b| {
        c.recheck(s)?;
        f(s, b)
    })
}

/// Runs a write as `write` does and renders its answer from the state the write leaves, under the
/// writer lock (no other write comes between the change and the answer that shows it).
fn write_then<R, T>(
    app: &App,
    c: &Admitted,
    f: impl FnOnce(&State, &mut vaultlink_core::Batch) -> Result<R>,
    render: impl FnOnce(&State, R) -> T,
) -> Result<T> {
    app.engine.write_then(
        |s, b| {
            c.recheck(s)?;
            f(s, b)
        },
        render,
    )
}

/// The routes table: (method, lower-cased path) -> one core call. One line per route, so the
/// whole API reads as a table (STYLE.md); rustfmt would fold long lines into blocks.
#[rustfmt::skip]
fn dispatch(app: &App, req: &Req, p: &Path, l: &[&str], c: &Admitted, api: &str) -> Result<Resp> {
    use Method as M;
    let e = &app.engine;
    let m = &req.method;
    if let Some(i) =
        (0..l.len().saturating_sub(1)).rev().find(|&i| l[i] == "providers" && l[i + 1] == "microsoft.authorization")
    {
        return authorization::authorization_routes(app, req, p, i, &l[i + 2..], c);
    }
    Ok(match (m, l) {
        // ---- subscriptions, resource groups, providers
        (&M::GET, ["tenants"]) => json_ok(StatusCode::OK, &json!({"value": e.read(|s| identity::tenants_of(s, c)).iter().map(|t| render_tenant(t, c)).collect::<Vec<_>>()})),
        (&M::GET, ["subscriptions"]) => list(req, c, e.read(|s| resources::subscriptions(s, c)).iter().map(resources::render_subscription).collect()),
        (&M::GET, ["subscriptions", _]) => json_ok(StatusCode::OK, &resources::render_subscription(&e.read(|s| resources::subscription(s, c, p.at(1)))?)),
        // Not paged: Azure's locations list has no next link.
        (&M::GET, ["subscriptions", _, "locations"]) => json_ok(StatusCode::OK, &json!({"value": vaultlink_core::regions::render_all(p.at(1))})),
        (&M::GET, ["subscriptions", _, "resourcegroups"]) => list(req, c, e.read(|s| resources::resource_groups(s, c, p.at(1)))?.iter().map(resources::render_resource_group).collect()),
        (&M::GET, ["subscriptions", _, "resourcegroups", _]) => json_ok(StatusCode::OK, &resources::render_resource_group(&e.read(|s| resources::resource_group(s, c, p.at(1), p.at(3)))?)),
        (&M::HEAD, ["subscriptions", _, "resourcegroups", _]) => empty(if e.read(|s| resources::resource_group(s, c, p.at(1), p.at(3))).is_ok() { StatusCode::NO_CONTENT } else { StatusCode::NOT_FOUND }),
        (&M::PUT, ["subscriptions", _, "resourcegroups", _]) => {
            let spec = vaultlink_core::wire::parse(body_json(req)?)?;
            let (g, new) = write(app, c, |s, b| resources::put_resource_group(s, b, c, p.at(1), p.at(3), spec))?;
            json_ok(created(new), &resources::render_resource_group(&g))
        }
        (&M::PATCH, ["subscriptions", _, "resourcegroups", _]) => {
            let body = body_json(req)?;
            // The group must exist before its body is read (404 before 400), as before.
            let patch = |s: &State, b: &mut _| {
                resources::resource_group(s, c, p.at(1), p.at(3))?;
                resources::patch_resource_group(s, b, c, p.at(1), p.at(3), vaultlink_core::wire::parse(body.clone())?)
            };
            json_ok(StatusCode::OK, &resources::render_resource_group(&write(app, c, patch)?))
        }
        (&M::DELETE, ["subscriptions", _, "resourcegroups", _]) => {
            write(app, c, |s, b| registry::delete_resource_group(s, b, c, p.at(1), p.at(3)))?;
            empty(StatusCode::OK)
        }
        (&M::GET, ["subscriptions", _, "resources"]) => list(req, c, generic_resources(e, c, p.at(1), None, req)?),
        (&M::GET, ["subscriptions", _, "resourcegroups", _, "resources"]) => list(req, c, generic_resources(e, c, p.at(1), Some(p.at(3)), req)?),
        (&M::GET, ["subscriptions", _, "providers"]) => list(req, c, e.read(|s| registry::providers(s, c, p.at(1)))?),
        (&M::GET, ["subscriptions", _, "providers", _]) => json_ok(StatusCode::OK, &e.read(|s| registry::provider(s, c, p.at(1), p.at(3)))?),
        (&M::POST, ["subscriptions", _, "providers", _, action @ ("register" | "unregister")]) => {
            let register = *action == "register";
            json_ok(StatusCode::OK, &write(app, c, |s, b| registry::set_provider_registration(s, b, c, p.at(1), p.at(3), register))?)
        }

        // ---- Microsoft.KeyVault
        (&M::POST, ["subscriptions", _, "providers", "microsoft.keyvault", "checknameavailability"]) => {
            let body = body_json(req)?;
            let name = body.get("name").and_then(Value::as_str).ok_or_else(|| Error::bad_request("BadRequest", "The property 'name' is required."))?;
            json_ok(StatusCode::OK, &e.read(|s| keyvault::check_name_availability(s, name)))
        }
        (&M::GET, ["subscriptions", _, "providers", "microsoft.keyvault", "vaults"]) => {
            list(req, c, e.read(|s| keyvault::vaults_in(s, c, p.at(1), None).map(|vs| vs.iter().map(|v| keyvault::render_vault(s, v)).collect()))?)
        }
        // vaultlink emulates no Managed HSMs, but az lists them beside vaults (`keyvault list`,
        // `list-deleted` without `--resource-type`): an empty list, after the usual checks.
        (&M::GET, ["subscriptions", _, "providers", "microsoft.keyvault", "managedhsms" | "deletedmanagedhsms"]) => {
            e.read(|s| resources::subscription(s, c, p.at(1)))?;
            list(req, c, Vec::new())
        }
        (&M::GET, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.keyvault", "managedhsms"]) => {
            e.read(|s| resources::resource_group(s, c, p.at(1), p.at(3)))?;
            list(req, c, Vec::new())
        }
        (&M::GET, ["subscriptions", _, "providers", "microsoft.keyvault", "deletedvaults"]) => list(req, c, e.read(|s| keyvault::deleted_vaults(s, c, p.at(1)))?.iter().map(keyvault::render_deleted_vault).collect()),
        (&M::GET, ["subscriptions", _, "providers", "microsoft.keyvault", "locations", _, "deletedvaults", _]) => {
            json_ok(StatusCode::OK, &keyvault::render_deleted_vault(&e.read(|s| keyvault::deleted_vault(s, c, p.at(1), p.at(5), p.at(7)))?))
        }
        (&M::POST, ["subscriptions", _, "providers", "microsoft.keyvault", "locations", _, "deletedvaults", _, "purge"]) => {
            write(app, c, |s, b| keyvault::purge_deleted_vault(s, b, c, p.at(1), p.at(5), p.at(7)))?;
            empty(StatusCode::OK)
        }
        (&M::GET, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.keyvault", "vaults"]) => {
            list(req, c, e.read(|s| keyvault::vaults_in(s, c, p.at(1), Some(p.at(3))).map(|vs| vs.iter().map(|v| keyvault::render_vault(s, v)).collect()))?)
        }
        (_, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.keyvault", "vaults", _, rest @ ..]) => vaults::vault_routes(app, req, p, rest, c, api)?,

        // ---- Microsoft.Resources/deployments
        (_, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.resources", "deployments", rest @ ..]) => deployments::routes(app, req, p, 4, rest, c)?,
        (_, ["subscriptions", _, "providers", "microsoft.resources", "deployments", rest @ ..]) => deployments::routes(app, req, p, 2, rest, c)?,
        (_, ["subscriptions", _, "resourcegroups", _, "deployments", rest @ ..]) => deployments::routes(app, req, p, 4, rest, c)?,
        (_, ["subscriptions", _, "deployments", rest @ ..]) => deployments::routes(app, req, p, 2, rest, c)?,
        (&M::GET, ["subscriptions", _, "operationresults", _] | ["subscriptions", _, "providers", "microsoft.resources", "locations", _, "operationresults", _]) => {
            deployments::operation_result(app, p.at(1), p.at(l.len() - 1), c)?
        }

        // ---- Microsoft.Compute
        (_, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.compute", rest @ ..]) => compute::compute_routes(app, req, p, rest, c)?,
        (_, ["subscriptions", _, "providers", "microsoft.compute", rest @ ..]) => compute::subscription_routes(app, req, p, rest, c)?,

        // ---- Microsoft.Network
        (_, ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.network", rest @ ..]) => networks::network_routes(app, req, p, rest, c)?,
        (&M::GET, ["subscriptions", _, "providers", "microsoft.network", kind]) => {
            let scope = resources::subscription_id(&e.read(|s| resources::subscription(s, c, p.at(1)))?.subscription_id);
            list(req, c, networks::list_network(e, &scope, kind)?)
        }
        _ => return Err(no_route(req)),
    })
}

/// The refusal for a path no route serves: an unknown namespace or resource type is named as ARM
/// names it; anything else (a known type with an unsupported method or child) is
/// `NoRegisteredProviderFound`.
fn no_route(req: &Req) -> Error {
    let p = Path::new(&req.path);
    if let Some(i) = p.lower.iter().rposition(|s| s == "providers")
        && let Some(ns) = p.orig.get(i + 1)
    {
        let known = registry::namespace(ns);
        match (known, p.orig.get(i + 2)) {
            (None, _) => {
                return Error::not_found(
                    "InvalidResourceNamespace",
                    format!("The resource namespace '{ns}' is invalid."),
                );
            }
            (Some(name), Some(t))
                if !registry::types_of(name)
                    .any(|x| x.name().split('/').next().is_some_and(|x| x.eq_ignore_ascii_case(t))) =>
            {
                return Error::not_found(
                    "InvalidResourceType",
                    format!(
                        "The resource type '{t}' could not be found in the namespace '{name}' for api version '{}'.",
                        req.query("api-version").unwrap_or("")
                    ),
                );
            }
            _ => {}
        }
    }
    Error::bad_request(
        "NoRegisteredProviderFound",
        format!("No registered resource provider found for the request {} {}.", req.method, req.path),
    )
}

/// `GET .../resources` with an optional `$filter=resourceType eq '...' [and name eq '...']` (`az
/// keyvault list`) or `resourceGroup eq '...'` (`az resource list -g`): the generic list.
fn generic_resources(
    e: &vaultlink_core::Engine,
    c: &Admitted,
    sub: &str,
    rg: Option<&str>,
    req: &Req,
) -> Result<Vec<Value>> {
    // `$filter=resourceType eq 'T' [and name eq 'N']` (what `az keyvault show/update -n` sends without -g).
    let clause = |field: &str| -> Option<String> {
        req.query("$filter")?.split(" and ").find_map(|c| {
            let (k, v) = c.split_once(" eq ")?;
            k.trim().eq_ignore_ascii_case(field).then(|| v.trim().trim_matches('\'').to_ascii_lowercase())
        })
    };
    let (wanted, wanted_name, wanted_group) = (clause("resourceType"), clause("name"), clause("resourceGroup"));
    e.read(|s| {
        let scope = match rg.or(wanted_group.as_deref()) {
            Some(rg) => resources::resource_group(s, c, sub, rg)?.id,
            None => resources::subscription_id(&resources::subscription(s, c, sub)?.subscription_id),
        };
        Ok(s.descendants(&scope)
            .filter_map(|(_, r)| {
                let g = registry::generic(r)?;
                if wanted.as_ref().is_some_and(|w| *w != g.type_name.to_ascii_lowercase())
                    || wanted_name.as_ref().is_some_and(|w| *w != g.name.to_ascii_lowercase())
                {
                    return None;
                }
                Some(json!({"id": g.id, "name": g.name, "type": g.type_name, "location": g.location, "tags": g.tags}))
            })
            .collect())
    })
}
