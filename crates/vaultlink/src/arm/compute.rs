//! Microsoft.Compute's routes: virtual machines, their power actions and instance view, the
//! regional catalogue (images, sizes), and Run Command, which runs a script *on the VM*: in lab
//! mode inside its primary NIC's network namespace, as an unprivileged user, so unmodified
//! `nslookup`, `dig`, `curl` and `az` see what a VM in Azure sees. A run is a long-running
//! operation (202, `Azure-AsyncOperation` and `Location`), kept in memory (`Operations`) until it
//! is read or the table is full; nothing of its output is logged.

use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use serde::Deserialize;
use vaultlink_core::compute::{self, catalog, runcommand};

use super::*;

/// The longest a script may run (Azure's Run Command limit, 90 minutes).
pub(crate) const RUN_TIMEOUT: Duration = Duration::from_secs(90 * 60);
/// How much of each stream a result keeps: the last 4,096 bytes, as Azure's Run Command.
pub(crate) const OUTPUT_LIMIT: usize = 4096;
/// Operations remembered at once (vaultlink's bound; the oldest finished one goes first).
const MAX_OPERATIONS: usize = 1000;
/// Scripts in one run and their total size (Azure: a script of up to 256 KiB).
const MAX_SCRIPT_BYTES: usize = 256 * 1024;
/// Runs at once on one instance (vaultlink's bound: each is a process on this machine).
const MAX_RUNNING: usize = 16;
/// Seconds between polls (`Retry-After`).
const RETRY_AFTER: &str = "1";
/// The user a script runs as inside the VM's namespace: `nobody`, so a script cannot read the
/// data directory (keys) of the vaultlink that runs it.
const RUN_AS: &str = "65534";

/// Run Command's operations under way or finished, in memory.
#[derive(Default)]
pub(crate) struct Operations {
    app: OnceLock<(Weak<App>, PathBuf)>,
    ops: Mutex<HashMap<String, Operation>>,
}

#[derive(Clone)]
struct Operation {
    /// The VM it ran on: a caller who may read the VM may read the operation.
    vm_id: String,
    started: i64,
    ended: Option<i64>,
    /// The RunCommandResult once the script has ended (`{}` for a managed run command's, whose
    /// result is the resource).
    result: Option<Value>,
    /// The error of an operation that failed (a managed run command that treats a failed script
    /// as a failed deployment).
    error: Option<Value>,
}

