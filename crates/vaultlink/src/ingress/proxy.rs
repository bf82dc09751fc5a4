//! The HTTP CONNECT proxy (the portable ingress): terminates TLS for the Azure host names with
//! vaultlink's CA and serves them in-process; refuses every other host at once.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use vaultlink_core::netctx;

use crate::http::{App, Ingress, text};

/// True for the hosts vaultlink plays (the one table, `hosts`).
pub(crate) fn is_emulated_host(host: &str) -> bool {
    super::hosts::surface(host).is_some()
}

/// The user name in the proxy URL (`http://NAME@127.0.0.1:8780`), sent as Basic credentials:
/// the caller's identity (a NIC or a network), used by the network issue.
fn proxy_identity(req: &Request<Incoming>) -> Option<String> {
    use base64::Engine as _;
    let v = req.headers().get("proxy-authorization")?.to_str().ok()?;
    let b = v.strip_prefix("Basic ")?;
    let raw = base64::engine::general_purpose::STANDARD.decode(b.trim()).ok()?;
    let s = String::from_utf8(raw).ok()?;
    let user = s.split(':').next()?.to_string();
    (!user.is_empty()).then_some(user)
}

/// The proxy listener. `outer`: a shared server's own TLS, which a client speaks to the proxy
/// itself (`HTTPS_PROXY=https://...`) before its CONNECT, so the proxy's credentials and the
/// CONNECT travel encrypted too.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    tls: Arc<rustls::ServerConfig>,
    outer: Option<Arc<rustls::ServerConfig>>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let outer = outer.map(tokio_rustls::TlsAcceptor::from);
    let listener = super::limits::Listener::new(listener, "proxy", app.limits);
    loop {
        let (tcp, _peer, slot) = listener.accept().await;
        let app2 = app.clone();
        let (acceptor, outer) = (acceptor.clone(), outer.clone());
        // The connection's slot lives as long as it does, through a CONNECT tunnel too.
        let slot = Arc::new(slot);
        app.conns.serve(tcp, move |tcp| async move {
            match outer {
                Some(outer) => {
                    if let Some(tls) = crate::http::tls_accept(&outer, tcp).await {
                        serve_client(tls, app2, acceptor, slot).await;
                    }
                }
                None => serve_client(tcp, app2, acceptor, slot).await,
            }
        });
    }
}

/// One client connection to the proxy: HTTP/1.1 requests, CONNECTs upgraded to tunnels.
async fn serve_client<IO>(
    io: IO,
    app: Arc<App>,
    acceptor: tokio_rustls::TlsAcceptor,
    slot: Arc<tokio::sync::OwnedSemaphorePermit>,
) where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let head_timeout = app.limits.request_head_timeout;
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let app = app.clone();
        let acceptor = acceptor.clone();
        let slot = slot.clone();
        async move { Ok::<_, Infallible>(handle(req, app, acceptor, slot).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(head_timeout)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades()
        .await;
}

async fn handle(
    req: Request<Incoming>,
    app: Arc<App>,
    acceptor: tokio_rustls::TlsAcceptor,
    slot: Arc<tokio::sync::OwnedSemaphorePermit>,
) -> Response<Full<Bytes>> {
    let identity = proxy_identity(&req);
    if req.method() != Method::CONNECT {
        // An absolute-URI request (plain HTTP through the proxy): only the identity endpoint is
        // served this way, as IMDS is reached without TLS.
        let target = req.uri().authority().map(|a| a.to_string()).unwrap_or_default();
        if target == app.identity_addr.to_string() || target == format!("localhost:{}", app.identity_addr.port()) {
            return match crate::http::read_request(req, Ingress::Identity).await {
                Ok(r) => crate::http::route(&app, r),
                Err(resp) => resp,
            };
        }
        return text(
            StatusCode::FORBIDDEN,
            &format!(
                "vaultlink proxy: plain HTTP to {target} is not served; only the Azure hosts vaultlink emulates are reachable.\n"
            ),
        );
    }
    let authority = req.uri().authority().map(|a| a.to_string()).unwrap_or_default();
    let (host, port) = authority.rsplit_once(':').unwrap_or((authority.as_str(), "443"));
    if port != "443" || !is_emulated_host(host) {
        vaultlink_core::info_limited!(target_host = %authority, "proxy refused a host vaultlink does not emulate");
        return text(
            StatusCode::FORBIDDEN,
            &format!(
                "vaultlink proxy: {authority} is not emulated (management.azure.com, login.microsoftonline.com, graph.microsoft.com and *.vault.azure.net are).\n"
            ),
        );
    }
    // Where the caller is, and what connecting to this host does from there.
    let origin = match app.engine.read(|s| netctx::locate(s, identity.as_deref(), app.public_address)) {
        Ok(o) => o,
        Err(e) => return text(StatusCode::PROXY_AUTHENTICATION_REQUIRED, &format!("vaultlink proxy: {e}\n")),
    };
    let context = if host.to_ascii_lowercase().ends_with(".vault.azure.net") {
        match app.engine.read(|s| netctx::route(s, &origin, host)) {
            netctx::Route::Reaches(ctx) => Some(ctx),
            netctx::Route::NotResolved { view } => {
                vaultlink_core::info_limited!(%host, %view, "proxy: name does not resolve for this caller");
                return text(
                    StatusCode::BAD_GATEWAY,
                    &format!("vaultlink proxy: {host} does not resolve from {view} (NXDOMAIN)\n"),
                );
            }
            netctx::Route::Unreachable { address, reason } => {
                vaultlink_core::info_limited!(%host, %address, %reason, "proxy: connection carries no traffic");
                return text(
                    StatusCode::GATEWAY_TIMEOUT,
                    &format!("vaultlink proxy: connection to {host} ({address}) timed out: {reason}\n"),
                );
            }
        }
    } else {
        None
    };
    tokio::spawn(async move {
        let _slot = slot;
        match hyper::upgrade::on(req).await {
            Ok(upgraded) => match crate::http::tls_accept(&acceptor, TokioIo::new(upgraded)).await {
                Some(tls) => crate::http::serve_connection(tls, app, Ingress::Proxy { context }).await,
                None => tracing::info!(
                    "TLS handshake through the proxy failed or timed out (does the client trust vaultlink's CA?)"
                ),
            },
            Err(e) => tracing::debug!(error = %e, "CONNECT upgrade failed"),
        }
    });
    Response::new(Full::new(Bytes::new()))
}

#[cfg(test)]
mod tests {
    use super::is_emulated_host;

    #[test]
    fn only_azure_hosts_are_emulated() {
        assert!(is_emulated_host("management.azure.com"));
        assert!(is_emulated_host("Login.MicrosoftOnline.com"));
        assert!(is_emulated_host("myvault.vault.azure.net"));
        assert!(!is_emulated_host(".vault.azure.net"));
        assert!(!is_emulated_host("azcliprod.blob.core.windows.net"));
        assert!(!is_emulated_host("evil.vault.azure.net.example.com"));
    }
}
