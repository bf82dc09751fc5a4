//! `vaultlink seed FILE` and `serve --seed FILE` (issue 20, part 3): a declarative JSON file of
//! tenants, principals and Resource Manager resources (groups, vaults, secrets, keys, VNets,
//! endpoints, zones, role assignments, ...) and certificates, applied whole or not at all.
//!
//! Every resource is a `PUT` through the Resource Manager routes, as the principal the file names
//! (`as`; the seeded developer by default), so it is checked as `az` would be: names, bodies,
//! references and role assignments. The whole file runs on a trial copy of the state
//! (`Engine::trial`), each entry seeing the ones before it; only when every entry succeeded is
//! what they changed written, in one batch (`Engine::commit`). A bad entry refuses the file with
//! the entry's place and Azure's error, and nothing is changed.
//!
//! A file is declarative: applied again (`serve --seed` applies it at every start) it changes
//! nothing that is as it says. A tenant or principal whose name is already there is kept (its
//! secret is not shown again), and each resource `PUT` is Resource Manager's create-or-update.
//!
//! Strings may name what the file creates or the instance holds, as `${...}`:
//! `${subscription}` and `${tenant}` (the seeded ones), `${tenant:NAME}` (a tenant's id),
//! `${principal:NAME}` and `${appId:NAME}` (a principal's object and application id, by display
//! name), `${role:NAME}` (a built-in role's definition id in the seeded subscription) and
//! `${guid:A,B,...}` (ARM's `guid(A, B, ...)`, for role assignment names).

use anyhow::{Context as _, bail};
use bytes::Bytes;
use hyper::Method;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use vaultlink_core::model::Principal;
use vaultlink_core::{State, identity, rbac, seed};

use crate::http::{App, Ingress, Req};

