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

pub(crate) fn handle(app: &App, req: &Req) -> Resp {
    let segs: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    match (&req.method, l.as_slice()) {
        (&Method::GET, [_, "v2.0", ".well-known", "openid-configuration"]) => {
            openid_configuration(app, req, segs[0], true)
        }
        (&Method::GET, [_, ".well-known", "openid-configuration"]) => openid_configuration(app, req, segs[0], false),
        (&Method::GET, [_, "discovery", "v2.0", "keys"] | [_, "discovery", "keys"] | ["discovery", "keys"]) => {
            json(StatusCode::OK, &app.signer.jwks())
        }
        (&Method::GET, [_, "discovery", "instance"]) => json(StatusCode::OK, &instance_discovery(req)),
        (&Method::GET, [_, "userrealm", _]) => json(StatusCode::OK, &user_realm(app, segs[2])),
        (&Method::POST, [_, "oauth2", "v2.0", "token"]) => token(app, req, segs[0], true),
        (&Method::POST, [_, "oauth2", "token"]) => token(app, req, segs[0], false),
        _ => json(
            StatusCode::NOT_FOUND,
            &json!({"error": "not_found", "error_description": format!("vaultlink's Entra ID does not serve {} {}", req.method, req.path)}),
        ),
    }
}

/// `GET /common/userrealm/{name}`: MSAL asks before a password sign-in whether the user's
/// domain is federated; every vaultlink tenant is managed (passwords checked here).
fn user_realm(app: &App, username: &str) -> Value {
    let domain = username.rsplit('@').next().unwrap_or_default();
    let known = app.engine.read(|s| identity::tenants(s).iter().any(|t| t.default_domain.eq_ignore_ascii_case(domain)));
    json!({
        "ver": "1.0",
        "account_type": if known { "Managed" } else { "Unknown" },
        "domain_name": domain,
        "cloud_instance_name": "microsoftonline.com",
        "cloud_audience_urn": "urn:federation:MicrosoftOnline",
    })
}

fn openid_configuration(app: &App, req: &Req, tenant: &str, v2: bool) -> Resp {
    let tid = match app.engine.read(|s| identity::resolve_tenant(s, tenant)) {
        Ok(t) => t.unwrap_or_else(|| seed::TENANT_ID.to_string()),
        Err(e) => return oauth_error(&identity::OAuthError { error: "invalid_tenant", ..e }),
    };
    json(StatusCode::OK, &openid_document(req, tenant, &tid, v2))
}

fn openid_document(req: &Req, tenant: &str, tid: &str, v2: bool) -> Value {
    let b = base(req);
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

/// The audience of a refresh token: no surface accepts it as an access token.
const REFRESH_AUDIENCE: &str = "urn:vaultlink:refresh-token";
/// How long a refresh token lasts (Entra's default: 90 days).
const REFRESH_LIFETIME_SECS: i64 = 90 * 24 * 3600;

/// `POST /{tenant}/oauth2[/v2.0]/token`: client credentials (service principals), a user's
/// password (the resource-owner password flow, `az login -u -p`) and refresh tokens.
fn token(app: &App, req: &Req, tenant: &str, v2: bool) -> Resp {
    let form = parse_form(std::str::from_utf8(&req.body).unwrap_or(""));
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let grant = match get("grant_type") {
        Some(g @ ("client_credentials" | "password" | "refresh_token")) => g,
        Some(other) => {
            return oauth_error(&identity::OAuthError {
                status: 400,
                error: "unsupported_grant_type",
                description: format!("AADSTS70003: The app requested an unsupported grant type '{other}'."),
                codes: vec![70003],
            });
        }
        None => return bad_request(900144, "The request body must contain the following parameter: 'grant_type'."),
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
    let signed_in = match grant {
        "client_credentials" => client_credentials(app, req, tenant, &get),
        "password" => password(app, tenant, &get),
        _ => refresh(app, tenant, &get),
    };
    let (principal, client_id) = match signed_in {
        Ok(p) => p,
        Err(e) => {
            vaultlink_core::info_limited!(
                grant,
                error = e.error,
                code = e.codes.first().copied().unwrap_or(0),
                "token request refused"
            );
            return oauth_error(&e);
        }
    };
    let now = app.now();
    let user = principal.user.is_some();
    let access_token = app.signer.sign(&identity::token_claims(&principal, &resource, &client_id, now));
    tracing::info!(client_id = %client_id, grant, audience = %resource, "token issued");
    let mut body = json!({
        "token_type": "Bearer",
        "expires_in": identity::TOKEN_LIFETIME_SECS,
        "ext_expires_in": identity::TOKEN_LIFETIME_SECS,
        "access_token": access_token,
    });
    if user {
        // A person's sign-in: the account (ID token, client info) and a refresh token, which
        // MSAL keeps to get tokens for other resources and tenants.
        body["scope"] = json!(format!("{}/user_impersonation", resource.trim_end_matches('/')));
        body["refresh_token"] = json!(app.signer.sign(&json!({
            "aud": REFRESH_AUDIENCE,
            "iss": format!("https://sts.windows.net/{}/", principal.tenant_id),
            "tid": principal.tenant_id,
            "oid": principal.object_id,
            "idtyp": "user",
            "client_id": client_id,
            "iat": now,
            "nbf": now,
            "exp": now + REFRESH_LIFETIME_SECS,
            "jti": uuid::Uuid::new_v4().to_string(),
        })));
        body["id_token"] = json!(app.signer.sign(&identity::id_token_claims(&principal, &client_id, now)));
        let info = json!({"uid": principal.object_id, "utid": principal.tenant_id}).to_string();
        body["client_info"] = json!(vaultlink_crypto::b64url(info.as_bytes()));
    }
    if !v2 {
        body["expires_on"] = json!((now + identity::TOKEN_LIFETIME_SECS).to_string());
        body["not_before"] = json!(now.to_string());
        body["resource"] = json!(resource);
        body["expires_in"] = json!(identity::TOKEN_LIFETIME_SECS.to_string());
        body["ext_expires_in"] = json!(identity::TOKEN_LIFETIME_SECS.to_string());
    }
    json(StatusCode::OK, &body)
}

type Signed = Result<(vaultlink_core::model::Principal, String), identity::OAuthError>;

fn missing(name: &str) -> identity::OAuthError {
    identity::OAuthError {
        status: 400,
        error: "invalid_request",
        description: format!("AADSTS900144: The request body must contain the following parameter: '{name}'."),
        codes: vec![900144],
    }
}

/// Client credentials: the secret in the form or in HTTP Basic authentication.
fn client_credentials<'a>(app: &App, req: &Req, tenant: &str, get: &impl Fn(&str) -> Option<&'a str>) -> Signed {
    // client_secret_basic: credentials in the Authorization header.
    let basic = req.header("authorization").and_then(|h| h.strip_prefix("Basic ")).and_then(|b| {
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::STANDARD.decode(b.trim()).ok()?;
        let s = String::from_utf8(raw).ok()?;
        let (u, p) = s.split_once(':')?;
        Some((parse_form(&format!("a={u}")).remove(0).1, parse_form(&format!("a={p}")).remove(0).1))
    });
    let (client_id, secret) = match (get("client_id"), get("client_secret"), &basic) {
        (Some(c), Some(s), _) => (c.to_string(), s.to_string()),
        (_, _, Some((c, s))) => (c.clone(), s.clone()),
        (Some(_), None, None) => {
            return Err(identity::OAuthError { status: 401, error: "invalid_client", description: "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.".into(), codes: vec![7000218] });
        }
        _ => return Err(missing("client_id")),
    };
    let p = identity::authenticate(&app.engine, tenant, &client_id, &secret)?;
    Ok((p, client_id))
}

/// A user's password, sent by a public client (`az`, whose own app id is the client id).
fn password<'a>(app: &App, tenant: &str, get: &impl Fn(&str) -> Option<&'a str>) -> Signed {
    let client_id = get("client_id").ok_or_else(|| missing("client_id"))?;
    let username = get("username").ok_or_else(|| missing("username"))?;
    let password = get("password").ok_or_else(|| missing("password"))?;
    Ok((identity::authenticate_user(&app.engine, tenant, username, password)?, client_id.to_string()))
}

