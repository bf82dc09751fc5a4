//! What Azure checks before a Resource Manager operation runs: its action (derived from the
//! method and the path as ARM derives it), the scope it is checked over, the further actions some
//! operations need on the same resource, and the *linked* actions a write needs on the resources
//! its body points at (a subnet to join, a zone to link, a vault to connect to).
//!
//! This is the one place that names the Azure action of every ARM operation; `rbac::admit`
//! checks them. The derivation is ARM's own: `{Namespace}/{type}[/{child type}...]/{read|write|
//! delete}` for GET/HEAD, PUT/PATCH and DELETE, and `.../{verb}/action` for POST, with the few
//! names Azure spells otherwise in `special`. Segments keep the request's spelling, as in Azure's
//! refusals (`az group create` is refused `Microsoft.Resources/subscriptions/resourcegroups/write`);
//! role patterns match them ignoring case.

use serde_json::Value;

/// The shape of the path: one resource, or a collection of resources of one type below a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Item,
    /// A list: callers without the action over the whole scope see the items they may read.
    Collection,
}

/// One action over one scope (a resource id or a scope path, as the request spelled it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub action: String,
    pub scope: String,
}

/// Everything checked before an ARM operation runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmOperation {
    /// The operation's own action, over the request's scope.
    pub main: Check,
    pub target: Target,
    /// Further actions the operation needs on the same resource (refused as `AuthorizationFailed`).
    pub also: Vec<Check>,
    /// Actions on other resources the body names (refused as `LinkedAuthorizationFailed`).
    pub linked: Vec<Check>,
}

/// Resource Manager's own namespace, for paths without a `providers` segment.
const RESOURCES: &str = "Microsoft.Resources";

fn join_types(namespace: &str, types: &[&str]) -> String {
    let mut s = namespace.to_string();
    for t in types {
        s.push('/');
        s.push_str(t);
    }
    s
}

/// The operation a request is, or `None` for what ARM serves to every authenticated caller
/// (the subscriptions list, which shows each caller only its own, and the tenants list).
pub fn operation(method: &str, path: &str, body: Option<&Value>) -> Option<ArmOperation> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    if matches!(lower.as_slice(), [] | [_]) {
        return None;
    }
    let method = method.to_ascii_uppercase();
    // The namespace and the segments that alternate type / name below it.
    let providers = (0..segs.len().saturating_sub(1)).rev().find(|&i| lower[i] == "providers");
    let (namespace, head, rest): (&str, &[&str], &[&str]) = match providers {
        Some(i) => (segs[i + 1], &segs[..i], &segs[i + 2..]),
        None => (RESOURCES, &[], &segs[..]),
    };
    let scope_of = |n: usize| format!("/{}", segs[..n].join("/"));
    let base = head.len() + if providers.is_some() { 2 } else { 0 };
    let mut types: Vec<&str> = rest.iter().step_by(2).copied().collect();
    // Deployments in the form without `providers` (`/subscriptions/{s}/resourcegroups/{rg}/
    // deployments/{d}`) are Azure's `Microsoft.Resources/deployments/...`, as in the other form.
    if providers.is_none()
        && let Some(i) = types.iter().position(|t| t.eq_ignore_ascii_case("deployments"))
    {
        types.drain(..i);
    }

    // Provider registration and the name check are named otherwise by Azure.
    if let Some(op) = special(&method, namespace, head, rest) {
        return Some(op);
    }
    let collection = rest.len() % 2 == 1;
    let (action, scope, target) = match method.as_str() {
        "POST" if collection && types.len() > 1 => {
            // `.../{type}/{name}/{verb}`: the verb is the last segment.
            let verb = types[types.len() - 1];
            (
                format!("{}/{verb}/action", join_types(namespace, &types[..types.len() - 1])),
                scope_of(segs.len() - 1),
                Target::Item,
            )
        }
        "POST" => (format!("{}/action", join_types(namespace, &types)), path_of(path), Target::Item),
        "GET" | "HEAD" if collection => {
            // Checked over the scope the collection sits in (`.../providers/{ns}` dropped).
            let parent = if rest.len() == 1 && providers.is_some() { head.len() } else { segs.len() - 1 };
            (format!("{}/read", join_types(namespace, &types)), scope_of(parent), Target::Collection)
        }
        "GET" | "HEAD" => (format!("{}/read", join_types(namespace, &types)), path_of(path), Target::Item),
        "PUT" | "PATCH" => (format!("{}/write", join_types(namespace, &types)), path_of(path), Target::Item),
        "DELETE" => (format!("{}/delete", join_types(namespace, &types)), path_of(path), Target::Item),
        _ => return None,
    };
    let mut op = ArmOperation { main: Check { action, scope }, target, also: Vec::new(), linked: Vec::new() };
    if !collection && matches!(method.as_str(), "PUT" | "PATCH" | "DELETE") {
        approval(&mut op, namespace, &types, &segs[..base + rest.len().saturating_sub(2)]);
        if method != "DELETE"
            && let Some(body) = body
        {
            op.linked = linked(namespace, &types, body);
        }
    }
    Some(op)
}