/// A seed file.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SeedFile {
    /// Tenants to add (each with its administrator).
    #[serde(default)]
    tenants: Vec<TenantSpec>,
    /// Service principals to add.
    #[serde(default)]
    principals: Vec<PrincipalSpec>,
    /// Who sends the resources' requests unless one says otherwise: a principal's display name,
    /// application id or object id.
    #[serde(default, rename = "as")]
    as_principal: Option<String>,
    /// Resource providers to register in the seeded subscription first (`az provider register`),
    /// such as `Microsoft.KeyVault`, which a new subscription has not registered.
    #[serde(default)]
    providers: Vec<String>,
    /// Resources, in order: each is `PUT` to its `id` with the rest of the entry as the body.
    #[serde(default)]
    resources: Vec<ResourceSpec>,
    /// Secrets, after the resources: `PUT {vault}/secrets/{name}` through Resource Manager.
    #[serde(default)]
    secrets: Vec<SecretSpec>,
    /// Certificates, last: `POST {vault}/certificates/{name}/create` through the data plane (Azure
    /// has no Resource Manager door for them), kept when one of that name exists.
    #[serde(default)]
    certificates: Vec<CertificateSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantSpec {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PrincipalSpec {
    name: String,
    /// The tenant's name or id; the seeded tenant when omitted.
    tenant: Option<String>,
    #[serde(default)]
    multi_tenant: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceSpec {
    id: String,
    /// The newest vaultlink serves for the namespace when omitted.
    api_version: Option<String>,
    #[serde(rename = "as")]
    as_principal: Option<String>,
    #[serde(flatten)]
    body: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SecretSpec {
    vault: String,
    name: String,
    value: String,
    content_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CertificateSpec {
    vault: String,
    name: String,
    /// The data plane's certificate policy; a self-signed one (`CN={name}`, RSA 2048, 12 months)
    /// when omitted. Only policies that complete at once (issuer `Self`) can be seeded.
    policy: Option<Value>,
    tags: Option<Map<String, Value>>,
}

/// Resource types a seed cannot hold: their work goes on after the answer (a deployment runs,
/// a machine boots), which a trial that is written at once cannot wait for.
const REFUSED_TYPES: &[&str] = &["microsoft.resources/deployments", "microsoft.compute/"];

/// How many times the file is tried again when another write came in meanwhile.
const ATTEMPTS: usize = 3;

/// Reads and parses a seed file (a shape error names the line and column).
pub(crate) fn read(path: &std::path::Path) -> anyhow::Result<SeedFile> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is not a vaultlink seed file", path.display()))
}

/// Applies `file` whole, or refuses it with the reason and changes nothing. The answer lists
/// what was made (the principals' secrets shown once) and how many records were written.
pub(crate) fn apply(app: &App, file: &SeedFile) -> anyhow::Result<Value> {
    let started = std::time::Instant::now();
    for _ in 0..ATTEMPTS {
        let trial = app.engine.trial();
        let scratch = app.over(trial.engine.clone());
        let mut answer = run(&scratch, file)?;
        match app.engine.commit(&trial) {
            Ok(records) => {
                answer["records"] = json!(records);
                answer["millis"] = json!(started.elapsed().as_secs_f64() * 1000.0);
                return Ok(answer);
            }
            Err(e) if e.code() == "StateChanged" => continue,
            Err(e) => bail!("{}", e.message),
        }
    }
    bail!("the state kept changing while the seed file was tried ({ATTEMPTS} times); nothing was changed")
}

/// Runs every entry of `file` against `app` (a trial's), stopping at the first refusal.
fn run(app: &App, file: &SeedFile) -> anyhow::Result<Value> {
    let mut tenants = Vec::new();
    for (i, t) in file.tenants.iter().enumerate() {
        if let Some(tid) = app.engine.read(|s| tenant_id(s, &t.name)) {
            tenants.push(json!({"name": t.name, "tenantId": tid, "existing": true}));
            continue;
        }
        let added = identity::add_tenant(&app.engine, &t.name)
            .map_err(|e| refused(&format!("tenants[{i}] ({})", t.name), &e))?;
        tenants.push(json!({
            "name": t.name,
            "tenantId": added.tenant.tenant_id,
            "defaultDomain": added.tenant.default_domain,
            "admin": {"appId": added.admin.app_id, "objectId": added.admin.object_id, "secret": added.secret},
        }));
    }
    let mut principals = Vec::new();
    for (i, p) in file.principals.iter().enumerate() {
        let place = format!("principals[{i}] ({})", p.name);
        let tid = match &p.tenant {
            None => seed::TENANT_ID.to_string(),
            Some(t) => app
                .engine
                .read(|s| tenant_id(s, t))
                .ok_or_else(|| anyhow::anyhow!("{place}: no tenant '{t}' (give its name or id)"))?,
        };
        let existing = app
            .engine
            .read(|s| identity::principals_in(s, &tid).find(|x| x.display_name.eq_ignore_ascii_case(&p.name)).cloned());
        if let Some(sp) = existing {
            principals.push(json!({"name": p.name, "appId": sp.app_id, "objectId": sp.object_id, "tenant": sp.tenant_id, "existing": true}));
            continue;
        }
        let (sp, secret) =
            identity::add_principal_in(&app.engine, &tid, &p.name, p.multi_tenant).map_err(|e| refused(&place, &e))?;
        principals.push(json!({"name": p.name, "appId": sp.app_id, "objectId": sp.object_id, "tenant": sp.tenant_id, "secret": secret}));
    }
    for (i, ns) in file.providers.iter().enumerate() {
        let path = format!("/subscriptions/{}/providers/{ns}/register", seed::SUBSCRIPTION_ID);
        let api = crate::arm::latest_api(&path);
        send(app, Method::POST, file.as_principal.as_deref(), &path, api, &json!({}))
            .with_context(|| format!("providers[{i}] ({ns})"))?;
    }
    for (i, r) in file.resources.iter().enumerate() {
        let place = format!("resources[{i}]");
        let id = substitute(app, &Value::String(r.id.clone())).with_context(|| place.clone())?;
        let id = id.as_str().unwrap_or_default().to_string();
        let place = format!("{place} ({id})");
        let lower = id.to_ascii_lowercase();
        if REFUSED_TYPES.iter().any(|t| lower.contains(&format!("/providers/{t}"))) {
            bail!(
                "{place}: a seed file cannot hold deployments or virtual machines; create them with az after seeding"
            );
        }
        let body = substitute(app, &Value::Object(r.body.clone())).with_context(|| place.clone())?;
        let api = r.api_version.clone().unwrap_or_else(|| crate::arm::latest_api(&id).to_string());
        let who = r.as_principal.as_deref().or(file.as_principal.as_deref());
        send(app, Method::PUT, who, &id, &api, &body).with_context(|| place)?;
    }
    for (i, sec) in file.secrets.iter().enumerate() {
        let place = format!("secrets[{i}] ({}/{})", sec.vault, sec.name);
        let vault_id = app.engine.read(|s| s.vault_named(&sec.vault).map(|v| v.id.clone())).ok_or_else(|| {
            anyhow::anyhow!("{place}: no vault named '{}' (list it under resources first)", sec.vault)
        })?;
        let mut properties = json!({"value": sec.value});
        if let Some(ct) = &sec.content_type {
            properties["contentType"] = json!(ct);
        }
        let id = format!("{vault_id}/secrets/{}", sec.name);
        send(
            app,
            Method::PUT,
            file.as_principal.as_deref(),
            &id,
            crate::arm::latest_api(&id),
            &json!({"properties": properties}),
        )
        .with_context(|| place)?;
    }
    let mut certificates = Vec::new();
    for (i, cert) in file.certificates.iter().enumerate() {
        let place = format!("certificates[{i}] ({}/{})", cert.vault, cert.name);
        let found = app.engine.read(|s| {
            let v = s.vault_named(&cert.vault)?;
            Some(vaultlink_core::kv::certificates::exists(s, v, &cert.name))
        });
        match found {
            None => bail!("{place}: no vault named '{}' (list it under resources first)", cert.vault),
            Some(true) => certificates.push(json!({"vault": cert.vault, "name": cert.name, "existing": true})),
            Some(false) => {
                let policy = cert.policy.clone().unwrap_or_else(|| self_signed(&cert.name));
                let mut body = json!({"policy": policy});
                if let Some(tags) = &cert.tags {
                    body["tags"] = Value::Object(tags.clone());
                }
                let path = format!("/certificates/{}/create", cert.name);
                let host = vaultlink_core::keyvault::vault_host(&cert.vault);
                let target = Target { host: &host, audience: identity::VAULT_AUDIENCE, query: "7.6" };
                send_to(app, &target, Method::POST, file.as_principal.as_deref(), &path, &body)
                    .with_context(|| place.clone())?;
                let done = app.engine.read(|s| {
                    s.vault_named(&cert.vault)
                        .is_some_and(|v| vaultlink_core::kv::certificates::exists(s, v, &cert.name))
                });
                if !done {
                    bail!(
                        "{place}: the certificate's operation did not complete at once (only issuer Self can be seeded)"
                    );
                }
                certificates.push(json!({"vault": cert.vault, "name": cert.name}));
            }
        }
    }
    Ok(json!({
        "tenants": tenants,
        "principals": principals,
        "resources": file.resources.len(),
        "secrets": file.secrets.len(),
        "certificates": certificates,
    }))
}

fn refused(place: &str, e: &vaultlink_core::Error) -> anyhow::Error {
    anyhow::anyhow!("{place}: {}: {}", e.code(), e.message)
}

/// Where a seed request goes: Resource Manager, or a vault's data plane.
struct Target<'a> {
    host: &'a str,
    audience: &'a str,
    /// The `api-version`.
    query: &'a str,
}

/// A request to `id` through the Resource Manager routes as `who` (the seeded developer when
/// `None`); Azure's status, code and message when it is refused.
fn send(app: &App, method: Method, who: Option<&str>, id: &str, api_version: &str, body: &Value) -> anyhow::Result<()> {
    let target = Target { host: "management.azure.com", audience: identity::ARM_AUDIENCES[0], query: api_version };
    send_to(app, &target, method, who, id, body)
}

/// A request to `path` of `target` as `who`, on the direct listener (to a vault's data plane:
/// from this machine, as `az` would send it, so the vault's firewall applies).
fn send_to(
    app: &App,
    target: &Target<'_>,
    method: Method,
    who: Option<&str>,
    path: &str,
    body: &Value,
) -> anyhow::Result<()> {
    let caller = app.engine.read(|s| match who {
        None => identity::principal(s, seed::DEV_CLIENT_ID),
        Some(w) => find_principal(s, w),
    });
    let Some(caller) = caller else { bail!("no principal '{}' to send it as", who.unwrap_or(seed::DEV_CLIENT_ID)) };
    let token = app.signer.sign(&identity::token_claims(&caller, target.audience, &caller.app_id, app.now()));
    let mut headers = hyper::HeaderMap::new();
    headers.insert(hyper::header::AUTHORIZATION, format!("Bearer {token}").parse()?);
    headers.insert(hyper::header::CONTENT_TYPE, "application/json".parse()?);
    let req = Req {
        method,
        path: path.to_string(),
        query: vec![("api-version".into(), target.query.into())],
        headers,
        body: Bytes::from(body.to_string()),
        host: target.host.into(),
        authority: target.host.into(),
        ingress: Ingress::Direct,
    };
    let resp = if target.host.ends_with(".vault.azure.net") {
        crate::dataplane::handle(app, &req)
    } else {
        crate::arm::handle(app, &req)
    };
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let answer = crate::http::response_json(resp);
    let code = answer.pointer("/error/code").and_then(Value::as_str).unwrap_or("Unknown");
    let message = answer.pointer("/error/message").and_then(Value::as_str).unwrap_or_default();
    bail!("{} {code}: {message}", status.as_u16())
}

/// The policy of a seeded certificate that names none: self-signed, as `az keyvault certificate
/// get-default-policy` gives it, with the certificate's name as the subject.
fn self_signed(name: &str) -> Value {
    json!({
        "issuer": {"name": "Self"},
        "x509_props": {"subject": format!("CN={name}"), "validity_months": 12},
        "key_props": {"kty": "RSA", "key_size": 2048, "exportable": true, "reuse_key": false},
        "secret_props": {"contentType": "application/x-pkcs12"},
    })
}

/// A principal by display name (the first of that name), application id or object id.
fn find_principal(s: &State, name: &str) -> Option<Principal> {
    identity::principal(s, name)
        .or_else(|| identity::principals(s).into_iter().find(|p| p.display_name.eq_ignore_ascii_case(name)))
}

/// A tenant's id by its id, display name or domain.
fn tenant_id(s: &State, name: &str) -> Option<String> {
    identity::tenants(s)
        .into_iter()
        .find(|t| {
            t.tenant_id.eq_ignore_ascii_case(name)
                || t.display_name.eq_ignore_ascii_case(name)
                || t.default_domain.eq_ignore_ascii_case(name)
        })
        .map(|t| t.tenant_id)
}

/// `value` with every `${...}` in its strings replaced (see the module's documentation).
fn substitute(app: &App, value: &Value) -> anyhow::Result<Value> {
    Ok(match value {
        Value::String(s) => Value::String(app.engine.read(|state| expand(state, s))?),
        Value::Array(a) => Value::Array(a.iter().map(|v| substitute(app, v)).collect::<anyhow::Result<_>>()?),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| Ok((k.clone(), substitute(app, v)?)))
                .collect::<anyhow::Result<Map<String, Value>>>()?,
        ),
        other => other.clone(),
    })
}

