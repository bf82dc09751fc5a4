//! Evaluating expressions and template values over a [`Context`]: the special forms that do not
//! evaluate all their arguments first (`if`, the lambda functions), `copyIndex()`, the
//! `lambdaVariables` of a lambda's body, property and variable `copy` blocks inside values, and
//! what-if's deferral of a `reference()` to a resource not yet deployed.

use serde_json::{Map, Value};

use super::expr::{Expr, Text, classify, parse};
use super::{FUNCTIONS, TemplateError, arity, invalid, type_name};

/// The error code that marks a value what-if cannot know yet (a `reference()` to a resource the
/// deployment has not created): in what-if mode the string holding the expression is kept as
/// written.
pub(crate) const DEFERRED: &str = "vaultlink.Deferred";

/// What an expression may ask of the template it is in and of the deployment's world.
pub trait Context {
    /// `parameters('name')`.
    fn parameter(&self, name: &str) -> Result<Value, TemplateError>;
    /// `variables('name')`.
    fn variable(&self, name: &str) -> Result<Value, TemplateError>;
    /// A function the pure table does not have (`resourceGroup`, `resourceId`, `reference`, ...):
    /// `None` when the context does not serve it either.
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, TemplateError>>;
    /// `copyIndex()` (`None`: the innermost resource or output loop) or `copyIndex('name')`.
    fn copy_index(&self, _loop_name: Option<&str>) -> Option<usize> {
        None
    }
    /// `lambdaVariables('name')` inside a lambda.
    fn lambda_variable(&self, _name: &str) -> Option<Value> {
        None
    }
    /// Whether an expression that needs a resource not deployed yet is kept as written.
    fn what_if(&self) -> bool {
        false
    }
}

/// A context with one more copy loop bound: `copyIndex('name')` (and, for a resource or output
/// loop, `copyIndex()`) answers `index`.
pub(crate) struct Looped<'a> {
    pub outer: &'a dyn Context,
    pub name: Option<&'a str>,
    pub unnamed_too: bool,
    pub index: usize,
}

impl Context for Looped<'_> {
    fn parameter(&self, name: &str) -> Result<Value, TemplateError> {
        self.outer.parameter(name)
    }
    fn variable(&self, name: &str) -> Result<Value, TemplateError> {
        self.outer.variable(name)
    }
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, TemplateError>> {
        self.outer.call(name, args)
    }
    fn copy_index(&self, loop_name: Option<&str>) -> Option<usize> {
        let mine = match loop_name {
            None => self.unnamed_too,
            Some(n) => self.name.is_some_and(|m| m.eq_ignore_ascii_case(n)),
        };
        if mine { Some(self.index) } else { self.outer.copy_index(loop_name) }
    }
    fn lambda_variable(&self, name: &str) -> Option<Value> {
        self.outer.lambda_variable(name)
    }
    fn what_if(&self) -> bool {
        self.outer.what_if()
    }
}

/// A lambda's body's context: its variables bound, everything else from outside.
struct Bound<'a> {
    outer: &'a dyn Context,
    names: &'a [String],
    values: Vec<Value>,
}

impl Context for Bound<'_> {
    fn parameter(&self, name: &str) -> Result<Value, TemplateError> {
        self.outer.parameter(name)
    }
    fn variable(&self, name: &str) -> Result<Value, TemplateError> {
        self.outer.variable(name)
    }
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, TemplateError>> {
        self.outer.call(name, args)
    }
    fn copy_index(&self, loop_name: Option<&str>) -> Option<usize> {
        self.outer.copy_index(loop_name)
    }
    fn lambda_variable(&self, name: &str) -> Option<Value> {
        match self.names.iter().position(|n| n.eq_ignore_ascii_case(name)) {
            Some(i) => self.values.get(i).cloned(),
            None => self.outer.lambda_variable(name),
        }
    }
    fn what_if(&self) -> bool {
        self.outer.what_if()
    }
}

