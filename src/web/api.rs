//! JSON API handlers: thin, the queries live in `store` and `search`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde_json::{Value, json};

use super::WebError;
use crate::app::App;
use crate::domain::ArxivId;

pub(super) async fn healthz(State(app): State<App>) -> Result<Json<Value>, WebError> {
    Ok(Json(json!({
        "status": "ok",
        "papers": app.store.paper_count().await?,
        "indexed_docs": app.index.num_docs(),
        "search": if app.search_unavailable().is_some() { "unavailable" } else { "ok" },
    })))
}

pub(super) async fn paper(State(app): State<App>, Path(raw): Path<String>) -> Result<Json<Value>, WebError> {
    let id = ArxivId::parse(&raw).map_err(|e| WebError::BadRequest(e.to_string()))?;
    match app.store.get_paper(&id).await? {
        Some(p) => Ok(Json(serde_json::to_value(p).map_err(|e| WebError::Internal(e.to_string()))?)),
        None => Err(WebError::NotFound(format!("paper {id} is not in this Papertide's store"))),
    }
}

/// What the search parameters are, for the message a malformed query string gets.
const SEARCH_PARAMS_HELP: &str = "Parameters: q (the query), limit (1-100), offset (a number), category \
    (e.g. cs.CL,cs.IR), from and until (YYYY-MM-DD), sort (relevance or date), source (all, arxiv or venues: \
    conference papers are in venue_results, or in results with source=venues).";

/// `/api/search`: the search page's fields (read by [`super::search::Form`], as the page and its feed read
/// them) with `limit` and `offset` for paging.
pub(super) async fn search(
    State(app): State<App>,
    params: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, WebError> {
    let Query(params) = params.map_err(|e| {
        let detail = e.body_text();
        let detail = detail.trim_start_matches("Failed to deserialize query string: ");
        WebError::BadRequest(format!("The query string could not be read ({detail}). {SEARCH_PARAMS_HELP}"))
    })?;
    let form = super::search::Form::read(&params);
    let number = |name: &str, default: usize| {
        super::params::whole(name, params.get(name).map(String::as_str))
            .map(|n| n.unwrap_or(default))
            .map_err(|e| WebError::bad_request(format!("{} {SEARCH_PARAMS_HELP}", e.public_message())))
    };
    let (limit, offset) = (number("limit", 20)?.clamp(1, 100), number("offset", 0)?);
    let opts = form.options(limit, offset, None)?;
    let source =
        form.source().map_err(|e| WebError::bad_request(format!("{} {SEARCH_PARAMS_HELP}", e.public_message())))?;
    if source == super::search::SourceFilter::Venues {
        let results = super::search::run_venues(&app, &form.query, opts).await?;
        return Ok(Json(
            json!({ "source": "venues", "total": results.total, "note": results.note, "results": results.hits }),
        ));
    }
    let results = super::search::run(&app, &form.query, opts.clone()).await?;
    if source == super::search::SourceFilter::Arxiv || !form.category.is_empty() {
        return Ok(Json(
            json!({ "source": "arxiv", "total": results.total, "note": results.note, "results": results.hits }),
        ));
    }
    let venues = super::search::run_venues(&app, &form.query, opts).await?;
    Ok(Json(json!({
        "source": "all",
        "total": results.total,
        "note": results.note,
        "results": results.hits,
        "venue_total": venues.total,
        "venue_results": venues.hits,
    })))
}

/// `/api/arxiv/{cats}?date=&skip=&show=`: the listing page's data. Errors answer as JSON.
pub(super) async fn listing(
    State(state): State<super::WebState>,
    Path(cats): Path<String>,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, WebError> {
    let Query(params) = query.map_err(|_| WebError::BadRequest("The query string could not be read.".into()))?;
    let filter = super::dispatch::parse_categories(&cats)?;
    let date = super::listing::parse_date(&params)?;
    let paging = super::listing::parse_paging(&params)?;
    let day = super::listing::load_day(&state, &filter, date).await?;
    let window = paging.window(day.entries.len());
    let start = window.start;
    let slice = &day.entries[window];
    let ids: Vec<String> = slice.iter().map(|e| e.id.to_string()).collect();
    let papers = state.app.store.get_papers(&ids).await?;
    let kinds: std::collections::HashMap<&str, &str> = slice.iter().map(|e| (e.id.as_str(), e.kind.as_str())).collect();
    let papers: Vec<Value> = papers
        .into_iter()
        .map(|p| {
            let kind = kinds.get(p.id.as_str()).copied().unwrap_or("new");
            let mut v = serde_json::to_value(p).unwrap_or(Value::Null);
            if let Some(o) = v.as_object_mut() {
                o.insert("announce_type".into(), json!(kind));
            }
            v
        })
        .collect();
    let [new, cross, replace] = day.section_totals;
    Ok(Json(json!({
        "categories": filter.include.iter().map(|c| c.code()).collect::<Vec<_>>(),
        "exclude": filter.exclude.iter().map(|c| c.code()).collect::<Vec<_>>(),
        "date": day.date,
        "previous": day.prev,
        "next": day.next,
        "days": day.days,
        "total": day.entries.len(),
        "counts": { "new": new, "cross": cross, "replace": replace },
        "skip": start,
        "papers": papers,
    })))
}
