//! Entra ID: OIDC discovery, the v2.0 and v1 token endpoints (client credentials), JWKS,
//! instance discovery, and the managed-identity (IMDS / App Service) endpoint.

use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use vaultlink_core::{identity, seed};

use crate::http::{App, Req, Resp, json, parse_form};

/// The scheme and host clients used to reach us, for the URLs in discovery documents.
fn base(req: &Req) -> String {
    format!("https://{}", req.authority)
}

fn oauth_error(e: &identity::OAuthError) -> Resp {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    json(
        status,
        &json!({
            "error": e.error,
            "error_description": format!("{}\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: {}", e.description, uuid::Uuid::new_v4(), uuid::Uuid::new_v4(), vaultlink_core::engine::rfc3339(vaultlink_core::engine::now())),
            "error_codes": e.codes,
            "timestamp": vaultlink_core::engine::rfc3339(vaultlink_core::engine::now()),
            "trace_id": uuid::Uuid::new_v4().to_string(),
            "correlation_id": uuid::Uuid::new_v4().to_string(),
            "error_uri": format!("https://login.microsoftonline.com/error?code={}", e.codes.first().copied().unwrap_or(0)),
        }),
    )
}

fn bad_request(code: u32, description: &str) -> Resp {
    oauth_error(&identity::OAuthError {
        status: 400,
        error: "invalid_request",
        description: format!("AADSTS{code}: {description}"),
        codes: vec![code],
    })
}

pub fn handle(app: &App, req: &Req) -> Resp {
    let segs: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    match (&req.method, l.as_slice()) {
        (&Method::GET, [_, "v2.0", ".well-known", "openid-configuration"]) => {
            json(StatusCode::OK, &openid_configuration(req, segs[0], true))
        }
        (&Method::GET, [_, ".well-known", "openid-configuration"]) => {
            json(StatusCode::OK, &openid_configuration(req, segs[0], false))
        }
        (&Method::GET, [_, "discovery", "v2.0", "keys"] | [_, "discovery", "keys"] | ["discovery", "keys"]) => {
            json(StatusCode::OK, &app.signer.jwks())
        }
        (&Method::GET, [_, "discovery", "instance"]) => json(StatusCode::OK, &instance_discovery(req)),
        (&Method::POST, [_, "oauth2", "v2.0", "token"]) => token(app, req, segs[0], true),
        (&Method::POST, [_, "oauth2", "token"]) => token(app, req, segs[0], false),
        _ => json(
            StatusCode::NOT_FOUND,
            &json!({"error": "not_found", "error_description": format!("vaultlink's Entra ID does not serve {} {}", req.method, req.path)}),
        ),
    }
}

