//! Microsoft Graph (`graph.microsoft.com`), the part `az` reads to name principals: service
//! principals (get, list with `$filter`), `directoryObjects/getByIds`, users (the tenant has none
//! yet) and `/me` (refused for application tokens, as Graph refuses it). Read-only: principals
//! are added with `vaultlink principal add`.

use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use vaultlink_core::identity;
use vaultlink_core::model::Principal;

use crate::http::{App, Req, Resp, json};

fn error(status: StatusCode, code: &str, message: &str) -> Resp {
    json(
        status,
        &json!({"error": {"code": code, "message": message, "innerError": {
            "date": vaultlink_core::engine::rfc3339(vaultlink_core::engine::now()),
            "request-id": uuid::Uuid::new_v4().to_string(),
        }}}),
    )
}

pub fn handle(app: &App, req: &Req) -> Resp {
    let token = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        .map(str::trim);
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", "Access token is empty.");
    };
    let caller = app.signer.verify(token, vaultlink_core::engine::now()).ok().and_then(|claims| {
        app.engine.read(|s| identity::caller_from_claims(s, &claims, identity::GRAPH_AUDIENCES)).ok()
    });
    if caller.is_none() {
        return error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token validation failure. Invalid audience.",
        );
    }
    let path = req.path.trim_matches('/').to_ascii_lowercase();
    let segs: Vec<&str> = path.split('/').collect();
    let rest = match segs.split_first() {
        Some((&("v1.0" | "beta"), rest)) => rest,
        _ => return error(StatusCode::BAD_REQUEST, "BadRequest", "Invalid version."),
    };
    let principals = app.engine.read(identity::principals);
    match (&req.method, rest) {
        (&Method::GET, ["me"]) => error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "/me request is only valid with delegated authentication flow.",
        ),
        (&Method::GET, ["serviceprincipals"]) => {
            let filter = req.query("$filter").map(filter_clause);
            let items =
                principals.iter().filter(|p| filter.as_ref().is_none_or(|f| matches(p, f))).map(render).collect();
            collection("servicePrincipals", items)
        }
        (&Method::GET, ["serviceprincipals", id]) => {
            match principals.iter().find(|p| p.object_id.eq_ignore_ascii_case(id)) {
                Some(p) => {
                    let mut v = render(p);
                    v["@odata.context"] = json!("https://graph.microsoft.com/v1.0/$metadata#servicePrincipals/$entity");
                    json(StatusCode::OK, &v)
                }
                None => not_found(id),
            }
        }
        (&Method::GET, ["users"]) => collection("users", Vec::new()),
        (&Method::GET, ["users", id]) => not_found(id),
        (&Method::POST, ["directoryobjects", "getbyids"]) => {
            let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
            let ids: Vec<&str> = body["ids"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            let items = principals
                .iter()
                .filter(|p| ids.iter().any(|i| i.eq_ignore_ascii_case(&p.object_id)))
                .map(|p| {
                    let mut v = render(p);
                    v["@odata.type"] = json!("#microsoft.graph.servicePrincipal");
                    v
                })
                .collect();
            collection("directoryObjects", items)
        }
        _ => error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("Resource not found for the segment '{}'.", rest.first().copied().unwrap_or_default()),
        ),
    }
}

fn not_found(id: &str) -> Resp {
    error(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
    )
}

fn collection(kind: &str, items: Vec<Value>) -> Resp {
    json(
        StatusCode::OK,
        &json!({"@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#{kind}"), "value": items}),
    )
}

/// `$filter` as az writes it: `appId eq 'X'`, `displayName eq 'X'`, `id eq 'X'`,
/// `servicePrincipalNames/any(c:c eq 'X')`. Returns (field, value), lower-cased.
fn filter_clause(f: &str) -> (String, String) {
    let value = f.split_once('\'').and_then(|(_, v)| v.rsplit_once('\'')).map(|(v, _)| v).unwrap_or_default();
    let field = f.split(['/', ' ']).next().unwrap_or_default();
    (field.to_ascii_lowercase(), value.to_ascii_lowercase())
}

fn matches(p: &Principal, (field, value): &(String, String)) -> bool {
    let eq = |s: &str| s.eq_ignore_ascii_case(value);
    match field.as_str() {
        "appid" | "serviceprincipalnames" => eq(&p.app_id),
        "displayname" => eq(&p.display_name),
        "id" => eq(&p.object_id),
        _ => false,
    }
}

fn render(p: &Principal) -> Value {
    json!({
        "id": p.object_id,
        "appId": p.app_id,
        "displayName": p.display_name,
        "appDisplayName": p.display_name,
        "accountEnabled": true,
        "appOwnerOrganizationId": p.tenant_id,
        "servicePrincipalNames": [p.app_id],
        "servicePrincipalType": if p.managed_identity { "ManagedIdentity" } else { "Application" },
        "signInAudience": "AzureADMyOrg",
        "tags": [],
    })
}
