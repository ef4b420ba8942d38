//! Configs for integration tests: `Config::default()` with its data in a temp dir, and arXiv client settings
//! suited to a loopback fake (no politeness delay, millisecond retries, a short retry budget).

use std::path::Path;

use papertide::config::Config;

use super::fake_server::FakeServer;

/// The default config with its data (SQLite, index, caches) under `dir`.
pub fn at(dir: &Path) -> Config {
    Config { data_dir: dir.to_path_buf(), ..Config::default() }
}

/// [`at`], with the arXiv client tuned for a loopback server: no spacing between requests, a 10 ms first retry
/// and a 1 s retry budget (raise `arxiv.retry_max_elapsed_s` where a test scripts longer fault runs).
pub fn loopback(dir: &Path) -> Config {
    let mut c = at(dir);
    c.arxiv.request_interval_ms = 0;
    c.arxiv.retry_initial_ms = 10;
    c.arxiv.retry_max_elapsed_s = 1;
    c
}

/// [`loopback`], with every arXiv source (API, OAI-PMH, RSS) pointed at `server` and 1 s timeouts.
pub fn against(dir: &Path, server: &FakeServer) -> Config {
    let mut c = loopback(dir);
    c.arxiv.api_url = server.url("/api/query");
    c.arxiv.oai_url = server.url("/oai");
    c.arxiv.rss_url = server.base_url();
    c.arxiv.read_timeout_s = 1;
    c.arxiv.connect_timeout_s = 1;
    c
}