impl Operations {
    /// Gives the table its `App` and the CA bundle a script trusts.
    /// Gives the table its App; a managed run command recorded as running was interrupted by a
    /// stop, so it is ended as failed (never `Running` forever), as deployments are.
    pub(crate) fn attach(app: &Arc<App>, ca_bundle: PathBuf) {
        let _ = app.compute.app.set((Arc::downgrade(app), ca_bundle));
        let _ = app.engine.write(|s, b| Ok::<_, Error>(runcommand::interrupt_all(s, b)));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Operation>> {
        self.ops.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn begin(&self, vm_id: &str) -> Result<String> {
        let mut ops = self.lock();
        if ops.values().filter(|o| o.ended.is_none()).count() >= MAX_RUNNING {
            return Err(Error::conflict(
                "OperationNotAllowed",
                format!("{MAX_RUNNING} run commands are running on this vaultlink already; try again when one ends."),
            ));
        }
        if ops.len() >= MAX_OPERATIONS
            && let Some(oldest) =
                ops.iter().filter(|(_, o)| o.ended.is_some()).min_by_key(|(_, o)| o.started).map(|(k, _)| k.clone())
        {
            ops.remove(&oldest);
        }
        let id = vaultlink_core::engine::guid();
        ops.insert(
            id.clone(),
            Operation { vm_id: vm_id.to_string(), started: now(), ended: None, result: None, error: None },
        );
        Ok(id)
    }

    fn finish(&self, id: &str, result: Value) {
        self.end(id, result, None);
    }

    fn end(&self, id: &str, result: Value, error: Option<Value>) {
        if let Some(o) = self.lock().get_mut(id) {
            o.ended = Some(now());
            o.result = Some(result);
            o.error = error;
        }
    }

    fn forget(&self, id: &str) {
        self.lock().remove(id);
    }

    fn get(&self, id: &str) -> Option<Operation> {
        self.lock().get(id).cloned()
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RunCommandInput {
    command_id: String,
    #[serde(default)]
    script: Vec<String>,
    #[serde(default)]
    parameters: Vec<RunCommandParameter>,
}

#[derive(Debug, Deserialize)]
struct RunCommandParameter {
    name: String,
    value: String,
}

/// Routes below `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Compute/`.
#[rustfmt::skip]
pub(super) fn compute_routes(app: &App, req: &Req, p: &Path, rest: &[&str], c: &Admitted) -> Result<Resp> {
    use Method as M;
    let e = &app.engine;
    let (sub, rg) = (p.at(1), p.at(3));
    let key = || (sub, rg, p.at(7));
    let run_key = || (sub, rg, p.at(7), p.at(9));
    let expand = req.query("$expand").is_some_and(|x| x.eq_ignore_ascii_case("instanceView"));
    Ok(match (&req.method, rest) {
        (&M::GET, ["virtualmachines"]) => {
            let scope = e.read(|s| resources::resource_group(s, c, sub, rg))?.id;
            list(req, c, e.read(|s| compute::vms_in(s, &scope)).iter().map(|v| compute::render_vm(v, expand)).collect())
        }
        (&M::GET, ["virtualmachines", _]) => json_ok(StatusCode::OK, &compute::render_vm(&e.read(|s| compute::get_vm(s, c, key()))?, expand)),
        (&M::PUT, ["virtualmachines", _]) => {
            let spec = parse_body(req, Provider::Arm)?;
            let (v, new) = write(app, c, |s, b| compute::put_vm(s, b, c, key(), spec))?;
            json_ok(created(new), &compute::render_vm(&v, false))
        }
        (&M::DELETE, ["virtualmachines", _]) => deleted(write(app, c, |s, b| compute::delete_vm(s, b, c, key()))?),
        (&M::GET, ["virtualmachines", _, "instanceview"]) => json_ok(StatusCode::OK, &compute::render_instance_view(&e.read(|s| compute::get_vm(s, c, key()))?)),
        (&M::POST, ["virtualmachines", _, action @ ("start" | "poweroff" | "deallocate" | "restart")]) => {
            write(app, c, |s, b| compute::power_action(s, b, c, key(), action))?;
            empty(StatusCode::OK)
        }
        (&M::POST, ["virtualmachines", _, "runcommand"]) => run_command(app, req, c, key())?,
        (&M::GET, ["virtualmachines", _, "runcommands"]) => {
            list(req, c, e.read(|s| runcommand::list(s, c, key()))?.iter().map(|r| runcommand::render(r, expand)).collect())
        }
        (&M::GET, ["virtualmachines", _, "runcommands", _]) => json_ok(StatusCode::OK, &runcommand::render(&e.read(|s| runcommand::get(s, c, run_key()))?, expand)),
        (&M::PUT, ["virtualmachines", _, "runcommands", _]) => put_run_command(app, req, c, run_key())?,
        (&M::DELETE, ["virtualmachines", _, "runcommands", _]) => deleted(write(app, c, |s, b| runcommand::delete(s, b, c, run_key()))?),
        _ => return Err(no_route(req)),
    })
}

/// Routes below `/subscriptions/{s}/providers/Microsoft.Compute/`: every VM of the subscription,
/// and per region the catalogue and the operations.
#[rustfmt::skip]
pub(super) fn subscription_routes(app: &App, req: &Req, p: &Path, rest: &[&str], c: &Admitted) -> Result<Resp> {
    let e = &app.engine;
    let sub = p.at(1);
    e.read(|s| resources::subscription(s, c, sub))?;
    let loc = |i: usize| p.at(5 + i);
    let expand = req.query("$expand").is_some_and(|x| x.eq_ignore_ascii_case("instanceView"));
    let values = |v: Vec<Value>| json_ok(StatusCode::OK, &json!({"value": v}));
    let array = |v: Vec<Value>| json_ok(StatusCode::OK, &json!(v));
    let names = |v: Vec<&str>, location: &str| {
        let mut v: Vec<&str> = v;
        v.sort_unstable_by_key(|n| n.to_ascii_lowercase());
        v.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        array(v.iter().map(|n| json!({"name": n, "location": location, "id": format!("{}/{n}", req.path)})).collect())
    };
    let images = catalog::matching;
    if req.method != Method::GET {
        return Err(no_route(req));
    }
    Ok(match rest {
        ["virtualmachines"] => {
            let scope = resources::subscription_id(sub);
            list(req, c, e.read(|s| compute::vms_in(s, &scope)).iter().map(|v| compute::render_vm(v, expand)).collect())
        }
        ["locations", _, "vmsizes"] => {
            resources::location(loc(0))?;
            values(catalog::SIZES.iter().map(catalog::render_size).collect())
        }
        ["locations", _, "publishers"] => {
            let location = resources::location(loc(0))?;
            names(catalog::IMAGES.iter().map(|i| i.publisher).collect(), &location)
        }
        ["locations", _, "publishers", _, "artifacttypes", "vmimage", "offers"] => {
            let location = resources::location(loc(0))?;
            names(images(loc(2), None, None).iter().map(|i| i.offer).collect(), &location)
        }
        ["locations", _, "publishers", _, "artifacttypes", "vmimage", "offers", _, "skus"] => {
            let location = resources::location(loc(0))?;
            names(images(loc(2), Some(loc(6)), None).iter().map(|i| i.sku).collect(), &location)
        }
        ["locations", _, "publishers", _, "artifacttypes", "vmimage", "offers", _, "skus", _, "versions"] => {
            let location = resources::location(loc(0))?;
            let found: Vec<Value> = images(loc(2), Some(loc(6)), Some(loc(8))).into_iter().map(|i| catalog::render_version(sub, &location, i)).collect();
            if found.is_empty() {
                return Err(image_not_found(loc(2), loc(6), loc(8)));
            }
            array(found)
        }
        ["locations", _, "publishers", _, "artifacttypes", "vmimage", "offers", _, "skus", _, "versions", _] => {
            let location = resources::location(loc(0))?;
            let version = loc(10);
            let i = images(loc(2), Some(loc(6)), Some(loc(8))).into_iter()
                .find(|i| version.eq_ignore_ascii_case("latest") || i.version == version)
                .ok_or_else(|| image_not_found(loc(2), loc(6), loc(8)))?;
            json_ok(StatusCode::OK, &catalog::render_version(sub, &location, i))
        }
        ["locations", _, "operations", _] => operation_status(app, req, c, loc(0), loc(2))?,
        _ => return Err(no_route(req)),
    })
}

fn image_not_found(publisher: &str, offer: &str, sku: &str) -> Error {
    Error::not_found(
        "ImageNotFound",
        format!("Artifact: VMImage was not found. Publisher: {publisher}, offer: {offer}, sku: {sku}."),
    )
}

// ---------------------------------------------------------------- run command

/// `POST .../virtualMachines/{vm}/runCommand`: checks the VM and the script, starts it on a thread
/// and answers 202 for the client to poll.
fn run_command(app: &App, req: &Req, c: &Admitted, key: (&str, &str, &str)) -> Result<Resp> {
    let input: RunCommandInput = parse_body(req, Provider::Arm)?;
    let v = app.engine.read(|s| compute::get_vm(s, c, key))?;
    let windows = v.image.os_type == "Windows";
    match input.command_id.as_str() {
        "RunShellScript" if !windows => {}
        "RunPowerShellScript" if windows => {}
        "RunShellScript" | "RunPowerShellScript" => {
            return Err(Error::conflict(
                "OperationNotAllowed",
                format!(
                    "The command '{}' is not supported on a {} virtual machine.",
                    input.command_id, v.image.os_type
                ),
            ));
        }
        other => {
            return Err(Error::not_found(
                "NotFound",
                format!(
                    "The command id '{other}' is not known: vaultlink runs RunShellScript (Linux) and RunPowerShellScript (Windows)."
                ),
            ));
        }
    }
    if input.script.iter().map(String::len).sum::<usize>() > MAX_SCRIPT_BYTES {
        return Err(Error::bad_request(
            "InvalidParameter",
            format!("The script is larger than {MAX_SCRIPT_BYTES} bytes."),
        ));
    }
    compute::require_running(&v)?;
    let runner = Runner::new(app)?;
    let nic = nic_of(&v)?;
    let op = app.compute.begin(&v.id)?;
    let op_id = op.clone();
    let job = Job {
        nic,
        script: input.script.join("\n"),
        env: input.parameters.into_iter().map(|p| (p.name, p.value)).collect(),
        timeout: RUN_TIMEOUT,
    };
    runner.spawn(job, move |shared, ran| {
        let result = match ran {
            Ok(r) => render_result(&r),
            Err(e) => render_failure(&e),
        };
        shared.compute.finish(&op_id, result);
    })?;
    let mut resp = empty(StatusCode::ACCEPTED);
    poll_headers(&mut resp, &operation_url(req, key.0, &v.location, &op));
    Ok(resp)
}

/// What to run: a script, on a NIC's namespace, with its parameters as environment variables.
struct Job {
    nic: String,
    script: String,
    env: Vec<(String, String)>,
    timeout: Duration,
}

/// What running a script on a VM needs: lab mode, the shared `App` and the CA bundle, and the
/// runtime the namespace's listeners run on. Made before anything is written, so that a refusal
/// (no lab mode) changes nothing.
struct Runner {
    lab: Arc<crate::lab::Lab>,
    shared: Arc<App>,
    ca_bundle: PathBuf,
    runtime: tokio::runtime::Handle,
}

impl Runner {
    fn new(app: &App) -> Result<Self> {
        let Some(lab) = app.lab.clone() else {
            return Err(Error::conflict(
                "OperationNotAllowed",
                "Run Command runs the script inside the virtual machine's network namespace, which needs lab mode: start vaultlink with `vaultlink serve --lab` (Linux, root). Without it, run a command as the VM's network interface with `vaultlink exec --vm NAME -- COMMAND`.",
            ));
        };
        let Some((shared, ca_bundle)) = app.compute.app.get().and_then(|(a, ca)| Some((a.upgrade()?, ca.clone())))
        else {
            return Err(Error::internal("the run-command table has no App (Operations::attach was not called)"));
        };
        // A namespace's listeners are tokio tasks: the thread runs inside the caller's runtime.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Err(Error::internal("run command outside the server's runtime"));
        };
        Ok(Self { lab, shared, ca_bundle, runtime })
    }

    /// Runs the job on a thread of its own; `done` gets how it ended, on that thread.
    fn spawn(
        self,
        job: Job,
        done: impl FnOnce(&Arc<App>, std::result::Result<Ran, String>) + Send + 'static,
    ) -> Result<()> {
        let Self { lab, shared, ca_bundle, runtime } = self;
        let spawned = std::thread::Builder::new().name("vaultlink-run-command".into()).spawn(move || {
            let _runtime = runtime.enter();
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                lab.ensure(&shared, &job.nic)
                    .map_err(|e| format!("{e:#}"))
                    .and_then(|ns| run_in_namespace(&ns, &job, &ca_bundle).map_err(|e| e.to_string()))
            }));
            done(&shared, run.unwrap_or_else(|_| Err("vaultlink failed while running it (see its log)".into())));
        });
        spawned.map(drop).map_err(|e| Error::internal(format!("could not start the run command's thread: {e}")))
    }
}

