//! The one door the fuzz targets (`fuzz/`) use (feature `fuzzing`): an `App` built as `serve`
//! builds one, over a given engine, and a request handled as the listeners handle it: its head and
//! body read into a `Req` (`http::request_from_parts`), then routed by host name (`http::route`).
//! A template deployment the request starts is waited for. Between inputs the state goes back to
//! a checkpoint, so each input meets the same world.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http_body_util::BodyExt;
pub use hyper::http;
use vaultlink_core::firewall::NetworkContext;
use vaultlink_core::{Engine, State};

use crate::http::{App, AppParts, Ingress};

/// How a request reaches vaultlink (`http::Ingress`, less the lab).
#[derive(Debug, Clone)]
pub enum Via {
    /// The direct HTTPS listener.
    Direct,
    /// The plain-HTTP identity listener.
    Identity,
    /// The CONNECT proxy, with the network context it decided (None: the internet).
    Proxy(Option<NetworkContext>),
}

/// vaultlink's request handling over one engine.
pub struct Harness {
    app: Arc<App>,
    checkpoint: OnceLock<State>,
    /// The state generation the checkpoint (or the last restore) left.
    clean: AtomicU64,
}

impl Harness {
    /// An `App` over `engine` as `serve` builds it: the direct listener at 127.0.0.1:8443, a fresh
    /// token key and CA (made in a temporary directory that is removed again), an ephemeral
    /// root key, throttling off (so that a long run does not turn into 429s).
    pub fn new(engine: Engine) -> Self {
        let dir = std::env::temp_dir().join(format!("vaultlink-fuzz-{}", std::process::id()));
        let signer = vaultlink_crypto::TokenSigner::start(&dir).expect("token signer");
        signer.wait().expect("token key");
        let ca = vaultlink_crypto::Ca::load_or_create(&dir).expect("local CA");
        let _ = std::fs::remove_dir_all(&dir);
        let app = App::new(AppParts {
            engine,
            https_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 8443)),
            signer,
            sealer: vaultlink_crypto::Sealer::ephemeral(),
            identity_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            throttle: false,
            public_address: Ipv4Addr::new(203, 0, 113, 7),
            tls: ca.server_config(&[]),
            ca_pem: ca.cert_pem().to_string(),
            lab: None,
            allowed_hosts: Vec::new(),
            limits: crate::ingress::limits::Limits {
                max_connections: 16,
                request_head_timeout: std::time::Duration::from_secs(120),
            },
            strict_reads: false,
            template_links: Default::default(),
            shared: None,
        })
        .expect("connection threads");
        // Shared, as `serve` shares it, so that a deployment's thread can reach it.
        let app = Arc::new(app);
        crate::arm::deployments::Runner::attach(&app);
        Self { app, checkpoint: OnceLock::new(), clean: AtomicU64::new(0) }
    }

    pub fn engine(&self) -> &Engine {
        &self.app.engine
    }

    /// Signs `claims` with the token key the surfaces verify against.
    pub fn sign(&self, claims: &serde_json::Value) -> String {
        self.app.signer.sign(claims)
    }

    /// Handles one request as a listener does; the response with its whole body.
    pub fn handle(&self, via: Via, req: http::Request<Bytes>) -> http::Response<Bytes> {
        let ingress = match via {
            Via::Direct => Ingress::Direct,
            Via::Identity => Ingress::Identity,
            Via::Proxy(context) => Ingress::Proxy { context },
        };
        let (parts, body) = req.into_parts();
        let req = crate::http::request_from_parts(parts, body, ingress);
        let _ = crate::http::runs(&self.app, &req);
        let (parts, body) = crate::http::route(&self.app, req).into_parts();
        // A deployment the request started runs to its end first: the next input (and the
        // restore) meets a quiet world.
        self.app.deployments.wait_idle();
        // A `Full` body is ready at once: one poll collects it.
        let mut collect = std::pin::pin!(body.collect());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let body = match collect.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(Ok(b)) => b.to_bytes(),
            std::task::Poll::Ready(Err(never)) => match never {},
            std::task::Poll::Pending => unreachable!("a Full body is always ready"),
        };
        http::Response::from_parts(parts, body)
    }

    /// Remembers the state as it is now; `restore` goes back to it. Once.
    pub fn checkpoint(&self) {
        let state = self.app.engine.read(|s| {
            self.clean.store(s.generation(), Ordering::Relaxed);
            s.clone()
        });
        assert!(self.checkpoint.set(state).is_ok(), "one checkpoint");
    }

    /// Puts every record back as the checkpoint had it and deletes the others, if anything was
    /// written since; one batch, as any write.
    pub fn restore(&self) {
        let Some(saved) = self.checkpoint.get() else { return };
        if self.app.engine.read(State::generation) == self.clean.load(Ordering::Relaxed) {
            return;
        }
        self.app
            .engine
            .write(|s, b| {
                for (key, _) in s.all() {
                    if saved.get(key).is_none() {
                        b.delete(key);
                    }
                }
                for (key, record) in saved.all() {
                    b.put(key, record.clone());
                }
                Ok::<_, vaultlink_core::Error>(())
            })
            .expect("restore the checkpoint");
        self.clean.store(self.app.engine.read(State::generation), Ordering::Relaxed);
    }
}
