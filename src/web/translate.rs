//! `POST /api/translate` (JSON `{"lang": "zh", "ids": ["2501.01234", …], "abstract": false}`): titles, or one
//! paper's title and abstract, in another language through the configured LLM (`llm::translate`). The answer
//! carries each translation as text and as HTML rendered like the page's own titles (escaped, TeX as
//! MathML), so the browser never turns model output into markup itself.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::WebError;
use super::text::rich;
use crate::app::App;
use crate::domain::ArxivId;
use crate::llm::UNCONFIGURED;
use crate::llm::translate::{Language, MAX_PAPERS, TranslateError};

#[derive(Debug, Deserialize)]
pub struct TranslateRequest {
    /// A language code or name; Chinese when absent.
    #[serde(default)]
    pub lang: Option<String>,
    pub ids: Vec<String>,
    /// Also the abstract (one paper at a time).
    #[serde(default, rename = "abstract")]
    pub with_abstract: bool,
}

pub(super) async fn api(
    State(app): State<App>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    body: Result<Json<TranslateRequest>, JsonRejection>,
) -> Response {
    let result = async {
        let Json(req) = body.map_err(|e| WebError::BadRequest(format!("The request must be JSON: {e}")))?;
        let Some(service) = &app.llm else {
            return Err(WebError::Unavailable(UNCONFIGURED.into()));
        };
        let lang =
            Language::parse(req.lang.as_deref().unwrap_or("zh")).map_err(|e| WebError::BadRequest(e.to_string()))?;
        if req.ids.is_empty() || req.ids.len() > MAX_PAPERS {
            return Err(WebError::BadRequest(format!("Name between 1 and {MAX_PAPERS} papers in ids.")));
        }
        if req.with_abstract && req.ids.len() != 1 {
            return Err(WebError::BadRequest("Abstracts are translated one paper at a time.".into()));
        }
        let ids = req
            .ids
            .iter()
            .map(|s| ArxivId::parse(s).map(|i| i.as_str().to_string()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| WebError::BadRequest(e.to_string()))?;
        // In the order asked for; papers this server does not hold are named, not an error.
        let papers = app.store.paper_texts(&ids).await?;
        let unknown: Vec<&String> = ids.iter().filter(|id| papers.iter().all(|p| &p.id != *id)).collect();
        if papers.is_empty() {
            return Err(WebError::NotFound("None of these papers is in this Papertide's store.".into()));
        }
        let peer = extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
        let client = super::summary::client_ip(&headers, peer, service.trust_forwarded_for());
        match service.translate(&app.store, &lang, &papers, req.with_abstract, client).await {
            Ok(t) => {
                let items: Vec<_> = t
                    .items
                    .iter()
                    .map(|i| {
                        json!({
                            "id": i.id,
                            "title": i.title,
                            "title_html": i.title.as_deref().map(|s| rich(s, &[])),
                            "abstract": i.abstract_text,
                            "abstract_html": i.abstract_text.as_deref().map(|s| rich(s, &[])),
                        })
                    })
                    .collect();
                Ok(Json(json!({
                    "lang": t.key.lang, "model": t.key.model, "prompt_version": t.key.prompt_version,
                    "translations": items, "unknown": unknown, "cached": t.cached, "fresh": t.fresh,
                }))
                .into_response())
            }
            Err(TranslateError::OverBudget { message, retry_after }) => {
                let body = json!({ "error": message, "status": 429, "code": "over_budget" });
                let mut res = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
                if let Some(wait) = retry_after {
                    super::headers::set_retry_after(&mut res, wait);
                }
                Ok(res)
            }
            Err(e @ (TranslateError::Llm(_) | TranslateError::Unusable(_))) => {
                tracing::warn!(error = %e, "translation failed");
                Ok((StatusCode::BAD_GATEWAY, Json(json!({ "error": e.to_string(), "status": 502 }))).into_response())
            }
            Err(TranslateError::BadLanguage(m)) => Err(WebError::BadRequest(m)),
            Err(TranslateError::Store(e)) => Err(WebError::Store(e)),
        }
    };
    result.await.unwrap_or_else(|e: WebError| e.into_response())
}
