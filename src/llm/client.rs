//! A streaming client for OpenAI-compatible Chat Completions (OpenAI, Moonshot, DeepSeek, vLLM, llama.cpp,
//! Ollama): `POST {base_url}/chat/completions` with `stream: true`, read as Server-Sent Events.
//!
//! Failures worth another try (connect errors, 429, 5xx, a response head that never comes, a stream that goes
//! silent, breaks off or sends garbage) go through the shared [`retry`] decorator, honouring `Retry-After`.
//! A retried stream starts the answer from scratch: when the failed attempt had already handed out text, the
//! consumer first receives [`ClientEvent::Restart`] and must drop what it showed. Nothing is ever stitched.
//!
//! The client has its own reqwest client (not the arXiv one) so the API key cannot travel to arXiv, redirects
//! are refused so it cannot travel anywhere else, and the key is scrubbed from any upstream error text.

use std::fmt;
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use serde::{Deserialize, Serialize};

use super::LlmConfig;
use super::sse::SseParser;
use crate::net::http::{ERROR_BODY_CAP, body_prefix};
use crate::net::retry::{self, Attempt, RetryError, RetryPolicy};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: &'static str,
    pub content: String,
}

impl ChatMessage {
    pub fn system(content: impl Into<String>) -> Self {
        ChatMessage { role: "system", content: content.into() }
    }
    pub fn user(content: impl Into<String>) -> Self {
        ChatMessage { role: "user", content: content.into() }
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        ChatMessage { role: "assistant", content: content.into() }
    }
}

/// What the consumer is told while an answer streams.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// The next piece of the answer.
    Delta(String),
    /// The stream died after text was handed out: drop it; a retry (if any) starts the answer from nothing.
    Restart { reason: String },
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct Usage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
}

/// A finished answer. `finish_reason` other than `stop` (e.g. `length`) means it was cut off.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub text: String,
    pub finish_reason: String,
    pub usage: Option<Usage>,
}

impl Completion {
    pub fn is_complete(&self) -> bool {
        self.finish_reason == "stop"
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("cannot build the LLM HTTP client: {0}")]
    Client(String),
    #[error("{0}")]
    Failed(String),
}

