//! Paper pages: `/arxiv/{id}` and `/arxiv/{id},{id}`. Ids missing from the store are looked up through the
//! arXiv API (and stored) by the bounded on-demand queue in [`super::lookups`].

use askama::Template;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::cache::{Page, cache_hit, cached};
use super::error::render_error;
use super::lookups::Outcome;
use super::views::{Chrome, PaperView};
use super::{WebError, WebState};
use crate::domain::ArxivId;

/// How often the "looking this up" page reloads itself, in seconds.
const REFRESH_S: u32 = 5;

/// A page that says the ids are being looked up at arXiv, and reloads itself.
#[derive(Template)]
#[template(path = "looking_up.html")]
struct LookingUpPage {
    chrome: Chrome,
    ids: Vec<String>,
}

fn looking_up(ids: &[ArxivId]) -> Result<Response, WebError> {
    let ids: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    let mut chrome = Chrome::new(format!("Looking up {}", ids.join(", ")));
    chrome.refresh_s = Some(REFRESH_S);
    let html = LookingUpPage { chrome, ids }.render().map_err(render_error)?;
    let mut res = (StatusCode::ACCEPTED, Html(html)).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

#[derive(Template)]
#[template(path = "paper.html")]
struct PaperPage {
    chrome: Chrome,
    papers: Vec<PaperView>,
    /// The related-papers panel, on single-paper pages.
    panel: Option<super::related::RelatedPanel>,
}

pub(super) async fn page(
    state: &WebState,
    ids: Vec<ArxivId>,
    headers: &HeaderMap,
    peer: Option<std::net::IpAddr>,
) -> Result<Response, WebError> {
    let key = format!("paper:{}", ids.iter().map(|i| i.as_str()).collect::<Vec<_>>().join(","));
    // A cached page needs no store read and no lookup (it was rendered from stored papers).
    if let Some(res) = cache_hit(state, &key, headers).await {
        return Ok(res);
    }
    // Ids not in the store are looked up first, outside the page cache: the answer depends on the queue.
    let wanted: Vec<String> = ids.iter().map(|i| i.as_str().to_string()).collect();
    let stored = state.app.store.get_papers(&wanted).await?;
    let missing: Vec<ArxivId> =
        ids.iter().filter(|i| stored.iter().all(|p| p.id.as_str() != i.as_str())).map(ArxivId::unversioned).collect();
    let mut note = None;
    if !missing.is_empty() {
        match state.lookups.ensure(&state.app, &missing, peer).await {
            Outcome::Done { failed } if failed.is_empty() => {}
            Outcome::Done { .. } => note = Some("arXiv could not be asked about it just now; try again later."),
            Outcome::Waiting => return looking_up(&missing),
            Outcome::Refused { message, retry_after } => {
                if stored.is_empty() {
                    let mut res = WebError::new(StatusCode::TOO_MANY_REQUESTS, message).into_response();
                    super::headers::set_retry_after(&mut res, retry_after);
                    return Ok(res);
                }
            }
        }
    }
    cached(state, key, headers, async {
        // Read again only when a lookup may have stored some.
        let papers = if missing.is_empty() { stored } else { state.app.store.get_papers(&wanted).await? };
        if papers.is_empty() {
            let shown: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
            let msg = match note {
                Some(n) => format!("{} is not in this Papertide's store, and {n}", shown.join(", ")),
                None => format!("{} is not in this Papertide's store, and arXiv did not return it.", shown.join(", ")),
            };
            return Err(WebError::not_found(msg));
        }
        let title = match papers.as_slice() {
            [p] => format!("{} — {}", p.id, p.title),
            many => format!("{} papers", many.len()),
        };
        let mut views: Vec<PaperView> = papers.iter().map(|p| PaperView::new(p, None, &[])).collect();
        super::venues::add_badges(&state.app, &mut views).await;
        // One paper: its related list (stored, or the BM25 list while the reranked one is computed).
        let view = match papers.as_slice() {
            [p] => match state.app.related.view(p.id.as_str(), peer).await {
                Ok(v) => Some(v),
                Err(e) => {
                    tracing::warn!(id = %p.id, "related papers unavailable: {e}");
                    None
                }
            },
            _ => None,
        };
        let pending = view.as_ref().is_some_and(|v| v.status == crate::related::RelatedStatus::Pending);
        let panel = view.as_ref().map(|v| super::related::RelatedPanel::new(papers[0].id.as_str(), v));
        let html =
            PaperPage { chrome: Chrome::new(title).with_translate(state.app.llm.is_some()), papers: views, panel }
                .render()
                .map_err(render_error)?;
        let page = Page::new(html, "text/html; charset=utf-8", "public, max-age=300");
        Ok(if pending { page.transient() } else { page })
    })
    .await
}
