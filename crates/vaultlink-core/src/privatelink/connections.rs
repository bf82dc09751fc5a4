//! Private endpoint connections, the vault side: creation when an endpoint asks, approve / reject
//! (the state machine), removal. The endpoint side's state is always read from here.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::engine::{Batch, State, guid};
use crate::error::{Error, Result};
use crate::identity::Caller;
use crate::keyvault;
use crate::model::{PrivateEndpointConnection, Record};

pub const PEC_TYPE: &str = "Microsoft.KeyVault/vaults/privateEndpointConnections";
/// Private endpoints per key vault (azure-behaviour.md §3.7).
pub const MAX_ENDPOINTS_PER_VAULT: usize = 64;

/// Connection states, as Azure spells them.
pub mod status {
    pub const PENDING: &str = "Pending";
    pub const APPROVED: &str = "Approved";
    pub const REJECTED: &str = "Rejected";
    pub const DISCONNECTED: &str = "Disconnected";
}

/// The vault-side connection an endpoint holds, if any.
pub fn for_endpoint(state: &State, connection_id: &str) -> Option<PrivateEndpointConnection> {
    match state.get(connection_id) {
        Some(Record::PrivateEndpointConnection(c)) => Some((**c).clone()),
        _ => None,
    }
}

/// Called when a private endpoint is created against a vault: makes the vault-side connection,
/// Approved for an automatic request, Pending for a manual one. Returns its id.
pub(crate) fn request(
    state: &State,
    batch: &mut Batch,
    vault_id: &str,
    endpoint_id: &str,
    endpoint_name: &str,
    manual: bool,
    request_message: Option<&str>,
) -> Result<String> {
    let existing = keyvault::connections(state, vault_id);
    if existing.len() >= MAX_ENDPOINTS_PER_VAULT {
        return Err(Error::bad_request(
            "PrivateEndpointConnectionLimitReached",
            format!(
                "The key vault '{vault_id}' already has {MAX_ENDPOINTS_PER_VAULT} private endpoint connections, the maximum allowed."
            ),
        ));
    }
    let name = format!("{endpoint_name}.{}", guid());
    let id = format!("{vault_id}/privateEndpointConnections/{name}");
    if !manual {
        endpoint_subscription_registered(state, endpoint_id)?;
    }
    let (status, description) = if manual {
        (status::PENDING, request_message.filter(|m| !m.is_empty()).unwrap_or("Awaiting approval").to_string())
    } else {
        (status::APPROVED, "Auto-Approved".to_string())
    };
    batch.put(
        &id,
        Record::PrivateEndpointConnection(Box::new(PrivateEndpointConnection {
            id: id.clone(),
            name,
            private_endpoint_id: endpoint_id.to_string(),
            status: status.into(),
            description,
            actions_required: "None".into(),
            provisioning_state: "Succeeded".into(),
            etag: guid(),
        })),
    );
    Ok(id)
}

/// Approving a connection needs Microsoft.KeyVault registered on the endpoint's subscription too
/// (which differs from the vault's for an endpoint in another subscription or directory); Azure
/// refuses the approval with this AuthorizationFailed otherwise.
fn endpoint_subscription_registered(state: &State, endpoint_id: &str) -> Result<()> {
    let sub = endpoint_id.split('/').nth(2).unwrap_or_default();
    crate::resources::require_provider(state, sub, "Microsoft.KeyVault").map_err(|_| {
        Error::forbidden(
            "AuthorizationFailed",
            format!("Microsoft.KeyVault provider must be registered on subscription containing private endpoint: {endpoint_id}"),
        )
    })
}

fn connection(
    state: &State,
    caller: &Caller,
    (sub, rg, vault): (&str, &str, &str),
    name: &str,
) -> Result<(String, PrivateEndpointConnection)> {
    let v = keyvault::vault(state, caller, sub, rg, vault)?;
    let id = format!("{}/privateEndpointConnections/{name}", v.id);
    match state.get(&id) {
        Some(Record::PrivateEndpointConnection(c)) => Ok((v.id, (**c).clone())),
        _ => Err(Error::not_found(
            "PrivateEndpointConnectionNotFound",
            format!("Private endpoint connection '{name}' of vault '{}' was not found.", v.name),
        )),
    }
}

pub fn get(state: &State, caller: &Caller, vault: (&str, &str, &str), name: &str) -> Result<PrivateEndpointConnection> {
    connection(state, caller, vault, name).map(|(_, c)| c)
}

