//! Daily feeds against a fake rss.arxiv.org on 127.0.0.1. No complete real 2024-format feed was recorded, so the
//! RSS 2.0 and Atom feeds served here were written to arXiv's own specification (tests/fixtures/arxiv/rss/
//! PROVENANCE-spec-written.md); the RSS 1.0 feed is a real recorded one.

mod support;

use chrono::NaiveDate;
use papertide::app::App;
use papertide::config::Config;
use papertide::domain::{AnnounceKind, ArxivId, Category};
use papertide::ingest::{RunSummary, feeds};
use support::fake_server::{FakeServer, Reply};

const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/arxiv/rss");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIX}/{name}")).unwrap()
}

fn config(dir: &std::path::Path, server: &FakeServer) -> Config {
    support::config::against(dir, server)
}

fn cat(c: &str) -> Category {
    Category::parse(c).unwrap()
}

#[tokio::test]
async fn a_2024_rss_feed_creates_announcements_and_is_polled_conditionally() {
    let server = FakeServer::start().await;
    server.script(
        "/rss/math.OC",
        [Reply::NotModifiedIfEtag {
            etag: "\"feed-v1\"".into(),
            body: fixture("spec_rss2_math.OC_2024-02-23.xml").into(),
        }],
    );
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(config(dir.path(), &server)).await.unwrap();
    let mut s = RunSummary::new("rss");
    feeds::poll(&app, &[cat("math.OC")], &mut s).await.unwrap();
    assert!(s.errors.is_empty(), "{s}");
    assert!(s.new >= 4, "{s}");

    let day = NaiveDate::from_ymd_opt(2024, 2, 23).unwrap();
    let listing = app.store.listing(&[cat("math.OC")], day).await.unwrap();
    let kind = |id: &str| listing.iter().find(|e| e.id.as_str() == id).map(|e| e.kind);
    assert_eq!(kind("2402.14101"), Some(AnnounceKind::New));
    assert_eq!(kind("2402.14230"), Some(AnnounceKind::Cross));
    assert_eq!(kind("2305.01234"), Some(AnnounceKind::Replace));
    assert_eq!(kind("2203.01250"), Some(AnnounceKind::ReplaceCross));
    let p = app.store.get_paper(&ArxivId::parse("2402.14101").unwrap()).await.unwrap().unwrap();
    assert_eq!(p.title, "Escaping <script>alert(1)</script> & other titles", "entities decoded, kept as text");
    assert_eq!(p.authors, ["Ada Lovelace", "Charles Babbage"]);
    assert_eq!(p.first_announced, Some(day));
    assert!(app.index.search("escaping", &Default::default()).unwrap().total >= 1);

    // The second poll is conditional: 304, nothing changes.
    let mut again = RunSummary::new("rss");
    feeds::poll(&app, &[cat("math.OC")], &mut again).await.unwrap();
    assert!(again.notes.iter().any(|n| n.contains("not modified")), "{again}");
    assert_eq!(again.new + again.updated, 0);
    let second = &server.requests()[1];
    assert_eq!(second.header("if-none-match"), Some("\"feed-v1\""));
}

#[tokio::test]
async fn an_empty_feed_is_no_announcement_today_and_a_dead_feed_an_error() {
    let server = FakeServer::start().await;
    server.script("/rss/math.OC", [Reply::xml(fixture("spec_rss2_empty_2024-02-24.xml"))]);
    server.script("/rss/cs.CL", [Reply::Status500]);
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(config(dir.path(), &server)).await.unwrap();
    let mut s = RunSummary::new("rss");
    feeds::poll(&app, &[cat("math.OC")], &mut s).await.unwrap();
    assert!(s.errors.is_empty(), "{s}");
    assert!(s.notes.iter().any(|n| n.contains("no announcement today")), "{s}");

    let mut s = RunSummary::new("rss");
    feeds::poll(&app, &[cat("cs.CL")], &mut s).await.unwrap();
    assert_eq!(s.errors.len(), 1, "{s}");
    assert!(s.errors[0].contains("/rss/cs.CL") && s.errors[0].contains("gave up"), "{s}");
}

#[tokio::test]
async fn atom_and_old_rss1_feeds_are_read_too() {
    let server = FakeServer::start().await;
    server.script("/rss/math.OC", [Reply::xml(fixture("spec_atom_math.OC_2024-02-23.xml"))]);
    server.script("/rss/hep-ex", [Reply::xml(fixture("hep-ex_rss1.0_2018-05-23_trimmed.xml"))]);
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(config(dir.path(), &server)).await.unwrap();
    let mut s = RunSummary::new("rss");
    feeds::poll(&app, &[cat("math.OC")], &mut s).await.unwrap();
    assert!(s.errors.is_empty() && s.new >= 3, "{s}");
    let days = app.store.announcement_days(&[cat("math.OC")], 10).await.unwrap();
    // Each entry's own `published` day wins over the feed's `updated` (the spec's example has one from August).
    assert!(days.iter().any(|d| d.date == NaiveDate::from_ymd_opt(2024, 2, 23).unwrap()), "{days:?}");

    let mut s = RunSummary::new("rss");
    feeds::poll(&app, &[cat("hep-ex")], &mut s).await.unwrap();
    assert!(s.errors.is_empty() && s.new >= 3, "{s}");
    let days = app.store.announcement_days(&[cat("hep-ex")], 10).await.unwrap();
    assert_eq!(days.len(), 1, "{days:?}");
    assert!(days[0].papers >= 3, "{days:?}");
}

/// A `200` that is not a feed (empty, plain text, JSON) is an error that names the URL, retried first, and
/// saves no validators: never "no announcement today" (issue 19, item 2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_is_not_a_feed_is_an_error_not_an_empty_day() {
    for body in [&b""[..], b"temporarily unavailable", b"{\"items\": []}"] {
        let server = FakeServer::start().await;
        server.script("/rss/math.OC", [Reply::ok(body.to_vec())]);
        let dir = tempfile::tempdir().unwrap();
        let app = App::open(config(dir.path(), &server)).await.unwrap();
        let mut s = RunSummary::new("rss");
        feeds::poll(&app, &[cat("math.OC")], &mut s).await.unwrap();
        let shown = String::from_utf8_lossy(body);
        assert_eq!(s.errors.len(), 1, "{shown:?}: {s}");
        assert!(s.errors[0].contains("/rss/math.OC") && s.errors[0].contains("not an RSS or Atom feed"), "{s}");
        assert!(!s.notes.iter().any(|n| n.contains("no announcement")), "{shown:?}: {s}");
        assert!(server.hits("/rss/math.OC") > 1, "retried");
        let url = feeds::feed_url(&app.config.arxiv.rss_url, &[cat("math.OC")]);
        assert_eq!(app.store.feed_validators(&url).await.unwrap(), (None, None), "no validators saved");
    }
}
