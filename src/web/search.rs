//! The search page: BM25 over title, abstract and authors with filters, sort, paging and highlighted
//! snippets. Every user mistake (empty, too long, bad date) is a message on the page, never a 500.

use std::collections::HashMap;

use askama::Template;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use super::cache::Page;
use super::error::render_error;
use super::foryou::{self, Order, OrderControl};
use super::text::query_terms;
use super::views::{Chrome, PaperView, percent_encode};
use super::{WebError, WebState};
use crate::domain::Category;
use crate::search::{SearchOptions, SearchResults, Sort};

const DEFAULT_SHOW: usize = 25;

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    chrome: Chrome,
    query: String,
    category: String,
    from: String,
    until: String,
    by_date: bool,
    message: Option<String>,
    note: Option<String>,
    searched: bool,
    total: usize,
    shown_from: usize,
    shown_to: usize,
    papers: Vec<PaperView>,
    /// Which papers the search reads: `all` (arXiv, then proceedings not shown as arXiv papers), `arxiv`, `venues`.
    source: &'static str,
    /// Conference papers matching: the results with `source=venues`, else a section after the arXiv results.
    venue_papers: Vec<super::venues::VenuePaperView>,
    venue_total: usize,
    prev_page: Option<String>,
    next_page: Option<String>,
    feed_url: String,
    order: OrderControl,
}

/// "For you" orders this many of the best matches (the rest of a broad search is not worth the reader's time).
const FOR_YOU_POOL: usize = 500;

/// The search form's fields, as typed.
pub struct Form {
    pub query: String,
    pub category: String,
    pub from: String,
    pub until: String,
    pub sort: String,
    /// `all` (the default), `arxiv` or `venues`.
    pub source: String,
    pub skip: usize,
    pub show: usize,
}

/// Which papers a search reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFilter {
    /// arXiv papers, then (first page) the conference papers not already shown as their arXiv version.
    All,
    Arxiv,
    Venues,
}

impl SourceFilter {
    fn as_str(self) -> &'static str {
        match self {
            SourceFilter::All => "all",
            SourceFilter::Arxiv => "arxiv",
            SourceFilter::Venues => "venues",
        }
    }
}

/// Conference papers shown after the arXiv results (first page of `source=all`).
const VENUE_SECTION: usize = 10;

impl Form {
    pub fn read(params: &HashMap<String, String>) -> Self {
        let get = |k: &str| params.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
        let query = params.get("query").or_else(|| params.get("q")).map(|s| s.trim().to_string()).unwrap_or_default();
        Form {
            query,
            category: get("category"),
            from: get("from"),
            until: get("until"),
            sort: get("sort"),
            source: get("source"),
            skip: get("skip").parse().unwrap_or(0).min(10_000),
            show: get("show").parse().unwrap_or(DEFAULT_SHOW).clamp(1, 100),
        }
    }

    /// Search options, or what to fix: the one reading of the search fields, for the page, its feed and the JSON
    /// API alike. `sort` overrides the form's (a feed is always newest first).
    pub fn options(&self, limit: usize, offset: usize, sort: Option<Sort>) -> Result<SearchOptions, WebError> {
        let categories = if self.category.is_empty() {
            Vec::new()
        } else {
            Category::parse_list(&self.category).map_err(|e| WebError::bad_request(e.to_string()))?
        };
        let form_sort = match self.sort.as_str() {
            "" | "relevance" => Sort::Relevance,
            "date" => Sort::Date,
            _ => return Err(WebError::bad_request("sort must be relevance or date.")),
        };
        Ok(SearchOptions {
            limit,
            offset,
            categories,
            from: super::params::day("from", Some(&self.from))?,
            until: super::params::day("until", Some(&self.until))?,
            sort: sort.unwrap_or(form_sort),
        })
    }

    /// The source filter, or what to fix.
    pub fn source(&self) -> Result<SourceFilter, WebError> {
        match self.source.as_str() {
            "" | "all" => Ok(SourceFilter::All),
            "arxiv" => Ok(SourceFilter::Arxiv),
            "venues" => Ok(SourceFilter::Venues),
            _ => Err(WebError::bad_request("source must be all, arxiv or venues.")),
        }
    }

    /// The query string for these fields at another offset.
    fn url(&self, path: &str, skip: usize) -> String {
        let mut u = format!("{path}?query={}", percent_encode(&self.query));
        for (k, v) in [
            ("category", &self.category),
            ("from", &self.from),
            ("until", &self.until),
            ("sort", &self.sort),
            ("source", &self.source),
        ] {
            if !v.is_empty() {
                u.push_str(&format!("&{k}={}", percent_encode(v)));
            }
        }
        if skip > 0 {
            u.push_str(&format!("&skip={skip}"));
        }
        u
    }
}