/// One attempt's failure, already scrubbed of the key.
#[derive(Debug)]
struct Failure(String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub struct LlmClient {
    http: reqwest::Client,
    url: String,
    model: String,
    api_key: Option<String>,
    temperature: f32,
    max_tokens: u32,
    request_timeout: Duration,
    idle_timeout: Duration,
    retry: RetryPolicy,
}

impl fmt::Debug for LlmClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmClient").field("url", &self.url).field("model", &self.model).finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: &'a [ChatMessage],
    stream: bool,
    temperature: f32,
    max_tokens: u32,
    /// Asks OpenAI-style servers for a final usage chunk; servers that do not know it ignore it.
    stream_options: serde_json::Value,
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    usage: Option<Usage>,
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Delta,
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct Delta {
    content: Option<String>,
}

impl LlmClient {
    /// `None` when the config names no base URL or model.
    pub fn new(cfg: &LlmConfig) -> Result<Option<Self>, LlmError> {
        let (Some(base), Some(model)) = (cfg.base_url.as_deref(), cfg.model.as_deref()) else { return Ok(None) };
        if !cfg.is_configured() {
            return Ok(None);
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("Papertide/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(cfg.request_timeout().min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| LlmError::Client(e.to_string()))?;
        Ok(Some(LlmClient {
            http,
            url: format!("{}/chat/completions", base.trim().trim_end_matches('/')),
            model: model.trim().to_string(),
            api_key: cfg.api_key.clone().filter(|k| !k.is_empty()),
            temperature: cfg.temperature,
            max_tokens: cfg.max_tokens,
            request_timeout: cfg.request_timeout(),
            idle_timeout: cfg.idle_timeout(),
            retry: cfg.retry_policy(),
        }))
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    /// Streams one answer to `messages`, calling `on_event` for each piece (from the task that awaits this).
    pub async fn stream_chat(
        &self,
        messages: &[ChatMessage],
        on_event: &(dyn Fn(ClientEvent) + Sync),
    ) -> Result<Completion, LlmError> {
        self.stream_chat_limited(messages, self.max_tokens, on_event).await
    }

    /// [`Self::stream_chat`] with its own answer budget (translations of a page of titles need more than
    /// one FAQ answer).
    pub async fn stream_chat_limited(
        &self,
        messages: &[ChatMessage],
        max_tokens: u32,
        on_event: &(dyn Fn(ClientEvent) + Sync),
    ) -> Result<Completion, LlmError> {
        let body = ChatRequest {
            model: &self.model,
            messages,
            stream: true,
            temperature: self.temperature,
            max_tokens,
            stream_options: serde_json::json!({ "include_usage": true }),
        };
        let body = serde_json::to_vec(&body).map_err(|e| LlmError::Failed(e.to_string()))?;
        let result = retry::retry(&self.retry, &self.url, || self.attempt(&body, on_event)).await;
        result.map_err(|e| match e {
            RetryError::Permanent(f) => LlmError::Failed(f.0),
            RetryError::GaveUp { attempts, last, .. } => {
                LlmError::Failed(format!("the LLM failed {attempts} time(s); last: {last}"))
            }
        })
    }

    async fn attempt(
        &self,
        body: &[u8],
        on_event: &(dyn Fn(ClientEvent) + Sync),
    ) -> Result<Completion, Attempt<Failure>> {
        let mut req = self
            .http
            .post(&self.url)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "text/event-stream")
            .body(body.to_vec());
        if let Some(key) = &self.api_key {
            req = req.bearer_auth(key);
        }
        let response = match tokio::time::timeout(self.request_timeout, req.send()).await {
            Err(_) => return Err(self.transient(format!("no response within {:?}", self.request_timeout))),
            Ok(Err(e)) => return Err(self.transport(e)),
            Ok(Ok(r)) => r,
        };
        let status = response.status();
        if !status.is_success() {
            let retry_after = retry_after(response.headers());
            let body =
                tokio::time::timeout(self.idle_timeout, body_prefix(response, ERROR_BODY_CAP)).await.ok().flatten();
            let text = body.map(|b| String::from_utf8_lossy(&b).into_owned());
            let failure = Failure(self.scrub(&format!("HTTP {}: {}", status.as_u16(), error_message(text.as_deref()))));
            return Err(if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                Attempt::Transient { error: failure, retry_after }
            } else {
                Attempt::Permanent(failure)
            });
        }
        let mut stream = response.bytes_stream();
        let mut parser = SseParser::new();
        let mut text = String::new();
        let mut finish_reason: Option<String> = None;
        let mut usage = None;
        let mut done = false;
        // A failure from here on, after text went out, tells the consumer at once to drop it: the retry (if
        // the budget allows one) starts the answer from nothing.
        let fail = |text: &str, reason: String| {
            let failure = self.transient(reason);
            if !text.is_empty() {
                let reason = match &failure {
                    Attempt::Transient { error, .. } | Attempt::Permanent(error) => error.0.clone(),
                };
                on_event(ClientEvent::Restart { reason });
            }
            failure
        };
        let mut ended = false;
        while !done && !ended {
            let next = match tokio::time::timeout(self.idle_timeout, stream.next()).await {
                // The answer is over (finish_reason came) and only `[DONE]` is missing: keep it.
                Err(_) if finish_reason.is_some() => break,
                Err(_) => return Err(fail(&text, format!("the stream stalled for {:?}", self.idle_timeout))),
                Ok(next) => next,
            };
            let events = match next {
                Some(Ok(bytes)) => parser.feed(&bytes).map_err(|e| fail(&text, e.to_string()))?,
                Some(Err(e)) => return Err(fail(&text, format!("the stream broke off: {}", chain(&e)))),
                None => {
                    ended = true;
                    parser.finish().into_iter().collect()
                }
            };
            for ev in events {
                let data = ev.data.trim();
                if data == "[DONE]" {
                    done = true;
                    break;
                }
                if data.is_empty() {
                    continue;
                }
                let chunk: Chunk = serde_json::from_str(data)
                    .map_err(|e| fail(&text, format!("malformed chunk from the LLM ({e})")))?;
                if let Some(err) = chunk.error {
                    let msg = self.scrub(&error_message(Some(&err.to_string())));
                    return Err(fail(&text, format!("the LLM reported an error mid-stream: {msg}")));
                }
                usage = chunk.usage.or(usage);
                let Some(choice) = chunk.choices.into_iter().next() else { continue };
                if let Some(piece) = choice.delta.content.filter(|p| !p.is_empty()) {
                    if text.len() + piece.len() > MAX_ANSWER_BYTES {
                        // A runaway stream (a server ignoring max_tokens): another try would do the same.
                        let limit = format!("{} MiB", MAX_ANSWER_BYTES >> 20);
                        if !text.is_empty() {
                            on_event(ClientEvent::Restart { reason: format!("the answer exceeded {limit}") });
                        }
                        return Err(Attempt::Permanent(Failure(format!("the LLM's answer exceeded {limit}; refused"))));
                    }
                    text.push_str(&piece);
                    on_event(ClientEvent::Delta(piece));
                }
                if let Some(reason) = choice.finish_reason {
                    finish_reason = Some(reason);
                }
            }
        }
        // The connection closed without `[DONE]`: fine once a finish_reason came, a cut-off otherwise.
        if !done && finish_reason.is_none() {
            return Err(fail(&text, "the stream ended before the answer did".into()));
        }
        match finish_reason {
            Some(finish_reason) => Ok(Completion { text, finish_reason, usage }),
            // `[DONE]` without a finish_reason: some servers omit it; the answer ended normally.
            None if !text.is_empty() => Ok(Completion { text, finish_reason: "stop".into(), usage }),
            None => Err(fail(&text, "the LLM sent an empty answer".into())),
        }
    }

    fn transient(&self, reason: String) -> Attempt<Failure> {
        Attempt::transient(Failure(self.scrub(&reason)))
    }

    fn transport(&self, e: reqwest::Error) -> Attempt<Failure> {
        let failure = Failure(self.scrub(&chain(&e)));
        if e.is_builder() { Attempt::Permanent(failure) } else { Attempt::transient(failure) }
    }

    /// Some providers quote the (partly masked) key in error messages; none of it leaves this client.
    fn scrub(&self, text: &str) -> String {
        match &self.api_key {
            Some(key) if key.len() >= 4 => text.replace(key.as_str(), "[redacted]"),
            _ => text.to_string(),
        }
    }
}

/// The longest answer accepted. `max_tokens` bounds an honest server's answer to a few KiB; this bounds the
/// memory a broken or hostile one can make us hold.
const MAX_ANSWER_BYTES: usize = 1 << 20;

/// `error.message` of an OpenAI-style error body, else the start of the body.
fn error_message(body: Option<&str>) -> String {
    let Some(body) = body else { return "no body".into() };
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let msg = parsed.as_ref().and_then(|v| {
        v.pointer("/error/message").or_else(|| v.get("message")).or_else(|| v.get("error")).and_then(|m| m.as_str())
    });
    let msg = msg.unwrap_or(body).trim();
    msg.chars().take(300).collect()
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// reqwest's Display hides the cause; the chain says what happened.
fn chain(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_are_read() {
        assert_eq!(
            error_message(Some(r#"{"error":{"message":"Rate limit reached","type":"x"}}"#)),
            "Rate limit reached"
        );
        assert_eq!(error_message(Some(r#"{"error":"model not found"}"#)), "model not found");
        assert_eq!(error_message(Some("Bad gateway")), "Bad gateway");
        assert_eq!(error_message(None), "no body");
    }

    #[test]
    fn keys_are_scrubbed_from_upstream_text() {
        let cfg = LlmConfig {
            base_url: Some("http://127.0.0.1:9/v1".into()),
            model: Some("m".into()),
            api_key: Some("sk-abcdef".into()),
            ..LlmConfig::default()
        };
        let c = LlmClient::new(&cfg).unwrap().unwrap();
        assert_eq!(c.scrub("Incorrect API key provided: sk-abcdef."), "Incorrect API key provided: [redacted].");
        assert!(!format!("{c:?}").contains("sk-abcdef"));
    }
}
