//! `vaultlink serve`: opens the data directory, binds the listeners, runs until SIGINT/SIGTERM.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use vaultlink_core::Engine;
use vaultlink_core::rootkey::{self, Needs, Verdict};
use vaultlink_crypto::{Ca, ROOT_KEY_ENV, ROOT_KEY_FILE, RootKeySource, Sealer, TokenSigner};

use crate::cli::ServeArgs;
use crate::http::{App, AppParts};

pub(crate) const STATE_FILE: &str = "state.db";
pub(crate) const ENDPOINTS_FILE: &str = "endpoints.json";
pub(crate) const CA_BUNDLE_FILE: &str = "ca-bundle.pem";
/// A shared server's admin key, unless `--admin-key-file` names another.
pub(crate) const ADMIN_KEY_FILE: &str = "admin.key";

/// Where a running instance listens; written to the data directory for `vaultlink env`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Endpoints {
    pub proxy: String,
    pub https: String,
    pub identity: String,
    #[serde(default)]
    pub dns: Option<String>,
}

impl Endpoints {
    /// Where the listeners bound to are reached from this machine: an address bound to every
    /// interface (`0.0.0.0`, `::`, as in the container image) is dialled on loopback, since a
    /// client cannot connect to the unspecified address portably (and `vaultlink env` printed it).
    pub(crate) fn of(proxy: SocketAddr, https: SocketAddr, identity: SocketAddr, dns: SocketAddr) -> Self {
        let dial = |mut a: SocketAddr| {
            if a.ip().is_unspecified() {
                a.set_ip(if a.is_ipv4() { Ipv4Addr::LOCALHOST.into() } else { Ipv6Addr::LOCALHOST.into() });
            }
            a
        };
        Self {
            proxy: format!("http://{}", dial(proxy)),
            https: format!("https://{}", dial(https)),
            identity: format!("http://{}", dial(identity)),
            dns: Some(dial(dns).to_string()),
        }
    }

    /// For a shared server, whose proxy and identity endpoint speak TLS too.
    fn over_tls(self) -> Self {
        let tls = |url: String| url.replacen("http://", "https://", 1);
        Self { proxy: tls(self.proxy), identity: tls(self.identity), ..self }
    }

    pub(crate) fn read(dir: &Path) -> Option<Self> {
        serde_json::from_slice(&std::fs::read(dir.join(ENDPOINTS_FILE)).ok()?).ok()
    }
}

fn ensure_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    let mode = std::fs::metadata(dir)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Where the state is kept.
#[derive(Debug, Clone)]
pub(crate) enum Backing {
    /// The data directory's state file (the default).
    File,
    /// Nowhere: lost when the process ends (`--in-memory`).
    Memory,
    /// A PostgreSQL database (`--store postgres://...` or `VAULTLINK_STORE`), with the CA file
    /// its TLS certificate is checked against beside the system's (`--store-ca`).
    Postgres { url: String, ca: Option<PathBuf> },
}

impl Backing {
    /// What `serve` was told: `--in-memory`, `--store` / `VAULTLINK_STORE`, else the state file.
    pub(crate) fn of(in_memory: bool, store: Option<&str>, ca: Option<&Path>) -> anyhow::Result<Self> {
        match (in_memory, store.filter(|s| !s.is_empty())) {
            (true, Some(_)) => anyhow::bail!("--in-memory and --store (VAULTLINK_STORE) exclude each other"),
            (true, None) => Ok(Self::Memory),
            (false, None) => Ok(Self::File),
            (false, Some(url)) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Self::Postgres { url: url.to_string(), ca: ca.map(Path::to_path_buf) })
            }
            (false, Some(_)) => anyhow::bail!("--store takes a postgres:// or postgresql:// URL"),
        }
    }

    /// What a command run on a stopped instance's data directory opens: the state file, or the
    /// database `VAULTLINK_STORE` names (as `serve` would).
    pub(crate) fn offline() -> anyhow::Result<Self> {
        let ca = std::env::var_os("VAULTLINK_STORE_CA").map(PathBuf::from);
        Self::of(false, std::env::var("VAULTLINK_STORE").ok().as_deref(), ca.as_deref())
    }

    pub(crate) fn is_memory(&self) -> bool {
        matches!(self, Self::Memory)
    }

    /// What the log calls it (never the URL, which may hold a password).
    fn name(&self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Memory => "memory",
            Self::Postgres { .. } => "postgres",
        }
    }
}

