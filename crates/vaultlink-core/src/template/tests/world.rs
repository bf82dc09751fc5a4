//! The functions that need the deployment (ids, scope objects, `reference`, `list*`, `utcNow`)
//! and the newer pure ones (hashes, CIDR, lambdas, URIs), through a whole template.

use serde_json::{Value, json};

use super::{FakeHost, RG_ID, SUB, output, plan, refused, template};
use crate::template::prepare;

fn eval(expression: &str) -> Value {
    output(json!({}), json!(expression))
}

fn eval_error(expression: &str) -> String {
    let t = template(json!({"outputs": {"o": {"type": "string", "value": expression}}}));
    let p = plan(&t, &json!({}));
    let e = p.outputs(&FakeHost::default()).expect_err(expression);
    assert_eq!(e.code, "DeploymentOutputEvaluationFailed", "{expression}");
    e.message
}

#[test]
fn resource_ids() {
    assert_eq!(
        eval("[resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet1', 'default')]"),
        json!(format!("{RG_ID}/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/default"))
    );
    assert_eq!(
        eval("[resourceId('other', 'Microsoft.KeyVault/vaults', 'kv1')]"),
        json!(format!("/subscriptions/{SUB}/resourceGroups/other/providers/Microsoft.KeyVault/vaults/kv1"))
    );
    assert_eq!(
        eval("[resourceId('s2', 'g2', 'Microsoft.KeyVault/vaults', 'kv1')]"),
        json!("/subscriptions/s2/resourceGroups/g2/providers/Microsoft.KeyVault/vaults/kv1")
    );
    assert_eq!(
        eval("[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'abc')]"),
        json!(format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/abc"))
    );
    assert_eq!(
        eval("[tenantResourceId('Microsoft.Authorization/policyDefinitions', 'p')]"),
        json!("/providers/Microsoft.Authorization/policyDefinitions/p")
    );
    assert_eq!(
        eval(
            "[extensionResourceId(resourceId('Microsoft.KeyVault/vaults', 'kv1'), 'Microsoft.Authorization/roleAssignments', 'ra')]"
        ),
        json!(format!(
            "{RG_ID}/providers/Microsoft.KeyVault/vaults/kv1/providers/Microsoft.Authorization/roleAssignments/ra"
        ))
    );
    assert!(
        eval_error("[resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet1')]")
            .contains("requires '2' resource name argument(s)")
    );
}

#[test]
fn scope_objects() {
    assert_eq!(eval("[resourceGroup().id]"), json!(RG_ID));
    assert_eq!(eval("[resourceGroup().location]"), json!("westeurope"));
    assert_eq!(eval("[resourceGroup().tags.env]"), json!("dev"));
    assert_eq!(eval("[subscription().subscriptionId]"), json!(SUB));
    assert_eq!(eval("[subscription().id]"), json!(format!("/subscriptions/{SUB}")));
    assert_eq!(eval("[tenant().tenantId]"), json!("8d3a7e52-6c1f-4b0e-9a57-2f4c8e1b6d90"));
    assert_eq!(eval("[deployment().name]"), json!("deploy1"));
    assert_eq!(eval("[deployment().properties.template.contentVersion]"), json!("1.0.0.0"));
    assert_eq!(eval("[environment().suffixes.keyvaultDns]"), json!(".vault.azure.net"));
    assert_eq!(eval("[environment().resourceManager]"), json!("https://management.azure.com/"));
    assert_eq!(eval("[environment().authentication.loginEndpoint]"), json!("https://login.microsoftonline.com/"));
}

#[test]
fn a_linked_deployment_names_its_link_without_the_query_string() {
    let mut scope = super::scope();
    scope.template_link = Some(json!({"uri": "http://127.0.0.1:8000/t/main.json?sv=1", "queryString": "sig=secret"}));
    let t = template(json!({"outputs": {
        "link": {"type": "object", "value": "[deployment().properties.templateLink]"},
        "nested": {"type": "string", "value": "[uri(deployment().properties.templateLink.uri, 'nested/vnet.json')]"},
    }}));
    let p = prepare(&t, &json!({}), &scope, &FakeHost::default()).unwrap();
    let out = p.outputs(&FakeHost::default()).unwrap();
    assert_eq!(out["link"]["value"], json!({"uri": "http://127.0.0.1:8000/t/main.json"}));
    assert_eq!(out["nested"]["value"], json!("http://127.0.0.1:8000/t/nested/vnet.json"));
    assert!(super::scope().template_link.is_none());
    assert!(eval("[deployment().properties]").get("templateLink").is_none(), "an embedded template has none");
}

#[test]
fn resource_group_is_refused_at_subscription_scope() {
    let mut scope = super::scope();
    scope.resource_group = None;
    scope.location = Some("westeurope".into());
    let t = template(
        json!({"outputs": {"g": {"type": "string", "value": "[resourceGroup().name]"}, "l": {"type": "string", "value": "[deployment().location]"}}}),
    );
    let p = prepare(
        &template(json!({"outputs": {"l": {"type": "string", "value": "[deployment().location]"}}})),
        &json!({}),
        &scope,
        &FakeHost::default(),
    )
    .unwrap();
    assert_eq!(p.outputs(&FakeHost::default()).unwrap()["l"]["value"], json!("westeurope"));
    let p = prepare(&t, &json!({}), &scope, &FakeHost::default()).unwrap();
    let e = p.outputs(&FakeHost::default()).unwrap_err();
    assert!(
        e.message.contains("The template function 'RESOURCEGROUP' is not expected at this location"),
        "{}",
        e.message
    );
}

#[test]
fn unique_string_and_guid_as_arm_computes_them() {
    assert_eq!(eval("[uniqueString('aaa')]"), json!("zavj67f3en4hc"));
    assert_eq!(eval("[uniqueString('xxx', 'yyy', 'zzz')]"), json!("lghi7k5js7itq"));
    assert_eq!(eval("[uniqueString('hello', 'world')]"), json!("a7wkljktk6wne"));
    assert_eq!(eval("[guid('a', 'b')]"), json!("2d796349-8c7e-55ec-9624-54ece82ed031"));
    assert!(eval_error("[uniqueString(1)]").contains("expects its parameters to be of type string"));
    assert!(eval_error("[guid()]").contains("requires at least 1 argument"));
}

#[test]
fn cidr_functions_match_the_documented_examples() {
    assert_eq!(
        eval("[parseCidr('10.144.0.0/20')]"),
        json!({"network": "10.144.0.0", "netmask": "255.255.240.0", "broadcast": "10.144.15.255",
               "firstUsable": "10.144.0.1", "lastUsable": "10.144.15.254", "cidr": 20})
    );
    assert_eq!(
        eval("[parseCidr('fdad:3236:5555::/48')]"),
        json!({"network": "fdad:3236:5555::", "netmask": "ffff:ffff:ffff::", "firstUsable": "fdad:3236:5555::",
               "lastUsable": "fdad:3236:5555:ffff:ffff:ffff:ffff:ffff", "cidr": 48})
    );
    assert_eq!(
        eval("[map(range(0, 5), lambda('i', cidrSubnet('10.144.0.0/20', 24, lambdaVariables('i'))))]"),
        json!(["10.144.0.0/24", "10.144.1.0/24", "10.144.2.0/24", "10.144.3.0/24", "10.144.4.0/24"])
    );
    assert_eq!(eval("[cidrSubnet('fdad:3236:5555::/48', 52, 1)]"), json!("fdad:3236:5555:1000::/52"));
    assert_eq!(eval("[cidrHost('10.144.3.0/24', 0)]"), json!("10.144.3.1"));
    assert_eq!(eval("[cidrHost('fdad:3236:5555:3000::/52', 4)]"), json!("fdad:3236:5555:3000::5"));
    assert!(eval_error("[cidrHost('10.144.3.0/24', 254)]").contains("out of range"));
    assert!(eval_error("[cidrSubnet('10.0.0.0/16', 8, 0)]").contains("between '16' and '32'"));
    assert!(eval_error("[parseCidr('10.0.0.0')]").contains("CIDR notation"));
}

#[test]
fn lambdas() {
    let dogs = json!({"dogs": [{"name": "Evie", "age": 5}, {"name": "Casper", "age": 3}, {"name": "Indy", "age": 2}]});
    let with = |e: &str| output(json!({"variables": dogs}), json!(e));
    assert_eq!(
        with(
            "[map(filter(variables('dogs'), lambda('d', greaterOrEquals(lambdaVariables('d').age, 3))), lambda('d', lambdaVariables('d').name))]"
        ),
        json!(["Evie", "Casper"])
    );
    assert_eq!(
        with(
            "[map(sort(variables('dogs'), lambda('a', 'b', less(lambdaVariables('a').age, lambdaVariables('b').age))), lambda('d', lambdaVariables('d').name))]"
        ),
        json!(["Indy", "Casper", "Evie"])
    );
    assert_eq!(
        with(
            "[reduce(map(variables('dogs'), lambda('d', lambdaVariables('d').age)), 0, lambda('cur', 'next', add(lambdaVariables('cur'), lambdaVariables('next'))))]"
        ),
        json!(10)
    );
    assert_eq!(
        with(
            "[toObject(variables('dogs'), lambda('d', lambdaVariables('d').name), lambda('d', lambdaVariables('d').age))]"
        ),
        json!({"Evie": 5, "Casper": 3, "Indy": 2})
    );
    assert_eq!(
        with("[mapValues(createObject('a', 1, 'b', 2), lambda('v', mul(lambdaVariables('v'), 10)))]"),
        json!({"a": 10, "b": 20})
    );
    assert_eq!(
        with("[groupBy(createArray('ab', 'ac', 'b'), lambda('s', first(lambdaVariables('s'))))]"),
        json!({"a": ["ab", "ac"], "b": ["b"]})
    );
    assert!(eval_error("[lambda('x', 1)]").contains("'lambda' is not expected at this location"));
    assert!(eval_error("[lambdaVariables('x')]").contains("only valid inside a lambda"));
    assert!(eval_error("[filter(createArray(1), lambda('x', 1))]").contains("must return a value of type 'Boolean'"));
    assert!(eval_error("[map(createArray(1), lambda('a', 'b', 1))]").contains("a lambda with 1 parameter"));
}

#[test]
fn newer_pure_functions() {
    assert_eq!(eval("[uri('https://example.com/a/b.json', 'c.json')]"), json!("https://example.com/a/c.json"));
    assert_eq!(eval("[uri('https://example.com/a/', '/x')]"), json!("https://example.com/x"));
    assert_eq!(eval("[uriComponentToString('a%20b%2Fc')]"), json!("a b/c"));
    assert_eq!(eval("[dataUriToString(dataUri('Hello'))]"), json!("Hello"));
    assert_eq!(eval("[dataUri('Hello')]"), json!("data:text/plain;charset=utf8;base64,SGVsbG8="));
    assert_eq!(eval("[objectKeys(createObject('b', 1, 'a', 2))]"), json!(["a", "b"]));
    assert_eq!(eval("[flatten(createArray(createArray(1, 2), createArray(3)))]"), json!([1, 2, 3]));
    assert_eq!(eval("[indexOf(createArray('a', 'b', 'a'), 'a')]"), json!(0));
    assert_eq!(eval("[lastIndexOf(createArray('a', 'b', 'a'), 'a')]"), json!(2));
    assert_eq!(eval("[string(true)]"), json!("True"));
    assert_eq!(
        eval("[union(json('{\"a\": {\"x\": 1, \"l\": [1]}, \"b\": 1}'), json('{\"a\": {\"y\": 2, \"l\": [2]}}'))]"),
        json!({"a": {"x": 1, "y": 2, "l": [2]}, "b": 1}),
        "objects merge deeply, arrays do not"
    );
    assert_eq!(
        eval("[shallowMerge(createArray(createObject('a', 1), createObject('b', 2)))]"),
        json!({"a": 1, "b": 2})
    );
}

#[test]
fn utc_now_and_new_guid_only_in_parameter_defaults() {
    let t = template(json!({
        "parameters": {
            "stamp": {"type": "string", "defaultValue": "[utcNow()]"},
            "day": {"type": "string", "defaultValue": "[utcNow('yyyy-MM-dd')]"},
            "u": {"type": "string", "defaultValue": "[utcNow('u')]"},
            "id": {"type": "string", "defaultValue": "[newGuid()]"},
        },
    }));
    let p = plan(&t, &json!({}));
    let echoed = p.parameters();
    assert_eq!(echoed["stamp"]["value"], json!("20240305T070809Z"));
    assert_eq!(echoed["day"]["value"], json!("2024-03-05"));
    assert_eq!(echoed["u"]["value"], json!("2024-03-05 07:08:09Z"));
    assert_eq!(echoed["id"]["value"].as_str().map(str::len), Some(36));
    let e = refused(&template(json!({"variables": {"now": "[utcNow()]"}})), &json!({}));
    assert!(e.message.contains("The template function 'utcNow' is not expected at this location. The function can only be used with parameter default value."), "{}", e.message);
    assert!(eval_error("[newGuid()]").contains("can only be used with parameter default value"));
}

#[test]
fn reference_and_list_go_through_the_host() {
    let host = FakeHost::default();
    let kv = format!("{RG_ID}/providers/Microsoft.KeyVault/vaults/kv1");
    host.put(&kv, &json!({"location": "westeurope", "properties": {"vaultUri": "https://kv1.vault.azure.net/"}}));
    let st = format!("{RG_ID}/providers/Microsoft.Storage/storageAccounts/st1");
    host.put(&st, &json!({}));
    let t = template(json!({"outputs": {
        "uri": {"type": "string", "value": "[reference(resourceId('Microsoft.KeyVault/vaults', 'kv1'), '2023-07-01').vaultUri]"},
        "loc": {"type": "string", "value": "[reference(resourceId('Microsoft.KeyVault/vaults', 'kv1'), '2023-07-01', 'Full').location]"},
        "key": {"type": "string", "value": "[listKeys(resourceId('Microsoft.Storage/storageAccounts', 'st1'), '2023-01-01').keys[0].value]"},
    }}));
    let out = plan(&t, &json!({})).outputs(&host).unwrap();
    assert_eq!(out["uri"]["value"], json!("https://kv1.vault.azure.net/"));
    assert_eq!(out["loc"]["value"], json!("westeurope"));
    assert_eq!(out["key"]["value"], json!("secret-key"));
    assert!(host.calls.borrow().contains(&format!("reference {kv} 2023-07-01 true")));
    // A resource that does not exist: the host's own error, unchanged.
    let t = template(
        json!({"outputs": {"x": {"type": "object", "value": "[reference(resourceId('Microsoft.KeyVault/vaults', 'nope'), '2023-07-01')]"}}}),
    );
    let e = plan(&t, &json!({})).outputs(&host).unwrap_err();
    assert_eq!(e.code, "ResourceNotFound");
    // A list function the resource has not: the host's refusal.
    let t = template(
        json!({"outputs": {"x": {"type": "object", "value": "[listSecrets(resourceId('Microsoft.Storage/storageAccounts', 'st1'), '2023-01-01')]"}}}),
    );
    assert_eq!(plan(&t, &json!({})).outputs(&host).unwrap_err().code, "NotSupported");
    // Not in variables.
    let e = refused(&template(json!({"variables": {"v": "[reference('x')]"}})), &json!({}));
    assert!(e.message.contains("The template function 'reference' is not expected at this location"), "{}", e.message);
}

#[test]
fn unknown_functions_fail_with_arms_error() {
    let e = refused(&template(json!({"variables": {"v": "[frobnicate(1)]"}})), &json!({}));
    assert_eq!(e.code, "InvalidTemplate");
    assert_eq!(
        e.message,
        "Deployment template validation failed: 'The template variable 'v' is not valid: The template function 'frobnicate' is not valid. Please see https://aka.ms/arm-functions for usage details.'."
    );
}
