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

    /// Whether any field is over its cap in [`field_caps`] (cheap: byte lengths first).
    pub fn exceeds_caps(&self) -> bool {
        use field_caps::*;
        let over = |s: &str, max: usize| s.len() > max && s.chars().count() > max;
        let opt = |s: &Option<String>, max: usize| s.as_deref().is_some_and(|s| over(s, max));
        over(&self.title, TITLE)
            || over(&self.abstract_text, ABSTRACT)
            || self.authors.len() > AUTHORS
            || self.authors.iter().any(|a| over(a, AUTHOR))
            || opt(&self.comments, COMMENTS)
            || opt(&self.journal_ref, JOURNAL_REF)
            || opt(&self.doi, DOI)
            || opt(&self.license, LICENSE)
    }

    /// Cuts every field to its cap in [`field_caps`] (text ends with "…"); returns the names of the fields
    /// that were cut, empty when none was.
    pub fn cap_fields(&mut self) -> Vec<&'static str> {
        use field_caps::*;
        let mut cut = Vec::new();
        if cap_text(&mut self.title, TITLE) {
            cut.push("title");
        }
        if cap_text(&mut self.abstract_text, ABSTRACT) {
            cut.push("abstract");
        }
        let many = self.authors.len() > AUTHORS;
        self.authors.truncate(AUTHORS);
        let long = self.authors.iter_mut().fold(false, |any, a| cap_text(a, AUTHOR) | any);
        if many || long {
            cut.push("authors");
        }
        for (name, field, max) in [
            ("comments", &mut self.comments, COMMENTS),
            ("journal_ref", &mut self.journal_ref, JOURNAL_REF),
            ("doi", &mut self.doi, DOI),
            ("license", &mut self.license, LICENSE),
        ] {
            if field.as_mut().is_some_and(|v| cap_text(v, max)) {
                cut.push(name);
            }
        }
        cut
    }
}

/// The longest value stored for each upstream field, in characters. Generous for real metadata (arXiv caps
/// abstracts at 1,920 characters, the longest titles run to a few hundred, collaboration papers list about
/// 3,000 authors), small enough that a broken or hostile source cannot make one paper's page tens of
/// megabytes (a probe stored a 10 MB title whole: a 31 MB paper page).
pub mod field_caps {
    pub const TITLE: usize = 1_000;
    pub const ABSTRACT: usize = 10_000;
    /// One author's name.
    pub const AUTHOR: usize = 300;
    /// Authors per paper.
    pub const AUTHORS: usize = 5_000;
    pub const COMMENTS: usize = 2_000;
    pub const JOURNAL_REF: usize = 1_000;
    pub const DOI: usize = 300;
    pub const LICENSE: usize = 300;
}

/// `s` cut to at most `max` characters like [`cap_text`], borrowed (no copy) when it is within the cap.
pub fn capped(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut t = s.to_string();
    cap_text(&mut t, max);
    std::borrow::Cow::Owned(t)
}

/// Cuts `s` to at most `max` characters, the last one "…", on a character boundary; true when it did.
pub fn cap_text(s: &mut String, max: usize) -> bool {
    if s.len() <= max {
        return false;
    }
    match s.char_indices().nth(max.saturating_sub(1)) {
        Some((at, _)) if s[at..].chars().nth(1).is_some() => {
            s.truncate(at);
            s.push('…');
            true
        }
        _ => false,
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

#[cfg(test)]
mod cap_tests {
    use proptest::prelude::*;

    use super::*;

    fn record() -> PaperRecord {
        PaperRecord::new(
            ArxivId::parse("2501.00001").unwrap(),
            "A title".into(),
            "An abstract.".into(),
            vec!["Ada Lovelace".into()],
            vec![Category::parse("cs.CL").unwrap()],
        )
    }

    #[test]
    fn real_sized_records_are_untouched_and_huge_ones_cut() {
        let mut r = record();
        assert!(!r.exceeds_caps());
        assert!(r.cap_fields().is_empty());
        let mut huge = PaperRecord {
            title: "é".repeat(10 << 20),
            authors: vec!["x".into(); 6_000],
            comments: Some("c".repeat(5_000)),
            ..record()
        };
        assert!(huge.exceeds_caps());
        assert_eq!(huge.cap_fields(), vec!["title", "authors", "comments"]);
        assert_eq!(huge.title.chars().count(), field_caps::TITLE);
        assert!(huge.title.ends_with('…'));
        assert_eq!(huge.authors.len(), field_caps::AUTHORS);
        assert!(!huge.exceeds_caps());
        r.abstract_text = "a".repeat(field_caps::ABSTRACT);
        assert!(!r.exceeds_caps(), "exactly at the cap is fine");
    }

    proptest! {
        #[test]
        fn cap_text_keeps_at_most_max_chars_and_a_prefix(s in "\\PC{0,300}", max in 1usize..200) {
            let mut t = s.clone();
            let cut = cap_text(&mut t, max);
            prop_assert!(t.chars().count() <= max);
            prop_assert_eq!(cut, s.chars().count() > max);
            if cut {
                let kept = t.strip_suffix('…').unwrap();
                prop_assert!(s.starts_with(kept));
            } else {
                prop_assert_eq!(t, s);
            }
        }
    }
}
