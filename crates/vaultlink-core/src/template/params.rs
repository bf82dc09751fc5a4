//! A deployment's parameters: the values given (`{name: {value}}`) matched to the template's
//! declarations (names case-insensitively), defaults evaluated (they may be expressions over other
//! parameters, `utcNow()` and `newGuid()` included), then each value checked against its type
//! (`string`, `securestring`, `int`, `bool`, `object`, `secureObject`, `array`, case-insensitive;
//! or a `$ref` to `definitions`), `allowedValues`, `minValue`/`maxValue` and
//! `minLength`/`maxLength`, with ARM's messages.

use std::cell::RefCell;

use serde_json::{Map, Value, json};

use super::eval::evaluate_value;
use super::world::{Env, Phase, Source};
use super::{Scope, TemplateError, invalid, type_name};

/// A parameter's declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamType {
    String,
    SecureString,
    Int,
    Bool,
    Object,
    SecureObject,
    Array,
}

impl ParamType {
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "string" => Self::String,
            "securestring" => Self::SecureString,
            "int" => Self::Int,
            "bool" => Self::Bool,
            "object" => Self::Object,
            "secureobject" => Self::SecureObject,
            "array" => Self::Array,
            _ => return None,
        })
    }

    /// The name ARM echoes (`"type": "SecureString"`).
    pub(crate) fn echo(self) -> &'static str {
        match self {
            Self::String => "String",
            Self::SecureString => "SecureString",
            Self::Int => "Int",
            Self::Bool => "Bool",
            Self::Object => "Object",
            Self::SecureObject => "SecureObject",
            Self::Array => "Array",
        }
    }

    pub(crate) fn secure(self) -> bool {
        matches!(self, Self::SecureString | Self::SecureObject)
    }

    /// The JToken types ARM names for this type in its type error.
    pub(crate) fn expected(self) -> &'static str {
        match self {
            Self::String | Self::SecureString => "String, Uri",
            Self::Int => "Integer",
            Self::Bool => "Boolean",
            Self::Object | Self::SecureObject => "Object",
            Self::Array => "Array",
        }
    }

    pub(crate) fn accepts(self, v: &Value) -> bool {
        match self {
            Self::String | Self::SecureString => v.is_string(),
            Self::Int => v.is_i64() || v.is_u64(),
            Self::Bool => v.is_boolean(),
            Self::Object | Self::SecureObject => v.is_object(),
            Self::Array => v.is_array(),
        }
    }
}

/// A declared parameter and its final value.
#[derive(Debug, Clone)]
pub(crate) struct Parameter {
    pub name: String,
    pub kind: ParamType,
    pub value: Value,
}