/// The files every replica on one database must hold alike, so that each accepts the tokens the
/// others issue and all leave from one CA: with whether each is a private key.
const SHARED_FILES: [(&str, bool); 3] = [("ca.pem", false), ("ca-key.pem", true), ("token-signing-key.pem", true)];

/// Where the database keeps them: one value, so a replica takes all or none.
const SHARED_META: &str = "shared-deployment-keys";

/// For a database store (issue 21, item 3): the CA and the token-signing key live in the
/// database, sealed under the root key (which the operator gives every replica and the
/// database never holds). The first replica offers its own (made as a single instance would make
/// them); every replica then writes the database's copies into its data directory, replacing its
/// own, before it loads them.
fn share_deployment_keys(dir: &Path, engine: &Engine, sealer: &Sealer) -> anyhow::Result<()> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let aad = |file: &str| format!("vaultlink shared deployment key: {file}");
    let stored = match engine.meta(SHARED_META)? {
        Some(stored) => stored,
        None => {
            Ca::load_or_create(dir)?;
            TokenSigner::load_or_create(dir)?;
            let mut offer = serde_json::Map::new();
            for (file, _) in SHARED_FILES {
                let bytes = std::fs::read(dir.join(file)).with_context(|| format!("reading {file}"))?;
                offer.insert(file.into(), b64.encode(sealer.seal(&bytes, aad(file).as_bytes())).into());
            }
            engine.offer_meta(SHARED_META, &serde_json::to_vec(&offer)?)?
        }
    };
    let stored: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&stored).context("the database's shared deployment keys are unreadable")?;
    for (file, private) in SHARED_FILES {
        let sealed = stored.get(file).and_then(serde_json::Value::as_str).map(|v| b64.decode(v));
        let Some(Ok(sealed)) = sealed else { anyhow::bail!("the database's shared deployment keys lack {file}") };
        let bytes = sealer
            .open(&sealed, aad(file).as_bytes())
            .map_err(|e| anyhow::anyhow!("the database's copy of {file} does not open with this root key: {e}"))?;
        let path = dir.join(file);
        if std::fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
            if private {
                vaultlink_crypto::files::write_private(&path, &bytes)
            } else {
                vaultlink_crypto::files::write_public(&path, &bytes)
            }
            .with_context(|| format!("writing {}", path.display()))?;
        }
    }
    Ok(())
}

/// For a database store, on a thread of its own: applies what other processes (replicas)
/// commit, woken by the database's notification (or after a second), and makes the store
/// writable again once the database answers after a failed commit (`Engine::recover`); until
/// then writes answer 503 and reads go on from memory.
fn follow_store(engine: Arc<Engine>) {
    let mut down = false;
    loop {
        engine.wait_for_others(std::time::Duration::from_secs(1));
        match engine.recover() {
            Ok(true) => {
                tracing::info!("the state database answers again: state reloaded from it, writes accepted");
                down = false;
            }
            Err(e) if !down => {
                tracing::warn!(error = %e, "the state database is unavailable; writes answer 503 until it is back");
                down = true;
            }
            _ => {}
        }
        if let Err(e) = engine.follow() {
            tracing::debug!(error = %e, "following the state database's log failed; trying again");
        }
    }
}

/// Opens the engine over the data directory's state file, a PostgreSQL database or memory, and
/// seeds it (`bootstrap::seed` writes only what the state lacks, so a reopened state is not
/// seeded again). A state file missing or empty where one has been is refused
/// (`StoreError::Missing`), and what SQLite's recovery dropped from a damaged write-ahead log is
/// logged.
pub(crate) fn open_engine(dir: &Path, backing: &Backing) -> anyhow::Result<Engine> {
    ensure_dir(dir)?;
    let store: Box<dyn vaultlink_store::Store> = match backing {
        Backing::Memory => Box::new(vaultlink_store::MemoryStore),
        // The URL is not logged or shown: it may hold a password.
        Backing::Postgres { url, ca } => {
            let ca = match ca {
                Some(path) => {
                    Some(std::fs::read(path).with_context(|| format!("reading --store-ca {}", path.display()))?)
                }
                None => None,
            };
            Box::new(
                vaultlink_store::PostgresStore::open_trusting(url, ca.as_deref())
                    .context("opening the PostgreSQL store (--store)")?,
            )
        }
        Backing::File => {
            let path = dir.join(STATE_FILE);
            let store = vaultlink_store::SqliteStore::open(&path).map_err(|e| match e {
                // Its message is the whole story; "opening" would only repeat the path.
                e @ vaultlink_store::StoreError::Missing { .. } => anyhow::anyhow!(e),
                e => anyhow::Error::new(e).context(format!("opening {}", path.display())),
            })?;
            if let Some(loss) = store.recovery() {
                if loss.loses_commits() {
                    tracing::error!(state = %path.display(), "{loss}");
                } else {
                    tracing::warn!(state = %path.display(), "{loss}");
                }
            }
            Box::new(store)
        }
    };
    let engine = Engine::open(store)?;
    vaultlink_core::bootstrap::seed(&engine)?;
    Ok(engine)
}