/// The NIC a VM's commands run as: its primary one.
fn nic_of(v: &vaultlink_core::model::VirtualMachine) -> Result<String> {
    compute::primary_nic(v)
        .map(|n| n.id.clone())
        .ok_or_else(|| Error::conflict("OperationNotAllowed", "The virtual machine has no network interface."))
}

/// The operation's status URL (`Azure-AsyncOperation`).
fn operation_url(req: &Req, sub: &str, location: &str, op: &str) -> String {
    format!(
        "https://{}/subscriptions/{sub}/providers/Microsoft.Compute/locations/{location}/operations/{op}?api-version={}",
        req.authority,
        req.query("api-version").unwrap_or_default()
    )
}

/// `PUT .../virtualMachines/{vm}/runCommands/{name}`: stores the command and runs it, answering
/// 201 (200 for a run again) with `Azure-AsyncOperation`; `Location` is the resource itself, which
/// `az` reads when the operation ends (its `final-state-via: location`).
fn put_run_command(app: &App, req: &Req, c: &Admitted, key: (&str, &str, &str, &str)) -> Result<Resp> {
    let spec: runcommand::RunCommandSpec = parse_body(req, Provider::Arm)?;
    let runner = Runner::new(app)?;
    let v = app.engine.read(|s| compute::get_vm(s, c, (key.0, key.1, key.2)))?;
    let nic = nic_of(&v)?;
    let op = app.compute.begin(&v.id)?;
    let (run, new) = match write(app, c, |s, b| runcommand::put(s, b, c, key, spec, MAX_SCRIPT_BYTES)) {
        Ok(x) => x,
        Err(e) => {
            app.compute.forget(&op);
            return Err(e);
        }
    };
    let cmd = &run.command;
    let (id, run_id, is_async) = (cmd.id.clone(), cmd.run_id.clone(), cmd.async_execution);
    if is_async {
        app.compute.finish(&op, json!({}));
    }
    let env = cmd.parameters.iter().chain(&run.protected_parameters).cloned().collect();
    let timeout = Duration::from_secs(runcommand::effective_timeout(cmd.timeout_in_seconds).into());
    let job = Job { nic, script: cmd.script.clone(), env, timeout };
    let (op_id, stored) = (op.clone(), (id.clone(), run_id.clone()));
    let spawned = runner.spawn(job, move |shared, ran| {
        let outcome = ran.map(|r| runcommand::Outcome { exit_code: r.code, output: r.stdout, error: r.stderr });
        let ended = shared.engine.write(|s, b| Ok::<_, Error>(runcommand::finish(s, b, &id, &run_id, outcome)));
        if is_async {
            return;
        }
        let error = match ended {
            Ok(Some(c)) if c.provisioning_state == "Failed" => Some(json!({
                "code": "RunCommandFailed",
                "message": format!("The run command '{}' failed: {} (exit code {}).", c.name, c.instance.execution_state,
                    c.instance.exit_code.map_or_else(|| "none".to_string(), |n| n.to_string())),
            })),
            Ok(_) => None,
            Err(e) => Some(json!({"code": e.code(), "message": e.message})),
        };
        shared.compute.end(&op_id, json!({}), error);
    });
    if let Err(e) = spawned {
        // Not started: say so in the stored command rather than leave it Running.
        let (id, run_id) = stored;
        let _ = app.engine.write(|s, b| Ok::<_, Error>(runcommand::finish(s, b, &id, &run_id, Err(e.message.clone()))));
        app.compute.forget(&op);
        return Err(e);
    }
    let mut resp = json_ok(created(new), &runcommand::render(cmd, false));
    let resource = format!(
        "https://{}{}?api-version={}",
        req.authority,
        crate::http::percent_encode_path(&req.path),
        req.query("api-version").unwrap_or_default()
    );
    let operation = operation_url(req, key.0, &v.location, &op);
    set_headers(&mut resp, &[("azure-asyncoperation", &operation), ("location", &resource)]);
    Ok(resp)
}

