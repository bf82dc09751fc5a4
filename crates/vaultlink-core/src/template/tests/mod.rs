//! The template language's tests: each function, parameters, plans (copy loops, conditions,
//! ordering, nested children, `languageVersion` 2.0, nested deployments) and the seed's topology
//! as Bicep compiles it, over a fake [`Host`](super::Host).

mod functions;
mod params;
mod plan;
mod topology;
mod world;

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{Host, Plan, ResourceGroupInfo, Scope, TemplateError, prepare};
use crate::error::Error;

pub(super) const SUB: &str = "4f1b2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
pub(super) const RG_ID: &str = "/subscriptions/4f1b2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d/resourceGroups/rg1";

/// A resource-group deployment `deploy1` in `rg1` (westeurope).
pub(super) fn scope() -> Scope {
    Scope {
        tenant_id: "8d3a7e52-6c1f-4b0e-9a57-2f4c8e1b6d90".into(),
        tenant_display_name: "vaultlink".into(),
        subscription_id: SUB.into(),
        subscription_display_name: "vaultlink-dev".into(),
        resource_group: Some(ResourceGroupInfo {
            name: "rg1".into(),
            location: "westeurope".into(),
            tags: Map::from_iter([("env".to_string(), json!("dev"))]),
        }),
        deployment_name: "deploy1".into(),
        location: None,
        now: time::macros::datetime!(2024-03-05 07:08:09.123456789 UTC),
        template_link: None,
    }
}

/// The world as a map from lower-cased id to the resource's full GET answer; records every call.
#[derive(Default)]
pub(super) struct FakeHost {
    pub resources: RefCell<BTreeMap<String, Value>>,
    pub calls: RefCell<Vec<String>>,
}

impl FakeHost {
    /// Records a deployed resource as a PUT of `body` at `id` would leave it.
    pub(super) fn put(&self, id: &str, body: &Value) {
        let mut r = body.clone();
        r["id"] = json!(id);
        r["name"] = json!(id.rsplit('/').next().unwrap_or_default());
        if r.get("properties").is_none() {
            r["properties"] = json!({});
        }
        self.resources.borrow_mut().insert(id.to_ascii_lowercase(), r);
    }
}

impl Host for FakeHost {
    fn reference(&self, id: &str, api: Option<&str>, full: bool) -> Result<Value, TemplateError> {
        self.calls.borrow_mut().push(format!("reference {id} {} {full}", api.unwrap_or("-")));
        let r = self.resources.borrow().get(&id.to_ascii_lowercase()).cloned().ok_or_else(|| {
            Error::not_found(
                "ResourceNotFound",
                format!("The Resource '{id}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"),
            )
        })?;
        Ok(if full { r } else { r["properties"].clone() })
    }

    fn list(&self, id: &str, function: &str, api: &str, body: Option<&Value>) -> Result<Value, TemplateError> {
        self.calls
            .borrow_mut()
            .push(format!("{function} {id} {api} {}", body.map(Value::to_string).unwrap_or_default()));
        if !self.resources.borrow().contains_key(&id.to_ascii_lowercase()) {
            return Err(Error::not_found("ResourceNotFound", format!("The Resource '{id}' was not found.")));
        }
        match function {
            "listKeys" => Ok(json!({"keys": [{"keyName": "key1", "value": "secret-key"}]})),
            _ => Err(Error::bad_request("NotSupported", format!("The resource '{id}' has no operation '{function}'."))),
        }
    }
}

pub(super) fn plan(template: &Value, parameters: &Value) -> Plan {
    prepare(template, parameters, &scope(), &FakeHost::default())
        .unwrap_or_else(|e| panic!("{}: {}", e.code, e.message))
}

pub(super) fn refused(template: &Value, parameters: &Value) -> Error {
    match prepare(template, parameters, &scope(), &FakeHost::default()) {
        Ok(p) => panic!("prepared: {:?}", p.resources().iter().map(|r| &r.id).collect::<Vec<_>>()),
        Err(e) => e,
    }
}

/// A template of 1.0 with these sections.
pub(super) fn template(sections: Value) -> Value {
    let mut t = json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [],
    });
    for (k, v) in sections.as_object().into_iter().flatten() {
        t[k] = v.clone();
    }
    t
}

/// The value of one output of a template with these sections.
pub(super) fn output(sections: Value, expression: Value) -> Value {
    let mut sections = sections;
    sections["outputs"] = json!({"o": {"type": "object", "value": {"v": expression}}});
    let p = plan(&template(sections), &json!({}));
    let out = p.outputs(&FakeHost::default()).unwrap_or_else(|e| panic!("{}: {}", e.code, e.message));
    out["o"]["value"]["v"].clone()
}
