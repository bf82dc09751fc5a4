use serde_json::json;

use super::*;

const RG: &str = "/subscriptions/s1/resourceGroups/rg1";

fn op(method: &str, path: &str) -> ArmOperation {
    operation(method, path, None).unwrap()
}

#[test]
fn actions_follow_the_method_and_the_resource_type() {
    let o = op("PUT", "/subscriptions/s1/resourcegroups/rg1");
    assert_eq!(o.main.action, "Microsoft.Resources/subscriptions/resourcegroups/write");
    assert_eq!(o.main.scope, "/subscriptions/s1/resourcegroups/rg1");
    let v = format!("{RG}/providers/microsoft.keyvault/vaults/v1");
    assert_eq!(op("GET", &v).main.action, "microsoft.keyvault/vaults/read");
    assert_eq!(op("PATCH", &v).main.action, "microsoft.keyvault/vaults/write");
    assert_eq!(op("DELETE", &v).main.action, "microsoft.keyvault/vaults/delete");
    assert_eq!(
        op("PUT", &format!("{v}/accessPolicies/add")).main.action,
        "microsoft.keyvault/vaults/accessPolicies/write"
    );
    let rs = format!("{RG}/providers/Microsoft.Network/privateDnsZones/z/a/kv1");
    assert_eq!(op("PUT", &rs).main.action, "Microsoft.Network/privateDnsZones/a/write");
    let ra = "/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/g1";
    let o = op("PUT", ra);
    assert_eq!(o.main.action, "Microsoft.Authorization/roleAssignments/write");
    assert_eq!(o.main.scope, ra);
}

#[test]
fn lists_are_checked_over_the_scope_they_sit_in() {
    let o = op("GET", &format!("{RG}/providers/Microsoft.KeyVault/vaults"));
    assert_eq!(
        (o.main.action.as_str(), o.main.scope.as_str(), o.target),
        ("Microsoft.KeyVault/vaults/read", RG, Target::Collection)
    );
    let o = op("GET", "/subscriptions/s1/resourcegroups");
    assert_eq!(
        (o.main.action.as_str(), o.main.scope.as_str()),
        ("Microsoft.Resources/subscriptions/resourcegroups/read", "/subscriptions/s1")
    );
    let o = op("GET", &format!("{RG}/providers/Microsoft.Network/virtualNetworks/v/subnets"));
    assert_eq!(o.main.scope, format!("{RG}/providers/Microsoft.Network/virtualNetworks/v"));
    assert_eq!(o.main.action, "Microsoft.Network/virtualNetworks/subnets/read");
    assert!(operation("GET", "/subscriptions", None).is_none());
}

#[test]
fn posts_and_the_names_azure_spells_otherwise() {
    let o = op("POST", "/subscriptions/s1/providers/Microsoft.KeyVault/register");
    assert_eq!(
        (o.main.action.as_str(), o.main.scope.as_str()),
        ("Microsoft.KeyVault/register/action", "/subscriptions/s1")
    );
    let o = op("POST", "/subscriptions/s1/providers/microsoft.keyvault/checkNameAvailability");
    assert_eq!(o.main.action, "microsoft.keyvault/checkNameAvailability/read");
    let o = op("POST", "/subscriptions/s1/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/v1/purge");
    assert_eq!(o.main.action, "Microsoft.KeyVault/locations/deletedVaults/purge/action");
    assert_eq!(o.main.scope, "/subscriptions/s1/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/v1");
}

#[test]
fn changing_a_connection_needs_the_approval_action_on_the_vault() {
    let v = format!("{RG}/providers/Microsoft.KeyVault/vaults/v1");
    for m in ["PUT", "DELETE"] {
        let o = op(m, &format!("{v}/privateEndpointConnections/c1"));
        assert_eq!(
            o.also,
            vec![Check {
                action: "Microsoft.KeyVault/vaults/privateEndpointConnectionsApproval/action".into(),
                scope: v.clone()
            }]
        );
    }
    assert!(op("GET", &format!("{v}/privateEndpointConnections/c1")).also.is_empty());
}

