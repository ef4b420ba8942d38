//! The web layer's error: logs internals, shows users a helpful message without them.

use askama::Template;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use super::views::Chrome;

/// The web layer's one error. A handler returns it whatever it answers (a page, JSON, a feed); it becomes the
/// site's HTML error page, and under `/api/` the JSON error shape (see [`api_errors_as_json`]), with the same
/// status and message either way.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Search(#[from] crate::search::SearchError),
    #[error("{0}")]
    Internal(String),
    /// A part of the service is down for a reason the reader may know (search on a full disk).
    #[error("{0}")]
    Unavailable(String),
    /// Any other status with a message for the reader (a 414, a 429, a 503 after a timeout).
    #[error("{1}")]
    Status(StatusCode, String),
}

impl WebError {
    /// An error with `status` and a message for the reader.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        let message = message.into();
        match status {
            StatusCode::BAD_REQUEST => WebError::BadRequest(message),
            StatusCode::NOT_FOUND => WebError::NotFound(message),
            StatusCode::SERVICE_UNAVAILABLE => WebError::Unavailable(message),
            _ => WebError::Status(status, message),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        WebError::BadRequest(message.into())
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        WebError::NotFound(message.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Status(s, _) => *s,
            WebError::Search(crate::search::SearchError::BadQuery(_)) => StatusCode::BAD_REQUEST,
            WebError::Store(_) | WebError::Search(_) | WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the user may see: the message for their mistakes, a generic line for ours.
    pub fn public_message(&self) -> String {
        match self {
            WebError::BadRequest(m) | WebError::NotFound(m) | WebError::Unavailable(m) => m.clone(),
            WebError::Status(s, m) if !s.is_server_error() || !m.is_empty() => m.clone(),
            WebError::Search(crate::search::SearchError::BadQuery(m)) => m.clone(),
            _ => "Something went wrong on our side; it has been logged. Please try again.".into(),
        }
    }
}

/// What a [`WebError`] response carries for [`api_errors_as_json`]: the status and message the reader sees.
#[derive(Debug, Clone)]
struct PublicError {
    status: StatusCode,
    message: String,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    status: u16,
    reason: &'a str,
    message: &'a str,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() && !matches!(self, WebError::Status(..) | WebError::Unavailable(_)) {
            tracing::error!(error = %self, "request failed");
        }
        let message = self.public_message();
        let reason = status.canonical_reason().unwrap_or("Error");
        let page = ErrorPage { chrome: Chrome::new(reason), status: status.as_u16(), reason, message: &message };
        let mut res = match page.render() {
            Ok(html) => (status, [(axum::http::header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "error page failed to render");
                (status, message.clone()).into_response()
            }
        };
        res.extensions_mut().insert(PublicError { status, message });
        res
    }
}

/// Unknown addresses: an HTML page, or JSON under `/api/` (as every error).
pub(super) async fn fallback() -> Response {
    WebError::not_found("There is nothing at this address.").into_response()
}

/// Every error under `/api/` is the JSON error shape, whoever produced it: axum's extractor rejections
/// (a `limit` that is not a number, an unknown `sort`), the body limit's 413, a 405, a caught panic. They
/// answer `text/plain` or the HTML page otherwise, which a JSON client cannot read.
pub(super) async fn api_errors_as_json(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if !req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let mut res = next.run(req).await;
    if let Some(e) = res.extensions_mut().remove::<PublicError>() {
        let (mut parts, _) = res.into_parts();
        parts.headers.remove(axum::http::header::CONTENT_TYPE);
        parts.headers.remove(axum::http::header::CONTENT_LENGTH);
        parts.headers.remove(axum::http::header::CACHE_CONTROL);
        let json = Json(json!({ "error": e.message, "status": e.status.as_u16() })).into_response();
        let (json_parts, json_body) = json.into_parts();
        parts.headers.extend(json_parts.headers);
        return Response::from_parts(parts, json_body);
    }
    let status = res.status();
    let is_json = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/event-stream"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let plain = parts
        .headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    let text = if plain {
        axum::body::to_bytes(body, 4_096)
            .await
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
            .unwrap_or_default()
    } else {
        String::new()
    };
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "The request body is too large: at most 16 KiB.".to_string(),
        StatusCode::METHOD_NOT_ALLOWED => "This address does not answer that method.".to_string(),
        s if s.is_server_error() => "Something went wrong on our side; it has been logged. Please try again.".into(),
        _ if !text.is_empty() => text,
        s => s.canonical_reason().unwrap_or("Bad request").to_string(),
    };
    parts.headers.remove(axum::http::header::CONTENT_TYPE);
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let json = Json(json!({ "error": message, "status": status.as_u16() })).into_response();
    let (json_parts, json_body) = json.into_parts();
    parts.headers.extend(json_parts.headers);
    Response::from_parts(parts, json_body)
}

/// A handler panicked: log it and answer the 500 page, never a dropped connection.
pub(super) fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    WebError::new(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on our side; it has been logged.")
        .into_response()
}

/// An askama rendering failure: ours, never the reader's (logged, a generic page shown).
pub(super) fn render_error(e: askama::Error) -> WebError {
    WebError::Internal(e.to_string())
}
