//! The command line: `serve`, `env`, `principal add`, `snapshot save|load`, `reset`, ...

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::admin::ServerArgs;
use crate::control::DirectoryOp;
use anyhow::Context;
use clap::{Parser, Subcommand};
use vaultlink_core::seed;

/// Default listen addresses (loopback only).
pub(crate) const DEFAULT_PROXY: &str = "127.0.0.1:8780";
pub(crate) const DEFAULT_HTTPS: &str = "127.0.0.1:8743";
pub(crate) const DEFAULT_IDENTITY: &str = "127.0.0.1:8781";
pub(crate) const DEFAULT_DNS: &str = "127.0.0.1:8753";

#[derive(Debug, Parser)]
#[command(name = "vaultlink", version, about = "Azure Key Vault with Private Link, on your own machine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start vaultlink: the proxy, the direct HTTPS listener and the identity endpoint.
    Serve(ServeArgs),
    /// Print the environment that points Azure clients at a running vaultlink: shell exports (by
    /// default), or fish, PowerShell, a `.env` file or JSON.
    Env {
        #[command(flatten)]
        dir: DataDirArg,
        /// The form to print.
        #[arg(long, value_enum, default_value_t = EnvFormat::Sh)]
        format: EnvFormat,
    },
    /// Run COMMAND as a machine at a NIC: in its lab namespace (`serve --lab`), or with the
    /// environment that places it there (the proxy with the NIC's identity, the CA, its DNS view).
    Exec {
        #[command(flatten)]
        dir: DataDirArg,
        /// The client NIC (name or resource id), e.g. made with `az network nic create`, or the
        /// name of an on-premises network (`vaultlink onprem add`).
        #[arg(long, required_unless_present = "vm", conflicts_with = "vm")]
        nic: Option<String>,
        /// A virtual machine (name or resource id), e.g. made with `az vm create`: its primary NIC.
        #[arg(long)]
        vm: Option<String>,
        /// The command and its arguments.
        #[arg(trailing_var_arg = true, required = true)]
        command: Vec<String>,
    },
    /// Run the seed's troubleshooting guide for a vault and a caller; exit 0 when the caller
    /// reaches the vault as intended.
    Doctor(DoctorArgs),
    /// On-premises networks joined to a VNet by a gateway, with their DNS forwarders.
    Onprem {
        #[command(subcommand)]
        command: OnpremCommand,
    },
    /// Manage Entra principals (service principals) of the emulated tenants.
    Principal {
        #[command(subcommand)]
        command: PrincipalCommand,
    },
    /// Entra tenants (directories): a second one for cross-directory work.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Subscriptions of a tenant.
    Subscription {
        #[command(subcommand)]
        command: SubscriptionCommand,
    },
    /// Exit 0 when the `vaultlink serve` of the data directory answers `GET /vaultlink/health` on
    /// its identity listener, 1 otherwise (a container's HEALTHCHECK; the image has no curl).
    Health(DataDirArg),
    /// The running instance's clock: show it, move it forward (soft-delete retention, expiry,
    /// token lifetimes then pass as they would), or set it.
    Clock {
        #[command(subcommand)]
        command: ClockCommand,
    },
    /// Save the whole state to a file, or replace it with one saved before.
    Snapshot {
        #[command(subcommand)]
        command: SnapshotCommand,
    },
    /// Put the state back to a fresh instance's (the seeded tenant, subscription, principals and
    /// their role assignments), in one step.
    Reset {
        #[command(flatten)]
        dir: DataDirArg,
        #[command(flatten)]
        to: ServerArgs,
    },
    /// Apply a seed file to the running instance: tenants, principals and resources (docs/seed.md),
    /// whole or not at all; prints what it made (the principals' secrets, shown once).
    Seed {
        #[command(flatten)]
        dir: DataDirArg,
        #[command(flatten)]
        to: ServerArgs,
        file: PathBuf,
    },
    /// A tenant's quota (a shared server's team): how many vaults and secrets its subscriptions
    /// may hold and how many requests its callers may make.
    Quota {
        #[command(subcommand)]
        command: QuotaCommand,
    },
    /// Write each secret of a vault to DIR/NAME.blob as a backup blob, for `az keyvault secret
    /// restore --file` and the SDKs' `restore_secret_backup`.
    Export {
        #[command(flatten)]
        dir: DataDirArg,
        /// The vault's name.
        #[arg(long)]
        vault: String,
        /// The directory to write the blobs to (made if missing).
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum QuotaCommand {
    /// Set a tenant's quota (a limit not given is none); prints it with what the tenant holds.
    Set {
        #[command(flatten)]
        dir: DataDirArg,
        #[command(flatten)]
        to: ServerArgs,
        /// The tenant (id, domain or name).
        tenant: String,
        /// Live vaults in its subscriptions.
        #[arg(long)]
        vaults: Option<u32>,
        /// Secrets in its vaults (soft-deleted ones count; certificates' own do not).
        #[arg(long)]
        secrets: Option<u32>,
        /// Authenticated requests by its callers per 10 seconds (counted by each process).
        #[arg(long = "requests-per-10s")]
        requests_per_10_seconds: Option<u32>,
    },
    /// Print a tenant's quota and what it holds.
    Show {
        #[command(flatten)]
        dir: DataDirArg,
        #[command(flatten)]
        to: ServerArgs,
        tenant: String,
    },
}

#[derive(Debug, Subcommand)]
enum ClockCommand {
    /// Print the engine's time and how far it is ahead of the system's, as JSON.
    Show(DataDirArg),
    /// Move the clock forward by DURATION: a number and a unit (w, d, h, m, s), e.g. 91d, 1d12h.
    Advance {
        #[command(flatten)]
        dir: DataDirArg,
        #[arg(value_parser = crate::clock::parse_duration)]
        duration: i64,
    },
    /// Set the clock to TIME (RFC 3339, e.g. 2027-03-01T00:00:00Z), which must not be earlier.
    Set {
        #[command(flatten)]
        dir: DataDirArg,
        #[arg(value_parser = crate::clock::parse_time)]
        time: i64,
    },
}

#[derive(Debug, Subcommand)]
enum SnapshotCommand {
    /// Write every record (secret and key values stay sealed under the root key) to FILE (mode 0600).
    Save {
        #[command(flatten)]
        dir: DataDirArg,
        file: PathBuf,
        /// Seal the values under the passphrase in this file (its first line, at least 12
        /// characters) instead of the root key, so that the snapshot loads on another data directory.
        #[arg(long, value_name = "FILE")]
        passphrase_file: Option<PathBuf>,
    },
    /// Replace the whole state with FILE's, atomically; a snapshot of another root key or a newer
    /// vaultlink is refused and nothing changes.
    Load {
        #[command(flatten)]
        dir: DataDirArg,
        file: PathBuf,
        /// The passphrase a snapshot was saved with (`save --passphrase-file`).
        #[arg(long, value_name = "FILE")]
        passphrase_file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum TenantCommand {
    /// Add a tenant with domain NAME.onmicrosoft.com and an administrator (a service principal
    /// holding Global Administrator); prints its id and the administrator's secret (shown once).
    Add {
        #[command(flatten)]
        dir: DataDirArg,
        #[command(flatten)]
        to: ServerArgs,
        /// Its name: letters and digits (the domain is NAME.onmicrosoft.com).
        name: String,
    },
    /// List the tenants as JSON.
    List(DataDirArg),
}

#[derive(Debug, Subcommand)]
enum SubscriptionCommand {
    /// Add a subscription to a tenant, with an Owner (the tenant's administrator unless given).
    Add {
        #[command(flatten)]
        dir: DataDirArg,
        #[command(flatten)]
        to: ServerArgs,
        /// Display name.
        name: String,
        /// The tenant (id or domain); the default tenant when omitted.
        #[arg(long)]
        tenant: Option<String>,
        /// The service principal (app id or object id) that becomes its Owner.
        #[arg(long)]
        owner: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum OnpremCommand {
    /// Create or replace an on-premises network.
    Add {
        #[command(flatten)]
        dir: DataDirArg,
        /// Its name (use it with `exec --nic NAME`, `doctor --from NAME`, or as the proxy user).
        name: String,
        /// The VNet its gateway joins (name or resource id).
        #[arg(long)]
        vnet: String,
        /// Its address space (the machine gets .10, its DNS server .53).
        #[arg(long, default_value = "192.168.0.0/24")]
        address_space: String,
        /// A conditional forwarder on its DNS server, `ZONE=ADDRESS` (repeatable).
        #[arg(long = "forward", value_parser = parse_forwarder)]
        forwarders: Vec<(String, String)>,
    },
    /// Delete an on-premises network.
    Delete {
        #[command(flatten)]
        dir: DataDirArg,
        name: String,
    },
    /// List on-premises networks as JSON.
    List(DataDirArg),
}

/// Sends one request line to the `vaultlink serve` running on `dir` and returns what its `ok`
/// reply carries; an `error` reply, or no running instance, is the command's error.
fn ask_running(dir: &std::path::Path, line: &str) -> anyhow::Result<String> {
    let Some(reply) = crate::control::request(dir, line) else {
        anyhow::bail!("no `vaultlink serve` is running with data directory {}", dir.display());
    };
    let reply = reply?;
    match reply.strip_prefix("ok ") {
        Some(json) => Ok(json.to_string()),
        None => anyhow::bail!("vaultlink serve: {}", reply.strip_prefix("error ").unwrap_or(&reply)),
    }
}

fn parse_forwarder(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(z, a)| (z.to_string(), a.to_string()))
        .ok_or_else(|| format!("expected ZONE=ADDRESS, got {s}"))
}

#[derive(Debug, Subcommand)]
enum PrincipalCommand {
    /// Add a service principal; prints its appId, objectId and secret (shown once) as JSON.
    Add {
        #[command(flatten)]
        dir: DataDirArg,
        #[command(flatten)]
        to: ServerArgs,
        /// Display name.
        #[arg(long)]
        name: String,
        /// The tenant (id or domain); the default tenant when omitted.
        #[arg(long)]
        tenant: Option<String>,
        /// Register its application as multi-tenant, so other tenants may add its service
        /// principal (Graph `POST /servicePrincipals` by their administrator).
        #[arg(long)]
        multi_tenant: bool,
    },
    /// List the principals of every tenant as JSON.
    List(DataDirArg),
}

#[derive(Debug, clap::Args)]
pub(crate) struct DoctorArgs {
    #[command(flatten)]
    dir: DataDirArg,
    /// The vault to check.
    #[arg(required_unless_present = "matrix")]
    vault: Option<String>,
    /// The caller is a machine at this client NIC (name or id), or in this on-premises network.
    #[arg(long, visible_alias = "from-network", conflicts_with = "from_internet")]
    from: Option<String>,
    /// The caller is on the internet (the default), optionally with this public address.
    #[arg(long)]
    from_internet: Option<Option<std::net::Ipv4Addr>>,
    /// Also check that this principal (client id or object id) may read secrets.
    #[arg(long)]
    principal: Option<String>,
    /// Every caller against every vault: address, path, allowed or refused, and why.
    #[arg(long)]
    matrix: bool,
    /// `text` (default) or `json`.
    #[arg(long, default_value = "text")]
    output: String,
}

#[derive(Debug, clap::Args)]
pub(crate) struct DataDirArg {
    /// Where vaultlink keeps its state, CA and keys.
    #[arg(long, env = "VAULTLINK_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub dir: DataDirArg,
    /// Keep resource state in memory only (the CA and keys still live in the data directory).
    #[arg(long)]
    pub in_memory: bool,
    /// With --store: before answering any request, apply every batch other replicas have
    /// committed, so a read sees every write acknowledged anywhere before it (one database round
    /// trip per request; 503 while the database cannot be asked).
    #[arg(long, env = "VAULTLINK_STRICT_READS", requires = "store")]
    pub strict_reads: bool,
    /// Keep the state in a PostgreSQL database (`postgres://user:password@host:port/db`) instead of
    /// the data directory's state file; the tables are made on first use. The CA and token key
    /// are shared through it, sealed under the root key, which stays in the data directory or
    /// VAULTLINK_ROOT_KEY.
    #[arg(long, env = "VAULTLINK_STORE", value_name = "URL", hide_env_values = true)]
    pub store: Option<String>,
    /// With --store and `sslmode=require` in its URL: a PEM file of the CA that signed the
    /// database server's certificate, trusted beside the system's roots (the certificate's chain
    /// and name are always checked).
    #[arg(long, env = "VAULTLINK_STORE_CA", value_name = "FILE", requires = "store")]
    pub store_ca: Option<PathBuf>,
    /// The HTTP CONNECT proxy (HTTPS_PROXY) address.
    #[arg(long, env = "VAULTLINK_PROXY_LISTEN", default_value = DEFAULT_PROXY)]
    pub proxy_listen: SocketAddr,
    /// The direct HTTPS listener (ARM, Entra, metadata/endpoints).
    #[arg(long, env = "VAULTLINK_HTTPS_LISTEN", default_value = DEFAULT_HTTPS)]
    pub https_listen: SocketAddr,
    /// The managed-identity endpoint (plain HTTP, like IMDS).
    #[arg(long, env = "VAULTLINK_IDENTITY_LISTEN", default_value = DEFAULT_IDENTITY)]
    pub identity_listen: SocketAddr,
    /// The public address of a caller on the internet, as the vault firewall sees it.
    #[arg(long, env = "VAULTLINK_PUBLIC_ADDRESS", default_value = vaultlink_core::seed::DEFAULT_PUBLIC_ADDRESS)]
    pub public_address: std::net::Ipv4Addr,
    /// Turn off Key Vault's per-vault request limits (on by default, as in Azure).
    #[arg(long, env = "VAULTLINK_NO_THROTTLE")]
    pub no_throttle: bool,
    /// The DNS server for the internet's view (UDP and TCP).
    #[arg(long, env = "VAULTLINK_DNS_LISTEN", default_value = DEFAULT_DNS)]
    pub dns_listen: SocketAddr,
    /// Lab mode (Linux, root): `vaultlink exec --nic` runs commands in network namespaces.
    #[arg(long, env = "VAULTLINK_LAB")]
    pub lab: bool,
    /// More host names the direct listener, the portal and the identity endpoint answer to
    /// (beside IP addresses, `localhost` and the Azure names vaultlink plays); any other Host is
    /// refused, so a page that rebinds its own name to this machine cannot use them.
    #[arg(long = "allowed-host", env = "VAULTLINK_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
    /// URL prefixes (`http://127.0.0.1:8000/templates/`) below which linked templates and
    /// parameter files (`templateLink`, `parametersLink`, `az deployment ... --template-uri`) are
    /// downloaded; nothing else is ever fetched, so a caller cannot point vaultlink at this
    /// machine's other services.
    #[arg(long = "allowed-template-link", env = "VAULTLINK_ALLOWED_TEMPLATE_LINKS", value_delimiter = ',')]
    pub allowed_template_links: Vec<String>,
    /// Open connections each listener keeps at most; past it new ones are closed at once.
    #[arg(long, env = "VAULTLINK_MAX_CONNECTIONS", default_value_t = crate::ingress::limits::DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Start the engine's clock at TIME (RFC 3339) or +DURATION ahead of the system's (e.g.
    /// +91d); `vaultlink clock` moves it later.
    #[arg(long, env = "VAULTLINK_CLOCK", value_parser = crate::clock::parse_start)]
    pub clock: Option<crate::clock::ClockStart>,
    /// Seconds a connection may take to send a request's head, counted from when it is ready for
    /// one (so also how long an idle keep-alive connection stays open).
    #[arg(long, env = "VAULTLINK_REQUEST_HEAD_TIMEOUT", default_value_t = crate::ingress::limits::DEFAULT_REQUEST_HEAD_TIMEOUT.as_secs())]
    pub request_head_timeout: u64,
    /// Apply the seed file FILE (`vaultlink seed`) before serving; a bad file stops the start.
    #[arg(long, env = "VAULTLINK_SEED")]
    pub seed: Option<PathBuf>,
    /// Serve a team from one machine (docs/shared-server.md): TLS on every HTTP listener (the
    /// proxy and the identity endpoint too) with --tls-cert, the admin API under
    /// `/vaultlink/admin/` for the admin key's holder, and managed-identity tokens only for a
    /// caller that presents its tenant's identity header.
    #[arg(long, env = "VAULTLINK_SHARED", requires_all = ["tls_cert", "tls_key"])]
    pub shared: bool,
    /// With --shared: the server's certificate chain (PEM, its own certificate first) for the
    /// names and addresses clients reach it by, issued by a CA they trust.
    #[arg(long, env = "VAULTLINK_TLS_CERT", value_name = "FILE", requires = "shared")]
    pub tls_cert: Option<PathBuf>,
    /// With --shared: the private key of --tls-cert (a file private to its owner).
    #[arg(long, env = "VAULTLINK_TLS_KEY", value_name = "FILE", requires = "shared")]
    pub tls_key: Option<PathBuf>,
    /// With --shared: the admin key's file (made, 0600, if missing); by default `admin.key` in
    /// the data directory. Replicas on one database are given the same one.
    #[arg(long, env = "VAULTLINK_ADMIN_KEY_FILE", value_name = "FILE", requires = "shared")]
    pub admin_key_file: Option<PathBuf>,
}

impl DataDirArg {
    /// The data directory: `--data-dir`, `$VAULTLINK_DATA_DIR`, else `$XDG_DATA_HOME/vaultlink`,
    /// else `~/.local/share/vaultlink`.
    pub(crate) fn resolve(&self) -> anyhow::Result<PathBuf> {
        if let Some(d) = &self.data_dir {
            return Ok(d.clone());
        }
        if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|x| !x.is_empty()) {
            return Ok(PathBuf::from(x).join("vaultlink"));
        }
        let home = std::env::var_os("HOME")
            .context("neither --data-dir, VAULTLINK_DATA_DIR, XDG_DATA_HOME nor HOME is set")?;
        Ok(PathBuf::from(home).join(".local/share/vaultlink"))
    }
}

pub(crate) fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => crate::serve::run(args),
        Command::Env { dir, format } => {
            print!("{}", render_env(format, &env_vars(&dir.resolve()?)));
            Ok(())
        }
        Command::Doctor(args) => std::process::exit(doctor(args)?),
        Command::Health(dir) => std::process::exit(crate::ingress::wellknown::health(&dir.resolve()?)),
        Command::Onprem { command } => {
            let (dir, req) = match command {
                OnpremCommand::Add { dir, name, vnet, address_space, forwarders } => (
                    dir,
                    serde_json::json!({"op": "put", "name": name, "vnet": vnet, "addressSpace": address_space, "forwarders": forwarders}),
                ),
                OnpremCommand::Delete { dir, name } => (dir, serde_json::json!({"op": "delete", "name": name})),
                OnpremCommand::List(dir) => (dir, serde_json::json!({"op": "list"})),
            };
            println!("{}", ask_running(&dir.resolve()?, &format!("onprem {req}"))?);
            Ok(())
        }
        Command::Clock { command } => {
            use crate::clock::ClockOp;
            let (dir, op) = match command {
                ClockCommand::Show(dir) => (dir, ClockOp::Show),
                ClockCommand::Advance { dir, duration } => (dir, ClockOp::Advance { seconds: duration }),
                ClockCommand::Set { dir, time } => (dir, ClockOp::Set { unix: time }),
            };
            println!("{}", ask_running(&dir.resolve()?, &format!("clock {}", serde_json::to_string(&op)?))?);
            Ok(())
        }
        Command::Exec { dir, nic, vm, command } => {
            let code = exec(&dir.resolve()?, nic.or(vm).as_deref().unwrap_or_default(), &command)?;
            std::process::exit(code);
        }
        Command::Principal { command: PrincipalCommand::Add { dir, to, name, tenant, multi_tenant } } => {
            directory(&dir, &to, &DirectoryOp::Principal { name, tenant, multi_tenant })
        }
        Command::Tenant { command: TenantCommand::Add { dir, to, name } } => {
            directory(&dir, &to, &DirectoryOp::Tenant { name })
        }
        Command::Quota { command: QuotaCommand::Set { dir, to, tenant, vaults, secrets, requests_per_10_seconds } } => {
            let quota = vaultlink_core::quota::Quota { vaults, secrets, requests_per_10_seconds };
            directory(&dir, &to, &DirectoryOp::QuotaSet { tenant, quota })
        }
        Command::Quota { command: QuotaCommand::Show { dir, to, tenant } } => {
            directory(&dir, &to, &DirectoryOp::QuotaShow { tenant })
        }
        Command::Tenant { command: TenantCommand::List(dir) } => {
            let engine = crate::serve::open_engine(&dir.resolve()?, &crate::serve::Backing::offline()?)?;
            let list: Vec<_> = engine.read(|s| {
                vaultlink_core::identity::tenants(s)
                    .into_iter()
                    .map(|t| serde_json::json!({"tenantId": t.tenant_id, "displayName": t.display_name, "defaultDomain": t.default_domain}))
                    .collect()
            });
            println!("{}", serde_json::to_string_pretty(&list)?);
            Ok(())
        }
        Command::Subscription { command: SubscriptionCommand::Add { dir, to, name, tenant, owner } } => {
            directory(&dir, &to, &DirectoryOp::Subscription { name, tenant, owner })
        }
        Command::Snapshot { command: SnapshotCommand::Save { dir, file, passphrase_file } } => {
            let path = std::path::absolute(&file)?;
            let passphrase_file = passphrase_file.map(std::path::absolute).transpose()?;
            state_op(&dir.resolve()?, &crate::control::StateOp::SnapshotSave { path, passphrase_file })
        }
        Command::Snapshot { command: SnapshotCommand::Load { dir, file, passphrase_file } } => {
            let path = std::path::absolute(&file)?;
            let passphrase_file = passphrase_file.map(std::path::absolute).transpose()?;
            state_op(&dir.resolve()?, &crate::control::StateOp::SnapshotLoad { path, passphrase_file })
        }
        Command::Reset { to, .. } if to.server.is_some() => {
            println!("{}", crate::admin::call(&to, hyper::Method::POST, "/reset", None)?);
            Ok(())
        }
        Command::Reset { dir, .. } => state_op(&dir.resolve()?, &crate::control::StateOp::Reset),
        Command::Seed { to, file, .. } if to.server.is_some() => {
            let body = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let answer = crate::admin::call(&to, hyper::Method::POST, "/seed", Some(body))?;
            println!("{}", serde_json::to_string_pretty(&answer)?);
            Ok(())
        }
        Command::Seed { dir, file, .. } => {
            let dir = dir.resolve()?;
            let path = std::path::absolute(&file)?;
            let line = format!("seed {}", serde_json::json!({"path": path}));
            let Some(reply) = crate::control::request(&dir, &line) else {
                anyhow::bail!(
                    "no vaultlink serve runs on {}: start it (a seed file is applied through its Resource Manager), or use `vaultlink serve --seed FILE`",
                    dir.display()
                );
            };
            let reply = reply?;
            match reply.strip_prefix("ok ") {
                Some(json) => {
                    println!("{}", serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(json)?)?)
                }
                None => anyhow::bail!("vaultlink serve: {}", reply.strip_prefix("error ").unwrap_or(&reply)),
            }
            Ok(())
        }
        Command::Export { dir, vault, out } => {
            let out = std::path::absolute(&out)?;
            state_op(&dir.resolve()?, &crate::control::StateOp::Export { vault, dir: out })
        }
        Command::Principal { command: PrincipalCommand::List(dir) } => {
            let engine = crate::serve::open_engine(&dir.resolve()?, &crate::serve::Backing::offline()?)?;
            let list: Vec<_> = engine.read(|s| {
                vaultlink_core::identity::principals(s)
                    .into_iter()
                    .map(|p| serde_json::json!({"appId": p.app_id, "objectId": p.object_id, "tenant": p.tenant_id, "displayName": p.display_name, "managedIdentity": p.managed_identity, "user": p.user.is_some()}))
                    .collect()
            });
            println!("{}", serde_json::to_string_pretty(&list)?);
            Ok(())
        }
    }
}

