//! The ARM template language as Resource Manager evaluates it (issue 17, item 2): a pure module
//! that turns a deployment's template and parameters into the resources to PUT, in an order that
//! respects their dependencies, and evaluates each body, the outputs and the echoed parameters.
//! It runs nothing itself: the deployment runner (`Microsoft.Resources/deployments`) drives it and
//! answers what it asks of the world through [`Host`].
//!
//! # Use
//! ```text
//! let plan = template::prepare(&template, &parameters, &scope, &host)?;   // validation
//! for i in order (plan.resources()[i].depends_on all done first):
//!     if let Some(target) = &plan.resources()[i].nested {                  // a nested deployment
//!         let nested = plan.nested(i, &host)?;  // template + parameters for a recursive prepare()
//!         ... run it at `target` (a new Scope), then record the deployment resource ...
//!     } else {
//!         let body = plan.render(i, &host)?;    // after its dependencies exist
//!         ... PUT plan.resources()[i].id with body through the ARM handler ...
//!     }
//! let outputs = plan.outputs(&host)?;  let echoed = plan.parameters();
//! ```
//! What-if renders with [`Plan::render_for_what_if`]: a value whose `reference()`/`list*()` needs
//! a resource not deployed yet (the host answers `NotFound`) stays the expression's text, as
//! ARM's what-if shows it.
//!
//! # Rooms
//! `expr.rs` parses `[...]`; `eval.rs` evaluates over a [`Context`] (`if` and the lambdas lazily,
//! `copyIndex`, property `copy`); `functions.rs` is the one table of pure functions (one line
//! each), `hash.rs` `uniqueString`/`guid`, `cidr.rs` the CIDR functions; `world.rs` the
//! deployment's own functions (`resourceId` family, `reference`, `list*`, `resourceGroup`,
//! `deployment`, `environment`, `utcNow`, ...) over [`Scope`] and [`Host`]; `params.rs` the
//! parameters' types and constraints; `plan.rs` resources: conditions, copy loops, nested children,
//! symbolic names, `existing`, dependencies and their order, rendering, outputs, nested
//! deployments.
//!
//! # Errors
//! Every refusal is a core [`Error`] (`TemplateError`). Validation in [`prepare`] answers ARM's
//! `InvalidTemplate` with "Deployment template validation failed: '...'." around the cause, in
//! ARM's words where they are known (missing and unknown parameters, JToken types, allowed values,
//! unknown functions, circular dependencies, resources not defined). Rendering answers
//! `InvalidTemplate` "Unable to process template language expressions for resource '...'";
//! outputs `DeploymentOutputEvaluationFailed`. A host's own error (`ResourceNotFound`, ...) passes
//! through unchanged.
//!
//! # Left out
//! Line and column positions in messages (the template arrives as a parsed value: ARM's "at line
//! 'n' and column 'm'" is omitted); template specs (a linked template is fetched by the runner:
//! [`Nested::link`] names it);
//! Key Vault references in parameters (refused with a clear error: the runner may resolve them and
//! pass `{value}`); user-defined functions (`functions`) and types (`definitions` are read only to
//! find a parameter's type); `format` specifiers after `:`; date functions other than `utcNow`
//! (`dateTimeAdd`, ...); `pickZones`, `managementGroup()`, `references()`; the outer scope's
//! quirks (a nested template evaluated in the outer scope sees the *parent's* `resourceGroup()`
//! and `copyIndex()` in ARM; here its target's, and none). vaultlink's choice: a nested child
//! resource is ordered after its parent even without a `dependsOn` (ARM requires one).
//!
//! It sits low among the core's rooms, beside `wire` and `armops`: it uses only `error` (nothing
//! of the engine or the resources; what it needs of them comes through [`Host`]).

mod cidr;
pub mod eval;
pub mod expr;
pub mod functions;
mod hash;
mod params;
mod plan;
#[cfg(test)]
mod tests;
mod world;

