//! Rendering what the runner asks for, once the plan is made: a resource's body (for what-if
//! too), a nested deployment's template and parameters, the outputs and the echoed parameters.

use serde_json::{Map, Value, json};

use super::{Loops, Nested, Plan, strip, wrap};
use crate::error::Error;
use crate::template::eval::{copy_count, evaluate_value};
use crate::template::params::{self, ParamType};
use crate::template::world::Phase;
use crate::template::{Host, TemplateError, invalid, type_name};

impl Plan {
    /// The body to PUT for resource `i`, evaluated now (after its dependencies exist, so that
    /// `reference()` sees them): every member but the template's own (`type`, `name`,
    /// `apiVersion`, `dependsOn`, `condition`, `copy`, `comments`, `scope`, `existing`,
    /// `resources`, ...). A nested deployment's `properties.template` is left as written.
    pub fn render(&self, i: usize, host: &dyn Host) -> Result<Value, TemplateError> {
        self.render_with(i, host, false)
    }

    /// [`Plan::render`] for what-if: a string whose expression needs a resource not deployed yet
    /// (the host answers `NotFound`) is kept as written, `"[reference(...)]"`.
    pub fn render_for_what_if(&self, i: usize, host: &dyn Host) -> Result<Value, TemplateError> {
        self.render_with(i, host, true)
    }

    fn render_with(&self, i: usize, host: &dyn Host, what_if: bool) -> Result<Value, TemplateError> {
        let r = &self.resources[i];
        let fixed = self.fixed();
        let env = self.env(&fixed, Some(host), Phase::Deploy, what_if);
        let ctx = Loops { outer: &env, loops: &r.loops };
        let mut body = r.raw.clone();
        let template =
            if r.nested.is_some() { body.pointer_mut("/properties/template").map(Value::take) } else { None };
        strip(&mut body, false);
        let mut out = evaluate_value(&body, &ctx).map_err(|e| {
            wrap(e, |m| format!("Unable to process template language expressions for resource '{}'. '{m}'", r.id))
        })?;
        if let (Some(t), Some(props)) = (template, out.get_mut("properties").and_then(Value::as_object_mut)) {
            props.insert("template".into(), t);
        }
        Ok(out)
    }

    /// A nested deployment's template and parameters, ready for a recursive [`prepare`] at its
    /// target. Call it when the deployment's dependencies exist (its parameters may use
    /// `reference()`).
    pub fn nested(&self, i: usize, host: &dyn Host) -> Result<Nested, TemplateError> {
        let r = &self.resources[i];
        let Some(target) = r.nested.clone() else {
            return Err(invalid(format!("The template resource '{}' is not a nested deployment.", r.name)));
        };
        let body = self.render(i, host)?;
        let link = body.pointer("/properties/templateLink").filter(|l| !l.is_null()).cloned();
        let template = match (&link, body.pointer("/properties/template")) {
            (Some(_), Some(_)) => {
                return Err(invalid(format!(
                    "The template resource '{}' has both a 'template' and a 'templateLink': give one.",
                    r.name
                )));
            }
            (Some(_), None) => Value::Null,
            (None, Some(t)) => t.clone(),
            (None, None) => {
                return Err(invalid(format!("The template resource '{}' must have a 'properties.template'.", r.name)));
            }
        };
        let mode = body.pointer("/properties/mode").and_then(Value::as_str).unwrap_or("Incremental").to_string();
        let location = body.get("location").and_then(Value::as_str).map(str::to_string);
        let given = || body.pointer("/properties/parameters").cloned().unwrap_or_else(|| json!({}));
        let parameters_link = body.pointer("/properties/parametersLink").filter(|l| !l.is_null()).cloned();
        let (template, parameters) = if target.inner || link.is_some() {
            (template, given())
        } else {
            let mut t = template;
            let mut decls = Map::new();
            let mut values = Map::new();
            for p in &self.params {
                decls.insert(p.name.clone(), json!({"type": p.kind.echo()}));
                values.insert(p.name.clone(), json!({"value": p.value}));
            }
            if let Some(m) = t.as_object_mut() {
                m.insert("parameters".into(), Value::Object(decls));
                m.insert("variables".into(), escape(&Value::Object(self.variables.clone())));
            }
            (t, Value::Object(values))
        };
        Ok(Nested { name: r.name.clone(), target, mode, location, template, parameters, link, parameters_link })
    }

