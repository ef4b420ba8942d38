//! Security headers on every response and a limit on request URIs.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower::layer::util::{Identity, Stack};
use tower_http::set_header::SetResponseHeaderLayer;

use super::WebError;

/// No inline script or style anywhere: scripts and styles come from `/static` only.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Longest path + query accepted; search queries are limited to 1,000 characters, which fits with room.
const MAX_URI: usize = 4_096;

type H = SetResponseHeaderLayer<HeaderValue>;
/// The four header layers, outermost last.
type SecurityLayers = ServiceBuilder<Stack<H, Stack<H, Stack<H, Stack<H, Identity>>>>>;

pub fn security_headers() -> SecurityLayers {
    let set = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    ServiceBuilder::new()
        .layer(set(header::CONTENT_SECURITY_POLICY, CSP))
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(set(header::REFERRER_POLICY, "strict-origin-when-cross-origin"))
        .layer(set(header::X_FRAME_OPTIONS, "DENY"))
}

pub async fn limit_uri(req: Request, next: Next) -> Response {
    let len = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if len > MAX_URI {
        let message = format!("That address is too long (at most {MAX_URI} characters).");
        return WebError::new(StatusCode::URI_TOO_LONG, message).into_response();
    }
    next.run(req).await
}

/// Sets `Retry-After` to `wait` in whole seconds, at least 1 (a 0 would invite an immediate retry).
pub fn set_retry_after(res: &mut Response, wait: std::time::Duration) {
    res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait.as_secs().max(1)));
}