/// A refresh token of a signed-in user, for the tenant the URL names (the user must be in it).
fn refresh<'a>(app: &App, tenant: &str, get: &impl Fn(&str) -> Option<&'a str>) -> Signed {
    let invalid = |code: u32, text: &str| identity::OAuthError {
        status: 400,
        error: "invalid_grant",
        description: format!("AADSTS{code}: {text}"),
        codes: vec![code],
    };
    let token = get("refresh_token").ok_or_else(|| missing("refresh_token"))?;
    let claims = app
        .signer
        .verify(token, app.now())
        .ok()
        .filter(|c| c.get("aud").and_then(Value::as_str) == Some(REFRESH_AUDIENCE))
        .ok_or_else(|| invalid(9002313, "Invalid request. Request is malformed or invalid."))?;
    let field = |k: &str| claims.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let (home, oid, client_id) = (field("tid"), field("oid"), field("client_id"));
    let p = app.engine.read(|s| {
        let tid = identity::resolve_tenant(s, tenant)?.unwrap_or(home);
        identity::principal_in(s, &tid, &oid).filter(|p| p.user.is_some()).ok_or_else(|| {
            invalid(
                50020,
                &format!("User account from identity provider 'https://sts.windows.net/{}/' does not exist in tenant '{tid}' and cannot access the application '{client_id}' in that tenant. The account needs to be added as an external user in the tenant first.", field("tid")),
            )
        })
    })?;
    if p.user.as_ref().is_some_and(|u| !u.account_enabled) {
        return Err(invalid(50057, "The user account is disabled."));
    }
    Ok((p, client_id))
}

/// The managed-identity endpoint: IMDS (`/metadata/identity/oauth2/token`, header `Metadata: true`)
/// and the App Service form (`/msi/token`, header `X-IDENTITY-HEADER`).
pub(crate) fn handle_identity(app: &App, req: &Req) -> Resp {
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
    // On a shared server an identity's token goes only to a caller that presents its tenant's
    // identity header (`admin::Shared`), as App Service gives it only to the app's own code; the
    // same answer whether or not the identity exists.
    if let Some(shared) = &app.shared {
        let presented = req.header("x-identity-header").unwrap_or_default();
        let granted = principal.as_ref().is_some_and(|p| {
            vaultlink_crypto::constant_time_eq(
                presented.as_bytes(),
                shared.admin_key.identity_header(&p.tenant_id).as_bytes(),
            )
        });
        if !granted {
            vaultlink_core::info_limited!(
                "managed-identity token refused: no identity header of the identity's tenant"
            );
            return json(
                StatusCode::UNAUTHORIZED,
                &json!({"error": "invalid_request", "error_description": "This shared vaultlink gives a managed identity's token only with its tenant's X-IDENTITY-HEADER (IDENTITY_HEADER), which the server's operator hands out."}),
            );
        }
    }
    let Some(principal) = principal else {
        return json(
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid_request", "error_description": "Identity not found"}),
        );
    };
    let now = app.now();
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
