//! Template deployments (`Microsoft.Resources/deployments`, issue 17): their records, names,
//! history and rendering, and the error tree ARM reports for a failed one. The runner that
//! drives a deployment (each resource through the ARM routes as the caller) lives with the HTTP
//! surface (`vaultlink::arm::deployments`); the template language is `crate::template`.

use serde_json::{Map, Value, json};

use crate::model::{Deployment, DeploymentOperation, Record};
use crate::{Batch, Error, Result, State};

pub const TYPE: &str = "Microsoft.Resources/deployments";

/// Azure's longest deployment name.
pub const MAX_NAME: usize = 64;

/// Deployments kept per scope: Azure keeps 800 and deletes the oldest finished ones to make room.
pub const MAX_HISTORY: usize = 800;

/// Outputs and parameters are bounded with the request body (4 MB); a template Azure limits to
/// 4 MB as well, and to 800 resources after copy loops expand.
pub const MAX_RESOURCES: usize = 800;

/// What a deployment's `sealed_parameters` are bound to: its lower-cased id.
pub fn parameters_aad(id: &str) -> Vec<u8> {
    id.to_ascii_lowercase().into_bytes()
}

/// A deployment's sealed parameters sealed again, `from` to `to` (`snapshot::reseal`).
pub(crate) fn reseal(d: &mut Deployment, from: &vaultlink_crypto::Sealer, to: &vaultlink_crypto::Sealer) -> Result<()> {
    let unreadable = || Error::internal(format!("the deployment {}'s parameters are not sealed base64url", d.id));
    let sealed = vaultlink_crypto::b64url_decode(&d.sealed_parameters).map_err(|_| unreadable())?;
    let again = from.reseal(&sealed, &parameters_aad(&d.id), to).map_err(|e| Error::internal(e.to_string()))?;
    d.sealed_parameters = vaultlink_crypto::b64url(&again);
    Ok(())
}

/// `{scope}/providers/Microsoft.Resources/deployments/{name}`.
pub fn id(scope: &str, name: &str) -> String {
    format!("{scope}/providers/{TYPE}/{name}")
}

/// A deployment name as ARM takes it: 1-64 of letters, digits, `-`, `_`, `.`, `(` and `)`.
pub fn validate_name(name: &str) -> Result<()> {
    if name.chars().count() > MAX_NAME {
        return Err(Error::bad_request(
            "DeploymentNameLengthLimitExceeded",
            format!(
                "The provided deployment name '{name}' has a length of '{}' which exceeds the maximum length of '{MAX_NAME}'. Please see https://aka.ms/arm-deploy-resources for usage details.",
                name.chars().count()
            ),
        ));
    }
    if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || "-_.()".contains(c)) {
        return Err(Error::bad_request(
            "InvalidDeploymentName",
            format!(
                "The deployment name '{name}' is invalid. It can contain only alphanumeric characters, periods, underscores, hyphens and parenthesis and cannot be longer than {MAX_NAME} characters. Please see https://aka.ms/arm-deploy-resources for usage details."
            ),
        ));
    }
    Ok(())
}

pub fn not_found(name: &str) -> Error {
    Error::not_found("DeploymentNotFound", format!("Deployment '{name}' could not be found."))
}

/// The deployment at `id`.
pub fn get(state: &State, id: &str) -> Result<Deployment> {
    match state.get(id) {
        Some(Record::Deployment(d)) => Ok((**d).clone()),
        _ => Err(not_found(id.rsplit('/').next().unwrap_or_default())),
    }
}

/// The deployments of one scope (not those of the scope's resource groups), oldest first.
pub fn list(state: &State, scope: &str) -> Vec<Deployment> {
    let prefix = format!("{scope}/providers/{TYPE}/").to_ascii_lowercase();
    let mut out: Vec<Deployment> = state
        .descendants(scope)
        .filter_map(|(key, r)| match r {
            Record::Deployment(d) if key.starts_with(&prefix) && !key[prefix.len()..].contains('/') => {
                Some((**d).clone())
            }
            _ => None,
        })
        .collect();
    out.sort_by_key(|d| d.started_ms);
    out
}