fn path_of(path: &str) -> String {
    format!("/{}", path.trim_matches('/'))
}

fn special(method: &str, namespace: &str, head: &[&str], rest: &[&str]) -> Option<ArmOperation> {
    let item = |action: String, scope: String| ArmOperation {
        main: Check { action, scope },
        target: Target::Item,
        also: Vec::new(),
        linked: Vec::new(),
    };
    let head_path = format!("/{}", head.join("/"));
    match (method, rest) {
        // POST /subscriptions/{s}/providers/{ns}/register: `{ns}/register/action` on the subscription.
        ("POST", [verb]) if verb.eq_ignore_ascii_case("register") || verb.eq_ignore_ascii_case("unregister") => {
            Some(item(format!("{}/{}/action", namespace, verb.to_ascii_lowercase()), head_path))
        }
        ("POST", [check]) if check.eq_ignore_ascii_case("checkNameAvailability") => {
            Some(item(format!("{}/checkNameAvailability/read", namespace), head_path))
        }
        // Compute's regional catalogue and operation statuses (images, sizes, a run command's
        // progress): readable by a caller with a role anywhere in the subscription, since `az vm
        // create` reads them for a caller whose role is on a resource group (docs/behaviour.md).
        ("GET", [locations, ..])
            if namespace.eq_ignore_ascii_case("Microsoft.Compute") && locations.eq_ignore_ascii_case("locations") =>
        {
            let types: Vec<&str> = rest.iter().step_by(2).copied().collect();
            Some(ArmOperation {
                target: Target::Collection,
                ..item(format!("{}/read", join_types(namespace, &types)), head_path)
            })
        }
        // The answers of what-if and delete kept for their Location: like Compute's statuses,
        // readable by a caller with a role anywhere in the subscription (the deployer of a
        // resource group polls them); the route gives each only to the caller who asked.
        ("GET", [locations, _, results, _])
            if namespace.eq_ignore_ascii_case(RESOURCES)
                && locations.eq_ignore_ascii_case("locations")
                && results.eq_ignore_ascii_case("operationResults") =>
        {
            Some(ArmOperation {
                target: Target::Collection,
                ..item(format!("{RESOURCES}/locations/operationResults/read"), head_path)
            })
        }
        ("GET", [subscriptions, sub, results, _])
            if head.is_empty()
                && subscriptions.eq_ignore_ascii_case("subscriptions")
                && results.eq_ignore_ascii_case("operationResults") =>
        {
            Some(ArmOperation {
                target: Target::Collection,
                ..item(format!("{RESOURCES}/subscriptions/operationResults/read"), format!("/subscriptions/{sub}"))
            })
        }
        // GET /subscriptions/{s}/providers[/{ns}]: reading the subscription's providers.
        ("GET", []) if head.len() == 2 => Some(item(format!("{RESOURCES}/subscriptions/providers/read"), head_path)),
        _ => None,
    }
}

/// Approving, rejecting or removing a private endpoint connection needs the approval action on
/// the resource it connects to (Key Vault's `vaults/privateEndpointConnectionsApproval/action`).
fn approval(op: &mut ArmOperation, namespace: &str, types: &[&str], parent: &[&str]) {
    if let [owner @ .., last] = types
        && last.eq_ignore_ascii_case("privateEndpointConnections")
        && !owner.is_empty()
    {
        op.also.push(Check {
            action: format!("{}/privateEndpointConnectionsApproval/action", join_types(namespace, owner)),
            scope: format!("/{}", parent.join("/")),
        });
    }
}

