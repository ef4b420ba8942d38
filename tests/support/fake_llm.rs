//! A fake OpenAI-compatible Chat Completions server on `127.0.0.1:0`, written with axum because what it must
//! do is stream: real-format `chat.completion.chunk` SSE chunks, slowly if asked, then fail, stall or send
//! garbage mid-stream. It also serves `/html/{id}` as a stand-in for arXiv's HTML renderings (404 unless set).
//!
//! Every answer is `Answer {n}: $x^2$ **done**.` where n is the number of user turns in the request, so tests
//! can tell which question an answer belongs to. Behaviours are scripted like `fake_server`: each request takes
//! the front of the queue and the last entry repeats forever.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::SinkExt;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub enum Behavior {
    /// A normal answer, each piece `delay` after the previous one (the first at once), ending with the given
    /// finish_reason, a usage chunk and `[DONE]`.
    Stream { delay: Duration, finish: &'static str },
    /// Sends `pieces` pieces of the answer, then breaks the connection.
    FailAfter { pieces: usize },
    /// Sends `pieces` pieces, then goes silent (for 60 s, or until the client hangs up).
    StallAfter { pieces: usize },
    /// A chunk that is not JSON.
    Malformed,
    /// Streams 64 KiB pieces forever, never finishing (a server ignoring `max_tokens`).
    Runaway,
    /// A plain error response.
    Status { code: u16, retry_after: Option<u64>, body: &'static str },
    /// `307 Temporary Redirect` to this URL (which must never receive the API key).
    Redirect(String),
    /// A translator: the last user message is a JSON object of texts; the answer maps each key to
    /// `〔译〕` + its text (formulas kept), in a code fence as chat models like to, streamed in small pieces.
    Translate,
    /// This exact answer, streamed in small pieces, finishing with `stop`.
    Reply(String),
}

impl Behavior {
    pub fn ok() -> Self {
        Behavior::Stream { delay: Duration::ZERO, finish: "stop" }
    }
    pub fn slow(ms: u64) -> Self {
        Behavior::Stream { delay: Duration::from_millis(ms), finish: "stop" }
    }
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub authorization: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct Shared {
    script: Mutex<VecDeque<Behavior>>,
    requests: Mutex<Vec<Recorded>>,
    html: Mutex<HashMap<String, String>>,
}

pub struct FakeLlm {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

/// The text of answer `n` and the pieces it streams in.
pub fn answer_pieces(n: usize) -> Vec<String> {
    vec!["Answer ".into(), format!("{n}"), ": ".into(), "$x^2$ ".into(), "**done**.".into()]
}

pub fn answer(n: usize) -> String {
    answer_pieces(n).concat()
}

impl FakeLlm {
    pub async fn start() -> FakeLlm {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .route("/html/{*id}", get(html))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // TCP_NODELAY like real API servers: otherwise each small chunk after the first can wait ~40 ms for a
        // delayed ACK, which would show up as latency in the time-to-first-token benchmark.
        use axum::serve::ListenerExt;
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeLlm { addr, shared }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn html_base_url(&self) -> String {
        format!("http://{}/html", self.addr)
    }

    pub fn script(&self, behaviors: impl IntoIterator<Item = Behavior>) {
        *self.shared.script.lock().unwrap() = behaviors.into_iter().collect();
    }

    pub fn set_html(&self, id: &str, page: &str) {
        self.shared.html.lock().unwrap().insert(id.to_string(), page.to_string());
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub fn hits(&self) -> usize {
        self.shared.requests.lock().unwrap().len()
    }
}

async fn html(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match s.html.lock().unwrap().get(&id) {
        Some(page) => ([("content-type", "text/html; charset=utf-8")], page.clone()).into_response(),
        None => (StatusCode::NOT_FOUND, "No HTML for this paper").into_response(),
    }
}

fn chunk(content: Option<&str>, finish: Option<&str>) -> Bytes {
    let delta = match content {
        Some(c) => json!({ "content": c }),
        None => json!({}),
    };
    let v = json!({
        "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": "fake-model",
        "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
    });
    Bytes::from(format!("data: {v}\n\n"))
}

async fn chat(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let users = body["messages"].as_array().map_or(0, |m| m.iter().filter(|m| m["role"] == "user").count());
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).map(String::from);
    s.requests.lock().unwrap().push(Recorded { authorization, body: body.clone() });
    let behavior = {
        let mut script = s.script.lock().unwrap();
        if script.len() > 1 { script.pop_front() } else { script.front().cloned() }
    }
    .unwrap_or_else(Behavior::ok);
    if let Behavior::Redirect(to) = &behavior {
        return (StatusCode::TEMPORARY_REDIRECT, [("location", to.clone())]).into_response();
    }
    if let Behavior::Status { code, retry_after, body } = behavior {
        let mut res =
            (StatusCode::from_u16(code).unwrap(), [("content-type", "application/json")], body).into_response();
        if let Some(secs) = retry_after {
            res.headers_mut().insert("retry-after", secs.to_string().parse().unwrap());
        }
        return res;
    }
    let scripted = match &behavior {
        Behavior::Translate => {
            let last = body["messages"].as_array().and_then(|m| m.iter().rev().find(|m| m["role"] == "user"));
            let asked: serde_json::Map<String, Value> =
                last.and_then(|m| serde_json::from_str(m["content"].as_str()?).ok()).unwrap_or_default();
            let answer: serde_json::Map<String, Value> = asked
                .into_iter()
                .map(|(k, v)| (k, Value::String(format!("〔译〕{}", v.as_str().unwrap_or_default()))))
                .collect();
            Some(format!("```json\n{}\n```", Value::Object(answer)))
        }
        Behavior::Reply(text) => Some(text.clone()),
        _ => None,
    };
    let (mut tx, rx) = futures::channel::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    tokio::spawn(async move {
        let pieces = match &scripted {
            Some(text) => {
                let chars: Vec<char> = text.chars().collect();
                chars.chunks(16).map(|c| c.iter().collect::<String>()).collect()
            }
            None => answer_pieces(users),
        };
        // The role chunk real servers send first.
        let role = json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1_700_000_000,
            "model": "fake-model", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]});
        if tx.send(Ok(Bytes::from(format!("data: {role}\n\n")))).await.is_err() {
            return;
        }
        let (limit, delay) = match &behavior {
            Behavior::Stream { delay, .. } => (pieces.len(), *delay),
            Behavior::Translate | Behavior::Reply(_) => (pieces.len(), Duration::ZERO),
            Behavior::FailAfter { pieces } | Behavior::StallAfter { pieces } => (*pieces, Duration::ZERO),
            _ => (0, Duration::ZERO),
        };
        for (i, p) in pieces.iter().take(limit).enumerate() {
            if i > 0 && !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            if tx.send(Ok(chunk(Some(p), None))).await.is_err() {
                return;
            }
        }
        match behavior {
            Behavior::Stream { .. } | Behavior::Translate | Behavior::Reply(_) => {
                let finish = if let Behavior::Stream { finish, .. } = behavior { finish } else { "stop" };
                let usage = json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "choices": [],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 5, "total_tokens": 105}});
                let _ = tx.send(Ok(chunk(None, Some(finish)))).await;
                let _ = tx.send(Ok(Bytes::from(format!("data: {usage}\n\n")))).await;
                let _ = tx.send(Ok(Bytes::from_static(b"data: [DONE]\n\n"))).await;
            }
            Behavior::FailAfter { .. } => {
                // Let the pieces reach the client first: hyper drops unflushed data when the body errors.
                tokio::time::sleep(Duration::from_millis(50)).await;
                let _ = tx.send(Err(std::io::Error::other("injected mid-stream failure"))).await;
            }
            Behavior::StallAfter { .. } => {
                let _ = tokio::time::timeout(Duration::from_secs(60), tx.flush()).await;
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            Behavior::Malformed => {
                let _ = tx
                    .send(Ok(Bytes::from_static(b"data: {\"choices\": [{\"delta\": {\"content\": \"oops\"\n\n")))
                    .await;
                let _ = tx.send(Ok(Bytes::from_static(b"data: [DONE]\n\n"))).await;
            }
            Behavior::Runaway => {
                let piece = "z".repeat(64 << 10);
                while tx.send(Ok(chunk(Some(&piece), None))).await.is_ok() {}
            }
            Behavior::Status { .. } | Behavior::Redirect(_) => {}
        }
    });
    ([("content-type", "text/event-stream"), ("cache-control", "no-cache")], Body::from_stream(rx)).into_response()
}
