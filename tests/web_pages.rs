//! The reader pages through the real router (`build_router` + `oneshot`) over a real store and index:
//! every route, status codes, escaping, category expressions, paging, ids, lookups, 304s, headers.

mod support;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use papertide::app::App;
use papertide::domain::{AnnounceKind, ArxivId, PaperRecord};
use serde_json::Value;
use support::papers::paper;
use tower::ServiceExt;

const DAY1: &str = "2026-06-15";
const DAY2: &str = "2026-06-16";

fn rec(id: &str, title: &str, cats: &[&str]) -> PaperRecord {
    PaperRecord {
        authors: vec!["Grace Hopper".into(), "Alan <b>Turing</b>".into()],
        comments: Some("10 pages".into()),
        ..paper(id, title, format!("We study {title} with $x^2 < y$ and transformers."), cats)
    }
}

use support::papers::announcement as ann;

/// A store with two days: day 2 has 30 new cs.AI papers (two also in cs.CY), a cs.LG cross-list and a
/// replacement; day 1 has one hostile title.
async fn app_with(api_url: &str) -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = support::config::loopback(dir.path());
    config.arxiv.api_url = api_url.to_string();
    config.server.public_url = Some("https://papers.example.org".into());
    let app = App::open(config).await.unwrap();
    let mut recs = Vec::new();
    let mut anns = Vec::new();
    for i in 0..30 {
        let id = format!("2606.{:05}", 100 + i);
        let cats: &[&str] = if i < 2 { &["cs.AI", "cs.CY"] } else { &["cs.AI"] };
        recs.push(rec(&id, &format!("Paper number {i}"), cats));
        anns.push(ann(&id, "cs.AI", DAY2, AnnounceKind::New));
    }
    recs.push(rec("2606.00900", "A cross-listed learner", &["cs.LG", "cs.AI"]));
    anns.push(ann("2606.00900", "cs.AI", DAY2, AnnounceKind::Cross));
    anns.push(ann("2606.00900", "cs.LG", DAY2, AnnounceKind::New));
    recs.push(rec("2501.00001v2", "A replaced paper", &["cs.AI"]));
    anns.push(ann("2501.00001", "cs.AI", DAY2, AnnounceKind::Replace));
    recs.push(rec("2606.00001", "Dense <script>alert(1)</script> retrieval", &["cs.AI"]));
    anns.push(ann("2606.00001", "cs.AI", DAY1, AnnounceKind::New));
    recs.push(rec("hep-th/9901001v1", "Old strings", &["hep-th"]));
    app.store_batch(&recs, &anns, None).await.unwrap();
    app.commit_index().await.unwrap();
    (dir, app)
}

async fn app() -> (tempfile::TempDir, App) {
    // Nothing listens on port 9: lookups fail fast.
    app_with("http://127.0.0.1:9/api/query").await
}

async fn send(app: &App, uri: &str, headers: &[(&str, &str)]) -> (StatusCode, HeaderMap, String) {
    let mut req = Request::builder().uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = papertide::web::build_router(app.clone()).oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = res.status();
    let h = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, h, String::from_utf8_lossy(&bytes).into_owned())
}

