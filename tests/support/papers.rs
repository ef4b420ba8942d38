//! Paper records for integration tests: [`paper`] fills the fields most tests do not care about, so each
//! test states only what it checks (`PaperRecord { authors: ..., ..paper(...) }` for the rest).

use chrono::NaiveDate;
use papertide::domain::{AnnounceKind, Announcement, ArxivId, Category, PaperRecord};

/// A record with this id, title, abstract and categories (the first is the primary), one author
/// ("Ada Lovelace"), and no comments, journal reference, DOI, license or dates. Panics on a malformed id or
/// category: test data is written by hand.
pub fn paper(id: &str, title: impl Into<String>, abstract_text: impl Into<String>, categories: &[&str]) -> PaperRecord {
    PaperRecord::new(
        ArxivId::parse(id).unwrap_or_else(|e| panic!("test id {id:?}: {e}")),
        title.into(),
        abstract_text.into(),
        vec!["Ada Lovelace".into()],
        categories.iter().map(|c| Category::parse(c).unwrap_or_else(|e| panic!("test category {c:?}: {e}"))).collect(),
    )
}

/// An announcement of `id` in `category` on `day` (`YYYY-MM-DD`). Panics on malformed test data.
pub fn announcement(id: &str, category: &str, day: &str, kind: AnnounceKind) -> Announcement {
    Announcement {
        date: NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap_or_else(|e| panic!("test day {day:?}: {e}")),
        category: Category::parse(category).unwrap_or_else(|e| panic!("test category {category:?}: {e}")),
        id: ArxivId::parse(id).unwrap_or_else(|e| panic!("test id {id:?}: {e}")),
        kind,
    }
}

/// The arXiv version of paper 3 of the recorded ACL volume `2024.hucllm-1` (tests/fixtures/venues), as arXiv
/// would list it: title case and author order differ a little from the Anthology's.
pub fn acl_arxiv_twin() -> PaperRecord {
    PaperRecord {
        authors: vec!["Tong Niu".into(), "Caiming Xiong".into(), "Semih Yavuz".into(), "Yingbo Zhou".into()],
        ..paper(
            "2401.06947",
            "Parameter-efficient detoxification with contrastive decoding",
            "The field of natural language generation has witnessed significant advancements.",
            &["cs.CL"],
        )
    }
}
