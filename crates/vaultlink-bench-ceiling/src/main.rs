//! The ceiling for vaultlink's secret-read benchmark (issue 8, item 1): the least an HTTPS server
//! built from the same parts (tokio, hyper 1 HTTP/1.1 with keep-alive, rustls with aws-lc-rs, a
//! P-256 certificate) can do per request. Every request, whatever its method, path or host, gets
//! `200` with one fixed body and content type. The body is what vaultlink answered for the secret
//! being read, so both servers write the same number of bytes.
//!
//! ```text
//! vaultlink-bench-ceiling --listen 127.0.0.1:0 --body-file body.json [--content-type TYPE]
//! ```
//!
//! Prints `https https://ADDR` and then `ready` on stdout; runs until killed. With `--connect`
//! every connection first carries one `CONNECT host:port` request head, answered
//! `200 Connection Established`, and then TLS and HTTP on the same TCP stream: the ceiling of a
//! CONNECT proxy that terminates the tunnel's TLS in-process, as vaultlink's does (issue 22).
//!
//! The load generator for that path (wrk cannot go through a proxy), in `load.rs`:
//!
//! ```text
//! vaultlink-bench-ceiling load (--proxy ADDR | --server ADDR) --host HOST --path PATH
//!     [--header 'NAME: VALUE']... [--conns 64] [--secs 10] [--threads 2] (--ca-file PEM | --insecure)
//! ```
//!
//! It is also the ceiling for the key-operation benchmark (issue 8, item 4): the same signature
//! vaultlink's `POST /keys/{name}/{version}/sign` makes (aws-lc-rs `sign_digest` over an imported
//! SHA-256 digest, RSA-2048 PKCS#1 v1.5 or P-256 ECDSA), in process, with the key parsed once,
//! on `--threads` threads (default: every CPU) for `--secs` seconds:
//!
//! ```text
//! vaultlink-bench-ceiling sign --alg RS256|ES256 [--secs 5] [--threads N] [--reparse]
//! ```
//!
//! `--reparse` parses the key from its PKCS#8 DER before every signature (what a server that keeps
//! only the DER pays). Prints one JSON line:
//! `{"alg":..,"threads":..,"reparse":..,"ops":..,"secs":..,"ops_per_sec":..}`.

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

mod load;

struct Args {
    listen: SocketAddr,
    body: Bytes,
    content_type: HeaderValue,
    connect: bool,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut listen: SocketAddr = "127.0.0.1:0".parse()?;
    let mut body = None;
    let mut content_type = HeaderValue::from_static("application/json; charset=utf-8");
    let mut connect = false;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => listen = value()?.parse().context("--listen")?,
            "--body-file" => {
                let path = value()?;
                body = Some(Bytes::from(std::fs::read(&path).with_context(|| format!("reading {path}"))?));
            }
            "--body-size" => body = Some(Bytes::from(vec![b'x'; value()?.parse().context("--body-size")?])),
            "--content-type" => content_type = HeaderValue::from_str(&value()?).context("--content-type")?,
            "--connect" => connect = true,
            "-h" | "--help" => {
                println!(
                    "usage: vaultlink-bench-ceiling [--listen ADDR] (--body-file FILE | --body-size N) [--content-type TYPE] [--connect]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}"),
        }
    }
    let body = body.context("--body-file or --body-size is required")?;
    Ok(Args { listen, body, content_type, connect })
}

/// Reads one `CONNECT host:port HTTP/1.1` request head and answers `200`. The client sends
/// nothing more before the answer, so whatever follows the head would be a protocol error.
async fn accept_connect(tcp: &mut TcpStream) -> anyhow::Result<()> {
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 1024];
    loop {
        let n = tcp.read(&mut buf).await?;
        if n == 0 || head.len() + n > 8192 {
            bail!("no CONNECT head");
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            if end + 4 != head.len() {
                bail!("bytes after the CONNECT head");
            }
            break;
        }
    }
    if !head.starts_with(b"CONNECT ") {
        tcp.write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n").await?;
        bail!("not a CONNECT");
    }
    tcp.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n").await?;
    Ok(())
}