/// Runs a directory change on the shared server `--server` names (its admin API), else in the
/// serving instance (so it works at once), or on the data directory when none serves it, and
/// prints the answer.
fn directory(dir: &DataDirArg, to: &ServerArgs, op: &DirectoryOp) -> anyhow::Result<()> {
    if to.server.is_some() {
        println!("{}", crate::admin::call(to, hyper::Method::POST, "/directory", Some(serde_json::to_vec(op)?))?);
        return Ok(());
    }
    let dir = &dir.resolve()?;
    let answer = match crate::control::request(dir, &format!("directory {}", serde_json::to_string(op)?)) {
        Some(reply) => {
            let reply = reply?;
            match reply.strip_prefix("ok ") {
                Some(json) => serde_json::from_str(json)?,
                None => anyhow::bail!("vaultlink serve: {}", reply.strip_prefix("error ").unwrap_or(&reply)),
            }
        }
        None => crate::control::directory(&crate::serve::open_engine(dir, &crate::serve::Backing::offline()?)?, op)?,
    };
    println!("{answer}");
    Ok(())
}

/// Runs a whole-state change in the serving instance (so it serves the new state at once), or on
/// the data directory when none serves it (with its root key), and prints the answer.
fn state_op(dir: &std::path::Path, op: &crate::control::StateOp) -> anyhow::Result<()> {
    let answer = match crate::control::request(dir, &format!("state {}", serde_json::to_string(op)?)) {
        Some(reply) => {
            let reply = reply?;
            match reply.strip_prefix("ok ") {
                Some(json) => serde_json::from_str(json)?,
                None => anyhow::bail!("vaultlink serve: {}", reply.strip_prefix("error ").unwrap_or(&reply)),
            }
        }
        None => {
            let engine = crate::serve::open_engine(dir, &crate::serve::Backing::offline()?)?;
            let sealer = crate::serve::open_sealer(dir, &engine, false)?;
            crate::control::state(&engine, &sealer, op)?
        }
    };
    println!("{answer}");
    Ok(())
}

