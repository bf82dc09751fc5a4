//! Microsoft Graph (`graph.microsoft.com`), the part `az` and the Graph SDKs use for principals:
//! `/me`, users (create, get by id or name, list, delete), applications (create, get, list,
//! `addPassword`, `removePassword`, delete), service principals (create, get, list, delete) and
//! `directoryObjects/getByIds`, each in the caller's own tenant, with Graph's error bodies and
//! paging (`$top`, `@odata.nextLink`). Who may write is the core's rule (`identity::directory`).

use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use vaultlink_core::error::{Error, Kind};
use vaultlink_core::model::{Application, PasswordCredential, Principal};
use vaultlink_core::{Caller, identity};

use crate::http::{App, Req, Resp, json};

const ROOT: &str = "https://graph.microsoft.com/v1.0";
/// Graph's page size when `$top` is not given, and the largest `$top` it accepts.
const PAGE: usize = 100;
const MAX_TOP: usize = 999;

fn error(status: StatusCode, code: &str, message: &str) -> Resp {
    json(status, &error_body(code, message))
}

fn error_body(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message, "innerError": {
        "date": graph_time(vaultlink_core::engine::now()),
        "request-id": uuid::Uuid::new_v4().to_string(),
        "client-request-id": uuid::Uuid::new_v4().to_string(),
    }}})
}

/// A core refusal in Graph's body; the kind decides the status.
fn refused(e: &Error) -> Resp {
    let status = match e.kind {
        Kind::BadRequest => StatusCode::BAD_REQUEST,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::Conflict | Kind::PreconditionFailed => StatusCode::CONFLICT,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::Unauthorized => StatusCode::UNAUTHORIZED,
        Kind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        Kind::Unavailable => {
            return crate::http::unavailable(&e.message, &error_body(e.code(), crate::http::UNAVAILABLE));
        }
    };
    let message = match e.kind {
        Kind::Internal => "An internal server error occurred.".to_string(),
        _ => e.message.clone(),
    };
    error(status, e.code(), &message)
}

/// Graph's timestamps: whole seconds, `Z`.
fn graph_time(unix: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn parse_time(v: &Value) -> Result<Option<i64>, Error> {
    let Some(s) = v.as_str() else { return Ok(None) };
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| Some(t.unix_timestamp()))
        .map_err(|_| Error::bad_request("Request_BadRequest", format!("Invalid date/time value '{s}'.")))
}

fn caller(app: &App, req: &Req) -> Result<Caller, Error> {
    let unauthorized = |m: &str| Error::unauthorized("InvalidAuthenticationToken", m);
    let token = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        .map(str::trim);
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err(unauthorized("Access token is empty."));
    };
    app.signer
        .verify(token, app.now())
        .ok()
        .and_then(|claims| {
            let audiences = app.audiences(identity::GRAPH_AUDIENCES);
            app.engine.read(|s| identity::caller_from_claims(s, &claims, &audiences)).ok()
        })
        .ok_or_else(|| unauthorized("Access token validation failure. Invalid audience."))
}

