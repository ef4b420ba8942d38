//! RSS 2.0 feeds of listings and searches, written to the W3C validator's rules: absolute links, RFC 822
//! dates, a stable `guid` per paper, an `atom:link rel="self"`, escaped text.

use std::collections::HashMap;

use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{NaiveDate, TimeZone, Utc};

use super::cache::Page;
use super::dispatch::expr_of;
use super::pages::{cached, xml_escape};
use super::search::{Form, run};
use super::views::percent_encode;
use super::{PageError, WebState, listing};
use crate::search::Sort;
use crate::store::{CategoryFilter, StoredPaper};

/// Most items in one feed.
const MAX_ITEMS: usize = 200;
const SEARCH_ITEMS: usize = 50;
const CONTENT_TYPE: &str = "application/rss+xml; charset=utf-8";

fn rfc822(d: NaiveDate) -> String {
    // arXiv announces at 20:00 US Eastern, i.e. 00:00 UTC of the listed day.
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()).to_rfc2822()
}

/// The day a paper is dated by in feeds: its first announcement, else its submission day.
fn paper_day(p: &StoredPaper) -> Option<NaiveDate> {
    p.first_announced.or_else(|| p.submitted.as_deref().and_then(|s| s.get(..10)).and_then(|s| s.parse().ok()))
}

struct Channel<'a> {
    title: String,
    link: String,
    self_url: String,
    description: String,
    date: Option<NaiveDate>,
    items: Vec<(&'a StoredPaper, Option<NaiveDate>, &'static str)>,
}

fn write_rss(base: &str, ch: &Channel) -> String {
    let mut x = String::with_capacity(4096 + ch.items.len() * 1500);
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n<channel>\n");
    x.push_str(&format!("<title>{}</title>\n", xml_escape(&ch.title)));
    x.push_str(&format!("<link>{}</link>\n", xml_escape(&ch.link)));
    x.push_str(&format!("<description>{}</description>\n", xml_escape(&ch.description)));
    x.push_str(&format!(
        "<atom:link href=\"{}\" rel=\"self\" type=\"application/rss+xml\"/>\n",
        xml_escape(&ch.self_url)
    ));
    x.push_str("<language>en-us</language>\n<docs>https://www.rssboard.org/rss-specification</docs>\n<generator>Papertide</generator>\n");
    if let Some(d) = ch.date {
        x.push_str(&format!("<pubDate>{}</pubDate>\n<lastBuildDate>{}</lastBuildDate>\n", rfc822(d), rfc822(d)));
    }
    for (p, day, kind) in &ch.items {
        let link = format!("{base}/arxiv/{}", p.id);
        x.push_str("<item>\n");
        x.push_str(&format!("<title>{}</title>\n", xml_escape(&p.title)));
        x.push_str(&format!("<link>{}</link>\n", xml_escape(&link)));
        let mut desc = String::new();
        if !kind.is_empty() {
            desc.push_str(&format!("[{kind}] "));
        }
        desc.push_str(&p.abstract_text);
        x.push_str(&format!("<description>{}</description>\n", xml_escape(&desc)));
        // The arXiv id is the paper's identity whatever the version or this server's address.
        x.push_str(&format!("<guid isPermaLink=\"false\">oai:arXiv.org:{}</guid>\n", xml_escape(&p.id)));
        if let Some(d) = day {
            x.push_str(&format!("<pubDate>{}</pubDate>\n", rfc822(*d)));
        }
        for c in &p.categories {
            x.push_str(&format!("<category>{}</category>\n", xml_escape(c)));
        }
        if !p.authors.is_empty() {
            x.push_str(&format!("<dc:creator>{}</dc:creator>\n", xml_escape(&p.authors.join(", "))));
        }
        x.push_str("</item>\n");
    }
    x.push_str("</channel>\n</rss>\n");
    x
}

pub(super) async fn listing_feed(
    state: &WebState,
    filter: CategoryFilter,
    headers: &HeaderMap,
) -> Result<Response, PageError> {
    let expr = expr_of(&filter);
    cached(state, format!("feed:{expr}"), headers, async {
        let day = listing::load_day(state, &filter, None).await?;
        let ids: Vec<String> = day.entries.iter().take(MAX_ITEMS).map(|e| e.id.clone()).collect();
        let papers = state.app.store.get_papers(&ids).await?;
        let kinds: HashMap<&str, &'static str> =
            day.entries.iter().map(|e| (e.id.as_str(), super::views::kind_label(e.kind))).collect();
        let base = state.app.config.public_url();
        let names: Vec<&str> = filter.include.iter().map(|c| c.display_name()).collect();
        let ch = Channel {
            title: format!("Papertide: {expr}"),
            link: format!("{base}/arxiv/{expr}"),
            self_url: format!("{base}/arxiv/{expr}/feed"),
            description: format!("The latest arXiv announcements in {}", names.join(", ")),
            date: day.date,
            items: papers.iter().map(|p| (p, day.date, kinds.get(p.id.as_str()).copied().unwrap_or(""))).collect(),
        };
        Ok(Page::new(write_rss(&base, &ch), CONTENT_TYPE, "public, max-age=600"))
    })
    .await
}

pub(super) async fn search_feed(
    state: &WebState,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<Response, PageError> {
    let form = Form::read(params);
    if form.query.is_empty() {
        return Err(PageError::bad_request("A search feed needs a query: /arxiv/search/feed?query=diffusion"));
    }
    let opts = form.options(SEARCH_ITEMS, 0, Some(Sort::Date)).map_err(PageError::bad_request)?;
    let key = format!("searchfeed:{}|{}|{}|{}", form.query, form.category, form.from, form.until);
    cached(state, key, headers, async {
        let results = run(state, &form.query, opts).await?;
        let ids: Vec<String> = results.hits.iter().map(|h| h.id.clone()).collect();
        let papers = state.app.store.get_papers(&ids).await?;
        let base = state.app.config.public_url();
        let q = percent_encode(&form.query);
        let ch = Channel {
            title: format!("Papertide search: {}", form.query),
            link: format!("{base}/arxiv/search?query={q}&sort=date"),
            self_url: format!("{base}/arxiv/search/feed?query={q}"),
            description: format!("Newest arXiv papers matching {}", form.query),
            date: papers.iter().filter_map(paper_day).max(),
            items: papers.iter().map(|p| (p, paper_day(p), "")).collect(),
        };
        Ok(Page::new(write_rss(&base, &ch), CONTENT_TYPE, "public, max-age=600"))
    })
    .await
}