async fn get(app: &App, uri: &str) -> (StatusCode, String) {
    let (s, _, b) = send(app, uri, &[]).await;
    (s, b)
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[tokio::test]
async fn every_page_route_answers() {
    let (_dir, app) = app().await;
    for (uri, status, ctype) in [
        ("/", 200, "text/html"),
        ("/arxiv/cs.AI", 200, "text/html"),
        ("/arxiv/cs.AI,cs.LG", 200, "text/html"),
        ("/arxiv/cs.AI+cs.LG-cs.CY", 200, "text/html"),
        ("/arxiv/2606.00100", 200, "text/html"),
        ("/arxiv/2606.00100,2606.00101", 200, "text/html"),
        ("/arxiv/hep-th/9901001", 200, "text/html"),
        ("/arxiv/search?query=transformers", 200, "text/html"),
        ("/arxiv/search", 200, "text/html"),
        ("/arxiv/cs.AI/feed", 200, "application/rss+xml"),
        ("/arxiv/search/feed?query=paper", 200, "application/rss+xml"),
        ("/opensearch.xml", 200, "application/opensearchdescription+xml"),
        ("/starred", 200, "text/html"),
        ("/static/app.js", 200, "text/javascript"),
        ("/static/style.css", 200, "text/css"),
        ("/static/nope.js", 404, "text/html"),
        ("/api/arxiv/cs.AI", 200, "application/json"),
        ("/api/papers/2606.00100", 200, "application/json"),
        ("/api/search?query=paper", 200, "application/json"),
        ("/healthz", 200, "application/json"),
        ("/no/such/page", 404, "text/html"),
        ("/api/nothing", 404, "application/json"),
        ("/arxiv/cs.AI?date=yesterday", 400, "text/html"),
        ("/arxiv/cs.AI?show=0", 400, "text/html"),
        ("/arxiv/cs.AI?skip=-1", 400, "text/html"),
        ("/arxiv/-cs.CY", 400, "text/html"),
        ("/arxiv/cs.AI,c$s", 400, "text/html"),
        ("/api/arxiv/cs.AI?date=x", 400, "application/json"),
        ("/arxiv/search/feed", 400, "text/html"),
    ] {
        let (s, h, body) = send(&app, uri, &[]).await;
        assert_eq!(s.as_u16(), status, "{uri}: {body}");
        let ct = h.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(ct.starts_with(ctype), "{uri}: content-type {ct}");
    }
}

#[tokio::test]
async fn pages_carry_security_headers_and_no_inline_script() {
    let (_dir, app) = app().await;
    for uri in ["/", "/arxiv/cs.AI", "/arxiv/search?query=x", "/no/such", "/arxiv/2606.00100"] {
        let (_, h, body) = send(&app, uri, &[]).await;
        let csp = h.get(header::CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{uri}: {csp}");
        assert_eq!(h.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff");
        assert!(h.get(header::REFERRER_POLICY).is_some());
        // The only scripts are external ones from /static.
        for (i, _) in body.match_indices("<script") {
            let rest = &body[i..];
            assert!(
                rest.starts_with("<script src=\"/static/app.js")
                    || rest.starts_with("<script src=\"/static/summary.js"),
                "{uri}: inline script"
            );
        }
        assert!(!body.contains(" style=\""), "{uri}: inline style");
    }
}

#[tokio::test]
async fn hostile_strings_are_escaped() {
    let (_dir, app) = app().await;
    for uri in ["/arxiv/cs.AI?date=2026-06-15", "/arxiv/2606.00001", "/arxiv/search?query=dense+retrieval"] {
        let (s, body) = get(&app, uri).await;
        assert_eq!(s, StatusCode::OK, "{uri}");
        assert!(!body.contains("<script>alert(1)"), "{uri}: raw script in page");
        assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{uri}: title shown as text");
        assert!(!body.contains("<b>Turing</b>"), "{uri}: author markup");
    }
    // A hostile query is echoed escaped.
    let (s, body) = get(&app, "/arxiv/search?query=%3Cscript%3Ealert(2)%3C/script%3E").await;
    assert_eq!(s, StatusCode::OK);
    assert!(!body.contains("<script>alert(2)") && body.contains("&#60;script&#62;alert(2)"), "askama escapes");
    // Hostile TeX renders to math or to escaped source, never to markup.
    let (_, body) = get(&app, "/arxiv/2606.00100").await;
    assert!(body.contains("<math"), "math is rendered to MathML");
}

#[tokio::test]
async fn category_expressions_include_and_exclude() {
    let (_dir, app) = app().await;
    let (_, body) = get(&app, "/arxiv/cs.AI?show=all").await;
    assert_eq!(count(&body, "<article"), 32, "30 new, 1 cross, 1 replacement");
    assert!(body.contains("New submissions <span class=\"section-count\">(30)"));
    assert!(body.contains("Cross-lists <span class=\"section-count\">(1)"));
    assert!(body.contains("Replacements <span class=\"section-count\">(1)"));
    // cs.LG lists 2606.00900 as new; merged with cs.AI it is shown once, as new.
    let (_, body) = get(&app, "/arxiv/cs.AI,cs.LG?show=all").await;
    assert_eq!(count(&body, "<article"), 32);
    assert_eq!(count(&body, "id=\"p-2606.00900\""), 1);
    assert!(body.contains("New submissions <span class=\"section-count\">(31)"));
    // Excluding cs.CY drops the two papers cross-listed there.
    let (_, body) = get(&app, "/arxiv/cs.AI+cs.LG-cs.CY?show=all").await;
    assert_eq!(count(&body, "<article"), 30);
    assert!(!body.contains("id=\"p-2606.00100\"") && !body.contains("id=\"p-2606.00101\""));
    let v: Value = serde_json::from_str(&get(&app, "/api/arxiv/cs.AI-cs.CY?show=all").await.1).unwrap();
    assert_eq!((v["total"].as_u64(), v["exclude"][0].as_str()), (Some(30), Some("cs.CY")));
    assert_eq!(v["papers"][0]["announce_type"], "new");
}

#[tokio::test]
async fn days_and_paging() {
    let (_dir, app) = app().await;
    // Default: the latest day, first 25, with a link to the previous day and none to a next one.
    let (_, body) = get(&app, "/arxiv/cs.AI").await;
    assert_eq!(count(&body, "<article"), 25);
    assert!(body.contains("Showing 1–25 of 32"));
    assert!(body.contains(&format!("href=\"/arxiv/cs.AI?date={DAY1}\"")));
    assert!(!body.contains("Next day"));
    assert!(body.contains("Show all"));
    assert!(body.contains(&format!("<option value=\"{DAY1}\">")), "day picker lists the days with data");
    // The last page, and a skip past the end.
    let (_, body) = get(&app, "/arxiv/cs.AI?skip=25").await;
    assert_eq!(count(&body, "<article"), 7);
    assert!(body.contains("Showing 26–32 of 32") && !body.contains("rel=\"next\" href=\"/arxiv/cs.AI?date"));
    let (s, body) = get(&app, "/arxiv/cs.AI?skip=1000").await;
    assert_eq!((s, count(&body, "<article")), (StatusCode::OK, 0));
    let (_, body) = get(&app, "/arxiv/cs.AI?show=all").await;
    assert_eq!(count(&body, "<article"), 32);
    let (_, body) = get(&app, "/arxiv/cs.AI?show=1&skip=31").await;
    assert_eq!(count(&body, "<article"), 1);
    // The older day links forward, and a day without data is an empty listing, not an error.
    let (_, body) = get(&app, &format!("/arxiv/cs.AI?date={DAY1}")).await;
    assert!(body.contains(&format!("href=\"/arxiv/cs.AI?date={DAY2}\"")) && count(&body, "<article") == 1);
    let (s, body) = get(&app, "/arxiv/cs.AI?date=2020-01-01").await;
    assert_eq!((s, count(&body, "<article")), (StatusCode::OK, 0));
    let (s, body) = get(&app, "/arxiv/math.AG").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("No announcements stored"));
}

#[tokio::test]
async fn paper_pages_and_ids() {
    let (_dir, app) = app().await;
    let (s, body) = get(&app, "/arxiv/2606.00100v1").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("Paper number 0") && body.contains("https://arxiv.org/pdf/2606.00100"));
    assert!(body.contains("class=\"cat primary\""), "primary category marked");
    assert!(body.contains("href=\"/arxiv/search?query=author%3A%22Grace%20Hopper%22\""), "authors link to a search");
    assert!(
        body.contains("href=\"/arxiv/2606.00100/summary\"") && body.contains("href=\"/arxiv/2606.00100/related\""),
        "Summary and Related are real links (JavaScript turns Related into an inline panel)"
    );
    assert!(body.contains("<section class=\"related\""), "the paper page ends with its related papers");
    let (s, body) = get(&app, "/arxiv/2606.00100,hep-th/9901001").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(count(&body, "<article"), 2);
    // Malformed: 400 saying what an id looks like. Unknown (and arXiv unreachable): 404.
    let (s, body) = get(&app, "/arxiv/2606.0").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("a valid arXiv id looks like"));
    let (s, body) = get(&app, "/arxiv/2606.99999").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("2606.99999") && body.contains("class=\"error-page\""));
}