/// Evaluates a template value: strings that are expressions are evaluated, `[[` unescaped,
/// arrays and objects evaluated member by member (object keys too, as ARM does); an object's
/// `copy` array of `{name, count, input}` becomes one array member per loop.
pub fn evaluate_value(v: &Value, ctx: &dyn Context) -> Result<Value, TemplateError> {
    Ok(match v {
        Value::String(s) => evaluate_text(s, ctx)?,
        Value::Array(items) => Value::Array(items.iter().map(|x| evaluate_value(x, ctx)).collect::<Result<_, _>>()?),
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (k, x) in map {
                if k.eq_ignore_ascii_case("copy") && is_property_copy(x) {
                    for (name, items) in property_copies(x, ctx)? {
                        out.insert(name, Value::Array(items));
                    }
                    continue;
                }
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

/// Whether a `copy` member is a list of property loops (`[{name, count, input}]`) rather than
/// data that happens to be named so.
pub(crate) fn is_property_copy(v: &Value) -> bool {
    v.as_array().is_some_and(|loops| {
        !loops.is_empty()
            && loops.iter().all(|l| l.get("name").is_some() && l.get("count").is_some() && l.get("input").is_some())
    })
}

/// ARM's bound on a copy loop's count.
pub const MAX_COPY: i64 = 800;

/// The count of a copy loop, evaluated and checked against ARM's bounds.
pub(crate) fn copy_count(count: &Value, ctx: &dyn Context, what: &str) -> Result<usize, TemplateError> {
    let n = match evaluate_value(count, ctx)? {
        Value::Number(n) if n.is_i64() => n.as_i64().unwrap_or_default(),
        Value::String(s) if s.trim().parse::<i64>().is_ok() => s.trim().parse::<i64>().unwrap_or_default(),
        other => {
            return Err(invalid(format!(
                "The copy count of '{what}' must be an integer: it is of type '{}'.",
                type_name(&other)
            )));
        }
    };
    if !(0..=MAX_COPY).contains(&n) {
        return Err(invalid(format!(
            "The template copy count '{n}' of '{what}' is not valid: the count must be a non-negative integer no greater than '{MAX_COPY}'. Please see https://aka.ms/arm-copy for usage details."
        )));
    }
    Ok(n as usize)
}

fn property_copies(v: &Value, ctx: &dyn Context) -> Result<Vec<(String, Vec<Value>)>, TemplateError> {
    let mut out = Vec::new();
    for l in v.as_array().into_iter().flatten() {
        let name = match evaluate_value(&l["name"], ctx)? {
            Value::String(s) => s,
            other => return Err(invalid(format!("The copy name must be a string; it is '{other}'."))),
        };
        let count = copy_count(&l["count"], ctx, &name)?;
        let mut items = Vec::with_capacity(count);
        for index in 0..count {
            let looped = Looped { outer: ctx, name: Some(&name), unnamed_too: false, index };
            items.push(evaluate_value(&l["input"], &looped)?);
        }
        out.push((name, items));
    }
    Ok(out)
}

/// Evaluates one JSON string of a template.
pub fn evaluate_text(s: &str, ctx: &dyn Context) -> Result<Value, TemplateError> {
    match classify(s) {
        Text::Literal(l) => Ok(Value::String(l.into_owned())),
        Text::Expression(e) => match evaluate(&parse(e)?, ctx) {
            Err(err) if err.code == DEFERRED && ctx.what_if() => Ok(Value::String(s.to_string())),
            other => other,
        },
    }
}

/// Evaluates a parsed expression.
pub fn evaluate(e: &Expr, ctx: &dyn Context) -> Result<Value, TemplateError> {
    match e {
        Expr::Literal(v) => Ok(v.clone()),
        Expr::Member(of, name) => {
            let v = evaluate(of, ctx)?;
            member(&v, name).ok_or_else(|| missing_member(&v, name))
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
                (Value::Object(_), Value::String(name)) => member(&v, name).ok_or_else(|| missing_member(&v, name)),
                _ => Err(invalid(format!(
                    "The language expression property '{i}' can't be evaluated, property name must be a string."
                ))),
            }
        }
        Expr::Call { name, args } => call(name, args, ctx),
    }
}

fn missing_member(v: &Value, name: &str) -> TemplateError {
    match v {
        Value::Object(m) => invalid(format!(
            "The language expression property '{name}' doesn't exist, available properties are '{}'.",
            m.keys().cloned().collect::<Vec<_>>().join(", ")
        )),
        other => invalid(format!(
            "The language expression property '{name}' can't be evaluated: the value is of type '{}'.",
            type_name(other)
        )),
    }
}

fn call(name: &str, args: &[Expr], ctx: &dyn Context) -> Result<Value, TemplateError> {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        // `if` evaluates only the branch it takes (ARM evaluates it lazily).
        "if" => {
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
        "filter" | "map" | "sort" | "reduce" | "toobject" | "mapvalues" | "groupby" => {
            return lambda_function(name, &lower, args, ctx);
        }
        "lambda" => {
            return Err(invalid(
                "The template function 'lambda' is not expected at this location: a lambda is only valid as an argument of filter, map, sort, reduce, toObject, mapValues or groupBy.",
            ));
        }
        _ => {}
    }
    let values: Vec<Value> = args.iter().map(|a| evaluate(a, ctx)).collect::<Result<_, _>>()?;
    match lower.as_str() {
        "parameters" => return ctx.parameter(single_string(name, &values)?),
        "variables" => return ctx.variable(single_string(name, &values)?),
        "lambdavariables" => {
            let n = single_string(name, &values)?;
            return ctx.lambda_variable(n).ok_or_else(|| {
                invalid(format!(
                    "The lambda variable '{n}' is not found: lambdaVariables is only valid inside a lambda."
                ))
            });
        }
        "copyindex" => return copy_index(name, &values, ctx),
        _ => {}
    }
    if let Some((_, f)) = FUNCTIONS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
        return f(&values);
    }
    ctx.call(name, &values).unwrap_or_else(|| Err(unknown_function(name)))
}

pub(crate) fn unknown_function(name: &str) -> TemplateError {
    invalid(format!(
        "The template function '{name}' is not valid. Please see https://aka.ms/arm-functions for usage details."
    ))
}

/// `copyIndex()`, `copyIndex(offset)`, `copyIndex('loop')`, `copyIndex('loop', offset)`.
fn copy_index(name: &str, values: &[Value], ctx: &dyn Context) -> Result<Value, TemplateError> {
    let (loop_name, offset) = match values {
        [] => (None, 0),
        [Value::Number(n)] => (None, n.as_i64().unwrap_or_default()),
        [Value::String(l)] => (Some(l.as_str()), 0),
        [Value::String(l), Value::Number(n)] => (Some(l.as_str()), n.as_i64().unwrap_or_default()),
        _ => return Err(arity(name, "0 to 2")),
    };
    let index = ctx.copy_index(loop_name).ok_or_else(|| match loop_name {
        None => invalid(
            "The template function 'copyIndex' is not expected at this location. The function can only be used in a resource with copy specified. Please see https://aka.ms/arm-copy for usage details.",
        ),
        Some(l) => invalid(format!(
            "The template function 'copyIndex' refers to the copy loop '{l}', which is not found at this location. Please see https://aka.ms/arm-copy for usage details."
        )),
    })?;
    Ok(Value::from(index as i64 + offset))
}

/// A `lambda('a', 'b', body)` argument: its variable names and body.
fn lambda<'e>(function: &str, e: &'e Expr, arity_wanted: usize) -> Result<(Vec<String>, &'e Expr), TemplateError> {
    let bad = || {
        invalid(format!(
            "The template language function '{function}' expects a lambda with {arity_wanted} parameter(s) as this argument."
        ))
    };
    let Expr::Call { name, args } = e else { return Err(bad()) };
    let Some((body, names)) = args.split_last().filter(|_| name.eq_ignore_ascii_case("lambda")) else {
        return Err(bad());
    };
    let names: Vec<String> = names
        .iter()
        .map(|n| match n {
            Expr::Literal(Value::String(s)) => Ok(s.clone()),
            _ => Err(bad()),
        })
        .collect::<Result<_, _>>()?;
    if names.len() != arity_wanted {
        return Err(bad());
    }
    Ok((names, body))
}

fn apply(names: &[String], body: &Expr, values: Vec<Value>, ctx: &dyn Context) -> Result<Value, TemplateError> {
    evaluate(body, &Bound { outer: ctx, names, values })
}

fn lambda_function(name: &str, lower: &str, args: &[Expr], ctx: &dyn Context) -> Result<Value, TemplateError> {
    let array = |e: &Expr| -> Result<Vec<Value>, TemplateError> {
        match evaluate(e, ctx)? {
            Value::Array(items) => Ok(items),
            other => Err(invalid(format!(
                "The template language function '{name}' expects its first parameter to be of type 'Array'. The provided value is of type '{}'.",
                type_name(&other)
            ))),
        }
    };
    match (lower, args) {
        ("filter", [items, f]) => {
            let (names, body) = lambda(name, f, 1)?;
            let mut out = Vec::new();
            for x in array(items)? {
                match apply(&names, body, vec![x.clone()], ctx)? {
                    Value::Bool(true) => out.push(x),
                    Value::Bool(false) => {}
                    other => return Err(lambda_result(name, "Boolean", &other)),
                }
            }
            Ok(Value::Array(out))
        }
        ("map", [items, f]) => {
            let (names, body) = lambda(name, f, 1)?;
            let out =
                array(items)?.into_iter().map(|x| apply(&names, body, vec![x], ctx)).collect::<Result<Vec<_>, _>>()?;
            Ok(Value::Array(out))
        }
        ("sort", [items, f]) => {
            let (names, body) = lambda(name, f, 2)?;
            let mut items = array(items)?;
            // An insertion sort: the comparator may fail, and stays a plain "a before b".
            for i in 1..items.len() {
                let mut j = i;
                while j > 0 {
                    match apply(&names, body, vec![items[j].clone(), items[j - 1].clone()], ctx)? {
                        Value::Bool(true) => items.swap(j, j - 1),
                        Value::Bool(false) => break,
                        other => return Err(lambda_result(name, "Boolean", &other)),
                    }
                    j -= 1;
                }
            }
            Ok(Value::Array(items))
        }
        ("reduce", [items, initial, f]) => {
            let (names, body) = lambda(name, f, 2)?;
            let mut acc = evaluate(initial, ctx)?;
            for x in array(items)? {
                acc = apply(&names, body, vec![acc, x], ctx)?;
            }
            Ok(acc)
        }
        ("toobject", [items, key, rest @ ..]) if rest.len() <= 1 => {
            let (knames, kbody) = lambda(name, key, 1)?;
            let value = rest.first().map(|v| lambda(name, v, 1)).transpose()?;
            let mut out = Map::new();
            for x in array(items)? {
                let k = match apply(&knames, kbody, vec![x.clone()], ctx)? {
                    Value::String(s) => s,
                    other => return Err(lambda_result(name, "String", &other)),
                };
                let v = match &value {
                    Some((vnames, vbody)) => apply(vnames, vbody, vec![x], ctx)?,
                    None => x,
                };
                out.insert(k, v);
            }
            Ok(Value::Object(out))
        }
        ("mapvalues", [object, f]) => {
            let (names, body) = lambda(name, f, 1)?;
            let Value::Object(m) = evaluate(object, ctx)? else {
                return Err(invalid(
                    "The template language function 'mapValues' expects an object as its first parameter.",
                ));
            };
            let mut out = Map::new();
            for (k, v) in m {
                out.insert(k, apply(&names, body, vec![v], ctx)?);
            }
            Ok(Value::Object(out))
        }
        ("groupby", [items, f]) => {
            let (names, body) = lambda(name, f, 1)?;
            let mut out = Map::new();
            for x in array(items)? {
                let k = match apply(&names, body, vec![x.clone()], ctx)? {
                    Value::String(s) => s,
                    other => return Err(lambda_result(name, "String", &other)),
                };
                if let Value::Array(group) = out.entry(k).or_insert_with(|| Value::Array(Vec::new())) {
                    group.push(x);
                }
            }
            Ok(Value::Object(out))
        }
        _ => Err(arity(name, if lower == "reduce" { "3" } else { "2" })),
    }
}

fn lambda_result(name: &str, expected: &str, v: &Value) -> TemplateError {
    invalid(format!(
        "The lambda of the template language function '{name}' must return a value of type '{expected}'. The provided value is of type '{}'.",
        type_name(v)
    ))
}

/// A member of an object, its name matched case-insensitively as ARM matches it.
pub(crate) fn member(v: &Value, name: &str) -> Option<Value> {
    let map = v.as_object()?;
    map.get(name).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, x)| x)).cloned()
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

/// Every call in a template value's expressions, for finding implicit dependencies: the calls
/// named `reference` or `list*`, with their unevaluated arguments.
pub(crate) fn resource_calls(v: &Value, out: &mut Vec<Expr>) {
    match v {
        Value::String(s) => {
            if let Text::Expression(e) = classify(s)
                && let Ok(e) = parse(e)
            {
                collect_calls(&e, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|x| resource_calls(x, out)),
        Value::Object(m) => m.iter().for_each(|(k, x)| {
            resource_calls(&Value::String(k.clone()), out);
            resource_calls(x, out);
        }),
        _ => {}
    }
}

fn collect_calls(e: &Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::Literal(_) => {}
        Expr::Member(of, _) => collect_calls(of, out),
        Expr::Index(of, i) => {
            collect_calls(of, out);
            collect_calls(i, out);
        }
        Expr::Call { name, args } => {
            let lower = name.to_ascii_lowercase();
            if lower == "reference" || (lower.starts_with("list") && !args.is_empty()) {
                out.push(e.clone());
            }
            args.iter().for_each(|a| collect_calls(a, out));
        }
    }
}
