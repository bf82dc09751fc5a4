//! `Microsoft.Resources/deployments` at resource-group and subscription scope (issue 17): create
//! (long-running, as in Azure), validate, what-if, get, list, delete, cancel, export, operations.
//!
//! A deployment runs on its own thread. Each resource of the template's plan
//! (`vaultlink_core::template`) is PUT through [`crate::arm::handle`] with the deploying caller's
//! own token, so it meets the same validation, the same errors and the same authorization as a
//! direct PUT; `reference()` and `list*()` are GET and POST requests the same way. Resources run
//! in waves of those whose dependencies are done, a wave's members in parallel. A resource whose
//! dependency failed is not attempted; the others go on, and the deployment fails with ARM's
//! `DeploymentFailed` tree around each failed resource's own error, leaving what it created.
//! Nested deployments are deployments of their own (recorded at their target scope) run in
//! their parent's thread. `mode: Complete` deletes, after success, the resource group's resources
//! the template (and its nested deployments there) did not name. `onErrorDeployment` replays the
//! last successful (or the named) deployment after a failure.
//!
//! The clients poll `Azure-AsyncOperation` (`.../operationStatuses/{id}`); the record's
//! `provisioningState` goes Accepted -> Running -> Succeeded | Failed | Canceled.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use bytes::Bytes;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use vaultlink_core::deployments::{self, TYPE};
use vaultlink_core::error::Kind;
use vaultlink_core::model::{Deployment, DeploymentOperation, Record};
use vaultlink_core::rbac::Admitted;
use vaultlink_core::template::{self, Host, NestedTarget, Plan, ResourceGroupInfo, Scope};
use vaultlink_core::{Error, Result, identity, registry, resources};

use super::{Path, body_json, json_ok, list};
use crate::http::{App, Ingress, Req, Resp, empty};

/// Seconds a client waits between polls of a running deployment (`Retry-After`): vaultlink's
/// deployments take moments, and the clients' default without it is 30 s.
const RETRY_AFTER: &str = "1";

/// The deployments under way, for `cancel`, and the way back to the shared `App` for their
/// threads.
#[derive(Default)]
pub(crate) struct Runner {
    app: OnceLock<Weak<App>>,
    canceled: Mutex<HashSet<String>>,
    results: Results,
    /// How many deployment threads run, for [`Runner::wait_idle`].
    running: (Mutex<usize>, std::sync::Condvar),
}

/// One deployment thread counted by [`Runner::started`]: dropping it counts the thread out.
struct Running<'a>(&'a Runner);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let (count, idle) = &self.0.running;
        let mut n = count.lock().unwrap_or_else(|p| p.into_inner());
        *n = n.saturating_sub(1);
        if *n == 0 {
            idle.notify_all();
        }
    }
}

/// Answers kept for the `Location` their request was given: what-if and delete answer 202, as
/// in Azure, and the clients poll the `Location` for the result. Each is kept for the caller
/// who asked, at most [`RESULT_LIFETIME`], the newest [`MAX_RESULTS`].
#[derive(Default)]
struct Results(Mutex<std::collections::HashMap<String, Kept>>);

struct Kept {
    /// The object id of the caller who asked, and the subscription: nobody else reads the
    /// answer, nor through another subscription's path.
    caller: String,
    subscription: String,
    status: StatusCode,
    body: Option<Value>,
    kept_at: std::time::Instant,
}

const MAX_RESULTS: usize = 256;
const RESULT_LIFETIME: std::time::Duration = std::time::Duration::from_secs(3600);

impl Results {
    /// Keeps an answer for `caller`; returns the token of its `Location`.
    fn keep(&self, caller: &str, subscription: &str, status: StatusCode, body: Option<Value>) -> String {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, k| k.kept_at.elapsed() < RESULT_LIFETIME);
        if map.len() >= MAX_RESULTS
            && let Some(oldest) = map.iter().min_by_key(|(_, k)| k.kept_at).map(|(t, _)| t.clone())
        {
            map.remove(&oldest);
        }
        let token = vaultlink_crypto::random_hex(16);
        let kept = Kept {
            caller: caller.to_string(),
            subscription: subscription.to_ascii_lowercase(),
            status,
            body,
            kept_at: std::time::Instant::now(),
        };
        map.insert(token.clone(), kept);
        token
    }

    /// The answer kept under `token` for `caller`, if any.
    fn get(&self, token: &str, caller: &str, subscription: &str) -> Option<(StatusCode, Option<Value>)> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&token.to_ascii_lowercase())
            .filter(|k| {
                k.caller == caller
                    && k.subscription.eq_ignore_ascii_case(subscription)
                    && k.kept_at.elapsed() < RESULT_LIFETIME
            })
            .map(|k| (k.status, k.body.clone()))
    }
}

/// 202 Accepted with a `Location` to poll for `body` (or for `status` with no body).
fn accepted(
    app: &App,
    req: &Req,
    c: &Admitted,
    target: &Scope,
    path: &str,
    status: StatusCode,
    body: Option<Value>,
) -> Resp {
    let token = app.deployments.results.keep(&c.object_id, &target.subscription_id, status, body);
    let path = format!("/subscriptions/{}/{path}", target.subscription_id);
    let mut resp = empty(StatusCode::ACCEPTED);
    let location = format!(
        "https://{}{path}/{token}?api-version={}",
        req.authority,
        crate::http::percent_encode_path(req.query("api-version").unwrap_or_default())
    );
    super::set_headers(&mut resp, &[("location", &location), ("retry-after", RETRY_AFTER)]);
    resp
}

/// `GET /subscriptions/{s}/operationresults/{token}` and `GET /subscriptions/{s}/providers/
/// Microsoft.Resources/locations/{l}/operationResults/{token}`: a what-if's or a delete's answer,
/// for the caller who asked (anyone else: 404, as for a token that never was).
pub(super) fn operation_result(app: &App, subscription: &str, token: &str, c: &Admitted) -> Result<Resp> {
    match app.deployments.results.get(token, &c.object_id, subscription) {
        Some((status, Some(body))) => Ok(json_ok(status, &body)),
        Some((status, None)) => Ok(empty(status)),
        None => Err(Error::not_found(
            "OperationResultNotFound",
            "The operation result was not found: it has expired, or was never made.",
        )),
    }
}

impl Runner {
    /// Gives the runner its `App` (once it is shared), and ends what a previous process left
    /// running: a deployment interrupted by a stop is `Failed`, never `Running` forever.
    pub(crate) fn attach(app: &Arc<App>) {
        let _ = app.deployments.app.set(Arc::downgrade(app));
        let _ = app.engine.write(|s, b| {
            for r in s.of_kind(vaultlink_core::model::RecordKind::Deployment) {
                if let Record::Deployment(d) = r
                    && deployments::is_active(d)
                {
                    let mut d = d.clone();
                    d.provisioning_state = "Failed".into();
                    d.updated_ms = now_ms(app);
                    d.error = Some(json!({
                        "code": "DeploymentInterrupted",
                        "target": d.id,
                        "message": "The deployment was interrupted: vaultlink stopped while it ran. Deploy it again.",
                    }));
                    b.put(&d.id.clone(), Record::Deployment(d));
                }
            }
            Ok::<_, Error>(())
        });
    }

    /// Counts a deployment thread in, before it is spawned; its [`Running`] counts it out.
    fn started(&self) {
        *self.running.0.lock().unwrap_or_else(|p| p.into_inner()) += 1;
    }