/// The resource type of an id (`Microsoft.Network/virtualNetworks/subnets` for a subnet's id).
fn type_of(id: &str) -> Option<String> {
    let segs: Vec<&str> = id.split('/').filter(|s| !s.is_empty()).collect();
    let i = segs.iter().rposition(|s| s.eq_ignore_ascii_case("providers"))?;
    let ns = segs.get(i + 1)?;
    let types: Vec<&str> = segs[i + 2..].iter().step_by(2).copied().collect();
    (!types.is_empty()).then(|| join_types(ns, &types))
}

/// The actions a write needs on the resources its body refers to, as Azure's linked checks.
fn linked(namespace: &str, types: &[&str], body: &Value) -> Vec<Check> {
    let ty = join_types(namespace, types).to_ascii_lowercase();
    let props = body.get("properties");
    let id_at = |v: &Value, path: &[&str]| -> Option<String> {
        path.iter().try_fold(v, |v, k| v.get(k)).and_then(Value::as_str).map(str::to_string)
    };
    let each = |array: &str| -> Vec<&Value> {
        props.and_then(|p| p.get(array)).and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default()
    };
    let check = |action: &str, scope: String| Check { action: action.to_string(), scope };
    let mut out = Vec::new();
    match ty.as_str() {
        "microsoft.network/privateendpoints" => {
            if let Some(subnet) = props.and_then(|p| id_at(p, &["subnet", "id"])) {
                out.push(check("Microsoft.Network/virtualNetworks/subnets/join/action", subnet));
            }
            // An automatically approved connection needs the approval action on its target; a
            // manual request does not (it waits, Pending, for someone who has it).
            for c in each("privateLinkServiceConnections") {
                if let Some(target) = id_at(c, &["properties", "privateLinkServiceId"])
                    && let Some(t) = type_of(&target)
                {
                    out.push(Check { action: format!("{t}/privateEndpointConnectionsApproval/action"), scope: target });
                }
            }
        }
        "microsoft.network/networkinterfaces" => {
            for c in each("ipConfigurations") {
                if let Some(subnet) = id_at(c, &["properties", "subnet", "id"]) {
                    out.push(check("Microsoft.Network/virtualNetworks/subnets/join/action", subnet));
                }
                if let Some(pip) = id_at(c, &["properties", "publicIPAddress", "id"]) {
                    out.push(check("Microsoft.Network/publicIPAddresses/join/action", pip));
                }
            }
            if let Some(nsg) = props.and_then(|p| id_at(p, &["networkSecurityGroup", "id"])) {
                out.push(check("Microsoft.Network/networkSecurityGroups/join/action", nsg));
            }
        }
        "microsoft.network/privatednszones/virtualnetworklinks" => {
            if let Some(vnet) = props.and_then(|p| id_at(p, &["virtualNetwork", "id"])) {
                out.push(check("Microsoft.Network/virtualNetworks/join/action", vnet));
            }
        }
        "microsoft.network/privateendpoints/privatednszonegroups" => {
            for c in each("privateDnsZoneConfigs") {
                if let Some(zone) = id_at(c, &["properties", "privateDnsZoneId"]) {
                    out.push(check("Microsoft.Network/privateDnsZones/join/action", zone));
                }
            }
        }
        "microsoft.network/virtualnetworks/virtualnetworkpeerings" => {
            if let Some(remote) = props.and_then(|p| id_at(p, &["remoteVirtualNetwork", "id"])) {
                out.push(check("Microsoft.Network/virtualNetworks/peer/action", remote));
            }
        }
        // A custom role needs the right to write role definitions at each scope it is assignable at.
        "microsoft.authorization/roledefinitions" => {
            let scopes = props.and_then(|p| p.get("assignableScopes")).and_then(Value::as_array);
            for scope in scopes.into_iter().flatten().filter_map(Value::as_str) {
                out.push(check("Microsoft.Authorization/roleDefinitions/write", scope.to_string()));
            }
        }
        "microsoft.keyvault/vaults" => {
            let rules = props
                .and_then(|p| p.get("networkAcls"))
                .and_then(|a| a.get("virtualNetworkRules"))
                .and_then(Value::as_array);
            for r in rules.into_iter().flatten() {
                if let Some(subnet) = r.get("id").and_then(Value::as_str) {
                    out.push(check(
                        "Microsoft.Network/virtualNetworks/subnets/joinViaServiceEndpoint/action",
                        subnet.to_string(),
                    ));
                }
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests;
