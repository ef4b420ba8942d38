//! Row shapes read back from the store.

use chrono::NaiveDate;
use serde::Serialize;

use super::StoreError;

/// A paper as stored (display text decoded, raw text kept), as handlers and the JSON API see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredPaper {
    pub id: String,
    pub version: Option<u32>,
    pub title: String,
    pub title_raw: String,
    #[serde(rename = "abstract")]
    pub abstract_text: String,
    pub abstract_raw: String,
    pub authors: Vec<String>,
    pub categories: Vec<String>,
    pub primary_category: String,
    pub comments: Option<String>,
    pub journal_ref: Option<String>,
    pub doi: Option<String>,
    pub license: Option<String>,
    pub submitted: Option<String>,
    pub updated: Option<String>,
    pub first_announced: Option<NaiveDate>,
    pub withdrawn: bool,
}

/// The raw columns of `papers` (but `stored_at`), in table order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PaperRow {
    pub id: String,
    pub version: Option<i64>,
    pub title: String,
    pub title_raw: String,
    pub abstract_text: String,
    pub abstract_raw: String,
    pub authors: String,
    pub authors_raw: String,
    pub categories: String,
    pub primary_category: String,
    pub comments: Option<String>,
    pub journal_ref: Option<String>,
    pub doi: Option<String>,
    pub license: Option<String>,
    pub submitted: Option<String>,
    pub updated: Option<String>,
    pub first_announced: Option<String>,
    pub withdrawn: bool,
    pub seq: i64,
}

impl PaperRow {
    /// The same row ignoring its change sequence: what decides whether an upsert changed anything.
    pub(crate) fn same_content(&self, other: &PaperRow) -> bool {
        let mut a = self.clone();
        a.seq = other.seq;
        &a == other
    }

    pub(crate) fn into_stored(self) -> Result<StoredPaper, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt { id: self.id.clone(), reason };
        let authors: Vec<String> =
            serde_json::from_str(&self.authors).map_err(|e| corrupt(format!("authors column: {e}")))?;
        let first_announced = match &self.first_announced {
            Some(d) => {
                Some(NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|e| corrupt(format!("first_announced: {e}")))?)
            }
            None => None,
        };
        Ok(StoredPaper {
            version: self.version.and_then(|v| u32::try_from(v).ok()),
            categories: self.categories.split_whitespace().map(str::to_string).collect(),
            authors,
            first_announced,
            id: self.id,
            title: self.title,
            title_raw: self.title_raw,
            abstract_text: self.abstract_text,
            abstract_raw: self.abstract_raw,
            primary_category: self.primary_category,
            comments: self.comments,
            journal_ref: self.journal_ref,
            doi: self.doi,
            license: self.license,
            submitted: self.submitted,
            updated: self.updated,
            withdrawn: self.withdrawn,
        })
    }
}