    /// Waits until no deployment runs (the fuzzing harness: each input meets a quiet world).
    #[cfg_attr(not(feature = "fuzzing"), allow(dead_code))]
    pub(crate) fn wait_idle(&self) {
        let (count, idle) = &self.running;
        let mut n = count.lock().unwrap_or_else(|p| p.into_inner());
        while *n > 0 {
            n = idle.wait(n).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn is_canceled(&self, id: &str) -> bool {
        self.canceled.lock().unwrap_or_else(|p| p.into_inner()).contains(&id.to_ascii_lowercase())
    }

    fn set_canceled(&self, id: &str, on: bool) {
        let mut set = self.canceled.lock().unwrap_or_else(|p| p.into_inner());
        if on {
            set.insert(id.to_ascii_lowercase());
        } else {
            set.remove(&id.to_ascii_lowercase());
        }
    }
}

/// Milliseconds since the epoch by the engine's clock (deployments keep times to the millisecond).
fn now_ms(app: &App) -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos().div_euclid(1_000_000) as i64 + app.clock.offset() * 1000
}

/// The routes below `{scope}/providers/Microsoft.Resources/deployments` (and `{scope}/deployments`,
/// the form the SDKs' operations lists use); `scope_len` is the number of path segments of the
/// scope (2: a subscription, 4: a resource group), `rest` what follows `deployments`.
pub(super) fn routes(app: &App, req: &Req, p: &Path, scope_len: usize, rest: &[&str], c: &Admitted) -> Result<Resp> {
    use Method as M;
    let scope = format!("/{}", p.orig[..scope_len].join("/"));
    let target = target_of(app, c, &p.orig[..scope_len])?;
    let name = || p.at(p.orig.len() - rest.len()).to_string();
    let deployment = || app.engine.read(|s| deployments::get(s, &deployments::id(&scope, &name())));
    Ok(match (&req.method, rest) {
        (&M::GET, []) => {
            list(req, c, app.engine.read(|s| deployments::list(s, &scope)).iter().map(deployments::render).collect())
        }
        (&M::GET, [_]) => json_ok(StatusCode::OK, &deployments::render(&deployment()?)),
        (&M::HEAD, [_]) => empty(if deployment().is_ok() { StatusCode::NO_CONTENT } else { StatusCode::NOT_FOUND }),
        (&M::PUT, [_]) => create(app, req, c, &target, &name())?,
        (&M::DELETE, [_]) => {
            let id = deployments::id(&scope, &name());
            // 204 when there is none; 202 with a Location (which answers 204) when there was.
            let existed = super::write(app, c, |s, b| match deployments::get(s, &id) {
                Ok(d) if deployments::is_active(&d) => Err(active(&d)),
                Ok(_) => {
                    b.delete(&id);
                    Ok(true)
                }
                Err(_) => Ok(false),
            })?;
            if !existed {
                return Ok(empty(StatusCode::NO_CONTENT));
            }
            accepted(app, req, c, &target, "operationresults", StatusCode::NO_CONTENT, None)
        }
        (&M::POST, [_, "validate"]) => {
            let request = Request::parse(app, req, &target, &name())?;
            let plan = request.plan(app, &Credentials::of(req), &target)?;
            preflight(app, c, &plan)?;
            let ids: Vec<Value> = plan.resources().iter().map(|r| json!({"id": r.id})).collect();
            json_ok(
                StatusCode::OK,
                &json!({
                    "id": deployments::id(&scope, &name()),
                    "name": name(),
                    "type": TYPE,
                    "properties": {
                        "templateHash": template::template_hash(&request.template),
                        "parameters": plan.parameters(),
                        "mode": request.mode,
                        "provisioningState": "Succeeded",
                        "timestamp": vaultlink_core::engine::rfc3339(app.now()),
                        "duration": "PT0S",
                        "correlationId": vaultlink_core::engine::guid(),
                        "validatedResources": ids,
                    },
                }),
            )
        }
        (&M::POST, [_, "whatif"]) => {
            // Checked and computed now; answered, as Azure answers, through a Location to poll.
            let request = Request::parse(app, req, &target, &name())?;
            let changes = what_if(app, req, &target, &request)?;
            let region = request
                .location
                .clone()
                .or_else(|| target.resource_group.as_ref().map(|g| g.location.clone()))
                .unwrap_or_else(|| "global".into());
            let results = format!("providers/Microsoft.Resources/locations/{region}/operationResults");
            let body = json!({"status": "Succeeded", "properties": {"changes": changes}});
            accepted(app, req, c, &target, &results, StatusCode::OK, Some(body))
        }
        (&M::POST, [_, "cancel"]) => {
            let d = deployment()?;
            if !deployments::is_active(&d) {
                return Err(deployments::cannot_cancel(&d));
            }
            app.deployments.set_canceled(&d.id, true);
            empty(StatusCode::NO_CONTENT)
        }
        (&M::POST, [_, "exporttemplate"]) => json_ok(StatusCode::OK, &json!({"template": deployment()?.template})),
        (&M::GET, [_, "operations"]) => {
            let d = deployment()?;
            let ops = d.operations.iter().map(|o| deployments::render_operation(&d, o)).collect();
            json_ok(StatusCode::OK, &json!({"value": Value::Array(ops)}))
        }
        (&M::GET, [_, "operations", op]) => {
            let d = deployment()?;
            let found = d.operations.iter().find(|o| o.operation_id.eq_ignore_ascii_case(op));
            match found {
                Some(o) => json_ok(StatusCode::OK, &deployments::render_operation(&d, o)),
                None => {
                    return Err(Error::not_found(
                        "DeploymentOperationNotFound",
                        format!("Deployment operation '{op}' of deployment '{}' could not be found.", d.name),
                    ));
                }
            }
        }
        (&M::GET, [_, "operationstatuses", _]) => {
            let d = deployment()?;
            let mut resp = json_ok(StatusCode::OK, &deployments::status(&d));
            if deployments::is_active(&d) {
                resp.headers_mut().insert(hyper::header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER));
            }
            resp
        }
        _ => return Err(super::no_route(req)),
    })
}

fn active(d: &Deployment) -> Error {
    Error::conflict(
        "DeploymentActive",
        format!(
            "The deployment '{}' is active and cannot be modified or deleted. Wait for it to finish or cancel it. Please see https://aka.ms/arm-deploy-resources for usage details.",
            d.name
        ),
    )
}

/// Where a deployment runs: the subscription and, at resource-group scope, the group (which
/// must exist), with what the template functions answer about them.
fn target_of(app: &App, c: &vaultlink_core::Caller, scope: &[String]) -> Result<Scope> {
    let sub_id = scope.get(1).cloned().unwrap_or_default();
    let rg = scope.get(3).cloned();
    target_in(app, c, &sub_id, rg.as_deref(), String::new(), None)
}

fn target_in(
    app: &App,
    c: &vaultlink_core::Caller,
    sub_id: &str,
    rg: Option<&str>,
    deployment_name: String,
    location: Option<String>,
) -> Result<Scope> {
    app.engine.read(|s| {
        let sub = resources::subscription(s, c, sub_id)?;
        let tenant = identity::tenant(s, &sub.tenant_id);
        let resource_group = match rg {
            Some(rg) => {
                let g = resources::resource_group(s, c, sub_id, rg)?;
                let tags = g.tags.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
                Some(ResourceGroupInfo { name: g.name, location: g.location, tags })
            }
            None => None,
        };
        Ok(Scope {
            tenant_id: sub.tenant_id.clone(),
            tenant_display_name: tenant.map(|t| t.display_name).unwrap_or_default(),
            subscription_id: sub.subscription_id.clone(),
            subscription_display_name: sub.display_name.clone(),
            resource_group,
            deployment_name,
            location,
            now: time::OffsetDateTime::now_utc() + time::Duration::seconds(app.clock.offset()),
            template_link: None,
        })
    })
}

