//! `/arxiv/{*rest}`: category listings, paper pages, site search and their feeds share one segment (and
//! old-style ids contain a slash), so one wildcard route reads the rest and picks the handler; likewise
//! `/api/papers/{*id}` with its `/related` and `/summary` suffixes.
//!
//! To add an action on papers (`/arxiv/{id}/related`, `/arxiv/{id}/summary`), add a suffix to
//! [`Action`] and a match arm in [`arxiv`].

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::{WebError, WebState, feeds, listing, paper, search, summary};
use crate::app::App;
use crate::domain::{ArxivId, CategoryFilter, FilterError};

/// What `/arxiv/...` names, read from its last segment.
#[derive(Debug, PartialEq)]
pub enum Target {
    Search,
    Listing(CategoryFilter),
    Papers(Vec<ArxivId>),
}

/// What is asked of the target: the page itself or one of its suffixes.
#[derive(Debug, PartialEq, Clone, Copy)]
pub enum Action {
    Page,
    Feed,
    /// `/arxiv/{id}/summary`: the LLM summary page (src/web/summary.rs).
    Summary,
    /// `/arxiv/{id}/related`: the related papers page (src/web/related.rs).
    Related,
}

/// Most ids one paper page shows.
const MAX_IDS: usize = 20;

/// Splits off a known suffix (`/feed`), then reads the rest as `search`, a category expression or ids.
pub fn parse(rest: &str) -> Result<(Target, Action), WebError> {
    let rest = rest.trim_matches('/');
    let (body, action) = match rest.rsplit_once('/') {
        Some((body, "feed")) => (body, Action::Feed),
        Some((body, "summary")) => (body, Action::Summary),
        Some((body, "related")) => (body, Action::Related),
        _ => (rest, Action::Page),
    };
    if body == "search" {
        return Ok((Target::Search, action));
    }
    if looks_like_ids(body) {
        if action == Action::Feed {
            return Err(WebError::not_found("Papers have no feed; feeds are per category or search."));
        }
        let ids = body
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| ArxivId::parse(s).map_err(|e| unknown_suffix(s).unwrap_or(WebError::bad_request(e.to_string()))))
            .collect::<Result<Vec<_>, _>>()?;
        if ids.is_empty() || ids.len() > MAX_IDS {
            return Err(WebError::bad_request(format!("Name between 1 and {MAX_IDS} arXiv ids, separated by commas.")));
        }
        if action == Action::Summary && ids.len() != 1 {
            return Err(WebError::bad_request("A summary is of one paper: /arxiv/2401.01234/summary."));
        }
        if action == Action::Related && ids.len() != 1 {
            return Err(WebError::bad_request("Related papers are of one paper: /arxiv/2401.01234/related."));
        }
        return Ok((Target::Papers(ids), action));
    }
    if action == Action::Summary || action == Action::Related {
        return Err(WebError::not_found("Summaries and related papers are of papers: /arxiv/2401.01234/related."));
    }
    Ok((Target::Listing(parse_categories(body)?), action))
}

/// `2401.01234/whatever`: a valid id followed by a suffix this site does not have is "not found", not a bad id.
fn unknown_suffix(s: &str) -> Option<WebError> {
    let (id, suffix) = s.rsplit_once('/')?;
    ArxivId::parse(id).ok()?;
    Some(WebError::not_found(format!(
        "There is no “{suffix}” page of a paper; try /arxiv/{id}, /arxiv/{id}/related or /arxiv/{id}/summary."
    )))
}

/// Ids start with a digit (`2401.01234`) or hold a slash (`hep-th/9901001`); category codes do neither.
fn looks_like_ids(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_digit())
        || s.contains('/')
        || s.split(',').any(|p| p.trim().starts_with(|c: char| c.is_ascii_digit()))
}

/// A category expression, or the bad request that says what is wrong with it (pages and `/api/arxiv/`).
pub(super) fn parse_categories(expr: &str) -> Result<CategoryFilter, WebError> {
    expr.parse().map_err(|e: FilterError| WebError::bad_request(e.to_string()))
}

