//! Venue papers (conference proceedings): upserts, listings by edition and track, links to arXiv papers.

use chrono::NaiveDate;
use serde::Serialize;

use super::papers::display_text;
use super::{Result, Store, StoreError, now_rfc3339};
use crate::domain::{ArxivId, Conference, Edition, PaperKey, VenueRecord, VenueSource, cap_text, field_caps};

/// A venue paper as stored, typed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredVenuePaper {
    pub key: PaperKey,
    pub source: VenueSource,
    pub edition: Edition,
    pub track: Option<String>,
    pub title: String,
    pub title_raw: String,
    #[serde(rename = "abstract")]
    pub abstract_text: String,
    pub authors: Vec<String>,
    pub keywords: Vec<String>,
    pub pdf_url: Option<String>,
    pub doi: Option<String>,
    pub published: Option<NaiveDate>,
    /// The arXiv paper this is the same work as, where linked.
    pub arxiv_id: Option<ArxivId>,
    pub link_method: Option<LinkMethod>,
    pub seq: i64,
}

/// A venue paper's text as the related pipeline and For you read it (keyed by its venue key; venue papers are
/// never withdrawn).
impl From<&StoredVenuePaper> for super::PaperText {
    fn from(p: &StoredVenuePaper) -> Self {
        super::PaperText {
            id: p.key.to_string(),
            title: p.title.clone(),
            abstract_text: p.abstract_text.clone(),
            withdrawn: false,
        }
    }
}

/// How a venue paper was linked to its arXiv version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkMethod {
    /// The source itself links the arXiv version.
    Source,
    /// Normalised title and author overlap (`venues::link`).
    Match,
}

impl LinkMethod {
    fn as_str(self) -> &'static str {
        match self {
            LinkMethod::Source => "source",
            LinkMethod::Match => "match",
        }
    }
}

/// One followed edition and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EditionCount {
    pub edition: Edition,
    pub papers: i64,
    /// Papers linked to an arXiv version.
    pub on_arxiv: i64,
}

/// A track (or decision) of an edition and its size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackCount {
    pub track: Option<String>,
    pub papers: i64,
}

/// What one venue batch did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct VenueOutcome {
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub truncated: usize,
}

/// The stored columns a record turns into (display text decoded, JSON lists), compared to see a real change.
#[derive(Debug, PartialEq)]
struct Columns {
    title: String,
    title_raw: String,
    abstract_text: String,
    abstract_raw: String,
    authors: String,
    keywords: String,
    track: Option<String>,
    pdf_url: Option<String>,
    doi: Option<String>,
    source_arxiv_id: Option<String>,
    published: Option<String>,
    conference: String,
    year: i64,
}

fn columns(rec: &VenueRecord) -> (Columns, bool) {
    let mut rec = rec.clone();
    // Venue text passes the same caps as arXiv text: a runaway abstract is cut, not stored whole.
    let mut cut = cap_text(&mut rec.title, field_caps::TITLE);
    cut |= cap_text(&mut rec.abstract_text, field_caps::ABSTRACT);
    if rec.authors.len() > field_caps::AUTHORS {
        rec.authors.truncate(field_caps::AUTHORS);
        cut = true;
    }
    for a in &mut rec.authors {
        cut |= cap_text(a, field_caps::AUTHOR);
    }
    rec.keywords.truncate(50);
    for k in &mut rec.keywords {
        cut |= cap_text(k, 100);
    }
    let authors: Vec<String> = rec.authors.iter().map(|a| display_text(a)).collect();
    let cols = Columns {
        title: display_text(&rec.title),
        abstract_text: display_text(&rec.abstract_text),
        authors: serde_json::to_string(&authors).unwrap_or_else(|_| "[]".into()),
        keywords: serde_json::to_string(&rec.keywords).unwrap_or_else(|_| "[]".into()),
        title_raw: rec.title,
        abstract_raw: rec.abstract_text,
        track: rec.track,
        pdf_url: rec.pdf_url,
        doi: rec.doi,
        source_arxiv_id: rec.arxiv_id.map(|id| id.unversioned().to_string()),
        published: rec.published.map(|d| d.format("%Y-%m-%d").to_string()),
        conference: rec.edition.conference.to_string(),
        year: i64::from(rec.edition.year),
    };
    (cols, cut)
}

