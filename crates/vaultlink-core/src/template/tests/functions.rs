use serde_json::{Value, json};

use super::super::*;

/// Parameters and variables from two objects; `resourceGroup()` from the world.
struct World {
    parameters: Value,
    variables: Value,
}

impl Context for World {
    fn parameter(&self, name: &str) -> Result<Value, TemplateError> {
        self.parameters
            .get(name)
            .cloned()
            .ok_or_else(|| invalid(format!("The template parameter '{name}' is not found.")))
    }
    fn variable(&self, name: &str) -> Result<Value, TemplateError> {
        self.variables
            .get(name)
            .cloned()
            .ok_or_else(|| invalid(format!("The template variable '{name}' is not found.")))
    }
    fn call(&self, name: &str, _args: &[Value]) -> Option<Result<Value, TemplateError>> {
        name.eq_ignore_ascii_case("resourceGroup").then(|| Ok(json!({"name": "rg1", "location": "westeurope"})))
    }
}

fn world() -> World {
    World {
        parameters: json!({"vaultName": "kv-Seed", "count": 3, "tags": {"env": "dev"}, "on": true}),
        variables: json!({"prefixes": ["10.0.0.0/24", "10.0.1.0/24"], "zone": "privatelink.vaultcore.azure.net"}),
    }
}

fn eval(s: &str) -> Value {
    evaluate_text(s, &world()).unwrap_or_else(|e| panic!("{s}: {}", e.message))
}

fn error(s: &str) -> String {
    let e = evaluate_text(s, &world()).expect_err(s);
    assert_eq!(e.code, "InvalidTemplate", "{s}");
    e.message
}

#[test]
fn literals_escapes_and_plain_strings() {
    assert_eq!(eval("plain text"), json!("plain text"));
    assert_eq!(eval("[[not an expression]"), json!("[not an expression]"));
    assert_eq!(eval("['it''s']"), json!("it's"));
    assert_eq!(eval("[ -42 ]"), json!(-42));
    assert_eq!(eval("[true()]"), json!(true));
    assert_eq!(eval("[null()]"), Value::Null);
}

#[test]
fn parameters_variables_members_and_indexes() {
    assert_eq!(eval("[parameters('vaultName')]"), json!("kv-Seed"));
    assert_eq!(eval("[parameters('tags').env]"), json!("dev"));
    assert_eq!(eval("[parameters('tags')['ENV']]"), json!("dev"));
    assert_eq!(eval("[variables('prefixes')[1]]"), json!("10.0.1.0/24"));
    assert_eq!(eval("[resourceGroup().location]"), json!("westeurope"));
    assert!(error("[parameters('missing')]").contains("'missing' is not found"));
    assert!(error("[variables('prefixes')[5]]").contains("out of bounds"));
    assert!(error("[parameters('tags').nope]").contains("'nope' doesn't exist"));
}

#[test]
fn string_functions() {
    assert_eq!(eval("[concat('pe-', parameters('vaultName'), '-', 1)]"), json!("pe-kv-Seed-1"));
    assert_eq!(eval("[concat(createArray(1, 2), createArray(3))]"), json!([1, 2, 3]));
    assert_eq!(
        eval("[format('{0}.{1} {{x}}', toLower(parameters('vaultName')), 'vault.azure.net')]"),
        json!("kv-seed.vault.azure.net {x}")
    );
    assert_eq!(eval("[toUpper('abc')]"), json!("ABC"));
    assert_eq!(eval("[replace('a.b.c', '.', '-')]"), json!("a-b-c"));
    assert_eq!(eval("[split('a,b;c', createArray(',', ';'))]"), json!(["a", "b", "c"]));
    assert_eq!(eval("[join(createArray('a', 'b'), '/')]"), json!("a/b"));
    assert_eq!(eval("[substring('abcdef', 1, 3)]"), json!("bcd"));
    assert!(error("[substring('abc', 2, 5)]").contains("must refer to a location within the string"));
    assert_eq!(eval("[padLeft(7, 3, '0')]"), json!("007"));
    assert_eq!(eval("[base64ToString(base64('héllo'))]"), json!("héllo"));
    assert_eq!(eval("[uriComponent('a b/c')]"), json!("a%20b%2Fc"));
    assert_eq!(eval("[indexOf('Test', 'ST')]"), json!(2));
    assert_eq!(eval("[lastIndexOf('abcabc', 'x')]"), json!(-1));
    assert_eq!(eval("[startsWith('Private', 'priv')]"), json!(true));
    assert_eq!(eval("[string(parameters('tags'))]"), json!("{\"env\":\"dev\"}"));
}

