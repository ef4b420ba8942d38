//! Daily listings: which papers were announced in which categories on which day.

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::{QueryBuilder, Sqlite};

use super::{Result, Store};
use crate::domain::{AnnounceKind, Category};

/// One announcement day and how many distinct papers it listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayCount {
    pub date: NaiveDate,
    pub papers: i64,
}

/// A paper in a day's listing and how it was listed (the strongest kind over the requested categories).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListingEntry {
    pub id: String,
    pub kind: AnnounceKind,
}

/// A `(paper_id, kind rank)` row of the listing queries, whose `MIN(CASE kind ...)` ranks
/// new < cross < replace < replace-cross.
fn listing_entry((id, rank): (String, i64)) -> ListingEntry {
    let kind = match rank {
        0 => AnnounceKind::New,
        1 => AnnounceKind::Cross,
        2 => AnnounceKind::Replace,
        _ => AnnounceKind::ReplaceCross,
    };
    ListingEntry { id, kind }
}

fn push_in_list(qb: &mut QueryBuilder<Sqlite>, cats: &[Category]) {
    qb.push(" category IN (");
    let mut sep = qb.separated(", ");
    for c in cats {
        sep.push_bind(c.code());
    }
    sep.push_unseparated(")");
}

impl Store {
    /// Announcement days for any of `categories`, newest first, with distinct paper counts.
    pub async fn announcement_days(&self, categories: &[Category], limit: i64) -> Result<Vec<DayCount>> {
        if categories.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb: QueryBuilder<Sqlite> =
            QueryBuilder::new("SELECT date, COUNT(DISTINCT paper_id) FROM announcements WHERE");
        push_in_list(&mut qb, categories);
        qb.push(" GROUP BY date ORDER BY date DESC LIMIT ").push_bind(limit);
        let rows: Vec<(String, i64)> = qb.build_query_as().fetch_all(self.reader()).await?;
        Ok(rows
            .into_iter()
            .filter_map(|(d, n)| {
                NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok().map(|date| DayCount { date, papers: n })
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
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT paper_id, MIN(CASE kind WHEN 'new' THEN 0 WHEN 'cross' THEN 1 WHEN 'replace' THEN 2 ELSE 3 END) \
             FROM announcements WHERE date = ",
        );
        qb.push_bind(date.format("%Y-%m-%d").to_string()).push(" AND");
        push_in_list(&mut qb, categories);
        qb.push(" GROUP BY paper_id ORDER BY paper_id");
        let rows: Vec<(String, i64)> = qb.build_query_as().fetch_all(self.reader()).await?;
        Ok(rows.into_iter().map(listing_entry).collect())
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
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT a.paper_id, MIN(CASE a.kind WHEN 'new' THEN 0 WHEN 'cross' THEN 1 WHEN 'replace' THEN 2 ELSE 3 END) \
             FROM announcements a JOIN papers p ON p.id = a.paper_id WHERE a.date = ",
        );
        qb.push_bind(date.format("%Y-%m-%d").to_string()).push(" AND a.");
        push_in_list(&mut qb, &filter.include);
        for c in &filter.exclude {
            // `categories` is space separated: pad it so a code only matches whole.
            qb.push(" AND (' ' || p.categories || ' ') NOT LIKE ").push_bind(format!("% {} %", c.code()));
        }
        qb.push(" GROUP BY a.paper_id ORDER BY a.paper_id");
        let rows: Vec<(String, i64)> = qb.build_query_as().fetch_all(self.reader()).await?;
        Ok(rows.into_iter().map(listing_entry).collect())
    }

    /// Every announcement day of any of `categories`, newest first (no counts: cheap enough for a day picker).
    pub async fn listing_days(&self, categories: &[Category]) -> Result<Vec<NaiveDate>> {
        if categories.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT DISTINCT date FROM announcements WHERE");
        push_in_list(&mut qb, categories);
        qb.push(" ORDER BY date DESC LIMIT 5000");
        let rows: Vec<(String,)> = qb.build_query_as().fetch_all(self.reader()).await?;
        Ok(rows.into_iter().filter_map(|(d,)| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()).collect())
    }
}
