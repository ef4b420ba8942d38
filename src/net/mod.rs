//! Talking to other servers, whoever they are: one polite HTTP client (per-host pacing, size caps, conditional
//! GET, streamed downloads), the retry decorator every fetch goes through (built on `backoff`), and the
//! per-client rate limiter the costly routes share. arXiv, the LLM client and model downloads sit above it;
//! it knows none of them.

pub mod http;
pub mod limits;
pub mod retry;
pub mod sniff;
