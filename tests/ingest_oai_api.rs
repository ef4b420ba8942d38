//! OAI-PMH harvests and arXiv API lookups against a fake arXiv on 127.0.0.1 that replays the real recorded
//! responses in tests/fixtures/arxiv and injects faults. The store must end with every paper exactly once.

mod support;

use std::time::Duration;

use papertide::app::App;
use papertide::config::Config;
use papertide::domain::ArxivId;
use papertide::ingest::{RunSummary, lookup, oai};
use support::fake_server::{FakeServer, Reply};

const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/arxiv");

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!("{FIX}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The real oai_dc page (5 cs records, resumptionToken `6960524|1001`) and the real arXiv-format hep-ex page
/// (3 records, no token: the list ends). The recorded page was trimmed from 1,000 records to 5, so its token
/// still declares the untrimmed list (`cursor="0" completeListSize="1162"`); the harvester checks pages
/// against that, so the tests state the size of the list they actually serve.
fn page1() -> Vec<u8> {
    page1_of_list(8)
}
fn page1_of_list(size: u64) -> Vec<u8> {
    let text = String::from_utf8(fixture("oai/oai_dc_ListRecords_cs_2024-01-25_truncated.xml")).unwrap();
    assert!(text.contains(r#"completeListSize="1162""#));
    text.replace(r#"completeListSize="1162""#, &format!(r#"completeListSize="{size}""#)).into_bytes()
}
fn page2() -> Vec<u8> {
    fixture("oai/functional__arxiv__fixtures__http_server__records__arxiv-physics-hep-ex.xml")
}
const TOKEN_ROUTE: &str = "/oai?verb=ListRecords&resumptionToken=6960524|1001";
const FIRST_ROUTE: &str = "/oai?verb=ListRecords&metadataPrefix=arXiv";

pub fn test_config(dir: &std::path::Path, server: &FakeServer) -> Config {
    let mut c = support::config::against(dir, server);
    // Some tests script runs of several faults with Retry-After waits.
    c.arxiv.retry_max_elapsed_s = 8;
    c
}

fn harvest() -> oai::Harvest {
    oai::Harvest { set: Some("cs".into()), prefix: "arXiv".into(), from: None, until: None }
}

async fn all_ids(app: &App) -> Vec<String> {
    let n = app.store.max_seq().await.unwrap();
    let mut ids: Vec<String> = app.store.rows_after_seq(0, n + 1).await.unwrap().into_iter().map(|r| r.id).collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_harvest_through_every_fault_stores_each_paper_once() {
    let server = FakeServer::start().await;
    server.script(FIRST_ROUTE, [Reply::RetryAfter503(1), Reply::Status429 { retry_after: None }, Reply::xml(page1())]);
    server.script(
        TOKEN_ROUTE,
        [Reply::Status500, Reply::Reset, Reply::Truncated, Reply::Stall(Duration::from_secs(3)), Reply::xml(page2())],
    );
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(test_config(dir.path(), &server)).await.unwrap();

    let started = std::time::Instant::now();
    let mut summary = RunSummary::new("oai");
    oai::harvest(&app, &harvest(), &mut summary).await.unwrap();
    assert!(summary.errors.is_empty(), "{summary}");
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was honoured");
    assert_eq!(summary.fetched, 8, "{summary}");
    assert_eq!(summary.new, 8, "{summary}");
    let ids = all_ids(&app).await;
    assert_eq!(ids.len(), 8);
    assert!(ids.contains(&"1706.05371".to_string()), "{ids:?}");
    assert_eq!(app.index.num_docs(), 8);
    assert_eq!(server.hits(TOKEN_ROUTE), 5, "four faults, then the page");
    // The checkpoint is gone once the list is complete.
    assert_eq!(app.store.checkpoint("oai:cs:arXiv::").await.unwrap(), None);

    // Harvesting the same window again changes nothing.
    let mut again = RunSummary::new("oai");
    oai::harvest(&app, &harvest(), &mut again).await.unwrap();
    assert_eq!((again.new, again.updated, again.unchanged), (0, 0, 8), "{again}");
    assert_eq!(app.store.paper_count().await.unwrap(), 8);
    let ua = server.requests()[0].header("user-agent").unwrap().to_string();
    assert!(ua.starts_with("Papertide/"), "{ua}");
}

#[tokio::test]
async fn duplicate_records_across_pages_are_stored_once() {
    let server = FakeServer::start().await;
    // The same five records again as the list's last page (cursor 5 of 10).
    let last_page = String::from_utf8(page1_of_list(10))
        .unwrap()
        .replace(">6960524|1001<", "><")
        .replace(r#"cursor="0""#, r#"cursor="5""#);
    server.script(FIRST_ROUTE, [Reply::xml(page1_of_list(10))]);
    server.script(TOKEN_ROUTE, [Reply::xml(last_page)]);
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(test_config(dir.path(), &server)).await.unwrap();
    let mut summary = RunSummary::new("oai");
    oai::harvest(&app, &harvest(), &mut summary).await.unwrap();
    assert_eq!((summary.fetched, summary.new, summary.unchanged), (10, 5, 5), "{summary}");
    assert_eq!(app.store.paper_count().await.unwrap(), 5);
    assert_eq!(app.index.num_docs(), 5);
}

#[tokio::test]
async fn oai_errors_are_handled_by_name() {
    let server = FakeServer::start().await;
    // noRecordsMatch: an empty window, not a failure.
    server.script(FIRST_ROUTE, [Reply::xml(fixture("oai/spec_error_noRecordsMatch.xml"))]);
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(test_config(dir.path(), &server)).await.unwrap();
    let mut s = RunSummary::new("oai");
    oai::harvest(&app, &harvest(), &mut s).await.unwrap();
    assert!(s.errors.is_empty() && s.fetched == 0, "{s}");
    assert!(s.notes.iter().any(|n| n.contains("no records match")), "{s}");

    // badResumptionToken: the harvest starts its window again, once.
    server.script(FIRST_ROUTE, [Reply::xml(page1())]);
    server.script(TOKEN_ROUTE, [Reply::xml(fixture("oai/spec_error_badResumptionToken.xml")), Reply::xml(page2())]);
    let mut s = RunSummary::new("oai");
    oai::harvest(&app, &harvest(), &mut s).await.unwrap();
    assert!(s.errors.is_empty(), "{s}");
    assert_eq!(app.store.paper_count().await.unwrap(), 8);
    assert!(s.notes.iter().any(|n| n.contains("restarting")), "{s}");

    // badArgument: reported as an error naming the code; the run ends cleanly.
    server.script(FIRST_ROUTE, [Reply::xml(fixture("oai/spec_error_badArgument_two_errors.xml"))]);
    let mut s = RunSummary::new("oai");
    oai::harvest(&app, &harvest(), &mut s).await.unwrap();
    assert_eq!(s.errors.len(), 1, "{s}");
    assert!(s.errors[0].contains("badArgument"), "{s}");
}

#[tokio::test]
async fn an_unreadable_page_keeps_its_complete_records_and_is_fetched_again() {
    let server = FakeServer::start().await;
    let body = page1();
    let cut = body.len() * 2 / 3;
    server.script(FIRST_ROUTE, [Reply::xml(body[..cut].to_vec()), Reply::xml(page1())]);
    server.script(TOKEN_ROUTE, [Reply::xml(page2())]);
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(test_config(dir.path(), &server)).await.unwrap();
    let mut s = RunSummary::new("oai");
    oai::harvest(&app, &harvest(), &mut s).await.unwrap();
    assert!(s.errors.is_empty(), "{s}");
    assert_eq!(app.store.paper_count().await.unwrap(), 8);
    assert_eq!(server.hits(FIRST_ROUTE), 2);
}

#[tokio::test]
async fn api_lookups_store_papers_and_type_api_errors() {
    let server = FakeServer::start().await;
    server.script(
        "/api/query?id_list=2104.12255v1",
        [
            Reply::Status429 { retry_after: Some(1) },
            Reply::xml(fixture("api/id_2104.12255v1_s0_m100_6ae69987ffe1.xml")),
        ],
    );
    server.script(
        "/api/query?id_list=1707.08567,2401.99999",
        [Reply::xml(fixture("api/id_0808.05394_1707.08567_s0_m100_42e5aa0ec3af.xml"))],
    );
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(test_config(dir.path(), &server)).await.unwrap();
    let mut s = RunSummary::new("api");
    let ids = [ArxivId::parse("2104.12255v1").unwrap()];
    lookup::lookup(&app, &ids, &mut s).await.unwrap();
    assert_eq!(s.new, 1, "{s}");
    let p = app.store.get_paper(&ids[0]).await.unwrap().unwrap();
    assert_eq!(p.version, Some(1));
    assert!(!p.title.is_empty() && !p.abstract_text.is_empty());
    assert!(
        app.index.search(&format!("title:\"{}\"", p.title.replace('"', " ")), &Default::default()).unwrap().total >= 1
    );

    // Two ids asked, one exists (the real response to such a lookup): one stored, the other reported.
    let ids = [ArxivId::parse("1707.08567").unwrap(), ArxivId::parse("2401.99999").unwrap()];
    let mut s = RunSummary::new("api");
    lookup::lookup(&app, &ids, &mut s).await.unwrap();
    assert_eq!(s.new, 1, "{s}");
    assert!(s.notes.iter().any(|n| n.contains("2401.99999")), "{s}");

    // The API's HTTP 400 error feed becomes a typed error with arXiv's message.
    server
        .script("/api/query?id_list=2401.00001", [Reply::status(400, fixture("api/id_abc_s0_m100_b79c8dcf6bc3.xml"))]);
    let mut s = RunSummary::new("api");
    lookup::lookup(&app, &[ArxivId::parse("2401.00001").unwrap()], &mut s).await.unwrap();
    assert_eq!(s.errors.len(), 1, "{s}");
    assert!(s.errors[0].contains("arXiv API error"), "{s}");
    assert_eq!(server.hits("/api/query?id_list=2401.00001"), 1, "no retry on 400");
}

/// Bodies that are not an answer: a `200` with nothing, plain text or JSON (issue 19, item 2).
fn non_answers() -> Vec<(&'static str, Reply)> {
    vec![
        ("empty", Reply::xml(Vec::new())),
        ("plain text", Reply::ok("OK")),
        (
            "JSON",
            Reply::Ok {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: bytes::Bytes::from_static(b"{\"records\": []}"),
            },
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_page_that_is_not_an_answer_is_retried_then_an_error_that_moves_no_checkpoint() {
    for (what, reply) in non_answers() {
        let server = FakeServer::start().await;
        server.script(FIRST_ROUTE, [reply]);
        let dir = tempfile::tempdir().unwrap();
        let app = App::open(support::config::against(dir.path(), &server)).await.unwrap();
        let h = oai::Harvest { until: chrono::NaiveDate::from_ymd_opt(2024, 1, 25), ..harvest() };
        let mut s = RunSummary::new("oai");
        oai::harvest(&app, &h, &mut s).await.unwrap();
        assert_eq!(s.errors.len(), 1, "{what}: {s}");
        assert!(
            s.errors[0].contains("/oai?verb=ListRecords") && s.errors[0].contains("not an OAI-PMH response"),
            "{what}: {s}"
        );
        assert!(server.hits(FIRST_ROUTE) > 1, "{what}: retried under the decorator");
        assert_eq!(s.fetched, 0);
        assert_eq!(
            app.store.checkpoint("oai-last-until:cs").await.unwrap(),
            None,
            "{what}: no window recorded as done"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_page_that_is_not_an_answer_keeps_the_resume_checkpoint() {
    for (what, reply) in non_answers() {
        let server = FakeServer::start().await;
        server.script(FIRST_ROUTE, [Reply::xml(page1())]);
        server.script(TOKEN_ROUTE, [reply]);
        let dir = tempfile::tempdir().unwrap();
        let app = App::open(support::config::against(dir.path(), &server)).await.unwrap();
        let mut s = RunSummary::new("oai");
        oai::harvest(&app, &harvest(), &mut s).await.unwrap();
        assert_eq!(s.errors.len(), 1, "{what}: {s}");
        assert!(s.errors[0].contains("resumptionToken=6960524"), "{what}: the error names the URL: {s}");
        assert_eq!(app.store.paper_count().await.unwrap(), 5, "{what}: page 1 kept");
        assert_eq!(
            app.store.checkpoint("oai:cs:arXiv::").await.unwrap().as_deref(),
            Some("6960524|1001"),
            "{what}: the resume checkpoint stays"
        );
        // The next run resumes there and completes the list.
        server.script(TOKEN_ROUTE, [Reply::xml(page2())]);
        let mut s = RunSummary::new("oai");
        oai::harvest(&app, &harvest(), &mut s).await.unwrap();
        assert!(s.errors.is_empty(), "{what}: {s}");
        assert_eq!(app.store.paper_count().await.unwrap(), 8);
        assert_eq!(app.store.checkpoint("oai:cs:arXiv::").await.unwrap(), None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_that_ends_short_of_its_declared_size_is_an_error_not_a_complete_harvest() {
    let server = FakeServer::start().await;
    // Page 1 declares 99 records; the "last" page holds 3 more and ends the list.
    server.script(FIRST_ROUTE, [Reply::xml(page1_of_list(99))]);
    server.script(TOKEN_ROUTE, [Reply::xml(page2())]);
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(support::config::against(dir.path(), &server)).await.unwrap();
    let mut s = RunSummary::new("oai");
    oai::harvest(&app, &harvest(), &mut s).await.unwrap();
    assert_eq!(s.errors.len(), 1, "{s}");
    assert!(s.errors[0].contains("ended after 8 of the 99 records"), "{s}");
    assert_eq!(server.hits(TOKEN_ROUTE), 3, "the page is asked for again before giving up");
    assert_eq!(app.store.paper_count().await.unwrap(), 8, "what arrived is kept");
    assert_eq!(app.store.checkpoint("oai:cs:arXiv::").await.unwrap().as_deref(), Some("6960524|1001"));

    // A page whose cursor skips records is refused the same way.
    let skipping = String::from_utf8(fixture("oai/spec_ListRecords_deleted_last_page.xml")).unwrap();
    server.script(FIRST_ROUTE, [Reply::xml(page1_of_list(1003))]);
    server.script(TOKEN_ROUTE, [Reply::xml(skipping)]);
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(support::config::against(dir.path(), &server)).await.unwrap();
    let mut s = RunSummary::new("oai");
    oai::harvest(&app, &harvest(), &mut s).await.unwrap();
    assert_eq!(s.errors.len(), 1, "{s}");
    assert!(s.errors[0].contains("starts at record 1000"), "{s}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_answer_that_is_not_a_feed_is_an_error_not_a_miss() {
    for (what, reply) in non_answers() {
        let server = FakeServer::start().await;
        server.script("/api/query?id_list=2104.12255", [reply]);
        let dir = tempfile::tempdir().unwrap();
        let app = App::open(support::config::against(dir.path(), &server)).await.unwrap();
        let mut s = RunSummary::new("api");
        lookup::lookup(&app, &[ArxivId::parse("2104.12255").unwrap()], &mut s).await.unwrap();
        assert_eq!(s.errors.len(), 1, "{what}: {s}");
        assert!(s.errors[0].contains("not an arXiv API Atom feed"), "{what}: {s}");
        assert!(!s.notes.iter().any(|n| n.contains("not found")), "{what}: one outcome, one message: {s}");
        assert!(server.hits("/api/query?id_list=2104.12255") > 1, "{what}: retried");
    }
    // A feed that breaks off: one error, and the ids it did not reach are not called missing.
    let server = FakeServer::start().await;
    let body = fixture("api/id_2104.12255v1_s0_m100_6ae69987ffe1.xml");
    server.script("/api/query?id_list=2104.12255", [Reply::xml(body[..body.len() / 2].to_vec())]);
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(support::config::against(dir.path(), &server)).await.unwrap();
    let mut s = RunSummary::new("api");
    lookup::lookup(&app, &[ArxivId::parse("2104.12255").unwrap()], &mut s).await.unwrap();
    assert_eq!(s.errors.len(), 1, "{s}");
    assert!(!s.notes.iter().any(|n| n.contains("not found")), "{s}");
}

/// A field far over any real size (a 3 MB title) is stored cut to its cap and counted, and the paper page
/// renders no more than the cap (issue 19, item 7).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_field_is_stored_cut_and_counted() {
    let server = FakeServer::start().await;
    let real = String::from_utf8(fixture("api/id_2104.12255v1_s0_m100_6ae69987ffe1.xml")).unwrap();
    let huge = real.replace("<title>0</title>", &format!("<title>{}</title>", "Deep ".repeat(600_000)));
    assert!(huge.len() > 3_000_000);
    server.script("/api/query?id_list=2104.12255", [Reply::xml(huge)]);
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(support::config::against(dir.path(), &server)).await.unwrap();
    let mut s = RunSummary::new("api");
    lookup::lookup(&app, &[ArxivId::parse("2104.12255").unwrap()], &mut s).await.unwrap();
    assert_eq!((s.new, s.truncated), (1, 1), "{s}");
    assert!(s.to_string().contains("truncated 1"), "{s}");
    let p = app.store.get_paper(&ArxivId::parse("2104.12255").unwrap()).await.unwrap().unwrap();
    assert_eq!(p.title.chars().count(), papertide::domain::field_caps::TITLE);
    assert!(p.title.ends_with('…'));

    use tower::ServiceExt;
    let res = papertide::web::build_router(app.clone())
        .oneshot(axum::http::Request::builder().uri("/arxiv/2104.12255").body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body = http_body_util::BodyExt::collect(res.into_body()).await.unwrap().to_bytes();
    assert!(body.len() < 200_000, "the page is {} bytes", body.len());
}
