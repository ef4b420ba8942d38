//! The summary service: cache first, then the running generation if there is one, else (budget permitting) a
//! new one in its own task, so a reader closing the tab cancels nothing and a second reader shares the work.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::json;
use subtle::ConstantTimeEq;

use super::client::{ClientEvent, LlmClient};
use super::context;
use super::faq::{self, Lang, Prompts};
use super::generation::{Event, Generation, Subscription};
use super::limits::Queue;
use super::render::answer_html;
use super::{LlmConfig, UNCONFIGURED};
use crate::net::http::HttpClient;
use crate::net::limits::RateLimiter;
use crate::store::{Store, StoreError, StoredSummary, SummaryAnswer, SummaryKey};

/// Why the summary service could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Client(#[from] super::client::LlmError),
    #[error(transparent)]
    Prompts(#[from] super::faq::PromptsError),
}

pub struct Service {
    pub(super) client: LlmClient,
    prompts: Prompts,
    pub(super) cfg: LlmConfig,
    /// The concurrency cap, the per-client limit and (in SQLite) the daily cap are shared by summaries and
    /// translations (`super::translate`): one budget for everything that calls the LLM.
    pub(super) queue: Queue,
    pub(super) limiter: RateLimiter,
    running: Mutex<HashMap<SummaryKey, Arc<Generation>>>,
}

/// What a reader gets.
pub enum Opened {
    /// The event stream: a cached summary replayed, or a live generation from its start.
    Stream(Subscription),
    /// Over budget: the reason, and when to try again if known.
    Refused { message: String, retry_after: Option<Duration> },
}

impl Service {
    /// `Ok(None)` when no LLM is configured; an error for a broken prompts file or client.
    pub fn from_config(cfg: &LlmConfig) -> Result<Option<Arc<Service>>, SetupError> {
        let Some(client) = LlmClient::new(cfg)? else { return Ok(None) };
        let prompts = Prompts::load(cfg.prompts_file.as_deref())?;
        Ok(Some(Arc::new(Service {
            client,
            prompts,
            cfg: cfg.clone(),
            queue: Queue::new(cfg.max_concurrent),
            limiter: RateLimiter::new(cfg.per_client_per_minute),
            running: Mutex::new(HashMap::new()),
        })))
    }

    pub fn model(&self) -> &str {
        self.client.model()
    }

    pub fn prompts(&self) -> &Prompts {
        &self.prompts
    }

    pub fn trust_forwarded_for(&self) -> bool {
        self.cfg.trust_forwarded_for
    }

    pub fn key(&self, paper_id: &str, lang: Lang) -> SummaryKey {
        SummaryKey {
            paper_id: paper_id.to_string(),
            lang: lang.code().to_string(),
            model: self.model().to_string(),
            prompt_version: self.prompts.version.clone(),
        }
    }

    /// Whether `token` is the configured admin token (constant-time; always false when none is configured).
    pub fn is_admin(&self, token: Option<&str>) -> bool {
        match (self.cfg.admin_token.as_deref(), token) {
            (Some(expected), Some(given)) if !expected.is_empty() => expected.as_bytes().ct_eq(given.as_bytes()).into(),
            _ => false,
        }
    }

