//! LLM summaries over HTTP: the SSE stream `GET /api/papers/{id}/summary?lang=en|zh`, the admin-only
//! regenerate (`POST .../summary/regenerate`, or `?regenerate=1`, with `Authorization: Bearer <admin_token>`),
//! and the page `GET /arxiv/{id}/summary?lang=en|zh`, which shows a cached summary without JavaScript and
//! otherwise streams it in with `static/summary.js` (no inline script, so a strict CSP holds).

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use askama::Template;
use axum::Json;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::json;

use super::WebError;
use crate::app::App;
use crate::domain::PaperKey;
use crate::llm::context::Subject;
use crate::llm::render::answer_html;
use crate::llm::{Lang, Opened, Service, Subscription, UNCONFIGURED};

#[derive(Debug, Default, Deserialize)]
pub struct SummaryParams {
    pub lang: Option<String>,
    pub regenerate: Option<String>,
}

pub(super) fn parse_lang(lang: Option<&str>) -> Result<Lang, WebError> {
    Lang::parse(lang.unwrap_or("en")).ok_or_else(|| WebError::BadRequest("lang must be en or zh".into()))
}

/// What the summary stream needs of the request (its headers and peer address; not the body, which is not
/// `Sync` and would make the handler's future not `Send`).
pub(super) struct Caller {
    headers: HeaderMap,
    peer: Option<SocketAddr>,
}

impl Caller {
    pub(super) fn of(req: Request) -> Caller {
        let (parts, _) = req.into_parts();
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
        Caller { headers: parts.headers, peer }
    }
}

pub(super) async fn summary_stream(
    app: &App,
    raw_id: &str,
    params: &SummaryParams,
    req: &Caller,
    regenerate: bool,
) -> Response {
    let result = async {
        let lang = parse_lang(params.lang.as_deref())?;
        let id = PaperKey::parse(raw_id).map_err(|e| WebError::BadRequest(e.to_string()))?;
        let Some(service) = &app.llm else {
            return Ok(sse(Subscription::fixed(Service::unconfigured_events()), idle_limit(app)).into_response());
        };
        if regenerate && !service.is_admin(bearer(&req.headers)) {
            let body = json!({ "error": "Regenerating a summary needs the admin token (Authorization: Bearer).",
                               "status": 401 });
            return Ok((StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], Json(body)).into_response());
        }
        let paper = find_paper(app, &id).await?;
        let client = client_ip(&req.headers, req.peer, service.trust_forwarded_for());
        Ok(match service.open(&app.store, &app.http, &paper, lang, client, regenerate).await? {
            Opened::Stream(sub) => sse(sub, idle_limit(app)).into_response(),
            Opened::Refused { message, retry_after } => {
                let events = vec![crate::llm::Event {
                    seq: 0,
                    kind: "error",
                    data: json!({ "message": message, "code": "over_budget" }),
                }];
                let mut res =
                    (StatusCode::TOO_MANY_REQUESTS, sse(Subscription::fixed(events), idle_limit(app))).into_response();
                if let Some(wait) = retry_after {
                    super::headers::set_retry_after(&mut res, wait);
                }
                res
            }
        })
    };
    result.await.unwrap_or_else(|e: WebError| e.into_response())
}

fn idle_limit(app: &App) -> Duration {
    Duration::from_secs(app.config.server.sse_idle_timeout_s.max(1))
}

/// What to summarise: the stored arXiv paper, or the stored venue paper a key names.
async fn find_paper(app: &App, id: &PaperKey) -> Result<Subject, WebError> {
    let found = match id {
        PaperKey::Arxiv(arxiv) => app.store.get_paper(arxiv).await?.as_ref().map(Subject::from),
        venue => app.store.venue_paper(venue).await?.as_ref().map(Subject::from),
    };
    found.ok_or_else(|| WebError::NotFound(format!("paper {id} is not in this Papertide's store")))
}