pub(crate) fn handle(app: &App, req: &Req) -> Resp {
    let c = match caller(app, req) {
        Ok(c) => c,
        Err(e) => return refused(&e),
    };
    let path = req.path.trim_matches('/').to_string();
    let segs: Vec<&str> = path.split('/').collect();
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let Some((&("v1.0" | "beta"), rest)) = l.split_first() else {
        return error(StatusCode::BAD_REQUEST, "BadRequest", "Invalid version.");
    };
    let orig = &segs[1..];
    let result = match (&req.method, rest) {
        (&Method::GET, ["me"]) => me(app, &c),
        (&Method::GET, ["users"]) => Ok(list(app, req, "users", |s| users(s, &c))),
        (&Method::POST, ["users"]) => create_user(app, req, &c),
        (&Method::GET, [_]) if is_keyed(rest[0], "users") => one_user(app, &c, &key(orig[0])),
        (&Method::GET, ["users", _]) => one_user(app, &c, orig[1]),
        (&Method::DELETE, ["users", _]) => {
            app.engine.write(|s, b| identity::delete_user(s, b, &c, orig[1])).map(|()| no_content())
        }
        (&Method::GET, ["applications"]) => Ok(list(app, req, "applications", |s| applications(s, &c))),
        (&Method::POST, ["applications"]) => create_application(app, req, &c),
        (&Method::GET, [_]) if is_keyed(rest[0], "applications") => one_application(app, &c, &key(orig[0])),
        (&Method::GET, ["applications", _]) => one_application(app, &c, orig[1]),
        (&Method::DELETE, ["applications", _]) => {
            app.engine.write(|s, b| identity::delete_application(s, b, &c, orig[1])).map(|()| no_content())
        }
        (&Method::POST, ["applications", _, "addpassword"]) => add_password(app, req, &c, orig[1]),
        (&Method::POST, ["applications", _, "removepassword"]) => remove_password(app, req, &c, orig[1]),
        (&Method::GET, ["serviceprincipals"]) => Ok(list(app, req, "servicePrincipals", |s| service_principals(s, &c))),
        (&Method::POST, ["serviceprincipals"]) => create_service_principal(app, req, &c),
        (&Method::GET, ["serviceprincipals", _]) => {
            let found = app.engine.read(|s| {
                service_principals(s, &c)
                    .into_iter()
                    .find(|p| p["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(orig[1])))
            });
            found.map(|v| entity(v, "servicePrincipals")).ok_or_else(|| not_found(orig[1]))
        }
        (&Method::DELETE, ["serviceprincipals", _]) => {
            app.engine.write(|s, b| identity::delete_service_principal(s, b, &c, orig[1])).map(|()| no_content())
        }
        (&Method::POST, ["directoryobjects", "getbyids"]) => get_by_ids(app, req, &c),
        _ => Err(Error::bad_request(
            "BadRequest",
            format!("Resource not found for the segment '{}'.", orig.first().copied().unwrap_or_default()),
        )),
    };
    result.unwrap_or_else(|e| refused(&e))
}

/// `users('x')` / `applications(appId='x')`: the keyed form of a segment.
fn is_keyed(seg: &str, collection: &str) -> bool {
    seg.strip_prefix(collection).is_some_and(|r| r.starts_with('(') && r.ends_with(')'))
}

fn key(seg: &str) -> String {
    let inner = seg.split_once('(').map_or("", |(_, r)| r.trim_end_matches(')'));
    let value = inner.split_once('=').map_or(inner, |(_, v)| v);
    value.trim_matches('\'').to_string()
}

fn not_found(id: &str) -> Error {
    Error::not_found(
        "Request_ResourceNotFound",
        format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
    )
}

fn no_content() -> Resp {
    crate::http::empty(StatusCode::NO_CONTENT)
}

/// One object as Graph answers it (200 for a read, 201 for a create).
fn entity_with(status: StatusCode, mut v: Value, kind: &str) -> Resp {
    v["@odata.context"] = json!(format!("{ROOT}/$metadata#{kind}/$entity"));
    json(status, &v)
}

fn entity(v: Value, kind: &str) -> Resp {
    entity_with(StatusCode::OK, v, kind)
}

fn created(v: Value, kind: &str) -> Resp {
    entity_with(StatusCode::CREATED, v, kind)
}

fn body(req: &Req) -> Result<Value, Error> {
    serde_json::from_slice::<Value>(&req.body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| Error::bad_request("BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."))
}

/// A list with `$filter` and paging: `$top` items, then `@odata.nextLink` with a `$skiptoken`.
fn list(app: &App, req: &Req, kind: &str, items: impl FnOnce(&vaultlink_core::State) -> Vec<Value>) -> Resp {
    let filter = req.query("$filter").map(filter_clause);
    let mut all: Vec<Value> = app.engine.read(items);
    if let Some(f) = &filter {
        all.retain(|v| matches(v, f));
    }
    let top = req.query("$top").and_then(|t| t.parse::<usize>().ok()).unwrap_or(PAGE).clamp(1, MAX_TOP);
    let skip = req.query("$skiptoken").and_then(|t| t.parse::<usize>().ok()).unwrap_or(0);
    let page: Vec<Value> = all.iter().skip(skip).take(top).cloned().collect();
    let mut out = json!({"@odata.context": format!("{ROOT}/$metadata#{kind}"), "value": page});
    if skip + top < all.len() {
        let mut next = format!("{ROOT}/{kind}?$top={top}&$skiptoken={}", skip + top);
        if let Some(f) = req.query("$filter") {
            next.push_str(&format!("&$filter={}", crate::http::percent_encode(f)));
        }
        out["@odata.nextLink"] = json!(next);
    }
    json(StatusCode::OK, &out)
}

/// One clause of a `$filter` as az and the SDKs write it: `field eq 'X'` (`appId`,
/// `displayName`, `id`, `userPrincipalName`, `mail`), `servicePrincipalNames/any(c:c eq 'X')`
/// (also `identifierUris`) and `startswith(field,'X')`; clauses joined with `and`.
struct Clause {
    field: String,
    value: String,
    prefix: bool,
}

/// Parses a `$filter`; an unknown field matches nothing, as no object has it.
fn filter_clause(f: &str) -> Vec<Clause> {
    let lower = f.to_ascii_lowercase();
    let mut clauses = Vec::new();
    let mut rest = lower.as_str();
    loop {
        let (part, tail) = rest.split_once(" and ").map_or((rest, None), |(a, b)| (a, Some(b)));
        let part = part.trim();
        let value = part.split_once('\'').and_then(|(_, v)| v.rsplit_once('\'')).map(|(v, _)| v).unwrap_or_default();
        let (field, prefix) = match part.strip_prefix("startswith(") {
            Some(inner) => (inner.split(',').next().unwrap_or_default(), true),
            None => (part.split(['/', ' ']).next().unwrap_or_default(), false),
        };
        clauses.push(Clause { field: field.trim().to_string(), value: value.replace("''", "'"), prefix });
        match tail {
            Some(t) => rest = t,
            None => break,
        }
    }
    clauses
}

fn matches(v: &Value, clauses: &[Clause]) -> bool {
    clauses.iter().all(|c| {
        let test = |s: &str| {
            let s = s.to_ascii_lowercase();
            if c.prefix { s.starts_with(&c.value) } else { s == c.value }
        };
        let one = |k: &str| v[k].as_str().is_some_and(test);
        let any = |k: &str| v[k].as_array().into_iter().flatten().any(|s| s.as_str().is_some_and(test));
        match c.field.as_str() {
            "appid" => one("appId"),
            "displayname" => one("displayName"),
            "id" => one("id"),
            "userprincipalname" => one("userPrincipalName"),
            "mail" => one("mail"),
            "serviceprincipalnames" => any("servicePrincipalNames"),
            "identifieruris" => any("identifierUris"),
            _ => false,
        }
    })
}

fn users(s: &vaultlink_core::State, c: &Caller) -> Vec<Value> {
    identity::principals_in(s, &c.tenant_id).filter(|p| p.user.is_some()).map(render_user).collect()
}

fn service_principals(s: &vaultlink_core::State, c: &Caller) -> Vec<Value> {
    identity::principals_in(s, &c.tenant_id)
        .filter(|p| p.user.is_none())
        .map(|p| render_service_principal(p, identity::application(s, &p.app_id).as_ref()))
        .collect()
}

fn applications(s: &vaultlink_core::State, c: &Caller) -> Vec<Value> {
    let domain = identity::tenant(s, &c.tenant_id).map(|t| t.default_domain).unwrap_or_default();
    identity::applications_in(s, &c.tenant_id).map(|a| render_application(a, &domain)).collect()
}

fn me(app: &App, c: &Caller) -> Result<Resp, Error> {
    let p = app.engine.read(|s| identity::principal_in(s, &c.tenant_id, &c.object_id));
    match p {
        Some(p) if p.user.is_some() => Ok(entity(render_user(&p), "users")),
        _ => Err(Error::bad_request("BadRequest", "/me request is only valid with delegated authentication flow.")),
    }
}

fn one_user(app: &App, c: &Caller, id: &str) -> Result<Resp, Error> {
    let p = app.engine.read(|s| identity::principal_in(s, &c.tenant_id, id)).filter(|p| p.user.is_some());
    p.map(|p| entity(render_user(&p), "users")).ok_or_else(|| not_found(id))
}

fn one_application(app: &App, c: &Caller, id: &str) -> Result<Resp, Error> {
    let found = app.engine.read(|s| {
        applications(s, c).into_iter().find(|a| {
            a["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(id))
                || a["appId"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(id))
        })
    });
    found.map(|v| entity(v, "applications")).ok_or_else(|| not_found(id))
}

fn create_user(app: &App, req: &Req, c: &Caller) -> Result<Resp, Error> {
    let b = body(req)?;
    let text = |k: &str| b[k].as_str().unwrap_or_default().to_string();
    let upn = text("userPrincipalName");
    let password = b["passwordProfile"]["password"].as_str().ok_or_else(|| {
        Error::bad_request(
            "Request_BadRequest",
            "Property passwordProfile.password value is required but is empty or missing.",
        )
    })?;
    let nickname = b["mailNickname"]
        .as_str()
        .map_or_else(|| upn.split('@').next().unwrap_or_default().to_string(), str::to_string);
    let enabled = b["accountEnabled"].as_bool().unwrap_or(true);
    let new = identity::NewUser::new(&upn, &text("displayName"), &nickname, password, enabled)?;
    let user = app.engine.write(|s, batch| identity::create_user(s, batch, c, new))?;
    tracing::info!(user = %user.app_id, "graph: user created");
    Ok(created(render_user(&user), "users"))
}

fn create_application(app: &App, req: &Req, c: &Caller) -> Result<Resp, Error> {
    let b = body(req)?;
    let name = b["displayName"].as_str().unwrap_or_default();
    let a =
        app.engine.write(|s, batch| identity::create_application(s, batch, c, name, b["signInAudience"].as_str()))?;
    let domain = app.engine.read(|s| identity::tenant(s, &c.tenant_id).map(|t| t.default_domain)).unwrap_or_default();
    Ok(created(render_application(&a, &domain), "applications"))
}

fn add_password(app: &App, req: &Req, c: &Caller, id: &str) -> Result<Resp, Error> {
    let b = if req.body.is_empty() { json!({}) } else { body(req)? };
    let cred = &b["passwordCredential"];
    let (start, end) = (parse_time(&cred["startDateTime"])?, parse_time(&cred["endDateTime"])?);
    let name = cred["displayName"].as_str().map(str::to_string);
    // Hashed before the write, so the writer lock does not wait for Argon2id.
    let secret = identity::NewSecret::new(name);
    let (cred, secret) = app.engine.write(|s, batch| identity::add_password(s, batch, c, id, secret, start, end))?;
    let mut v = render_credential(&cred);
    v["secretText"] = json!(secret);
    v["@odata.context"] = json!(format!("{ROOT}/$metadata#microsoft.graph.passwordCredential"));
    Ok(json(StatusCode::OK, &v))
}

fn remove_password(app: &App, req: &Req, c: &Caller, id: &str) -> Result<Resp, Error> {
    let b = body(req)?;
    let key_id = b["keyId"].as_str().unwrap_or_default();
    app.engine.write(|s, batch| identity::remove_password(s, batch, c, id, key_id))?;
    Ok(no_content())
}

fn create_service_principal(app: &App, req: &Req, c: &Caller) -> Result<Resp, Error> {
    let b = body(req)?;
    let app_id = b["appId"].as_str().ok_or_else(|| {
        Error::bad_request("Request_BadRequest", "Property appId value is required but is empty or missing.")
    })?;
    let sp = app.engine.write(|s, batch| identity::create_service_principal(s, batch, c, app_id))?;
    let registration = app.engine.read(|s| identity::application(s, &sp.app_id));
    Ok(created(render_service_principal(&sp, registration.as_ref()), "servicePrincipals"))
}

fn get_by_ids(app: &App, req: &Req, c: &Caller) -> Result<Resp, Error> {
    let b: Value = serde_json::from_slice(&req.body).unwrap_or_default();
    let ids: Vec<&str> = b["ids"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let items = app.engine.read(|s| {
        identity::principals_in(s, &c.tenant_id)
            .filter(|p| ids.iter().any(|i| i.eq_ignore_ascii_case(&p.object_id)))
            .map(|p| {
                let (mut v, kind) = if p.user.is_some() {
                    (render_user(p), "#microsoft.graph.user")
                } else {
                    (
                        render_service_principal(p, identity::application(s, &p.app_id).as_ref()),
                        "#microsoft.graph.servicePrincipal",
                    )
                };
                v["@odata.type"] = json!(kind);
                v
            })
            .collect::<Vec<_>>()
    });
    Ok(json(StatusCode::OK, &json!({"@odata.context": format!("{ROOT}/$metadata#directoryObjects"), "value": items})))
}

fn render_user(p: &Principal) -> Value {
    let upn = p.user.as_ref().map_or(p.app_id.as_str(), |u| u.user_principal_name.as_str());
    json!({
        "id": p.object_id,
        "businessPhones": [],
        "displayName": p.display_name,
        "givenName": null,
        "jobTitle": null,
        "mail": null,
        "mobilePhone": null,
        "officeLocation": null,
        "preferredLanguage": null,
        "surname": null,
        "userPrincipalName": upn,
    })
}

fn render_credential(c: &PasswordCredential) -> Value {
    json!({
        "customKeyIdentifier": null,
        "displayName": c.display_name,
        "endDateTime": graph_time(c.end),
        "hint": c.hint,
        "keyId": c.key_id,
        "secretText": null,
        "startDateTime": graph_time(c.start),
    })
}

fn render_application(a: &Application, domain: &str) -> Value {
    json!({
        "id": a.object_id,
        "appId": a.app_id,
        "displayName": a.display_name,
        "createdDateTime": graph_time(a.created_at),
        "signInAudience": a.sign_in_audience,
        "publisherDomain": domain,
        "identifierUris": [],
        "keyCredentials": [],
        "passwordCredentials": a.password_credentials.iter().map(render_credential).collect::<Vec<_>>(),
        "tags": [],
        "web": {"homePageUrl": null, "logoutUrl": null, "redirectUris": [], "implicitGrantSettings": {"enableAccessTokenIssuance": false, "enableIdTokenIssuance": false}},
        "publicClient": {"redirectUris": []},
        "requiredResourceAccess": [],
    })
}

fn render_service_principal(p: &Principal, app: Option<&Application>) -> Value {
    json!({
        "id": p.object_id,
        "appId": p.app_id,
        "displayName": p.display_name,
        "appDisplayName": p.display_name,
        "accountEnabled": true,
        "appOwnerOrganizationId": app.map_or(p.tenant_id.as_str(), |a| a.tenant_id.as_str()),
        "servicePrincipalNames": [p.app_id],
        "servicePrincipalType": if p.managed_identity { "ManagedIdentity" } else { "Application" },
        "signInAudience": app.map_or("AzureADMyOrg", |a| a.sign_in_audience.as_str()),
        "keyCredentials": [],
        "passwordCredentials": [],
        "tags": [],
    })
}