fn tls_config() -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("sign") {
        return sign::run(std::env::args().skip(2));
    }
    if std::env::args().nth(1).as_deref() == Some("load") {
        return load::run(std::env::args().skip(2));
    }
    let args = parse_args()?;
    let tls = tls_config()?;
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async move {
        let listener = TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
        println!("https https://{}", listener.local_addr()?);
        println!("ready");
        std::io::stdout().flush()?;
        let acceptor = tokio_rustls::TlsAcceptor::from(tls);
        let (body, content_type, connect) = (args.body, args.content_type, args.connect);
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else { continue };
            let acceptor = acceptor.clone();
            let (body, content_type) = (body.clone(), content_type.clone());
            tokio::spawn(async move {
                if connect && accept_connect(&mut tcp).await.is_err() {
                    return;
                }
                let Ok(stream) = acceptor.accept(tcp).await else { return };
                let service = hyper::service::service_fn(move |_req: Request<Incoming>| {
                    let mut resp = Response::new(Full::new(body.clone()));
                    resp.headers_mut().insert(CONTENT_TYPE, content_type.clone());
                    async move { Ok::<_, Infallible>(resp) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .http1_only()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

mod sign {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    use anyhow::{Context, bail};
    use aws_lc_rs::digest::{self, Digest};
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, RSA_PKCS1_SHA256};

    enum Key {
        Rsa(KeyPair),
        Ec(EcdsaKeyPair),
    }

    impl Key {
        fn pkcs8(&self) -> anyhow::Result<Vec<u8>> {
            match self {
                Key::Rsa(k) => Ok(k.as_der().map_err(|_| anyhow::anyhow!("RSA PKCS#8"))?.as_ref().to_vec()),
                Key::Ec(k) => Ok(k.to_pkcs8v1().map_err(|_| anyhow::anyhow!("EC PKCS#8"))?.as_ref().to_vec()),
            }
        }

        fn parse_like(&self, der: &[u8]) -> anyhow::Result<Key> {
            match self {
                Key::Rsa(_) => Ok(Key::Rsa(KeyPair::from_pkcs8(der).map_err(|_| anyhow::anyhow!("RSA parse"))?)),
                Key::Ec(_) => Ok(Key::Ec(
                    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                        .map_err(|_| anyhow::anyhow!("EC parse"))?,
                )),
            }
        }

        fn sign(&self, digest: &Digest, out: &mut [u8]) -> anyhow::Result<()> {
            match self {
                Key::Rsa(k) => k.sign_digest(&RSA_PKCS1_SHA256, digest, out).map_err(|_| anyhow::anyhow!("RSA sign")),
                Key::Ec(k) => k.sign_digest(digest).map(|_| ()).map_err(|_| anyhow::anyhow!("ECDSA sign")),
            }
        }
    }

    pub(crate) fn run(mut args: impl Iterator<Item = String>) -> anyhow::Result<()> {
        let (mut alg, mut secs, mut threads, mut reparse) = (String::from("RS256"), 5.0_f64, 0usize, false);
        while let Some(flag) = args.next() {
            let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--alg" => alg = value()?,
                "--secs" => secs = value()?.parse().context("--secs")?,
                "--threads" => threads = value()?.parse().context("--threads")?,
                "--reparse" => reparse = true,
                other => bail!("unknown argument {other}"),
            }
        }
        if threads == 0 {
            threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        }
        let key = Arc::new(match alg.as_str() {
            "RS256" => Key::Rsa(KeyPair::generate(KeySize::Rsa2048).map_err(|_| anyhow::anyhow!("RSA keygen"))?),
            "ES256" => Key::Ec(
                EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(|_| anyhow::anyhow!("EC keygen"))?,
            ),
            other => bail!("--alg must be RS256 or ES256, not {other}"),
        });
        let der = Arc::new(key.pkcs8()?);
        let digest = Digest::import_less_safe(&[7u8; 32], &digest::SHA256).map_err(|_| anyhow::anyhow!("digest"))?;
        let (ops, stop) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
        let start = Instant::now();
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (key, der, ops, stop, digest) = (key.clone(), der.clone(), ops.clone(), stop.clone(), digest);
                std::thread::spawn(move || -> anyhow::Result<()> {
                    let mut out = vec![0u8; 256];
                    while !stop.load(Ordering::Relaxed) {
                        if reparse {
                            key.parse_like(&der)?.sign(&digest, &mut out)?;
                        } else {
                            key.sign(&digest, &mut out)?;
                        }
                        ops.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(())
                })
            })
            .collect();
        std::thread::sleep(Duration::from_secs_f64(secs));
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            w.join().map_err(|_| anyhow::anyhow!("worker panicked"))??;
        }
        let elapsed = start.elapsed().as_secs_f64();
        let n = ops.load(Ordering::Relaxed);
        println!(
            "{{\"alg\":\"{alg}\",\"threads\":{threads},\"reparse\":{reparse},\"ops\":{n},\"secs\":{elapsed:.3},\"ops_per_sec\":{:.1}}}",
            n as f64 / elapsed
        );
        Ok(())
    }
}