pub(super) async fn arxiv(
    State(state): State<WebState>,
    Path(rest): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    req: Request,
) -> Result<Response, WebError> {
    let (parts, _) = req.into_parts();
    let headers: HeaderMap = parts.headers;
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let Query(params) = query.map_err(|_| WebError::bad_request("The query string could not be read."))?;
    match parse(&rest)? {
        (Target::Search, Action::Page) => Ok(search::page(&state, &params, &headers, peer).await),
        (Target::Search, Action::Feed) => feeds::search_feed(&state, &params, &headers).await,
        (Target::Listing(f), Action::Page) => listing::page(&state, f, &params, &headers, peer).await,
        (Target::Listing(f), Action::Feed) => feeds::listing_feed(&state, f, &headers).await,
        (Target::Papers(ids), Action::Page) => paper::page(&state, ids, &headers, peer).await,
        (Target::Papers(ids), Action::Summary) => {
            let lang = super::summary::parse_lang(params.get("lang").map(String::as_str))?;
            Ok(super::summary::summary_page(&state.app, ids[0].as_str(), lang).await)
        }
        (Target::Papers(ids), Action::Related) => super::related::page(&state, &ids[0], &headers, peer).await,
        (Target::Papers(_), Action::Feed) | (_, Action::Summary | Action::Related) => {
            Err(WebError::not_found("There is nothing here."))
        }
    }
}

/// `GET /api/papers/{*id}`: a paper's JSON, with a trailing `/related` its related papers, with `/summary` its
/// summary stream (old-style ids contain a slash, so the suffix is matched here rather than by the router).
pub(super) async fn api_papers_get(
    State(app): State<App>,
    Path(raw): Path<String>,
    Query(params): Query<summary::SummaryParams>,
    req: Request,
) -> Response {
    if let Some(id) = raw.strip_suffix("/related") {
        let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        return super::related::api(&app, id, peer).await;
    }
    match raw.strip_suffix("/summary") {
        Some(id) => {
            let regenerate = params.regenerate.as_deref().is_some_and(|v| !matches!(v, "" | "0" | "false"));
            summary::summary_stream(&app, id, &params, &summary::Caller::of(req), regenerate).await
        }
        None => super::api::paper(State(app), Path(raw)).await.into_response(),
    }
}

/// `POST /api/papers/{*id}/summary/regenerate`.
pub(super) async fn api_papers_post(
    State(app): State<App>,
    Path(raw): Path<String>,
    Query(params): Query<summary::SummaryParams>,
    req: Request,
) -> Response {
    match raw.strip_suffix("/summary/regenerate") {
        Some(id) => summary::summary_stream(&app, id, &params, &summary::Caller::of(req), true).await,
        None => WebError::NotFound("There is nothing to POST at this address.".into()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_mistakes_are_bad_requests_that_say_how() {
        assert_eq!(parse_categories("cs.AI-cs.CY").unwrap().to_string(), "cs.AI-cs.CY");
        let e = parse_categories("cs.AI,<script>").unwrap_err();
        assert_eq!(e.status(), axum::http::StatusCode::BAD_REQUEST);
        let e = parse_categories("-cs.CY").unwrap_err();
        assert_eq!(e.status(), axum::http::StatusCode::BAD_REQUEST);
    }

    #[test]
    fn dispatches_on_the_last_segment() {
        assert_eq!(parse("search").unwrap(), (Target::Search, Action::Page));
        assert_eq!(parse("search/feed").unwrap(), (Target::Search, Action::Feed));
        assert!(matches!(parse("cs.CL/feed").unwrap(), (Target::Listing(_), Action::Feed)));
        assert!(matches!(parse("hep-th/9901001").unwrap(), (Target::Papers(v), Action::Page) if v.len() == 1));
        assert!(matches!(parse("2401.01234,2401.01235v2").unwrap(), (Target::Papers(v), _) if v.len() == 2));
        assert_eq!(parse("2401.0").unwrap_err().status(), axum::http::StatusCode::BAD_REQUEST);
        assert!(
            matches!(parse("hep-th/9901001/summary").unwrap(), (Target::Papers(v), Action::Summary) if v.len() == 1)
        );
        assert!(parse("cs.CL/summary").is_err());
        assert!(matches!(parse("2401.01234/related").unwrap(), (Target::Papers(v), Action::Related) if v.len() == 1));
        assert_eq!(parse("2401.01234/nothing").unwrap_err().status(), axum::http::StatusCode::NOT_FOUND);
        assert_eq!(parse("2401.01234,2401.01235/related").unwrap_err().status(), axum::http::StatusCode::BAD_REQUEST);
    }
}
