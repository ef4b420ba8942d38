//! The HTTP surface: the router, its handlers and the error page/JSON they answer with.
//!
//! `build_router` takes the opened [`App`] and returns a plain `Router`, so tests drive the real router
//! with `tower::ServiceExt::oneshot` and no socket.
//!
//! Reader pages live under `/arxiv/{*rest}` (see [`dispatch`]): category expressions, paper ids (old-style
//! ids hold a slash), `search` and the `/feed` suffix share that segment, so one wildcard route parses the rest.

mod api;
mod assets;
mod cache;
mod dispatch;
mod error;
mod feeds;
mod foryou;
mod headers;
mod limits;
mod listing;
mod lookups;
mod pages;
mod paper;
mod params;
mod related;
mod search;
pub mod server;
pub mod summary;
mod translate;
mod venues;
mod views;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

pub use error::WebError;

// The page handlers render text through these (`super::text::rich`, …).
use crate::render::text;

use crate::app::App;

/// The router's state: the application and what the web layer keeps beside it.
#[derive(Clone)]
pub struct WebState {
    pub app: App,
    cache: cache::PageCache,
    lookups: lookups::Lookups,
    foryou: foryou::ForYou,
}

impl FromRef<WebState> for App {
    fn from_ref(s: &WebState) -> App {
        s.app.clone()
    }
}

pub fn build_router(app: App) -> Router {
    let request_timeout = Duration::from_secs(app.config.server.request_timeout_s.max(1));
    let lookups = lookups::Lookups::new(&app.config.server);
    let state = WebState { app, cache: cache::PageCache::default(), lookups, foryou: foryou::ForYou::default() };
    Router::new()
        .route("/healthz", get(api::healthz))
        .route("/api/search", get(api::search))
        // `/api/papers/{id}` and, with a `/summary` suffix, its LLM summary stream (src/web/summary.rs).
        .route("/api/papers/{*id}", get(dispatch::api_papers_get).post(dispatch::api_papers_post))
        .route("/api/arxiv/{*cats}", get(api::listing))
        .route("/api/translate", axum::routing::post(translate::api))
        .route("/", get(pages::home))
        .route("/starred", get(pages::starred))
        .route("/opensearch.xml", get(pages::opensearch))
        .route("/static/{file}", get(assets::serve))
        .route("/arxiv/{*rest}", get(dispatch::arxiv))
        .route("/venue", get(venues::index))
        .route("/venue/{*rest}", get(venues::venue))
        .route("/api/venue", get(venues::api_index))
        .route("/api/venue/{*rest}", get(venues::api))
        .fallback(error::fallback)
        .layer(axum::middleware::from_fn(move |req, next| limits::request_timeout(request_timeout, req, next)))
        .layer(axum::middleware::from_fn(headers::limit_uri))
        .layer(headers::security_headers())
        .layer(RequestBodyLimitLayer::new(16 * 1024))
        .layer(CatchPanicLayer::custom(error::panic_response))
        // Outside the body limit and the panic catcher, inside compression: it rewrites their plain-text
        // and HTML errors under /api/ into JSON, and reads bodies before they are compressed.
        .layer(axum::middleware::from_fn(error::api_errors_as_json))
        .layer(CompressionLayer::new())
        // Spans carry the path, never the query string: searches and "For you" stars are the reader's own.
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            tracing::debug_span!("request", method = %req.method(), path = %req.uri().path())
        }))
        .with_state(state)
}

/// Serves the router on `addr` until Ctrl-C or SIGTERM.
pub async fn serve(app: App, addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("serving on http://{}", listener.local_addr()?);
    serve_listener(listener, app, shutdown_signal()).await
}

/// Serves the router on a bound listener until `shutdown` completes (tests pass `std::future::pending()`),
/// with the connection limits of `[server]` (see [`server`]).
pub async fn serve_listener(
    listener: tokio::net::TcpListener,
    app: App,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = server::Limits {
        header_read: Duration::from_secs(app.config.server.header_read_timeout_s.max(1)),
        max_connections: app.config.server.max_connections.max(1),
    };
    server::run(listener, build_router(app), limits, shutdown).await
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
