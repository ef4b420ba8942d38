//! Daily feeds (`{rss_url}/rss/{cat}+{cat}`): the source of announcements.

use chrono::{NaiveDate, Utc};

use super::RunSummary;
use crate::app::App;
use crate::arxiv::rss::{self, FeedItem, RssError};
use crate::domain::{AnnounceKind, Announcement, Category};
use crate::net::http::Validators;

pub fn feed_url(base: &str, categories: &[Category]) -> String {
    let cats: Vec<&str> = categories.iter().map(Category::code).collect();
    format!("{}/rss/{}", base.trim_end_matches('/'), cats.join("+"))
}

/// How `item` was announced in `category`, if it was listed there at all. Works for combined feeds, whose
/// `announce_type` describes the paper, not the category: a `new` paper is `new` in its primary category
/// and `cross` in the others requested.
fn kind_in(item: &FeedItem, category: &Category) -> Option<AnnounceKind> {
    let cats = &item.record.categories;
    if !cats.contains(category) {
        return None;
    }
    let primary = cats.first() == Some(category);
    Some(match (item.kind, primary) {
        (AnnounceKind::New | AnnounceKind::Cross, true) => AnnounceKind::New,
        (AnnounceKind::New | AnnounceKind::Cross, false) => AnnounceKind::Cross,
        (AnnounceKind::Replace | AnnounceKind::ReplaceCross, true) => AnnounceKind::Replace,
        (AnnounceKind::Replace | AnnounceKind::ReplaceCross, false) => AnnounceKind::ReplaceCross,
    })
}

/// Polls the combined feed of `categories` once (conditional GET) and stores what it announces.
pub async fn poll(app: &App, categories: &[Category], summary: &mut RunSummary) -> Result<(), super::IngestError> {
    let url = feed_url(&app.config.arxiv.rss_url, categories);
    let (etag, last_modified) = app.store.feed_validators(&url).await?;
    let validators = Validators { etag, last_modified };
    summary.requests += 1;
    let fetched = match app.http.get_document(&url, Some(&validators), rss::DOCUMENT).await {
        Ok(f) => f,
        Err(e) => {
            summary.error(format!("feed {url}: {e}"));
            return Ok(());
        }
    };
    if fetched.not_modified {
        summary.notes.push(format!("{url}: not modified since the last poll"));
        return Ok(());
    }
    let (feed, complete) = match rss::parse_feed(&fetched.body) {
        Ok(feed) => (feed, true),
        // A feed cut short still announces the items it completed; the validators are not saved, so the next
        // poll fetches it whole again.
        Err(RssError::Malformed { cause, partial }) => {
            summary.error(format!("feed {url}: unreadable after {} items: {cause}", partial.items.len()));
            (*partial, false)
        }
        Err(e) => {
            summary.error(format!("feed {url}: {e}"));
            return Ok(());
        }
    };
    for s in feed.skipped {
        summary.skip(s);
    }
    if feed.items.is_empty() {
        summary.notes.push(format!("{url}: no announcement today"));
    }
    let date: NaiveDate = feed.date.unwrap_or_else(|| Utc::now().date_naive());
    // The categories a listing is for: the feed's own when it names them, else those requested.
    let listed: Vec<Category> =
        if feed.feed_categories.is_empty() { categories.to_vec() } else { feed.feed_categories };
    let mut records = Vec::with_capacity(feed.items.len());
    let mut announcements = Vec::new();
    for item in feed.items {
        summary.fetched += 1;
        let day = item.announced.unwrap_or(date);
        let id = item.record.id.unversioned();
        // The category the parser saw the item listed under keeps the kind it derived (old RSS 1.0 items
        // carry only their primary category); the other requested categories the paper is in are derived.
        if let Some(cat) = &item.listed_category {
            announcements.push(Announcement { date: day, category: cat.clone(), id: id.clone(), kind: item.kind });
        }
        for cat in listed.iter().filter(|c| Some(*c) != item.listed_category.as_ref()) {
            if let Some(kind) = kind_in(&item, cat) {
                announcements.push(Announcement { date: day, category: cat.clone(), id: id.clone(), kind });
            }
        }
        records.push(item.record);
    }
    let outcome = app.store_batch(&records, &announcements, None).await?;
    summary.add_outcome(&outcome);
    app.commit_index().await?;
    if !complete {
        return Ok(());
    }
    // Only now: a crash before this point re-fetches the feed rather than missing it.
    app.store.put_feed_validators(&url, fetched.etag.as_deref(), fetched.last_modified.as_deref()).await?;
    Ok(())
}
