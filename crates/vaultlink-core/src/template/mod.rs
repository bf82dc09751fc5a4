//! The ARM template language, first part: expressions and the functions that need nothing but
//! their arguments (issue 17). `expr.rs` parses `[...]`; this file evaluates an expression over a
//! [`Context`] (the template's parameters and variables, and the functions that need the
//! deployment's world: `resourceGroup()`, `resourceId()`, `reference()`, ...), and holds the table
//! of the pure functions, one line each ([`FUNCTIONS`]).
//!
//! Not here yet (the deployments issue's later steps): parameters' validation, variables and
//! outputs sections, `copy`, `condition`, `dependsOn` ordering, nested templates, lambdas
//! (`filter`, `map`, ...), `uniqueString`/`guid` (Azure's hash algorithms), `utcNow`/`newGuid`,
//! and the `Microsoft.Resources/deployments` surface that runs a template.
//!
//! It sits low among the core's rooms: it uses only `error` (nothing of the engine or the
//! resources; what it needs of them comes through [`Context`]).

pub mod expr;
pub mod functions;
#[cfg(test)]
mod tests;

use serde_json::Value;

pub use expr::{Expr, Text, classify, parse};
pub use functions::FUNCTIONS;

use crate::error::{Error, Kind};

/// A template error: ARM's `InvalidTemplate` (400) with its message.
pub type TemplateError = Error;

pub(crate) fn invalid(message: impl Into<String>) -> TemplateError {
    Error::new(Kind::BadRequest, "InvalidTemplate", message)
}

/// What an expression may ask of the template it is in and of the deployment's world.
pub trait Context {
    /// `parameters('name')`.
    fn parameter(&self, name: &str) -> Result<Value, TemplateError>;
    /// `variables('name')`.
    fn variable(&self, name: &str) -> Result<Value, TemplateError>;
    /// A function the pure table does not have (`resourceGroup`, `resourceId`, `reference`, ...):
    /// `None` when the context does not serve it either.
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, TemplateError>>;
}

/// Evaluates a template value: strings that are expressions are evaluated, `[[` unescaped,
/// arrays and objects evaluated member by member (object keys too, as ARM does).
pub fn evaluate_value(v: &Value, ctx: &dyn Context) -> Result<Value, TemplateError> {
    Ok(match v {
        Value::String(s) => evaluate_text(s, ctx)?,
        Value::Array(items) => Value::Array(items.iter().map(|x| evaluate_value(x, ctx)).collect::<Result<_, _>>()?),
        Value::Object(map) => {
            let mut out = serde_json::Map::with_capacity(map.len());
            for (k, x) in map {
                let key = match evaluate_text(k, ctx)? {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                out.insert(key, evaluate_value(x, ctx)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

/// Evaluates one JSON string of a template.
pub fn evaluate_text(s: &str, ctx: &dyn Context) -> Result<Value, TemplateError> {
    match classify(s) {
        Text::Literal(l) => Ok(Value::String(l.into_owned())),
        Text::Expression(e) => evaluate(&parse(e)?, ctx),
    }
}

/// Evaluates a parsed expression.
pub fn evaluate(e: &Expr, ctx: &dyn Context) -> Result<Value, TemplateError> {
    match e {
        Expr::Literal(v) => Ok(v.clone()),
        Expr::Member(of, name) => {
            let v = evaluate(of, ctx)?;
            member(&v, name).ok_or_else(|| {
                invalid(format!(
                    "The language expression property '{name}' doesn't exist, available properties are '{}'.",
                    keys(&v)
                ))
            })
        }
        Expr::Index(of, index) => {
            let v = evaluate(of, ctx)?;
            let i = evaluate(index, ctx)?;
            match (&v, &i) {
                (Value::Array(items), Value::Number(n)) => {
                    n.as_u64().and_then(|n| items.get(n as usize)).cloned().ok_or_else(|| {
                        invalid(format!("The language expression property array index '{n}' is out of bounds."))
                    })
                }
                (Value::Object(_), Value::String(name)) => member(&v, name).ok_or_else(|| {
                    invalid(format!(
                        "The language expression property '{name}' doesn't exist, available properties are '{}'.",
                        keys(&v)
                    ))
                }),
                _ => Err(invalid(format!(
                    "The language expression property '{}' can't be evaluated, property name must be a string.",
                    i
                ))),
            }
        }
        Expr::Call { name, args } => call(name, args, ctx),
    }
}

fn call(name: &str, args: &[Expr], ctx: &dyn Context) -> Result<Value, TemplateError> {
    let lower = name.to_ascii_lowercase();
    // `if` evaluates only the branch it takes (ARM evaluates it lazily).
    if lower == "if" {
        let [cond, then, other] = args else { return Err(arity(name, "3")) };
        return match evaluate(cond, ctx)? {
            Value::Bool(true) => evaluate(then, ctx),
            Value::Bool(false) => evaluate(other, ctx),
            v => Err(invalid(format!(
                "The template language function 'if' expects its first parameter to be of type 'Boolean'. The provided value is of type '{}'.",
                type_name(&v)
            ))),
        };
    }
    let values: Vec<Value> = args.iter().map(|a| evaluate(a, ctx)).collect::<Result<_, _>>()?;
    match lower.as_str() {
        "parameters" => return ctx.parameter(single_string(name, &values)?),
        "variables" => return ctx.variable(single_string(name, &values)?),
        _ => {}
    }
    if let Some((_, f)) = FUNCTIONS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
        return f(&values);
    }
    ctx.call(name, &values).unwrap_or_else(|| {
        Err(invalid(format!(
            "The template function '{name}' is not valid. Please see https://aka.ms/arm-functions for usage details."
        )))
    })
}

/// A member of an object, its name matched case-insensitively as ARM matches it.
fn member(v: &Value, name: &str) -> Option<Value> {
    let map = v.as_object()?;
    map.get(name).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, x)| x)).cloned()
}

fn keys(v: &Value) -> String {
    v.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>().join(", ")).unwrap_or_default()
}

fn single_string<'a>(name: &str, values: &'a [Value]) -> Result<&'a str, TemplateError> {
    match values {
        [Value::String(s)] => Ok(s),
        [_] => Err(invalid(format!(
            "The template language function '{name}' expects its parameter to be of type 'String'."
        ))),
        _ => Err(arity(name, "1")),
    }
}

pub(crate) fn arity(name: &str, expected: &str) -> TemplateError {
    invalid(format!(
        "Unable to evaluate template language function '{name}': function requires {expected} argument(s). Please see https://aka.ms/arm-functions for usage details."
    ))
}

/// ARM's names of value types, as its messages give them.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(_) => "Integer",
        Value::String(_) => "String",
        Value::Array(_) => "Array",
        Value::Object(_) => "Object",
    }
}
