//! Time limits on responses: a request timeout for every page and API answer, and an idle rule for the
//! summaries' event streams, which the request timeout must not cut (see `web::server` for the connection
//! limits).

use std::time::Duration;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::WebError;

/// Whether `path` is a summary event stream: those answer at once and then stream for as long as the
/// generation runs, under their own idle rule ([`super::summary`]) instead of the request timeout.
pub(super) fn is_event_stream(path: &str) -> bool {
    path.starts_with("/api/papers/") && (path.ends_with("/summary") || path.ends_with("/summary/regenerate"))
}

/// Answers `503` when a response head is not ready within `limit`. The handler's future is dropped, which
/// cancels its awaits; CPU work it handed to the blocking pool runs to completion there and is dropped.
pub(super) async fn request_timeout(limit: Duration, req: Request, next: Next) -> Response {
    if is_event_stream(req.uri().path()) {
        return next.run(req).await;
    }
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            tracing::warn!(limit_s = limit.as_secs_f64(), "request timed out");
            let message = format!(
                "This took longer than {} s to prepare, so it was stopped. Please try again in a moment.",
                limit.as_secs()
            );
            let mut res = WebError::new(StatusCode::SERVICE_UNAVAILABLE, message).into_response();
            super::headers::set_retry_after(&mut res, Duration::from_secs(5));
            res
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_event_stream;

    #[test]
    fn only_summary_streams_are_exempt() {
        assert!(is_event_stream("/api/papers/2401.00001/summary"));
        assert!(is_event_stream("/api/papers/hep-th/9901001/summary/regenerate"));
        for path in ["/api/papers/2401.00001", "/api/papers/2401.00001/related", "/arxiv/2401.00001/summary", "/"] {
            assert!(!is_event_stream(path), "{path}");
        }
    }
}
