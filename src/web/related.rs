//! Related papers: `/arxiv/{id}/related` (page), `/api/papers/{id}/related` (JSON) and the panel on paper pages.

use std::net::IpAddr;

use askama::Template;
use axum::Json;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::error::render_error;
use super::views::Chrome;
use super::{WebError, WebState};
use crate::app::App;
use crate::domain::ArxivId;
use crate::related::{RelatedError, RelatedStatus, RelatedView};

/// One list entry as templates show it.
pub(super) struct RelatedEntry {
    pub id: String,
    /// Escaped title with its TeX as MathML.
    pub title_html: String,
    pub source: String,
    pub score: String,
}

/// The related panel (templates/related_panel.html), on the paper page and the related page.
pub(super) struct RelatedPanel {
    pub id: String,
    pub pending: bool,
    pub note: Option<String>,
    pub entries: Vec<RelatedEntry>,
}

impl RelatedPanel {
    pub fn new(id: &str, view: &RelatedView) -> Self {
        RelatedPanel {
            id: id.to_string(),
            pending: view.status == RelatedStatus::Pending,
            note: view.note.clone(),
            entries: view
                .related
                .iter()
                .map(|r| RelatedEntry {
                    id: r.id.clone(),
                    title_html: super::text::rich(&r.title, &[]),
                    source: r.source.clone(),
                    score: format!("{:.2}", r.score),
                })
                .collect(),
        }
    }
}

impl From<RelatedError> for WebError {
    fn from(e: RelatedError) -> Self {
        match e {
            RelatedError::NotFound(id) => WebError::NotFound(format!("{id} is not in this Papertide's store.")),
            other => WebError::Internal(other.to_string()),
        }
    }
}

#[derive(Template)]
#[template(path = "related.html")]
struct RelatedPage {
    chrome: Chrome,
    title: String,
    panel: RelatedPanel,
}

pub(super) async fn page(
    state: &WebState,
    id: &ArxivId,
    _headers: &HeaderMap,
    peer: Option<IpAddr>,
) -> Result<Response, WebError> {
    let view = state.app.related.view(id.as_str(), peer).await.map_err(WebError::from)?;
    let paper = state.app.store.get_paper(id).await?;
    let title = paper.map(|p| p.title).unwrap_or_default();
    let html = RelatedPage {
        chrome: Chrome::new(format!("Related to {id} — {title}")),
        title,
        panel: RelatedPanel::new(id.as_str(), &view),
    }
    .render()
    .map_err(render_error)?;
    Ok(([(axum::http::header::CACHE_CONTROL, "no-cache")], axum::response::Html(html)).into_response())
}

/// `GET /api/papers/{id}/related`: `{"status": "ready" | "pending", "related": [{id, title, score, source}]}`.
pub(super) async fn api(app: &App, raw_id: &str, peer: Option<IpAddr>) -> Response {
    let id = match ArxivId::parse(raw_id) {
        Ok(id) => id,
        Err(e) => return WebError::BadRequest(e.to_string()).into_response(),
    };
    match app.related.view(id.as_str(), peer).await {
        Ok(view) => ([(axum::http::header::CACHE_CONTROL, "no-cache")], Json(view)).into_response(),
        Err(e) => WebError::from(e).into_response(),
    }
}