/// A deployment's request body, read as ARM reads it.
struct Request {
    template: Value,
    parameters: Value,
    mode: String,
    location: Option<String>,
    tags: vaultlink_core::model::Tags,
    on_error: Option<Value>,
    name: String,
    /// A linked template's `templateLink` (a relative path resolved to its `uri`) and
    /// `parametersLink`, as the record keeps them.
    template_link: Option<Value>,
    parameters_link: Option<Value>,
    /// `debugSetting.detailLevel`, as given.
    debug_detail_level: Option<String>,
}

/// A deployment's body. Resource Manager reads it as Json.NET does, and `az` relies on that: it
/// splices the template file's text in as written (comments and all) after an unquoted
/// `template:` key. Strict JSON first, then JSON5 (which reads both).
fn deployment_body(req: &Req) -> Result<Value> {
    body_json(req).or_else(|strict| {
        std::str::from_utf8(&req.body).ok().and_then(|text| json5::from_str::<Value>(text).ok()).ok_or(strict)
    })
}

fn invalid_content(message: impl Into<String>) -> Error {
    Error::bad_request("InvalidRequestContent", message)
}

/// A `templateLink` resolved: the URI to fetch (with its query string) and the link as the
/// record keeps it. A `relativePath` is resolved against the parent's `uri`, and takes the
/// parent's `queryString` when it has none (a SAS token reaches the nested files, as in ARM).
fn resolve_link(link: &Value, parent: Option<&Value>) -> Result<(String, Value)> {
    let Some(given) = link.as_object() else {
        return Err(invalid_content(
            "The request content was invalid and could not be deserialized: 'The property 'templateLink' must be an object.'.",
        ));
    };
    if given.get("id").is_some_and(|v| !v.is_null()) {
        return Err(Error::bad_request(
            "InvalidTemplate",
            "Template specs ('templateLink.id', 'az deployment ... --template-spec') are not served by vaultlink; link the template by 'uri' (docs/behaviour.md).",
        ));
    }
    let text = |v: Option<&Value>| v.and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    let parent_uri = text(parent.and_then(|p| p.get("uri")));
    let (uri, query) = match (text(given.get("uri")), text(given.get("relativePath"))) {
        (Some(uri), _) => (uri, text(given.get("queryString"))),
        (None, Some(relative)) => {
            let Some(base) = parent_uri else {
                return Err(Error::bad_request(
                    "InvalidContentLink",
                    "The 'relativePath' of a 'templateLink' can be used only in a template that was itself linked by 'uri'.",
                ));
            };
            let joined = url::Url::parse(&base).and_then(|b| b.join(&relative)).map_err(|_| {
                Error::bad_request(
                    "InvalidContentLink",
                    format!("The 'relativePath' '{relative}' cannot be resolved against the parent template's link."),
                )
            })?;
            let query = text(given.get("queryString")).or_else(|| text(parent.and_then(|p| p.get("queryString"))));
            (joined.to_string(), query)
        }
        (None, None) => {
            return Err(invalid_content(
                "The request content was invalid and could not be deserialized: 'Required property 'uri' not found in JSON.'.",
            ));
        }
    };
    let fetched = match &query {
        Some(q) => format!("{uri}{}{}", if uri.contains('?') { '&' } else { '?' }, q.trim_start_matches('?')),
        None => uri.clone(),
    };
    let mut kept = serde_json::Map::new();
    kept.insert("uri".into(), json!(uri));
    for key in ["relativePath", "contentVersion"] {
        if let Some(v) = given.get(key).filter(|v| !v.is_null()) {
            kept.insert(key.into(), v.clone());
        }
    }
    if let Some(q) = query {
        kept.insert("queryString".into(), json!(q));
    }
    Ok((fetched, Value::Object(kept)))
}

/// A link's `contentVersion`, when it names one, must be the content's.
fn same_version(link: &Value, content: &Value, uri: &str) -> Result<()> {
    let Some(wanted) = link.get("contentVersion").and_then(Value::as_str) else { return Ok(()) };
    let found = content.get("contentVersion").and_then(Value::as_str).unwrap_or_default();
    if wanted == found {
        return Ok(());
    }
    Err(Error::bad_request(
        "InvalidContentLink",
        format!(
            "The content version '{found}' of the content downloaded from '{}' does not match the content version '{wanted}' the link asks for.",
            super::links::shown(uri)
        ),
    ))
}

/// `debugSetting.detailLevel` read: (keep the request content, keep the response content);
/// `None` for a value ARM does not know.
fn detail_level(level: &str) -> Option<(bool, bool)> {
    let mut keeps = (false, false);
    for part in level.split(',').map(str::trim) {
        match part.to_ascii_lowercase().as_str() {
            "none" => {}
            "requestcontent" => keeps.0 = true,
            "responsecontent" => keeps.1 = true,
            _ => return None,
        }
    }
    Some(keeps)
}

/// `content` with each string that holds a secure parameter's value replaced: the operations'
/// recorded request content never shows one (vaultlink's choice; ARM keeps them).
fn redacted(content: &Value, secure: &[String]) -> Value {
    match content {
        Value::String(s) if secure.iter().any(|x| s.contains(x.as_str())) => json!("[secure value]"),
        Value::Array(items) => Value::Array(items.iter().map(|x| redacted(x, secure)).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, x)| (k.clone(), redacted(x, secure))).collect()),
        other => other.clone(),
    }
}

impl Request {
    fn parse(app: &App, req: &Req, target: &Scope, name: &str) -> Result<Request> {
        deployments::validate_name(name)?;
        Self::from_body(app, &deployment_body(req)?, target, name, None)
    }