fn poll_headers(resp: &mut Resp, base: &str) {
    let location = format!("{base}&monitor=true");
    set_headers(resp, &[("azure-asyncoperation", base), ("location", &location), ("retry-after", RETRY_AFTER)]);
}

/// `GET .../locations/{l}/operations/{id}`: the operation's status, or with `monitor=true` (the
/// `Location` a client polls) 202 while it runs and then its result.
fn operation_status(app: &App, req: &Req, c: &Admitted, location: &str, id: &str) -> Result<Resp> {
    let not_found =
        || Error::not_found("NotFound", format!("The operation '{id}' was not found in location '{location}'."));
    let op = app.compute.get(id).filter(|o| c.may_read(&o.vm_id)).ok_or_else(not_found)?;
    let monitor = req.query("monitor").is_some_and(|m| m.eq_ignore_ascii_case("true"));
    if monitor {
        return Ok(match &op.result {
            Some(result) => json_ok(StatusCode::OK, result),
            None => {
                let mut resp = empty(StatusCode::ACCEPTED);
                let base = format!(
                    "https://{}{}?api-version={}",
                    req.authority,
                    crate::http::percent_encode_path(&req.path),
                    req.query("api-version").unwrap_or_default()
                );
                poll_headers(&mut resp, &base);
                resp
            }
        });
    }
    let mut out = json!({
        "name": id,
        "startTime": vaultlink_core::engine::rfc3339(op.started),
        "status": match (&op.result, &op.error) {
            (_, Some(_)) => "Failed",
            (Some(_), None) => "Succeeded",
            (None, None) => "InProgress",
        },
    });
    if let Some(e) = &op.error {
        out["error"] = e.clone();
    }
    if let (Some(ended), Some(result)) = (op.ended, &op.result) {
        out["endTime"] = json!(vaultlink_core::engine::rfc3339(ended));
        out["properties"] = json!({"output": result});
    }
    Ok(json_ok(StatusCode::OK, &out))
}

