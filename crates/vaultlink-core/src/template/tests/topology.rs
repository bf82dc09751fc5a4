//! The seed's topology as Bicep compiles it (vault with network ACLs, VNet and subnet, a copy loop
//! of private endpoints with their zone groups, the private DNS zone and its VNet link, a role
//! assignment named with `guid()`, a secret), deployed in plan order against a fake host.

use serde_json::{Value, json};

use super::{FakeHost, RG_ID, SUB, scope};
use crate::template::prepare;

fn bicep_output() -> Value {
    json!({
      "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
      "contentVersion": "1.0.0.0",
      "metadata": {"_generator": {"name": "bicep", "version": "0.30.23.60470", "templateHash": "1"}},
      "parameters": {
        "location": {"type": "string", "defaultValue": "[resourceGroup().location]"},
        "vaultName": {"type": "string", "defaultValue": "[format('kv-{0}', uniqueString(resourceGroup().id))]", "maxLength": 24},
        "endpointCount": {"type": "int", "defaultValue": 2, "minValue": 1, "maxValue": 10},
        "principalId": {"type": "string"},
        "secretValue": {"type": "securestring"},
      },
      "variables": {
        "zoneName": "[format('privatelink{0}', replace(environment().suffixes.keyvaultDns, 'vault.', 'vaultcore.'))]",
        "secretsUser": "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6')]",
      },
      "resources": [
        {"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-09-01", "name": "vnet-seed", "location": "[parameters('location')]",
         "properties": {"addressSpace": {"addressPrefixes": ["10.10.0.0/16"]},
                        "subnets": [{"name": "snet-pe", "properties": {"addressPrefix": "[cidrSubnet('10.10.0.0/16', 24, 1)]", "privateEndpointNetworkPolicies": "Disabled"}}]}},
        {"type": "Microsoft.KeyVault/vaults", "apiVersion": "2023-07-01", "name": "[parameters('vaultName')]", "location": "[parameters('location')]",
         "properties": {"tenantId": "[subscription().tenantId]", "sku": {"family": "A", "name": "standard"}, "enableRbacAuthorization": true,
                        "publicNetworkAccess": "Disabled",
                        "networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices", "ipRules": [{"value": "203.0.113.10"}],
                                        "virtualNetworkRules": [{"id": "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet-seed', 'snet-pe')]"}]}},
         "dependsOn": ["[resourceId('Microsoft.Network/virtualNetworks', 'vnet-seed')]"]},
        {"type": "Microsoft.Network/privateDnsZones", "apiVersion": "2020-06-01", "name": "[variables('zoneName')]", "location": "global"},
        {"type": "Microsoft.Network/privateDnsZones/virtualNetworkLinks", "apiVersion": "2020-06-01",
         "name": "[format('{0}/{1}', variables('zoneName'), 'link-seed')]", "location": "global",
         "properties": {"registrationEnabled": false, "virtualNetwork": {"id": "[resourceId('Microsoft.Network/virtualNetworks', 'vnet-seed')]"}},
         "dependsOn": ["[resourceId('Microsoft.Network/privateDnsZones', variables('zoneName'))]", "[resourceId('Microsoft.Network/virtualNetworks', 'vnet-seed')]"]},
        {"copy": {"name": "endpoints", "count": "[length(range(0, parameters('endpointCount')))]"},
         "type": "Microsoft.Network/privateEndpoints", "apiVersion": "2023-09-01",
         "name": "[format('pe-{0}-{1}', parameters('vaultName'), range(0, parameters('endpointCount'))[copyIndex()])]", "location": "[parameters('location')]",
         "properties": {"subnet": {"id": "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet-seed', 'snet-pe')]"},
                        "privateLinkServiceConnections": [{"name": "vault", "properties": {"privateLinkServiceId": "[resourceId('Microsoft.KeyVault/vaults', parameters('vaultName'))]", "groupIds": ["vault"]}}]},
         "dependsOn": ["[resourceId('Microsoft.Network/virtualNetworks', 'vnet-seed')]", "[resourceId('Microsoft.KeyVault/vaults', parameters('vaultName'))]"]},
        {"copy": {"name": "zoneGroups", "count": "[length(range(0, parameters('endpointCount')))]"},
         "type": "Microsoft.Network/privateEndpoints/privateDnsZoneGroups", "apiVersion": "2023-09-01",
         "name": "[format('{0}/{1}', format('pe-{0}-{1}', parameters('vaultName'), range(0, parameters('endpointCount'))[copyIndex()]), 'default')]",
         "properties": {"privateDnsZoneConfigs": [{"name": "vault", "properties": {"privateDnsZoneId": "[resourceId('Microsoft.Network/privateDnsZones', variables('zoneName'))]"}}]},
         "dependsOn": ["[resourceId('Microsoft.Network/privateDnsZones', variables('zoneName'))]",
                       "[resourceId('Microsoft.Network/privateEndpoints', format('pe-{0}-{1}', parameters('vaultName'), range(0, parameters('endpointCount'))[copyIndex()]))]"]},
        {"type": "Microsoft.Authorization/roleAssignments", "apiVersion": "2022-04-01",
         "scope": "[format('Microsoft.KeyVault/vaults/{0}', parameters('vaultName'))]",
         "name": "[guid(resourceId('Microsoft.KeyVault/vaults', parameters('vaultName')), parameters('principalId'), variables('secretsUser'))]",
         "properties": {"roleDefinitionId": "[variables('secretsUser')]", "principalId": "[parameters('principalId')]", "principalType": "ServicePrincipal"},
         "dependsOn": ["[resourceId('Microsoft.KeyVault/vaults', parameters('vaultName'))]"]},
        {"type": "Microsoft.KeyVault/vaults/secrets", "apiVersion": "2023-07-01", "name": "[format('{0}/{1}', parameters('vaultName'), 'app-secret')]",
         "properties": {"value": "[parameters('secretValue')]"},
         "dependsOn": ["[resourceId('Microsoft.KeyVault/vaults', parameters('vaultName'))]"]},
      ],
      "outputs": {
        "vaultUri": {"type": "string", "value": "[reference(resourceId('Microsoft.KeyVault/vaults', parameters('vaultName')), '2023-07-01').vaultUri]"},
        "endpointIds": {"type": "array", "copy": {"count": "[length(range(0, parameters('endpointCount')))]",
                        "input": "[resourceId('Microsoft.Network/privateEndpoints', format('pe-{0}-{1}', parameters('vaultName'), range(0, parameters('endpointCount'))[copyIndex()]))]"}},
      },
    })
}

