//! From a template to the resources a deployment PUTs: [`prepare`] validates the parameters,
//! evaluates the variables, expands the resources (conditions, copy loops, nested child
//! resources, `languageVersion` 2.0's symbolic names and `existing` resources), resolves every
//! dependency (explicit `dependsOn`, implicit from `reference()`/`list*()`, serial batches, a
//! child's parent) and orders them; the [`Plan`] then renders each body, the outputs, the
//! echoed parameters and each nested deployment's inner template when the runner asks.
//! `order.rs` resolves the dependencies and orders; `render.rs` renders.

mod order;
mod render;

use std::cell::RefCell;

use serde_json::{Map, Value};

use super::eval::{Context, copy_count, evaluate_value};
use super::params::{self, Parameter};
use super::world::{Declared, Env, Phase, Source, build_id};
use super::{Host, Scope, TemplateError, invalid, type_name, validation_failed};
use crate::error::Error;

/// A template's resource members that only the template reads (never sent to the provider).
const TEMPLATE_ONLY: &[&str] = &[
    "type",
    "name",
    "apiVersion",
    "dependsOn",
    "condition",
    "copy",
    "comments",
    "scope",
    "existing",
    "resources",
    "metadata",
    "subscriptionId",
    "resourceGroup",
];

/// The type of a nested deployment.
const DEPLOYMENTS: &str = "Microsoft.Resources/deployments";

/// A validated template, ready to deploy.
#[derive(Debug, Clone)]
pub struct Plan {
    scope: Scope,
    params: Vec<Parameter>,
    variables: Map<String, Value>,
    declared: Vec<Declared>,
    resources: Vec<PlannedResource>,
    outputs: Map<String, Value>,
    deployment: Value,
}

/// One resource the template deploys.
#[derive(Debug, Clone)]
pub struct PlannedResource {
    /// The full ARM id.
    pub id: String,
    /// `Microsoft.Network/privateEndpoints/privateDnsZoneGroups`.
    pub resource_type: String,
    /// The full name, `pe-1/default` for a child.
    pub name: String,
    pub api_version: String,
    /// Indexes into [`Plan::resources`] of what must exist first (all earlier in the order).
    pub depends_on: Vec<usize>,
    /// `languageVersion` 2.0's symbolic name (`pes[1]` for a copy loop's member).
    pub symbolic_name: Option<String>,
    /// The copy loop this resource is a member of, and its index in it.
    pub copy: Option<(String, usize)>,
    /// For a nested deployment (`Microsoft.Resources/deployments`): where it deploys.
    pub nested: Option<NestedTarget>,
    raw: Value,
    loops: Vec<(String, usize)>,
}

/// Where a nested deployment deploys, and how its expressions are evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NestedTarget {
    pub subscription_id: String,
    /// `None`: a subscription-scope deployment.
    pub resource_group: Option<String>,
    /// `expressionEvaluationOptions.scope` is `inner`: the nested template evaluates its own
    /// parameters; `outer` (ARM's default): it sees the parent's parameters and variables.
    pub inner: bool,
}

/// A nested deployment, ready for a recursive [`prepare`] at its target: run
/// `prepare(&nested.template, &nested.parameters, &scope_of(nested.target, nested.name), host)`.
#[derive(Debug, Clone)]
pub struct Nested {
    /// The nested deployment's name (its `deployment().name`).
    pub name: String,
    pub target: NestedTarget,
    /// `Incremental` or `Complete`.
    pub mode: String,
    /// A subscription-scope nested deployment's `location`.
    pub location: Option<String>,
    /// The inner template. For the outer scope, its `parameters` are the parent's declarations
    /// and its `variables` the parent's values (escaped), so that it evaluates as ARM evaluates
    /// an outer-scope template. `Null` for a linked one.
    pub template: Value,
    /// `{name: {value}}`.
    pub parameters: Value,
    /// A linked template's `templateLink` and `parametersLink`, evaluated (`uri` or
    /// `relativePath`, ...): the runner fetches them. A linked template always has the inner
    /// scope: it sees only the parameters it is given.
    pub link: Option<Value>,
    pub parameters_link: Option<Value>,
}