    /// The request in `body`. A linked template or parameter file is fetched now (through
    /// `links.rs`); `parent` is the link of the deployment that nests this one, which a
    /// `relativePath` is resolved against.
    fn from_body(app: &App, body: &Value, target: &Scope, name: &str, parent: Option<&Value>) -> Result<Request> {
        let props = body
            .get("properties")
            .and_then(Value::as_object)
            .ok_or_else(|| invalid_content("The request content was invalid and could not be deserialized: 'Required property 'properties' not found in JSON.'."))?;
        let given = |key: &str| props.get(key).filter(|v| !v.is_null());
        let (template, template_link) = match (given("template"), given("templateLink")) {
            (Some(_), Some(_)) => {
                return Err(invalid_content(
                    "The request content was invalid: give either 'template' or 'templateLink', not both.",
                ));
            }
            (None, Some(link)) => {
                let (uri, link) = resolve_link(link, parent)?;
                let template = app.template_links.fetch(&uri)?;
                same_version(&link, &template, &uri)?;
                (template, Some(link))
            }
            (Some(t @ Value::Object(_)), None) => (t.clone(), None),
            (Some(_), None) => {
                return Err(invalid_content(
                    "The request content was invalid and could not be deserialized: 'The property 'template' must be an object.'.",
                ));
            }
            (None, None) => {
                return Err(invalid_content(
                    "The request content was invalid and could not be deserialized: 'Required property 'template' or 'templateLink' not found in JSON.'.",
                ));
            }
        };
        let (parameters, parameters_link) = match (given("parameters"), given("parametersLink")) {
            (Some(_), Some(_)) => {
                return Err(invalid_content(
                    "The request content was invalid: give either 'parameters' or 'parametersLink', not both.",
                ));
            }
            (None, None) => (json!({}), None),
            (Some(p @ Value::Object(_)), None) => (p.clone(), None),
            (Some(_), None) => {
                return Err(invalid_content(
                    "The request content was invalid and could not be deserialized: 'The property 'parameters' must be an object.'.",
                ));
            }
            (None, Some(link)) => {
                let uri = link.get("uri").and_then(Value::as_str).ok_or_else(|| {
                    invalid_content("The request content was invalid and could not be deserialized: 'Required property 'uri' not found in JSON.'.")
                })?;
                let file = app.template_links.fetch(uri)?;
                same_version(link, &file, uri)?;
                match file.get("parameters") {
                    Some(p @ Value::Object(_)) => (p.clone(), Some(link.clone())),
                    _ => {
                        return Err(Error::bad_request(
                            "InvalidContentLink",
                            format!(
                                "The parameters file downloaded from '{}' has no 'parameters' object.",
                                super::links::shown(uri)
                            ),
                        ));
                    }
                }
            }
        };
        let debug_detail_level = match props.get("debugSetting").and_then(|d| d.get("detailLevel")) {
            None | Some(Value::Null) => None,
            Some(Value::String(level)) if detail_level(level).is_some() => Some(level.clone()),
            Some(other) => {
                return Err(invalid_content(format!(
                    "The debug setting detail level '{}' is not valid: give 'none', 'requestContent', 'responseContent' or 'requestContent, responseContent'.",
                    other.as_str().map_or_else(|| other.to_string(), str::to_string)
                )));
            }
        };
        let mode = match props.get("mode").and_then(Value::as_str) {
            Some(m) if m.eq_ignore_ascii_case("incremental") => "Incremental",
            Some(m) if m.eq_ignore_ascii_case("complete") => "Complete",
            Some(m) => {
                return Err(invalid_content(format!(
                    "The request content was invalid and could not be deserialized: 'Error converting value \"{m}\" to type 'DeploymentMode'.'."
                )));
            }
            None => {
                return Err(invalid_content(
                    "The request content was invalid and could not be deserialized: 'Required property 'mode' not found in JSON.'.",
                ));
            }
        };
        let location = body.get("location").and_then(Value::as_str).map(str::to_string);
        if target.resource_group.is_none() {
            if location.is_none() {
                return Err(Error::bad_request(
                    "LocationRequired",
                    "The location property is required for this definition. A deployment at subscription scope must have a location.",
                ));
            }
            if mode == "Complete" {
                return Err(Error::bad_request(
                    "InvalidDeploymentMode",
                    "The deployment mode 'Complete' is not supported for a deployment at subscription scope. Please see https://aka.ms/arm-deploy-resources for usage details.",
                ));
            }
        }
        let tags = match body.get("tags") {
            Some(Value::Object(m)) => {
                m.iter().map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_string))).collect()
            }
            _ => Default::default(),
        };
        let on_error = props.get("onErrorDeployment").filter(|v| !v.is_null()).cloned();
        if let Some(o) = &on_error {
            let kind = o.get("type").and_then(Value::as_str).unwrap_or("LastSuccessful");
            let named = o.get("deploymentName").and_then(Value::as_str).is_some();
            if !(kind.eq_ignore_ascii_case("LastSuccessful")
                || (kind.eq_ignore_ascii_case("SpecificDeployment") && named))
            {
                return Err(invalid_content(
                    "The 'onErrorDeployment' must be of type 'LastSuccessful', or 'SpecificDeployment' with a 'deploymentName'.",
                ));
            }
        }
        Ok(Request {
            template,
            parameters,
            mode: mode.into(),
            location,
            tags,
            on_error,
            name: name.into(),
            template_link,
            parameters_link,
            debug_detail_level,
        })
    }

    /// The scope the deployment runs in, named after it (`deployment().name`).
    fn scope(&self, target: &Scope) -> Scope {
        let mut scope = target.clone();
        scope.deployment_name.clone_from(&self.name);
        scope.location.clone_from(&self.location);
        scope.template_link.clone_from(&self.template_link);
        scope
    }

    /// What `debugSetting` asks the operations to keep: (request content, response content).
    fn keeps(&self) -> (bool, bool) {
        self.debug_detail_level.as_deref().and_then(detail_level).unwrap_or((false, false))
    }

    /// The validated plan (`InvalidTemplate` and the other validation errors as 400s).
    fn plan(&self, app: &App, credentials: &Credentials, target: &Scope) -> Result<Plan> {
        let scope = self.scope(target);
        let host = ArmHost { app, credentials: credentials.clone() };
        let plan = template::prepare(&self.template, &self.parameters, &scope, &host)?;
        if plan.resources().len() > deployments::MAX_RESOURCES {
            return Err(Error::bad_request(
                "InvalidTemplate",
                format!(
                    "Deployment template validation failed: 'The number of template resources limit exceeded. Limit: '{}' and actual: '{}'.'.",
                    deployments::MAX_RESOURCES,
                    plan.resources().len()
                ),
            ));
        }
        Ok(plan)
    }
}

/// ARM's preflight authorization: the caller must be allowed to write each resource the
/// template deploys directly (a nested deployment's resources meet their own when it runs).
fn preflight(app: &App, c: &Admitted, plan: &Plan) -> Result<()> {
    let refused: Vec<String> = app.engine.read(|s| {
        plan.resources()
            .iter()
            .filter(|r| r.nested.is_none())
            .filter_map(|r| {
                let mut op = vaultlink_core::armops::operation("PUT", &r.id, None)?;
                op.linked.clear();
                let action = op.main.action.clone();
                let e = vaultlink_core::rbac::admit(s, (**c).clone(), Some(op)).err()?;
                (e.kind == Kind::Forbidden).then(|| {
                    format!(
                        "Authorization failed for template resource '{}' of type '{}'. The client '{}' with object id '{}' does not have permission to perform action '{action}' at scope '{}'.",
                        r.name, r.resource_type, c.app_id, c.object_id, r.id
                    )
                })
            })
            .collect()
    });
    if refused.is_empty() {
        return Ok(());
    }
    let message = match refused.as_slice() {
        [one] => format!("The template deployment failed with error: '{one}'."),
        many => format!("Deployment failed with multiple errors: '{}'", many.join(":")),
    };
    Err(Error::bad_request("InvalidTemplateDeployment", message))
}

/// The caller's credentials, replayed on each request a deployment makes as the caller.
#[derive(Clone)]
struct Credentials {
    headers: HeaderMap,
    host: String,
    authority: String,
}

impl Credentials {
    fn of(req: &Req) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(hyper::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for name in [hyper::header::AUTHORIZATION, HeaderName::from_static("x-ms-authorization-auxiliary")] {
            if let Some(v) = req.headers.get(&name) {
                headers.insert(name, v.clone());
            }
        }
        Self { headers, host: req.host.clone(), authority: req.authority.clone() }
    }

    fn call(
        &self,
        app: &App,
        method: Method,
        id: &str,
        api_version: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let req = Req {
            method,
            path: id.to_string(),
            query: vec![("api-version".into(), api_version.into())],
            headers: self.headers.clone(),
            body: body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string())),
            host: self.host.clone(),
            authority: self.authority.clone(),
            ingress: Ingress::Direct,
        };
        let resp = super::handle(app, &req);
        let status = resp.status();
        (status, crate::http::response_json(resp))
    }
}