#[test]
fn the_seed_topology_deploys_in_dependency_order() {
    let params =
        json!({"principalId": {"value": "0f9e8d7c-6b5a-4948-8372-6150f4e3d2c1"}, "secretValue": {"value": "s3cret"}});
    let host = FakeHost::default();
    let plan = prepare(&bicep_output(), &params, &scope(), &host).unwrap_or_else(|e| panic!("{}", e.message));
    let vault = format!("kv-{}", crate::template::hash::unique_string(RG_ID));
    let kv_id = format!("{RG_ID}/providers/Microsoft.KeyVault/vaults/{vault}");
    let pe = |i: usize| format!("{RG_ID}/providers/Microsoft.Network/privateEndpoints/pe-{vault}-{i}");
    let zone = "privatelink.vaultcore.azure.net";
    let zone_id = format!("{RG_ID}/providers/Microsoft.Network/privateDnsZones/{zone}");
    let role = crate::template::hash::guid(&format!(
        "{kv_id}-0f9e8d7c-6b5a-4948-8372-6150f4e3d2c1-/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6"
    ));
    let ids: Vec<String> = plan.resources().iter().map(|r| r.id.clone()).collect();
    assert_eq!(
        ids,
        [
            format!("{RG_ID}/providers/Microsoft.Network/virtualNetworks/vnet-seed"),
            kv_id.clone(),
            zone_id.clone(),
            format!("{zone_id}/virtualNetworkLinks/link-seed"),
            pe(0),
            pe(1),
            format!("{}/privateDnsZoneGroups/default", pe(0)),
            format!("{}/privateDnsZoneGroups/default", pe(1)),
            format!("{kv_id}/providers/Microsoft.Authorization/roleAssignments/{role}"),
            format!("{kv_id}/secrets/app-secret"),
        ]
    );
    // Deploy in order: every dependency exists before its dependant renders.
    for (i, r) in plan.resources().iter().enumerate() {
        assert!(r.depends_on.iter().all(|d| *d < i), "{}", r.id);
        for d in &r.depends_on {
            assert!(host.resources.borrow().contains_key(&plan.resources()[*d].id.to_ascii_lowercase()));
        }
        let mut body = plan.render(i, &host).unwrap();
        if r.resource_type == "Microsoft.KeyVault/vaults" {
            body["properties"]["vaultUri"] = json!(format!("https://{vault}.vault.azure.net/"));
        }
        host.put(&r.id, &body);
    }
    assert_eq!(plan.resources()[6].depends_on, [2, 4], "zone group 0: the zone and its endpoint");
    assert_eq!(plan.resources()[5].depends_on, [0, 1]);
    let kv = plan.render(1, &host).unwrap();
    assert_eq!(kv["location"], json!("westeurope"));
    assert_eq!(
        kv["properties"]["networkAcls"]["virtualNetworkRules"][0]["id"],
        json!(format!("{RG_ID}/providers/Microsoft.Network/virtualNetworks/vnet-seed/subnets/snet-pe"))
    );
    assert_eq!(
        plan.render(0, &host).unwrap()["properties"]["subnets"][0]["properties"]["addressPrefix"],
        json!("10.10.1.0/24")
    );
    assert_eq!(plan.render(9, &host).unwrap(), json!({"properties": {"value": "s3cret"}}));
    let outputs = plan.outputs(&host).unwrap();
    assert_eq!(outputs["vaultUri"], json!({"type": "String", "value": format!("https://{vault}.vault.azure.net/")}));
    assert_eq!(outputs["endpointIds"]["value"], json!([pe(0), pe(1)]));
    let echoed = plan.parameters();
    assert_eq!(echoed["secretValue"], json!({"type": "SecureString"}));
    assert_eq!(echoed["vaultName"]["value"], json!(vault));
}
