//! Requests through the real router without a socket (`build_router` + `oneshot`).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use papertide::app::App;
use tower::ServiceExt;

/// GETs `uri` and returns the status and the raw body.
pub async fn get_bytes(app: &App, uri: &str) -> (StatusCode, Vec<u8>) {
    let res = papertide::web::build_router(app.clone())
        .oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    (status, res.into_body().collect().await.unwrap().to_bytes().to_vec())
}

/// GETs `uri` and returns the status and the body as JSON (`Null` when it is not JSON).
pub async fn get_json(app: &App, uri: &str) -> (StatusCode, serde_json::Value) {
    let (status, bytes) = get_bytes(app, uri).await;
    (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}
