//! JSON API handlers: thin, the queries live in `store` and `search`.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::WebError;
use crate::app::App;
use crate::domain::{ArxivId, Category};
use crate::search::{SearchOptions, Sort};

pub(super) async fn healthz(State(app): State<App>) -> Result<Json<Value>, WebError> {
    Ok(Json(json!({
        "status": "ok",
        "papers": app.store.paper_count().await?,
        "indexed_docs": app.index.num_docs(),
    })))
}

pub(super) async fn paper(State(app): State<App>, Path(raw): Path<String>) -> Result<Json<Value>, WebError> {
    let id = ArxivId::parse(&raw).map_err(|e| WebError::BadRequest(e.to_string()))?;
    match app.store.get_paper(&id).await? {
        Some(p) => Ok(Json(serde_json::to_value(p).map_err(|e| WebError::Internal(e.to_string()))?)),
        None => Err(WebError::NotFound(format!("paper {id} is not in this Papertide's store"))),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct SearchParams {
    #[serde(default, alias = "q")]
    query: String,
    limit: Option<usize>,
    offset: Option<usize>,
    /// Space or comma separated categories.
    category: Option<String>,
    from: Option<String>,
    until: Option<String>,
    sort: Option<Sort>,
}

fn parse_day(name: &str, v: Option<&str>) -> Result<Option<chrono::NaiveDate>, WebError> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| WebError::BadRequest(format!("{name} must be a date like 2025-03-18"))),
    }
}

pub(super) async fn search(State(app): State<App>, Query(p): Query<SearchParams>) -> Result<Json<Value>, WebError> {
    let categories = match p.category.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => crate::config::parse_categories(s).map_err(WebError::BadRequest)?,
        None => Vec::<Category>::new(),
    };
    let opts = SearchOptions {
        limit: p.limit.unwrap_or(20).clamp(1, 100),
        offset: p.offset.unwrap_or(0),
        categories,
        from: parse_day("from", p.from.as_deref())?,
        until: parse_day("until", p.until.as_deref())?,
        sort: p.sort.unwrap_or_default(),
    };
    let index = app.index.clone();
    let query = p.query;
    // Searching is CPU work: keep it off the async workers.
    let results = tokio::task::spawn_blocking(move || index.search(&query, &opts))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))??;
    Ok(Json(json!({
        "total": results.total,
        "note": results.note,
        "results": results.hits,
    })))
}

pub(super) async fn not_found() -> WebError {
    WebError::NotFound("There is nothing at this address.".into())
}