/// Whether the deployment is still under way (it cannot be replaced, and may be canceled).
pub fn is_active(d: &Deployment) -> bool {
    matches!(d.provisioning_state.as_str(), "Accepted" | "Running")
}

/// Stores a new run of a deployment (replacing a finished one of the same name), after making
/// room in the scope's history as Azure does (the oldest finished deployments go).
pub fn begin(state: &State, batch: &mut Batch, scope: &str, d: Deployment) -> Result<()> {
    if let Ok(old) = get(state, &d.id)
        && is_active(&old)
    {
        return Err(Error::conflict(
            "DeploymentActive",
            format!(
                "The deployment '{}' is already active. Wait for it to finish or cancel it before deploying again. Please see https://aka.ms/arm-deploy-resources for usage details.",
                d.name
            ),
        ));
    }
    let history = list(state, scope);
    let replaced = history.iter().any(|h| h.id.eq_ignore_ascii_case(&d.id));
    let excess = (history.len() + usize::from(!replaced)).saturating_sub(MAX_HISTORY);
    for old in history.iter().filter(|h| !is_active(h) && !h.id.eq_ignore_ascii_case(&d.id)).take(excess) {
        batch.delete(&old.id);
    }
    let id = d.id.clone();
    batch.put(&id, Record::Deployment(Box::new(d)));
    Ok(())
}

/// ISO 8601 duration, as ARM gives a deployment's and an operation's: `PT1.2345S`.
fn duration(ms: i64) -> String {
    format!("PT{}.{:03}S", ms / 1000, ms % 1000)
}

fn timestamp(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}0000Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// A deployment as ARM renders it (GET, PUT, list).
pub fn render(d: &Deployment) -> Value {
    let mut props = json!({
        "templateHash": d.template_hash,
        "parameters": d.parameters,
        "mode": d.mode,
        "provisioningState": d.provisioning_state,
        "timestamp": timestamp(d.updated_ms),
        "duration": duration(d.updated_ms - d.started_ms),
        "correlationId": d.correlation_id,
        "providers": providers(d),
        "dependencies": d.dependencies,
    });
    if let Some(o) = &d.outputs {
        props["outputs"] = o.clone();
    }
    if !d.output_resources.is_empty() {
        props["outputResources"] = d.output_resources.iter().map(|id| json!({"id": id})).collect();
    }
    if let Some(e) = &d.error {
        props["error"] = e.clone();
    }
    if let Some(o) = &d.on_error {
        props["onErrorDeployment"] = o.clone();
    }
    if let Some(l) = &d.template_link {
        props["templateLink"] = crate::template::shown_link(l);
    }
    if let Some(l) = &d.parameters_link {
        props["parametersLink"] = crate::template::shown_link(l);
    }
    if let Some(level) = &d.debug_detail_level {
        props["debugSetting"] = json!({"detailLevel": level});
    }
    let mut out = json!({"id": d.id, "name": d.name, "type": TYPE, "tags": d.tags, "properties": props});
    if let Some(l) = &d.location {
        out["location"] = json!(l);
    }
    out
}

/// The resource providers and types a deployment touched: `[{namespace, resourceTypes:
/// [{resourceType, locations}]}]`.
fn providers(d: &Deployment) -> Value {
    let mut by_ns: Map<String, Value> = Map::new();
    for op in d.operations.iter().filter(|o| o.provisioning_operation == "Create") {
        let Some((ns, t)) = op.resource_type.split_once('/') else { continue };
        let entry = by_ns.entry(ns.to_string()).or_insert_with(|| json!({"namespace": ns, "resourceTypes": []}));
        let types = entry["resourceTypes"].as_array_mut().expect("an array");
        if !types.iter().any(|x| x["resourceType"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(t))) {
            types.push(json!({"resourceType": t}));
        }
    }
    Value::Array(by_ns.into_values().collect())
}

