//! Network security groups (`az network nsg create`, `az network nsg rule create`): their rules
//! are checked, stored and shown as given, with Azure's six default rules; vaultlink filters no
//! traffic by them (docs/behaviour.md). Which NICs use a group is derived from the NICs.

use super::*;

/// Azure's bounds of a security rule's priority.
pub const RULE_PRIORITY: std::ops::RangeInclusive<i64> = 100..=4096;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NsgSpec {
    pub location: String,
    #[serde(default)]
    pub tags: Option<Tags>,
    #[serde(default)]
    pub properties: NsgPropertiesSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NsgPropertiesSpec {
    pub security_rules: Option<Vec<SecurityRuleSpec>>,
}

/// A rule in an NSG's body, or the body of a `securityRules/{name}` PUT (whose name is the path's).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityRuleSpec {
    pub name: Option<String>,
    #[serde(default)]
    pub properties: SecurityRulePropertiesSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityRulePropertiesSpec {
    pub description: Option<String>,
    pub protocol: Option<String>,
    pub source_port_range: Option<String>,
    #[serde(default)]
    pub source_port_ranges: Vec<String>,
    pub destination_port_range: Option<String>,
    #[serde(default)]
    pub destination_port_ranges: Vec<String>,
    pub source_address_prefix: Option<String>,
    #[serde(default)]
    pub source_address_prefixes: Vec<String>,
    pub destination_address_prefix: Option<String>,
    #[serde(default)]
    pub destination_address_prefixes: Vec<String>,
    pub access: Option<String>,
    pub priority: Option<i64>,
    pub direction: Option<String>,
}

/// PUT a network security group (and, when the body lists them, its rules). Returns (group, created).
pub fn put_nsg(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    (sub, rg, name): (&str, &str, &str),
    spec: NsgSpec,
) -> Result<(NetworkSecurityGroup, bool)> {
    vaultlink_rules::network_resource_name(name)?;
    let group = resources::resource_group(state, caller, sub, rg)?;
    let location = resources::location(&spec.location)?;
    let id = network_id(sub, &group.name, "networkSecurityGroups", name);
    let existing = nsg(state, &id);
    if let Some(e) = &existing {
        same_location(&e.location, &location, name, &group.name)?;
    }
    let security_rules = match spec.properties.security_rules {
        Some(wanted) => {
            let mut rules: Vec<SecurityRule> = Vec::new();
            for r in wanted {
                let rule_name = r
                    .name
                    .ok_or_else(|| Error::bad_request("InvalidRequestFormat", "Each security rule needs a name."))?;
                let rule = build_rule(&id, &rule_name, r.properties)?;
                rules.retain(|x| !x.name.eq_ignore_ascii_case(&rule.name));
                no_conflict(&rules, &rule)?;
                rules.push(rule);
            }
            rules
        }
        None => existing.as_ref().map(|e| e.security_rules.clone()).unwrap_or_default(),
    };
    let g = NetworkSecurityGroup {
        id: existing.as_ref().map_or(id.clone(), |e| e.id.clone()),
        name: existing.as_ref().map_or(name.to_string(), |e| e.name.clone()),
        location,
        tags: spec.tags.unwrap_or_default(),
        security_rules,
        resource_guid: existing.as_ref().map_or_else(guid, |e| e.resource_guid.clone()),
        etag: weak_etag(),
    };
    batch.put(&g.id, Record::NetworkSecurityGroup(Box::new(g.clone())));
    Ok((g, existing.is_none()))
}

pub fn get_nsg(state: &State, caller: &Caller, (sub, rg, name): (&str, &str, &str)) -> Result<NetworkSecurityGroup> {
    let group = resources::resource_group(state, caller, sub, rg)?;
    nsg(state, &network_id(sub, rg, "networkSecurityGroups", name))
        .ok_or_else(|| Error::resource_not_found(NSG_TYPE, name, &group.name))
}

/// DELETE a network security group; refused while a NIC uses it. False: there was none.
pub fn delete_nsg(state: &State, batch: &mut Batch, caller: &Caller, key: (&str, &str, &str)) -> Result<bool> {
    let Ok(g) = get_nsg(state, caller, key) else {
        resources::resource_group(state, caller, key.0, key.1)?;
        return Ok(false);
    };
    let users = nics_using_nsg(state, &g.id);
    if !users.is_empty() {
        let ids: Vec<&str> = users.iter().map(|n| n.id.as_str()).collect();
        return Err(Error::bad_request(
            "InUseNetworkSecurityGroupCannotBeDeleted",
            format!(
                "Network security group {} cannot be deleted because it is in use by the following resources: {}. In order to delete the Network security group, remove the association with the resource(s).",
                g.id,
                ids.join(", ")
            ),
        ));
    }
    batch.delete(&g.id);
    Ok(true)
}

/// PUT one rule of an existing group (`securityRules/{name}`). Returns (group, rule, created).
pub fn put_rule(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    (sub, rg, nsg_name, name): (&str, &str, &str, &str),
    spec: SecurityRuleSpec,
) -> Result<(NetworkSecurityGroup, SecurityRule, bool)> {
    let mut g = get_nsg(state, caller, (sub, rg, nsg_name))?;
    let rule = build_rule(&g.id, name, spec.properties)?;
    let created = !g.security_rules.iter().any(|r| r.name.eq_ignore_ascii_case(name));
    let rule = match g.security_rules.iter().find(|r| r.name.eq_ignore_ascii_case(name)) {
        Some(old) => SecurityRule { name: old.name.clone(), ..rule },
        None => rule,
    };
    g.security_rules.retain(|r| !r.name.eq_ignore_ascii_case(name));
    no_conflict(&g.security_rules, &rule)?;
    g.security_rules.push(rule.clone());
    g.etag = weak_etag();
    batch.put(&g.id, Record::NetworkSecurityGroup(Box::new(g.clone())));
    Ok((g, rule, created))
}

pub fn get_rule(
    state: &State,
    caller: &Caller,
    key: (&str, &str, &str, &str),
) -> Result<(NetworkSecurityGroup, SecurityRule)> {
    let g = get_nsg(state, caller, (key.0, key.1, key.2))?;
    match g.security_rules.iter().find(|r| r.name.eq_ignore_ascii_case(key.3)) {
        Some(r) => Ok((g.clone(), r.clone())),
        None => Err(Error::resource_not_found(&format!("{NSG_TYPE}/{}/securityRules", g.name), key.3, key.1)),
    }
}

/// DELETE one rule. False: the group has no rule of that name.
pub fn delete_rule(state: &State, batch: &mut Batch, caller: &Caller, key: (&str, &str, &str, &str)) -> Result<bool> {
    let mut g = get_nsg(state, caller, (key.0, key.1, key.2))?;
    let before = g.security_rules.len();
    g.security_rules.retain(|r| !r.name.eq_ignore_ascii_case(key.3));
    if g.security_rules.len() == before {
        return Ok(false);
    }
    g.etag = weak_etag();
    batch.put(&g.id.clone(), Record::NetworkSecurityGroup(Box::new(g)));
    Ok(true)
}

pub fn nsg(state: &State, id: &str) -> Option<NetworkSecurityGroup> {
    match state.get(id) {
        Some(Record::NetworkSecurityGroup(g)) => Some((**g).clone()),
        _ => None,
    }
}

/// The client NICs that name the group.
pub fn nics_using_nsg(state: &State, nsg_id: &str) -> Vec<NetworkInterface> {
    state
        .of_kind(crate::model::RecordKind::NetworkInterface)
        .filter_map(|r| match r {
            Record::NetworkInterface(n)
                if n.network_security_group_id.as_deref().is_some_and(|g| g.eq_ignore_ascii_case(nsg_id)) =>
            {
                Some((**n).clone())
            }
            _ => None,
        })
        .collect()
}

fn build_rule(nsg_id: &str, name: &str, p: SecurityRulePropertiesSpec) -> Result<SecurityRule> {
    vaultlink_rules::network_resource_name(name)?;
    let id = format!("{nsg_id}/securityRules/{name}");
    let pick = |value: Option<String>, field: &str, code: &str, allowed: &[&str]| -> Result<String> {
        let v = value.unwrap_or_default();
        allowed.iter().find(|a| a.eq_ignore_ascii_case(&v)).map(|a| a.to_string()).ok_or_else(|| {
            Error::bad_request(
                code,
                format!(
                    "Security rule {id} has invalid {field}. Value provided: {v}. Allowed values are {}.",
                    allowed.join(", ")
                ),
            )
        })
    };
    let protocol =
        pick(p.protocol, "Protocol", "SecurityRuleInvalidProtocol", &["Tcp", "Udp", "Icmp", "Esp", "*", "Ah"])?;
    let access = pick(p.access, "Access", "SecurityRuleInvalidAccess", &["Allow", "Deny"])?;
    let direction = pick(p.direction, "Direction", "SecurityRuleInvalidDirection", &["Inbound", "Outbound"])?;
    let priority = p.priority.filter(|x| RULE_PRIORITY.contains(x)).ok_or_else(|| {
        Error::bad_request(
            "SecurityRuleInvalidPriority",
            format!(
                "Security rule {id} has invalid Priority. Value provided: {}. Allowed values are from {} to {}.",
                p.priority.map(|x| x.to_string()).unwrap_or_default(),
                RULE_PRIORITY.start(),
                RULE_PRIORITY.end()
            ),
        )
    })?;
    let either = |one: &Option<String>, many: &[String], field: &str| -> Result<()> {
        if one.as_deref().is_some_and(|s| !s.is_empty()) || !many.is_empty() {
            Ok(())
        } else {
            Err(Error::bad_request(
                "SecurityRuleParameterMissing",
                format!("Security rule {id} must specify {field} or {field}s."),
            ))
        }
    };
    either(&p.source_port_range, &p.source_port_ranges, "sourcePortRange")?;
    either(&p.destination_port_range, &p.destination_port_ranges, "destinationPortRange")?;
    either(&p.source_address_prefix, &p.source_address_prefixes, "sourceAddressPrefix")?;
    either(&p.destination_address_prefix, &p.destination_address_prefixes, "destinationAddressPrefix")?;
    Ok(SecurityRule {
        name: name.to_string(),
        description: p.description,
        protocol,
        source_port_range: p.source_port_range.filter(|s| !s.is_empty()),
        source_port_ranges: p.source_port_ranges,
        destination_port_range: p.destination_port_range.filter(|s| !s.is_empty()),
        destination_port_ranges: p.destination_port_ranges,
        source_address_prefix: p.source_address_prefix.filter(|s| !s.is_empty()),
        source_address_prefixes: p.source_address_prefixes,
        destination_address_prefix: p.destination_address_prefix.filter(|s| !s.is_empty()),
        destination_address_prefixes: p.destination_address_prefixes,
        access,
        priority: priority as u32,
        direction,
        etag: weak_etag(),
    })
}

/// Two rules of a group may not share a priority in the same direction.
fn no_conflict(others: &[SecurityRule], rule: &SecurityRule) -> Result<()> {
    match others.iter().find(|o| o.priority == rule.priority && o.direction == rule.direction) {
        Some(o) => Err(Error::bad_request(
            "SecurityRuleConflict",
            format!(
                "Security rule {} conflicts with rule {}. Rules cannot have the same Priority and Direction. To learn more, see aka.ms/nsgrules.",
                o.name, rule.name
            ),
        )),
        None => Ok(()),
    }
}

/// Azure's default rules of every group: (name, description, priority, direction, access,
/// source prefix, destination prefix).
const DEFAULT_RULES: [(&str, &str, u32, &str, &str, &str, &str); 6] = [
    (
        "AllowVnetInBound",
        "Allow inbound traffic from all VMs in VNET",
        65000,
        "Inbound",
        "Allow",
        "VirtualNetwork",
        "VirtualNetwork",
    ),
    (
        "AllowAzureLoadBalancerInBound",
        "Allow inbound traffic from azure load balancer",
        65001,
        "Inbound",
        "Allow",
        "AzureLoadBalancer",
        "*",
    ),
    ("DenyAllInBound", "Deny all inbound traffic", 65500, "Inbound", "Deny", "*", "*"),
    (
        "AllowVnetOutBound",
        "Allow outbound traffic from all VMs to all VMs in VNET",
        65000,
        "Outbound",
        "Allow",
        "VirtualNetwork",
        "VirtualNetwork",
    ),
    (
        "AllowInternetOutBound",
        "Allow outbound traffic from all VMs to Internet",
        65001,
        "Outbound",
        "Allow",
        "*",
        "Internet",
    ),
    ("DenyAllOutBound", "Deny all outbound traffic", 65500, "Outbound", "Deny", "*", "*"),
];

pub fn render_rule(nsg_id: &str, r: &SecurityRule) -> Value {
    let mut props = json!({
        "provisioningState": "Succeeded",
        "protocol": r.protocol,
        "sourcePortRanges": r.source_port_ranges,
        "destinationPortRanges": r.destination_port_ranges,
        "sourceAddressPrefixes": r.source_address_prefixes,
        "destinationAddressPrefixes": r.destination_address_prefixes,
        "access": r.access,
        "priority": r.priority,
        "direction": r.direction,
    });
    let optional = [
        ("description", &r.description),
        ("sourcePortRange", &r.source_port_range),
        ("destinationPortRange", &r.destination_port_range),
        ("sourceAddressPrefix", &r.source_address_prefix),
        ("destinationAddressPrefix", &r.destination_address_prefix),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            props[k] = json!(v);
        }
    }
    json!({
        "name": r.name, "id": format!("{nsg_id}/securityRules/{}", r.name), "etag": r.etag,
        "type": format!("{NSG_TYPE}/securityRules"), "properties": props,
    })
}