/// The root key for this state: loaded from `VAULTLINK_ROOT_KEY` or `root.key`, created only when
/// the state needs no particular key, and refused unless it is the key that sealed the state
/// (`rootkey::verify`, against the check value the state records). With `--in-memory` nothing
/// sealed outlives the process, so any key will do: loaded or created as before, except that no
/// root.key is made beside a persistent state that has lost its own.
pub(crate) fn open_sealer(dir: &Path, engine: &Engine, in_memory: bool) -> anyhow::Result<Sealer> {
    if in_memory {
        return Ok(match Sealer::load(dir)? {
            Some((sealer, _)) => sealer,
            // A persistent state lives here without its key: a new root.key would later be
            // refused as the wrong key, so this run's key is kept in memory only.
            None if vaultlink_store::marker_path(&dir.join(STATE_FILE)).exists() => {
                tracing::warn!(
                    "{} is missing beside a persistent state; this in-memory run uses a key that is not written anywhere",
                    dir.join(ROOT_KEY_FILE).display()
                );
                Sealer::ephemeral()
            }
            None => Sealer::create(dir)?.0,
        });
    }
    let state = dir.join(STATE_FILE);
    let key_file = dir.join(ROOT_KEY_FILE);
    let restore = format!(
        "Put back {} from your backup (mode 0600), or set {ROOT_KEY_ENV} to the key that sealed this \
         state; to start afresh instead, use a new data directory",
        key_file.display()
    );
    let (sealer, source) = match Sealer::load(dir)? {
        Some(loaded) => loaded,
        None => match rootkey::needs(engine)? {
            Needs::Any => Sealer::create(dir)?,
            needs => anyhow::bail!(
                "the root key is missing: {} {}, but {} does not exist and {ROOT_KEY_ENV} is not set. \
                 {restore}. (vaultlink will not make a new key for this state: what the old one sealed \
                 could never be opened with it.)",
                state.display(),
                match needs {
                    Needs::Recorded(check) => format!("was sealed with a root key (key check value {check})"),
                    _ => "holds values sealed with a root key".to_string(),
                },
                key_file.display()
            ),
        },
    };
    let unset = if source == RootKeySource::Env {
        format!(" (or unset {ROOT_KEY_ENV} if {} holds the right key)", key_file.display())
    } else {
        String::new()
    };
    match rootkey::verify(engine, &sealer)? {
        Verdict::Matches => {}
        Verdict::Recorded => {
            tracing::info!(check = sealer.check_value(), "root key's check value recorded in the state")
        }
        Verdict::Adopted { opened } => tracing::info!(
            check = sealer.check_value(),
            opened,
            "the state had no root key check value; its sealed values open with this key, whose check value is now recorded"
        ),
        Verdict::Mismatch { recorded, current } => anyhow::bail!(
            "the root key from {source} is not the one that sealed {}: the state records key check value \
             {recorded}, this key's is {current}. {restore}{unset}.",
            state.display()
        ),
        Verdict::DoesNotOpen { failed, total } => anyhow::bail!(
            "the root key from {source} does not open {failed} of the {total} sealed values in {} (a state \
             from before key check values{}). {restore}{unset}.",
            state.display(),
            if failed < total { "; the others open, so it already mixes two keys" } else { "" }
        ),
    }
    Ok(sealer)
}