/// One deployment operation as ARM renders it.
pub fn render_operation(d: &Deployment, op: &DeploymentOperation) -> Value {
    let mut props = json!({
        "provisioningOperation": op.provisioning_operation,
        "provisioningState": op.provisioning_state,
        "timestamp": timestamp(op.ended_ms),
        "duration": duration(op.ended_ms - op.started_ms),
        "trackingId": op.operation_id,
        "serviceRequestId": op.operation_id,
        "statusCode": op.status_code,
        "targetResource": {"id": op.resource_id, "resourceType": op.resource_type, "resourceName": op.resource_name},
    });
    if let Some(m) = &op.status_message {
        props["statusMessage"] = m.clone();
    }
    if let Some(c) = &op.request {
        props["request"] = json!({"content": c});
    }
    if let Some(c) = &op.response {
        props["response"] = json!({"content": c});
    }
    json!({"id": format!("{}/operations/{}", d.id, op.operation_id), "operationId": op.operation_id, "properties": props})
}

/// The body of `.../operationStatuses/{id}` (what the clients poll): `{status[, error]}`.
pub fn status(d: &Deployment) -> Value {
    let status = match d.provisioning_state.as_str() {
        "Accepted" | "Running" => "Running",
        other => other,
    };
    let mut out = json!({"status": status});
    if let Some(e) = &d.error {
        out["error"] = e.clone();
    }
    out
}

/// ARM's error for a deployment with failed operations: `DeploymentFailed` around each failed
/// resource's own error (`{code, message}` as its provider answered, with the resource as target).
pub fn failed(d: &Deployment) -> Value {
    let details: Vec<Value> = d
        .operations
        .iter()
        .filter(|o| o.provisioning_state == "Failed")
        .map(|o| {
            let inner = o.status_message.as_ref().and_then(|m| m.get("error")).cloned().unwrap_or_else(|| json!({}));
            let mut e = json!({
                "code": inner.get("code").cloned().unwrap_or(json!("ResourceDeploymentFailure")),
                "target": o.resource_id,
                "message": inner.get("message").cloned().unwrap_or(json!(format!("The resource operation completed with terminal provisioning state 'Failed'."))),
            });
            if let Some(details) = inner.get("details") {
                e["details"] = details.clone();
            }
            e
        })
        .collect();
    json!({
        "code": "DeploymentFailed",
        "target": d.id,
        "message": "At least one resource deployment operation failed. Please list deployment operations for details. Please see https://aka.ms/arm-deployment-operations for usage details.",
        "details": details,
    })
}

/// ARM's answer to canceling a deployment that is not running.
pub fn cannot_cancel(d: &Deployment) -> Error {
    Error::conflict(
        "DeploymentCannotBeCancelled",
        format!(
            "The deployment '{}' cannot be cancelled because it is in the terminal provisioning state '{}'.",
            d.name, d.provisioning_state
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_name("seed-1_(a).b").is_ok());
        assert_eq!(validate_name("").unwrap_err().code, "InvalidDeploymentName");
        assert_eq!(validate_name("a b").unwrap_err().code, "InvalidDeploymentName");
        assert_eq!(validate_name(&"a".repeat(64)).map_err(|e| e.code), Ok(()));
        let long = validate_name(&"a".repeat(65)).unwrap_err();
        assert_eq!(long.code, "DeploymentNameLengthLimitExceeded");
        assert!(
            long.message.contains("has a length of '65' which exceeds the maximum length of '64'"),
            "{}",
            long.message
        );
    }

    #[test]
    fn durations_and_timestamps() {
        assert_eq!(duration(1234), "PT1.234S");
        assert_eq!(duration(5), "PT0.005S");
        assert_eq!(timestamp(1_700_000_000_123), "2023-11-14T22:13:20.1230000Z");
    }
}
