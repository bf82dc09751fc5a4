//! Lab mode (Linux, root): a "virtual machine" at a NIC is a network namespace of its own. It has
//! the NIC's address, Azure DNS at 168.63.129.16, and the addresses a VM in that VNet can reach
//! (its VNet's and peered VNets' private endpoints, the vaults' public ingress, Resource Manager and
//! Entra ID), all on the namespace's loopback device and served by sockets vaultlink opens inside
//! the namespace. Nothing routes to the host's interfaces: the namespace has no other link.
//!
//! Namespaces are named `vl-<hash of the NIC id>`, made on demand by `vaultlink exec`, kept in step
//! with the state (an approved endpoint carries traffic at once), and deleted on shutdown and, after
//! a crash, on the next start.

use std::collections::{BTreeSet, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use tokio::task::JoinHandle;
use vaultlink_core::dns;
use vaultlink_core::netctx::{self, Origin};

use crate::http::{App, Ingress};

/// Azure DNS, the same virtual address in every VNet.
pub(crate) const AZURE_DNS: Ipv4Addr = Ipv4Addr::new(168, 63, 129, 16);
const PREFIX: &str = "vl-";
const NETNS_DIR: &str = "/var/run/netns";

struct Namespace {
    name: String,
    origin_id: String,
    /// Address -> the tasks serving it.
    listeners: HashMap<Ipv4Addr, Vec<JoinHandle<()>>>,
}

/// The lab: namespaces per NIC (or on-premises network), named after this instance's data
/// directory so that two instances never touch each other's namespaces.
pub(crate) struct Lab {
    /// `vl-<hash of the data directory>-`: every namespace of this instance starts with it.
    prefix: String,
    namespaces: Mutex<HashMap<String, Namespace>>,
}

fn short_hash(s: &str, bytes: usize) -> String {
    vaultlink_crypto::sha256(s.as_bytes()).iter().take(bytes).map(|b| format!("{b:02x}")).collect()
}

fn ip(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("ip").args(args).output().context("running `ip` (iproute2): lab mode needs it")?;
    if !out.status.success() {
        bail!("ip {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// Runs `f` on a thread that has entered the namespace, so the sockets it opens live there.
fn in_namespace<T: Send>(ns: &str, f: impl FnOnce() -> std::io::Result<T> + Send) -> anyhow::Result<T> {
    let path = Path::new(NETNS_DIR).join(ns);
    std::thread::scope(|s| {
        s.spawn(|| -> anyhow::Result<T> {
            let fd = std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
            nix::sched::setns(fd, nix::sched::CloneFlags::CLONE_NEWNET).context("setns into the lab namespace")?;
            Ok(f()?)
        })
        .join()
        .map_err(|_| anyhow::anyhow!("namespace thread panicked"))?
    })
}

impl Lab {
    /// Checks that lab mode can work here (root, iproute2, netns), and removes namespaces a crashed
    /// run left behind.
    pub(crate) fn start(data_dir: &Path) -> anyhow::Result<Self> {
        if !nix::unistd::Uid::effective().is_root() {
            bail!("lab mode needs root (it creates network namespaces)");
        }
        let dir = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
        let prefix = format!("{PREFIX}{}-", short_hash(&dir.display().to_string(), 2));
        let removed = cleanup_stale(&prefix)?;
        if removed > 0 {
            tracing::info!(removed, "removed lab namespaces left by an earlier run");
        }
        Ok(Self { prefix, namespaces: Mutex::new(HashMap::new()) })
    }

    /// The namespace name of a NIC or on-premises network.
    pub(crate) fn ns_name(&self, origin_id: &str) -> String {
        format!("{}{}", self.prefix, short_hash(&origin_id.to_ascii_lowercase(), 4))
    }

    /// The namespace of a NIC, made if needed (or made again if something removed it). Returns its name.
    pub(crate) fn ensure(&self, app: &Arc<App>, origin_id: &str) -> anyhow::Result<String> {
        let name = self.ns_name(origin_id);
        {
            let mut map = self.namespaces.lock().unwrap_or_else(|p| p.into_inner());
            if map.contains_key(&name) {
                if Path::new(NETNS_DIR).join(&name).exists() {
                    return Ok(name);
                }
                if let Some(gone) = map.remove(&name) {
                    gone.listeners.values().flatten().for_each(JoinHandle::abort);
                }
            }
        }
        let _ = ip(&["netns", "del", &name]);
        ip(&["netns", "add", &name])?;
        ip(&["-n", &name, "link", "set", "lo", "up"])?;
        let etc = PathBuf::from("/etc/netns").join(&name);
        std::fs::create_dir_all(&etc)?;
        let dns = app.engine.read(|s| wanted_addresses(s, origin_id)).map_or(AZURE_DNS, |w| w.dns);
        std::fs::write(etc.join("resolv.conf"), format!("nameserver {dns}\noptions timeout:2 attempts:1\n"))?;
        std::fs::write(etc.join("hosts"), "127.0.0.1 localhost\n")?;
        self.namespaces.lock().unwrap_or_else(|p| p.into_inner()).insert(
            name.clone(),
            Namespace { name: name.clone(), origin_id: origin_id.to_string(), listeners: HashMap::new() },
        );
        self.reconcile(app);
        tracing::info!(namespace = %name, nic = %origin_id, "lab namespace ready");
        Ok(name)
    }

    /// Brings every namespace in step with the state: the addresses it should reach, served.
    pub(crate) fn reconcile(&self, app: &Arc<App>) {
        let mut map = self.namespaces.lock().unwrap_or_else(|p| p.into_inner());
        for ns in map.values_mut() {
            let wanted = app.engine.read(|s| wanted_addresses(s, &ns.origin_id));
            let Some(wanted) = wanted else {
                // The NIC is gone: the machine has no network any more.
                for (addr, tasks) in ns.listeners.drain() {
                    tasks.iter().for_each(JoinHandle::abort);
                    let _ = ip(&["-n", &ns.name, "addr", "del", &format!("{addr}/32"), "dev", "lo"]);
                }
                continue;
            };
            let have: BTreeSet<Ipv4Addr> = ns.listeners.keys().copied().collect();
            for addr in have.difference(&wanted.all) {
                if let Some(tasks) = ns.listeners.remove(addr) {
                    tasks.iter().for_each(JoinHandle::abort);
                }
                let _ = ip(&["-n", &ns.name, "addr", "del", &format!("{addr}/32"), "dev", "lo"]);
            }
            for addr in wanted.all.difference(&have) {
                match serve_address(app, &ns.name, &ns.origin_id, *addr, &wanted) {
                    Ok(tasks) => {
                        ns.listeners.insert(*addr, tasks);
                    }
                    Err(e) => tracing::warn!(namespace = %ns.name, %addr, error = %e, "lab address not served"),
                }
            }
        }
    }

    /// Deletes every namespace (on shutdown).
    pub(crate) fn shutdown(&self) {
        let mut map = self.namespaces.lock().unwrap_or_else(|p| p.into_inner());
        for (_, ns) in map.drain() {
            ns.listeners.values().flatten().for_each(JoinHandle::abort);
            let _ = ip(&["netns", "del", &ns.name]);
            let _ = std::fs::remove_dir_all(PathBuf::from("/etc/netns").join(&ns.name));
        }
    }
}

/// Removes every namespace whose name starts with `prefix` (this data directory's). Returns how many.
pub(crate) fn cleanup_stale(prefix: &str) -> anyhow::Result<usize> {
    let mut n = 0;
    if let Ok(entries) = std::fs::read_dir(NETNS_DIR) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with(prefix) {
                ip(&["netns", "del", &name])?;
                let _ = std::fs::remove_dir_all(PathBuf::from("/etc/netns").join(&name));
                n += 1;
            }
        }
    }
    Ok(n)
}

struct Wanted {
    /// The machine's own address.
    nic: Ipv4Addr,
    /// Its DNS server: Azure DNS in a VNet, the network's own server on premises.
    dns: Ipv4Addr,
    all: BTreeSet<Ipv4Addr>,
}

/// The addresses a machine at the NIC (or in the on-premises network) has or can reach.
fn wanted_addresses(state: &vaultlink_core::State, origin_id: &str) -> Option<Wanted> {
    let (nic, dns_server, vnet_id) = match netctx::origin_of(state, origin_id) {
        Origin::OnPremises { network_id } => {
            let o = vaultlink_core::network::onprem::onprem(state, &network_id)?;
            (o.client_address.parse().ok()?, o.dns_server.parse().ok()?, o.gateway_vnet_id)
        }
        _ => {
            let (n, _, vnet) = netctx::placement(state, origin_id)?;
            (n.private_ip_address.parse().ok()?, AZURE_DNS, vnet.id)
        }
    };
    let mut all = BTreeSet::from([nic, dns_server]);
    all.extend(dns::SERVICE_ADDRESSES.iter().map(|(_, a)| *a));
    all.extend(vaultlink_core::keyvault::all_vaults(state).map(dns::vault_public_address));
    all.extend(netctx::reachable_endpoint_addresses(state, &vnet_id));
    Some(Wanted { nic, dns: dns_server, all })
}

/// Opens, inside the namespace, what serves one address: DNS on 168.63.129.16, HTTPS on the rest.
fn serve_address(
    app: &Arc<App>,
    ns: &str,
    origin_id: &str,
    addr: Ipv4Addr,
    wanted: &Wanted,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    ip(&["-n", ns, "addr", "add", &format!("{addr}/32"), "dev", "lo"])?;
    if addr == wanted.nic {
        return Ok(vec![]);
    }
    if addr == wanted.dns {
        let (udp, tcp) = in_namespace(ns, || {
            let udp = std::net::UdpSocket::bind(SocketAddr::from((addr, 53)))?;
            let tcp = std::net::TcpListener::bind(SocketAddr::from((addr, 53)))?;
            udp.set_nonblocking(true)?;
            tcp.set_nonblocking(true)?;
            Ok((udp, tcp))
        })?;
        let udp = tokio::net::UdpSocket::from_std(udp)?;
        let tcp = tokio::net::TcpListener::from_std(tcp)?;
        let nic = origin_id.to_string();
        let views: Arc<vaultlink_dns::ViewFn> =
            Arc::new(move |state: &vaultlink_core::State, _client: SocketAddr, _local: SocketAddr| {
                Some(netctx::view(state, &netctx::origin_of(state, &nic)))
            });
        let engine = app.engine.clone();
        return Ok(vec![tokio::spawn(async move {
            if let Err(e) = vaultlink_dns::serve(udp, tcp, engine, views).await {
                tracing::warn!(error = %e, "lab DNS stopped");
            }
        })]);
    }
    let listener = in_namespace(ns, || {
        let l = std::net::TcpListener::bind(SocketAddr::from((addr, 443)))?;
        l.set_nonblocking(true)?;
        Ok(l)
    })?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let app = app.clone();
    let nic = origin_id.to_string();
    Ok(vec![tokio::spawn(async move {
        let acceptor = tokio_rustls::TlsAcceptor::from(app.tls.clone());
        let listener = super::limits::Listener::new(listener, "lab", app.limits);
        loop {
            let (tcp, _, slot) = listener.accept().await;
            let (app, acceptor, nic) = (app.clone(), acceptor.clone(), nic.clone());
            // A private endpoint whose connection is not Approved carries no traffic.
            if let Err(reason) = app.engine.read(|s| carries_traffic(s, &nic, addr)) {
                vaultlink_core::info_limited!(%addr, %reason, "lab: connection dropped");
                drop(tcp);
                continue;
            }
            tokio::spawn(async move {
                let _slot = slot;
                if let Some(stream) = crate::http::tls_accept(&acceptor, tcp).await {
                    crate::http::serve_connection(stream, app, Ingress::Lab { origin_id: nic, local: addr }).await;
                }
            });
        }
    })])
}

/// Whether a connection from the NIC to `addr` carries traffic (false for a private endpoint whose
/// connection is Pending, Rejected or Disconnected).
fn carries_traffic(state: &vaultlink_core::State, origin_id: &str, addr: Ipv4Addr) -> Result<(), String> {
    let vnet_id = match netctx::origin_of(state, origin_id) {
        Origin::OnPremises { network_id } => {
            vaultlink_core::network::onprem::onprem(state, &network_id).map(|o| o.gateway_vnet_id)
        }
        _ => netctx::placement(state, origin_id).map(|(_, _, v)| v.id),
    };
    let Some(vnet_id) = vnet_id else { return Err("the machine's network no longer exists".into()) };
    let Some(pe_id) = netctx::endpoint_at(state, &vnet_id, addr) else { return Ok(()) };
    let pe = vaultlink_core::privatelink::endpoint(state, &pe_id).ok_or("the endpoint no longer exists")?;
    let status = pe
        .connections
        .first()
        .map(|c| vaultlink_core::privatelink::endpoint_connection_state(state, c).0)
        .unwrap_or_default();
    if status == vaultlink_core::privatelink::connections::status::APPROVED {
        Ok(())
    } else {
        Err(format!("private endpoint {} connection is {status}", pe.name))
    }
}