use serde_json::Value;

pub use eval::{Context, evaluate, evaluate_text, evaluate_value};
pub use expr::{Expr, Text, classify, parse};
pub use functions::FUNCTIONS;
pub use hash::{guid, template_hash};
pub use plan::{Nested, NestedTarget, Plan, PlannedResource, prepare};
pub use world::shown_link;

use crate::error::{Error, Kind};

/// A template error: a core error with ARM's code and message (`InvalidTemplate`, ...).
pub type TemplateError = Error;

pub(crate) fn invalid(message: impl Into<String>) -> TemplateError {
    Error::new(Kind::BadRequest, "InvalidTemplate", message)
}

/// Where a deployment runs, and what `resourceGroup()`, `subscription()`, `tenant()`,
/// `deployment()` and `environment()` answer.
#[derive(Debug, Clone)]
pub struct Scope {
    pub tenant_id: String,
    pub tenant_display_name: String,
    pub subscription_id: String,
    pub subscription_display_name: String,
    /// The resource group of a resource-group deployment; `None` at subscription scope.
    pub resource_group: Option<ResourceGroupInfo>,
    pub deployment_name: String,
    /// A subscription-scope deployment's location (`deployment().location`).
    pub location: Option<String>,
    /// The deployment's clock, for `utcNow()`.
    pub now: time::OffsetDateTime,
    /// A linked template's `templateLink` (`uri`, `contentVersion`; `queryString` is kept for
    /// the nested links it resolves, and never shown): `deployment().properties.templateLink`.
    pub template_link: Option<Value>,
}

/// The resource group a deployment runs in.
#[derive(Debug, Clone)]
pub struct ResourceGroupInfo {
    pub name: String,
    pub location: String,
    pub tags: serde_json::Map<String, Value>,
}

impl Scope {
    /// The deployment scope's id: `/subscriptions/{s}` or `/subscriptions/{s}/resourceGroups/{g}`.
    pub fn id(&self) -> String {
        match &self.resource_group {
            Some(g) => format!("/subscriptions/{}/resourceGroups/{}", self.subscription_id, g.name),
            None => format!("/subscriptions/{}", self.subscription_id),
        }
    }
}

/// What the evaluator asks of the world while it evaluates (the runner implements it over the
/// state).
pub trait Host {
    /// `reference(id, apiVersion?, 'Full'?)`: the resource's current GET answer (its `properties`
    /// only unless `full`). An error for a resource that does not exist (ARM's
    /// `ResourceNotFound`, kind `NotFound`; what-if keeps such expressions as text).
    fn reference(&self, resource_id: &str, api_version: Option<&str>, full: bool) -> Result<Value, TemplateError>;
    /// `listKeys(...)` / `list*(...)` on a resource: an error where the resource has none.
    fn list(
        &self,
        resource_id: &str,
        function: &str,
        api_version: &str,
        body: Option<&Value>,
    ) -> Result<Value, TemplateError>;
}

/// ARM's names of value types, as its messages give them.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(n) if !n.is_i64() && !n.is_u64() => "Float",
        Value::Number(_) => "Integer",
        Value::String(_) => "String",
        Value::Array(_) => "Array",
        Value::Object(_) => "Object",
    }
}

pub(crate) fn arity(name: &str, expected: &str) -> TemplateError {
    invalid(format!(
        "Unable to evaluate template language function '{name}': function requires {expected} argument(s). Please see https://aka.ms/arm-functions for usage details."
    ))
}

/// Wraps a validation error in ARM's "Deployment template validation failed: '...'." (an
/// `InvalidTemplate` only; other codes pass through).
pub(crate) fn validation_failed(e: TemplateError) -> TemplateError {
    if e.code != "InvalidTemplate" || e.message.starts_with("Deployment template validation failed") {
        return e;
    }
    Error { message: format!("Deployment template validation failed: '{}'.", e.message), ..e }
}