/// Search is down while its index cannot be written (a full disk: see `App::recover_index`); readers get a
/// plain 503 without the server's paths (the log has them).
fn search_available(app: &crate::app::App) -> Result<(), WebError> {
    match app.search_unavailable() {
        None => Ok(()),
        Some(_) => Err(WebError::Unavailable(
            "Search is unavailable just now: the server's disk is full, so its search index cannot be updated. \
             Listings and papers still work; search comes back by itself when space returns."
                .into(),
        )),
    }
}

/// Runs a search on the blocking pool (tantivy is CPU work): the page, its feed and `/api/search`.
pub async fn run(app: &crate::app::App, query: &str, opts: SearchOptions) -> Result<SearchResults, WebError> {
    search_available(app)?;
    search_in(&app.index, query, opts).await
}

/// [`run`] over the venue papers' index. arXiv category filters do not apply there (venue papers carry their
/// conference instead), so they are dropped here rather than by every caller.
pub async fn run_venues(app: &crate::app::App, query: &str, opts: SearchOptions) -> Result<SearchResults, WebError> {
    search_in(&app.venue_index, query, SearchOptions { categories: Vec::new(), ..opts }).await
}

async fn search_in(
    index: &crate::search::SearchIndex,
    query: &str,
    opts: SearchOptions,
) -> Result<SearchResults, WebError> {
    let (index, query) = (index.clone(), query.to_string());
    tokio::task::spawn_blocking(move || index.search(&query, &opts))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
        .map_err(WebError::from)
}