#[tokio::test]
async fn unknown_ids_are_looked_up_at_arxiv_and_stored() {
    let server = support::fake_server::FakeServer::start().await;
    let body = std::fs::read("tests/fixtures/arxiv/api/id_1605.08386_s0_m100_199195aa31ad.xml").unwrap();
    server.script("/api/query?id_list=1605.08386", [support::fake_server::Reply::xml(body)]);
    let (_dir, app) = app_with(&server.url("/api/query")).await;
    let (s, page) = get(&app, "/arxiv/1605.08386").await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("id=\"p-1605.08386\""));
    assert!(app.store.get_paper(&ArxivId::parse("1605.08386").unwrap()).await.unwrap().is_some(), "stored");
    // Now served from the store: no second request.
    assert_eq!(get(&app, "/arxiv/1605.08386").await.0, StatusCode::OK);
    assert_eq!(server.hits("/api/query?id_list=1605.08386"), 1);
}

#[tokio::test]
async fn search_page_messages_never_500() {
    let (_dir, app) = app().await;
    let (s, body) = get(&app, "/arxiv/search?query=transformers&sort=date").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("<mark>transformers</mark>"), "snippets highlight the terms");
    let (s, body) = get(&app, "/arxiv/search?query=author:hopper&category=cs.LG").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("1 results"), "{body}");
    let long = "a".repeat(1001);
    let (s, body) = get(&app, &format!("/arxiv/search?query={long}")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("too long"));
    for q in ["(((", "title:", "\"unclosed", "AND", "*", "author:\"x"] {
        let (s, body) = get(&app, &format!("/arxiv/search?query={}", q.replace('"', "%22"))).await;
        assert!(s == StatusCode::OK || s == StatusCode::BAD_REQUEST, "{q}: {s}");
        assert!(body.contains("<form class=\"search-form\""), "{q}: the page, with its form");
    }
    let (s, body) = get(&app, "/arxiv/search?query=x&from=tomorrow").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("must be a date"));
    // Paging: 32 papers say "paper"; page two of ten.
    let (_, body) = get(&app, "/arxiv/search?query=paper&show=10&skip=10").await;
    assert!(body.contains("11–20 shown") && body.contains("rel=\"prev\"") && body.contains("rel=\"next\""));
    assert!(body.contains("rel=\"alternate\" type=\"application/rss+xml\""));
}

