//! Configuration: built-in defaults, then a TOML file, then `PAPERTIDE_*` environment variables, then flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::env::{self, EnvError};

use crate::domain::Category;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("config file {path} is invalid: {message}")]
    Parse { path: String, message: String },
    #[error(transparent)]
    Env(#[from] crate::env::EnvError),
    /// A `PAPERTIDE__SECTION__KEY` setting that names no setting or holds a value of the wrong type.
    #[error("{variable}: {message}")]
    Setting { variable: String, message: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the database and the search index live.
    pub data_dir: PathBuf,
    /// The categories followed: their daily feeds are polled and shown on the front page.
    pub categories: Vec<Category>,
    /// A contact address put in the User-Agent, as arXiv asks of harvesters.
    pub contact: Option<String>,
    pub arxiv: ArxivConfig,
    pub server: ServerConfig,
    pub ingest: IngestConfig,
    pub llm: crate::llm::LlmConfig,
    pub related: crate::related::RelatedConfig,
    /// Conference proceedings to follow beside arXiv (`[venues]`).
    pub venues: crate::venues::VenuesConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ArxivConfig {
    pub api_url: String,
    pub oai_url: String,
    /// Feeds are `{rss_url}/rss/{cat}+{cat}`.
    pub rss_url: String,
    /// Politeness: at least this long between two requests to the same arXiv host.
    pub request_interval_ms: u64,
    pub connect_timeout_s: u64,
    pub read_timeout_s: u64,
    /// First wait before retrying a failed request (doubling, with jitter, up to a minute).
    pub retry_initial_ms: u64,
    /// Give up retrying one request after this long.
    pub retry_max_elapsed_s: u64,
    /// Records per arXiv API page.
    pub api_page_size: u64,
    /// The largest response body (after gzip decoding) the fetcher accepts, in MiB.
    pub max_body_mib: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub addr: SocketAddr,
    /// The address readers reach this server at (`https://papers.example.org`), used for absolute links in
    /// feeds and OpenSearch; `http://{addr}` when unset.
    pub public_url: Option<String>,
    /// Longest wait for a whole request head; it also closes idle keep-alive connections (hyper starts the
    /// wait as soon as a connection is ready for its next request).
    pub header_read_timeout_s: u64,
    /// Open connections served at once; more get a `503` and are closed.
    pub max_connections: usize,
    /// Longest time a page or API answer may take (summary streams excepted: see `sse_idle_timeout_s`).
    pub request_timeout_s: u64,
    /// A summary stream with no event for this long ends with an error event (keep-alive comments still go
    /// out every 15 s, so a client that left is noticed sooner).
    pub sse_idle_timeout_s: u64,
    /// Paper pages for ids not in the store look them up at arXiv: lookups one client may start a minute
    /// (0: unlimited).
    pub lookups_per_client_per_minute: u32,
    /// Ids waiting for an on-demand lookup at most; more are refused with a message.
    pub lookup_queue_max: usize,
    /// How long a paper page waits for its lookup before answering with a page that refreshes itself.
    pub lookup_wait_s: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestConfig {
    /// How often `serve` polls the daily feeds (conditional GETs: cheap when nothing changed).
    pub rss_poll_minutes: u64,
    /// Whether `serve` refreshes the previous days' metadata over OAI-PMH once a day.
    pub oai_refresh: bool,
    /// OAI-PMH metadata format: `arXiv`, `arXivRaw` or `oai_dc`.
    pub oai_metadata_prefix: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("papertide-data"),
            categories: ["cs.AI", "cs.CL", "cs.CV", "cs.LG"].iter().filter_map(|c| Category::parse(c).ok()).collect(),
            contact: None,
            arxiv: ArxivConfig::default(),
            server: ServerConfig::default(),
            ingest: IngestConfig::default(),
            llm: crate::llm::LlmConfig::default(),
            related: crate::related::RelatedConfig::default(),
            venues: crate::venues::VenuesConfig::default(),
        }
    }
}

impl Default for ArxivConfig {
    fn default() -> Self {
        ArxivConfig {
            api_url: "https://export.arxiv.org/api/query".into(),
            oai_url: "https://oaipmh.arxiv.org/oai".into(),
            rss_url: "https://rss.arxiv.org".into(),
            request_interval_ms: 3_000,
            connect_timeout_s: 10,
            read_timeout_s: 60,
            retry_initial_ms: 1_000,
            retry_max_elapsed_s: 300,
            api_page_size: 100,
            max_body_mib: crate::net::http::DEFAULT_MAX_BODY_BYTES >> 20,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            public_url: None,
            header_read_timeout_s: 10,
            max_connections: 2_048,
            request_timeout_s: 30,
            sse_idle_timeout_s: 300,
            lookups_per_client_per_minute: 10,
            lookup_queue_max: 500,
            lookup_wait_s: 5,
        }
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig { rss_poll_minutes: 60, oai_refresh: true, oai_metadata_prefix: "arXiv".into() }
    }
}

fn read_file(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.display().to_string(), source })
}