fn corrupt(key: &str, what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt { id: key.to_string(), reason: format!("{what}: {detail}") }
}

/// The raw columns of one `venue_papers` row, as every read selects them.
struct Row {
    key: String,
    source: String,
    conference: String,
    year: i64,
    track: Option<String>,
    title: String,
    title_raw: String,
    abstract_text: String,
    authors: String,
    keywords: String,
    pdf_url: Option<String>,
    doi: Option<String>,
    published: Option<String>,
    arxiv_id: Option<String>,
    link_method: Option<String>,
    seq: i64,
}

impl TryFrom<Row> for StoredVenuePaper {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self> {
        let key = PaperKey::parse(&r.key).map_err(|e| corrupt(&r.key, "key", e))?;
        let source: VenueSource = r.source.parse().map_err(|e| corrupt(&r.key, "source", e))?;
        let conference = Conference::parse(&r.conference).map_err(|e| corrupt(&r.key, "conference", e))?;
        let year = u16::try_from(r.year).map_err(|e| corrupt(&r.key, "year", e))?;
        let list = |s: &str, what| serde_json::from_str::<Vec<String>>(s).map_err(|e| corrupt(&r.key, what, e));
        let published = r
            .published
            .as_deref()
            .map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d"))
            .transpose()
            .map_err(|e| corrupt(&r.key, "published", e))?;
        let arxiv_id =
            r.arxiv_id.as_deref().map(ArxivId::parse).transpose().map_err(|e| corrupt(&r.key, "arxiv_id", e))?;
        let link_method = match r.link_method.as_deref() {
            None => None,
            Some("source") => Some(LinkMethod::Source),
            Some("match") => Some(LinkMethod::Match),
            Some(other) => return Err(corrupt(&r.key, "link_method", other)),
        };
        Ok(StoredVenuePaper {
            authors: list(&r.authors, "authors")?,
            keywords: list(&r.keywords, "keywords")?,
            key,
            source,
            edition: Edition::new(conference, year),
            track: r.track,
            title: r.title,
            title_raw: r.title_raw,
            abstract_text: r.abstract_text,
            pdf_url: r.pdf_url,
            doi: r.doi,
            published,
            arxiv_id,
            link_method,
            seq: r.seq,
        })
    }
}

fn typed(rows: Vec<Row>) -> Result<Vec<StoredVenuePaper>> {
    rows.into_iter().map(StoredVenuePaper::try_from).collect()
}

