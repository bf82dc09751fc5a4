//! Plans: copy loops, conditions, dependencies and their order, cycles, nested children,
//! `languageVersion` 2.0, nested deployments, rendering and what-if.

use serde_json::{Value, json};

use super::{FakeHost, RG_ID, SUB, plan, refused, template};

fn ids(p: &crate::template::Plan) -> Vec<String> {
    p.resources().iter().map(|r| r.id.trim_start_matches(RG_ID).to_string()).collect()
}

fn vnet(name: &str) -> Value {
    json!({"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-09-01", "name": name, "location": "[resourceGroup().location]",
           "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}})
}

#[test]
fn resources_copy_loops_with_copy_index() {
    let t = template(json!({
        "parameters": {"n": {"type": "int", "defaultValue": 3}},
        "resources": [{
            "type": "Microsoft.KeyVault/vaults", "apiVersion": "2023-07-01",
            "name": "[format('kv-{0}', copyIndex(1))]",
            "copy": {"name": "vaults", "count": "[parameters('n')]"},
            "properties": {"index": "[copyIndex()]", "named": "[copyIndex('vaults', 10)]"},
        }],
    }));
    let p = plan(&t, &json!({}));
    assert_eq!(
        ids(&p),
        [
            "/providers/Microsoft.KeyVault/vaults/kv-1",
            "/providers/Microsoft.KeyVault/vaults/kv-2",
            "/providers/Microsoft.KeyVault/vaults/kv-3"
        ]
    );
    assert_eq!(p.resources()[1].copy, Some(("vaults".to_string(), 1)));
    assert_eq!(p.render(2, &FakeHost::default()).unwrap(), json!({"properties": {"index": 2, "named": 12}}));
    let t0 = template(
        json!({"resources": [{"type": "Microsoft.KeyVault/vaults", "apiVersion": "x", "name": "[concat('kv', copyIndex())]", "copy": {"name": "l", "count": 0}}]}),
    );
    assert!(plan(&t0, &json!({})).resources().is_empty());
    let over = template(
        json!({"resources": [{"type": "Microsoft.KeyVault/vaults", "apiVersion": "x", "name": "[concat('kv', copyIndex())]", "copy": {"name": "l", "count": 801}}]}),
    );
    assert!(refused(&over, &json!({})).message.contains("no greater than '800'"));
}

#[test]
fn property_variable_and_output_copies() {
    let t = template(json!({
        "variables": {
            "copy": [{"name": "prefixes", "count": 3, "input": "[format('10.0.{0}.0/24', copyIndex('prefixes'))]"}],
            "inner": {"copy": [{"name": "disks", "count": 2, "input": {"lun": "[copyIndex('disks')]"}}]},
        },
        "resources": [{
            "type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-09-01", "name": "vnet1",
            "properties": {
                "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
                "copy": [{"name": "subnets", "count": "[length(variables('prefixes'))]",
                          "input": {"name": "[format('s{0}', copyIndex('subnets'))]", "properties": {"addressPrefix": "[variables('prefixes')[copyIndex('subnets')]]"}}}],
            },
        }],
        "outputs": {
            "names": {"type": "array", "copy": {"count": 2, "input": "[concat('out', copyIndex())]"}},
            "disks": {"type": "object", "value": "[variables('inner')]"},
        },
    }));
    let p = plan(&t, &json!({}));
    let body = p.render(0, &FakeHost::default()).unwrap();
    assert_eq!(
        body["properties"]["subnets"],
        json!([
            {"name": "s0", "properties": {"addressPrefix": "10.0.0.0/24"}},
            {"name": "s1", "properties": {"addressPrefix": "10.0.1.0/24"}},
            {"name": "s2", "properties": {"addressPrefix": "10.0.2.0/24"}},
        ])
    );
    let out = p.outputs(&FakeHost::default()).unwrap();
    assert_eq!(out["names"], json!({"type": "Array", "value": ["out0", "out1"]}));
    assert_eq!(out["disks"]["value"], json!({"disks": [{"lun": 0}, {"lun": 1}]}));
}

#[test]
fn conditions_remove_resources_their_children_and_dependencies_on_them() {
    let t = template(json!({
        "parameters": {"withVnet": {"type": "bool", "defaultValue": false}},
        "resources": [
            {"condition": "[parameters('withVnet')]", "type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-09-01", "name": "vnet1",
             "resources": [{"type": "subnets", "apiVersion": "2023-09-01", "name": "default", "properties": {}}]},
            {"type": "Microsoft.KeyVault/vaults", "apiVersion": "2023-07-01", "name": "kv1", "dependsOn": ["vnet1"]},
        ],
        "outputs": {
            "shown": {"condition": "[parameters('withVnet')]", "type": "string", "value": "yes"},
            "always": {"type": "string", "value": "x"},
        },
    }));
    let p = plan(&t, &json!({}));
    assert_eq!(ids(&p), ["/providers/Microsoft.KeyVault/vaults/kv1"]);
    assert!(p.resources()[0].depends_on.is_empty());
    assert_eq!(p.outputs(&FakeHost::default()).unwrap(), json!({"always": {"type": "String", "value": "x"}}));
    let p = plan(&t, &json!({"withVnet": {"value": true}}));
    assert_eq!(ids(&p).len(), 3);
}

#[test]
fn order_follows_explicit_and_implicit_dependencies() {
    let t = template(json!({
        "resources": [
            {"type": "Microsoft.Network/privateEndpoints", "apiVersion": "2023-09-01", "name": "pe1",
             "dependsOn": ["[resourceId('Microsoft.Network/virtualNetworks', 'vnet1')]"],
             "properties": {"subnet": {"id": "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet1', 'default')]"},
                            "vault": "[reference(resourceId('Microsoft.KeyVault/vaults', 'kv1'), '2023-07-01').vaultUri]"}},
            {"type": "Microsoft.KeyVault/vaults", "apiVersion": "2023-07-01", "name": "kv1", "dependsOn": ["Microsoft.Network/virtualNetworks/vnet1"]},
            vnet("vnet1"),
            {"type": "Microsoft.KeyVault/vaults/secrets", "apiVersion": "2023-07-01", "name": "kv1/s1",
             "properties": {"value": "[listKeys(resourceId('Microsoft.Storage/storageAccounts', 'st1'), '2023-01-01').keys[0].value]"}},
            {"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-01-01", "name": "st1"},
        ],
    }));
    let p = plan(&t, &json!({}));
    assert_eq!(
        ids(&p),
        [
            "/providers/Microsoft.Network/virtualNetworks/vnet1",
            "/providers/Microsoft.KeyVault/vaults/kv1",
            "/providers/Microsoft.Network/privateEndpoints/pe1",
            "/providers/Microsoft.Storage/storageAccounts/st1",
            "/providers/Microsoft.KeyVault/vaults/kv1/secrets/s1",
        ]
    );
    assert_eq!(p.resources()[1].depends_on, [0]);
    assert_eq!(p.resources()[2].depends_on, [0, 1], "explicit on the VNet, implicit on the vault");
    assert_eq!(p.resources()[4].depends_on, [3], "implicit through listKeys");
}

#[test]
fn cycles_and_undefined_dependencies_are_refused() {
    let t = template(json!({"resources": [
        {"type": "Microsoft.KeyVault/vaults", "apiVersion": "x", "name": "a", "dependsOn": ["b"]},
        {"type": "Microsoft.KeyVault/vaults", "apiVersion": "x", "name": "b", "dependsOn": ["a"]},
    ]}));
    let e = refused(&t, &json!({}));
    assert_eq!(e.code, "InvalidTemplate");
    assert_eq!(
        e.message,
        format!(
            "Deployment template validation failed: 'Circular dependency detected on resource: '{RG_ID}/providers/Microsoft.KeyVault/vaults/a'. Please see https://aka.ms/arm-syntax-resources for usage details.'."
        )
    );
    // A resource built from a reference to itself is a cycle too, as ARM finds it.
    let t = template(json!({"resources": [{"type": "Microsoft.KeyVault/vaults", "apiVersion": "x", "name": "a",
        "properties": {"x": "[reference(resourceId('Microsoft.KeyVault/vaults', 'a')).vaultUri]"}}]}));
    assert!(refused(&t, &json!({})).message.contains("Circular dependency detected on resource"));
    let t = template(
        json!({"resources": [{"type": "Microsoft.KeyVault/vaults", "apiVersion": "x", "name": "a", "dependsOn": ["nothere"]}]}),
    );
    assert_eq!(
        refused(&t, &json!({})).message,
        "Deployment template validation failed: 'The resource 'nothere' is not defined in the template. Please see https://aka.ms/arm-template for usage details.'."
    );
}

#[test]
fn a_dependency_on_a_copy_loop_means_all_its_members_and_serial_batches_chain() {
    let t = template(json!({"resources": [
        {"type": "Microsoft.Network/privateDnsZones", "apiVersion": "2020-06-01", "name": "[format('z{0}.example', copyIndex())]",
         "copy": {"name": "zones", "count": 4, "mode": "serial", "batchSize": 2}},
        {"type": "Microsoft.KeyVault/vaults", "apiVersion": "x", "name": "kv", "dependsOn": ["zones"]},
    ]}));
    let p = plan(&t, &json!({}));
    let deps: Vec<Vec<usize>> = p.resources().iter().map(|r| r.depends_on.clone()).collect();
    assert_eq!(deps, [vec![], vec![], vec![0, 1], vec![0, 1], vec![0, 1, 2, 3]]);
}

#[test]
fn nested_children_concatenate_type_and_name_and_inherit_the_loop() {
    let t = template(json!({"resources": [{
        "type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-09-01", "name": "[format('vnet{0}', copyIndex())]",
        "copy": {"name": "vnets", "count": 2},
        "resources": [
            {"type": "subnets", "apiVersion": "2023-09-01", "name": "[format('sub{0}', copyIndex())]", "properties": {"addressPrefix": "10.0.0.0/24"}},
            {"type": "Microsoft.Network/virtualNetworks/subnets", "apiVersion": "2023-09-01", "name": "[format('vnet{0}/full', copyIndex())]"},
        ],
    }]}));
    let p = plan(&t, &json!({}));
    assert_eq!(
        ids(&p),
        [
            "/providers/Microsoft.Network/virtualNetworks/vnet0",
            "/providers/Microsoft.Network/virtualNetworks/vnet0/subnets/sub0",
            "/providers/Microsoft.Network/virtualNetworks/vnet0/subnets/full",
            "/providers/Microsoft.Network/virtualNetworks/vnet1",
            "/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/sub1",
            "/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/full",
        ]
    );
    assert_eq!(p.resources()[4].name, "vnet1/sub1");
    assert_eq!(p.resources()[4].resource_type, "Microsoft.Network/virtualNetworks/subnets");
    assert_eq!(p.resources()[4].depends_on, [3], "after its parent");
    assert_eq!(p.render(4, &FakeHost::default()).unwrap(), json!({"properties": {"addressPrefix": "10.0.0.0/24"}}));
    let bad = template(
        json!({"resources": [{"type": "Microsoft.Network/virtualNetworks/subnets", "apiVersion": "x", "name": "only"}]}),
    );
    assert!(refused(&bad, &json!({})).message.contains("has incorrect segment lengths"));
}

#[test]
fn extension_resources_with_scope() {
    let t = template(json!({"resources": [
        {"type": "Microsoft.KeyVault/vaults", "apiVersion": "2023-07-01", "name": "kv1"},
        {"type": "Microsoft.Authorization/roleAssignments", "apiVersion": "2022-04-01",
         "scope": "[format('Microsoft.KeyVault/vaults/{0}', 'kv1')]", "name": "[guid('kv1', 'reader')]",
         "dependsOn": ["[resourceId('Microsoft.KeyVault/vaults', 'kv1')]"], "properties": {"principalId": "p"}},
    ]}));
    let p = plan(&t, &json!({}));
    let g = crate::template::hash::guid("kv1-reader");
    assert_eq!(
        p.resources()[1].id,
        format!(
            "{RG_ID}/providers/Microsoft.KeyVault/vaults/kv1/providers/Microsoft.Authorization/roleAssignments/{g}"
        )
    );
    assert_eq!(p.render(1, &FakeHost::default()).unwrap(), json!({"properties": {"principalId": "p"}}));
}

#[test]
fn language_version_2_symbolic_names_existing_and_resource_info() {
    let t = json!({
        "languageVersion": "2.0",
        "contentVersion": "1.0.0.0",
        "resources": {
            "other": {"existing": true, "type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-09-01", "name": "hub", "resourceGroup": "net-rg"},
            "vault": {"type": "Microsoft.KeyVault/vaults", "apiVersion": "2023-07-01", "name": "kv1", "location": "westeurope"},
            "pes": {"copy": {"name": "pes", "count": 2}, "type": "Microsoft.Network/privateEndpoints", "apiVersion": "2023-09-01",
                    "name": "[format('pe{0}', copyIndex())]",
                    "properties": {"hub": "[resourceInfo('other').id]", "vaultUri": "[reference('vault').vaultUri]", "loc": "[reference('vault', '2023-07-01', 'full').location]"},
                    "dependsOn": ["vault", "other"]},
            "last": {"type": "Microsoft.KeyVault/vaults/secrets", "apiVersion": "2023-07-01", "name": "kv1/s",
                     "properties": {"value": "[reference('pes[1]').x]"}, "dependsOn": ["pes"]},
        },
        "outputs": {"hubId": {"type": "string", "value": "[resourceInfo('other').id]"}},
    });
    let p = plan(&t, &json!({}));
    let names: Vec<Option<&str>> = p.resources().iter().map(|r| r.symbolic_name.as_deref()).collect();
    assert_eq!(
        names,
        [Some("vault"), Some("pes[0]"), Some("pes[1]"), Some("last")],
        "existing resources are not deployed"
    );
    assert_eq!(p.resources()[1].depends_on, [0]);
    assert_eq!(p.resources()[3].depends_on, [1, 2]);
    let host = FakeHost::default();
    host.put(
        &format!("{RG_ID}/providers/Microsoft.KeyVault/vaults/kv1"),
        &json!({"location": "westeurope", "properties": {"vaultUri": "https://kv1.vault.azure.net/"}}),
    );
    let hub = format!("/subscriptions/{SUB}/resourceGroups/net-rg/providers/Microsoft.Network/virtualNetworks/hub");
    assert_eq!(
        p.render(2, &host).unwrap(),
        json!({"properties": {"hub": hub, "vaultUri": "https://kv1.vault.azure.net/", "loc": "westeurope"}})
    );
    assert!(
        host.calls
            .borrow()
            .contains(&format!("reference {RG_ID}/providers/Microsoft.KeyVault/vaults/kv1 2023-07-01 false"))
    );
    assert_eq!(p.outputs(&host).unwrap()["hubId"]["value"], json!(hub));
    let unknown = json!({"languageVersion": "2.0", "contentVersion": "1.0.0.0", "resources": {},
                         "outputs": {"x": {"type": "object", "value": "[reference('ghost')]"}}});
    let e = plan(&unknown, &json!({})).outputs(&host).unwrap_err();
    assert!(e.message.contains("The template reference 'ghost' is not valid: could not find template resource or resource copy with this name"), "{}", e.message);
}

fn nested(scope: &str) -> Value {
    template(json!({
        "parameters": {"prefix": {"type": "string", "defaultValue": "app"}},
        "variables": {"zone": "privatelink.vaultcore.azure.net", "literal": "[[not an expression]"},
        "resources": [
            {"type": "Microsoft.KeyVault/vaults", "apiVersion": "2023-07-01", "name": "[format('{0}-kv', parameters('prefix'))]", "properties": {"vaultUri": "x"}},
            {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "inner-dep", "resourceGroup": "net-rg",
             "properties": {
                "mode": "Incremental",
                "expressionEvaluationOptions": {"scope": scope},
                "parameters": {"name": {"value": "[parameters('prefix')]"}, "uri": {"value": "[reference(resourceId('Microsoft.KeyVault/vaults', format('{0}-kv', parameters('prefix')))).vaultUri]"}},
                "template": {
                    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                    "contentVersion": "1.0.0.0",
                    "parameters": {"name": {"type": "string"}, "uri": {"type": "string"}},
                    "resources": [{"type": "Microsoft.Network/privateDnsZones", "apiVersion": "2020-06-01", "name": "[variables('zone')]"}],
                    "outputs": {"n": {"type": "string", "value": "[parameters('name')]"}},
                },
             }},
        ],
    }))
}

#[test]
fn nested_deployments_inner_scope() {
    let mut t = nested("inner");
    t["resources"][1]["properties"]["template"]["variables"] = json!({"zone": "inner.zone"});
    let p = plan(&t, &json!({}));
    let d = &p.resources()[1];
    assert_eq!(
        d.id,
        format!("/subscriptions/{SUB}/resourceGroups/net-rg/providers/Microsoft.Resources/deployments/inner-dep")
    );
    assert_eq!(
        d.nested,
        Some(crate::template::NestedTarget {
            subscription_id: SUB.into(),
            resource_group: Some("net-rg".into()),
            inner: true
        })
    );
    assert_eq!(d.depends_on, [0], "its parameters reference the vault");
    let host = FakeHost::default();
    host.put(&p.resources()[0].id, &json!({"properties": {"vaultUri": "https://app-kv.vault.azure.net/"}}));
    let n = p.nested(1, &host).unwrap();
    assert_eq!(n.name, "inner-dep");
    assert_eq!(n.mode, "Incremental");
    assert_eq!(n.parameters, json!({"name": {"value": "app"}, "uri": {"value": "https://app-kv.vault.azure.net/"}}));
    // The recursive prepare sees the nested template's own parameters and variables.
    let mut scope = super::scope();
    scope.deployment_name = n.name.clone();
    let inner = crate::template::prepare(&n.template, &n.parameters, &scope, &host).unwrap();
    assert_eq!(inner.resources()[0].name, "inner.zone");
    assert_eq!(inner.outputs(&host).unwrap()["n"]["value"], json!("app"));
    // The nested template's body is sent as written.
    assert_eq!(
        p.render(1, &host).unwrap()["properties"]["template"]["resources"][0]["name"],
        json!("[variables('zone')]")
    );
}

#[test]
fn nested_deployments_outer_scope_see_the_parents_parameters_and_variables() {
    let mut t = nested("outer");
    t["resources"][1]["properties"].as_object_mut().unwrap().remove("parameters");
    t["resources"][1]["properties"]["template"].as_object_mut().unwrap().remove("parameters");
    t["resources"][1]["properties"]["template"]["outputs"] =
        json!({"n": {"type": "string", "value": "[concat(parameters('prefix'), variables('literal'))]"}});
    let p = plan(&t, &json!({"prefix": {"value": "web"}}));
    assert!(!p.resources()[1].nested.as_ref().unwrap().inner);
    let host = FakeHost::default();
    let n = p.nested(1, &host).unwrap();
    assert_eq!(n.parameters, json!({"prefix": {"value": "web"}}));
    let inner = crate::template::prepare(&n.template, &n.parameters, &super::scope(), &host).unwrap();
    assert_eq!(inner.resources()[0].name, "privatelink.vaultcore.azure.net");
    assert_eq!(inner.outputs(&host).unwrap()["n"]["value"], json!("web[not an expression]"));
    // A template and a link at once are refused clearly.
    let mut linked = nested("outer");
    linked["resources"][1]["properties"]["templateLink"] = json!({"uri": "https://example.com/t.json"});
    let p = plan(&linked, &json!({}));
    host.put(&p.resources()[0].id, &json!({"properties": {"vaultUri": "u"}}));
    assert!(p.nested(1, &host).unwrap_err().message.contains("both a 'template' and a 'templateLink'"));
    // A linked one: its link and parameters evaluated for the runner to fetch, whatever the scope
    // says (a linked template sees only what it is given).
    linked["resources"][1]["properties"].as_object_mut().unwrap().remove("template");
    linked["resources"][1]["properties"]["templateLink"] =
        json!({"relativePath": "[concat('nested/', parameters('prefix'), '.json')]"});
    linked["resources"][1]["properties"]["parametersLink"] =
        json!({"uri": "[format('https://example.com/{0}.parameters.json', parameters('prefix'))]"});
    let p = plan(&linked, &json!({}));
    let n = p.nested(1, &host).unwrap();
    assert_eq!(n.template, Value::Null);
    assert_eq!(n.link, Some(json!({"relativePath": "nested/app.json"})));
    assert_eq!(n.parameters_link, Some(json!({"uri": "https://example.com/app.parameters.json"})));
    assert_eq!(n.parameters, json!({"name": {"value": "app"}, "uri": {"value": "u"}}));
}

#[test]
fn what_if_keeps_expressions_that_need_resources_not_yet_deployed() {
    let t = template(json!({"resources": [
        {"type": "Microsoft.KeyVault/vaults", "apiVersion": "2023-07-01", "name": "kv1"},
        {"type": "Microsoft.KeyVault/vaults/secrets", "apiVersion": "2023-07-01", "name": "kv1/uri",
         "properties": {"value": "[reference(resourceId('Microsoft.KeyVault/vaults', 'kv1')).vaultUri]", "plain": "[concat('a', 'b')]"}},
    ]}));
    let p = plan(&t, &json!({}));
    let host = FakeHost::default();
    assert_eq!(
        p.render_for_what_if(1, &host).unwrap(),
        json!({"properties": {"value": "[reference(resourceId('Microsoft.KeyVault/vaults', 'kv1')).vaultUri]", "plain": "ab"}})
    );
    assert_eq!(p.render(1, &host).unwrap_err().code, "ResourceNotFound");
}

#[test]
fn render_errors_name_the_resource() {
    let t = template(json!({"resources": [{"type": "Microsoft.KeyVault/vaults", "apiVersion": "x", "name": "kv1",
        "properties": {"x": "[createObject('a', 1).b]"}}]}));
    let e = plan(&t, &json!({})).render(0, &FakeHost::default()).unwrap_err();
    assert_eq!(e.code, "InvalidTemplate");
    assert_eq!(
        e.message,
        format!(
            "Unable to process template language expressions for resource '{RG_ID}/providers/Microsoft.KeyVault/vaults/kv1'. 'The language expression property 'b' doesn't exist, available properties are 'a'.'"
        )
    );
}

#[test]
fn outputs_are_typed() {
    let t = template(json!({"outputs": {
        "n": {"type": "int", "value": "[add(1, 2)]"},
        "s": {"type": "securestring", "value": "hidden"},
    }}));
    assert_eq!(
        plan(&t, &json!({})).outputs(&FakeHost::default()).unwrap(),
        json!({"n": {"type": "Int", "value": 3}, "s": {"type": "SecureString"}})
    );
    let t = template(json!({"outputs": {"n": {"type": "int", "value": "three"}}}));
    let e = plan(&t, &json!({})).outputs(&FakeHost::default()).unwrap_err();
    assert_eq!(e.code, "DeploymentOutputEvaluationFailed");
    assert!(e.message.contains("Expected 'Integer'. Actual 'String'"), "{}", e.message);
}

#[test]
fn subscription_scope_resource_groups_and_deployments_into_them() {
    let mut scope = super::scope();
    scope.resource_group = None;
    scope.location = Some("westeurope".into());
    let t = template(json!({"resources": [
        {"type": "Microsoft.Resources/resourceGroups", "apiVersion": "2022-09-01", "name": "app-rg", "location": "[deployment().location]"},
        {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "app", "resourceGroup": "app-rg",
         "dependsOn": ["[subscriptionResourceId('Microsoft.Resources/resourceGroups', 'app-rg')]"],
         "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"},
                        "template": {"contentVersion": "1.0.0.0", "resources": []}}},
        {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "sub-level", "location": "westeurope",
         "properties": {"mode": "Incremental", "template": {"contentVersion": "1.0.0.0", "resources": []}}},
    ]}));
    let host = FakeHost::default();
    let p = crate::template::prepare(&t, &json!({}), &scope, &host).unwrap();
    let ids: Vec<&str> = p.resources().iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            format!("/subscriptions/{SUB}/resourceGroups/app-rg"),
            format!("/subscriptions/{SUB}/resourceGroups/app-rg/providers/Microsoft.Resources/deployments/app"),
            format!("/subscriptions/{SUB}/providers/Microsoft.Resources/deployments/sub-level"),
        ]
    );
    assert_eq!(p.resources()[1].depends_on, [0]);
    assert_eq!(p.render(0, &host).unwrap(), json!({"location": "westeurope"}));
    let target = p.resources()[2].nested.clone().unwrap();
    assert_eq!((target.resource_group, target.inner), (None, false));
    assert_eq!(p.nested(2, &host).unwrap().location.as_deref(), Some("westeurope"));
}

#[test]
fn a_plan_can_move_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<crate::template::Plan>();
    shareable::<crate::template::Nested>();
}
