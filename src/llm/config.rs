//! The `[llm]` section of the config file and its `PAPERTIDE_LLM_*` environment overrides.
//!
//! The API key and the admin token are secrets: `Debug` prints them as `[redacted]`, so a `{:?}` of the whole
//! config (logged at start-up, shown in a panic) never leaks them.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::env::{self, EnvError};

#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    /// OpenAI-compatible API root, e.g. `https://api.openai.com/v1` (requests go to `{base_url}/chat/completions`).
    pub base_url: Option<String>,
    pub model: Option<String>,
    /// Sent as `Authorization: Bearer` to `base_url`'s host only. Local servers (llama.cpp, Ollama) need none.
    pub api_key: Option<String>,
    pub temperature: f32,
    /// Upper bound on the tokens of one answer.
    pub max_tokens: u32,
    /// Longest wait for the response head of one chat request.
    pub request_timeout_s: u64,
    /// Longest silence between two chunks of a streaming answer before the attempt counts as dead.
    pub idle_timeout_s: u64,
    /// Summaries generated at once, across all readers (more wait in a queue and see their position).
    pub max_concurrent: usize,
    /// New generations one client may start per minute (0: unlimited). Cached and running summaries are free.
    pub per_client_per_minute: u32,
    /// Summary generations started per UTC day (0: unlimited); each is six chat requests plus retries.
    pub daily_request_cap: u32,
    /// Bearer token for the admin-only regenerate action; without one, regenerate is off.
    pub admin_token: Option<String>,
    /// Approximate tokens (characters / 4) of paper text put in the prompt.
    pub context_token_budget: usize,
    /// Where arXiv's HTML renderings live (`{html_base_url}/{id}`).
    pub html_base_url: String,
    /// A prompts file to use instead of the built-in `prompts/faq.toml`.
    pub prompts_file: Option<PathBuf>,
    /// Take the client address from `X-Forwarded-For` (only behind a reverse proxy that sets it).
    pub trust_forwarded_for: bool,
    pub retry_initial_ms: u64,
    /// Give up on one chat request (all its retries) after this long.
    pub retry_max_elapsed_s: u64,
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            base_url: None,
            model: None,
            api_key: None,
            temperature: 0.3,
            max_tokens: 1024,
            request_timeout_s: 60,
            idle_timeout_s: 60,
            max_concurrent: 2,
            per_client_per_minute: 4,
            daily_request_cap: 200,
            admin_token: None,
            context_token_budget: 12_000,
            html_base_url: "https://arxiv.org/html".into(),
            prompts_file: None,
            trust_forwarded_for: false,
            retry_initial_ms: 1_000,
            retry_max_elapsed_s: 120,
        }
    }
}

impl fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = |s: &Option<String>| if s.is_some() { "Some([redacted])" } else { "None" };
        f.debug_struct("LlmConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &format_args!("{}", secret(&self.api_key)))
            .field("temperature", &self.temperature)
            .field("max_tokens", &self.max_tokens)
            .field("request_timeout_s", &self.request_timeout_s)
            .field("idle_timeout_s", &self.idle_timeout_s)
            .field("max_concurrent", &self.max_concurrent)
            .field("per_client_per_minute", &self.per_client_per_minute)
            .field("daily_request_cap", &self.daily_request_cap)
            .field("admin_token", &format_args!("{}", secret(&self.admin_token)))
            .field("context_token_budget", &self.context_token_budget)
            .field("html_base_url", &self.html_base_url)
            .field("prompts_file", &self.prompts_file)
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .finish_non_exhaustive()
    }
}

impl LlmConfig {
    /// Base URL and model are both set (an API key is optional: local servers take none).
    pub fn is_configured(&self) -> bool {
        self.base_url.as_deref().is_some_and(|s| !s.trim().is_empty())
            && self.model.as_deref().is_some_and(|s| !s.trim().is_empty())
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_s.max(1))
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_s.max(1))
    }

    pub fn retry_policy(&self) -> crate::net::retry::RetryPolicy {
        crate::net::retry::RetryPolicy {
            initial_interval: Duration::from_millis(self.retry_initial_ms),
            max_interval: Duration::from_secs(30),
            max_elapsed: Duration::from_secs(self.retry_max_elapsed_s),
            ..Default::default()
        }
    }

    pub(crate) fn apply_env(&mut self, var: &impl Fn(&str) -> Option<String>) -> Result<(), EnvError> {
        let nonempty = |name: &str| var(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        if let Some(v) = nonempty("PAPERTIDE_LLM_BASE_URL") {
            self.base_url = Some(env::http_url("PAPERTIDE_LLM_BASE_URL", &v)?);
        }
        if let Some(v) = nonempty("PAPERTIDE_LLM_MODEL") {
            self.model = Some(v);
        }
        // The key's value never goes into an error message.
        if let Some(v) = nonempty("PAPERTIDE_LLM_API_KEY") {
            self.api_key = Some(v);
        }
        if let Some(v) = nonempty("PAPERTIDE_LLM_ADMIN_TOKEN") {
            self.admin_token = Some(v);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_configure_the_llm_and_debug_hides_secrets() {
        let mut c = LlmConfig::default();
        assert!(!c.is_configured());
        let env = |k: &str| match k {
            "PAPERTIDE_LLM_BASE_URL" => Some("http://127.0.0.1:9/v1/".to_string()),
            "PAPERTIDE_LLM_MODEL" => Some("kimi-k2".to_string()),
            "PAPERTIDE_LLM_API_KEY" => Some("sk-very-secret".to_string()),
            "PAPERTIDE_LLM_ADMIN_TOKEN" => Some("admin-secret".to_string()),
            _ => None,
        };
        c.apply_env(&env).unwrap();
        assert!(c.is_configured());
        assert_eq!(c.base_url.as_deref(), Some("http://127.0.0.1:9/v1"));
        assert_eq!(c.api_key.as_deref(), Some("sk-very-secret"));
        let shown = format!("{c:?}");
        assert!(!shown.contains("sk-very-secret") && !shown.contains("admin-secret"), "{shown}");
        assert!(shown.contains("kimi-k2"));
        let bad = |k: &str| (k == "PAPERTIDE_LLM_BASE_URL").then(|| "ftp://x".to_string());
        assert!(c.apply_env(&bad).unwrap_err().to_string().contains("PAPERTIDE_LLM_BASE_URL"));
    }
}