/// What a script left: its exit code (None when it was killed at the time limit) and the last
/// [`OUTPUT_LIMIT`] bytes of each stream.
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the job's script with `/bin/sh` in the namespace `ns`, as `nobody`, with a fresh home
/// directory and the CA bundle vaultlink's certificates chain to; kills it at its time limit.
fn run_in_namespace(ns: &str, job: &Job, ca_bundle: &std::path::Path) -> std::io::Result<Ran> {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let home = tempfile::Builder::new().prefix("vaultlink-run-").tempdir()?;
    let bundle = home.path().join("ca-bundle.pem");
    std::fs::copy(ca_bundle, &bundle)?;
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o777))?;
    std::fs::set_permissions(&bundle, std::fs::Permissions::from_mode(0o644))?;
    let mut cmd = std::process::Command::new("ip");
    cmd.args([
        "netns",
        "exec",
        ns,
        "setpriv",
        "--reuid",
        RUN_AS,
        "--regid",
        RUN_AS,
        "--clear-groups",
        "--",
        "/bin/sh",
        "-c",
        &job.script,
    ])
    .env_clear()
    .env("PATH", std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into()))
    .env("HOME", home.path())
    .env("REQUESTS_CA_BUNDLE", &bundle)
    .env("SSL_CERT_FILE", &bundle)
    .env("CURL_CA_BUNDLE", &bundle)
    .env("NODE_EXTRA_CA_CERTS", &bundle)
    .env("AZURE_CORE_COLLECT_TELEMETRY", "false")
    .current_dir(home.path())
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .process_group(0);
    for (name, value) in
        job.env.iter().filter(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        cmd.env(name, value);
    }
    let mut child = cmd.spawn()?;
    let tail = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut keep: VecDeque<u8> = VecDeque::with_capacity(OUTPUT_LIMIT);
            if let Some(mut r) = r {
                let mut buf = [0u8; 8192];
                while let Ok(n) = r.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    keep.extend(&buf[..n]);
                    let over = keep.len().saturating_sub(OUTPUT_LIMIT);
                    keep.drain(..over);
                }
            }
            String::from_utf8_lossy(&Vec::from(keep)).into_owned()
        })
    };
    let out = tail(child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>));
    let err = tail(child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>));
    let deadline = Instant::now() + job.timeout;
    let code = loop {
        if let Some(status) = child.try_wait()? {
            break status.code();
        }
        if Instant::now() >= deadline {
            // The whole process group: the script's children too.
            let _ = std::process::Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).status();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (stdout, stderr) = (out.join().unwrap_or_default(), err.join().unwrap_or_default());
    Ok(Ran { code, stdout, stderr })
}

