//! LLM FAQ summaries: an OpenAI-compatible streaming client, the six Cool Papers questions over a paper's
//! context, and a service that runs one generation per (paper, language, model, prompt version), streams it to
//! every reader, caches finished answers and protects the API budget.
//!
//! * [`client`]: Chat Completions over SSE, retried through [`crate::net::retry`].
//! * [`sse`]: the incremental event-stream parser the client reads with.
//! * [`context`]: title, authors, abstract and arXiv's HTML full text reduced to a token budget.
//! * [`faq`]: the prompts file and the conversation turns.
//! * [`generation`]: one running generation, its broadcast and its replay buffer.
//! * [`limits`]: per-client rate limit and the queue behind the concurrency cap.
//! * [`service`]: the registry tying it together; [`render`]: answers' markdown to sanitized HTML.
//! * [`translate`]: titles and abstracts in other languages, cached, under the same budget.

pub mod client;
mod config;
pub mod context;
pub mod faq;
pub mod generation;
pub mod limits;
pub mod render;
pub mod service;
pub mod sse;
pub mod translate;

pub use config::LlmConfig;
pub use faq::Lang;
pub use generation::{Event, Subscription};
pub use service::{Opened, Service};

/// The sentence shown wherever a summary is asked for and no LLM is configured.
pub const UNCONFIGURED: &str = "No LLM is configured: set PAPERTIDE_LLM_BASE_URL and PAPERTIDE_LLM_MODEL (and \
PAPERTIDE_LLM_API_KEY if your provider needs one), or base_url, model and api_key under [llm] in the config file, \
then restart Papertide.";