/// The prefix of the variables that set any setting by its path (`PAPERTIDE__ARXIV__READ_TIMEOUT_S`).
pub const SETTING_PREFIX: &str = "PAPERTIDE__";

impl Config {
    /// Defaults, overlaid by `file` (when given) and then by the process environment: first every
    /// `PAPERTIDE__SECTION__KEY` (any setting; see [`Config::with_settings`]), then the named variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        // `vars_os`: `vars` panics on any variable that is not UTF-8, ours or not.
        let settings: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .filter(|(k, _)| k.starts_with(SETTING_PREFIX))
            .collect();
        let mut config = match (file, settings.is_empty()) {
            // The file alone is read typed, so its errors name their line.
            (Some(path), true) => Self::from_file(path)?,
            (None, true) => Config::default(),
            (Some(path), false) => Self::with_settings(&read_file(path)?, &settings)?,
            (None, false) => Self::with_settings("", &settings)?,
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        Ok(config)
    }

    /// The configuration of TOML `text` with `settings` laid over it: each `PAPERTIDE__SECTION__KEY` (or
    /// `PAPERTIDE__KEY` for a top-level key; case-insensitive) sets that key, so every setting of the file can
    /// come from the environment without a variable written out for it. A value is read as TOML when it is
    /// one (`7`, `true`, `["cs.CL"]`, `"quoted"`), else as a string; the merged whole is checked by the same
    /// types as the file, so a key that does not exist or a value of the wrong type is refused, naming it.
    pub fn with_settings(text: &str, settings: &[(String, String)]) -> Result<Self, ConfigError> {
        let parse_err = |message: String| ConfigError::Parse { path: "(with PAPERTIDE__ settings)".into(), message };
        let mut table: toml::Table = toml::from_str(text).map_err(|e| parse_err(e.message().to_string()))?;
        for (variable, raw) in settings {
            let path: Vec<String> = variable[SETTING_PREFIX.len()..].split("__").map(str::to_ascii_lowercase).collect();
            let bad = |message: &str| ConfigError::Setting { variable: variable.clone(), message: message.into() };
            let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or_else(|| toml::Value::String(raw.clone()));
            match path.as_slice() {
                [key] if !key.is_empty() => {
                    table.insert(key.clone(), value);
                }
                [section, key] if !section.is_empty() && !key.is_empty() => {
                    let entry = table.entry(section.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
                    let toml::Value::Table(t) = entry else { return Err(bad("that setting is not a section")) };
                    t.insert(key.clone(), value);
                }
                _ => return Err(bad("name a setting as PAPERTIDE__SECTION__KEY or PAPERTIDE__KEY")),
            }
        }
        toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| parse_err(e.message().to_string()))
    }

    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let text = read_file(path)?;
        toml::from_str(&text).map_err(|e| {
            // The line, so a value refused by its type (a `dtype` typo) points at where it was written.
            let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let message = match line {
                Some(l) => format!("line {l}: {}", e.message()),
                None => e.message().to_string(),
            };
            ConfigError::Parse { path: shown, message }
        })
    }

    /// Applies `PAPERTIDE_*` overrides read through `var` (the environment, or a map in tests).
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = var("PAPERTIDE_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = var("PAPERTIDE_CATEGORIES") {
            self.categories =
                Category::parse_list(&v).map_err(|e| EnvError::new("PAPERTIDE_CATEGORIES", &v, e.to_string()))?;
        }
        for (name, slot) in [
            ("PAPERTIDE_ARXIV_API_URL", &mut self.arxiv.api_url),
            ("PAPERTIDE_ARXIV_OAI_URL", &mut self.arxiv.oai_url),
            ("PAPERTIDE_ARXIV_RSS_URL", &mut self.arxiv.rss_url),
        ] {
            if let Some(v) = var(name) {
                *slot = env::http_url(name, &v)?;
            }
        }
        if let Some(v) = var("PAPERTIDE_REQUEST_INTERVAL_MS") {
            self.arxiv.request_interval_ms = v.trim().parse().map_err(|_| {
                EnvError::new("PAPERTIDE_REQUEST_INTERVAL_MS", &v, "must be a whole number of milliseconds")
            })?;
        }
        if let Some(v) = var("PAPERTIDE_PUBLIC_URL") {
            self.server.public_url = Some(env::http_url("PAPERTIDE_PUBLIC_URL", &v)?);
        }
        if let Some(v) = var("PAPERTIDE_CONTACT") {
            self.contact = Some(v).filter(|v| !v.trim().is_empty());
        }
        self.llm.apply_env(&var)?;
        self.related.apply_env(&var)?;
        Ok(())
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("papertide.sqlite")
    }

    pub fn index_dir(&self) -> PathBuf {
        self.data_dir.join("index")
    }

    /// The venue papers' search index (beside the arXiv one: its own change sequence, same analyzers).
    pub fn venue_index_dir(&self) -> PathBuf {
        self.data_dir.join("venue-index")
    }

    /// The CUR index of related papers (and its partial build beside it).
    pub fn cur_index_path(&self) -> PathBuf {
        self.data_dir.join("related").join("cur.idx")
    }

    /// Where hub models are downloaded.
    pub fn model_cache_dir(&self) -> PathBuf {
        self.data_dir.join("models")
    }

    /// The base of absolute links (feeds, OpenSearch), without a trailing slash.
    pub fn public_url(&self) -> String {
        match &self.server.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.server.addr),
        }
    }

    pub fn request_interval(&self) -> Duration {
        Duration::from_millis(self.arxiv.request_interval_ms)
    }

    /// The settings of the one HTTP client all arXiv sources share.
    pub fn http(&self) -> crate::net::http::HttpConfig {
        let a = &self.arxiv;
        crate::net::http::HttpConfig {
            contact: self.contact.clone(),
            connect_timeout: Duration::from_secs(a.connect_timeout_s),
            read_timeout: Duration::from_secs(a.read_timeout_s),
            request_interval: self.request_interval(),
            retry: crate::net::retry::RetryPolicy {
                initial_interval: Duration::from_millis(a.retry_initial_ms),
                max_elapsed: Duration::from_secs(a.retry_max_elapsed_s),
                ..Default::default()
            },
            max_body_bytes: a.max_body_mib.saturating_mul(1 << 20),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_match_the_documented_ones() {
        let c = Config::default();
        let cats: Vec<&str> = c.categories.iter().map(|c| c.code()).collect();
        assert_eq!(cats, ["cs.AI", "cs.CL", "cs.CV", "cs.LG"]);
        assert_eq!(c.arxiv.api_url, "https://export.arxiv.org/api/query");
        assert_eq!(c.arxiv.oai_url, "https://oaipmh.arxiv.org/oai");
        assert_eq!(c.arxiv.rss_url, "https://rss.arxiv.org");
        assert_eq!(c.arxiv.request_interval_ms, 3000);
    }

    #[test]
    fn any_setting_can_come_from_the_environment_by_its_path() {
        let set = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let file = "[arxiv]\nread_timeout_s = 30\n[server]\nmax_connections = 64\n";
        let c = Config::with_settings(
            file,
            &set(&[
                ("PAPERTIDE__ARXIV__READ_TIMEOUT_S", "7"),
                ("PAPERTIDE__related__dtype", "bf16"),
                ("PAPERTIDE__CATEGORIES", r#"["cs.IR", "cs.DL"]"#),
                ("PAPERTIDE__LLM__MODEL", "kimi-k2"),
            ]),
        )
        .unwrap();
        assert_eq!(c.arxiv.read_timeout_s, 7, "the environment wins over the file");
        assert_eq!(c.server.max_connections, 64, "the file's other keys stay");
        assert_eq!(c.related.dtype, crate::rerank::Dtype::Bf16);
        assert_eq!(c.categories.iter().map(|c| c.code()).collect::<Vec<_>>(), ["cs.IR", "cs.DL"]);
        assert_eq!(c.llm.model.as_deref(), Some("kimi-k2"));
        // What a string overlay would have let through is refused, naming what is wrong.
        let e = Config::with_settings("", &set(&[("PAPERTIDE__RELATED__DTYPE", "bf17")])).unwrap_err().to_string();
        assert!(e.contains("bf17"), "{e}");
        let e = Config::with_settings("", &set(&[("PAPERTIDE__ARXIV__READ_TIMEOUT", "7")])).unwrap_err().to_string();
        assert!(e.contains("read_timeout"), "{e}");
        let e = Config::with_settings("", &set(&[("PAPERTIDE__ARXIV__READ_TIMEOUT_S", "soon")])).unwrap_err();
        assert!(e.to_string().contains("invalid type"), "{e}");
        let e = Config::with_settings("", &set(&[("PAPERTIDE__A__B__C", "1")])).unwrap_err().to_string();
        assert!(e.contains("PAPERTIDE__A__B__C"), "{e}");
    }

    #[test]
    fn environment_overrides_file_and_defaults() {
        let mut c = Config::default();
        c.apply_env(env(&[
            ("PAPERTIDE_DATA_DIR", "/tmp/x"),
            ("PAPERTIDE_CATEGORIES", "cs.CL, stat.ML"),
            ("PAPERTIDE_ARXIV_API_URL", "http://127.0.0.1:9/api/query"),
            ("PAPERTIDE_ARXIV_OAI_URL", "http://127.0.0.1:9/oai"),
            ("PAPERTIDE_ARXIV_RSS_URL", "http://127.0.0.1:9/"),
            ("PAPERTIDE_REQUEST_INTERVAL_MS", "0"),
            ("PAPERTIDE_CONTACT", "me@example.org"),
        ]))
        .unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(c.categories.len(), 2);
        assert_eq!(c.arxiv.rss_url, "http://127.0.0.1:9");
        assert_eq!(c.arxiv.request_interval_ms, 0);
        assert_eq!(c.contact.as_deref(), Some("me@example.org"));
        c.apply_env(env(&[("PAPERTIDE_RERANKER_MODEL", "cross-encoder/ms-marco-MiniLM-L6-v2")])).unwrap();
        assert_eq!(c.related.model.as_deref(), Some("cross-encoder/ms-marco-MiniLM-L6-v2"));
        assert!(c.apply_env(env(&[("PAPERTIDE_RERANKER_DTYPE", "int3")])).is_err());
    }

    #[test]
    fn bad_values_name_the_variable() {
        let mut c = Config::default();
        let e = c.apply_env(env(&[("PAPERTIDE_REQUEST_INTERVAL_MS", "soon")])).unwrap_err();
        assert!(e.to_string().contains("PAPERTIDE_REQUEST_INTERVAL_MS"));
        let e = c.apply_env(env(&[("PAPERTIDE_CATEGORIES", "  ")])).unwrap_err();
        assert!(e.to_string().contains("PAPERTIDE_CATEGORIES"));
    }

    #[test]
    fn a_bad_dtype_is_refused_where_it_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "[related]\ndtype = \"fp8\"\n").unwrap();
        let e = Config::from_file(&p).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("dtype") && e.contains("fp8"), "{e}");
        std::fs::write(&p, "[related]\ndtype = \"BF16\"\n").unwrap();
        assert_eq!(Config::from_file(&p).unwrap().related.dtype, crate::rerank::Dtype::Bf16);
    }

    #[test]
    fn toml_files_are_read_and_unknown_keys_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "categories = [\"cs.CL\"]\n[arxiv]\nrequest_interval_ms = 10\n").unwrap();
        let c = Config::from_file(&p).unwrap();
        assert_eq!(c.arxiv.request_interval_ms, 10);
        assert_eq!(c.categories[0].code(), "cs.CL");
        std::fs::write(&p, "[llm]\nbase_url = \"http://127.0.0.1:8080/v1\"\nmodel = \"qwen\"\nmax_concurrent = 3\n")
            .unwrap();
        let c = Config::from_file(&p).unwrap();
        assert!(c.llm.is_configured());
        assert_eq!(c.llm.max_concurrent, 3);
        std::fs::write(&p, "catgories = []\n").unwrap();
        assert!(Config::from_file(&p).unwrap_err().to_string().contains("catgories"));
    }
}