fn render_default_rules(g: &NetworkSecurityGroup) -> Vec<Value> {
    DEFAULT_RULES
        .iter()
        .map(|(name, description, priority, direction, access, source, destination)| {
            json!({
                "name": name, "id": format!("{}/defaultSecurityRules/{name}", g.id), "etag": g.etag,
                "type": format!("{NSG_TYPE}/defaultSecurityRules"),
                "properties": {
                    "provisioningState": "Succeeded", "description": description, "protocol": "*",
                    "sourcePortRange": "*", "destinationPortRange": "*",
                    "sourceAddressPrefix": source, "destinationAddressPrefix": destination,
                    "access": access, "priority": priority, "direction": direction,
                    "sourcePortRanges": [], "destinationPortRanges": [],
                    "sourceAddressPrefixes": [], "destinationAddressPrefixes": [],
                },
            })
        })
        .collect()
}

pub fn render_nsg(state: &State, g: &NetworkSecurityGroup) -> Value {
    let mut props = json!({
        "provisioningState": "Succeeded",
        "resourceGuid": g.resource_guid,
        "securityRules": g.security_rules.iter().map(|r| render_rule(&g.id, r)).collect::<Vec<_>>(),
        "defaultSecurityRules": render_default_rules(g),
    });
    let nics: Vec<Value> = nics_using_nsg(state, &g.id).iter().map(|n| json!({"id": n.id})).collect();
    if !nics.is_empty() {
        props["networkInterfaces"] = json!(nics);
    }
    wire::omit_empty_tags(json!({
        "name": g.name, "id": g.id, "etag": g.etag, "type": NSG_TYPE, "location": g.location,
        "tags": g.tags, "properties": props,
    }))
}
