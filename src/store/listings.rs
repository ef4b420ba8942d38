//! Daily listings: which papers were announced in which categories on which day.

use chrono::NaiveDate;
use serde::Serialize;

use super::{Result, Store, StoreError};
use crate::domain::{AnnounceKind, ArxivId, Category};

/// One announcement day and how many distinct papers it listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayCount {
    pub date: NaiveDate,
    pub papers: i64,
}

/// A paper in a day's listing and how it was listed (the strongest kind over the requested categories).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListingEntry {
    pub id: ArxivId,
    pub kind: AnnounceKind,
}

/// A `(paper_id, kind rank)` row of the listing queries, whose `MIN(CASE kind ...)` ranks
/// new < cross < replace < replace-cross.
fn listing_entry(id: String, rank: i64) -> Result<ListingEntry> {
    let kind = match rank {
        0 => AnnounceKind::New,
        1 => AnnounceKind::Cross,
        2 => AnnounceKind::Replace,
        _ => AnnounceKind::ReplaceCross,
    };
    let id = ArxivId::parse(&id).map_err(|e| StoreError::Corrupt { reason: format!("announced id: {e}"), id })?;
    Ok(ListingEntry { id, kind })
}

/// The category codes as one JSON array, for `category IN (SELECT value FROM json_each(?))`.
fn codes(cats: &[Category]) -> String {
    let codes: Vec<&str> = cats.iter().map(Category::code).collect();
    super::json_list(&codes)
}

fn day(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

impl Store {
    /// Announcement days for any of `categories`, newest first, with distinct paper counts.
    pub async fn announcement_days(&self, categories: &[Category], limit: i64) -> Result<Vec<DayCount>> {
        if categories.is_empty() {
            return Ok(Vec::new());
        }
        let codes = codes(categories);
        let rows = sqlx::query!(
            r#"SELECT date, COUNT(DISTINCT paper_id) AS "papers!: i64" FROM announcements
               WHERE category IN (SELECT value FROM json_each(?)) GROUP BY date ORDER BY date DESC LIMIT ?"#,
            codes,
            limit,
        )
        .fetch_all(self.reader())
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                NaiveDate::parse_from_str(&r.date, "%Y-%m-%d").ok().map(|date| DayCount { date, papers: r.papers })
            })
            .collect())
    }

    /// The papers announced on `date` in any of `categories`, each once, ordered by id (arXiv's order).
    pub async fn listing(&self, categories: &[Category], date: NaiveDate) -> Result<Vec<ListingEntry>> {
        if categories.is_empty() {
            return Ok(Vec::new());
        }
        // new < cross < replace < replace-cross: a paper listed as new in one category and cross in another
        // is shown as new.
        let (day, codes) = (day(date), codes(categories));
        let rows = sqlx::query!(
            r#"SELECT paper_id AS "paper_id!",
                      MIN(CASE kind WHEN 'new' THEN 0 WHEN 'cross' THEN 1 WHEN 'replace' THEN 2 ELSE 3 END)
                        AS "rank!: i64"
               FROM announcements WHERE date = ? AND category IN (SELECT value FROM json_each(?))
               GROUP BY paper_id ORDER BY paper_id"#,
            day,
            codes,
        )
        .fetch_all(self.reader())
        .await?;
        rows.into_iter().map(|r| listing_entry(r.paper_id, r.rank)).collect()
    }
}

pub use crate::domain::CategoryFilter;

impl Store {
    /// Like [`Store::listing`], leaving out papers cross-listed in any of `filter.exclude` (by the paper's own
    /// category list, so a paper is excluded whichever category announced it).
    pub async fn filtered_listing(&self, filter: &CategoryFilter, date: NaiveDate) -> Result<Vec<ListingEntry>> {
        if filter.include.is_empty() {
            return Ok(Vec::new());
        }
        let (day, include, exclude) = (day(date), codes(&filter.include), codes(&filter.exclude));
        // `categories` is space separated: padded, a code only matches whole.
        let rows = sqlx::query!(
            r#"SELECT a.paper_id AS "paper_id!",
                      MIN(CASE a.kind WHEN 'new' THEN 0 WHEN 'cross' THEN 1 WHEN 'replace' THEN 2 ELSE 3 END)
                        AS "rank!: i64"
               FROM announcements a JOIN papers p ON p.id = a.paper_id
               WHERE a.date = ? AND a.category IN (SELECT value FROM json_each(?))
                 AND NOT EXISTS (SELECT 1 FROM json_each(?) x
                                 WHERE (' ' || p.categories || ' ') LIKE ('% ' || x.value || ' %'))
               GROUP BY a.paper_id ORDER BY a.paper_id"#,
            day,
            include,
            exclude,
        )
        .fetch_all(self.reader())
        .await?;
        rows.into_iter().map(|r| listing_entry(r.paper_id, r.rank)).collect()
    }

    /// Every announcement day of any of `categories`, newest first (no counts: cheap enough for a day picker).
    pub async fn listing_days(&self, categories: &[Category]) -> Result<Vec<NaiveDate>> {
        if categories.is_empty() {
            return Ok(Vec::new());
        }
        let codes = codes(categories);
        let rows = sqlx::query_scalar!(
            "SELECT DISTINCT date FROM announcements WHERE category IN (SELECT value FROM json_each(?)) \
             ORDER BY date DESC LIMIT 5000",
            codes,
        )
        .fetch_all(self.reader())
        .await?;
        Ok(rows.into_iter().filter_map(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()).collect())
    }
}