/// The forms `vaultlink env` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum EnvFormat {
    /// POSIX shell (`export K='v'`), for `eval "$(vaultlink env)"`.
    Sh,
    /// fish (`set -gx K 'v'`), for `vaultlink env --format fish | source`.
    Fish,
    /// PowerShell (`$env:K = 'v'`), for `vaultlink env --format powershell | Invoke-Expression`.
    Powershell,
    /// A `.env` file (`K=v`), for docker `--env-file`, compose and dotenv libraries.
    Dotenv,
    /// One JSON object of the variables.
    Json,
}

/// What `vaultlink env` sets, and the identity endpoint for its hint lines.
pub(crate) struct EnvVars {
    vars: Vec<(&'static str, String)>,
    identity: String,
}

/// The variables for the instance using `data_dir` (its `endpoints.json` when it has run, else
/// the default addresses).
pub(crate) fn env_vars(data_dir: &std::path::Path) -> EnvVars {
    let endpoints = crate::serve::Endpoints::read(data_dir).unwrap_or_else(|| crate::serve::Endpoints {
        proxy: format!("http://{DEFAULT_PROXY}"),
        https: format!("https://{DEFAULT_HTTPS}"),
        identity: format!("http://{DEFAULT_IDENTITY}"),
        dns: Some(DEFAULT_DNS.into()),
    });
    let bundle = data_dir.join(crate::serve::CA_BUNDLE_FILE).display().to_string();
    let vars = vec![
        ("HTTPS_PROXY", endpoints.proxy),
        ("NO_PROXY", "localhost,127.0.0.1".into()),
        ("REQUESTS_CA_BUNDLE", bundle.clone()),
        ("SSL_CERT_FILE", bundle.clone()),
        ("NODE_EXTRA_CA_CERTS", bundle),
        ("AZURE_CORE_COLLECT_TELEMETRY", "false".into()),
        ("AZURE_TENANT_ID", seed::TENANT_ID.into()),
        ("AZURE_CLIENT_ID", seed::DEV_CLIENT_ID.into()),
        ("AZURE_CLIENT_SECRET", seed::DEV_CLIENT_SECRET.into()),
        ("AZURE_SUBSCRIPTION_ID", seed::SUBSCRIPTION_ID.into()),
    ];
    EnvVars { vars, identity: endpoints.identity }
}

/// The variables in one of `vaultlink env`'s forms; the shells' forms end with how to sign in.
pub(crate) fn render_env(format: EnvFormat, env: &EnvVars) -> String {
    // Each shell's single quotes: what ends them, and how a quote inside is written.
    let sh = |v: &str| format!("'{}'", v.replace('\'', "'\\''"));
    let fish = |v: &str| format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"));
    let pwsh = |v: &str| format!("'{}'", v.replace('\'', "''"));
    // A `.env` value as every reader takes it: bare when plain, else double-quoted with `\` and
    // `"` escaped (vaultlink's own values are plain; a data directory's path may hold a space).
    let dotenv = |v: &str| {
        let plain = v.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:,@%+=".contains(c));
        if plain { v.to_string() } else { format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")) }
    };
    let line = |k: &str, v: &str| match format {
        EnvFormat::Sh => format!("export {k}={}\n", sh(v)),
        EnvFormat::Fish => format!("set -gx {k} {}\n", fish(v)),
        EnvFormat::Powershell => format!("$env:{k} = {}\n", pwsh(v)),
        EnvFormat::Dotenv => format!("{k}={}\n", dotenv(v)),
        EnvFormat::Json => String::new(),
    };
    if format == EnvFormat::Json {
        let map: serde_json::Map<String, serde_json::Value> =
            env.vars.iter().map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone()))).collect();
        return format!("{}\n", serde_json::Value::Object(map));
    }
    let mut out: String = env.vars.iter().map(|(k, v)| line(k, v)).collect();
    let var = match format {
        EnvFormat::Sh | EnvFormat::Fish => |k: &str| format!("\"${k}\""),
        EnvFormat::Powershell => |k: &str| format!("$env:{k}"),
        EnvFormat::Dotenv | EnvFormat::Json => return out,
    };
    out.push_str(&format!(
        "# az login --service-principal -u {} -p {} --tenant {}\n# managed identity: AZURE_POD_IDENTITY_AUTHORITY_HOST={} az login --identity\n",
        var("AZURE_CLIENT_ID"),
        var("AZURE_CLIENT_SECRET"),
        var("AZURE_TENANT_ID"),
        env.identity
    ));
    out
}

