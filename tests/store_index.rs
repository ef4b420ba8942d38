//! The store and the search index over a real SQLite file and a real tantivy index in a temp dir: import,
//! idempotency, version updates, crash recovery of the index, search.

mod support;

use std::path::Path;

use chrono::NaiveDate;
use papertide::app::App;
use papertide::config::Config;
use papertide::domain::{AnnounceKind, Announcement, ArxivId, Category, PaperRecord};
use papertide::ingest::import::{ImportSource, import};
use papertide::search::{SearchOptions, Sort};
use support::papers::paper;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample/papers.jsonl.gz");

fn config(dir: &Path) -> Config {
    support::config::at(dir)
}

fn record(id: &str, title: &str) -> PaperRecord {
    PaperRecord {
        authors: vec!["Ana G{\\'o}mez".into(), "Li Wei".into()],
        ..paper(id, title, "We study r\\'esum\\'e parsing with $x^2$ models.", &["cs.CL", "cs.AI"])
    }
}

fn opts() -> SearchOptions {
    SearchOptions { limit: 10, ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn importing_the_sample_twice_stores_each_paper_once_and_finds_them() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(config(dir.path())).await.unwrap();
    let first = import(&app, vec![ImportSource::open(Path::new(SAMPLE)).unwrap()], false).await.unwrap();
    assert_eq!(first.new, 3256, "{first}");
    assert_eq!(first.skipped, 0);
    let second = import(&app, vec![ImportSource::open(Path::new(SAMPLE)).unwrap()], false).await.unwrap();
    assert_eq!((second.new, second.updated, second.unchanged), (0, 0, 3256), "{second}");
    assert_eq!(app.store.paper_count().await.unwrap(), 3256);
    assert_eq!(app.index.num_docs(), 3256);

    // A known paper of the sample is found by a title word search, ranked first by its exact title.
    let days = app.store.announcement_days(&[Category::parse("cs.CL").unwrap()], 100).await.unwrap();
    assert!((10..=12).contains(&days.len()), "{days:?}");
    let listing = app.store.listing(&[Category::parse("cs.CL").unwrap()], days[0].date).await.unwrap();
    assert!(!listing.is_empty());
    let paper = app.store.get_paper(&listing[0].id).await.unwrap().unwrap();
    let results = app.index.search(&format!("title:\"{}\"", paper.title.replace('"', " ")), &opts()).unwrap();
    assert_eq!(results.hits[0].id, paper.id.as_str(), "searching {:?}", paper.title);

    // Filters: a category the paper is not in excludes it; its own category keeps it.
    let mut o = opts();
    o.categories = vec![Category::parse("math.AG").unwrap()];
    let none = app.index.search(&format!("title:\"{}\"", paper.title.replace('"', " ")), &o).unwrap();
    assert!(none.hits.iter().all(|h| h.id != paper.id.as_str()));
    // Date sort returns the newest day first.
    let mut o = opts();
    o.sort = Sort::Date;
    let by_date = app.index.search("model", &o).unwrap();
    assert!(by_date.hits[0].score >= by_date.hits[9].score);
}

/// Every column through the bulk write (the one statement built at run time) and back through the checked
/// read, for a batch larger than one statement.
#[tokio::test]
async fn every_column_round_trips_through_a_multi_statement_batch() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(config(dir.path())).await.unwrap();
    let day = NaiveDate::from_ymd_opt(2025, 3, 4).unwrap();
    let t = |s: &str| Some(chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&chrono::Utc));
    let recs: Vec<PaperRecord> = (0..450)
        .map(|i| PaperRecord {
            comments: Some(format!("{i} pages")),
            journal_ref: Some(format!("J. Tests {i}")),
            doi: Some(format!("10.1000/{i}")),
            license: Some("http://creativecommons.org/licenses/by/4.0/".into()),
            submitted: t("2025-03-01T10:00:00Z"),
            updated: t("2025-03-02T11:30:00Z"),
            ..record(&format!("2503.{:05}v3", i + 1), &format!("Title {i}"))
        })
        .collect();
    let anns: Vec<Announcement> = recs
        .iter()
        .map(|r| Announcement {
            category: Category::parse("cs.CL").unwrap(),
            date: day,
            id: r.id.clone(),
            kind: AnnounceKind::New,
        })
        .collect();
    let out = app.store_batch(&recs, &anns, None).await.unwrap();
    assert_eq!((out.inserted, out.announcements_added), (450, 450));
    let p = app.store.get_paper(&ArxivId::parse("2503.00450").unwrap()).await.unwrap().unwrap();
    assert_eq!(p.id.as_str(), "2503.00450");
    assert_eq!(p.version, Some(3));
    assert_eq!((p.title.as_str(), p.title_raw.as_str()), ("Title 449", "Title 449"));
    assert!(p.abstract_text.contains("résumé") && p.abstract_raw.contains("r\\'esum\\'e"));
    assert_eq!(p.authors, ["Ana Gómez", "Li Wei"]);
    let codes: Vec<&str> = p.categories.iter().map(Category::code).collect();
    assert_eq!((codes, p.primary_category.code()), (vec!["cs.CL", "cs.AI"], "cs.CL"));
    assert_eq!(p.comments.as_deref(), Some("449 pages"));
    assert_eq!(p.journal_ref.as_deref(), Some("J. Tests 449"));
    assert_eq!(p.doi.as_deref(), Some("10.1000/449"));
    assert_eq!(p.license.as_deref(), Some("http://creativecommons.org/licenses/by/4.0/"));
    assert_eq!((p.submitted, p.updated), (t("2025-03-01T10:00:00Z"), t("2025-03-02T11:30:00Z")));
    assert_eq!((p.first_announced, p.withdrawn), (Some(day), false));
    let ids: Vec<String> = recs.iter().map(|r| r.id.as_str().to_string()).collect();
    assert_eq!(app.store.get_papers(&ids).await.unwrap().len(), 450);
}