fn openid_configuration(req: &Req, tenant: &str, v2: bool) -> Value {
    let b = base(req);
    let tid = if identity::tenant_matches(tenant) { seed::TENANT_ID } else { tenant };
    if v2 {
        json!({
            "token_endpoint": format!("{b}/{tenant}/oauth2/v2.0/token"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": format!("{b}/{tenant}/discovery/v2.0/keys"),
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": format!("https://login.microsoftonline.com/{tid}/v2.0"),
            "request_uri_parameter_supported": false,
            "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
            "authorization_endpoint": format!("{b}/{tenant}/oauth2/v2.0/authorize"),
            "device_authorization_endpoint": format!("{b}/{tenant}/oauth2/v2.0/devicecode"),
            "http_logout_supported": true,
            "frontchannel_logout_supported": true,
            "end_session_endpoint": format!("{b}/{tenant}/oauth2/v2.0/logout"),
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "appid", "ver"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
        })
    } else {
        json!({
            "token_endpoint": format!("{b}/{tenant}/oauth2/token"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": format!("{b}/common/discovery/keys"),
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
            "issuer": format!("https://sts.windows.net/{tid}/"),
            "authorization_endpoint": format!("{b}/{tenant}/oauth2/authorize"),
            "device_authorization_endpoint": format!("{b}/{tenant}/oauth2/devicecode"),
            "cloud_instance_name": "microsoftonline.com",
        })
    }
}

fn instance_discovery(req: &Req) -> Value {
    let host = req.authority.clone();
    json!({
        "tenant_discovery_endpoint": format!("https://{host}/{}/v2.0/.well-known/openid-configuration", seed::TENANT_ID),
        "api-version": "1.1",
        "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
    })
}

/// `POST /{tenant}/oauth2[/v2.0]/token` with `grant_type=client_credentials`.
fn token(app: &App, req: &Req, tenant: &str, v2: bool) -> Resp {
    let form = parse_form(std::str::from_utf8(&req.body).unwrap_or(""));
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    // client_secret_basic: credentials in the Authorization header.
    let basic = req.header("authorization").and_then(|h| h.strip_prefix("Basic ")).and_then(|b| {
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::STANDARD.decode(b.trim()).ok()?;
        let s = String::from_utf8(raw).ok()?;
        let (u, p) = s.split_once(':')?;
        Some((parse_form(&format!("a={u}")).remove(0).1, parse_form(&format!("a={p}")).remove(0).1))
    });
    match get("grant_type") {
        Some("client_credentials") => {}
        Some(other) => {
            return oauth_error(&identity::OAuthError {
                status: 400,
                error: "unsupported_grant_type",
                description: format!("AADSTS70003: The app requested an unsupported grant type '{other}'."),
                codes: vec![70003],
            });
        }
        None => return bad_request(900144, "The request body must contain the following parameter: 'grant_type'."),
    }
    let (client_id, secret) = match (get("client_id"), get("client_secret"), &basic) {
        (Some(c), Some(s), _) => (c.to_string(), s.to_string()),
        (_, _, Some((c, s))) => (c.clone(), s.clone()),
        (Some(_), None, None) => {
            return oauth_error(&identity::OAuthError { status: 401, error: "invalid_client", description: "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.".into(), codes: vec![7000218] });
        }
        _ => return bad_request(900144, "The request body must contain the following parameter: 'client_id'."),
    };
    let resource = if v2 {
        match get("scope").and_then(identity::resource_from_scope) {
            Some(r) => r,
            None => {
                return bad_request(
                    1002012,
                    "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).",
                );
            }
        }
    } else {
        match get("resource") {
            Some(r) => r.to_string(),
            None => return bad_request(900144, "The request body must contain the following parameter: 'resource'."),
        }
    };
    if let Err(e) = identity::served_resource(&resource, &app.direct_audiences) {
        return oauth_error(&e);
    }
    let principal = match app.engine.read(|s| identity::authenticate(s, tenant, &client_id, &secret)) {
        Ok(p) => p,
        Err(e) => {
            tracing::info!(client_id = %client_id, error = e.error, "token request refused");
            return oauth_error(&e);
        }
    };
    let now = vaultlink_core::engine::now();
    let claims = identity::access_token_claims(&principal, &resource, now);
    let access_token = app.signer.sign(&claims);
    tracing::info!(client_id = %principal.app_id, audience = %resource, "token issued");
    let mut body = json!({
        "token_type": "Bearer",
        "expires_in": identity::TOKEN_LIFETIME_SECS,
        "ext_expires_in": identity::TOKEN_LIFETIME_SECS,
        "access_token": access_token,
    });
    if !v2 {
        body["expires_on"] = json!((now + identity::TOKEN_LIFETIME_SECS).to_string());
        body["not_before"] = json!(now.to_string());
        body["resource"] = json!(resource);
        body["expires_in"] = json!(identity::TOKEN_LIFETIME_SECS.to_string());
        body["ext_expires_in"] = json!(identity::TOKEN_LIFETIME_SECS.to_string());
    }
    json(StatusCode::OK, &body)
}

/// The managed-identity endpoint: IMDS (`/metadata/identity/oauth2/token`, header `Metadata: true`)
/// and the App Service form (`/msi/token`, header `X-IDENTITY-HEADER`).
pub fn handle_identity(app: &App, req: &Req) -> Resp {
    let path = req.path.to_ascii_lowercase();
    let imds = path == "/metadata/identity/oauth2/token";
    let app_service = path == "/msi/token";
    if req.method != Method::GET || !(imds || app_service) {
        return json(
            StatusCode::NOT_FOUND,
            &json!({"error": "not_found", "error_description": "Only the managed identity token endpoint is served here."}),
        );
    }
    if imds && !req.header("metadata").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return json(
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid_request", "error_description": "Required metadata header not specified"}),
        );
    }
    if app_service && req.header("x-identity-header").is_none_or(str::is_empty) {
        return json(
            StatusCode::UNAUTHORIZED,
            &json!({"error": "invalid_request", "error_description": "X-IDENTITY-HEADER is required."}),
        );
    }
    let Some(resource) = req.query("resource").map(str::to_string) else {
        return json(
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid_request", "error_description": "Required query variable 'resource' is missing"}),
        );
    };
    if let Err(e) = identity::served_resource(&resource, &app.direct_audiences) {
        return oauth_error(&e);
    }
    let wanted = req.query("client_id").or(req.query("msi_res_id")).or(req.query("object_id"));
    let principal = app.engine.read(|s| {
        let p = wanted.map_or_else(|| identity::principal(s, seed::MI_CLIENT_ID), |w| identity::principal(s, w));
        p.filter(|p| p.managed_identity)
    });
    let Some(principal) = principal else {
        return json(
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid_request", "error_description": "Identity not found"}),
        );
    };
    let now = vaultlink_core::engine::now();
    let token = app.signer.sign(&identity::access_token_claims(&principal, &resource, now));
    let exp = now + identity::TOKEN_LIFETIME_SECS;
    json(
        StatusCode::OK,
        &json!({
            "access_token": token,
            "client_id": principal.app_id,
            "expires_in": identity::TOKEN_LIFETIME_SECS.to_string(),
            "expires_on": exp.to_string(),
            "ext_expires_in": identity::TOKEN_LIFETIME_SECS.to_string(),
            "not_before": now.to_string(),
            "resource": resource,
            "token_type": "Bearer",
        }),
    )
}
