//! Paper pages: `/arxiv/{id}` and `/arxiv/{id},{id}`. Ids missing from the store are looked up through the
//! arXiv API (and stored), at most once per id every [`MISS_TTL`] so a crawler cannot make us hammer arXiv.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use askama::Template;
use axum::http::HeaderMap;
use axum::response::Response;

use super::cache::Page;
use super::pages::{cached, render_error};
use super::views::{Chrome, PaperView};
use super::{LOOKUP_TIMEOUT, PageError, WebState};
use crate::domain::ArxivId;
use crate::ingest::RunSummary;
use crate::store::StoredPaper;

const MISS_TTL: Duration = Duration::from_secs(300);
const MISS_MAX: usize = 10_000;

/// Ids recently looked up at arXiv and not found there.
#[derive(Clone, Default)]
pub struct MissCache(Arc<Mutex<HashMap<String, Instant>>>);

impl MissCache {
    fn recent(&self, id: &str) -> bool {
        self.0.lock().ok().and_then(|m| m.get(id).copied()).is_some_and(|t| t.elapsed() < MISS_TTL)
    }

    fn add(&self, ids: impl IntoIterator<Item = String>) {
        if let Ok(mut m) = self.0.lock() {
            if m.len() >= MISS_MAX {
                m.retain(|_, t| t.elapsed() < MISS_TTL);
            }
            for id in ids {
                m.insert(id, Instant::now());
            }
        }
    }
}

/// The stored papers for `ids`, looking missing ones up at arXiv first. Returns the papers found (in the
/// order asked) and a note about a failed lookup, if any.
pub(super) async fn fetch(state: &WebState, ids: &[ArxivId]) -> Result<(Vec<StoredPaper>, Option<String>), PageError> {
    let wanted: Vec<String> = ids.iter().map(|i| i.as_str().to_string()).collect();
    let mut papers = state.app.store.get_papers(&wanted).await?;
    let missing: Vec<ArxivId> = ids
        .iter()
        .filter(|i| papers.iter().all(|p| p.id != i.as_str()) && !state.misses.recent(i.as_str()))
        .map(ArxivId::unversioned)
        .collect();
    if missing.is_empty() {
        return Ok((papers, None));
    }
    let mut summary = RunSummary::new("api");
    let note =
        match tokio::time::timeout(LOOKUP_TIMEOUT, crate::ingest::lookup::lookup(&state.app, &missing, &mut summary))
            .await
        {
            Ok(Ok(())) if summary.errors.is_empty() => None,
            Ok(Ok(())) => {
                tracing::warn!(errors = ?summary.errors, "arXiv lookup failed");
                Some("arXiv could not be asked about it just now; try again later.".to_string())
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "arXiv lookup failed");
                Some("arXiv could not be asked about it just now; try again later.".to_string())
            }
            Err(_) => Some("arXiv did not answer in time; try again later.".to_string()),
        };
    papers = state.app.store.get_papers(&wanted).await?;
    // Failed lookups are remembered too: while arXiv is unreachable, repeated requests answer at once instead
    // of each waiting out the timeout.
    state.misses.add(missing.iter().filter(|i| papers.iter().all(|p| p.id != i.as_str())).map(|i| i.to_string()));
    Ok((papers, note))
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
) -> Result<Response, PageError> {
    let key = format!("paper:{}", ids.iter().map(|i| i.as_str()).collect::<Vec<_>>().join(","));
    cached(state, key, headers, async {
        let (papers, note) = fetch(state, &ids).await?;
        if papers.is_empty() {
            let shown: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
            let msg = match note {
                Some(n) => format!("{} is not in this Papertide's store, and {n}", shown.join(", ")),
                None => format!("{} is not in this Papertide's store, and arXiv did not return it.", shown.join(", ")),
            };
            return Err(PageError::not_found(msg));
        }
        let title = match papers.as_slice() {
            [p] => format!("{} — {}", p.id, p.title),
            many => format!("{} papers", many.len()),
        };
        let views = papers.iter().map(|p| PaperView::new(p, None, &[])).collect();
        // One paper: its related list (stored, or the BM25 list while the reranked one is computed).
        let view = match papers.as_slice() {
            [p] => match state.app.related.view(&p.id, peer).await {
                Ok(v) => Some(v),
                Err(e) => {
                    tracing::warn!(id = %p.id, "related papers unavailable: {e}");
                    None
                }
            },
            _ => None,
        };
        let pending = view.as_ref().is_some_and(|v| v.status == crate::related::RelatedStatus::Pending);
        let panel = view.as_ref().map(|v| super::related::RelatedPanel::new(&papers[0].id, v));
        let html = PaperPage { chrome: Chrome::new(title), papers: views, panel }.render().map_err(render_error)?;
        let page = Page::new(html, "text/html; charset=utf-8", "public, max-age=300");
        Ok(if pending { page.transient() } else { page })
    })
    .await
}
