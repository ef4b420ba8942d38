//! Writing papers and announcements: idempotent upserts, one transaction per batch.

use std::collections::{HashMap, HashSet};

use sqlx::{QueryBuilder, Sqlite, SqliteExecutor, Transaction};

use super::rows::PaperRow;
use super::{Result, Store, StoredPaper, now_rfc3339};
use crate::domain::{Announcement, ArxivId, PaperRecord, tex};

/// What one batch did. `max_seq` is the highest change sequence in the store after it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct UpsertOutcome {
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub announcements_added: usize,
    /// Announcements naming a paper that is neither in the batch nor stored.
    pub orphan_announcements: usize,
    /// Records stored with a field cut to its cap (`domain::field_caps`).
    pub truncated: usize,
    pub max_seq: i64,
}

impl std::ops::AddAssign for UpsertOutcome {
    fn add_assign(&mut self, o: Self) {
        self.inserted += o.inserted;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
        self.announcements_added += o.announcements_added;
        self.orphan_announcements += o.orphan_announcements;
        self.truncated += o.truncated;
        self.max_seq = self.max_seq.max(o.max_seq);
    }
}

/// What the search index needs of a row.
#[derive(Debug, Clone)]
pub struct IndexRow {
    pub id: String,
    pub title: String,
    pub abstract_text: String,
    pub authors: String,
    pub categories: String,
    pub first_announced: Option<String>,
    pub submitted: Option<String>,
    pub seq: i64,
}

// SQLite allows 32,766 bound parameters per statement; 20 columns × 200 rows stays well below.
const ROWS_PER_STATEMENT: usize = 200;

/// The columns `write_rows` fills, in `PaperRow` order.
const PAPER_COLUMNS: &str = "id, version, title, title_raw, abstract, abstract_raw, authors, authors_raw, \
     categories, primary_category, comments, journal_ref, doi, license, submitted, updated, first_announced, \
     withdrawn, seq";

impl Store {
    /// Stores a batch of records and announcements in one transaction, together with an optional checkpoint
    /// `(key, value)` that then commits atomically with the data it covers. Returns what changed and the
    /// changed rows in the shape the search index takes, so callers index them without reading them back.
    ///
    /// Idempotent: storing the same data twice changes nothing (no row's `seq` moves). A record with a newer
    /// version replaces the stored text; an older one only fills fields the stored row lacks (a DOI, say).
    pub async fn upsert(
        &self,
        records: &[PaperRecord],
        announcements: &[Announcement],
        checkpoint: Option<(&str, &str)>,
    ) -> Result<(UpsertOutcome, Vec<IndexRow>)> {
        // Every source stores through here: cap oversized fields once, for all of them.
        let mut truncated = 0;
        let capped: std::borrow::Cow<'_, [PaperRecord]> = if records.iter().any(PaperRecord::exceeds_caps) {
            let mut owned = records.to_vec();
            for r in &mut owned {
                let cut = r.cap_fields();
                if !cut.is_empty() {
                    truncated += 1;
                    tracing::warn!(id = %r.id, fields = ?cut, "field over its length cap: truncated");
                }
            }
            std::borrow::Cow::Owned(owned)
        } else {
            std::borrow::Cow::Borrowed(records)
        };
        let mut tx = self.writer().begin_with("BEGIN IMMEDIATE").await?;
        let (mut outcome, written) = upsert_in(&mut tx, &capped, announcements).await?;
        outcome.truncated = truncated;
        if let Some((key, value)) = checkpoint {
            super::checkpoints::put_in(&mut tx, key, value).await?;
        }
        tx.commit().await?;
        Ok((outcome, written.into_iter().map(IndexRow::from).collect()))
    }

    pub async fn get_paper(&self, id: &ArxivId) -> Result<Option<StoredPaper>> {
        let rows = select_rows(self.reader(), &[id.as_str()]).await?;
        rows.into_iter().next().map(PaperRow::into_stored).transpose()
    }

    /// The stored papers among `ids`, in the order of `ids` (absent ones left out).
    pub async fn get_papers(&self, ids: &[String]) -> Result<Vec<StoredPaper>> {
        let mut by_id: HashMap<String, PaperRow> =
            select_rows(self.reader(), ids).await?.into_iter().map(|r| (r.id.clone(), r)).collect();
        ids.iter().filter_map(|id| by_id.remove(id)).map(PaperRow::into_stored).collect()
    }

    /// Rows changed after `seq`, oldest change first: what the search index has not seen yet.
    pub async fn rows_after_seq(&self, seq: i64, limit: i64) -> Result<Vec<IndexRow>> {
        Ok(sqlx::query_as!(
            IndexRow,
            "SELECT id, title, abstract AS abstract_text, authors, categories, first_announced, submitted, seq \
             FROM papers WHERE seq > ? ORDER BY seq LIMIT ?",
            seq,
            limit,
        )
        .fetch_all(self.reader())
        .await?)
    }

    /// The highest change sequence stored (0 for an empty store).
    pub async fn max_seq(&self) -> Result<i64> {
        max_seq(self.reader()).await
    }
}

