//! The front page, the starred page and OpenSearch.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::NaiveDate;

use super::cache::{Page, cached};
use super::error::render_error;
use super::views::Chrome;
use super::{WebError, WebState, listing};
use crate::store::CategoryFilter;

struct Card {
    code: String,
    name: String,
    date: Option<NaiveDate>,
    new: usize,
    cross: usize,
    replace: usize,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    cards: Vec<Card>,
    all_url: Option<String>,
}

pub(super) async fn home(State(state): State<WebState>, headers: HeaderMap) -> Result<Response, WebError> {
    cached(&state, "home".into(), &headers, async {
        let mut cards = Vec::new();
        for cat in &state.app.config.categories {
            let filter = CategoryFilter { include: vec![cat.clone()], exclude: vec![] };
            let day = listing::load_day(&state, &filter, None).await?;
            let [new, cross, replace] = day.section_totals;
            cards.push(Card {
                code: cat.code().to_string(),
                name: cat.display_name().to_string(),
                date: day.date,
                new,
                cross,
                replace,
            });
        }
        let codes: Vec<&str> = state.app.config.categories.iter().map(|c| c.code()).collect();
        let all_url = (codes.len() > 1).then(|| format!("/arxiv/{}", codes.join(",")));
        let mut chrome = Chrome::new("Today");
        if let Some(u) = &all_url {
            chrome = chrome.with_feed("Papertide: followed categories", format!("{u}/feed"));
        }
        let html = HomePage { chrome, cards, all_url }.render().map_err(render_error)?;
        Ok(Page::new(html, "text/html; charset=utf-8", "public, max-age=60"))
    })
    .await
}

#[derive(Template)]
#[template(path = "starred.html")]
struct StarredPage {
    chrome: Chrome,
}

pub(super) async fn starred(State(state): State<WebState>, headers: HeaderMap) -> Result<Response, WebError> {
    cached(&state, "starred".into(), &headers, async {
        let html = StarredPage { chrome: Chrome::new("Starred") }.render().map_err(render_error)?;
        Ok(Page::new(html, "text/html; charset=utf-8", "public, max-age=300"))
    })
    .await
}

/// The OpenSearch description (templates/opensearch.xml), so browsers can add the site search.
#[derive(Template)]
#[template(path = "opensearch.xml")]
struct OpenSearch {
    base: String,
}

pub(super) async fn opensearch(State(state): State<WebState>, headers: HeaderMap) -> Result<Response, WebError> {
    cached(&state, "opensearch".into(), &headers, async {
        let body = OpenSearch { base: state.app.config.public_url() }.render().map_err(render_error)?;
        Ok(Page::new(body, "application/opensearchdescription+xml; charset=utf-8", "public, max-age=3600"))
    })
    .await
}
