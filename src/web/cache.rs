//! Rendered pages kept in memory, keyed by path and query, dropped whenever the data may have changed;
//! conditional GET (`ETag`, `If-None-Match` → 304) on top.
//!
//! The data's "generation" is this process's write counter ([`App::generation`]) plus the store's change
//! marker (papers' and venue papers' change sequences) read at most every [`SEQ_TTL`], so writes by another
//! process (an `import` or a venue `ingest` beside `serve`) are seen too, a little later.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::{WebError, WebState};
use crate::app::App;

const SEQ_TTL: Duration = Duration::from_secs(2);
/// Entries kept before the cache is emptied wholesale (cheap, and pages are quick to render again).
const MAX_ENTRIES: usize = 2_048;

#[derive(Clone)]
pub struct Page {
    pub body: Bytes,
    pub content_type: &'static str,
    pub etag: HeaderValue,
    pub last_modified: HeaderValue,
    /// `Cache-Control` for this page.
    pub cache_control: &'static str,
    /// False for pages about to change by themselves (a related list being computed): never kept.
    pub keep: bool,
}

#[derive(Default)]
struct Inner {
    generation: (u64, i64),
    pages: HashMap<String, Page>,
}

#[derive(Clone, Default)]
pub struct PageCache {
    inner: Arc<RwLock<Inner>>,
    seq: Arc<Mutex<Option<(Instant, i64)>>>,
}

impl PageCache {
    /// The current data generation (see the module docs).
    pub async fn generation(&self, app: &App) -> (u64, i64) {
        let cached = self.seq.lock().ok().and_then(|g| *g).filter(|(at, _)| at.elapsed() < SEQ_TTL);
        let seq = match cached {
            Some((_, s)) => s,
            None => {
                let s = app.store.change_marker().await.unwrap_or(0);
                if let Ok(mut g) = self.seq.lock() {
                    *g = Some((Instant::now(), s));
                }
                s
            }
        };
        (app.generation(), seq)
    }

    pub fn get(&self, key: &str, generation: (u64, i64)) -> Option<Page> {
        let inner = self.inner.read().ok()?;
        if inner.generation != generation {
            return None;
        }
        inner.pages.get(key).cloned()
    }

    pub fn put(&self, key: String, generation: (u64, i64), page: Page) {
        if !page.keep {
            return;
        }
        let Ok(mut inner) = self.inner.write() else { return };
        if inner.generation != generation || inner.pages.len() >= MAX_ENTRIES {
            inner.pages.clear();
            inner.generation = generation;
        }
        inner.pages.insert(key, page);
    }
}

impl Page {
    pub fn new(body: impl Into<Bytes>, content_type: &'static str, cache_control: &'static str) -> Self {
        let body = body.into();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        body.hash(&mut h);
        let etag =
            HeaderValue::from_str(&format!("\"{:016x}\"", h.finish())).unwrap_or(HeaderValue::from_static("\"0\""));
        let last_modified = HeaderValue::from_str(&httpdate::fmt_http_date(std::time::SystemTime::now()))
            .unwrap_or(HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"));
        Page { body, content_type, etag, last_modified, cache_control, keep: true }
    }

    /// Marks the page as not to be kept in the cache (and not cached by browsers).
    pub fn transient(mut self) -> Self {
        self.keep = false;
        self.cache_control = "no-cache";
        self
    }

    /// The page, or 304 when the request already holds it.
    pub fn respond(&self, request: &HeaderMap) -> Response {
        let fresh = request
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == "*" || t.trim().trim_start_matches("W/") == self.etag));
        let mut res = if fresh {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            let mut r = self.body.clone().into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(self.content_type));
            r
        };
        let h = res.headers_mut();
        h.insert(header::ETAG, self.etag.clone());
        h.insert(header::LAST_MODIFIED, self.last_modified.clone());
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(self.cache_control));
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        res
    }
}

/// The cached page for `key`, when the cache holds one for the current data (for handlers that must do
/// uncached work, such as a lookup, only on a miss; [`cached`] checks it itself).
pub(super) async fn cache_hit(state: &WebState, key: &str, headers: &HeaderMap) -> Option<Response> {
    let generation = state.cache.generation(&state.app).await;
    state.cache.get(key, generation).map(|page| page.respond(headers))
}

/// Answers from the page cache, rendering (and caching) on a miss. Errors are never cached.
pub(super) async fn cached<F>(
    state: &WebState,
    key: String,
    headers: &HeaderMap,
    render: F,
) -> Result<Response, WebError>
where
    F: Future<Output = Result<Page, WebError>>,
{
    if let Some(res) = cache_hit(state, &key, headers).await {
        return Ok(res);
    }
    let generation = state.cache.generation(&state.app).await;
    let page = render.await?;
    let res = page.respond(headers);
    state.cache.put(key, generation, page);
    Ok(res)
}
