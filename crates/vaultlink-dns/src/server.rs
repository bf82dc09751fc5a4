//! The listeners: one UDP socket and one TCP listener; every message goes through
//! [`handle_packet`](crate::handle_packet) against the live state.
//!
//! A message is answered where it is read, on the runtime thread: an answer only reads the state
//! (a writer holds the state lock only to apply a batch, never through a disk sync), and handing
//! each query to another thread cost more than answering it (BENCHMARKS.md). [`UDP_READERS`]
//! tasks read the UDP socket; while they are busy a flood fills the socket buffer and the kernel
//! drops the excess, as Azure DNS drops queries above its per-VM limit.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::Semaphore;
use tokio::time::timeout;
use vaultlink_core::dns::View;
use vaultlink_core::{Engine, State};

use crate::packet::{TCP_LIMIT, UDP_PAYLOAD, handle_packet};

/// Picks the asker's view from the state, the client's address and the listener's local address.
/// `None` refuses the query.
pub type ViewFn = dyn Fn(&State, SocketAddr, SocketAddr) -> Option<View> + Send + Sync;

/// Tasks reading the UDP socket, each answering what it reads (one per runtime thread).
pub const UDP_READERS: usize = 2;
/// Open TCP connections; more are closed as soon as they are accepted.
pub const MAX_TCP_CONNECTIONS: usize = 128;
/// A TCP connection idle (or stalled mid-message) this long is closed (RFC 7766 suggests seconds).
pub const TCP_IDLE: Duration = Duration::from_secs(10);

/// Serves DNS on `udp` and `tcp` until one of them fails for good.
///
/// Every query is answered for the live state: a response is reused only for the same query in
/// the same state generation, so a changed record is answered at once.
/// `local` given to `views` is the listener's bound address (for a wildcard bind, the wildcard:
/// the destination address of each UDP packet is not read).
pub async fn serve(udp: UdpSocket, tcp: TcpListener, engine: Arc<Engine>, views: Arc<ViewFn>) -> io::Result<()> {
    let ctx = Arc::new(Context { engine, views, answers: Mutex::default() });
    tracing::info!(udp = %udp.local_addr()?, tcp = %tcp.local_addr()?, "dns listening");
    tokio::try_join!(serve_udp(udp, ctx.clone()), serve_tcp(tcp, ctx))?;
    Ok(())
}

struct Context {
    engine: Arc<Engine>,
    views: Arc<ViewFn>,
    answers: Mutex<HashMap<AnswerKey, Remembered>>,
}

/// What a response is a function of, besides the state: the asker's view, the transport's size
/// limit, and the query without its id.
#[derive(PartialEq, Eq, Hash)]
struct AnswerKey {
    view: Option<View>,
    max: usize,
    query: Box<[u8]>,
}

/// A response made for one state generation, with its id bytes to be replaced.
struct Remembered {
    generation: u64,
    made: Instant,
    response: Vec<u8>,
}

/// Responses remembered; past that the memory starts afresh.
const ANSWERS_CAPACITY: usize = 16_384;
/// A remembered response is used for one state generation and at most this long: the only answer
/// that changes with the clock alone is a soft-deleted vault's public name at its purge date.
const ANSWER_LIFETIME: Duration = Duration::from_secs(1);

impl Context {
    /// Answers one message. A panic in the view function loses only this message.
    ///
    /// `handle_packet` is a function of (state, view, message, limit), and a response's id is the
    /// query's: so a response made for the same query in the same state generation is reused with
    /// the id patched. Any change to the state is seen by the next query, as without the memory.
    fn answer(&self, bytes: &[u8], client: SocketAddr, local: SocketAddr, max: usize) -> Option<Vec<u8>> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.engine.read(|state| {
                let view = (self.views)(state, client, local);
                if bytes.len() <= 2 {
                    return handle_packet(state, view.as_ref(), bytes, max);
                }
                let generation = state.generation();
                let key = AnswerKey { view, max, query: bytes[2..].into() };
                if let Some(r) = self.answers.lock().unwrap_or_else(|p| p.into_inner()).get(&key)
                    && r.generation == generation
                    && r.made.elapsed() < ANSWER_LIFETIME
                {
                    let mut response = r.response.clone();
                    response[..2].copy_from_slice(&bytes[..2]);
                    return Some(response);
                }
                let response = handle_packet(state, key.view.as_ref(), bytes, max)?;
                if response.len() > 2 {
                    let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
                    if answers.len() >= ANSWERS_CAPACITY {
                        answers.clear();
                    }
                    answers.insert(key, Remembered { generation, made: Instant::now(), response: response.clone() });
                }
                Some(response)
            })
        }))
        .ok()
        .flatten()
    }
}