/// The core error a provider's answer carries.
fn error_of(status: StatusCode, body: &Value) -> Error {
    let kind = match status.as_u16() {
        400 => Kind::BadRequest,
        401 => Kind::Unauthorized,
        403 => Kind::Forbidden,
        404 => Kind::NotFound,
        409 => Kind::Conflict,
        412 => Kind::PreconditionFailed,
        429 => Kind::TooManyRequests,
        503 => Kind::Unavailable,
        _ => Kind::Internal,
    };
    let code = body.pointer("/error/code").and_then(Value::as_str).unwrap_or("InternalServerError");
    let message = body.pointer("/error/message").and_then(Value::as_str).unwrap_or_default();
    Error::new(kind, code, message)
}

/// What the template functions ask of the world, answered by the ARM routes as the caller.
struct ArmHost<'a> {
    app: &'a App,
    credentials: Credentials,
}

impl<'a> ArmHost<'a> {
    fn new(app: &'a App, req: &Req) -> Self {
        Self { app, credentials: Credentials::of(req) }
    }
}

impl Host for ArmHost<'_> {
    fn reference(&self, id: &str, api_version: Option<&str>, full: bool) -> Result<Value> {
        let api = api_version.unwrap_or_else(|| super::latest_api(id));
        let (status, body) = self.credentials.call(self.app, Method::GET, id, api, None);
        if !status.is_success() {
            return Err(error_of(status, &body));
        }
        Ok(if full { body } else { body.get("properties").cloned().unwrap_or_else(|| json!({})) })
    }

    fn list(&self, id: &str, function: &str, api_version: &str, body: Option<&Value>) -> Result<Value> {
        let (status, answer) =
            self.credentials.call(self.app, Method::POST, &format!("{id}/{function}"), api_version, body);
        if !status.is_success() {
            return Err(error_of(status, &answer));
        }
        Ok(answer)
    }
}

/// `PUT .../deployments/{name}`: validates the template, records the deployment `Accepted` and
/// starts it; 201 with `Azure-AsyncOperation` for the clients to poll.
fn create(app: &App, req: &Req, c: &Admitted, target: &Scope, name: &str) -> Result<Resp> {
    let request = Request::parse(app, req, target, name)?;
    let plan = request.plan(app, &Credentials::of(req), target)?;
    preflight(app, c, &plan)?;
    let scope_id = target.id();
    let d = new_record(app, &scope_id, &request, &plan);
    let id = d.id.clone();
    super::write(app, c, |s, b| deployments::begin(s, b, &scope_id, d.clone()))?;
    app.deployments.set_canceled(&id, false);
    let Some(shared) = app.deployments.app.get().and_then(Weak::upgrade) else {
        return Err(Error::internal("the deployment runner has no App (Runner::attach was not called)"));
    };
    let credentials = Credentials::of(req);
    let run_target = request.scope(target);
    let counted = shared.clone();
    app.deployments.started();
    let spawned = std::thread::Builder::new().name("vaultlink-deployment".into()).spawn(move || {
        let _running = Running(&counted.deployments);
        run(&shared, &credentials, &run_target, request, plan);
    });
    if let Err(e) = spawned {
        drop(Running(&app.deployments));
        return Err(Error::internal(format!("could not start the deployment's thread: {e}")));
    }
    let mut resp = json_ok(StatusCode::CREATED, &deployments::render(&d));
    let status_url = format!(
        "https://{}{}/operationStatuses/{}?api-version={}",
        req.authority,
        crate::http::percent_encode_path(&id),
        d.correlation_id,
        req.query("api-version").unwrap_or_default()
    );
    super::set_headers(&mut resp, &[("azure-asyncoperation", &status_url), ("retry-after", RETRY_AFTER)]);
    Ok(resp)
}

fn new_record(app: &App, scope_id: &str, request: &Request, plan: &Plan) -> Deployment {
    let id = deployments::id(scope_id, &request.name);
    let sealed = app.sealer.seal(request.parameters.to_string().as_bytes(), &deployments::parameters_aad(&id));
    let now = now_ms(app);
    Deployment {
        id,
        name: request.name.clone(),
        location: request.location.clone(),
        tags: request.tags.clone(),
        mode: request.mode.clone(),
        template: request.template.clone(),
        template_hash: template::template_hash(&request.template),
        parameters: plan.parameters(),
        sealed_parameters: vaultlink_crypto::b64url(&sealed),
        provisioning_state: "Accepted".into(),
        correlation_id: vaultlink_core::engine::guid(),
        started_ms: now,
        updated_ms: now,
        outputs: None,
        output_resources: Vec::new(),
        error: None,
        on_error: request.on_error.clone(),
        operations: Vec::new(),
        dependencies: dependencies(plan),
        // Without their query strings (often SAS tokens), which only the run needs.
        template_link: request.template_link.as_ref().map(template::shown_link),
        parameters_link: request.parameters_link.as_ref().map(template::shown_link),
        debug_detail_level: request.debug_detail_level.clone(),
    }
}

/// ARM's `dependencies`: each resource that waits for others, with what it waits for.
fn dependencies(plan: &Plan) -> Vec<Value> {
    let resources = plan.resources();
    let named =
        |r: &template::PlannedResource| json!({"id": r.id, "resourceType": r.resource_type, "resourceName": r.name});
    resources
        .iter()
        .filter(|r| !r.depends_on.is_empty())
        .map(|r| {
            let mut out = named(r);
            out["dependsOn"] = r.depends_on.iter().filter_map(|&i| resources.get(i)).map(named).collect();
            out
        })
        .collect()
}

/// Changes the stored deployment (a no-op when it was deleted meanwhile).
fn update(app: &App, id: &str, f: impl FnOnce(&mut Deployment)) {
    let _ = app.engine.write(|s, b| {
        if let Some(Record::Deployment(d)) = s.get(id) {
            let mut d = d.clone();
            f(&mut d);
            d.updated_ms = now_ms(app);
            b.put(id, Record::Deployment(d));
        }
        Ok::<_, Error>(())
    });
}

/// How one resource of a run ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Done {
    Succeeded,
    Failed,
    /// Not attempted: a dependency failed, or the deployment was canceled.
    Skipped,
}

/// Runs a recorded deployment to its end, then replays its `onErrorDeployment` if it failed.
fn run(app: &Arc<App>, credentials: &Credentials, target: &Scope, request: Request, plan: Plan) {
    let id = deployments::id(&target.id(), &request.name);
    let state = execute(app, credentials, target, &request, &plan);
    if state == "Failed"
        && let Some(on_error) = &request.on_error
    {
        let replayed = replay(app, credentials, target, &id, on_error);
        update(app, &id, |d| d.on_error = Some(replayed));
    }
    app.deployments.set_canceled(&id, false);
}

