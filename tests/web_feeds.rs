//! RSS feeds parsed with a real feed parser (`feed-rs`): guids, dates, absolute links, escaping.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::NaiveDate;
use http_body_util::BodyExt;
use papertide::app::App;
use papertide::domain::{AnnounceKind, Announcement, ArxivId, Category};
use support::papers::paper;
use tower::ServiceExt;

async fn app() -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = support::config::at(dir.path());
    config.server.public_url = Some("https://papers.example.org/".into());
    let app = App::open(config).await.unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 6, 16).unwrap();
    let mut recs = Vec::new();
    let mut anns = Vec::new();
    for (i, title) in
        ["Diffusion & <b>bold</b> claims", "Plain\u{1} diffusion\u{b}", "Old diffusion"].iter().enumerate()
    {
        let id = format!("2606.0010{i}");
        recs.push(paper(&id, *title, "Diffusion with $x<y$ & <i>markup</i>.", &["cs.LG"]));
        let date = if i == 2 { day.pred_opt().unwrap() } else { day };
        anns.push(Announcement {
            date,
            category: Category::parse("cs.LG").unwrap(),
            id: ArxivId::parse(&id).unwrap(),
            kind: AnnounceKind::New,
        });
    }
    app.store_batch(&recs, &anns, None).await.unwrap();
    app.commit_index().await.unwrap();
    (dir, app)
}

async fn feed(app: &App, uri: &str) -> (String, feed_rs::model::Feed) {
    let res = papertide::web::build_router(app.clone())
        .oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{uri}");
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("application/rss+xml"), "{ct}");
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let parsed = feed_rs::parser::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{uri}: {e}\n{text}"));
    (text, parsed)
}

#[tokio::test]
async fn listing_feed_is_valid_rss() {
    let (_dir, app) = app().await;
    let (text, f) = feed(&app, "/arxiv/cs.LG/feed").await;
    assert_eq!(f.feed_type, feed_rs::model::FeedType::RSS2);
    assert!(text.contains("<atom:link href=\"https://papers.example.org/arxiv/cs.LG/feed\" rel=\"self\""));
    assert_eq!(f.entries.len(), 2, "the latest day only");
    let e = f.entries.iter().find(|e| e.id == "oai:arXiv.org:2606.00100").expect("stable guid");
    assert_eq!(e.title.as_ref().unwrap().content, "Diffusion & <b>bold</b> claims", "markup in titles is text");
    assert_eq!(e.links[0].href, "https://papers.example.org/arxiv/2606.00100", "absolute links");
    assert_eq!(e.published.unwrap().to_rfc3339(), "2026-06-16T00:00:00+00:00");
    assert!(text.contains("<pubDate>Tue, 16 Jun 2026 00:00:00 +0000</pubDate>"), "RFC 822 dates");
    assert!(e.summary.as_ref().unwrap().content.contains("x<y$ & <i>markup</i>"));
    let plain = f.entries.iter().find(|e| e.id == "oai:arXiv.org:2606.00101").unwrap();
    assert_eq!(plain.title.as_ref().unwrap().content, "Plain diffusion", "characters XML 1.0 forbids are dropped");
    // The same paper keeps its guid in another feed.
    let (_, f2) = feed(&app, "/arxiv/search/feed?query=diffusion").await;
    assert!(f2.entries.iter().any(|e| e.id == "oai:arXiv.org:2606.00100"));
}

#[tokio::test]
async fn search_feed_lists_newest_matches_first() {
    let (_dir, app) = app().await;
    let (text, f) = feed(&app, "/arxiv/search/feed?query=diffusion").await;
    assert_eq!(f.entries.len(), 3);
    assert_eq!(f.entries.last().unwrap().id, "oai:arXiv.org:2606.00102", "the older day last");
    assert!(f.title.unwrap().content.contains("diffusion"));
    assert!(text.contains("https://papers.example.org/arxiv/search/feed?query=diffusion"));
    for e in &f.entries {
        assert!(e.links[0].href.starts_with("https://papers.example.org/arxiv/"));
        assert!(e.published.is_some());
    }
}

#[tokio::test]
async fn opensearch_description_names_this_server() {
    let (_dir, app) = app().await;
    let res = papertide::web::build_router(app.clone())
        .oneshot(Request::builder().uri("/opensearch.xml").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"), "{text}");
    assert!(text.contains(r#"template="https://papers.example.org/arxiv/search?query={searchTerms}""#), "{text}");
    assert!(text.contains(r#"template="https://papers.example.org/arxiv/search/feed?query={searchTerms}""#));
    let mut reader = quick_xml::Reader::from_str(&text);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed XML: {e}\n{text}"),
        }
    }
}