    /// The outputs as ARM returns them: `{name: {type, value}}` (a secure output without its
    /// value; an output whose condition is false left out).
    pub fn outputs(&self, host: &dyn Host) -> Result<Value, TemplateError> {
        let fixed = self.fixed();
        let env = self.env(&fixed, Some(host), Phase::Deploy, false);
        let mut out = Map::new();
        for (name, o) in &self.outputs {
            let failed = |e: Error| {
                if e.code != "InvalidTemplate" {
                    return e;
                }
                Error::new(
                    e.kind,
                    "DeploymentOutputEvaluationFailed",
                    format!(
                        "Unable to evaluate template outputs: '{name}'. Please see error details and deployment operations. Please see https://aka.ms/arm-common-errors for usage details. {}",
                        e.message
                    ),
                )
            };
            if let Some(c) = o.get("condition")
                && evaluate_value(c, &env).map_err(failed)? != Value::Bool(true)
            {
                continue;
            }
            let declared = o.get("type").and_then(Value::as_str).unwrap_or("object");
            let kind = ParamType::parse(declared).ok_or_else(|| {
                failed(invalid(format!("The template output '{name}' has a type '{declared}' that is not valid.")))
            })?;
            let value = match o.get("copy") {
                Some(c) => {
                    let count = copy_count(&c["count"], &env, name).map_err(failed)?;
                    let mut items = Vec::with_capacity(count);
                    for index in 0..count {
                        let bound = [(name.clone(), index)];
                        items.push(evaluate_value(&c["input"], &Loops { outer: &env, loops: &bound }).map_err(failed)?);
                    }
                    Value::Array(items)
                }
                None => evaluate_value(o.get("value").unwrap_or(&Value::Null), &env).map_err(failed)?,
            };
            if !kind.accepts(&value) {
                return Err(failed(invalid(format!(
                    "The template output '{name}' is not valid: Template output JToken type is not valid. Expected '{}'. Actual '{}'.",
                    kind.expected(),
                    type_name(&value)
                ))));
            }
            let entry =
                if kind.secure() { json!({"type": kind.echo()}) } else { json!({"type": kind.echo(), "value": value}) };
            out.insert(name.clone(), entry);
        }
        Ok(Value::Object(out))
    }

    /// The parameters as ARM echoes them: `{name: {type, value}}`; a `secureString` or
    /// `secureObject` parameter's value is never included.
    pub fn parameters(&self) -> Value {
        params::echo(&self.params)
    }

    /// The strings the secure parameters hold (a `securestring`'s value, each string inside a
    /// `secureObject`): what a deployment's recorded request content must never show.
    pub fn secure_strings(&self) -> Vec<String> {
        fn strings(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::String(s) if !s.is_empty() => out.push(s.clone()),
                Value::Array(items) => items.iter().for_each(|x| strings(x, out)),
                Value::Object(m) => m.values().for_each(|x| strings(x, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        self.params.iter().filter(|p| p.kind.secure()).for_each(|p| strings(&p.value, &mut out));
        out
    }
}

/// A value made literal for a template: every string that would read as an expression escaped
/// (`[x]` -> `[[x]`).
fn escape(v: &Value) -> Value {
    match v {
        Value::String(s) if s.starts_with('[') => Value::String(format!("[{s}")),
        Value::Array(items) => Value::Array(items.iter().map(escape).collect()),
        Value::Object(m) => Value::Object(
            m.iter().map(|(k, x)| (if k.starts_with('[') { format!("[{k}") } else { k.clone() }, escape(x))).collect(),
        ),
        other => other.clone(),
    }
}