/// Deploys a plan whose record exists; returns the final `provisioningState`.
fn execute(app: &Arc<App>, credentials: &Credentials, target: &Scope, request: &Request, plan: &Plan) -> String {
    let id = deployments::id(&target.id(), &request.name);
    update(app, &id, |d| d.provisioning_state = "Running".into());
    let host = ArmHost { app, credentials: credentials.clone() };
    let resources = plan.resources();
    let mut done: Vec<Option<Done>> = vec![None; resources.len()];
    // Nested deployments' resources in this group are the template's own, for `Complete`.
    let kept: Mutex<Vec<String>> = Mutex::new(Vec::new());
    for wave in waves(plan) {
        let results: Vec<(usize, Done)> = std::thread::scope(|s| {
            let handles: Vec<_> = wave
                .iter()
                .map(|&i| {
                    let blocked = resources[i].depends_on.iter().any(|&d| done[d] != Some(Done::Succeeded));
                    let (host, kept, id) = (&host, &kept, &id);
                    s.spawn(move || {
                        if blocked || app.deployments.is_canceled(id) {
                            return (i, Done::Skipped);
                        }
                        (i, deploy_one(app, credentials, target, plan, i, host, kept, request.keeps()))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or((usize::MAX, Done::Failed))).collect()
        });
        for (i, r) in results {
            if let Some(slot) = done.get_mut(i) {
                *slot = Some(r);
            }
        }
    }
    let canceled = app.deployments.is_canceled(&id);
    let failed = done.contains(&Some(Done::Failed));
    let mut outputs = None;
    let mut output_error = None;
    if !failed && !canceled {
        if request.mode == "Complete"
            && let Some(rg) = &target.resource_group
        {
            let mut keep: HashSet<String> = resources.iter().map(|r| r.id.to_ascii_lowercase()).collect();
            keep.extend(kept.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|k| k.to_ascii_lowercase()));
            complete(
                app,
                credentials,
                &id,
                &format!("{}/resourceGroups/{}", resources::subscription_id(&target.subscription_id), rg.name),
                &keep,
            );
        }
        match plan.outputs(&host) {
            Ok(o) => outputs = Some(o),
            Err(e) => output_error = Some(json!({"code": e.code, "target": id, "message": e.message})),
        }
    }
    let mut final_state = String::new();
    update(app, &id, |d| {
        let delete_failed = d.operations.iter().any(|o| o.provisioning_state == "Failed");
        d.provisioning_state = if canceled {
            "Canceled".into()
        } else if failed || delete_failed {
            d.error = Some(deployments::failed(d));
            "Failed".into()
        } else if let Some(e) = output_error.take() {
            d.error = Some(e);
            "Failed".into()
        } else {
            d.outputs = outputs.take();
            "Succeeded".into()
        };
        final_state.clone_from(&d.provisioning_state);
    });
    final_state
}

/// The plan's resources in waves: each resource after every one it depends on (the plan's
/// order already puts dependencies first).
fn waves(plan: &Plan) -> Vec<Vec<usize>> {
    let resources = plan.resources();
    let mut level = vec![0usize; resources.len()];
    for (i, r) in resources.iter().enumerate() {
        level[i] = r.depends_on.iter().filter(|&&d| d < i).map(|&d| level[d] + 1).max().unwrap_or(0);
    }
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); level.iter().max().map_or(0, |m| m + 1)];
    for (i, l) in level.into_iter().enumerate() {
        out[l].push(i);
    }
    out
}

/// Deploys resource `i` of the plan, and records its operation (with the request's and the
/// answer's content when `keeps`, as `debugSetting` asks).
#[allow(clippy::too_many_arguments)]
fn deploy_one(
    app: &Arc<App>,
    credentials: &Credentials,
    target: &Scope,
    plan: &Plan,
    i: usize,
    host: &ArmHost<'_>,
    kept: &Mutex<Vec<String>>,
    keeps: (bool, bool),
) -> Done {
    let r = &plan.resources()[i];
    let started = now_ms(app);
    let mut contents = (None, None);
    let (status_code, message, created) = match &r.nested {
        Some(nested_target) => match run_nested(app, credentials, target, plan, i, nested_target, host, kept) {
            Ok(()) => ("OK".to_string(), None, true),
            Err(e) => (e.0, Some(json!({"error": e.1})), false),
        },
        None => match plan.render(i, host) {
            Err(e) => ("BadRequest".to_string(), Some(json!({"error": {"code": e.code, "message": e.message}})), false),
            Ok(body) => {
                let (status, answer) = credentials.call(app, Method::PUT, &r.id, &r.api_version, Some(&body));
                if keeps.0 || keeps.1 {
                    let secure = plan.secure_strings();
                    contents = (keeps.0.then(|| redacted(&body, &secure)), keeps.1.then(|| redacted(&answer, &secure)));
                }
                let code = status.canonical_reason().unwrap_or("Unknown").replace(' ', "");
                if status.is_success() { (code, None, true) } else { (code, Some(answer), false) }
            }
        },
    };
    let op = DeploymentOperation {
        operation_id: operation_id(),
        provisioning_operation: "Create".into(),
        provisioning_state: if created { "Succeeded" } else { "Failed" }.into(),
        resource_id: r.id.clone(),
        resource_type: r.resource_type.clone(),
        resource_name: r.name.clone(),
        status_code,
        status_message: message,
        started_ms: started,
        ended_ms: now_ms(app),
        request: contents.0,
        response: contents.1,
    };
    let id = deployments::id(&target.id(), &target.deployment_name);
    update(app, &id, |d| {
        d.operations.push(op);
        if created && r.nested.is_none() {
            d.output_resources.push(r.id.clone());
        }
    });
    if created { Done::Succeeded } else { Done::Failed }
}

/// ARM's operation ids: 16 upper-case hex digits.
fn operation_id() -> String {
    vaultlink_core::engine::guid().replace('-', "")[..16].to_ascii_uppercase()
}

/// Runs the nested deployment of resource `i` as a deployment of its own at its target, and
/// waits for it. Its failure is the parent's operation's error (status code, ARM's error).
#[allow(clippy::too_many_arguments)]
fn run_nested(
    app: &Arc<App>,
    credentials: &Credentials,
    parent: &Scope,
    plan: &Plan,
    i: usize,
    nested_target: &NestedTarget,
    host: &ArmHost<'_>,
    kept: &Mutex<Vec<String>>,
) -> std::result::Result<(), (String, Value)> {
    let refuse = |e: Error| ("BadRequest".to_string(), json!({"code": e.code, "message": e.message}));
    let nested = plan.nested(i, host).map_err(refuse)?;
    let caller = caller_of(app, credentials)
        .ok_or_else(|| refuse(Error::unauthorized("InvalidAuthenticationToken", "The access token is invalid.")))?;
    let target = target_in(
        app,
        &caller,
        &nested_target.subscription_id,
        nested_target.resource_group.as_deref(),
        nested.name.clone(),
        nested.location.clone().or_else(|| parent.location.clone()),
    )
    .map_err(refuse)?;
    let request = Request::from_body(app, &nested_body(&nested), &target, &nested.name, parent.template_link.as_ref())
        .map_err(refuse)?;
    let nested_plan = request.plan(app, credentials, &target).map_err(refuse)?;
    let scope_id = target.id();
    let d = new_record(app, &scope_id, &request, &nested_plan);
    let id = d.id.clone();
    app.engine.write(|s, b| deployments::begin(s, b, &scope_id, d.clone())).map_err(refuse)?;
    let state = execute(app, credentials, &target, &request, &nested_plan);
    let record = app.engine.read(|s| deployments::get(s, &id)).map_err(refuse)?;
    if target.resource_group.as_ref().map(|g| g.name.to_ascii_lowercase())
        == parent.resource_group.as_ref().map(|g| g.name.to_ascii_lowercase())
    {
        kept.lock().unwrap_or_else(|p| p.into_inner()).extend(record.output_resources.iter().cloned());
    }
    match state.as_str() {
        "Succeeded" => Ok(()),
        _ => Err((
            "Conflict".into(),
            record
                .error
                .unwrap_or_else(|| json!({"code": "DeploymentCanceled", "message": "The deployment was canceled."})),
        )),
    }
}

/// A nested deployment's request body: its template, or its links to fetch.
fn nested_body(n: &template::Nested) -> Value {
    let mut props = json!({"mode": n.mode, "parameters": n.parameters});
    match &n.link {
        Some(link) => props["templateLink"] = link.clone(),
        None => props["template"] = n.template.clone(),
    }
    if let Some(link) = &n.parameters_link {
        props["parametersLink"] = link.clone();
        props.as_object_mut().map(|m| m.remove("parameters"));
    }
    json!({"location": n.location, "properties": props})
}