/// Matches the given parameters to the template's declarations and evaluates and checks every
/// value. Errors are the bare causes; the caller wraps them in "Deployment template validation
/// failed".
pub(crate) fn resolve(template: &Value, given: &Value, scope: &Scope) -> Result<Vec<Parameter>, TemplateError> {
    let declared = match template.get("parameters") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(invalid("The template 'parameters' section must be an object.")),
    };
    let given = match given {
        Value::Null => Map::new(),
        Value::Object(m) => m.clone(),
        _ => return Err(invalid("The deployment parameters must be an object of '{name: {value}}'.")),
    };
    let unknown: Vec<&str> =
        given.keys().filter(|k| !declared.keys().any(|d| d.eq_ignore_ascii_case(k))).map(String::as_str).collect();
    if !unknown.is_empty() {
        return Err(invalid(format!(
            "The template parameters '{}' in the parameters file are not valid; they are not present in the original template and can therefore not be provided at deployment time. The only supported parameters for this template are '{}'. Please see https://aka.ms/arm-pass-parameter-values for usage details.",
            unknown.join(", "),
            declared.keys().cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    let mut values = Map::new();
    for (name, p) in &given {
        if p.get("reference").is_some() {
            return Err(invalid(format!(
                "The template parameter '{name}' is a Key Vault reference: vaultlink does not resolve Key Vault references in deployment parameters. Pass the secret's value instead."
            )));
        }
        let Some(v) = p.get("value") else {
            return Err(invalid(format!(
                "The value for the template parameter '{name}' is not provided: a deployment parameter must be given as '{{\"value\": ...}}'. Please see https://aka.ms/arm-create-parameter-file for usage details."
            )));
        };
        let key = declared.keys().find(|d| d.eq_ignore_ascii_case(name)).cloned().unwrap_or_default();
        values.insert(key, v.clone());
    }
    let definitions = template.get("definitions").cloned().unwrap_or(Value::Null);
    let lazy = Lazy {
        declared: &declared,
        definitions: &definitions,
        given: &values,
        scope,
        deployment: super::world::deployment_info(scope, template, &given),
        done: RefCell::new(Map::new()),
        busy: RefCell::new(Vec::new()),
    };
    let mut out = Vec::with_capacity(declared.len());
    for name in declared.keys() {
        let value = lazy.parameter(name)?;
        let decl = lazy.declaration(name);
        out.push(Parameter { name: name.clone(), kind: declared_type(name, &decl, &definitions)?, value });
    }
    Ok(out)
}

/// A declaration with its `$ref` to `definitions` followed.
fn follow(decl: &Value, definitions: &Value) -> Value {
    let mut decl = decl.clone();
    for _ in 0..16 {
        let Some(r) = decl.get("$ref").and_then(Value::as_str) else { break };
        let Some(target) = r.strip_prefix("#/definitions/").and_then(|n| definitions.get(n)) else { break };
        let mut merged = target.clone();
        if let (Some(m), Some(own)) = (merged.as_object_mut(), decl.as_object()) {
            for (k, v) in own {
                if k != "$ref" {
                    m.insert(k.clone(), v.clone());
                }
            }
        }
        decl = merged;
    }
    decl
}

fn declared_type(name: &str, decl: &Value, definitions: &Value) -> Result<ParamType, TemplateError> {
    let decl = follow(decl, definitions);
    let t = decl.get("type").and_then(Value::as_str).unwrap_or_default();
    ParamType::parse(t).ok_or_else(|| {
        invalid(format!(
            "The template parameter '{name}' has a type '{t}' that is not valid: the supported types are 'string, securestring, int, bool, object, secureObject, array'."
        ))
    })
}

/// Parameters evaluated on demand, so that a default may use any other parameter; a default that
/// comes back to itself is refused.
struct Lazy<'a> {
    declared: &'a Map<String, Value>,
    definitions: &'a Value,
    given: &'a Map<String, Value>,
    scope: &'a Scope,
    deployment: Value,
    done: RefCell<Map<String, Value>>,
    busy: RefCell<Vec<String>>,
}

impl Lazy<'_> {
    fn declaration(&self, name: &str) -> Value {
        self.declared.get(name).map(|d| follow(d, self.definitions)).unwrap_or(Value::Null)
    }
}

impl Source for Lazy<'_> {
    fn parameter(&self, name: &str) -> Result<Value, TemplateError> {
        let Some(key) = self.declared.keys().find(|d| d.eq_ignore_ascii_case(name)) else {
            return Err(invalid(format!(
                "The template parameter '{name}' is not found. Please see https://aka.ms/arm-syntax-parameters for usage details."
            )));
        };
        if let Some(v) = self.done.borrow().get(key) {
            return Ok(v.clone());
        }
        if self.busy.borrow().contains(key) {
            return Err(invalid(format!(
                "The template parameter '{key}' is not valid: its default value depends on itself."
            )));
        }
        self.busy.borrow_mut().push(key.clone());
        let decl = self.declaration(key);
        let kind = declared_type(key, &decl, self.definitions)?;
        let value = match (self.given.get(key), decl.get("defaultValue")) {
            (Some(v), _) => v.clone(),
            (None, Some(d)) => {
                let env = Env {
                    scope: self.scope,
                    source: self,
                    resources: &[],
                    host: None,
                    phase: Phase::Defaults,
                    what_if: false,
                    deployment: &self.deployment,
                };
                evaluate_value(d, &env)?
            }
            (None, None) if decl.get("nullable") == Some(&Value::Bool(true)) => Value::Null,
            (None, None) => {
                return Err(invalid(format!(
                    "The value for the template parameter '{key}' is not provided. Please see https://aka.ms/arm-create-parameter-file for usage details."
                )));
            }
        };
        check(key, kind, &decl, &value)?;
        self.busy.borrow_mut().retain(|b| b != key);
        self.done.borrow_mut().insert(key.clone(), value.clone());
        Ok(value)
    }

    fn variable(&self, _name: &str) -> Result<Value, TemplateError> {
        Err(invalid(
            "The template function 'variables' is not expected at this location. Please see https://aka.ms/arm-functions for usage details.",
        ))
    }
}

