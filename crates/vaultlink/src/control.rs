//! The control socket (`DATA_DIR/control.sock`, private to the owner): how `vaultlink exec` asks the
//! running `vaultlink serve` where a machine at a NIC lives. One request line, one reply line.
//!
//! Requests: `exec <nic name or id>` (replies `lab <namespace>` or `portable <proxy url> <dns addr>`)
//! `directory <json>` (a [`DirectoryOp`]), `state <json>` (a [`StateOp`]), `doctor <json>`,
//! `onprem <json>`, `clock <json>` (a [`crate::clock::ClockOp`]) and `seed {"path":..}` (`vaultlink
//! seed`) (reply `ok <json>`); failures reply `error <message>`.

use std::path::Path;
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;
use vaultlink_core::netctx::{self, Origin};

use crate::http::App;

pub(crate) const SOCKET_FILE: &str = "control.sock";

/// A change to the directory or the subscriptions that only the operator makes (`vaultlink
/// principal add`, `tenant add`, `subscription add`), run by the serving instance when there is
/// one, else on the data directory.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub(crate) enum DirectoryOp {
    #[serde(rename = "principal-add")]
    Principal { name: String, tenant: Option<String>, multi_tenant: bool },
    #[serde(rename = "tenant-add")]
    Tenant { name: String },
    #[serde(rename = "subscription-add")]
    Subscription { name: String, tenant: Option<String>, owner: Option<String> },
    /// `vaultlink quota set`: what a tenant's subscriptions may hold and its callers may ask.
    #[serde(rename = "quota-set")]
    QuotaSet { tenant: String, quota: vaultlink_core::quota::Quota },
    /// `vaultlink quota show`: a tenant's quota and what it holds now.
    #[serde(rename = "quota-show")]
    QuotaShow { tenant: String },
}

/// Runs a [`DirectoryOp`]; the answer is what the command prints (secrets shown once).
pub(crate) fn directory(engine: &vaultlink_core::Engine, op: &DirectoryOp) -> anyhow::Result<serde_json::Value> {
    use serde_json::json;
    use vaultlink_core::{identity, resources, seed};
    let tenant_id = |name: Option<&str>| -> anyhow::Result<String> {
        let Some(name) = name else { return Ok(seed::TENANT_ID.to_string()) };
        engine
            .read(|s| identity::tenant_named(s, name))
            .map(|t| t.tenant_id)
            .ok_or_else(|| anyhow::anyhow!("no tenant '{name}' (give its id or domain; see `vaultlink tenant list`)"))
    };
    let principal = |p: &vaultlink_core::model::Principal, secret: &str| json!({"appId": p.app_id, "objectId": p.object_id, "secret": secret, "tenant": p.tenant_id, "displayName": p.display_name});
    Ok(match op {
        DirectoryOp::Principal { name, tenant, multi_tenant } => {
            let tid = tenant_id(tenant.as_deref())?;
            let (p, secret) = identity::add_principal_in(engine, &tid, name, *multi_tenant)?;
            principal(&p, &secret)
        }
        DirectoryOp::Tenant { name } => {
            let added = identity::add_tenant(engine, name)?;
            json!({
                "tenantId": added.tenant.tenant_id,
                "displayName": added.tenant.display_name,
                "defaultDomain": added.tenant.default_domain,
                "admin": principal(&added.admin, &added.secret),
            })
        }
        DirectoryOp::Subscription { name, tenant, owner } => {
            let tid = tenant_id(tenant.as_deref())?;
            let owner = engine.read(|s| match owner {
                Some(o) => identity::principal_in(s, &tid, o),
                None => identity::principals_in(s, &tid).find(|p| identity::is_directory_admin(p)).cloned(),
            });
            let owner = owner.ok_or_else(|| anyhow::anyhow!("no such owner in tenant {tid}"))?;
            let sub = resources::add_subscription(engine, &tid, name, &owner)?;
            json!({"id": format!("/subscriptions/{}", sub.subscription_id), "subscriptionId": sub.subscription_id, "displayName": sub.display_name, "tenantId": sub.tenant_id, "owner": owner.app_id})
        }
        DirectoryOp::QuotaSet { tenant, quota } => {
            let tid = vaultlink_core::quota::set(engine, tenant, quota.clone())?;
            quota_of(engine, &tid)
        }
        DirectoryOp::QuotaShow { tenant } => quota_of(engine, &tenant_id(Some(tenant))?),
    })
}

