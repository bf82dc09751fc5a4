//! What bounds a connection, for every TCP listener that serves HTTP (the direct HTTPS listener,
//! the proxy, the identity endpoint, the lab's endpoint addresses): one place for the values.
//!
//! - at most `Limits::max_connections` open connections per listener; a connection past the cap
//!   is accepted and closed at once (so the backlog drains and the client learns at once);
//! - a TLS handshake must finish within [`TLS_HANDSHAKE_TIMEOUT`];
//! - a request's head must arrive within `Limits::request_head_timeout`, counted from when the
//!   connection is ready for it: the end of the previous response, or the connection's start. So
//!   it is also the idle keep-alive timeout (hyper's header-read timer);
//! - when `accept` fails (out of file descriptors, mostly) the listener waits
//!   [`ACCEPT_BACKOFF`] instead of spinning;
//! - the process's soft descriptor limit is raised to its hard limit at start.
//!
//! A listener's refusals are logged at most once per [`LOG_INTERVAL`], with how many were not.
//! DNS over TCP has its own equivalents in `vaultlink-dns` (`server.rs`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use vaultlink_core::ratelog::RateLimited;

/// Open connections per listener, by default.
pub(crate) const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// The request-head (and idle keep-alive) timeout, by default. Azure's load balancers drop idle
/// connections after 4 minutes by default; vaultlink closes sooner to bound what idle clients
/// hold, and every Azure client reopens a pooled connection the server closed.
pub(crate) const DEFAULT_REQUEST_HEAD_TIMEOUT: Duration = Duration::from_secs(120);
pub(crate) const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
pub(crate) const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The configurable limits (`serve --max-connections`, `--request-head-timeout`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub max_connections: usize,
    pub request_head_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_connections: DEFAULT_MAX_CONNECTIONS, request_head_timeout: DEFAULT_REQUEST_HEAD_TIMEOUT }
    }
}

/// A TCP listener that holds to the limits: accepted connections come with a slot that must live
/// as long as the connection.
pub(crate) struct Listener {
    inner: TcpListener,
    name: &'static str,
    slots: Arc<Semaphore>,
    max: usize,
    full: RateLimited,
    failing: RateLimited,
}

impl Listener {
    pub(crate) fn new(inner: TcpListener, name: &'static str, limits: Limits) -> Self {
        let max = limits.max_connections.max(1);
        Self {
            inner,
            name,
            slots: Arc::new(Semaphore::new(max)),
            max,
            full: RateLimited::new(1),
            failing: RateLimited::new(1),
        }
    }

    /// The next connection there is room for.
    pub(crate) async fn accept(&self) -> (TcpStream, SocketAddr, OwnedSemaphorePermit) {
        loop {
            match self.inner.accept().await {
                Err(error) => {
                    if let Some(suppressed) = self.failing.allow() {
                        tracing::warn!(listener = self.name, %error, suppressed, "accept failed; backing off");
                    }
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
                Ok((tcp, peer)) => match self.slots.clone().try_acquire_owned() {
                    Ok(slot) => return (tcp, peer, slot),
                    Err(_) => {
                        if let Some(suppressed) = self.full.allow() {
                            tracing::warn!(
                                listener = self.name,
                                max_connections = self.max,
                                suppressed,
                                "connection cap reached; closing new connections until some end"
                            );
                        }
                        drop(tcp);
                    }
                },
            }
        }
    }
}

/// Raises the soft limit on open files to the hard limit (a connection is a descriptor).
pub(crate) fn raise_open_files_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => tracing::debug!(from = soft, to = hard, "raised the open-files limit"),
            Err(error) => tracing::warn!(%error, soft, hard, "could not raise the open-files limit"),
        },
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "could not read the open-files limit"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_listener_past_its_cap_closes_new_connections_until_one_ends() {
        use tokio::io::AsyncReadExt;
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let l = Arc::new(Listener::new(
            tcp,
            "test",
            Limits { max_connections: 2, request_head_timeout: Duration::from_secs(1) },
        ));
        let held = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (l2, held2) = (l.clone(), held.clone());
        tokio::spawn(async move {
            loop {
                let (tcp, _, slot) = l2.accept().await;
                held2.lock().unwrap().push((tcp, slot));
            }
        });
        let _a = TcpStream::connect(addr).await.unwrap();
        let _b = TcpStream::connect(addr).await.unwrap();
        let mut c = TcpStream::connect(addr).await.unwrap();
        let mut buf = [0u8; 1];
        let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf)).await.expect("closed at once");
        assert!(matches!(n, Ok(0) | Err(_)), "the third connection is closed: {n:?}");
        // One ends: there is room again.
        drop(held.lock().unwrap().remove(0));
        let mut d = TcpStream::connect(addr).await.unwrap();
        let r = tokio::time::timeout(Duration::from_millis(300), d.read(&mut buf)).await;
        assert!(r.is_err(), "the fourth is kept open");
        assert_eq!(held.lock().unwrap().len(), 2);
    }
}
