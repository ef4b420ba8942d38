//! Row shapes read back from the store.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::domain::{ArxivId, Category};

use super::StoreError;

/// A paper as stored (display text decoded, raw text kept), as handlers and the JSON API see it. Typed: the
/// store parses its columns once, here, so nothing above it parses ids, categories or dates again.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredPaper {
    /// The canonical id (no version).
    pub id: ArxivId,
    pub version: Option<u32>,
    pub title: String,
    pub title_raw: String,
    #[serde(rename = "abstract")]
    pub abstract_text: String,
    pub abstract_raw: String,
    pub authors: Vec<String>,
    /// Primary first.
    pub categories: Vec<Category>,
    pub primary_category: Category,
    pub comments: Option<String>,
    pub journal_ref: Option<String>,
    pub doi: Option<String>,
    pub license: Option<String>,
    /// When version 1 was submitted.
    pub submitted: Option<DateTime<Utc>>,
    /// When the latest version was submitted or its metadata changed.
    pub updated: Option<DateTime<Utc>>,
    pub first_announced: Option<NaiveDate>,
    pub withdrawn: bool,
}

impl StoredPaper {
    /// The paper's day: its first announcement, else its submission.
    pub fn day(&self) -> Option<NaiveDate> {
        self.first_announced.or_else(|| self.submitted.map(|t| t.date_naive()))
    }
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
        let time = |name: &str, t: &Option<String>| -> Result<Option<DateTime<Utc>>, StoreError> {
            t.as_deref()
                .map(|t| DateTime::parse_from_rfc3339(t).map(|t| t.with_timezone(&Utc)))
                .transpose()
                .map_err(|e| corrupt(format!("{name}: {e}")))
        };
        let (submitted, updated) = (time("submitted", &self.submitted)?, time("updated", &self.updated)?);
        let id = ArxivId::parse(&self.id).map_err(|e| corrupt(format!("id: {e}")))?;
        let categories = self
            .categories
            .split_whitespace()
            .map(Category::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| corrupt(format!("categories: {e}")))?;
        let primary_category =
            Category::parse(&self.primary_category).map_err(|e| corrupt(format!("primary_category: {e}")))?;
        Ok(StoredPaper {
            version: self.version.and_then(|v| u32::try_from(v).ok()),
            categories,
            primary_category,
            submitted,
            updated,
            authors,
            first_announced,
            id,
            title: self.title,
            title_raw: self.title_raw,
            abstract_text: self.abstract_text,
            abstract_raw: self.abstract_raw,
            comments: self.comments,
            journal_ref: self.journal_ref,
            doi: self.doi,
            license: self.license,
            withdrawn: self.withdrawn,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> PaperRow {
        PaperRow {
            id: "2401.01234".into(),
            version: Some(2),
            title: "T".into(),
            title_raw: "T".into(),
            abstract_text: "A".into(),
            abstract_raw: "A".into(),
            authors: r#"["Ada"]"#.into(),
            authors_raw: r#"["Ada"]"#.into(),
            categories: "cs.CL cs.AI".into(),
            primary_category: "cs.CL".into(),
            comments: None,
            journal_ref: None,
            doi: None,
            license: None,
            submitted: Some("2024-01-02T03:04:05Z".into()),
            updated: None,
            first_announced: Some("2024-01-03".into()),
            withdrawn: false,
            seq: 1,
        }
    }

    #[test]
    fn columns_are_parsed_once_into_types() {
        let p = row().into_stored().unwrap();
        assert_eq!(p.id.as_str(), "2401.01234");
        assert_eq!(p.categories.iter().map(Category::code).collect::<Vec<_>>(), ["cs.CL", "cs.AI"]);
        assert_eq!(p.submitted.map(|t| t.to_rfc3339()), Some("2024-01-02T03:04:05+00:00".into()));
        assert_eq!(p.day(), NaiveDate::from_ymd_opt(2024, 1, 3));
    }

    /// What a `String` field carried through silently is now refused, naming the column.
    #[test]
    fn an_unreadable_column_is_a_corrupt_row_naming_it() {
        for (column, r) in [
            ("id", PaperRow { id: "not an id".into(), ..row() }),
            ("categories", PaperRow { categories: "cs.CL <b>".into(), ..row() }),
            ("primary_category", PaperRow { primary_category: "".into(), ..row() }),
            ("submitted", PaperRow { submitted: Some("yesterday".into()), ..row() }),
            ("first_announced", PaperRow { first_announced: Some("2024-13-01".into()), ..row() }),
        ] {
            let e = r.into_stored().unwrap_err().to_string();
            assert!(e.contains(column), "{column}: {e}");
        }
    }
}