/// A copy loop's member bound while its resource is evaluated.
struct Loops<'a> {
    outer: &'a dyn Context,
    loops: &'a [(String, usize)],
}

impl Context for Loops<'_> {
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
        let found = match loop_name {
            None => self.loops.last(),
            Some(n) => self.loops.iter().rev().find(|(l, _)| l.eq_ignore_ascii_case(n)),
        };
        found.map(|(_, i)| *i).or_else(|| self.outer.copy_index(loop_name))
    }
    fn what_if(&self) -> bool {
        self.outer.what_if()
    }
}

/// Parameters and variables once evaluated.
struct Fixed<'a> {
    params: &'a [Parameter],
    variables: &'a Map<String, Value>,
}

fn find_param<'a>(params: &'a [Parameter], name: &str) -> Result<&'a Parameter, TemplateError> {
    params.iter().find(|p| p.name.eq_ignore_ascii_case(name)).ok_or_else(|| {
        invalid(format!(
            "The template parameter '{name}' is not found. Please see https://aka.ms/arm-syntax-parameters for usage details."
        ))
    })
}

fn variable_not_found(name: &str) -> TemplateError {
    invalid(format!(
        "The template variable '{name}' is not found. Please see https://aka.ms/arm-syntax-variables for usage details."
    ))
}

impl Source for Fixed<'_> {
    fn parameter(&self, name: &str) -> Result<Value, TemplateError> {
        Ok(find_param(self.params, name)?.value.clone())
    }
    fn variable(&self, name: &str) -> Result<Value, TemplateError> {
        self.variables
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .ok_or_else(|| variable_not_found(name))
    }
}

/// Variables evaluated on demand during [`prepare`] (one may use another, in any order); the
/// `copy` section's loops are variables too.
struct LazyVariables<'a> {
    params: &'a [Parameter],
    raw: &'a Map<String, Value>,
    scope: &'a Scope,
    deployment: &'a Value,
    done: RefCell<Map<String, Value>>,
    busy: RefCell<Vec<String>>,
}

