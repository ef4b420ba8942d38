//! The accept loop: HTTP/1.1 connections with bounded lifetimes, in place of `axum::serve`.
//!
//! `axum::serve` exposes none of hyper's connection settings, and an adversarial probe held 5,000 idle
//! connections open for minutes (RSS 140 → 242 MB, 5,032 file descriptors). Here:
//! - **header read timeout** (hyper's `header_read_timeout`, with a tokio timer): a request head must arrive
//!   whole within [`Limits::header_read`] of the server starting to wait for it. Hyper starts that wait as
//!   soon as a connection is ready for its next request, so the same timer closes a half-sent request
//!   (slow loris) and an idle keep-alive connection;
//! - **a cap on open connections** ([`Limits::max_connections`]): one more gets a plain `503` with
//!   `Retry-After` and is closed, instead of queueing in the kernel's backlog;
//! - graceful shutdown through hyper-util's watcher: in-flight requests finish, then connections close.
//!
//! The request timeout and the SSE idle rule live in the router (`web::limits`), since they are about
//! responses, not connections.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// Connection limits (from `[server]` in the config).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest wait for a whole request head, idle keep-alive time included.
    pub header_read: Duration,
    /// Open connections served at once; more are refused with a 503.
    pub max_connections: usize,
}

/// What an over-cap connection reads before it is closed.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: text/plain; charset=utf-8\r\n\
retry-after: 1\r\n\
connection: close\r\n\
content-length: 63\r\n\
\r\n\
This server has too many open connections; try again shortly.\r\n";

/// Serves `router` on `listener` until `shutdown` completes, then lets in-flight requests finish.
pub async fn run(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment instead of spinning on the error.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tokio::spawn(refuse(tcp, peer));
            continue;
        };
        // Streamed responses (the summaries' SSE) are many small writes; with Nagle's algorithm each one
        // after the first waits for the client's delayed ACK, about 40 ms.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::trace!("cannot set TCP_NODELAY: {e}");
        }
        // ConnectInfo gives handlers the peer address (the per-client rate limits).
        let service = tower::ServiceExt::map_request(router.clone(), move |mut req: axum::extract::Request<_>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            req.map(axum::body::Body::new)
        });
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new()).header_read_timeout(limits.header_read).keep_alive(true);
        let conn = http.serve_connection(TokioIo::new(tcp), TowerToHyperService::new(service));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::trace!(peer = %peer, "connection ended: {e}");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Answers an over-cap connection with [`REFUSAL`] and closes it; a client that does not read gets at most a
/// second of our time. The request it sent is drained first: closing a socket with unread bytes resets the
/// connection, and the client could lose the answer.
async fn refuse(mut tcp: TcpStream, peer: SocketAddr) {
    tracing::debug!(peer = %peer, "connection refused: too many open connections");
    let answer = async {
        tcp.write_all(REFUSAL).await?;
        tcp.shutdown().await?;
        let mut sink = [0u8; 4096];
        while tcp.read(&mut sink).await? > 0 {}
        Ok::<(), std::io::Error>(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), answer).await;
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_refusal_is_a_well_formed_response() {
        let text = std::str::from_utf8(super::REFUSAL).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let declared: usize =
            head.lines().find_map(|l| l.strip_prefix("content-length: ")).unwrap().trim().parse().unwrap();
        assert_eq!(declared, body.len());
        assert!(head.starts_with("HTTP/1.1 503 "));
    }
}