pub(super) async fn page(
    state: &WebState,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
    client: Option<std::net::IpAddr>,
) -> Response {
    let form = Form::read(params);
    let order = match Order::read(params) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    if order.is_for_you() {
        // Personal: never in the shared page cache, never cached by the browser or a proxy.
        return match render(state, &form, &order, client).await {
            Ok((status, html)) => {
                let mut res = Page::new(html, "text/html; charset=utf-8", "private, no-store").respond(headers);
                *res.status_mut() = status;
                res
            }
            Err(e) => e.into_response(),
        };
    }
    let key = format!("search:{}&show={}", form.url("", form.skip), form.show);
    let generation = state.cache.generation(&state.app).await;
    if let Some(page) = state.cache.get(&key, generation) {
        return page.respond(headers);
    }
    match render(state, &form, &order, client).await {
        Ok((StatusCode::OK, html)) => {
            let page = Page::new(html, "text/html; charset=utf-8", "public, max-age=60");
            let res = page.respond(headers);
            state.cache.put(key, generation, page);
            res
        }
        // A mistake in the form: the page says what to fix, with its status, and is not cached.
        Ok((status, html)) => (status, Html(html)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn render(
    state: &WebState,
    form: &Form,
    order: &Order,
    client: Option<std::net::IpAddr>,
) -> Result<(StatusCode, String), WebError> {
    let hidden: Vec<(String, String)> = [
        ("query", &form.query),
        ("category", &form.category),
        ("from", &form.from),
        ("until", &form.until),
        ("sort", &form.sort),
        ("source", &form.source),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let base = format!("{}&", form.url("/arxiv/search", 0));
    let control = |note| OrderControl::new(order, "Search order", &base, "/arxiv/search", hidden.clone(), note);
    let mut page = SearchPage {
        chrome: Chrome::new(if form.query.is_empty() {
            "Search".to_string()
        } else {
            format!("{} — search", form.query)
        })
        .with_translate(state.app.llm.is_some()),
        query: form.query.clone(),
        category: form.category.clone(),
        from: form.from.clone(),
        until: form.until.clone(),
        by_date: form.sort == "date",
        message: None,
        note: None,
        searched: false,
        total: 0,
        shown_from: 0,
        shown_to: 0,
        papers: Vec::new(),
        source: "all",
        venue_papers: Vec::new(),
        venue_total: 0,
        prev_page: None,
        next_page: None,
        feed_url: form.url("/arxiv/search/feed", 0),
        order: control(None),
    };
    page.chrome.query = form.query.clone();
    let mut status = StatusCode::OK;
    if form.query.is_empty() {
        page.message = Some("Type some words to search titles, abstracts and authors. Try author:\"Geoffrey Hinton\" or \"diffusion model\" -survey.".into());
    } else {
        let (limit, offset) = if order.is_for_you() { (FOR_YOU_POOL, 0) } else { (form.show, form.skip) };
        match form.options(limit, offset, None) {
            Err(e) => {
                status = e.status();
                page.message = Some(e.public_message());
            }
            Ok(opts) if form.source().is_err() || form.source == "venues" => match form.source() {
                Err(e) => {
                    status = e.status();
                    page.message = Some(e.public_message());
                }
                Ok(_) => {
                    page.source = SourceFilter::Venues.as_str();
                    status = venue_results(state, form, opts, &mut page).await?;
                }
            },
            Ok(opts) => match run(&state.app, &form.query, opts.clone()).await {
                Err(WebError::Search(crate::search::SearchError::BadQuery(m))) => {
                    status = StatusCode::BAD_REQUEST;
                    page.message = Some(m);
                }
                Err(e) => return Err(e),
                Ok(results) => {
                    let mut ids: Vec<String> = results.hits.iter().map(|h| h.id.clone()).collect();
                    let mut why = HashMap::new();
                    // How far the pages go: the search's window, or the matches For you ordered.
                    let mut reachable = results.total.min(10_000);
                    if let Order::ForYou(interests) = order {
                        let ranked = foryou::rank(state, ids, interests, client).await?;
                        reachable = ranked.ids.len();
                        let paging = super::listing::Paging { skip: form.skip, show: Some(form.show) };
                        ids = ranked.ids[paging.window(ranked.ids.len())].to_vec();
                        why = ranked.why;
                        let pool = if results.total > FOR_YOU_POOL {
                            format!(" For you orders the best {FOR_YOU_POOL} of the {} matches.", results.total)
                        } else {
                            String::new()
                        };
                        page.order = control(Some(format!("{}{pool}", ranked.note)));
                    }
                    let papers = state.app.store.get_papers(&ids).await?;
                    let terms = query_terms(&form.query);
                    page.searched = true;
                    page.total = results.total;
                    page.note = results.note;
                    page.papers = papers
                        .iter()
                        .map(|p| PaperView::snippet(p, &terms).with_why(why.remove(p.id.as_str())))
                        .collect();
                    super::venues::add_badges(&state.app, &mut page.papers).await;
                    page.shown_from = if papers.is_empty() { 0 } else { form.skip + 1 };
                    page.shown_to = form.skip + papers.len();
                    let oq = order.query();
                    page.prev_page = (form.skip > 0)
                        .then(|| format!("{}{oq}", form.url("/arxiv/search", form.skip.saturating_sub(form.show))));
                    page.next_page = (form.skip + form.show < reachable)
                        .then(|| format!("{}{oq}", form.url("/arxiv/search", form.skip + form.show)));
                    page.chrome =
                        page.chrome.with_feed(format!("Papertide search: {}", form.query), page.feed_url.clone());
                    page.source = form.source().map_or("all", SourceFilter::as_str);
                    // Conference papers after the arXiv ones, on the first page: those whose arXiv version is not
                    // shown here (one work, shown once). Category filters are arXiv's: they leave this out.
                    if page.source == "all" && form.skip == 0 && form.category.is_empty() {
                        let venue_opts = SearchOptions { limit: VENUE_SECTION * 2, offset: 0, ..opts };
                        if let Ok(found) = run_venues(&state.app, &form.query, venue_opts).await {
                            let keys: Vec<String> = found.hits.iter().map(|h| h.id.clone()).collect();
                            let shown: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
                            let venue = state.app.store.venue_papers(&keys).await?;
                            page.venue_papers = venue
                                .iter()
                                .filter(|v| v.arxiv_id.as_ref().is_none_or(|id| !shown.contains(id.as_str())))
                                .take(VENUE_SECTION)
                                .map(super::venues::VenuePaperView::new)
                                .collect();
                            page.venue_total = found.total;
                        }
                    }
                }
            },
        }
    }
    Ok((status, page.render().map_err(render_error)?))
}

/// `source=venues`: the conference papers matching, paged like arXiv results.
async fn venue_results(
    state: &WebState,
    form: &Form,
    opts: SearchOptions,
    page: &mut SearchPage,
) -> Result<StatusCode, WebError> {
    let results = match run_venues(&state.app, &form.query, opts).await {
        Err(WebError::Search(crate::search::SearchError::BadQuery(m))) => {
            page.message = Some(m);
            return Ok(StatusCode::BAD_REQUEST);
        }
        other => other?,
    };
    let keys: Vec<String> = results.hits.iter().map(|h| h.id.clone()).collect();
    let papers = state.app.store.venue_papers(&keys).await?;
    page.searched = true;
    page.total = results.total;
    page.venue_total = results.total;
    page.note = results.note;
    page.shown_from = if papers.is_empty() { 0 } else { form.skip + 1 };
    page.shown_to = form.skip + papers.len();
    page.venue_papers = papers.iter().map(super::venues::VenuePaperView::new).collect();
    let reachable = results.total.min(10_000);
    page.prev_page = (form.skip > 0).then(|| form.url("/arxiv/search", form.skip.saturating_sub(form.show)));
    page.next_page = (form.skip + form.show < reachable).then(|| form.url("/arxiv/search", form.skip + form.show));
    Ok(StatusCode::OK)
}