/// Without `--shared`, a listener bound beyond loopback serves whoever reaches it without TLS
/// on the proxy and the identity endpoint and without the admin API's key: said once at start.
fn warn_beyond_loopback(listeners: &[SocketAddr]) {
    for addr in listeners.iter().filter(|a| !a.ip().is_loopback()) {
        tracing::warn!(%addr, "listening beyond loopback without --shared: the proxy and the identity endpoint speak plain HTTP and the managed-identity endpoint serves any caller; see docs/shared-server.md");
    }
}

/// The CA bundle clients use: vaultlink's CA first, then the system's roots (so that a client
/// that also talks to real hosts keeps working).
fn write_ca_bundle(dir: &Path, ca: &Ca) -> anyhow::Result<PathBuf> {
    let mut bundle = ca.cert_pem().to_string();
    for system in ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"] {
        if let Ok(roots) = std::fs::read_to_string(system) {
            bundle.push('\n');
            bundle.push_str(&roots);
            break;
        }
    }
    let path = dir.join(CA_BUNDLE_FILE);
    vaultlink_crypto::files::write_public(&path, bundle.as_bytes())?;
    Ok(path)
}

pub(crate) fn run(args: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("VAULTLINK_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    crate::ingress::limits::raise_open_files_limit();
    let dir = args.dir.resolve()?;
    let backing = Backing::of(args.in_memory, args.store.as_deref(), args.store_ca.as_deref())?;
    let engine = open_engine(&dir, &backing)?;
    let sealer = open_sealer(&dir, &engine, backing.is_memory())?;
    if matches!(backing, Backing::Postgres { .. }) {
        share_deployment_keys(&dir, &engine, &sealer)?;
    }
    // A fresh data directory's token key is generated on a thread while the rest starts.
    let signer = TokenSigner::start(&dir)?;
    if let Some(at) = args.clock {
        crate::clock::start(&engine, at);
        tracing::info!(now = %vaultlink_core::engine::rfc3339(engine.clock().now()), "the engine's clock starts as --clock says");
    }
    let ca = Ca::load_or_create(&dir)?;
    if ca.replaced_unconstrained() {
        tracing::warn!(
            ca = %dir.join("ca.pem").display(),
            "replaced the local CA: the old one had no name constraints, so whoever trusted it trusted it for every site; \
             the new CA certifies only the Azure host names vaultlink plays, localhost and loopback addresses. \
             Clients using `vaultlink env` pick it up; a copy of the old ca.pem in a system trust store must be replaced by the new one"
        );
    }
    let bundle = write_ca_bundle(&dir, &ca)?;
    let shared = match (args.shared, &args.tls_cert, &args.tls_key) {
        (true, Some(cert), Some(key)) => {
            let own = vaultlink_crypto::ServerIdentity::load(cert, key).context("--tls-cert and --tls-key")?;
            let key_file = args.admin_key_file.clone().unwrap_or_else(|| dir.join(ADMIN_KEY_FILE));
            let admin_key = vaultlink_crypto::AdminKey::load_or_create(&key_file)
                .with_context(|| format!("the admin key {}", key_file.display()))?;
            tracing::info!(names = ?own.names(), admin_key = %key_file.display(), "shared-server mode: TLS on every HTTP listener, the admin API on");
            Some((own, crate::admin::Shared { admin_key, key_file }))
        }
        _ => None,
    };
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async move {
        let proxy = TcpListener::bind(args.proxy_listen).await.with_context(|| format!("binding proxy {}", args.proxy_listen))?;
        let https = TcpListener::bind(args.https_listen).await.with_context(|| format!("binding https {}", args.https_listen))?;
        let identity = TcpListener::bind(args.identity_listen).await.with_context(|| format!("binding identity {}", args.identity_listen))?;
        let (dns_udp, dns_tcp) = crate::http::bind_dns_pair(args.dns_listen).with_context(|| format!("binding DNS {}", args.dns_listen))?;
        let mut endpoints = Endpoints::of(proxy.local_addr()?, https.local_addr()?, identity.local_addr()?, dns_udp.local_addr()?);
        match &shared {
            Some(_) => endpoints = endpoints.over_tls(),
            None => warn_beyond_loopback(&[args.proxy_listen, args.https_listen, args.identity_listen]),
        }
        vaultlink_crypto::files::write_public(&dir.join(ENDPOINTS_FILE), &serde_json::to_vec_pretty(&endpoints)?)?;
        let tls = ca.server_config(&[]);
        // A shared server presents its own certificate where clients dial it by its own name.
        let (direct_tls, outer_tls) = match &shared {
            Some((own, _)) => (ca.server_config_beside(own), Some(own.server_config())),
            None => (tls.clone(), None),
        };
        let mut allowed_hosts: Vec<String> = args.allowed_hosts.iter().map(|h| h.trim().to_ascii_lowercase()).collect();
        if let Some((own, _)) = &shared {
            allowed_hosts.extend(own.names().iter().cloned());
        }
        let lab = if args.lab { Some(Arc::new(crate::lab::Lab::start(&dir)?)) } else { None };
        let app = Arc::new(App::new(AppParts {
            engine,
            https_addr: https.local_addr()?,
            signer,
            sealer,
            identity_addr: identity.local_addr()?,
            throttle: !args.no_throttle,
            public_address: args.public_address,
            tls: tls.clone(),
            ca_pem: ca.cert_pem().to_string(),
            lab: lab.clone(),
            allowed_hosts,
            limits: crate::ingress::limits::Limits {
                max_connections: args.max_connections,
                request_head_timeout: std::time::Duration::from_secs(args.request_head_timeout.max(1)),
            },
            strict_reads: args.strict_reads,
            template_links: crate::arm::links::Links::new(&args.allowed_template_links)?,
            shared: shared.map(|(_, s)| s),
        })?);
        tracing::info!(records = app.engine.read(|s| s.len()), data_dir = %dir.display(), store = backing.name(), "state loaded");
        crate::arm::deployments::Runner::attach(&app);
        crate::arm::compute::Operations::attach(&app, dir.join(CA_BUNDLE_FILE));
        if let Some(path) = &args.seed {
            let seeded = crate::seedfile::read(path).and_then(|file| crate::seedfile::apply(&app, &file));
            let seeded = seeded.with_context(|| format!("--seed {}", path.display()))?;
            tracing::info!(file = %path.display(), records = %seeded["records"], "seed file applied");
        }

        let internet: Arc<vaultlink_dns::ViewFn> = Arc::new(|_: &vaultlink_core::State, _, _| Some(vaultlink_core::dns::View::Internet));
        let mut tasks = vec![
            tokio::spawn(crate::proxy::serve(proxy, app.clone(), tls.clone(), outer_tls.clone())),
            tokio::spawn(crate::http::serve_tls(https, app.clone(), direct_tls)),
            tokio::spawn(crate::http::serve_identity(identity, app.clone(), outer_tls)),
            tokio::spawn({
                let engine = app.engine.clone();
                async move {
                    if let Err(e) = vaultlink_dns::serve(dns_udp, dns_tcp, engine, internet).await {
                        tracing::error!(error = %e, "DNS server stopped");
                    }
                }
            }),
            tokio::spawn({
                let (dir, app, proxy_url) = (dir.clone(), app.clone(), endpoints.proxy.clone());
                async move {
                    if let Err(e) = crate::control::serve(&dir, app, proxy_url).await {
                        tracing::error!(error = %e, "control socket stopped");
                    }
                }
            }),
        ];
        tasks.push(tokio::spawn({
            let app = app.clone();
            async move {
                let mut tick = tokio::time::interval(crate::clock::DUE_WORK_INTERVAL);
                loop {
                    tick.tick().await;
                    let app = app.clone();
                    if let Ok(Err(e)) = tokio::task::spawn_blocking(move || crate::clock::due_work(&app)).await {
                        tracing::warn!(error = %e, "the due work (purging what retention ended) failed");
                    }
                }
            }
        }));
        if matches!(backing, Backing::Postgres { .. }) {
            let engine = app.engine.clone();
            std::thread::Builder::new().name("follow-store".into()).spawn(move || follow_store(engine))?;
        }
        if let Some(lab) = &lab {
            let (lab, app) = (lab.clone(), app.clone());
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
                loop {
                    tick.tick().await;
                    let (lab, app) = (lab.clone(), app.clone());
                    let _ = tokio::task::spawn_blocking(move || lab.reconcile(&app)).await;
                }
            }));
        }
        println!("proxy    {}", endpoints.proxy);
        println!("https    {}", endpoints.https);
        println!("identity {}", endpoints.identity);
        println!("portal   {}/portal/", endpoints.https.trim_end_matches('/'));
        println!("dns      {}", endpoints.dns.as_deref().unwrap_or("-"));
        if lab.is_some() {
            println!("lab      on (vaultlink exec --nic NIC -- COMMAND runs COMMAND in the NIC's namespace)");
        }
        if let Some(shared) = &app.shared {
            println!("shared   on: TLS on every HTTP listener, the admin API at {}{}/ (key {})", endpoints.https, crate::admin::PREFIX, shared.key_file.display());
        }
        println!("data     {}", dir.display());
        println!("ca       {}", bundle.display());
        println!("# point clients at it:  eval \"$(vaultlink env --data-dir {})\"", dir.display());
        println!("vaultlink ready");
        use std::io::Write;
        std::io::stdout().flush()?;
        // A token key that could not be made (a fresh data directory that cannot be written)
        // ends the server before any request needs it.
        let keyed = app.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = keyed.signer.wait() {
                tracing::error!(error = %e, "the token signing key could not be made");
                std::process::exit(1);
            }
        });

        shutdown_signal().await;
        tracing::info!("shutting down");
        for t in tasks {
            t.abort();
        }
        if let Some(lab) = &lab {
            lab.shutdown();
        }
        let _ = std::fs::remove_file(dir.join(crate::control::SOCKET_FILE));
        anyhow::Ok(())
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_bound_to_every_interface_are_dialled_on_loopback() {
        let at = |a: &str| a.parse().expect("address");
        let e = Endpoints::of(at("0.0.0.0:8780"), at("[::]:8743"), at("10.1.2.3:8781"), at("0.0.0.0:8753"));
        assert_eq!(e.proxy, "http://127.0.0.1:8780");
        assert_eq!(e.https, "https://[::1]:8743");
        assert_eq!(e.identity, "http://10.1.2.3:8781", "a specific address is kept");
        assert_eq!(e.dns.as_deref(), Some("127.0.0.1:8753"));
    }

    fn start(dir: &Path, in_memory: bool) -> anyhow::Result<Sealer> {
        let engine = open_engine(dir, &Backing::of(in_memory, None, None)?)?;
        open_sealer(dir, &engine, in_memory)
    }

    /// A used data directory is served only with the key that sealed it (issue 16, item 1).
    #[test]
    fn a_used_state_refuses_a_missing_or_other_root_key() {
        if std::env::var_os(ROOT_KEY_ENV).is_some() {
            return; // the variable would stand in for every key file below
        }
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        let first = start(dir, false).unwrap();
        let key = dir.join(ROOT_KEY_FILE);
        let original = std::fs::read(&key).unwrap();
        assert_eq!(start(dir, false).unwrap().check_value(), first.check_value());

        std::fs::remove_file(&key).unwrap();
        let msg = format!("{:#}", start(dir, false).expect_err("a missing key is refused"));
        assert!(msg.contains("the root key is missing") && msg.contains(ROOT_KEY_ENV), "{msg}");
        assert!(msg.contains(first.check_value()), "{msg}");
        assert!(!key.exists(), "no key is made for a state that needs its own");

        // --in-memory still starts, and writes no key beside the state that lost its own.
        start(dir, true).unwrap();
        assert!(!key.exists());

        let (_, _) = Sealer::create(dir).unwrap();
        let msg = format!("{:#}", start(dir, false).expect_err("another key is refused"));
        assert!(msg.contains("is not the one that sealed") && msg.contains(&key.display().to_string()), "{msg}");

        vaultlink_crypto::files::write_private(&key, &original).unwrap();
        assert_eq!(start(dir, false).unwrap().check_value(), first.check_value());
    }

    #[test]
    fn a_used_directory_without_its_state_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        open_engine(dir, &Backing::File).unwrap();
        std::fs::remove_file(dir.join(STATE_FILE)).unwrap();
        let _ = std::fs::remove_file(dir.join("state.db-wal"));
        let msg = format!("{:#}", open_engine(dir, &Backing::File).err().expect("refused"));
        assert!(msg.contains("state.db is missing") && msg.contains("new data directory"), "{msg}");
        assert!(!dir.join(STATE_FILE).exists());
        open_engine(dir, &Backing::Memory).unwrap();
    }
}