/// `vaultlink exec`: asks the running instance where the NIC's machine lives, then runs the command there.
fn exec(dir: &std::path::Path, nic: &str, command: &[String]) -> anyhow::Result<i32> {
    let Some(reply) = crate::control::request(dir, &format!("exec {nic}")) else {
        anyhow::bail!("no `vaultlink serve` is running with data directory {}", dir.display());
    };
    let reply = reply?;
    let reply = reply.as_str();
    let bundle = dir.join(crate::serve::CA_BUNDLE_FILE).display().to_string();
    let mut cmd;
    if let Some(ns) = reply.strip_prefix("lab ") {
        cmd = std::process::Command::new("ip");
        cmd.args(["netns", "exec", ns]).args(command);
        for k in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"] {
            cmd.env_remove(k);
        }
    } else if let Some(rest) = reply.strip_prefix("portable ") {
        let (proxy, dns) = rest.split_once(' ').unwrap_or((rest, "-"));
        cmd = std::process::Command::new(&command[0]);
        cmd.args(&command[1..]).env("HTTPS_PROXY", proxy).env("NO_PROXY", "localhost,127.0.0.1");
        if let Some((host, port)) = dns.rsplit_once(':') {
            cmd.env("VAULTLINK_DNS", dns).env("VAULTLINK_DNS_SERVER", host).env("VAULTLINK_DNS_PORT", port);
        }
    } else {
        anyhow::bail!("vaultlink serve: {}", reply.strip_prefix("error ").unwrap_or(reply));
    }
    cmd.env("REQUESTS_CA_BUNDLE", &bundle)
        .env("SSL_CERT_FILE", &bundle)
        .env("CURL_CA_BUNDLE", &bundle)
        .env("NODE_EXTRA_CA_CERTS", &bundle)
        .env("AZURE_CORE_COLLECT_TELEMETRY", "false");
    let status = cmd.status().with_context(|| format!("running {}", command[0]))?;
    Ok(status.code().unwrap_or(1))
}

