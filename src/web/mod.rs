//! The HTTP surface: the router, its handlers and the error page/JSON they answer with.
//!
//! `build_router` takes the opened [`App`] and returns a plain `Router`, so tests drive the real router
//! with `tower::ServiceExt::oneshot` and no socket.

mod api;
mod error;
pub mod summary;

use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;
use tower_http::trace::TraceLayer;

pub use error::WebError;

use crate::app::App;

pub fn build_router(app: App) -> Router {
    Router::new()
        .route("/healthz", get(api::healthz))
        .route("/api/search", get(api::search))
        // LLM summaries (src/web/summary.rs): `/api/papers/{id}/summary[/regenerate]` is dispatched inside
        // the catch-all (old-style ids hold a slash), and the `/arxiv/{id}/summary` page.
        .route("/api/papers/{*id}", get(summary::api_get).post(summary::api_post))
        .route("/arxiv/{*rest}", get(summary::arxiv_get))
        .route("/static/summary.js", get(summary::script))
        .route("/static/summary.css", get(summary::style))
        .fallback(api::not_found)
        .layer(TraceLayer::new_for_http())
        .with_state(app)
}

/// Serves the router on `addr` until Ctrl-C or SIGTERM.
pub async fn serve(app: App, addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("serving on http://{}", listener.local_addr()?);
    serve_listener(listener, app, shutdown_signal()).await
}

/// Serves the router on a bound listener until `shutdown` completes (tests pass `std::future::pending()`).
///
/// TCP_NODELAY: streamed responses (the LLM summaries' SSE) are many small writes; with Nagle's algorithm each
/// one after the first waits for the client's delayed ACK, about 40 ms. ConnectInfo gives handlers the peer
/// address (the summaries' per-client rate limit).
pub async fn serve_listener(
    listener: tokio::net::TcpListener,
    app: App,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::trace!("cannot set TCP_NODELAY: {e}");
        }
    });
    axum::serve(listener, build_router(app).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
