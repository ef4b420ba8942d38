//! The records every source produces and the store keeps.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{ArxivId, Category};

/// The latest known metadata of one paper, as a source delivered it. Text fields are raw (TeX accents and
/// math as arXiv has them, white space as received); the store derives the decoded display text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaperRecord {
    /// The id, carrying the version this metadata describes when the source said so.
    pub id: ArxivId,
    pub title: String,
    pub abstract_text: String,
    /// Author names in order, each as one display string ("Ada Lovelace").
    pub authors: Vec<String>,
    /// Primary category first. Never empty for a valid record.
    pub categories: Vec<Category>,
    pub comments: Option<String>,
    pub journal_ref: Option<String>,
    pub doi: Option<String>,
    pub license: Option<String>,
    /// When version 1 was submitted, where the source knows it.
    pub submitted: Option<DateTime<Utc>>,
    /// When the latest version (the one described) was submitted or the metadata last changed.
    pub updated: Option<DateTime<Utc>>,
}

impl PaperRecord {
    /// A record with the fields every source has, and none of the optional metadata (comments, journal
    /// reference, DOI, license, dates): a source that knows some of them sets them with struct update
    /// syntax (`PaperRecord { doi, ..PaperRecord::new(...) }`).
    pub fn new(
        id: ArxivId,
        title: String,
        abstract_text: String,
        authors: Vec<String>,
        categories: Vec<Category>,
    ) -> Self {
        Self {
            id,
            title,
            abstract_text,
            authors,
            categories,
            comments: None,
            journal_ref: None,
            doi: None,
            license: None,
            submitted: None,
            updated: None,
        }
    }

    pub fn primary_category(&self) -> Option<&Category> {
        self.categories.first()
    }
}

/// How a paper appeared in a category's daily listing (arXiv's `announce_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnnounceKind {
    New,
    Cross,
    Replace,
    ReplaceCross,
}

impl AnnounceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AnnounceKind::New => "new",
            AnnounceKind::Cross => "cross",
            AnnounceKind::Replace => "replace",
            AnnounceKind::ReplaceCross => "replace-cross",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "new" => AnnounceKind::New,
            "cross" => AnnounceKind::Cross,
            "replace" => AnnounceKind::Replace,
            "replace-cross" => AnnounceKind::ReplaceCross,
            _ => return None,
        })
    }
}

/// One line of a daily listing: `paper` was announced in `category` on `date` as `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcement {
    pub date: NaiveDate,
    pub category: Category,
    pub id: ArxivId,
    pub kind: AnnounceKind,
}

/// A record a parser passed over, with the reason (counted in run summaries, never fatal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// What identifies the record where anything does (an id, a line number).
    pub what: String,
    pub reason: String,
}
