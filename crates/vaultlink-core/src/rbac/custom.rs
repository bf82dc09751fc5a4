//! Custom role definitions of the tenant (`az role definition create/update/delete`): their
//! validation, where they may be assigned, and their wire shape.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{DEFINITION_TYPE, role, role_definition_id, scope_covers};
use crate::engine::{Batch, State, rfc3339};
use crate::error::{Error, Result};
use crate::identity::Caller;
use crate::model::{CustomRole, Record, RecordKind};

/// Custom roles are the tenant's, whatever scope they are written at: one key per GUID.
fn key(guid: &str) -> String {
    format!("/providers/Microsoft.Authorization/roleDefinitions/{guid}")
}

pub fn get<'a>(state: &'a State, guid: &str) -> Option<&'a CustomRole> {
    match state.get(&key(guid)) {
        Some(Record::RoleDefinition(r)) => Some(&**r),
        _ => None,
    }
}

fn all(state: &State) -> impl Iterator<Item = &CustomRole> {
    state.of_kind(RecordKind::RoleDefinition).filter_map(|r| match r {
        Record::RoleDefinition(r) => Some(&**r),
        _ => None,
    })
}

/// The custom roles a list at `scope` shows: those with an assignable scope at, above or below it.
pub fn visible_at<'a>(state: &'a State, scope: &'a str) -> impl Iterator<Item = &'a CustomRole> {
    all(state).filter(move |r| r.assignable_scopes.iter().any(|a| scope_covers(a, scope) || scope_covers(scope, a)))
}

/// A custom role may be assigned only at or below one of its assignable scopes.
pub fn check_assignable(r: &CustomRole, scope: &str) -> Result<()> {
    if r.assignable_scopes.iter().any(|a| scope_covers(a, scope)) {
        return Ok(());
    }
    Err(Error::bad_request(
        "InvalidRoleDefinitionScope",
        format!("The role definition '{}' is not assignable at scope '{scope}'.", r.name),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionSpec {
    pub properties: DefinitionProperties,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionProperties {
    pub role_name: String,
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub role_type: Option<String>,
    #[serde(default)]
    pub permissions: Vec<PermissionSpec>,
    #[serde(default)]
    pub assignable_scopes: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PermissionSpec {
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub data_actions: Vec<String>,
    pub not_data_actions: Vec<String>,
}

fn invalid(message: impl Into<String>) -> Error {
    Error::bad_request("InvalidRoleDefinition", message)
}

/// PUT a custom role definition (a new GUID creates, an existing one updates). Returns (role, created).
pub fn put(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    name: &str,
    spec: DefinitionSpec,
) -> Result<(CustomRole, bool)> {
    if !vaultlink_rules::is_guid(name) {
        return Err(Error::bad_request(
            "InvalidRoleDefinitionId",
            format!("The role definition ID '{name}' is not valid. The role definition ID must be a GUID."),
        ));
    }
    if role(name).is_some() {
        return Err(Error::bad_request(
            "RoleDefinitionUpdateNotPermitted",
            format!("The role definition '{name}' is a built-in role and cannot be changed."),
        ));
    }
    let p = spec.properties;
    if p.role_type.as_deref().is_some_and(|t| !t.eq_ignore_ascii_case("CustomRole")) {
        return Err(invalid("Only a role of type 'CustomRole' can be created or updated."));
    }
    let role_name = p.role_name.trim().to_string();
    if role_name.is_empty() {
        return Err(invalid("The role name must not be empty."));
    }
    if p.permissions.len() != 1 {
        return Err(invalid("A role definition must have exactly one permissions entry."));
    }
    if p.assignable_scopes.is_empty() {
        return Err(invalid("A role definition must have at least one assignable scope."));
    }
    if let Some(bad) = p.assignable_scopes.iter().find(|s| !s.to_ascii_lowercase().starts_with("/subscriptions/")) {
        return Err(invalid(format!(
            "The assignable scope '{bad}' is not valid: custom roles are assignable at subscriptions, resource groups and resources."
        )));
    }
    let taken = super::ROLES.iter().any(|r| r.role_name.eq_ignore_ascii_case(&role_name))
        || all(state).any(|r| r.role_name.eq_ignore_ascii_case(&role_name) && !r.name.eq_ignore_ascii_case(name));
    if taken {
        return Err(Error::conflict(
            "RoleDefinitionWithSameNameExists",
            "A custom role with the same name already exists in this directory. Use a different name.",
        ));
    }
    let existing = get(state, name);
    let perms = p.permissions.into_iter().next().unwrap_or_default();
    let now = state.now();
    let r = CustomRole {
        name: name.to_ascii_lowercase(),
        role_name,
        description: p.description,
        actions: perms.actions,
        not_actions: perms.not_actions,
        data_actions: perms.data_actions,
        not_data_actions: perms.not_data_actions,
        assignable_scopes: p.assignable_scopes.iter().map(|s| s.trim_end_matches('/').to_string()).collect(),
        created_on: existing.map_or(now, |e| e.created_on),
        updated_on: now,
        created_by: existing.map_or_else(|| caller.object_id.clone(), |e| e.created_by.clone()),
    };
    batch.put(&key(name), Record::RoleDefinition(Box::new(r.clone())));
    Ok((r, existing.is_none()))
}

/// DELETE a custom role definition: refused while an assignment uses it. `None` when absent.
pub fn delete(state: &State, batch: &mut Batch, name: &str) -> Result<Option<CustomRole>> {
    if role(name).is_some() {
        return Err(Error::bad_request(
            "RoleDefinitionUpdateNotPermitted",
            format!("The role definition '{name}' is a built-in role and cannot be deleted."),
        ));
    }
    let Some(r) = get(state, name) else { return Ok(None) };
    if super::all_assignments(state).any(|a| a.role_definition_name.eq_ignore_ascii_case(&r.name)) {
        return Err(Error::conflict(
            "RoleDefinitionHasAssignments",
            "There are existing role assignments referencing role (code: RoleDefinitionHasAssignments).",
        ));
    }
    batch.delete(&key(name));
    Ok(Some(r.clone()))
}

pub fn render(scope: &str, r: &CustomRole) -> Value {
    json!({
        "properties": {
            "roleName": r.role_name,
            "type": "CustomRole",
            "description": r.description,
            "assignableScopes": r.assignable_scopes,
            "permissions": [{
                "actions": r.actions,
                "notActions": r.not_actions,
                "dataActions": r.data_actions,
                "notDataActions": r.not_data_actions,
            }],
            "createdOn": rfc3339(r.created_on),
            "updatedOn": rfc3339(r.updated_on),
            "createdBy": r.created_by,
            "updatedBy": r.created_by,
        },
        "id": role_definition_id(scope, &r.name),
        "type": DEFINITION_TYPE,
        "name": r.name,
    })
}