#[tokio::test]
async fn conditional_get_answers_304() {
    let (_dir, app) = app().await;
    for uri in ["/arxiv/cs.AI", "/", "/arxiv/cs.AI/feed", "/static/app.js", "/arxiv/2606.00100"] {
        let (s, h, _) = send(&app, uri, &[]).await;
        assert_eq!(s, StatusCode::OK);
        let etag = h.get(header::ETAG).expect("etag").to_str().unwrap().to_string();
        assert!(h.get(header::LAST_MODIFIED).is_some() && h.get(header::CACHE_CONTROL).is_some());
        let (s, h2, body) = send(&app, uri, &[("if-none-match", &etag)]).await;
        assert_eq!((s, body.as_str()), (StatusCode::NOT_MODIFIED, ""), "{uri}");
        assert_eq!(h2.get(header::ETAG).unwrap().to_str().unwrap(), etag);
        let (s, _, _) = send(&app, uri, &[("if-none-match", "\"other\"")]).await;
        assert_eq!(s, StatusCode::OK);
    }
}

#[tokio::test]
async fn new_data_invalidates_cached_pages() {
    let (_dir, app) = app().await;
    let (_, h, _) = send(&app, "/arxiv/cs.AI", &[]).await;
    let etag = h.get(header::ETAG).unwrap().to_str().unwrap().to_string();
    let id = "2606.00999";
    app.store_batch(&[rec(id, "A late paper", &["cs.AI"])], &[ann(id, "cs.AI", DAY2, AnnounceKind::New)], None)
        .await
        .unwrap();
    let (s, _, body) = send(&app, "/arxiv/cs.AI?show=all", &[("if-none-match", &etag)]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("A late paper"));
}

#[tokio::test]
async fn pages_are_compressed_and_limits_hold() {
    let (_dir, app) = app().await;
    let (s, h, _) = send(&app, "/arxiv/cs.AI", &[("accept-encoding", "gzip")]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h.get(header::CONTENT_ENCODING).unwrap(), "gzip");
    let long = format!("/arxiv/search?query={}", "a".repeat(5000));
    assert_eq!(send(&app, &long, &[]).await.0, StatusCode::URI_TOO_LONG);
    let req = Request::builder().method("POST").uri("/arxiv/cs.AI").body(Body::from(vec![b'x'; 100_000])).unwrap();
    let res = papertide::web::build_router(app.clone()).oneshot(req).await.unwrap();
    assert!(res.status().is_client_error());
}