/// The caller the replayed token names (for the nested deployments' scope checks).
fn caller_of(app: &App, credentials: &Credentials) -> Option<vaultlink_core::Caller> {
    let auth = credentials.headers.get(hyper::header::AUTHORIZATION)?.to_str().ok()?;
    let token = auth.strip_prefix("Bearer ").or_else(|| auth.strip_prefix("bearer "))?;
    super::caller_of(app, token.trim()).ok()
}

/// A top-level resource of a group that a template does not name.
struct Unnamed {
    id: String,
    type_name: String,
    name: String,
    /// Another resource's own (a private endpoint's interface): it goes with its owner, and
    /// `Complete` leaves it.
    owned: bool,
}

/// The group's top-level resources whose lower-cased ids are not in `named`: what `Complete`
/// deletes and what-if lists as `Delete` or `Ignore`.
fn unnamed(app: &App, rg_id: &str, named: &HashSet<String>) -> Vec<Unnamed> {
    app.engine.read(|s| {
        s.descendants(rg_id)
            .filter_map(|(_, r)| {
                let g = registry::generic(r)?;
                let top =
                    g.id.len() > rg_id.len() && g.id[rg_id.len()..].split('/').filter(|x| !x.is_empty()).count() == 4;
                let owned = matches!(r, Record::NetworkInterface(n) if n.private_endpoint_id.is_some());
                (top && !named.contains(&g.id.to_ascii_lowercase())).then(|| Unnamed {
                    id: g.id.to_string(),
                    type_name: g.type_name.to_string(),
                    name: g.name.to_string(),
                    owned,
                })
            })
            .collect()
    })
}

/// `mode: Complete`: deletes the group's top-level resources that are not in `keep`, as the
/// caller, recording a `Delete` operation for each.
fn complete(app: &App, credentials: &Credentials, deployment_id: &str, rg_id: &str, keep: &HashSet<String>) {
    let doomed = unnamed(app, rg_id, keep).into_iter().filter(|u| !u.owned);
    for Unnamed { id, type_name, name, .. } in doomed {
        let started = now_ms(app);
        let (status, answer) = credentials.call(app, Method::DELETE, &id, super::latest_api(&id), None);
        let op = DeploymentOperation {
            operation_id: operation_id(),
            provisioning_operation: "Delete".into(),
            provisioning_state: if status.is_success() { "Succeeded" } else { "Failed" }.into(),
            resource_id: id,
            resource_type: type_name,
            resource_name: name,
            status_code: status.canonical_reason().unwrap_or("Unknown").replace(' ', ""),
            status_message: (!status.is_success()).then_some(answer),
            started_ms: started,
            ended_ms: now_ms(app),
            request: None,
            response: None,
        };
        update(app, deployment_id, |d| d.operations.push(op));
    }
}

/// Replays the deployment `onErrorDeployment` names (or the scope's last successful one) after
/// `failed_id` failed; returns what the failed deployment's `onErrorDeployment` shows.
fn replay(app: &Arc<App>, credentials: &Credentials, target: &Scope, failed_id: &str, on_error: &Value) -> Value {
    let kind = on_error.get("type").and_then(Value::as_str).unwrap_or("LastSuccessful");
    let scope_id = target.id();
    let wanted = on_error.get("deploymentName").and_then(Value::as_str);
    let previous = app.engine.read(|s| {
        deployments::list(s, &scope_id)
            .into_iter()
            .rev()
            .filter(|d| !d.id.eq_ignore_ascii_case(failed_id) && d.provisioning_state == "Succeeded")
            .find(|d| wanted.is_none_or(|w| d.name.eq_ignore_ascii_case(w)))
    });
    let Some(previous) = previous else {
        return json!({"type": kind, "provisioningState": "Failed"});
    };
    let parameters = vaultlink_crypto::b64url_decode(&previous.sealed_parameters)
        .ok()
        .and_then(|sealed| app.sealer.open(&sealed, &deployments::parameters_aad(&previous.id)).ok())
        .and_then(|plain| serde_json::from_slice::<Value>(&plain).ok())
        .unwrap_or_else(|| json!({}));
    let body = json!({
        "location": previous.location,
        "properties": {"mode": previous.mode, "template": previous.template, "parameters": parameters},
    });
    let state = (|| {
        let mut request = Request::from_body(app, &body, target, &previous.name, None)?;
        // What it fetched once is replayed as it was; `deployment()` still names its link.
        request.template_link = previous.template_link.clone();
        let replay_target = request.scope(target);
        let plan = request.plan(app, credentials, target)?;
        let d = new_record(app, &scope_id, &request, &plan);
        app.engine.write(|s, b| deployments::begin(s, b, &scope_id, d.clone()))?;
        Ok::<_, Error>(execute(app, credentials, &replay_target, &request, &plan))
    })()
    .unwrap_or_else(|_| "Failed".into());
    json!({"type": kind, "deploymentName": previous.name, "provisioningState": state})
}

/// `POST .../whatIf`: the changes the deployment would make, as ARM's what-if lists them
/// (`Create`, `Modify` with the property changes, `NoChange`, `Delete` in `Complete` mode,
/// `Ignore` for what the template leaves alone).
fn what_if(app: &App, req: &Req, target: &Scope, request: &Request) -> Result<Vec<Value>> {
    let host = ArmHost::new(app, req);
    let plan = request.plan(app, &host.credentials, target)?;
    let mut changes = Vec::new();
    let mut named: HashSet<String> = HashSet::new();
    what_if_plan(app, &plan, request.template_link.as_ref(), &host, &mut changes, &mut named, 0)?;
    if let Some(rg) = &target.resource_group {
        let rg_id = format!("{}/resourceGroups/{}", resources::subscription_id(&target.subscription_id), rg.name);
        let complete = request.mode == "Complete";
        changes.extend(unnamed(app, &rg_id, &named).into_iter().map(|u| {
            let kind = if complete && !u.owned { "Delete" } else { "Ignore" };
            json!({"resourceId": u.id, "changeType": kind})
        }));
    }
    Ok(changes)
}

#[allow(clippy::too_many_arguments)]
fn what_if_plan(
    app: &App,
    plan: &Plan,
    link: Option<&Value>,
    host: &ArmHost<'_>,
    changes: &mut Vec<Value>,
    named: &mut HashSet<String>,
    depth: usize,
) -> Result<()> {
    for (i, r) in plan.resources().iter().enumerate() {
        named.insert(r.id.to_ascii_lowercase());
        if let Some(t) = &r.nested {
            // A nested deployment's own resources, when its template can be read before anything
            // is deployed; otherwise ARM's what-if cannot tell either.
            let inner = plan.nested(i, host).ok().and_then(|n| {
                let caller = caller_of(app, &host.credentials)?;
                let target = target_in(
                    app,
                    &caller,
                    &t.subscription_id,
                    t.resource_group.as_deref(),
                    n.name.clone(),
                    n.location.clone(),
                )
                .ok()?;
                let request = Request::from_body(app, &nested_body(&n), &target, &n.name, link).ok()?;
                let plan = request.plan(app, &host.credentials, &target).ok()?;
                Some((plan, request.template_link))
            });
            match inner {
                Some((p, l)) if depth < 10 => what_if_plan(app, &p, l.as_ref(), host, changes, named, depth + 1)?,
                _ => changes.push(json!({"resourceId": r.id, "changeType": "Unsupported", "unsupportedReason": "The nested deployment's template cannot be evaluated before the deployment runs."})),
            }
            continue;
        }
        let mut after = plan.render_for_what_if(i, host)?;
        if let Some(m) = after.as_object_mut() {
            for k in ["dependsOn", "condition", "copy", "comments", "scope"] {
                m.remove(k);
            }
            m.insert("id".into(), json!(r.id));
            m.insert("name".into(), json!(r.name.rsplit('/').next().unwrap_or_default()));
            m.insert("type".into(), json!(r.resource_type));
            m.insert("apiVersion".into(), json!(r.api_version));
        }
        let (status, before) = host.credentials.call(app, Method::GET, &r.id, &r.api_version, None);
        if status == StatusCode::NOT_FOUND {
            changes.push(json!({"resourceId": r.id, "changeType": "Create", "after": after}));
            continue;
        }
        if !status.is_success() {
            return Err(error_of(status, &before));
        }
        let mut delta = Vec::new();
        diff("", &before, &after, &mut delta);
        let kind = if delta.is_empty() { "NoChange" } else { "Modify" };
        let mut change = json!({"resourceId": r.id, "changeType": kind, "before": before, "after": after});
        if !delta.is_empty() {
            change["delta"] = Value::Array(delta);
        }
        changes.push(change);
    }
    Ok(())
}