#[tokio::test]
async fn newer_versions_update_and_older_ones_only_fill_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(config(dir.path())).await.unwrap();
    let v1 = record("2401.01234v1", "First title");
    let out = app.store_batch(std::slice::from_ref(&v1), &[], None).await.unwrap();
    assert_eq!(out.inserted, 1);

    let mut v2 = record("2401.01234v2", "Second title");
    v2.doi = None;
    assert_eq!(app.store_batch(&[v2.clone()], &[], None).await.unwrap().updated, 1);
    // Same again: nothing changes.
    assert_eq!(app.store_batch(&[v2], &[], None).await.unwrap().unchanged, 1);
    // An older version with a DOI: keeps the v2 text, gains the DOI.
    let mut old = record("2401.01234v1", "First title");
    old.doi = Some("10.1000/xyz".into());
    assert_eq!(app.store_batch(&[old], &[], None).await.unwrap().updated, 1);
    let p = app.store.get_paper(&ArxivId::parse("2401.01234").unwrap()).await.unwrap().unwrap();
    assert_eq!((p.title.as_str(), p.version, p.doi.as_deref()), ("Second title", Some(2), Some("10.1000/xyz")));
    // TeX accents are decoded for display, the raw text kept; math is left alone.
    assert_eq!(p.authors[0], "Ana Gómez");
    assert!(p.abstract_text.contains("résumé") && p.abstract_text.contains("$x^2$"), "{}", p.abstract_text);
    assert!(p.abstract_raw.contains("r\\'esum\\'e"));
    // Searchable by the decoded and by the accent-folded spelling.
    app.commit_index().await.unwrap();
    assert_eq!(app.index.search("author:gómez", &opts()).unwrap().total, 1);
    assert_eq!(app.index.search("author:gomez", &opts()).unwrap().total, 1);
    assert_eq!(app.index.search("resume", &opts()).unwrap().total, 1);
}