async fn serve_udp(socket: UdpSocket, ctx: Arc<Context>) -> io::Result<()> {
    let socket = Arc::new(socket);
    let local = socket.local_addr()?;
    let mut readers = tokio::task::JoinSet::new();
    for _ in 0..UDP_READERS {
        readers.spawn(read_udp(socket.clone(), local, ctx.clone()));
    }
    match readers.join_next().await {
        Some(Ok(result)) => result,
        Some(Err(panic)) => Err(io::Error::other(panic)),
        None => Ok(()),
    }
}

/// Reads queries from the shared socket and answers each before reading the next.
async fn read_udp(socket: Arc<UdpSocket>, local: SocketAddr, ctx: Arc<Context>) -> io::Result<()> {
    let mut buf = vec![0u8; 65_535];
    let mut failures = 0u32;
    loop {
        let (n, client) = match socket.recv_from(&mut buf).await {
            Ok(x) => {
                failures = 0;
                x
            }
            Err(error) => {
                // ICMP errors and the like surface here; only a socket that fails every time is
                // given up on.
                failures += 1;
                tracing::debug!(%error, "dns udp receive failed");
                if failures >= 1000 {
                    return Err(error);
                }
                continue;
            }
        };
        if client.port() == 0 {
            continue;
        }
        let Some(out) = ctx.answer(&buf[..n], client, local, usize::from(UDP_PAYLOAD)) else { continue };
        if let Err(error) = socket.send_to(&out, client).await {
            tracing::debug!(%error, %client, "dns udp send failed");
        }
    }
}

async fn serve_tcp(listener: TcpListener, ctx: Arc<Context>) -> io::Result<()> {
    let local = listener.local_addr()?;
    let connections = Arc::new(Semaphore::new(MAX_TCP_CONNECTIONS));
    loop {
        let (stream, client) = match listener.accept().await {
            Ok(x) => x,
            Err(error) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(%error, "dns tcp accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = connections.clone().try_acquire_owned() else {
            tracing::debug!(%client, "too many dns tcp connections; closing");
            continue;
        };
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(error) = connection(stream, client, local, ctx).await {
                tracing::debug!(%error, %client, "dns tcp connection ended");
            }
        });
    }
}

/// One TCP connection: length-prefixed messages (RFC 1035 §4.2.2), answered in order.
async fn connection(mut stream: TcpStream, client: SocketAddr, local: SocketAddr, ctx: Arc<Context>) -> io::Result<()> {
    let _ = stream.set_nodelay(true);
    let timed_out = || io::Error::new(io::ErrorKind::TimedOut, "dns tcp connection idle");
    loop {
        let mut len = [0u8; 2];
        match timeout(TCP_IDLE, stream.read_exact(&mut len)).await {
            Err(_) => return Ok(()),
            Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Ok(Err(e)) => return Err(e),
            Ok(Ok(_)) => {}
        }
        let mut message = vec![0u8; usize::from(u16::from_be_bytes(len))];
        timeout(TCP_IDLE, stream.read_exact(&mut message)).await.map_err(|_| timed_out())??;
        let Some(out) = ctx.answer(&message, client, local, TCP_LIMIT) else { continue };
        let Ok(n) = u16::try_from(out.len()) else { continue };
        let mut frame = Vec::with_capacity(out.len() + 2);
        frame.extend_from_slice(&n.to_be_bytes());
        frame.extend_from_slice(&out);
        timeout(TCP_IDLE, stream.write_all(&frame)).await.map_err(|_| timed_out())??;
    }
}
