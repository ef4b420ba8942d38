//! The JSON API through the real router (`build_router` + `oneshot`, no socket) over a real store and index.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use papertide::app::App;
use papertide::domain::PaperRecord;
use serde_json::Value;
use support::papers::paper;
use tower::ServiceExt;

async fn app() -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(support::config::at(dir.path())).await.unwrap();
    let rec = |id: &str, title: &str| PaperRecord {
        authors: vec!["Grace Hopper".into()],
        ..paper(id, title, "Transformers for retrieval.", &["cs.IR"])
    };
    app.store_batch(
        &[rec("2501.00001v2", "Dense <script>alert(1)</script> retrieval"), rec("hep-th/9901001v1", "Old strings")],
        &[],
        None,
    )
    .await
    .unwrap();
    app.commit_index().await.unwrap();
    (dir, app)
}

async fn get(app: &App, uri: &str) -> (StatusCode, Value) {
    support::router::get_json(app, uri).await
}

#[tokio::test]
async fn health_paper_and_search_routes() {
    let (_dir, app) = app().await;
    let (s, v) = get(&app, "/healthz").await;
    assert_eq!((s, v["status"].as_str(), v["papers"].as_i64()), (StatusCode::OK, Some("ok"), Some(2)));

    let (s, v) = get(&app, "/api/papers/2501.00001").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["id"], "2501.00001");
    assert_eq!(v["version"], 2);
    assert_eq!(v["title"], "Dense <script>alert(1)</script> retrieval", "JSON carries text as data");
    // A versioned id and an old-style id with its slash.
    assert_eq!(get(&app, "/api/papers/2501.00001v1").await.0, StatusCode::OK);
    let (s, v) = get(&app, "/api/papers/hep-th/9901001").await;
    assert_eq!((s, v["title"].as_str()), (StatusCode::OK, Some("Old strings")));

    let (s, v) = get(&app, "/api/papers/2501.99999").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(v["error"].as_str().unwrap().contains("2501.99999"));
    let (s, v) = get(&app, "/api/papers/not-an-id").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["error"].as_str().unwrap().contains("a valid arXiv id looks like"));

    let (s, v) = get(&app, "/api/search?query=retrieval&limit=5").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["total"], 2);
    assert_eq!(v["results"][0]["id"], "2501.00001", "the title match ranks first");
    assert!(v["results"][0]["title"].is_string());
    let (s, v) = get(&app, "/api/search?query=author:hopper&category=cs.IR").await;
    assert_eq!((s, v["total"].as_u64()), (StatusCode::OK, Some(2)));
}

#[tokio::test]
async fn bad_search_input_gets_a_helpful_400() {
    let (_dir, app) = app().await;
    for uri in ["/api/search?query=", "/api/search?query=x&category=%3Cscript%3E", "/api/search?query=x&from=yesterday"]
    {
        let (s, v) = get(&app, uri).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{uri}");
        assert!(v["error"].is_string(), "{uri}");
    }
    let long = format!("/api/search?query={}", "a".repeat(1200));
    assert_eq!(get(&app, &long).await.0, StatusCode::BAD_REQUEST);
    // Syntax errors are read leniently with a note.
    let (s, v) = get(&app, "/api/search?query=title:(retrieval").await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["note"].is_string());
    assert_eq!(get(&app, "/nope").await.0, StatusCode::NOT_FOUND);
}

/// Every `/api/` error is the JSON error shape with a message, whatever produced it (issue 19, item 5):
/// query-string rejections, the body limit, a wrong method, an unknown address.
#[tokio::test]
async fn every_api_error_is_json_with_a_message() {
    let (_dir, app) = app().await;
    let cases: Vec<(&str, &str, Vec<u8>, StatusCode, &str)> = vec![
        ("GET", "/api/search?q=x&limit=ten", vec![], StatusCode::BAD_REQUEST, "limit"),
        ("GET", "/api/search?q=x&offset=-1", vec![], StatusCode::BAD_REQUEST, "offset"),
        ("GET", "/api/search?q=x&limit=99999999999999999999999", vec![], StatusCode::BAD_REQUEST, "limit"),
        ("GET", "/api/search?q=x&sort=sideways", vec![], StatusCode::BAD_REQUEST, "sort"),
        ("GET", "/api/arxiv/cs.CL?skip=many", vec![], StatusCode::BAD_REQUEST, "skip"),
        ("POST", "/api/papers/2501.00001/summary", vec![b'x'; 64 * 1024], StatusCode::PAYLOAD_TOO_LARGE, "16 kib"),
        ("POST", "/api/search?q=x", vec![], StatusCode::METHOD_NOT_ALLOWED, "method"),
        ("GET", "/api/nothing-here", vec![], StatusCode::NOT_FOUND, "nothing"),
    ];
    for (method, uri, body, want, says) in cases {
        let len = body.len();
        let res = papertide::web::build_router(app.clone())
            .oneshot(
                Request::builder()
                    .method(method)
                    .uri(uri)
                    .header("content-length", len)
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await
            .unwrap();
        let status = res.status();
        let ctype = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let v: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{method} {uri}: not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
        assert_eq!(status, want, "{method} {uri}: {v}");
        assert!(ctype.starts_with("application/json"), "{method} {uri}: {ctype}");
        assert_eq!(v["status"].as_u64(), Some(u64::from(want.as_u16())), "{method} {uri}: {v}");
        let msg = v["error"].as_str().unwrap_or_else(|| panic!("{method} {uri}: {v}"));
        assert!(msg.to_lowercase().contains(says), "{method} {uri}: {msg:?} should mention {says:?}");
    }
}