#[test]
fn writes_name_the_linked_resources_of_their_body() {
    let subnet = format!("{RG}/providers/Microsoft.Network/virtualNetworks/v/subnets/s");
    let vault = "/subscriptions/s2/resourceGroups/rg2/providers/Microsoft.KeyVault/vaults/kv";
    let auto = json!({"properties": {"subnet": {"id": subnet},
        "privateLinkServiceConnections": [{"properties": {"privateLinkServiceId": vault}}]}});
    let pe = format!("{RG}/providers/Microsoft.Network/privateEndpoints/pe");
    let o = operation("PUT", &pe, Some(&auto)).unwrap();
    assert_eq!(
        o.linked,
        vec![
            Check { action: "Microsoft.Network/virtualNetworks/subnets/join/action".into(), scope: subnet.clone() },
            Check {
                action: "Microsoft.KeyVault/vaults/privateEndpointConnectionsApproval/action".into(),
                scope: vault.into()
            },
        ]
    );
    let manual = json!({"properties": {"subnet": {"id": subnet},
        "manualPrivateLinkServiceConnections": [{"properties": {"privateLinkServiceId": vault}}]}});
    assert_eq!(operation("PUT", &pe, Some(&manual)).unwrap().linked.len(), 1);
    let link = json!({"properties": {"virtualNetwork": {"id": "/x/providers/Microsoft.Network/virtualNetworks/v"}}});
    let o = operation(
        "PUT",
        &format!("{RG}/providers/Microsoft.Network/privateDnsZones/z/virtualNetworkLinks/l"),
        Some(&link),
    )
    .unwrap();
    assert_eq!(o.linked[0].action, "Microsoft.Network/virtualNetworks/join/action");
    let group = json!({"properties": {"privateDnsZoneConfigs": [{"properties": {"privateDnsZoneId": "/z1"}}, {"properties": {"privateDnsZoneId": "/z2"}}]}});
    let o = operation("PUT", &format!("{pe}/privateDnsZoneGroups/default"), Some(&group)).unwrap();
    assert_eq!(o.linked.iter().map(|c| c.scope.as_str()).collect::<Vec<_>>(), ["/z1", "/z2"]);
    assert!(operation("DELETE", &pe, Some(&auto)).unwrap().linked.is_empty());
}

#[test]
fn control_plane_secrets_are_vaults_secrets_read_and_write() {
    let v = format!("{RG}/providers/Microsoft.KeyVault/vaults/v1");
    let s = format!("{v}/secrets/db-password");
    for m in ["PUT", "PATCH"] {
        let o = operation(m, &s, Some(&json!({"properties": {"value": "x"}}))).unwrap();
        assert_eq!(
            (o.main.action.as_str(), o.main.scope.as_str()),
            ("Microsoft.KeyVault/vaults/secrets/write", s.as_str())
        );
        assert!(o.also.is_empty() && o.linked.is_empty());
    }
    let o = op("GET", &s);
    assert_eq!((o.main.action.as_str(), o.target), ("Microsoft.KeyVault/vaults/secrets/read", Target::Item));
    let o = op("GET", &format!("{v}/secrets"));
    assert_eq!(
        (o.main.action.as_str(), o.main.scope.as_str(), o.target),
        ("Microsoft.KeyVault/vaults/secrets/read", v.as_str(), Target::Collection)
    );
}

#[test]
fn deployments_are_one_action_in_either_path_form() {
    for base in [format!("{RG}/providers/Microsoft.Resources"), RG.to_string(), "/subscriptions/s1".to_string()] {
        let d = format!("{base}/deployments/d1");
        assert_eq!(op("PUT", &d).main.action, "Microsoft.Resources/deployments/write", "{d}");
        assert_eq!(op("GET", &d).main.action, "Microsoft.Resources/deployments/read", "{d}");
        assert_eq!(op("DELETE", &d).main.action, "Microsoft.Resources/deployments/delete", "{d}");
        assert_eq!(op("POST", &format!("{d}/validate")).main.action, "Microsoft.Resources/deployments/validate/action");
        assert_eq!(op("POST", &format!("{d}/cancel")).main.action, "Microsoft.Resources/deployments/cancel/action");
        let ops = op("GET", &format!("{d}/operations"));
        assert_eq!(
            (ops.main.action.as_str(), ops.target),
            ("Microsoft.Resources/deployments/operations/read", Target::Collection)
        );
        assert_eq!(op("PUT", &d).main.scope, d);
    }
    let list = op("GET", &format!("{RG}/deployments"));
    assert_eq!((list.main.action.as_str(), list.main.scope.as_str()), ("Microsoft.Resources/deployments/read", RG));
}
