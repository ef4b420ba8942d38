//! RSS 2.0 feeds of listings and searches, written to the W3C validator's rules: absolute links, RFC 822
//! dates, a stable `guid` per paper, an `atom:link rel="self"`, escaped text.

use std::collections::HashMap;

use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{NaiveDate, TimeZone, Utc};

use super::cache::{Page, cached};
use super::search::{Form, run};
use super::views::percent_encode;
use super::{WebError, WebState, listing};
use crate::search::Sort;
use crate::store::{CategoryFilter, StoredPaper};

/// Most items in one feed.
const MAX_ITEMS: usize = 200;
const SEARCH_ITEMS: usize = 50;
const CONTENT_TYPE: &str = "application/rss+xml; charset=utf-8";

pub(super) fn rfc822(d: NaiveDate) -> String {
    // arXiv announces at 20:00 US Eastern, i.e. 00:00 UTC of the listed day.
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()).to_rfc2822()
}

/// An RSS 2.0 channel (templates/feed.xml; askama escapes every value for XML).
#[derive(askama::Template)]
#[template(path = "feed.xml")]
pub(super) struct Channel {
    title: String,
    link: String,
    self_url: String,
    description: String,
    /// RFC 822.
    date: Option<String>,
    items: Vec<Item>,
}

pub(super) struct Item {
    pub title: String,
    pub link: String,
    pub description: String,
    /// Stable whatever this server's address: `oai:arXiv.org:{id}` for arXiv papers, the key for venue papers.
    pub guid: String,
    pub date: Option<String>,
    pub categories: Vec<String>,
    pub creator: String,
}

impl Channel {
    /// The channel's values, with the control characters XML 1.0 forbids dropped from upstream text.
    pub(super) fn new(
        title: String,
        link: String,
        self_url: String,
        description: String,
        date: Option<NaiveDate>,
    ) -> Self {
        Channel {
            title: xml_chars(&title),
            link,
            self_url,
            description: xml_chars(&description),
            date: date.map(rfc822),
            items: Vec::new(),
        }
    }

    fn push(&mut self, base: &str, p: &StoredPaper, day: Option<NaiveDate>, kind: &str) {
        let description =
            if kind.is_empty() { p.abstract_text.clone() } else { format!("[{kind}] {}", p.abstract_text) };
        self.items.push(Item {
            title: xml_chars(&p.title),
            link: format!("{base}/arxiv/{}", p.id),
            description: xml_chars(&description),
            // The arXiv id is the paper's identity whatever the version or this server's address.
            guid: format!("oai:arXiv.org:{}", p.id),
            date: day.map(rfc822),
            categories: p.categories.iter().map(|c| xml_chars(c.code())).collect(),
            creator: xml_chars(&p.authors.join(", ")),
        });
    }

    pub(super) fn push_item(&mut self, item: Item) {
        self.items.push(item);
    }

    pub(super) fn render_page(&self) -> Result<Page, WebError> {
        let xml = askama::Template::render(self).map_err(super::error::render_error)?;
        Ok(Page::new(xml, CONTENT_TYPE, "public, max-age=600"))
    }
}

/// `s` without the characters XML 1.0 forbids (control characters other than tab, line feed and carriage
/// return), which upstream text may hold; escaping is the template's.
pub(super) fn xml_chars(s: &str) -> String {
    s.chars().filter(|&c| (c as u32) >= 0x20 || matches!(c, '\t' | '\n' | '\r')).collect()
}

pub(super) async fn listing_feed(
    state: &WebState,
    filter: CategoryFilter,
    headers: &HeaderMap,
) -> Result<Response, WebError> {
    let expr = filter.to_string();
    cached(state, format!("feed:{expr}"), headers, async {
        let day = listing::load_day(state, &filter, None).await?;
        let ids: Vec<String> = day.entries.iter().take(MAX_ITEMS).map(|e| e.id.to_string()).collect();
        let papers = state.app.store.get_papers(&ids).await?;
        let kinds: HashMap<&str, &'static str> =
            day.entries.iter().map(|e| (e.id.as_str(), super::views::kind_label(e.kind))).collect();
        let base = state.app.config.public_url();
        let names: Vec<&str> = filter.include.iter().map(|c| c.display_name()).collect();
        let mut ch = Channel::new(
            format!("Papertide: {expr}"),
            format!("{base}/arxiv/{expr}"),
            format!("{base}/arxiv/{expr}/feed"),
            format!("The latest arXiv announcements in {}", names.join(", ")),
            day.date,
        );
        for p in &papers {
            ch.push(&base, p, day.date, kinds.get(p.id.as_str()).copied().unwrap_or(""));
        }
        ch.render_page()
    })
    .await
}

pub(super) async fn search_feed(
    state: &WebState,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<Response, WebError> {
    let form = Form::read(params);
    if form.query.is_empty() {
        return Err(WebError::bad_request("A search feed needs a query: /arxiv/search/feed?query=diffusion"));
    }
    let opts = form.options(SEARCH_ITEMS, 0, Some(Sort::Date))?;
    let key = format!("searchfeed:{}|{}|{}|{}", form.query, form.category, form.from, form.until);
    cached(state, key, headers, async {
        let results = run(&state.app, &form.query, opts).await?;
        let ids: Vec<String> = results.hits.iter().map(|h| h.id.clone()).collect();
        let papers = state.app.store.get_papers(&ids).await?;
        let base = state.app.config.public_url();
        let q = percent_encode(&form.query);
        let mut ch = Channel::new(
            format!("Papertide search: {}", form.query),
            format!("{base}/arxiv/search?query={q}&sort=date"),
            format!("{base}/arxiv/search/feed?query={q}"),
            format!("Newest arXiv papers matching {}", form.query),
            // A paper is dated by its first announcement, else its submission day.
            papers.iter().filter_map(StoredPaper::day).max(),
        );
        for p in &papers {
            ch.push(&base, p, p.day(), "");
        }
        ch.render_page()
    })
    .await
}