impl LazyVariables<'_> {
    fn copy_loop(&self, name: &str) -> Option<&Value> {
        self.raw
            .get("copy")?
            .as_array()?
            .iter()
            .find(|l| l["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.raw.keys().filter(|k| *k != "copy").cloned().collect();
        if let Some(loops) = self.raw.get("copy").and_then(Value::as_array) {
            names.extend(loops.iter().filter_map(|l| l["name"].as_str().map(str::to_string)));
        }
        names
    }
}

impl Source for LazyVariables<'_> {
    fn parameter(&self, name: &str) -> Result<Value, TemplateError> {
        Ok(find_param(self.params, name)?.value.clone())
    }
    fn variable(&self, name: &str) -> Result<Value, TemplateError> {
        let key =
            self.names().into_iter().find(|k| k.eq_ignore_ascii_case(name)).ok_or_else(|| variable_not_found(name))?;
        if let Some(v) = self.done.borrow().get(&key) {
            return Ok(v.clone());
        }
        if self.busy.borrow().contains(&key) {
            return Err(invalid(format!("The template variable '{key}' is not valid: it depends on itself.")));
        }
        self.busy.borrow_mut().push(key.clone());
        let env = Env {
            scope: self.scope,
            source: self,
            resources: &[],
            host: None,
            phase: Phase::Static,
            what_if: false,
            deployment: self.deployment,
        };
        let value = match self.copy_loop(&key) {
            Some(l) => copy_count(&l["count"], &env, &key).and_then(|count| {
                (0..count)
                    .map(|index| {
                        let bound = [(key.clone(), index)];
                        evaluate_value(&l["input"], &Loops { outer: &env, loops: &bound })
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Value::Array)
            }),
            None => evaluate_value(&self.raw[&key], &env),
        }
        .map_err(|e| wrap(e, |m| format!("The template variable '{key}' is not valid: {m}")))?;
        self.busy.borrow_mut().retain(|b| b != &key);
        self.done.borrow_mut().insert(key, value.clone());
        Ok(value)
    }
}

/// An `InvalidTemplate` error's message reworded around its cause; other errors unchanged.
fn wrap(e: Error, f: impl FnOnce(&str) -> String) -> Error {
    if e.code != "InvalidTemplate" {
        return e;
    }
    let message = f(&e.message);
    Error { message, ..e }
}

/// Validates a deployment's template and parameters and plans its resources.
///
/// `parameters` is `{name: {value: ...}}` as ARM takes them. Errors are ARM's `InvalidTemplate`
/// ("Deployment template validation failed: '...'."), or a host's own error from a `reference()`
/// in a resource's `condition`.
pub fn prepare(template: &Value, parameters: &Value, scope: &Scope, host: &dyn Host) -> Result<Plan, TemplateError> {
    if !template.is_object() {
        return Err(validation_failed(invalid("The template must be a JSON object.")));
    }
    if template.get("functions").and_then(Value::as_array).is_some_and(|f| !f.is_empty()) {
        return Err(validation_failed(invalid(
            "The template's user-defined 'functions' are not supported by vaultlink. Please see https://aka.ms/arm-syntax for usage details.",
        )));
    }
    let params = params::resolve(template, parameters, scope).map_err(validation_failed)?;
    let given = parameters.as_object().cloned().unwrap_or_default();
    let deployment = super::world::deployment_info(scope, template, &given);
    let raw_vars = match template.get("variables") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(validation_failed(invalid("The template 'variables' section must be an object."))),
    };
    let lazy = LazyVariables {
        params: &params,
        raw: &raw_vars,
        scope,
        deployment: &deployment,
        done: RefCell::new(Map::new()),
        busy: RefCell::new(Vec::new()),
    };
    for name in lazy.names() {
        lazy.variable(&name).map_err(validation_failed)?;
    }
    let variables = lazy.done.into_inner();
    let outputs = match template.get("outputs") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(validation_failed(invalid("The template 'outputs' section must be an object."))),
    };
    let mut plan = Plan {
        scope: scope.clone(),
        params,
        variables,
        declared: Vec::new(),
        resources: Vec::new(),
        outputs,
        deployment,
    };
    let symbolic = template.get("languageVersion").and_then(Value::as_str).is_some_and(|v| v.starts_with('2'));
    let list: Vec<(Option<String>, Value)> = match template.get("resources") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) if !symbolic => items.iter().map(|r| (None, r.clone())).collect(),
        Some(Value::Object(m)) if symbolic => m.iter().map(|(k, r)| (Some(k.clone()), r.clone())).collect(),
        Some(_) => {
            return Err(validation_failed(invalid(if symbolic {
                "The template 'resources' section must be an object of symbolic names when 'languageVersion' is '2.0'."
            } else {
                "The template 'resources' section must be an array."
            })));
        }
    };
    let mut expanded = Vec::new();
    for (sym, raw) in &list {
        plan.expand(sym.as_deref(), raw, None, host, &mut expanded).map_err(validation_failed)?;
    }
    plan.order(expanded).map_err(validation_failed)?;
    Ok(plan)
}

/// A resource expanded, before ordering.
struct Member {
    resource: PlannedResource,
    deployed: bool,
    parent: Option<usize>,
    serial: Option<usize>,
}

/// What a nested child inherits from its parent.
struct Parent<'a> {
    resource_type: &'a str,
    name: &'a str,
    loops: &'a [(String, usize)],
    index: usize,
    deployed: bool,
}

impl Plan {
    fn env<'a>(&'a self, source: &'a Fixed<'a>, host: Option<&'a dyn Host>, phase: Phase, what_if: bool) -> Env<'a> {
        Env {
            scope: &self.scope,
            source,
            resources: &self.declared,
            host,
            phase,
            what_if,
            deployment: &self.deployment,
        }
    }

