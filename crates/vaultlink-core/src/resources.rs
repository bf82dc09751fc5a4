//! Microsoft.Resources: subscriptions, resource groups, resource providers.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::engine::{Batch, State};
use crate::error::{Error, Result};
use crate::identity::Caller;
use crate::model::{Record, ResourceGroup, Subscription, Tags};
use crate::{regions, seed};

/// Providers registered on a fresh subscription. Microsoft.KeyVault is not, so that
/// `az provider register -n Microsoft.KeyVault` (a step of the seed) means something.
const REGISTERED_AT_START: &[&str] =
    &["Microsoft.Network", "Microsoft.Compute", "Microsoft.Authorization", "Microsoft.Resources"];

pub fn subscription_id(sub: &str) -> String {
    Subscription::key(sub)
}

pub fn resource_group_id(sub: &str, rg: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}")
}

/// Normalises a location as ARM does (`West Europe` -> `westeurope`) and checks it exists.
pub fn location(input: &str) -> Result<String> {
    let norm: String = input.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
    if regions::physical(&norm).is_some() {
        Ok(norm)
    } else {
        Err(Error::bad_request(
            "LocationNotAvailableForResourceGroup",
            format!(
                "The provided location '{input}' is not available for resource group. List of available regions is '{}'.",
                regions::names().collect::<Vec<_>>().join(",")
            ),
        ))
    }
}

pub(crate) fn seed(state: &State, batch: &mut Batch) {
    let id = subscription_id(seed::SUBSCRIPTION_ID);
    if state.get(&id).is_none() {
        batch.put(
            &id,
            Record::Subscription(Subscription {
                subscription_id: seed::SUBSCRIPTION_ID.into(),
                display_name: seed::SUBSCRIPTION_NAME.into(),
                tenant_id: seed::TENANT_ID.into(),
                registered_providers: REGISTERED_AT_START
                    .iter()
                    .map(|p| (p.to_ascii_lowercase(), p.to_string()))
                    .collect(),
                unregistered_providers: Default::default(),
            }),
        );
    }
}

/// The subscription; ARM's 404 if there is none, and ARM's 401 when the caller's token was issued
/// by another tenant than the subscription's (a token is good only in its own directory).
pub fn subscription(state: &State, caller: &Caller, sub: &str) -> Result<Subscription> {
    match state.get(&subscription_id(sub)) {
        Some(Record::Subscription(s)) if s.tenant_id.eq_ignore_ascii_case(&caller.tenant_id) => Ok(s.clone()),
        Some(Record::Subscription(s)) => Err(wrong_tenant(&caller.tenant_id, &s.tenant_id)),
        _ => Err(Error::not_found("SubscriptionNotFound", format!("The subscription '{sub}' could not be found."))),
    }
}

/// ARM's refusal of a token from another directory than the subscription's.
pub fn wrong_tenant(token_tenant: &str, subscription_tenant: &str) -> Error {
    Error::unauthorized(
        "InvalidAuthenticationTokenTenant",
        format!(
            "The access token is from the wrong issuer 'https://sts.windows.net/{token_tenant}/'. It must match the tenant 'https://sts.windows.net/{subscription_tenant}/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/{subscription_tenant}' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later."
        ),
    )
}

/// `vaultlink subscription add`: a subscription of tenant `tid` with the providers a fresh one
/// has, and `owner` (a service principal of that tenant) as its Owner.
pub fn add_subscription(
    engine: &crate::Engine,
    tid: &str,
    display_name: &str,
    owner: &crate::model::Principal,
) -> Result<Subscription> {
    if display_name.trim().is_empty() || display_name.len() > 64 {
        return Err(Error::bad_request("InvalidSubscriptionName", "A subscription name has 1 to 64 characters."));
    }
    let sub = Subscription {
        subscription_id: crate::engine::guid(),
        display_name: display_name.to_string(),
        tenant_id: tid.to_string(),
        registered_providers: REGISTERED_AT_START.iter().map(|p| (p.to_ascii_lowercase(), p.to_string())).collect(),
        unregistered_providers: Default::default(),
    };
    engine.write(|state, batch| -> Result<()> {
        if crate::identity::tenant(state, tid).is_none() {
            return Err(Error::not_found("TenantNotFound", format!("No tenant '{tid}'.")));
        }
        if !owner.tenant_id.eq_ignore_ascii_case(tid) || owner.user.is_some() {
            return Err(Error::bad_request(
                "PrincipalNotFound",
                format!("The owner must be a service principal of the tenant {tid}."),
            ));
        }
        let id = subscription_id(&sub.subscription_id);
        batch.put(&id, Record::Subscription(sub.clone()));
        crate::rbac::assign(
            state,
            batch,
            &id,
            &crate::engine::guid(),
            crate::rbac::OWNER,
            &owner.object_id,
            "Owner of the subscription, made by vaultlink subscription add.",
        );
        Ok(())
    })?;
    Ok(sub)
}