async fn max_seq<'e>(ex: impl SqliteExecutor<'e>) -> Result<i64> {
    Ok(sqlx::query_scalar!(r#"SELECT COALESCE(MAX(seq), 0) AS "seq!: i64" FROM papers"#).fetch_one(ex).await?)
}

/// The stored rows of `ids` (any order; unknown ids absent), through the pool or inside a transaction.
async fn select_rows<'e, S: AsRef<str>>(ex: impl SqliteExecutor<'e>, ids: &[S]) -> Result<Vec<PaperRow>> {
    let list = super::json_list(ids);
    Ok(sqlx::query_as!(
        PaperRow,
        r#"SELECT id, version, title, title_raw, abstract AS abstract_text, abstract_raw, authors, authors_raw,
                  categories, primary_category, comments, journal_ref, doi, license, submitted, updated,
                  first_announced, withdrawn AS "withdrawn: bool", seq
           FROM papers WHERE id IN (SELECT value FROM json_each(?))"#,
        list,
    )
    .fetch_all(ex)
    .await?)
}

async fn upsert_in(
    tx: &mut Transaction<'static, Sqlite>,
    records: &[PaperRecord],
    announcements: &[Announcement],
) -> Result<(UpsertOutcome, Vec<PaperRow>)> {
    let mut out = UpsertOutcome::default();
    let mut next_seq = max_seq(&mut **tx).await?;

    // The earliest announcement day per paper in this batch, to keep `first_announced` right.
    let mut first_day: HashMap<&str, String> = HashMap::new();
    for a in announcements {
        let day = a.date.format("%Y-%m-%d").to_string();
        first_day.entry(a.id.as_str()).and_modify(|d| *d = d.clone().min(day.clone())).or_insert(day);
    }

    // Later records of the same paper in one batch win (duplicates across pages are common).
    let mut latest: HashMap<&str, &PaperRecord> = HashMap::new();
    for r in records {
        latest.insert(r.id.as_str(), r);
    }
    let mut ids: Vec<&str> = latest.keys().copied().collect();
    ids.extend(first_day.keys().copied().filter(|id| !latest.contains_key(id)));
    ids.sort_unstable();
    let existing = load_rows(tx, &ids).await?;

    let mut writes: Vec<PaperRow> = Vec::new();
    for id in &ids {
        let old = existing.get(*id);
        let merged = match (latest.get(id), old) {
            (Some(rec), old) => merge(rec, old),
            (None, Some(old)) => old.clone(),
            (None, None) => continue, // announcement of an unknown paper: counted below
        };
        let mut merged = merged;
        if let Some(day) = first_day.get(id) {
            merged.first_announced = Some(match merged.first_announced.take() {
                Some(d) if d <= *day => d,
                _ => day.clone(),
            });
        }
        match old {
            Some(old) if old.same_content(&merged) => out.unchanged += 1,
            _ => {
                if old.is_some() {
                    out.updated += 1;
                } else if latest.contains_key(id) {
                    out.inserted += 1;
                }
                next_seq += 1;
                merged.seq = next_seq;
                writes.push(merged);
            }
        }
    }
    // Announcement-only ids that were merely touched count as neither inserted nor updated above.
    for chunk in writes.chunks(ROWS_PER_STATEMENT) {
        write_rows(tx, chunk).await?;
    }

    let known: HashSet<&str> =
        ids.iter().copied().filter(|id| latest.contains_key(id) || existing.contains_key(*id)).collect();
    let valid: Vec<&Announcement> = announcements.iter().filter(|a| known.contains(a.id.as_str())).collect();
    out.orphan_announcements = announcements.len() - valid.len();
    for chunk in valid.chunks(ROWS_PER_STATEMENT) {
        let rows: Vec<(&str, String, &str, &str)> = chunk
            .iter()
            .map(|a| (a.category.code(), a.date.format("%Y-%m-%d").to_string(), a.id.as_str(), a.kind.as_str()))
            .collect();
        let rows = serde_json::to_string(&rows).map_err(|e| corrupt_batch(&e))?;
        out.announcements_added += sqlx::query!(
            "INSERT INTO announcements (category, date, paper_id, kind) \
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(?) WHERE true \
             ON CONFLICT (category, date, paper_id) DO NOTHING",
            rows,
        )
        .execute(&mut **tx)
        .await?
        .rows_affected() as usize;
    }
    out.max_seq = next_seq;
    Ok((out, writes))
}

impl From<PaperRow> for IndexRow {
    fn from(r: PaperRow) -> Self {
        IndexRow {
            id: r.id,
            title: r.title,
            abstract_text: r.abstract_text,
            authors: r.authors,
            categories: r.categories,
            first_announced: r.first_announced,
            submitted: r.submitted,
            seq: r.seq,
        }
    }
}

async fn load_rows(tx: &mut Transaction<'static, Sqlite>, ids: &[&str]) -> Result<HashMap<String, PaperRow>> {
    Ok(select_rows(&mut **tx, ids).await?.into_iter().map(|r| (r.id.clone(), r)).collect())
}

/// Writes rows, [`ROWS_PER_STATEMENT`] per multi-row `INSERT`. The one statement of the store built at run
/// time (its row count varies), so the one the build does not check: binding a batch as one JSON array
/// (`json_each`, a fixed statement: SQLite re-reads each row's JSON per column) was measured at 8,500–9,500
/// papers/s on the Kaggle import against 14,300 for this, and one statement per row at 4,000 (2-core Zen 3,
/// 2026-12-01). Its columns are the checked `select_rows`'s; the store tests round-trip each.
async fn write_rows(tx: &mut Transaction<'static, Sqlite>, rows: &[PaperRow]) -> Result<()> {
    let stored_at = now_rfc3339();
    let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(format!("INSERT INTO papers ({PAPER_COLUMNS}, stored_at) "));
    qb.push_values(rows, |mut b, r| {
        b.push_bind(&r.id)
            .push_bind(r.version)
            .push_bind(&r.title)
            .push_bind(&r.title_raw)
            .push_bind(&r.abstract_text)
            .push_bind(&r.abstract_raw)
            .push_bind(&r.authors)
            .push_bind(&r.authors_raw)
            .push_bind(&r.categories)
            .push_bind(&r.primary_category)
            .push_bind(&r.comments)
            .push_bind(&r.journal_ref)
            .push_bind(&r.doi)
            .push_bind(&r.license)
            .push_bind(&r.submitted)
            .push_bind(&r.updated)
            .push_bind(&r.first_announced)
            .push_bind(r.withdrawn)
            .push_bind(r.seq)
            .push_bind(&stored_at);
    });
    qb.push(
        " ON CONFLICT (id) DO UPDATE SET version = excluded.version, title = excluded.title, \
         title_raw = excluded.title_raw, abstract = excluded.abstract, abstract_raw = excluded.abstract_raw, \
         authors = excluded.authors, authors_raw = excluded.authors_raw, categories = excluded.categories, \
         primary_category = excluded.primary_category, comments = excluded.comments, \
         journal_ref = excluded.journal_ref, doi = excluded.doi, license = excluded.license, \
         submitted = excluded.submitted, updated = excluded.updated, first_announced = excluded.first_announced, \
         withdrawn = excluded.withdrawn, seq = excluded.seq, stored_at = excluded.stored_at",
    );
    qb.build().execute(&mut **tx).await?;
    Ok(())
}

/// Serialising our own rows cannot fail (strings and numbers only); should it, the batch is refused whole.
fn corrupt_batch(e: &serde_json::Error) -> super::StoreError {
    super::StoreError::Corrupt { id: "(batch)".into(), reason: format!("cannot encode rows: {e}") }
}

/// Folds white space (old API responses hard-wrap titles and abstracts) and decodes TeX accents.
pub(super) fn display_text(raw: &str) -> String {
    // Most records are already single-spaced: skip the fold (an allocation and a scan) for them.
    let b = raw.as_bytes();
    let needs_fold = b.first().is_some_and(u8::is_ascii_whitespace)
        || b.last().is_some_and(u8::is_ascii_whitespace)
        || b.windows(2).any(|w| w[0].is_ascii_whitespace() && (w[1].is_ascii_whitespace() || w[0] != b' '))
        || !raw.is_ascii();
    if needs_fold { tex::decode(&tex::normalize_whitespace(raw)) } else { tex::decode(raw) }
}

fn is_withdrawn(rec: &PaperRecord) -> bool {
    let says = |s: &str| {
        let l = s.to_ascii_lowercase();
        l.contains("this paper has been withdrawn") || l.contains("paper withdrawn") || l.starts_with("withdrawn")
    };
    rec.comments.as_deref().is_some_and(says) || says(&rec.abstract_text)
}

fn rfc3339(t: &Option<chrono::DateTime<chrono::Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// The row a record turns into, merged with what is stored: a record at least as new as the stored row
/// replaces its content; an older one only fills gaps. Optional metadata never goes from known to unknown.
fn merge(rec: &PaperRecord, old: Option<&PaperRow>) -> PaperRow {
    let authors_display: Vec<String> = rec.authors.iter().map(|a| display_text(a)).collect();
    let categories: Vec<&str> = rec.categories.iter().map(|c| c.code()).collect();
    let fresh = PaperRow {
        id: rec.id.as_str().to_string(),
        version: rec.id.version().map(i64::from),
        title: display_text(&rec.title),
        title_raw: rec.title.clone(),
        abstract_text: display_text(&rec.abstract_text),
        abstract_raw: rec.abstract_text.clone(),
        authors: serde_json::to_string(&authors_display).unwrap_or_else(|_| "[]".into()),
        authors_raw: serde_json::to_string(&rec.authors).unwrap_or_else(|_| "[]".into()),
        categories: categories.join(" "),
        primary_category: categories.first().copied().unwrap_or_default().to_string(),
        comments: rec.comments.clone(),
        journal_ref: rec.journal_ref.clone(),
        doi: rec.doi.clone(),
        license: rec.license.clone(),
        submitted: rfc3339(&rec.submitted),
        updated: rfc3339(&rec.updated),
        first_announced: None,
        withdrawn: is_withdrawn(rec),
        seq: 0,
    };
    let Some(old) = old else { return fresh };
    let newer_or_same = match (fresh.version, old.version) {
        (Some(n), Some(o)) => n >= o,
        (None, Some(_)) => false,
        _ => true,
    };
    let (mut row, gaps_from) = if newer_or_same { (fresh, old.clone()) } else { (old.clone(), fresh) };
    // Never lose a known value to a source that did not carry it.
    row.version = row.version.or(gaps_from.version);
    row.comments = row.comments.or(gaps_from.comments);
    row.journal_ref = row.journal_ref.or(gaps_from.journal_ref);
    row.doi = row.doi.or(gaps_from.doi);
    row.license = row.license.or(gaps_from.license);
    row.submitted = match (row.submitted, gaps_from.submitted) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    row.updated = row.updated.or(gaps_from.updated);
    if row.abstract_raw.trim().is_empty() {
        row.abstract_raw = gaps_from.abstract_raw;
        row.abstract_text = gaps_from.abstract_text;
    }
    if row.authors == "[]" {
        row.authors = gaps_from.authors;
        row.authors_raw = gaps_from.authors_raw;
    }
    row.first_announced = old.first_announced.clone();
    row.seq = old.seq;
    row
}