    fn fixed(&self) -> Fixed<'_> {
        Fixed { params: &self.params, variables: &self.variables }
    }

    /// Expands one resource of the template (and its nested children) into `out`.
    fn expand(
        &mut self,
        symbolic: Option<&str>,
        raw: &Value,
        parent: Option<&Parent<'_>>,
        host: &dyn Host,
        out: &mut Vec<Member>,
    ) -> Result<(), TemplateError> {
        let label = raw.get("name").and_then(Value::as_str).or(symbolic).unwrap_or("").to_string();
        let resource_error = |e: Error| {
            wrap(e, |m| {
                format!(
                    "The template resource '{label}' is not valid: {m} Please see https://aka.ms/arm-syntax-resources for usage details."
                )
            })
        };
        let base_loops: Vec<(String, usize)> = parent.map(|p| p.loops.to_vec()).unwrap_or_default();
        let copy = raw.get("copy").filter(|c| c.is_object());
        let members: Vec<Vec<(String, usize)>> = match copy {
            None => vec![base_loops.clone()],
            Some(c) => {
                let fixed = self.fixed();
                let env = self.env(&fixed, None, Phase::Static, false);
                let ctx = Loops { outer: &env, loops: &base_loops };
                let name = match evaluate_value(&c["name"], &ctx).map_err(resource_error)? {
                    Value::String(s) => s,
                    _ => {
                        return Err(invalid(format!(
                            "The template resource '{label}' copy must have a string 'name'."
                        )));
                    }
                };
                let count = copy_count(&c["count"], &ctx, &name).map_err(resource_error)?;
                (0..count)
                    .map(|i| {
                        let mut l = base_loops.clone();
                        l.push((name.clone(), i));
                        l
                    })
                    .collect()
            }
        };
        let copy_name = copy.and(members.first()).and_then(|l| l.last()).map(|(n, _)| n.clone());
        let serial = copy.and_then(|c| {
            let serial = c.get("mode").and_then(Value::as_str).is_some_and(|m| m.eq_ignore_ascii_case("serial"));
            serial.then(|| c.get("batchSize").and_then(Value::as_u64).unwrap_or(1).max(1) as usize)
        });
        for loops in members {
            let member =
                self.member(symbolic, raw, parent, &loops, copy_name.as_deref(), host).map_err(resource_error)?;
            let Some((mut resource, deployed, existing)) = member else { continue };
            resource.loops = loops.clone();
            let index = out.len();
            if !existing {
                out.push(Member { resource: resource.clone(), deployed, parent: parent.map(|p| p.index), serial });
            }
            if deployed || existing {
                self.declared.push(Declared {
                    symbolic: resource.symbolic_name.clone(),
                    name: resource.name.clone(),
                    resource_type: resource.resource_type.clone(),
                    id: resource.id.clone(),
                    api_version: resource.api_version.clone(),
                    copy_name: copy_name.clone(),
                });
            }
            if let Some(children) = raw.get("resources").and_then(Value::as_array) {
                let p = Parent {
                    resource_type: &resource.resource_type,
                    name: &resource.name,
                    loops: &loops,
                    index,
                    deployed: deployed && !existing,
                };
                for child in children {
                    self.expand(None, child, Some(&p), host, out)?;
                }
            }
        }
        Ok(())
    }

    /// One member of a resource: `None` for nothing at all; otherwise the resource, whether its
    /// condition holds, and whether it is `existing`.
    fn member(
        &self,
        symbolic: Option<&str>,
        raw: &Value,
        parent: Option<&Parent<'_>>,
        loops: &[(String, usize)],
        copy_name: Option<&str>,
        host: &dyn Host,
    ) -> Result<Option<(PlannedResource, bool, bool)>, TemplateError> {
        let fixed = self.fixed();
        let env = self.env(&fixed, None, Phase::Static, false);
        let ctx = Loops { outer: &env, loops };
        let text = |key: &str| -> Result<Option<String>, TemplateError> {
            match raw.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => match evaluate_value(v, &ctx)? {
                    Value::String(s) => Ok(Some(s)),
                    other => Err(invalid(format!(
                        "The template resource property '{key}' must be a string: it is of type '{}'.",
                        type_name(&other)
                    ))),
                },
            }
        };
        let own_type = text("type")?.ok_or_else(|| invalid("The template resource must have a 'type'."))?;
        let own_name = text("name")?.ok_or_else(|| invalid("The template resource must have a 'name'."))?;
        let api_version = text("apiVersion")?.unwrap_or_default();
        let (resource_type, name) = match parent {
            None => (own_type, own_name),
            Some(p) => {
                let t = if own_type.contains('/') { own_type } else { format!("{}/{own_type}", p.resource_type) };
                let want = t.split('/').count() - 1;
                let n = if own_name.split('/').count() == want { own_name } else { format!("{}/{own_name}", p.name) };
                (t, n)
            }
        };
        let type_segments = resource_type.split('/').count();
        if type_segments < 2 || name.split('/').count() != type_segments - 1 {
            return Err(invalid(format!(
                "The template resource '{name}' for type '{resource_type}' has incorrect segment lengths. A nested resource type must have identical number of segments as its resource name. A root resource type must have segment length one greater than its resource name."
            )));
        }
        let existing = raw.get("existing") == Some(&Value::Bool(true));
        let subscription = text("subscriptionId")?;
        let group = text("resourceGroup")?;
        let scope_prop = text("scope")?;
        let names: Vec<&str> = name.split('/').collect();
        let prefix = match (&subscription, &group) {
            (None, None) => self.scope.id(),
            (s, Some(g)) => {
                format!("/subscriptions/{}/resourceGroups/{g}", s.as_deref().unwrap_or(&self.scope.subscription_id))
            }
            (Some(s), None) => format!("/subscriptions/{s}"),
        };
        let id = if resource_type.eq_ignore_ascii_case("Microsoft.Resources/resourceGroups") {
            format!(
                "/subscriptions/{}/resourceGroups/{name}",
                subscription.as_deref().unwrap_or(&self.scope.subscription_id)
            )
        } else {
            match &scope_prop {
                Some(s) if s.starts_with('/') => build_id(s.trim_end_matches('/'), &resource_type, &names, "scope")?,
                Some(s) if !s.is_empty() => {
                    build_id(&format!("{}/providers/{s}", self.scope.id()), &resource_type, &names, "scope")?
                }
                _ => build_id(&prefix, &resource_type, &names, "resourceId")?,
            }
        };
        let nested = resource_type.eq_ignore_ascii_case(DEPLOYMENTS).then(|| {
            let inner = raw
                .pointer("/properties/expressionEvaluationOptions/scope")
                .and_then(Value::as_str)
                .is_some_and(|s| s.eq_ignore_ascii_case("inner"));
            NestedTarget {
                subscription_id: subscription.clone().unwrap_or_else(|| self.scope.subscription_id.clone()),
                resource_group: group.clone().or_else(|| {
                    if subscription.is_some() {
                        None
                    } else {
                        self.scope.resource_group.as_ref().map(|g| g.name.clone())
                    }
                }),
                inner,
            }
        });
        let deployed = parent.is_none_or(|p| p.deployed)
            && match raw.get("condition") {
                None => true,
                Some(c) => {
                    let env = self.env(&fixed, Some(host), Phase::Deploy, false);
                    match evaluate_value(c, &Loops { outer: &env, loops })? {
                        Value::Bool(b) => b,
                        Value::String(s) if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") => {
                            s.eq_ignore_ascii_case("true")
                        }
                        other => {
                            return Err(invalid(format!(
                                "The template resource condition must be of type 'Boolean': it is of type '{}'.",
                                type_name(&other)
                            )));
                        }
                    }
                }
            };
        let symbolic_name = symbolic.map(|s| match (copy_name, loops.last()) {
            (Some(_), Some((_, i))) => format!("{s}[{i}]"),
            _ => s.to_string(),
        });
        let copy = copy_name.and_then(|n| loops.last().map(|(_, i)| (n.to_string(), *i)));
        let resource = PlannedResource {
            id,
            resource_type,
            name,
            api_version,
            depends_on: Vec::new(),
            symbolic_name,
            copy,
            nested,
            raw: raw.clone(),
            loops: Vec::new(),
        };
        Ok(Some((resource, deployed, existing)))
    }

    /// Every resource the template deploys, in an order where each comes after all it depends
    /// on.
    pub fn resources(&self) -> &[PlannedResource] {
        &self.resources
    }
}

/// Removes the template-only members of a resource (and, for an inner-scope nested deployment,
/// its template, which its own deployment evaluates).
fn strip(body: &mut Value, drop_template: bool) {
    if let Some(m) = body.as_object_mut() {
        m.retain(|k, _| !TEMPLATE_ONLY.iter().any(|t| t.eq_ignore_ascii_case(k)));
        if drop_template && let Some(p) = m.get_mut("properties").and_then(Value::as_object_mut) {
            p.remove("template");
        }
    }
}