#[tokio::test]
async fn announcements_are_idempotent_and_orphans_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(config(dir.path())).await.unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
    let ann = |id: &str, cat: &str, kind| Announcement {
        date: day,
        category: Category::parse(cat).unwrap(),
        id: ArxivId::parse(id).unwrap(),
        kind,
    };
    let anns = vec![
        ann("2401.01234", "cs.CL", AnnounceKind::New),
        ann("2401.01234", "cs.AI", AnnounceKind::Cross),
        ann("2401.99999", "cs.AI", AnnounceKind::New),
    ];
    let out = app.store_batch(&[record("2401.01234v1", "T")], &anns, None).await.unwrap();
    assert_eq!((out.announcements_added, out.orphan_announcements), (2, 1));
    let again = app.store_batch(&[record("2401.01234v1", "T")], &anns, None).await.unwrap();
    assert_eq!((again.announcements_added, again.unchanged), (0, 1));
    let cats = [Category::parse("cs.AI").unwrap(), Category::parse("cs.CL").unwrap()];
    let listing = app.store.listing(&cats, day).await.unwrap();
    assert_eq!(listing.len(), 1, "merged without duplicates");
    assert_eq!(listing[0].kind, AnnounceKind::New, "the strongest kind wins");
    let p = app.store.get_paper(&ArxivId::parse("2401.01234").unwrap()).await.unwrap().unwrap();
    assert_eq!(p.first_announced, Some(day));
}

#[tokio::test]
async fn rows_stored_but_never_indexed_are_indexed_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    {
        let app = App::open(config(dir.path())).await.unwrap();
        app.store_batch(&[record("2401.00001v1", "Committed zebra paper")], &[], None).await.unwrap();
        app.commit_index().await.unwrap();
        // Simulates a crash after the store commit and before the index commit: the rows reach SQLite only.
        app.store.upsert(&[record("2401.00002v1", "Uncommitted okapi paper")], &[], None).await.unwrap();
        assert_eq!(app.index.search("okapi", &opts()).unwrap().total, 0);
        app.store.close().await;
    }
    let app = App::open(config(dir.path())).await.unwrap();
    assert_eq!(app.index.search("okapi", &opts()).unwrap().total, 1);
    assert_eq!(app.index.search("zebra", &opts()).unwrap().total, 1);
    assert_eq!(app.index.num_docs(), 2);
    // A full rebuild gives the same index.
    let stats = papertide::search::reindex(&app.store, &app.indexer, papertide::search::Table::Papers, |_, _| {})
        .await
        .unwrap();
    assert_eq!(stats.indexed, 2);
    assert_eq!(app.index.num_docs(), 2);
}

#[tokio::test]
async fn hostile_and_empty_queries_get_messages_not_errors() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(config(dir.path())).await.unwrap();
    app.store_batch(&[record("2401.00001v1", "A <script>alert(1)</script> title")], &[], None).await.unwrap();
    app.commit_index().await.unwrap();
    for q in ["title:(unclosed", "\"unbalanced", "AND OR NOT", "<script>", "a:b:c", "[1 TO", "*", "\\"] {
        // Lenient parsing: never an error for syntax, at most a note.
        let r = app.index.search(q, &opts());
        assert!(r.is_ok(), "{q}: {r:?}");
    }
    assert!(app.index.search("   ", &opts()).unwrap_err().to_string().contains("Type some words"));
    assert!(app.index.search(&"x".repeat(1001), &opts()).unwrap_err().to_string().contains("too long"));
}

/// An index created but never committed (a first import killed before its first commit) is not "another
/// schema version": it is used as it is, not deleted and rebuilt (issue 19, item 6).
#[test]
fn an_index_that_was_never_committed_is_used_not_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let at = dir.path().join("index");
    let first = papertide::search::SearchIndex::open(&at).unwrap();
    drop(first);
    std::fs::write(at.join("marker"), b"kept").unwrap();
    let again = papertide::search::SearchIndex::open(&at).unwrap();
    assert_eq!(again.indexed_seq(), 0);
    assert!(at.join("marker").exists(), "the directory was wiped as if it were another version");
}