impl Store {
    /// Stores a batch of venue records in one transaction, with `checkpoint` (key, value) when given, so a
    /// killed paging run resumes after the last stored page without losing or duplicating anything. A record
    /// whose columns are unchanged is left alone (its `seq` too, so feeds do not repeat it).
    pub async fn upsert_venue_batch(
        &self,
        records: &[VenueRecord],
        checkpoint: Option<(&str, &str)>,
    ) -> Result<VenueOutcome> {
        let mut out = VenueOutcome::default();
        let mut tx = self.writer().begin_with("BEGIN IMMEDIATE").await?;
        let mut seq: i64 = sqlx::query_scalar!(r#"SELECT COALESCE(MAX(seq), 0) AS "s!: i64" FROM venue_papers"#)
            .fetch_one(&mut *tx)
            .await?;
        let now = now_rfc3339();
        for rec in records {
            let key = rec.key.to_string();
            let source = rec.source().as_str();
            let (c, cut) = columns(rec);
            out.truncated += usize::from(cut);
            let old = sqlx::query_as!(
                Columns,
                "SELECT title, title_raw, abstract AS abstract_text, abstract_raw, authors, keywords, track, pdf_url, \
                 doi, source_arxiv_id, published, conference, year FROM venue_papers WHERE key = ?",
                key
            )
            .fetch_optional(&mut *tx)
            .await?;
            let mut c = c;
            if let Some(o) = &old {
                // Optional metadata never goes from known to unknown: a CVF listing re-read without abstracts
                // keeps the abstracts fetched from paper pages, a source that drops a PDF link keeps the old.
                if c.abstract_raw.is_empty() && !o.abstract_raw.is_empty() {
                    c.abstract_text = o.abstract_text.clone();
                    c.abstract_raw = o.abstract_raw.clone();
                }
                if c.keywords == "[]" {
                    c.keywords = o.keywords.clone();
                }
                c.track = c.track.or_else(|| o.track.clone());
                c.pdf_url = c.pdf_url.or_else(|| o.pdf_url.clone());
                c.doi = c.doi.or_else(|| o.doi.clone());
                c.source_arxiv_id = c.source_arxiv_id.or_else(|| o.source_arxiv_id.clone());
                c.published = c.published.or_else(|| o.published.clone());
                if *o == c {
                    out.unchanged += 1;
                    continue;
                }
            }
            seq += 1;
            sqlx::query!(
                "INSERT INTO venue_papers (key, source, conference, year, track, title, title_raw, abstract, \
                 abstract_raw, authors, keywords, pdf_url, doi, source_arxiv_id, published, seq, stored_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (key) DO UPDATE SET conference = excluded.conference, year = excluded.year, \
                 track = excluded.track, title = excluded.title, title_raw = excluded.title_raw, \
                 abstract = excluded.abstract, abstract_raw = excluded.abstract_raw, authors = excluded.authors, \
                 keywords = excluded.keywords, pdf_url = excluded.pdf_url, doi = excluded.doi, \
                 source_arxiv_id = excluded.source_arxiv_id, published = excluded.published, seq = excluded.seq, \
                 stored_at = excluded.stored_at",
                key,
                source,
                c.conference,
                c.year,
                c.track,
                c.title,
                c.title_raw,
                c.abstract_text,
                c.abstract_raw,
                c.authors,
                c.keywords,
                c.pdf_url,
                c.doi,
                c.source_arxiv_id,
                c.published,
                seq,
                now,
            )
            .execute(&mut *tx)
            .await?;
            if old.is_some() {
                out.updated += 1;
            } else {
                out.inserted += 1;
            }
        }
        if let Some((k, v)) = checkpoint {
            super::checkpoints::put_in(&mut tx, k, v).await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    pub async fn venue_paper(&self, key: &PaperKey) -> Result<Option<StoredVenuePaper>> {
        let key = key.to_string();
        let row = sqlx::query_as!(
            Row,
            r#"SELECT key, source, conference, year, track, title, title_raw, abstract AS abstract_text, authors,
                      keywords, pdf_url, doi, published, arxiv_id, link_method, seq
               FROM venue_papers WHERE key = ?"#,
            key
        )
        .fetch_optional(self.reader())
        .await?;
        row.map(StoredVenuePaper::try_from).transpose()
    }

    /// The venue papers of `keys` that are stored, in the order of `keys` (search hits keep their rank).
    pub async fn venue_papers(&self, keys: &[String]) -> Result<Vec<StoredVenuePaper>> {
        let list = super::json_list(keys);
        let rows = sqlx::query_as!(
            Row,
            r#"SELECT key, source, conference, year, track, title, title_raw, abstract AS abstract_text, authors,
                      keywords, pdf_url, doi, published, arxiv_id, link_method, seq
               FROM venue_papers WHERE key IN (SELECT value FROM json_each(?))"#,
            list
        )
        .fetch_all(self.reader())
        .await?;
        let mut papers = typed(rows)?;
        let rank: std::collections::HashMap<&str, usize> =
            keys.iter().enumerate().map(|(i, k)| (k.as_str(), i)).collect();
        papers.sort_by_key(|p| rank.get(p.key.to_string().as_str()).copied().unwrap_or(usize::MAX));
        Ok(papers)
    }

    /// An edition's papers, one track or all, by title (the sources' own orders differ and may shift between
    /// refreshes; titles read well and stay put); with the count for paging.
    pub async fn venue_listing(
        &self,
        edition: &Edition,
        track: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<StoredVenuePaper>, i64)> {
        let (conf, year) = (edition.conference.as_str(), i64::from(edition.year));
        let rows = sqlx::query_as!(
            Row,
            r#"SELECT key, source, conference, year, track, title, title_raw, abstract AS abstract_text, authors,
                      keywords, pdf_url, doi, published, arxiv_id, link_method, seq
               FROM venue_papers WHERE conference = ?1 AND year = ?2 AND (?3 IS NULL OR track = ?3)
               ORDER BY title COLLATE NOCASE, key LIMIT ?4 OFFSET ?5"#,
            conf,
            year,
            track,
            limit,
            offset,
        )
        .fetch_all(self.reader())
        .await?;
        let total = sqlx::query_scalar!(
            r#"SELECT COUNT(*) AS "n!: i64" FROM venue_papers
               WHERE conference = ?1 AND year = ?2 AND (?3 IS NULL OR track = ?3)"#,
            conf,
            year,
            track,
        )
        .fetch_one(self.reader())
        .await?;
        Ok((typed(rows)?, total))
    }

    /// Every stored edition, newest year first, with its size.
    pub async fn venue_editions(&self) -> Result<Vec<EditionCount>> {
        let rows = sqlx::query!(
            r#"SELECT conference, year, COUNT(*) AS "papers!: i64", COUNT(arxiv_id) AS "on_arxiv!: i64"
               FROM venue_papers GROUP BY conference, year ORDER BY year DESC, conference"#
        )
        .fetch_all(self.reader())
        .await?;
        rows.into_iter()
            .map(|r| {
                let conference =
                    Conference::parse(&r.conference).map_err(|e| corrupt(&r.conference, "conference", e))?;
                let year = u16::try_from(r.year).map_err(|e| corrupt(&r.conference, "year", e))?;
                Ok(EditionCount { edition: Edition::new(conference, year), papers: r.papers, on_arxiv: r.on_arxiv })
            })
            .collect()
    }

    /// An edition's tracks (decisions) and their sizes, largest first.
    pub async fn venue_tracks(&self, edition: &Edition) -> Result<Vec<TrackCount>> {
        let (conf, year) = (edition.conference.as_str(), i64::from(edition.year));
        let rows = sqlx::query!(
            r#"SELECT track, COUNT(*) AS "papers!: i64" FROM venue_papers WHERE conference = ? AND year = ?
               GROUP BY track ORDER BY 2 DESC, track"#,
            conf,
            year
        )
        .fetch_all(self.reader())
        .await?;
        Ok(rows.into_iter().map(|r| TrackCount { track: r.track, papers: r.papers }).collect())
    }

    /// The newest stored or changed venue papers, of one conference or all (the feeds).
    pub async fn venue_latest(&self, conference: Option<&Conference>, limit: i64) -> Result<Vec<StoredVenuePaper>> {
        let conf = conference.map(Conference::as_str);
        let rows = sqlx::query_as!(
            Row,
            r#"SELECT key, source, conference, year, track, title, title_raw, abstract AS abstract_text, authors,
                      keywords, pdf_url, doi, published, arxiv_id, link_method, seq
               FROM venue_papers WHERE (?1 IS NULL OR conference = ?1) ORDER BY seq DESC LIMIT ?2"#,
            conf,
            limit,
        )
        .fetch_all(self.reader())
        .await?;
        typed(rows)
    }

    /// The venue versions of an arXiv paper (its badges).
    pub async fn venues_of_arxiv(&self, ids: &[&ArxivId]) -> Result<Vec<StoredVenuePaper>> {
        let ids: Vec<String> = ids.iter().map(|i| i.unversioned().to_string()).collect();
        let list = super::json_list(&ids);
        let rows = sqlx::query_as!(
            Row,
            r#"SELECT key, source, conference, year, track, title, title_raw, abstract AS abstract_text, authors,
                      keywords, pdf_url, doi, published, arxiv_id, link_method, seq
               FROM venue_papers WHERE arxiv_id IN (SELECT value FROM json_each(?)) ORDER BY year DESC, key"#,
            list
        )
        .fetch_all(self.reader())
        .await?;
        typed(rows)
    }

    /// Venue papers not linked to an arXiv paper yet, after `after_key`, in key order (the linker's pages).
    pub async fn unlinked_venue_papers(&self, after_key: &str, limit: i64) -> Result<Vec<StoredVenuePaper>> {
        let rows = sqlx::query_as!(
            Row,
            r#"SELECT key, source, conference, year, track, title, title_raw, abstract AS abstract_text, authors,
                      keywords, pdf_url, doi, published, arxiv_id, link_method, seq
               FROM venue_papers WHERE arxiv_id IS NULL AND key > ? ORDER BY key LIMIT ?"#,
            after_key,
            limit
        )
        .fetch_all(self.reader())
        .await?;
        typed(rows)
    }

    /// The arXiv id a venue paper's source links to, where it does.
    pub async fn venue_source_arxiv_id(&self, key: &PaperKey) -> Result<Option<ArxivId>> {
        let key = key.to_string();
        let id = sqlx::query_scalar!("SELECT source_arxiv_id FROM venue_papers WHERE key = ?", key)
            .fetch_optional(self.reader())
            .await?
            .flatten();
        id.as_deref().map(ArxivId::parse).transpose().map_err(|e| corrupt(&key, "source_arxiv_id", e))
    }

    /// Links a venue paper to the stored arXiv paper `arxiv_id` (which must exist: the foreign key says so).
    /// The row's `seq` moves, so the venue feeds show the new badge.
    pub async fn link_venue_paper(&self, key: &PaperKey, arxiv_id: &ArxivId, method: LinkMethod) -> Result<bool> {
        let (key, id, method) = (key.to_string(), arxiv_id.unversioned().to_string(), method.as_str());
        let mut tx = self.writer().begin_with("BEGIN IMMEDIATE").await?;
        let changed = sqlx::query!(
            "UPDATE venue_papers SET arxiv_id = ?, link_method = ?, \
             seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM venue_papers) \
             WHERE key = ? AND (arxiv_id IS NOT ? OR link_method IS NOT ?)",
            id,
            method,
            key,
            id,
            method,
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(changed > 0)
    }

    /// Venue papers of `source` stored without an abstract (CVF listings have none), oldest first.
    pub async fn venue_papers_without_abstract(&self, source: &str, limit: i64) -> Result<Vec<StoredVenuePaper>> {
        let rows = sqlx::query_as!(
            Row,
            r#"SELECT key, source, conference, year, track, title, title_raw, abstract AS abstract_text, authors,
                      keywords, pdf_url, doi, published, arxiv_id, link_method, seq
               FROM venue_papers WHERE source = ? AND abstract_raw = '' ORDER BY seq LIMIT ?"#,
            source,
            limit
        )
        .fetch_all(self.reader())
        .await?;
        typed(rows)
    }

    /// Sets a venue paper's abstract (raw; the display text is derived), moving its `seq`.
    pub async fn set_venue_abstract(&self, key: &PaperKey, raw: &str) -> Result<()> {
        let mut raw = raw.to_string();
        cap_text(&mut raw, field_caps::ABSTRACT);
        let (key, display) = (key.to_string(), display_text(&raw));
        let mut tx = self.writer().begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query!(
            "UPDATE venue_papers SET abstract = ?, abstract_raw = ?, \
             seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM venue_papers) WHERE key = ?",
            display,
            raw,
            key,
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The highest venue change sequence (0 when there are none): how far the venue index must read.
    pub async fn venue_max_seq(&self) -> Result<i64> {
        Ok(sqlx::query_scalar!(r#"SELECT COALESCE(MAX(seq), 0) AS "s!: i64" FROM venue_papers"#)
            .fetch_one(self.reader())
            .await?)
    }

    /// Venue papers changed after `seq`, in sequence order, as the venue search index reads them: the key as the
    /// id, the conference, edition and source as categories (filters), the publication day as the day.
    pub async fn venue_rows_after_seq(&self, seq: i64, limit: i64) -> Result<Vec<super::IndexRow>> {
        let rows = sqlx::query!(
            r#"SELECT key, source, conference, year, title, abstract, authors, published, seq
               FROM venue_papers WHERE seq > ? ORDER BY seq LIMIT ?"#,
            seq,
            limit
        )
        .fetch_all(self.reader())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| super::IndexRow {
                categories: format!("{} {}.{} {}", r.conference, r.conference, r.year, r.source),
                id: r.key,
                title: r.title,
                abstract_text: r.r#abstract,
                authors: r.authors,
                first_announced: r.published,
                submitted: None,
                seq: r.seq,
            })
            .collect())
    }

    /// A number that grows whenever papers or venue papers change (the sum of both change sequences): what the
    /// page cache checks, so pages see writes by another process (`ingest` beside `serve`) too.
    pub async fn change_marker(&self) -> Result<i64> {
        Ok(self.max_seq().await? + self.venue_max_seq().await?)
    }

    pub async fn venue_paper_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar!("SELECT COUNT(*) FROM venue_papers").fetch_one(self.reader()).await?)
    }
}