#[test]
fn values_logic_and_arithmetic() {
    assert_eq!(eval("[int('12')]"), json!(12));
    assert_eq!(eval("[bool('TRUE')]"), json!(true));
    assert_eq!(eval("[json('{\"a\": [1]}').a[0]]"), json!(1));
    assert_eq!(eval("[createObject('a', 1, 'b', createArray())]"), json!({"a": 1, "b": []}));
    assert_eq!(eval("[coalesce(null(), null(), 'x')]"), json!("x"));
    assert_eq!(
        eval("[if(parameters('on'), 'yes', parameters('missing'))]"),
        json!("yes"),
        "the branch not taken is not evaluated"
    );
    assert!(error("[if('x', 1, 2)]").contains("'Boolean'"));
    assert_eq!(eval("[and(equals(1, 1), not(equals('a', 'A')), or(false(), true()))]"), json!(true));
    assert_eq!(eval("[greaterOrEquals(parameters('count'), 3)]"), json!(true));
    assert_eq!(eval("[less('a', 'b')]"), json!(true));
    assert_eq!(eval("[add(mul(2, 3), sub(10, div(9, 2)))]"), json!(12));
    assert_eq!(eval("[mod(10, 4)]"), json!(2));
    assert!(error("[div(1, 0)]").contains("division by zero"));
    assert!(error("[add(9223372036854775807, 1)]").contains("overflow"));
    assert_eq!(eval("[min(createArray(4, 2, 8))]"), json!(2));
    assert_eq!(eval("[max(4, 2, 8)]"), json!(8));
}

#[test]
fn arrays_and_objects() {
    assert_eq!(eval("[length(variables('prefixes'))]"), json!(2));
    assert_eq!(eval("[length('héllo')]"), json!(5));
    assert_eq!(eval("[empty(createArray())]"), json!(true));
    assert_eq!(eval("[contains(variables('prefixes'), '10.0.1.0/24')]"), json!(true));
    assert_eq!(eval("[contains(parameters('tags'), 'ENV')]"), json!(true));
    assert_eq!(eval("[first(variables('prefixes'))]"), json!("10.0.0.0/24"));
    assert_eq!(eval("[last('abc')]"), json!("c"));
    assert_eq!(eval("[take(range(1, 5), 2)]"), json!([1, 2]));
    assert_eq!(eval("[skip('abcdef', 4)]"), json!("ef"));
    assert_eq!(eval("[union(createArray(1, 2), createArray(2, 3))]"), json!([1, 2, 3]));
    assert_eq!(eval("[union(parameters('tags'), createObject('owner', 'me'))]"), json!({"env": "dev", "owner": "me"}));
    assert_eq!(eval("[intersection(createArray(1, 2, 3), createArray(3, 2))]"), json!([2, 3]));
    assert_eq!(eval("[items(parameters('tags'))]"), json!([{"key": "env", "value": "dev"}]));
    assert_eq!(eval("[tryGet(parameters('tags'), 'none')]"), Value::Null);
    assert!(error("[range(0, 10001)]").contains("between 0 and 10000"));
}

#[test]
fn whole_values_are_evaluated_member_by_member() {
    let v = json!({
        "name": "[concat(parameters('vaultName'), '-pe')]",
        "[toLower('KEY')]": ["[variables('zone')]", 1, "[[literal"],
    });
    assert_eq!(
        evaluate_value(&v, &world()).unwrap(),
        json!({"name": "kv-Seed-pe", "key": ["privatelink.vaultcore.azure.net", 1, "[literal"]})
    );
}

#[test]
fn malformed_expressions_and_unknown_functions_are_refused() {
    assert!(error("[nosuchfunction(1)]").contains("The template function 'nosuchfunction' is not valid"));
    for bad in ["[concat('a']", "[concat('a') extra]", "['unterminated]", "[parameters]", "[1.5]", "[concat(,)]"] {
        assert!(error(bad).contains("is not valid"), "{bad}");
    }
    assert!(error("[equals(1)]").contains("requires 2 argument"));
    let deep = format!("[{}1{}]", "createArray(".repeat(100), ")".repeat(100));
    assert!(error(&deep).contains("nested too deeply"));
}
