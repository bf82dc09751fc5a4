//! Parameters: matching, defaults, types and constraints, with ARM's messages; the echo.

use serde_json::json;

use super::{plan, refused, template};

fn declared() -> serde_json::Value {
    template(json!({"parameters": {
        "vaultName": {"type": "String", "minLength": 3, "maxLength": 24},
        "sku": {"type": "string", "defaultValue": "standard", "allowedValues": ["standard", "premium"]},
        "count": {"type": "int", "defaultValue": 2, "minValue": 1, "maxValue": 5},
        "enabled": {"type": "bool", "defaultValue": true},
        "tags": {"type": "object", "defaultValue": {"env": "[parameters('sku')]"}},
        "zones": {"type": "array", "defaultValue": ["1"], "allowedValues": ["1", "2", "3"]},
        "password": {"type": "secureString"},
        "secrets": {"type": "secureObject", "defaultValue": {"a": "b"}},
        "prefix": {"type": "string", "defaultValue": "[toLower(parameters('VAULTNAME'))]"},
    }}))
}

fn given(extra: serde_json::Value) -> serde_json::Value {
    let mut p = json!({"vaultName": {"value": "KV-Seed"}, "password": {"value": "hunter2"}});
    for (k, v) in extra.as_object().into_iter().flatten() {
        p[k] = v.clone();
    }
    p
}

#[test]
fn defaults_and_given_values_are_echoed_without_secure_ones() {
    let p = plan(&declared(), &given(json!({"count": {"value": 4}})));
    assert_eq!(
        p.parameters(),
        json!({
            "vaultName": {"type": "String", "value": "KV-Seed"},
            "sku": {"type": "String", "value": "standard"},
            "count": {"type": "Int", "value": 4},
            "enabled": {"type": "Bool", "value": true},
            "tags": {"type": "Object", "value": {"env": "standard"}},
            "zones": {"type": "Array", "value": ["1"]},
            "password": {"type": "SecureString"},
            "secrets": {"type": "SecureObject"},
            "prefix": {"type": "String", "value": "kv-seed"},
        })
    );
}

#[test]
fn parameter_names_match_case_insensitively() {
    let p = plan(&declared(), &json!({"VAULTNAME": {"value": "abc"}, "Password": {"value": "x"}}));
    assert_eq!(p.parameters()["vaultName"]["value"], json!("abc"));
}

#[test]
fn a_missing_required_parameter() {
    let e = refused(&declared(), &json!({"vaultName": {"value": "kv1"}}));
    assert_eq!(e.code, "InvalidTemplate");
    assert_eq!(
        e.message,
        "Deployment template validation failed: 'The value for the template parameter 'password' is not provided. Please see https://aka.ms/arm-create-parameter-file for usage details.'."
    );
}

#[test]
fn a_parameter_the_template_does_not_declare() {
    let e = refused(&declared(), &given(json!({"extra": {"value": 1}})));
    assert!(e.message.starts_with(
        "Deployment template validation failed: 'The template parameters 'extra' in the parameters file are not valid; they are not present in the original template and can therefore not be provided at deployment time. The only supported parameters for this template are 'count, enabled, password, prefix, secrets, sku, tags, vaultName, zones'."
    ), "{}", e.message);
}

#[test]
fn wrong_types_as_arm_words_them() {
    for (name, value, expected, actual) in [
        ("count", json!("3"), "Integer", "String"),
        ("vaultName", json!(12), "String, Uri", "Integer"),
        ("enabled", json!("true"), "Boolean", "String"),
        ("tags", json!([]), "Object", "Array"),
        ("zones", json!({}), "Array", "Object"),
        ("count", json!(1.5), "Integer", "Float"),
    ] {
        let e = refused(&declared(), &given(json!({name: {"value": value}})));
        assert_eq!(
            e.message,
            format!(
                "Deployment template validation failed: 'Template parameter JToken type is not valid. Expected '{expected}'. Actual '{actual}'. Please see https://aka.ms/resource-manager-parameter-files for usage details.'."
            ),
            "{name}"
        );
    }
}

#[test]
fn allowed_values_min_max_and_lengths() {
    let e = refused(&declared(), &given(json!({"sku": {"value": "basic"}})));
    assert_eq!(
        e.message,
        "Deployment template validation failed: 'The provided value 'basic' for the template parameter 'sku' is not valid. The parameter value is not part of the allowed value(s): 'standard,premium'.'."
    );
    assert!(
        refused(&declared(), &given(json!({"zones": {"value": ["1", "4"]}})))
            .message
            .contains("not part of the allowed value(s): '1,2,3'")
    );
    assert!(
        refused(&declared(), &given(json!({"count": {"value": 0}})))
            .message
            .contains("less than the minimum value '1'")
    );
    assert!(
        refused(&declared(), &given(json!({"count": {"value": 6}})))
            .message
            .contains("greater than the maximum value '5'")
    );
    assert!(
        refused(&declared(), &given(json!({"vaultName": {"value": "kv"}})))
            .message
            .contains("less than the minimum length '3'")
    );
    assert!(
        refused(&declared(), &given(json!({"vaultName": {"value": "k".repeat(25)}})))
            .message
            .contains("greater than the maximum length '24'")
    );
}

#[test]
fn key_vault_references_and_shapeless_values_are_refused_clearly() {
    let e = refused(
        &declared(),
        &given(
            json!({"password": {"reference": {"keyVault": {"id": "/subscriptions/x/resourceGroups/g/providers/Microsoft.KeyVault/vaults/kv"}, "secretName": "pw"}}}),
        ),
    );
    assert!(e.message.contains("'password' is a Key Vault reference"), "{}", e.message);
    let e = refused(&declared(), &given(json!({"count": 3})));
    assert!(e.message.contains("must be given as '{\"value\": ...}'"), "{}", e.message);
}

#[test]
fn a_default_that_depends_on_itself_and_unknown_types() {
    let t = template(
        json!({"parameters": {"a": {"type": "string", "defaultValue": "[parameters('b')]"}, "b": {"type": "string", "defaultValue": "[parameters('a')]"}}}),
    );
    assert!(refused(&t, &json!({})).message.contains("depends on itself"));
    let t = template(json!({"parameters": {"a": {"type": "float"}}}));
    assert!(refused(&t, &json!({"a": {"value": 1}})).message.contains("has a type 'float' that is not valid"));
    let t = template(
        json!({"parameters": {"a": {"type": "string", "defaultValue": "[variables('x')]"}}, "variables": {"x": "y"}}),
    );
    assert!(refused(&t, &json!({})).message.contains("'variables' is not expected at this location"));
}

#[test]
fn language_version_2_types_and_nullable() {
    let t = json!({
        "languageVersion": "2.0",
        "contentVersion": "1.0.0.0",
        "definitions": {"sku": {"type": "string", "allowedValues": ["a", "b"]}},
        "parameters": {"s": {"$ref": "#/definitions/sku"}, "n": {"type": "string", "nullable": true}},
        "resources": {},
    });
    let p = plan(&t, &json!({"s": {"value": "a"}}));
    assert_eq!(p.parameters(), json!({"s": {"type": "String", "value": "a"}, "n": {"type": "String", "value": null}}));
    assert!(refused(&t, &json!({"s": {"value": "c"}})).message.contains("not part of the allowed value(s): 'a,b'"));
}