    /// Generations waiting behind the concurrency cap.
    pub fn queued(&self) -> usize {
        self.queue.waiting()
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<SummaryKey, Arc<Generation>>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The stream for `paper` in `lang`: cached, attached to the running generation, or newly started.
    /// `regenerate` (admin only: the caller checks) skips the cache and the per-client limit.
    /// `store` caches the answers (and counts the daily cap); `http` fetches the paper's arXiv HTML context.
    #[allow(clippy::too_many_arguments)]
    pub async fn open(
        self: &Arc<Self>,
        store: &Store,
        http: &HttpClient,
        paper: &context::Subject,
        lang: Lang,
        client: IpAddr,
        regenerate: bool,
    ) -> Result<Opened, StoreError> {
        let key = self.key(&paper.key, lang);
        if !regenerate && let Some(cached) = store.complete_summary(&key).await? {
            return Ok(Opened::Stream(Subscription::fixed(self.cached_events(&key, &cached))));
        }
        if let Some(running) = self.running().get(&key) {
            return Ok(Opened::Stream(running.subscribe()));
        }
        if !regenerate && let Err(wait) = self.limiter.check(client) {
            let message = format!(
                "You have started too many new summaries in the last minute (limit {} per minute); \
                 cached and running summaries stay available. Try again in {} s.",
                self.cfg.per_client_per_minute,
                wait.as_secs()
            );
            return Ok(Opened::Refused { message, retry_after: Some(wait) });
        }
        if !store.take_daily_llm_request(self.cfg.daily_request_cap).await? {
            let message = format!(
                "This Papertide has reached its daily limit of {} new summaries; cached summaries stay available. \
                 Try again tomorrow (UTC).",
                self.cfg.daily_request_cap
            );
            return Ok(Opened::Refused { message, retry_after: None });
        }
        // Another reader may have started it while we checked the budget: share theirs.
        let (generation, fresh) = {
            let mut running = self.running();
            match running.get(&key) {
                Some(g) => (Arc::clone(g), false),
                None => {
                    let g = Arc::new(Generation::new());
                    running.insert(key.clone(), Arc::clone(&g));
                    (g, true)
                }
            }
        };
        if fresh {
            generation.publish("meta", self.meta(&key, false));
            let task = Task {
                store: store.clone(),
                http: http.clone(),
                service: Arc::clone(self),
                key,
                generation: Arc::clone(&generation),
            };
            crate::tasks::spawn_logged("summary generation", task.run(paper.clone(), lang));
        }
        Ok(Opened::Stream(generation.subscribe()))
    }

    fn meta(&self, key: &SummaryKey, cached: bool) -> serde_json::Value {
        let questions = self.prompts.lang(Lang::parse(&key.lang).unwrap_or_default()).questions.clone();
        json!({
            "paper_id": key.paper_id, "lang": key.lang, "model": key.model,
            "prompt_version": key.prompt_version, "questions": questions, "cached": cached,
        })
    }

    /// A cached summary as the same events a live generation sends.
    fn cached_events(&self, key: &SummaryKey, s: &StoredSummary) -> Vec<Event> {
        let mut events = Vec::with_capacity(3 + 3 * s.answers.len());
        let mut push = |kind, data| events.push(Event { seq: 0, kind, data });
        push("meta", self.meta(key, true));
        push("context", json!({ "full_text": s.full_text, "truncated": false }));
        for (index, a) in s.answers.iter().enumerate() {
            push("question", json!({ "index": index, "question": a.question }));
            push("delta", json!({ "index": index, "text": a.answer }));
            push(
                "answer_done",
                json!({ "index": index, "finish_reason": a.finish_reason, "html": answer_html(&a.answer) }),
            );
        }
        push("complete", json!({ "cached": true, "complete": true, "created_at": s.created_at }));
        for (seq, ev) in events.iter_mut().enumerate() {
            ev.seq = seq;
        }
        events
    }

    /// The events of the "not configured" answer.
    pub fn unconfigured_events() -> Vec<Event> {
        vec![Event { seq: 0, kind: "unconfigured", data: json!({ "message": UNCONFIGURED }) }]
    }
}

/// One generation's task. Dropping it (the end of `run`, or a panic) ends the stream and frees the key.
struct Task {
    store: Store,
    http: HttpClient,
    service: Arc<Service>,
    key: SummaryKey,
    generation: Arc<Generation>,
}

impl Drop for Task {
    fn drop(&mut self) {
        self.generation.publish("error", json!({ "message": "The summary generation stopped unexpectedly." }));
        let mut running = self.service.running();
        if running.get(&self.key).is_some_and(|g| Arc::ptr_eq(g, &self.generation)) {
            running.remove(&self.key);
        }
    }
}

impl Task {
    async fn run(self, paper: context::Subject, lang: Lang) {
        let g = &self.generation;
        let svc = &self.service;
        let _permit = svc.queue.acquire(|position| g.publish("queued", json!({ "position": position }))).await;
        tracing::info!(paper = %paper.key, lang = lang.code(), model = svc.model(), "generating a summary");
        let ctx = context::build(&self.http, &svc.cfg.html_base_url, &paper, svc.cfg.context_token_budget).await;
        g.publish("context", json!({ "full_text": ctx.body.is_some(), "truncated": ctx.truncated }));
        let prompts = svc.prompts.lang(lang);
        let mut answers: Vec<SummaryAnswer> = Vec::new();
        let mut texts: Vec<String> = Vec::new();
        for (index, question) in prompts.questions.iter().enumerate() {
            g.publish("question", json!({ "index": index, "question": question }));
            let messages = faq::turns(prompts, &ctx, &texts, index);
            let on_event = |ev: ClientEvent| match ev {
                ClientEvent::Delta(text) => g.publish("delta", json!({ "index": index, "text": text })),
                ClientEvent::Restart { reason } => g.publish("restart", json!({ "index": index, "reason": reason })),
            };
            match svc.client.stream_chat(&messages, &on_event).await {
                Ok(done) => {
                    let html = answer_html(&done.text);
                    g.publish(
                        "answer_done",
                        json!({ "index": index, "finish_reason": done.finish_reason, "html": html, "usage": done.usage }),
                    );
                    answers.push(SummaryAnswer {
                        question: question.clone(),
                        answer: done.text.clone(),
                        finish_reason: done.finish_reason,
                    });
                    texts.push(done.text);
                }
                Err(e) => {
                    tracing::warn!(paper = %paper.key, lang = lang.code(), error = %e, "summary generation failed");
                    self.save(&answers, false, ctx.body.is_some()).await;
                    g.publish("error", json!({ "message": format!("The LLM could not answer: {e}") }));
                    return;
                }
            }
        }
        // A cut-off answer (finish_reason "length", "content_filter", ...) is shown but never cached as complete.
        let cut_off: Vec<usize> =
            answers.iter().enumerate().filter(|(_, a)| a.finish_reason != "stop").map(|(i, _)| i).collect();
        let complete = cut_off.is_empty();
        let stored = self.save(&answers, complete, ctx.body.is_some()).await;
        g.publish("complete", json!({ "cached": false, "complete": complete, "stored": stored, "cut_off": cut_off }));
        tracing::info!(paper = %paper.key, lang = lang.code(), complete, "summary generated");
    }

    async fn save(&self, answers: &[SummaryAnswer], complete: bool, full_text: bool) -> bool {
        match self.store.put_summary(&self.key, answers, complete, full_text).await {
            Ok(()) => complete,
            Err(e) => {
                tracing::error!(paper = %self.key.paper_id, error = %e, "cannot store the summary");
                false
            }
        }
    }
}
