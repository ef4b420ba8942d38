//! On-demand lookups through the arXiv API (`id_list`): papers not yet in the store.

use super::{IngestError, RunSummary};
use crate::app::App;
use crate::arxiv::api::{self, ApiQuery};
use crate::domain::ArxivId;

/// Looks `ids` up (in pages of the configured size) and stores what arXiv returns. Returns the ids arXiv
/// answered, in a complete feed, as not existing: only those are known misses (an id in a page that failed
/// or broke off is unknown, not absent).
pub async fn lookup(app: &App, ids: &[ArxivId], summary: &mut RunSummary) -> Result<Vec<ArxivId>, IngestError> {
    let mut absent = Vec::new();
    let page_size = app.config.arxiv.api_page_size.clamp(1, 2_000) as usize;
    for chunk in ids.chunks(page_size) {
        let query = ApiQuery { id_list: chunk.to_vec(), search_query: None, start: 0, max_results: chunk.len() as u64 };
        let url = api::query_url(&app.config.arxiv.api_url, &query);
        summary.requests += 1;
        let body = match app.http.get_document(&url, None, api::DOCUMENT).await {
            Ok(f) => f.body,
            Err(crate::net::http::FetchError::Status { status: 400, body, url }) => {
                // arXiv explains a 400 in an Atom error feed: report its message.
                match api::parse_feed(&body) {
                    Err(e) => summary.error(format!("arXiv API {url}: {e}")),
                    Ok(_) => summary.error(format!("arXiv API {url}: HTTP 400")),
                }
                continue;
            }
            Err(e) => {
                summary.error(format!("arXiv API {url}: {e}"));
                continue;
            }
        };
        // Only a complete feed may say an id is unknown: after a broken one the missing ids are unknown,
        // not absent, and the error is the one message.
        let (page, complete) = match api::parse_feed(&body) {
            Ok(p) => (p, true),
            Err(api::ApiError::Malformed { cause, partial }) => {
                summary.error(format!("arXiv API {url}: unreadable after {} records: {cause}", partial.records.len()));
                (*partial, false)
            }
            Err(e) => {
                summary.error(format!("arXiv API {url}: {e}"));
                continue;
            }
        };
        summary.fetched += page.records.len() as u64;
        let missing: Vec<&ArxivId> =
            chunk.iter().filter(|id| page.records.iter().all(|r| r.id.as_str() != id.as_str())).collect();
        if complete && !missing.is_empty() {
            let shown: Vec<String> = missing.iter().map(|id| id.to_string()).collect();
            summary.notes.push(format!("not found at arXiv: {}", shown.join(", ")));
            absent.extend(missing.into_iter().cloned());
        }
        for s in page.skipped {
            summary.skip(s);
        }
        let outcome = app.store_batch(&page.records, &[], None).await?;
        summary.add_outcome(&outcome);
        app.commit_index().await?;
    }
    Ok(absent)
}