pub fn list(
    state: &State,
    caller: &Caller,
    (sub, rg, vault): (&str, &str, &str),
) -> Result<Vec<PrivateEndpointConnection>> {
    let v = keyvault::vault(state, caller, sub, rg, vault)?;
    Ok(keyvault::connections(state, &v.id))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionSpec {
    #[serde(default)]
    pub etag: Option<String>,
    #[serde(default)]
    pub properties: Option<ConnectionPropertiesSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionPropertiesSpec {
    pub private_link_service_connection_state: Option<ConnectionStateSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionStateSpec {
    pub status: Option<String>,
    pub description: Option<String>,
    pub actions_required: Option<String>,
}

/// PUT a connection: the owner approves or rejects. `privateEndpoint` in the body is read-only and
/// ignored (the CLI sends `{}`), so it never clears the link.
pub fn put(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    vault: (&str, &str, &str),
    name: &str,
    spec: ConnectionSpec,
) -> Result<PrivateEndpointConnection> {
    let (_, mut c) = connection(state, caller, vault, name)?;
    if let Some(etag) = spec.etag.as_deref().filter(|e| !e.is_empty())
        && etag != c.etag
    {
        return Err(Error::precondition(format!(
            "The etag '{etag}' of private endpoint connection '{name}' does not match its current etag."
        )));
    }
    let Some(new) = spec.properties.and_then(|p| p.private_link_service_connection_state) else {
        return Err(Error::bad_request("BadRequest", "The property 'privateLinkServiceConnectionState' is required."));
    };
    let target = match new.status.as_deref() {
        Some(s) if s.eq_ignore_ascii_case(status::APPROVED) => status::APPROVED,
        Some(s) if s.eq_ignore_ascii_case(status::REJECTED) => status::REJECTED,
        Some(s) if s.eq_ignore_ascii_case(status::PENDING) => status::PENDING,
        Some(s) if s.eq_ignore_ascii_case(status::DISCONNECTED) => status::DISCONNECTED,
        other => {
            return Err(Error::bad_request(
                "BadRequest",
                format!(
                    "The connection status '{}' is not valid. Allowed values: Approved, Rejected.",
                    other.unwrap_or("")
                ),
            ));
        }
    };
    transition(&c.status, target)?;
    if target == status::APPROVED && c.status != target {
        endpoint_subscription_registered(state, &c.private_endpoint_id)?;
    }
    if c.status != target {
        c.etag = guid();
    }
    c.status = target.into();
    if let Some(d) = new.description {
        c.description = d;
    }
    if let Some(a) = new.actions_required {
        c.actions_required = a;
    }
    c.provisioning_state = "Succeeded".into();
    batch.put(&c.id, Record::PrivateEndpointConnection(Box::new(c.clone())));
    Ok(c)
}

/// The owner-side state machine (azure-behaviour.md §3.3–3.4).
pub fn transition(from: &str, to: &str) -> Result<()> {
    use status::*;
    match (from, to) {
        (f, t) if f == t => Ok(()),
        (PENDING, APPROVED) | (PENDING, REJECTED) | (APPROVED, REJECTED) => Ok(()),
        (REJECTED, APPROVED) => Err(Error::bad_request(
            "BadRequest",
            "Approving rejected private endpoint connections is not supported. Remove the connection and create a new private endpoint.",
        )),
        (_, PENDING) => Err(Error::bad_request(
            "BadRequest",
            format!("A connection that is {from} cannot be set back to Pending by the resource owner."),
        )),
        (_, DISCONNECTED) => {
            Err(Error::bad_request("BadRequest", "Delete the private endpoint connection to disconnect it."))
        }
        _ => Err(Error::bad_request(
            "BadRequest",
            format!("A private endpoint connection cannot go from {from} to {to}."),
        )),
    }
}

/// DELETE a connection: it disappears from the vault; the endpoint side then reads Disconnected.
pub fn delete(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    vault: (&str, &str, &str),
    name: &str,
) -> Result<Option<PrivateEndpointConnection>> {
    match connection(state, caller, vault, name) {
        Ok((_, mut c)) => {
            batch.delete(&c.id);
            // The answer shows the connection as it leaves: provisioning state Disconnected.
            c.provisioning_state = "Disconnected".into();
            Ok(Some(c))
        }
        Err(e) if e.kind == crate::error::Kind::NotFound && e.code == "PrivateEndpointConnectionNotFound" => Ok(None),
        Err(e) => Err(e),
    }
}

pub fn render(c: &PrivateEndpointConnection) -> Value {
    json!({
        "id": c.id,
        "name": c.name,
        "type": PEC_TYPE,
        "etag": c.etag,
        "properties": keyvault::render_connection_properties(c),
    })
}

#[cfg(test)]
mod tests {
    use super::status::*;
    use super::transition;

    #[test]
    fn the_owner_state_machine_follows_azure() {
        assert!(transition(PENDING, APPROVED).is_ok());
        assert!(transition(PENDING, REJECTED).is_ok());
        assert!(transition(APPROVED, REJECTED).is_ok());
        assert!(transition(APPROVED, APPROVED).is_ok());
        let err = transition(REJECTED, APPROVED).unwrap_err();
        assert!(err.to_string().contains("Approving rejected private endpoint connections is not supported"));
        assert!(transition(APPROVED, PENDING).is_err());
        assert!(transition(PENDING, DISCONNECTED).is_err());
    }
}