/// The RunCommandResult as Azure's Linux agent words it.
fn render_result(r: &Ran) -> Value {
    let streams = format!("[stdout]\n{}\n[stderr]\n{}", r.stdout, r.stderr);
    let (code, display, level, message) = match r.code {
        Some(0) => {
            ("ProvisioningState/succeeded", "Provisioning succeeded", "Info", format!("Enable succeeded: \n{streams}"))
        }
        Some(n) => (
            "ProvisioningState/failed",
            "Provisioning failed",
            "Error",
            format!("Enable failed: failed to execute command: command terminated with exit status={n}\n{streams}"),
        ),
        None => (
            "ProvisioningState/failed",
            "Provisioning failed",
            "Error",
            format!(
                "Enable failed: failed to execute command: command timed out after {} minutes\n{streams}",
                RUN_TIMEOUT.as_secs() / 60
            ),
        ),
    };
    json!({"value": [{"code": code, "level": level, "displayStatus": display, "message": message, "time": null}]})
}

/// The result when the script could not be started at all (the namespace, the tools).
fn render_failure(reason: &str) -> Value {
    json!({"value": [{
        "code": "ProvisioningState/failed", "level": "Error", "displayStatus": "Provisioning failed",
        "message": format!("Enable failed: failed to start the command: {reason}\n[stdout]\n\n[stderr]\n"), "time": null,
    }]})
}
