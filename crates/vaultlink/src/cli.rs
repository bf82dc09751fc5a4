//! The command line: `serve`, `env`, `principal add`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use vaultlink_core::seed;

/// Default listen addresses (loopback only).
pub const DEFAULT_PROXY: &str = "127.0.0.1:8780";
pub const DEFAULT_HTTPS: &str = "127.0.0.1:8743";
pub const DEFAULT_IDENTITY: &str = "127.0.0.1:8781";

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
    /// Print the shell exports that point Azure clients at a running vaultlink.
    Env(DataDirArg),
    /// Manage Entra principals of the emulated tenant.
    Principal {
        #[command(subcommand)]
        command: PrincipalCommand,
    },
}

#[derive(Debug, Subcommand)]
enum PrincipalCommand {
    /// Add a service principal; prints its appId, objectId and secret (shown once) as JSON.
    Add {
        #[command(flatten)]
        dir: DataDirArg,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// List the principals of the tenant as JSON.
    List(DataDirArg),
}

#[derive(Debug, clap::Args)]
pub struct DataDirArg {
    /// Where vaultlink keeps its state, CA and keys.
    #[arg(long, env = "VAULTLINK_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub dir: DataDirArg,
    /// Keep resource state in memory only (the CA and keys still live in the data directory).
    #[arg(long)]
    pub in_memory: bool,
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
}

impl DataDirArg {
    /// The data directory: `--data-dir`, `$VAULTLINK_DATA_DIR`, else `$XDG_DATA_HOME/vaultlink`,
    /// else `~/.local/share/vaultlink`.
    pub fn resolve(&self) -> anyhow::Result<PathBuf> {
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

pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => crate::serve::run(args),
        Command::Env(dir) => {
            print!("{}", env_exports(&dir.resolve()?)?);
            Ok(())
        }
        Command::Principal { command: PrincipalCommand::Add { dir, name } } => {
            let engine = crate::serve::open_engine(&dir.resolve()?, false)?;
            let (p, secret) = vaultlink_core::identity::add_principal(&engine, &name)?;
            println!(
                "{}",
                serde_json::json!({"appId": p.app_id, "objectId": p.object_id, "secret": secret, "tenant": p.tenant_id, "displayName": p.display_name})
            );
            Ok(())
        }
        Command::Principal { command: PrincipalCommand::List(dir) } => {
            let engine = crate::serve::open_engine(&dir.resolve()?, false)?;
            let list: Vec<_> = engine.read(|s| {
                vaultlink_core::identity::principals(s)
                    .into_iter()
                    .map(|p| serde_json::json!({"appId": p.app_id, "objectId": p.object_id, "displayName": p.display_name, "managedIdentity": p.managed_identity}))
                    .collect()
            });
            println!("{}", serde_json::to_string_pretty(&list)?);
            Ok(())
        }
    }
}

/// The exports for the instance using `data_dir` (its `endpoints.json` when it has run, else the
/// default addresses).
pub fn env_exports(data_dir: &std::path::Path) -> anyhow::Result<String> {
    let endpoints = crate::serve::Endpoints::read(data_dir).unwrap_or_else(|| crate::serve::Endpoints {
        proxy: format!("http://{DEFAULT_PROXY}"),
        https: format!("https://{DEFAULT_HTTPS}"),
        identity: format!("http://{DEFAULT_IDENTITY}"),
    });
    let bundle = data_dir.join(crate::serve::CA_BUNDLE_FILE);
    let bundle = bundle.display().to_string();
    let vars = [
        ("HTTPS_PROXY", endpoints.proxy.as_str()),
        ("NO_PROXY", "localhost,127.0.0.1"),
        ("REQUESTS_CA_BUNDLE", &bundle),
        ("SSL_CERT_FILE", &bundle),
        ("NODE_EXTRA_CA_CERTS", &bundle),
        ("AZURE_CORE_COLLECT_TELEMETRY", "false"),
        ("AZURE_TENANT_ID", seed::TENANT_ID),
        ("AZURE_CLIENT_ID", seed::DEV_CLIENT_ID),
        ("AZURE_CLIENT_SECRET", seed::DEV_CLIENT_SECRET),
        ("AZURE_SUBSCRIPTION_ID", seed::SUBSCRIPTION_ID),
    ];
    let mut out = String::new();
    for (k, v) in vars {
        out.push_str(&format!("export {k}='{}'\n", v.replace('\'', "'\\''")));
    }
    out.push_str(&format!(
        "# az login --service-principal -u \"$AZURE_CLIENT_ID\" -p \"$AZURE_CLIENT_SECRET\" --tenant \"$AZURE_TENANT_ID\"\n# managed identity: AZURE_POD_IDENTITY_AUTHORITY_HOST={} az login --identity\n",
        endpoints.identity
    ));
    Ok(out)
}
