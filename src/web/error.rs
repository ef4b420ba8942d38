//! The web layer's error: logs internals, shows users a helpful message without them.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

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
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::Search(crate::search::SearchError::BadQuery(_)) => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the user may see: the message for their mistakes, a generic line for ours.
    pub fn public_message(&self) -> String {
        match self {
            WebError::BadRequest(m) | WebError::NotFound(m) => m.clone(),
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