/// The summary's events as SSE. Its idle rule: a stream with no event for `idle` ends with an `error` event
/// (the request timeout does not apply to streams; a stuck generation must not hold a connection forever).
fn sse(sub: Subscription, idle: Duration) -> impl IntoResponse {
    let to_sse = |ev: crate::llm::Event| SseEvent::default().event(ev.kind).data(ev.data.to_string());
    let events = futures::stream::unfold(Some(Box::pin(sub.into_stream())), move |state| async move {
        let mut stream = state?;
        match tokio::time::timeout(idle, stream.next()).await {
            Ok(Some(ev)) => Some((Ok::<_, Infallible>(to_sse(ev)), Some(stream))),
            Ok(None) => None,
            Err(_) => {
                let data = json!({
                    "message": "The summary stream was idle for too long and was closed; reload to see where it stands.",
                    "code": "idle",
                });
                Some((Ok(SseEvent::default().event("error").data(data.to_string())), None))
            }
        }
    });
    // Proxies such as nginx buffer responses unless told not to, which would hold the stream back.
    ([("x-accel-buffering", "no")], Sse::new(events).keep_alive(KeepAlive::default()))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The connection's peer address; with `trust_forwarded_for`, the last `X-Forwarded-For` entry (the one the
/// trusted proxy appended; earlier entries are the client's own claims). Without either, all clients share
/// one bucket.
pub(super) fn client_ip(headers: &HeaderMap, peer: Option<SocketAddr>, trust_forwarded_for: bool) -> IpAddr {
    if trust_forwarded_for
        && let Some(ip) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok())
    {
        return ip;
    }
    peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.ip())
}

struct CachedAnswer {
    question: String,
    html: String,
}

#[derive(Template)]
#[template(path = "summary.html")]
struct SummaryPage<'a> {
    chrome: super::views::Chrome,
    paper_id: &'a str,
    /// The paper's page and its summary page (arXiv papers under /arxiv, venue papers under /venue/paper).
    page_url: String,
    crumb: String,
    title: &'a str,
    lang: &'a str,
    other_lang: &'a str,
    other_lang_name: &'a str,
    unconfigured: Option<&'a str>,
    stream_url: String,
    cached: Vec<CachedAnswer>,
    abstract_only: bool,
    model: &'a str,
}

/// The summary page of paper `id` in `lang` (HTTP 200 whether or not an LLM is configured).
pub async fn summary_page(app: &App, id: &str, lang: Lang) -> Response {
    match render_page(app, id, lang).await {
        Ok(html) => {
            let csp =
                "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
            ([(header::CONTENT_SECURITY_POLICY, csp)], Html(html)).into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn render_page(app: &App, id: &str, lang: Lang) -> Result<String, WebError> {
    let id = PaperKey::parse(id).map_err(|e| WebError::BadRequest(e.to_string()))?;
    let paper = find_paper(app, &id).await?;
    let (page_url, crumb) = match &id {
        PaperKey::Arxiv(a) => (format!("/arxiv/{a}"), format!("arXiv:{a}")),
        venue => (format!("/venue/paper/{venue}"), venue.to_string()),
    };
    let (other_lang, other_lang_name) = match lang {
        Lang::En => ("zh", "中文"),
        Lang::Zh => ("en", "English"),
    };
    let mut page = SummaryPage {
        chrome: super::views::Chrome::new(format!("Summary · {}", paper.title)),
        paper_id: &paper.key,
        page_url,
        crumb,
        title: &paper.title,
        lang: lang.code(),
        other_lang,
        other_lang_name,
        unconfigured: Some(UNCONFIGURED),
        stream_url: format!("/api/papers/{}/summary?lang={}", paper.key, lang.code()),
        cached: Vec::new(),
        abstract_only: false,
        model: "",
    };
    if let Some(service) = &app.llm {
        page.unconfigured = None;
        page.model = service.model();
        if let Some(s) = app.store.complete_summary(&service.key(&paper.key, lang)).await? {
            page.abstract_only = !s.full_text;
            page.cached = s
                .answers
                .iter()
                .map(|a| CachedAnswer { question: a.question.clone(), html: answer_html(&a.answer) })
                .collect();
        }
    }
    page.render().map_err(|e| WebError::Internal(e.to_string()))
}
