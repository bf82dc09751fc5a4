//! Managed run commands (`Microsoft.Compute/virtualMachines/runCommands`, `az vm run-command
//! create/show/list/delete`): a script stored as a child resource of its VM, with the instance
//! view of its last run. The run itself is the surface's (`arm/compute.rs`), which records how
//! it ended here ([`finish`]). Protected parameters and a run-as password are never stored.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Error, Result, VirtualMachine, get_vm, invalid_parameter, require_running, resources};
use crate::engine::{Batch, State, guid};
use crate::identity::Caller;
use crate::model::{Record, RunCommandInstance, Tags, VmRunCommand};

pub const RUN_COMMAND_TYPE: &str = "Microsoft.Compute/virtualMachines/runCommands";

/// The longest a managed run command may run, and what `timeoutInSeconds: 0` (or none) means:
/// Run Command's 90 minutes (docs/behaviour.md).
pub const MAX_TIMEOUT_SECONDS: u32 = 90 * 60;

/// Run commands one VM may hold (vaultlink's bound; Azure documents none).
pub const MAX_PER_VM: usize = 25;

/// Execution states (`instanceView.executionState`).
pub mod state {
    pub const RUNNING: &str = "Running";
    pub const SUCCEEDED: &str = "Succeeded";
    pub const FAILED: &str = "Failed";
    pub const TIMED_OUT: &str = "TimedOut";
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunCommandSpec {
    pub location: String,
    #[serde(default)]
    pub tags: Option<Tags>,
    #[serde(default)]
    pub properties: RunCommandPropertiesSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunCommandPropertiesSpec {
    #[serde(default)]
    pub source: Option<SourceSpec>,
    #[serde(default)]
    pub parameters: Vec<ParameterSpec>,
    #[serde(default)]
    pub protected_parameters: Vec<ParameterSpec>,
    pub async_execution: Option<bool>,
    pub run_as_user: Option<String>,
    pub run_as_password: Option<String>,
    pub timeout_in_seconds: Option<i64>,
    pub output_blob_uri: Option<String>,
    pub error_blob_uri: Option<String>,
    pub treat_failure_as_deployment_failure: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceSpec {
    pub script: Option<String>,
    pub script_uri: Option<String>,
    pub command_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ParameterSpec {
    pub name: String,
    #[serde(default)]
    pub value: String,
}

/// What the surface needs to start a run: the command as stored, its VM, and the protected
/// parameters (only ever in memory).
pub struct Run {
    pub command: VmRunCommand,
    pub vm: VirtualMachine,
    pub protected_parameters: Vec<(String, String)>,
}

fn id_of(vm_id: &str, name: &str) -> String {
    format!("{vm_id}/runCommands/{name}")
}

fn not_found(name: &str, vm_name: &str) -> Error {
    Error::not_found(
        "ResourceNotFound",
        format!("The Resource '{RUN_COMMAND_TYPE}' with name '{vm_name}/{name}' under resource group was not found."),
    )
}

fn unsupported(field: &str, why: &str) -> Error {
    invalid_parameter(field, format!("'{field}' is not supported by vaultlink: {why}"))
}

/// A run command's name: 1-80 characters, letters, digits, `-`, `_` and `.` (vaultlink's rule,
/// the one of Azure's child resources; docs/behaviour.md).
fn validate_name(name: &str) -> Result<()> {
    let ok = (1..=80).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.ends_with('.');
    if ok {
        Ok(())
    } else {
        Err(invalid_parameter("runCommandName", format!("The run command name '{name}' is invalid.")))
    }
}

fn parameters(list: &[ParameterSpec], field: &str) -> Result<Vec<(String, String)>> {
    list.iter()
        .map(|p| {
            let ok = !p.name.is_empty()
                && p.name.len() <= 256
                && p.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !p.name.starts_with(|c: char| c.is_ascii_digit());
            if ok {
                Ok((p.name.clone(), p.value.clone()))
            } else {
                Err(invalid_parameter(
                    field,
                    format!(
                        "The parameter name '{}' is invalid: letters, digits and '_', not starting with a digit.",
                        p.name
                    ),
                ))
            }
        })
        .collect()
}

/// PUT a run command: stores it as Running for the surface to run at once (a PUT of an existing
/// one runs it again, as in Azure). The VM must be running. `script_limit` is the surface's bound on the
/// script's size.
pub fn put(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    (sub, rg, vm_name, name): (&str, &str, &str, &str),
    spec: RunCommandSpec,
    script_limit: usize,
) -> Result<(Run, bool)> {
    let v = get_vm(state, caller, (sub, rg, vm_name))?;
    validate_name(name)?;
    let location = resources::location(&spec.location)?;
    if location != v.location {
        return Err(invalid_parameter(
            "location",
            format!("The run command's location '{location}' is not its virtual machine's ('{}').", v.location),
        ));
    }
    let p = spec.properties;
    if p.run_as_user.as_deref().is_some_and(|u| !u.is_empty()) || p.run_as_password.is_some() {
        return Err(unsupported("runAsUser", "a script runs as the unprivileged user nobody in the VM's namespace"));
    }
    if p.output_blob_uri.is_some() || p.error_blob_uri.is_some() {
        return Err(unsupported("outputBlobUri", "there is no blob storage; read the output from the instance view"));
    }
    let source = p.source.unwrap_or_default();
    if source.script_uri.is_some() {
        return Err(unsupported("source.scriptUri", "there is no blob storage; give the script inline"));
    }
    if source.command_id.is_some() {
        return Err(unsupported("source.commandId", "give the script inline (az vm run-command create --script)"));
    }
    let script = source
        .script
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| invalid_parameter("source", "The run command needs a source: 'source.script' is missing."))?;
    if script.len() > script_limit {
        return Err(invalid_parameter("source.script", format!("The script is larger than {script_limit} bytes.")));
    }
    let timeout = p.timeout_in_seconds.unwrap_or(0);
    let timeout = u32::try_from(timeout).ok().filter(|t| *t <= MAX_TIMEOUT_SECONDS).ok_or_else(|| {
        invalid_parameter(
            "timeoutInSeconds",
            format!("timeoutInSeconds must be between 0 and {MAX_TIMEOUT_SECONDS} (0: {MAX_TIMEOUT_SECONDS})."),
        )
    })?;
    let params = parameters(&p.parameters, "parameters")?;
    let protected_parameters = parameters(&p.protected_parameters, "protectedParameters")?;
    require_running(&v)?;
    let id = id_of(&v.id, name);
    let existing = command(state, &id);
    if existing.is_none() && commands_of(state, &v.id).len() >= MAX_PER_VM {
        return Err(Error::conflict(
            "OperationNotAllowed",
            format!(
                "Virtual machine '{}' has {MAX_PER_VM} run commands already (vaultlink's limit); delete one first.",
                v.name
            ),
        ));
    }
    let async_execution = p.async_execution.unwrap_or(false);
    let command = VmRunCommand {
        id: existing.as_ref().map_or(id, |e| e.id.clone()),
        name: existing.as_ref().map_or_else(|| name.to_string(), |e| e.name.clone()),
        location,
        tags: spec.tags.unwrap_or_default(),
        vm_id: v.id.clone(),
        script,
        parameters: params,
        async_execution,
        timeout_in_seconds: timeout,
        treat_failure_as_deployment_failure: p.treat_failure_as_deployment_failure.unwrap_or(false),
        // A synchronous run is Creating until its script ends; an asynchronous one is made at once.
        provisioning_state: if async_execution { "Succeeded".into() } else { "Creating".into() },
        run_id: guid(),
        // The surface starts the script as soon as this is written.
        instance: RunCommandInstance {
            execution_state: state::RUNNING.into(),
            start_time: Some(state.now()),
            ..Default::default()
        },
    };
    batch.put(&command.id, Record::VmRunCommand(Box::new(command.clone())));
    Ok((Run { command, vm: v, protected_parameters }, existing.is_none()))
}

/// How a run ended.
pub struct Outcome {
    /// None: killed at the time limit.
    pub exit_code: Option<i32>,
    pub output: String,
    pub error: String,
}

/// Records how a run ended (the instance view; the provisioning state of a synchronous one),
/// unless the command was deleted or run again meanwhile. Returns the command as it now is.
pub fn finish(
    state: &State,
    batch: &mut Batch,
    id: &str,
    run_id: &str,
    outcome: Result<Outcome, String>,
) -> Option<VmRunCommand> {
    let mut c = command(state, id).filter(|c| c.run_id == run_id)?;
    let i = &mut c.instance;
    i.end_time = Some(state.now());
    match outcome {
        Ok(o) => {
            i.exit_code = o.exit_code;
            i.output = o.output;
            i.error = o.error;
            (i.execution_state, i.execution_message) = match o.exit_code {
                Some(0) => (state::SUCCEEDED.into(), "Execution completed".into()),
                Some(_) => (state::FAILED.into(), "Execution completed".into()),
                None => (
                    state::TIMED_OUT.into(),
                    format!("Execution timed out after {} seconds", effective_timeout(c.timeout_in_seconds)),
                ),
            };
        }
        Err(e) => {
            i.execution_state = state::FAILED.into();
            i.execution_message = format!("Execution failed: {e}");
        }
    }
    if !c.async_execution {
        let failed = c.instance.execution_state != state::SUCCEEDED;
        c.provisioning_state =
            if failed && c.treat_failure_as_deployment_failure { "Failed" } else { "Succeeded" }.into();
    }
    batch.put(&c.id, Record::VmRunCommand(Box::new(c.clone())));
    Some(c)
}

/// Ends every run still `Running` as failed: no script outlives the instance that ran it, so a
/// run recorded as under way when vaultlink starts was interrupted by a stop. Returns how many.
pub fn interrupt_all(state: &State, batch: &mut Batch) -> usize {
    let running: Vec<(String, String)> = state
        .of_kind(crate::model::RecordKind::VmRunCommand)
        .filter_map(|r| match r {
            Record::VmRunCommand(c) if c.instance.execution_state == state::RUNNING => {
                Some((c.id.clone(), c.run_id.clone()))
            }
            _ => None,
        })
        .collect();
    for (id, run_id) in &running {
        finish(state, batch, id, run_id, Err("vaultlink stopped while the script ran; run it again".into()));
    }
    running.len()
}

/// The time limit a stored `timeoutInSeconds` means.
pub fn effective_timeout(timeout_in_seconds: u32) -> u32 {
    if timeout_in_seconds == 0 { MAX_TIMEOUT_SECONDS } else { timeout_in_seconds }
}

pub fn command(state: &State, id: &str) -> Option<VmRunCommand> {
    match state.get(id) {
        Some(Record::VmRunCommand(c)) => Some((**c).clone()),
        _ => None,
    }
}

/// A VM's run commands, in name order.
pub fn commands_of(state: &State, vm_id: &str) -> Vec<VmRunCommand> {
    state
        .descendants(vm_id)
        .filter_map(|(_, r)| match r {
            Record::VmRunCommand(c) => Some((**c).clone()),
            _ => None,
        })
        .collect()
}

pub fn get(state: &State, caller: &Caller, (sub, rg, vm_name, name): (&str, &str, &str, &str)) -> Result<VmRunCommand> {
    let v = get_vm(state, caller, (sub, rg, vm_name))?;
    command(state, &id_of(&v.id, name)).ok_or_else(|| not_found(name, &v.name))
}

pub fn list(state: &State, caller: &Caller, (sub, rg, vm_name): (&str, &str, &str)) -> Result<Vec<VmRunCommand>> {
    let v = get_vm(state, caller, (sub, rg, vm_name))?;
    Ok(commands_of(state, &v.id))
}

/// DELETE a run command (a run under way keeps going; its end is no longer recorded). False:
/// there was none.
pub fn delete(state: &State, batch: &mut Batch, caller: &Caller, key: (&str, &str, &str, &str)) -> Result<bool> {
    let v = get_vm(state, caller, (key.0, key.1, key.2))?;
    match command(state, &id_of(&v.id, key.3)) {
        Some(c) => {
            batch.delete(&c.id);
            Ok(true)
        }
        None => Ok(false),
    }
}

pub fn render(c: &VmRunCommand, instance_view: bool) -> Value {
    let mut props = json!({
        "source": {"script": c.script},
        "parameters": c.parameters.iter().map(|(n, v)| json!({"name": n, "value": v})).collect::<Vec<_>>(),
        "asyncExecution": c.async_execution,
        "timeoutInSeconds": c.timeout_in_seconds,
        "treatFailureAsDeploymentFailure": c.treat_failure_as_deployment_failure,
        "provisioningState": c.provisioning_state,
    });
    if instance_view {
        let i = &c.instance;
        props["instanceView"] = json!({
            "executionState": i.execution_state,
            "executionMessage": i.execution_message,
            "exitCode": i.exit_code.unwrap_or(-1),
            "output": i.output,
            "error": i.error,
            "startTime": i.start_time.map(crate::engine::rfc3339),
            "endTime": i.end_time.map(crate::engine::rfc3339),
        });
    }
    let mut out =
        json!({"name": c.name, "id": c.id, "type": RUN_COMMAND_TYPE, "location": c.location, "properties": props});
    if !c.tags.is_empty() {
        out["tags"] = json!(c.tags);
    }
    out
}