fn quota_of(engine: &vaultlink_core::Engine, tid: &str) -> serde_json::Value {
    use vaultlink_core::quota;
    engine.read(|s| serde_json::json!({"tenantId": tid, "quota": quota::of(s, tid), "usage": quota::usage(s, tid)}))
}

/// A change of the whole state (`vaultlink snapshot save|load`, `vaultlink reset`), run by the
/// serving instance when there is one, else on the data directory. A snapshot can be large, so it
/// does not travel over the socket: the server reads or writes the file at `path` itself (an
/// absolute path; the socket is the owner's only, so the path is the owner's too).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub(crate) enum StateOp {
    /// `passphrase_file`: seal the values under the passphrase it holds rather than the root key.
    SnapshotSave {
        path: std::path::PathBuf,
        #[serde(default)]
        passphrase_file: Option<std::path::PathBuf>,
    },
    /// `passphrase_file`: the passphrase a snapshot was saved with.
    SnapshotLoad {
        path: std::path::PathBuf,
        #[serde(default)]
        passphrase_file: Option<std::path::PathBuf>,
    },
    Reset,
    /// `vaultlink export`: each secret of `vault` as a backup blob in `dir`.
    Export {
        vault: String,
        dir: std::path::PathBuf,
    },
}

/// Runs a [`StateOp`] against `engine`, whose values `sealer`'s root key sealed; the answer is
/// what the command prints (counts and the time it took, never a value).
pub(crate) fn state(
    engine: &vaultlink_core::Engine,
    sealer: &vaultlink_crypto::Sealer,
    op: &StateOp,
) -> anyhow::Result<serde_json::Value> {
    use anyhow::Context;
    use vaultlink_core::snapshot;
    let started = std::time::Instant::now();
    let millis = |started: std::time::Instant| started.elapsed().as_secs_f64() * 1000.0;
    Ok(match op {
        StateOp::SnapshotSave { path, passphrase_file } => {
            let mut snap = snapshot::save(engine, sealer.check_value())?;
            if let Some(file) = passphrase_file {
                snapshot::seal_with_passphrase(&mut snap, sealer, &read_passphrase(file)?)?;
            }
            let bytes = serde_json::to_vec(&snap)?;
            vaultlink_crypto::files::write_private(path, &bytes)
                .with_context(|| format!("writing {}", path.display()))?;
            serde_json::json!({"path": path, "records": snap.records.len(), "bytes": bytes.len(),
                "sealedBy": if passphrase_file.is_some() { "passphrase" } else { "root key" }, "millis": millis(started)})
        }
        StateOp::SnapshotLoad { path, passphrase_file } => {
            let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let mut snap: snapshot::Snapshot = serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not a vaultlink snapshot", path.display()))?;
            if let Some(file) = passphrase_file {
                snapshot::open_with_passphrase(&mut snap, sealer, &read_passphrase(file)?)?;
            }
            let replaced = snapshot::load(engine, sealer.check_value(), &snap)?;
            serde_json::json!({"path": path, "records": replaced.records, "deleted": replaced.deleted, "millis": millis(started)})
        }
        StateOp::Reset => {
            let replaced = snapshot::reset(engine)?;
            serde_json::json!({"records": replaced.records, "deleted": replaced.deleted, "millis": millis(started)})
        }
        StateOp::Export { vault, dir } => export(engine, sealer, vault, dir)?,
    })
}

/// A snapshot passphrase from its file: the first line, without its line ending (as `ssh` and
/// `gpg --passphrase-file` read one). The bytes are wiped when dropped.
fn read_passphrase(file: &Path) -> anyhow::Result<zeroize::Zeroizing<Vec<u8>>> {
    use anyhow::Context;
    let text = zeroize::Zeroizing::new(std::fs::read(file).with_context(|| format!("reading {}", file.display()))?);
    let line = text.split(|b| *b == b'\n').next().unwrap_or_default();
    Ok(zeroize::Zeroizing::new(line.strip_suffix(b"\r").unwrap_or(line).to_vec()))
}