/// Shown in a constraint message: a string as is, anything else as JSON.
fn shown(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

fn check(name: &str, kind: ParamType, decl: &Value, v: &Value) -> Result<(), TemplateError> {
    if v.is_null() && decl.get("nullable") == Some(&Value::Bool(true)) {
        return Ok(());
    }
    if !kind.accepts(v) {
        return Err(invalid(format!(
            "Template parameter JToken type is not valid. Expected '{}'. Actual '{}'. Please see https://aka.ms/resource-manager-parameter-files for usage details.",
            kind.expected(),
            type_name(v)
        )));
    }
    // A secure value is never shown, not even in a refusal.
    let provided = |why: String| {
        let value = if kind.secure() { String::new() } else { format!("'{}' ", shown(v)) };
        invalid(format!("The provided value {value}for the template parameter '{name}' is not valid. {why}"))
    };
    if let Some(Value::Array(allowed)) = decl.get("allowedValues") {
        let ok = match v {
            Value::Array(items) if kind == ParamType::Array => items.iter().all(|x| allowed.contains(x)),
            other => allowed.contains(other),
        };
        if !ok {
            let list: Vec<String> = allowed.iter().map(shown).collect();
            return Err(provided(format!(
                "The parameter value is not part of the allowed value(s): '{}'.",
                list.join(",")
            )));
        }
    }
    if let Some(n) = v.as_i64() {
        if let Some(min) = decl.get("minValue").and_then(Value::as_i64)
            && n < min
        {
            return Err(provided(format!("The parameter value is less than the minimum value '{min}'.")));
        }
        if let Some(max) = decl.get("maxValue").and_then(Value::as_i64)
            && n > max
        {
            return Err(provided(format!("The parameter value is greater than the maximum value '{max}'.")));
        }
    }
    let len = match v {
        Value::String(s) => Some(s.chars().count() as i64),
        Value::Array(a) => Some(a.len() as i64),
        _ => None,
    };
    if let Some(len) = len {
        if let Some(min) = decl.get("minLength").and_then(Value::as_i64)
            && len < min
        {
            return Err(provided(format!(
                "The length of the parameter value is less than the minimum length '{min}'."
            )));
        }
        if let Some(max) = decl.get("maxLength").and_then(Value::as_i64)
            && len > max
        {
            return Err(provided(format!(
                "The length of the parameter value is greater than the maximum length '{max}'."
            )));
        }
    }
    Ok(())
}

/// The parameters as ARM echoes them: `{name: {type, value}}`, a secure one without its value.
pub(crate) fn echo(params: &[Parameter]) -> Value {
    let mut out = Map::new();
    for p in params {
        let v = if p.kind.secure() {
            json!({"type": p.kind.echo()})
        } else {
            json!({"type": p.kind.echo(), "value": p.value})
        };
        out.insert(p.name.clone(), v);
    }
    Value::Object(out)
}
