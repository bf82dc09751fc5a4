//! `vaultlink-bench-ceiling load`: HTTP/1.1 GETs with keep-alive through a CONNECT tunnel (issue
//! 22, item 1), as `az` and the Azure SDKs reach a vault with `HTTPS_PROXY` set: every
//! connection sends `CONNECT host:443` to `--proxy`, then speaks TLS (SNI = `--host`) inside the
//! tunnel and sends requests one after another for `--secs` seconds. `--server ADDR` skips the
//! CONNECT (TLS straight to ADDR), for the direct listener in the same terms. Runs on `--threads`
//! tokio worker threads (like `wrk -t2`) and prints one JSON line:
//! `{"requests":..,"secs":..,"rps":..,"status_errors":..,"errors":..,"p50_ms":..,"p99_ms":..}`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::header::{HOST, HeaderName, HeaderValue};
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Args {
    target: SocketAddr,
    tunnel: bool,
    host: String,
    path: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    conns: usize,
    secs: f64,
    threads: usize,
    ca_file: Option<String>,
    insecure: bool,
}

fn parse(mut it: impl Iterator<Item = String>) -> anyhow::Result<Args> {
    let (mut target, mut tunnel, mut host, mut path) = (None, true, None, String::from("/"));
    let (mut headers, mut conns, mut secs, mut threads) = (Vec::new(), 64, 10.0, 2);
    let (mut ca_file, mut insecure) = (None, false);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--proxy" | "--server" => {
                tunnel = flag == "--proxy";
                target = Some(value()?.parse::<SocketAddr>().with_context(|| flag.clone())?);
            }
            "--host" => host = Some(value()?),
            "--path" => path = value()?,
            "--header" => {
                let h = value()?;
                let (name, v) = h.split_once(':').with_context(|| format!("--header {h}: NAME: VALUE"))?;
                headers.push((HeaderName::from_bytes(name.trim().as_bytes())?, HeaderValue::from_str(v.trim())?));
            }
            "--conns" => conns = value()?.parse().context("--conns")?,
            "--secs" => secs = value()?.parse().context("--secs")?,
            "--threads" => threads = value()?.parse().context("--threads")?,
            "--ca-file" => ca_file = Some(value()?),
            "--insecure" => insecure = true,
            other => bail!("unknown argument {other}"),
        }
    }
    if ca_file.is_none() != insecure {
        bail!("give one of --ca-file PEM and --insecure");
    }
    Ok(Args {
        target: target.context("--proxy ADDR or --server ADDR is required")?,
        tunnel,
        host: host.context("--host is required")?,
        path,
        headers,
        conns,
        secs,
        threads: threads.max(1),
        ca_file,
        insecure,
    })
}

/// Accepts any certificate (the ceiling's is self-signed) but checks the handshake signatures,
/// so the client does the same work either way.
#[derive(Debug)]
struct AnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        msg: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(msg, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        msg: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(msg, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn tls_config(args: &Args) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder =
        rustls::ClientConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions()?;
    let mut config = if args.insecure {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(AnyCert(provider))).with_no_client_auth()
    } else {
        let path = args.ca_file.as_deref().unwrap_or_default();
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(path).with_context(|| format!("reading {path}"))? {
            // A bundle holds the system's roots too; one that rustls rejects is skipped.
            let _ = roots.add(cert.with_context(|| format!("parsing {path}"))?);
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[derive(Default)]
struct Stats {
    requests: u64,
    status_errors: u64,
    errors: u64,
    latencies_us: Vec<u32>,
}

/// How long a connection set-up or one request may take (wrk's `--timeout 10s`).
const TIMEOUT: Duration = Duration::from_secs(10);

type Sender = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

/// One connection: TCP, the CONNECT (unless `--server`), TLS, then an HTTP/1.1 client.
async fn connect(args: &Args, tls: &tokio_rustls::TlsConnector) -> anyhow::Result<Sender> {
    let mut tcp = TcpStream::connect(args.target).await?;
    tcp.set_nodelay(true)?;
    if args.tunnel {
        let host = &args.host;
        tcp.write_all(format!("CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n").as_bytes()).await?;
        let mut head = Vec::with_capacity(128);
        let mut buf = [0u8; 512];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = tcp.read(&mut buf).await?;
            if n == 0 || head.len() > 8192 {
                bail!("the proxy closed the connection before answering the CONNECT");
            }
            head.extend_from_slice(&buf[..n]);
        }
        if !head.starts_with(b"HTTP/1.1 200") && !head.starts_with(b"HTTP/1.0 200") {
            bail!("CONNECT answered {}", String::from_utf8_lossy(&head).lines().next().unwrap_or_default());
        }
    }
    let name = ServerName::try_from(args.host.clone())?;
    let stream = tls.connect(name, tcp).await?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

async fn one_connection(args: Arc<Args>, tls: tokio_rustls::TlsConnector, deadline: Instant) -> Stats {
    let mut stats = Stats::default();
    let host = HeaderValue::from_str(&args.host).expect("a host name is a header value");
    while Instant::now() < deadline {
        let mut sender = match tokio::time::timeout(TIMEOUT, connect(&args, &tls)).await {
            Ok(Ok(s)) => s,
            _ => {
                stats.errors += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        while Instant::now() < deadline {
            let mut req = Request::get(args.path.as_str()).body(Empty::<Bytes>::new()).expect("a GET request");
            req.headers_mut().insert(HOST, host.clone());
            for (name, value) in &args.headers {
                req.headers_mut().append(name.clone(), value.clone());
            }
            let start = Instant::now();
            let exchange = async {
                let resp = sender.send_request(req).await.ok()?;
                let status = resp.status();
                resp.into_body().collect().await.ok().map(|_| status)
            };
            let ok = tokio::time::timeout(TIMEOUT, exchange).await.ok().flatten();
            match ok {
                Some(status) => {
                    stats.requests += 1;
                    stats.latencies_us.push(start.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    if !status.is_success() {
                        stats.status_errors += 1;
                    }
                }
                None => {
                    stats.errors += 1;
                    break; // a new connection
                }
            }
        }
    }
    stats
}

pub(crate) fn run(args: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let args = Arc::new(parse(args)?);
    let tls = tokio_rustls::TlsConnector::from(tls_config(&args)?);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(args.threads).enable_all().build()?;
    let (total, elapsed) = runtime.block_on(async {
        let start = Instant::now();
        let deadline = start + Duration::from_secs_f64(args.secs);
        let tasks: Vec<_> =
            (0..args.conns).map(|_| tokio::spawn(one_connection(args.clone(), tls.clone(), deadline))).collect();
        let mut total = Stats::default();
        for t in tasks {
            let s = t.await?;
            total.requests += s.requests;
            total.status_errors += s.status_errors;
            total.errors += s.errors;
            total.latencies_us.extend(s.latencies_us);
        }
        anyhow::Ok((total, start.elapsed().as_secs_f64()))
    })?;
    let mut lat = total.latencies_us;
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map_or(0.0, |&us| us as f64 / 1000.0)
    };
    println!(
        "{{\"requests\":{},\"secs\":{elapsed:.3},\"rps\":{:.1},\"status_errors\":{},\"errors\":{},\"p50_ms\":{:.3},\"p99_ms\":{:.3}}}",
        total.requests,
        total.requests as f64 / elapsed,
        total.status_errors,
        total.errors,
        pct(0.50),
        pct(0.99)
    );
    Ok(())
}