/// Writes each live secret of `vault` to `dir/NAME.blob` (0600): the bytes of the blob
/// `POST /secrets/{name}/backup` answers, base64url-decoded, as `az keyvault secret backup --file`
/// writes them, so `az keyvault secret restore --file` and the SDKs' `restore_secret_backup` take
/// them. A blob restores only into a vault of the same subscription of an instance with the same
/// root key (as Azure's restore only within its geography and subscription).
fn export(
    engine: &vaultlink_core::Engine,
    sealer: &vaultlink_crypto::Sealer,
    vault: &str,
    dir: &Path,
) -> anyhow::Result<serde_json::Value> {
    use anyhow::Context;
    use base64::Engine as _;
    let blobs = engine
        .read(|s| vaultlink_core::kv::secrets::export(s, sealer, vault))
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut files = Vec::with_capacity(blobs.len());
    for (name, blob) in blobs {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&blob)?;
        let path = dir.join(format!("{name}.blob"));
        vaultlink_crypto::files::write_private(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
        files.push(path);
    }
    Ok(serde_json::json!({"vault": vault, "secrets": files}))
}

pub(crate) async fn serve(dir: &Path, app: Arc<App>, proxy_url: String) -> anyhow::Result<()> {
    let path = dir.join(SOCKET_FILE);
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(crate::ingress::limits::ACCEPT_BACKOFF).await;
            continue;
        };
        let app = app.clone();
        let proxy_url = proxy_url.clone();
        tokio::spawn(async move {
            let (r, mut w) = stream.into_split();
            let mut line = String::new();
            if BufReader::new(r).read_line(&mut line).await.is_err() {
                return;
            }
            let reply = answer(&app, &proxy_url, line.trim()).await;
            let _ = w.write_all(format!("{reply}\n").as_bytes()).await;
        });
    }
}

async fn answer(app: &Arc<App>, proxy_url: &str, line: &str) -> String {
    if let Some(args) = line.strip_prefix("directory ") {
        let result = serde_json::from_str::<DirectoryOp>(args)
            .map_err(anyhow::Error::from)
            .and_then(|op| directory(&app.engine, &op));
        return match result {
            Ok(v) => format!("ok {v}"),
            Err(e) => format!("error {e:#}"),
        };
    }
    if let Some(args) = line.strip_prefix("state ") {
        let (app, args) = (app.clone(), args.to_string());
        let result = tokio::task::spawn_blocking(move || {
            let op = serde_json::from_str::<StateOp>(&args)?;
            state(&app.engine, &app.sealer, &op)
        })
        .await;
        return match result {
            Ok(Ok(v)) => format!("ok {v}"),
            Ok(Err(e)) => format!("error {e:#}"),
            Err(e) => format!("error {e}"),
        };
    }
    if let Some(args) = line.strip_prefix("seed ") {
        #[derive(serde::Deserialize)]
        struct Args {
            path: std::path::PathBuf,
        }
        let (app, args) = (app.clone(), args.to_string());
        let result = tokio::task::spawn_blocking(move || {
            let a = serde_json::from_str::<Args>(&args)?;
            crate::seedfile::apply(&app, &crate::seedfile::read(&a.path)?)
        })
        .await;
        return match result {
            Ok(Ok(v)) => format!("ok {v}"),
            Ok(Err(e)) => format!("error {e:#}"),
            Err(e) => format!("error {e}"),
        };
    }
    if let Some(args) = line.strip_prefix("doctor ") {
        return doctor(app, args);
    }
    if let Some(args) = line.strip_prefix("onprem ") {
        return onprem(app, args);
    }
    if let Some(args) = line.strip_prefix("clock ") {
        let result = serde_json::from_str::<crate::clock::ClockOp>(args)
            .map_err(anyhow::Error::from)
            .and_then(|op| crate::clock::run(app, op));
        return match result {
            Ok(v) => format!("ok {v}"),
            Err(e) => format!("error {e:#}"),
        };
    }
    let Some(nic) = line.strip_prefix("exec ") else { return "error unknown request".into() };
    let origin = app.engine.read(|s| netctx::locate(s, Some(nic), app.public_address));
    let nic_id = match origin {
        Ok(Origin::Nic { nic_id }) => nic_id,
        Ok(Origin::OnPremises { network_id }) => network_id,
        Ok(Origin::Internet { .. }) => return "error give a NIC, virtual machine or on-premises network name".into(),
        Err(e) => return format!("error {e}"),
    };
    match &app.lab {
        Some(lab) => {
            let (lab, app2, id) = (lab.clone(), app.clone(), nic_id.clone());
            match tokio::task::spawn_blocking(move || lab.ensure(&app2, &id)).await {
                Ok(Ok(ns)) => format!("lab {ns}"),
                Ok(Err(e)) => format!("error {e:#}"),
                Err(e) => format!("error {e}"),
            }
        }
        None => {
            let identity = nic_id.rsplit('/').next().unwrap_or(&nic_id).to_string();
            // `name:@` (empty password): Python's requests drops a user name without a password.
            let url = proxy_url.replacen("://", &format!("://{identity}:@"), 1);
            let dns = app.dns_for_origin(&nic_id).map(|a| a.to_string()).unwrap_or_else(|| "-".into());
            format!("portable {url} {dns}")
        }
    }
}