/// The property changes from `before` to `after`, for what the template sets (server-side
/// properties it does not name are not changes). Locations compare as ARM normalizes them.
fn diff(path: &str, before: &Value, after: &Value, out: &mut Vec<Value>) {
    const NOT_PROPERTIES: [&str; 4] = ["id", "name", "type", "apiVersion"];
    let (Some(b), Some(a)) = (before.as_object(), after.as_object()) else { return };
    for (k, av) in a {
        if path.is_empty() && NOT_PROPERTIES.contains(&k.as_str()) {
            continue;
        }
        let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
        let bv = b.iter().find(|(bk, _)| bk.eq_ignore_ascii_case(k)).map(|(_, v)| v);
        match bv {
            None if av.is_null() => {}
            None => out.push(json!({"path": p, "propertyChangeType": "Create", "after": av})),
            Some(bv) if bv.is_object() && av.is_object() => diff(&p, bv, av, out),
            Some(bv) if same(k, bv, av) => {}
            Some(bv) => out.push(json!({"path": p, "propertyChangeType": "Modify", "before": bv, "after": av})),
        }
    }
}

fn same(key: &str, before: &Value, after: &Value) -> bool {
    match (before, after) {
        (Value::String(b), Value::String(a)) if key.eq_ignore_ascii_case("location") => {
            let norm = |s: &str| s.replace(' ', "").to_ascii_lowercase();
            norm(b) == norm(a)
        }
        (Value::Array(b), Value::Array(a)) => {
            b.len() == a.len()
                && b.iter().zip(a).all(|(b, a)| match (b, a) {
                    (Value::Object(_), Value::Object(_)) => {
                        let mut d = Vec::new();
                        diff("x", b, a, &mut d);
                        d.is_empty()
                    }
                    _ => same("", b, a),
                })
        }
        (Value::Number(b), Value::Number(a)) => b.as_f64() == a.as_f64(),
        _ => before == after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_resolve_as_arm_resolves_them() {
        let parent = json!({"uri": "http://h:8000/t/main.json", "queryString": "sig=p"});
        let (uri, kept) = resolve_link(&json!({"relativePath": "nested/a.json"}), Some(&parent)).unwrap();
        assert_eq!(uri, "http://h:8000/t/nested/a.json?sig=p", "the parent's query string goes along");
        assert_eq!(
            kept,
            json!({"uri": "http://h:8000/t/nested/a.json", "relativePath": "nested/a.json", "queryString": "sig=p"})
        );
        let (uri, _) =
            resolve_link(&json!({"relativePath": "../b.json", "queryString": "own=1"}), Some(&parent)).unwrap();
        assert_eq!(uri, "http://h:8000/b.json?own=1");
        let (uri, kept) = resolve_link(
            &json!({"uri": "http://h/x.json?a=1", "queryString": "b=2", "contentVersion": "1.0.0.0"}),
            None,
        )
        .unwrap();
        assert_eq!(uri, "http://h/x.json?a=1&b=2");
        assert_eq!(kept["contentVersion"], "1.0.0.0");
        assert_eq!(resolve_link(&json!({"relativePath": "a.json"}), None).unwrap_err().code, "InvalidContentLink");
        assert!(resolve_link(&json!({"id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Resources/templateSpecs/t/versions/1"}), None)
            .unwrap_err()
            .message
            .contains("Template specs"));
        assert_eq!(resolve_link(&json!({}), None).unwrap_err().code, "InvalidRequestContent");
        assert_eq!(resolve_link(&json!("http://h/x.json"), None).unwrap_err().code, "InvalidRequestContent");
        let v = json!({"contentVersion": "1.0.0.0"});
        assert!(same_version(&json!({"contentVersion": "1.0.0.0"}), &v, "u").is_ok());
        assert!(same_version(&json!({}), &v, "u").is_ok());
        assert!(
            same_version(&json!({"contentVersion": "2.0.0.0"}), &v, "u?sig=x")
                .unwrap_err()
                .message
                .contains("'2.0.0.0'")
        );
    }

    #[test]
    fn debug_settings_and_what_they_keep() {
        assert_eq!(detail_level("none"), Some((false, false)));
        assert_eq!(detail_level("requestContent"), Some((true, false)));
        assert_eq!(detail_level("RequestContent, responseContent"), Some((true, true)));
        assert_eq!(detail_level("responseContent"), Some((false, true)));
        assert_eq!(detail_level("everything"), None);
        let body = json!({"properties": {"value": "pre-s3cret-post", "other": ["s3cret", 1, "fine"]}, "name": "x"});
        assert_eq!(
            redacted(&body, &["s3cret".into()]),
            json!({"properties": {"value": "[secure value]", "other": ["[secure value]", 1, "fine"]}, "name": "x"})
        );
        assert_eq!(redacted(&body, &[]), body);
    }

    #[test]
    fn what_if_compares_what_the_template_sets() {
        let before = json!({"id": "x", "location": "East US", "tags": {"env": "dev"},
            "properties": {"provisioningState": "Succeeded", "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}});
        let same = json!({"location": "eastus", "tags": {"env": "dev"},
            "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}});
        let mut d = Vec::new();
        diff("", &before, &same, &mut d);
        assert!(d.is_empty(), "server-side properties and a location's spelling are not changes: {d:?}");

        let changed = json!({"location": "westus", "tags": {"env": "test", "new": "1"},
            "properties": {"addressSpace": {"addressPrefixes": ["10.1.0.0/16"]}}});
        let mut d = Vec::new();
        diff("", &before, &changed, &mut d);
        let got: Vec<(&str, &str)> =
            d.iter().map(|c| (c["path"].as_str().unwrap(), c["propertyChangeType"].as_str().unwrap())).collect();
        assert_eq!(
            got,
            [
                ("location", "Modify"),
                ("properties.addressSpace.addressPrefixes", "Modify"),
                ("tags.env", "Modify"),
                ("tags.new", "Create")
            ]
        );
        assert_eq!((&d[2]["before"], &d[2]["after"]), (&json!("dev"), &json!("test")));
    }

    #[test]
    fn latest_api_is_the_namespace_newest() {
        let kv = "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/v";
        assert_eq!(
            super::super::latest_api(kv),
            *vaultlink_core::apiversion::arm_versions("microsoft.keyvault").last().unwrap()
        );
        assert_eq!(
            super::super::latest_api("/subscriptions/s/resourceGroups/g"),
            *vaultlink_core::apiversion::arm_versions("microsoft.resources").last().unwrap()
        );
    }
}