fn expand(s: &State, text: &str) -> anyhow::Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('}') else { bail!("'{text}': a '${{' without its '}}'") };
        let reference = &rest[start + 2..start + len];
        out.push_str(&resolve(s, reference).with_context(|| format!("'{text}'"))?);
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn resolve(s: &State, reference: &str) -> anyhow::Result<String> {
    let (kind, arg) = reference.split_once(':').unwrap_or((reference, ""));
    let found = match kind {
        "subscription" if arg.is_empty() => Some(seed::SUBSCRIPTION_ID.to_string()),
        "tenant" if arg.is_empty() => Some(seed::TENANT_ID.to_string()),
        "tenant" => tenant_id(s, arg),
        "principal" => find_principal(s, arg).map(|p| p.object_id),
        "appId" => find_principal(s, arg).map(|p| p.app_id),
        "role" => rbac::ROLES.iter().find(|r| r.role_name.eq_ignore_ascii_case(arg)).map(|r| {
            format!("/subscriptions/{}/providers/{}/{}", seed::SUBSCRIPTION_ID, rbac::DEFINITION_TYPE, r.name)
        }),
        "guid" => Some(vaultlink_core::template::guid(&arg.split(',').map(str::trim).collect::<Vec<_>>().join("-"))),
        _ => bail!(
            "unknown reference '${{{reference}}}' (known: subscription, tenant, tenant:NAME, principal:NAME, appId:NAME, role:NAME, guid:A,B)"
        ),
    };
    found.ok_or_else(|| anyhow::anyhow!("'${{{reference}}}' names nothing here"))
}