/// Sends one request to a running instance; `None` when no instance listens on this data directory.
pub(crate) fn request(dir: &Path, line: &str) -> Option<std::io::Result<String>> {
    use std::io::{BufRead, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(dir.join(SOCKET_FILE)).ok()?;
    let mut run = || -> std::io::Result<String> {
        stream.write_all(format!("{line}\n").as_bytes())?;
        let mut reply = String::new();
        std::io::BufReader::new(&stream).read_line(&mut reply)?;
        Ok(reply.trim().to_string())
    };
    Some(run())
}

/// `doctor {"vault":..,"from":..|null,"principal":..|null}` or `doctor {"matrix":true}`: replies
/// `ok <json>` (the report or the matrix).
fn doctor(app: &Arc<App>, args: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Args {
        vault: Option<String>,
        from: Option<String>,
        principal: Option<String>,
        #[serde(default)]
        matrix: bool,
    }
    let Ok(a) = serde_json::from_str::<Args>(args) else { return "error malformed doctor request".into() };
    app.engine.read(|s| {
        if a.matrix {
            return format!(
                "ok {}",
                serde_json::to_string(&vaultlink_core::doctor::matrix(s, app.public_address)).unwrap_or_default()
            );
        }
        let origin = match netctx::locate(s, a.from.as_deref(), app.public_address) {
            Ok(o) => o,
            Err(e) => return format!("error {e}"),
        };
        let principal = match a.principal.as_deref() {
            None => None,
            Some(p) => match vaultlink_core::identity::principal(s, p) {
                Some(p) => {
                    Some(vaultlink_core::Caller { tenant_id: p.tenant_id, object_id: p.object_id, app_id: p.app_id })
                }
                None => return format!("error no principal {p} in the tenant"),
            },
        };
        match vaultlink_core::doctor::diagnose(s, a.vault.as_deref().unwrap_or_default(), &origin, principal.as_ref()) {
            Some(r) => format!("ok {}", serde_json::to_string(&r).unwrap_or_default()),
            None => format!("error no vault named {}", a.vault.unwrap_or_default()),
        }
    })
}

/// `onprem {"op":"put","name":..,"vnet":..,"addressSpace":..,"forwarders":[[zone,ip],..]}`,
/// `{"op":"delete","name":..}` or `{"op":"list"}`.
fn onprem(app: &Arc<App>, args: &str) -> String {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Args {
        op: String,
        name: Option<String>,
        vnet: Option<String>,
        address_space: Option<String>,
        #[serde(default)]
        forwarders: Vec<(String, String)>,
    }
    let Ok(a) = serde_json::from_str::<Args>(args) else { return "error malformed onprem request".into() };
    use vaultlink_core::network::onprem as op;
    let result = match a.op.as_str() {
        "put" => app
            .engine
            .write(|s, b| {
                op::put_onprem(
                    s,
                    b,
                    a.name.as_deref().unwrap_or_default(),
                    a.vnet.as_deref().unwrap_or_default(),
                    a.address_space.as_deref().unwrap_or("192.168.0.0/24"),
                    &a.forwarders,
                )
            })
            .map(|o| op::render_onprem(&o)),
        "delete" => app
            .engine
            .write(|s, b| -> vaultlink_core::Result<bool> {
                Ok(op::delete_onprem(s, b, a.name.as_deref().unwrap_or_default()))
            })
            .map(|d| serde_json::json!({"deleted": d})),
        "list" => Ok(serde_json::json!(
            app.engine.read(|s| op::all_onprem(s).iter().map(op::render_onprem).collect::<Vec<_>>())
        )),
        other => return format!("error unknown onprem operation {other}"),
    };
    match result {
        Ok(v) => format!("ok {v}"),
        Err(e) => format!("error {e}"),
    }
}