/// The subscriptions of the caller's tenant in which it holds a role (at the subscription, above
/// it or anywhere inside it), as `GET /subscriptions` shows them: a principal with no role sees none.
pub fn subscriptions(state: &State, caller: &Caller) -> Vec<Subscription> {
    let grants = crate::rbac::grants(state, &caller.object_id);
    state
        .of_kind(crate::model::RecordKind::Subscription)
        .filter_map(|r| match r {
            Record::Subscription(s) if s.tenant_id.eq_ignore_ascii_case(&caller.tenant_id) => Some(s),
            _ => None,
        })
        .filter(|s| {
            let id = subscription_id(&s.subscription_id);
            grants.iter().any(|g| crate::rbac::scope_covers(&g.scope, &id) || crate::rbac::scope_covers(&id, &g.scope))
        })
        .cloned()
        .collect()
}

pub fn render_subscription(s: &Subscription) -> Value {
    json!({
        "id": subscription_id(&s.subscription_id),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": s.subscription_id,
        "tenantId": s.tenant_id,
        "displayName": s.display_name,
        "state": "Enabled",
        "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
    })
}

/// The subscription's registration state for a namespace; ARM's 409 when not registered.
pub fn require_provider(state: &State, sub: &str, namespace: &str) -> Result<()> {
    match state.get(&subscription_id(sub)) {
        Some(Record::Subscription(s)) if s.registered_providers.contains_key(&namespace.to_ascii_lowercase()) => Ok(()),
        _ => Err(Error::conflict(
            "MissingSubscriptionRegistration",
            format!(
                "The subscription is not registered to use namespace '{namespace}'. See https://aka.ms/rps-not-found for how to register subscriptions."
            ),
        )),
    }
}

/// A resource group that must exist (ARM's `ResourceGroupNotFound` otherwise).
pub fn resource_group(state: &State, caller: &Caller, sub: &str, rg: &str) -> Result<ResourceGroup> {
    subscription(state, caller, sub)?;
    match state.get(&resource_group_id(sub, rg)) {
        Some(Record::ResourceGroup(g)) => Ok(g.clone()),
        _ => Err(Error::resource_group_not_found(rg)),
    }
}

pub fn resource_groups(state: &State, caller: &Caller, sub: &str) -> Result<Vec<ResourceGroup>> {
    subscription(state, caller, sub)?;
    Ok(state
        .descendants(&format!("{}/resourcegroups", subscription_id(sub)))
        .filter_map(|(_, r)| match r {
            Record::ResourceGroup(g) => Some(g.clone()),
            _ => None,
        })
        .collect())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceGroupSpec {
    pub location: String,
    #[serde(default)]
    pub tags: Option<Tags>,
    #[serde(default)]
    pub managed_by: Option<String>,
}

/// PUT a resource group. Returns (group, created). The location of an existing group cannot change.
pub fn put_resource_group(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    sub: &str,
    rg: &str,
    spec: ResourceGroupSpec,
) -> Result<(ResourceGroup, bool)> {
    subscription(state, caller, sub)?;
    vaultlink_rules::resource_group_name(rg)?;
    let loc = location(&spec.location)?;
    let existing = match state.get(&resource_group_id(sub, rg)) {
        Some(Record::ResourceGroup(g)) => Some(g.clone()),
        _ => None,
    };
    if let Some(g) = &existing
        && g.location != loc
    {
        return Err(Error::conflict(
            "InvalidResourceGroupLocation",
            format!(
                "Invalid resource group location '{loc}'. The Resource group already exists in location '{}'.",
                g.location
            ),
        ));
    }
    let group = ResourceGroup {
        id: existing.as_ref().map(|g| g.id.clone()).unwrap_or_else(|| resource_group_id(sub, rg)),
        name: existing.as_ref().map(|g| g.name.clone()).unwrap_or_else(|| rg.to_string()),
        location: loc,
        tags: spec.tags.unwrap_or_default(),
        managed_by: spec.managed_by,
    };
    batch.put(&group.id, Record::ResourceGroup(group.clone()));
    Ok((group, existing.is_none()))
}

/// The body of `PATCH` on a resource group: only its tags change (`"tags": null` is refused).
#[derive(Debug, Deserialize)]
pub struct ResourceGroupPatch {
    #[serde(default, deserialize_with = "present")]
    pub tags: Option<Tags>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<Tags>, D::Error> {
    Tags::deserialize(d).map(Some)
}

/// PATCH a resource group's tags.
pub fn patch_resource_group(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    sub: &str,
    rg: &str,
    patch: ResourceGroupPatch,
) -> Result<ResourceGroup> {
    let mut group = resource_group(state, caller, sub, rg)?;
    if let Some(tags) = patch.tags {
        group.tags = tags;
    }
    batch.put(&group.id, Record::ResourceGroup(group.clone()));
    Ok(group)
}

pub fn render_resource_group(g: &ResourceGroup) -> Value {
    let mut v = json!({
        "id": g.id,
        "name": g.name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": g.location,
        "tags": g.tags,
        "properties": {"provisioningState": "Succeeded"},
    });
    v = crate::wire::omit_empty_tags(v);
    if let Some(m) = &g.managed_by {
        v["managedBy"] = json!(m);
    }
    v
}