fn doctor(a: DoctorArgs) -> anyhow::Result<i32> {
    let dir = a.dir.resolve()?;
    let from = match (&a.from, &a.from_internet) {
        (Some(nic), _) => Some(nic.clone()),
        (None, Some(Some(ip))) => Some(ip.to_string()),
        _ => None,
    };
    let req = serde_json::json!({"vault": a.vault, "from": from, "principal": a.principal, "matrix": a.matrix});
    let Some(reply) = crate::control::request(&dir, &format!("doctor {req}")) else {
        anyhow::bail!("no `vaultlink serve` is running with data directory {}", dir.display());
    };
    let reply = reply?;
    let Some(json) = reply.strip_prefix("ok ") else {
        anyhow::bail!("vaultlink serve: {}", reply.strip_prefix("error ").unwrap_or(&reply));
    };
    let v: serde_json::Value = serde_json::from_str(json)?;
    if a.output == "json" {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else if a.matrix {
        println!("{:<44} {:<24} {:<16} {:<17} {:<8} REASON", "CALLER", "VAULT", "ADDRESS", "PATH", "ALLOWED");
        for r in v.as_array().into_iter().flatten() {
            println!(
                "{:<44} {:<24} {:<16} {:<17} {:<8} {}",
                r["caller"].as_str().unwrap_or(""),
                r["vault"].as_str().unwrap_or(""),
                r["address"].as_str().unwrap_or("-"),
                r["path"].as_str().unwrap_or(""),
                if r["allowed"].as_bool() == Some(true) { "yes" } else { "no" },
                r["reason"].as_str().unwrap_or("")
            );
        }
    } else {
        println!("vault   {}", v["vault"].as_str().unwrap_or(""));
        println!("caller  {}", v["caller"].as_str().unwrap_or(""));
        println!(
            "dns     {}",
            v["dns"]
                .as_array()
                .map(|l| l.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join("\n        "))
                .unwrap_or_default()
        );
        println!("path    {} ({})", v["path"].as_str().unwrap_or(""), v["reason"].as_str().unwrap_or(""));
        let findings = v["findings"].as_array().cloned().unwrap_or_default();
        if findings.is_empty() {
            println!("healthy: no problem found");
        }
        for f in findings {
            println!(
                "\n[{} {}] {}",
                f["severity"].as_str().unwrap_or(""),
                f["check"].as_str().unwrap_or(""),
                f["problem"].as_str().unwrap_or("")
            );
            for e in f["evidence"].as_array().into_iter().flatten() {
                println!("    evidence: {}", e.as_str().unwrap_or(""));
            }
            if let Some(fix) = f["fix"].as_str() {
                println!("    fix:      {fix}");
            }
        }
        let steps = v["principal_steps"].as_array().cloned().unwrap_or_default();
        if !steps.is_empty() {
            println!("\nwhat this principal may do:");
        }
        for s in steps {
            let allowed = s["allowed"].as_bool() == Some(true);
            println!("  [{}] {}", if allowed { "yes" } else { "no " }, s["step"].as_str().unwrap_or(""));
            if let Some(fix) = s["fix"].as_str() {
                println!("        grant: {fix}");
            }
        }
    }
    let healthy = if a.matrix {
        true
    } else {
        v["reachable"].as_bool() == Some(true)
            && v["findings"].as_array().is_some_and(|f| f.iter().all(|x| x["severity"].as_str() != Some("error")))
    };
    Ok(if healthy { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(value: &str) -> EnvVars {
        EnvVars { vars: vec![("V", value.to_string())], identity: "http://127.0.0.1:1".into() }
    }

    #[test]
    fn each_form_quotes_what_its_reader_would_misread() {
        let tricky = r#"a'b\c"d $e"#;
        let out = |f| render_env(f, &env(tricky)).lines().next().unwrap().to_string();
        assert_eq!(out(EnvFormat::Sh), r#"export V='a'\''b\c"d $e'"#);
        assert_eq!(out(EnvFormat::Fish), r#"set -gx V 'a\'b\\c"d $e'"#);
        assert_eq!(out(EnvFormat::Powershell), r#"$env:V = 'a''b\c"d $e'"#);
        assert_eq!(out(EnvFormat::Dotenv), r#"V="a'b\\c\"d $e""#);
        let json: serde_json::Value = serde_json::from_str(&render_env(EnvFormat::Json, &env(tricky))).unwrap();
        assert_eq!(json, serde_json::json!({"V": tricky}));
        // Plain values stay bare in a .env file (docker --env-file takes quotes literally).
        assert_eq!(render_env(EnvFormat::Dotenv, &env("http://127.0.0.1:8080")), "V=http://127.0.0.1:8080\n");
    }

    #[test]
    fn the_shell_forms_say_how_to_sign_in_in_their_own_syntax() {
        let e = env("x");
        assert!(render_env(EnvFormat::Sh, &e).contains(r#"-u "$AZURE_CLIENT_ID""#));
        assert!(render_env(EnvFormat::Fish, &e).contains(r#"-u "$AZURE_CLIENT_ID""#));
        assert!(render_env(EnvFormat::Powershell, &e).contains("-u $env:AZURE_CLIENT_ID"));
        assert!(!render_env(EnvFormat::Dotenv, &e).contains('#'));
    }
}
