//! The web layer's error: logs internals, shows users a helpful message without them.

use askama::Template;
use axum::Json;
use axum::extract::OriginalUri;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use super::views::Chrome;

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
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Search(crate::search::SearchError::BadQuery(_)) => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the user may see: the message for their mistakes, a generic line for ours.
    pub fn public_message(&self) -> String {
        match self {
            WebError::BadRequest(m) | WebError::NotFound(m) | WebError::Unavailable(m) => m.clone(),
            WebError::Search(crate::search::SearchError::BadQuery(m)) => m.clone(),
            _ => "Something went wrong on our side; it has been logged. Please try again.".into(),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        (status, Json(json!({ "error": self.public_message(), "status": status.as_u16() }))).into_response()
    }
}

/// An error answered as the site's HTML error page (or as JSON under `/api/`).
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    message: String,
    json: bool,
}

impl PageError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        PageError { status, message: message.into(), json: false }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn uri_too_long(message: String, json: bool) -> Self {
        Self::with_format(StatusCode::URI_TOO_LONG, message, json)
    }

    /// An error answered as JSON (`json`, for `/api/`) or as the HTML page.
    pub fn with_format(status: StatusCode, message: impl Into<String>, json: bool) -> Self {
        PageError { status, message: message.into(), json }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<WebError> for PageError {
    fn from(e: WebError) -> Self {
        let status = e.status();
        if status.is_server_error() {
            tracing::error!(error = %e, "request failed");
        }
        PageError { status, message: e.public_message(), json: false }
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(e: crate::store::StoreError) -> Self {
        WebError::from(e).into()
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    status: u16,
    reason: &'a str,
    message: &'a str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if self.json {
            let body = json!({ "error": self.message, "status": self.status.as_u16() });
            return (self.status, Json(body)).into_response();
        }
        let reason = self.status.canonical_reason().unwrap_or("Error");
        let page =
            ErrorPage { chrome: Chrome::new(reason), status: self.status.as_u16(), reason, message: &self.message };
        match page.render() {
            Ok(html) => (self.status, [(axum::http::header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "error page failed to render");
                (self.status, self.message).into_response()
            }
        }
    }
}

/// Unknown addresses: an HTML page, or JSON under `/api/`.
pub(super) async fn fallback(OriginalUri(uri): OriginalUri) -> Response {
    if uri.path().starts_with("/api/") {
        WebError::NotFound("There is nothing at this address.".into()).into_response()
    } else {
        PageError::not_found("There is nothing at this address.").into_response()
    }
}

/// Every error under `/api/` is the JSON error shape, whoever produced it: axum's extractor rejections
/// (a `limit` that is not a number, an unknown `sort`), the body limit's 413, a 405, a caught panic. They
/// answer `text/plain` or the HTML page otherwise, which a JSON client cannot read.
pub(super) async fn api_errors_as_json(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if !req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let res = next.run(req).await;
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
    PageError::new(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on our side; it has been logged.")
        .into_response()
}

/// An askama rendering failure: ours, never the reader's (logged, a generic page shown).
pub(super) fn render_error(e: askama::Error) -> PageError {
    WebError::Internal(e.to_string()).into()
}
