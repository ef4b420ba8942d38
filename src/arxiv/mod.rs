//! Talking to arXiv: one polite HTTP client with a retry decorator, and a streaming quick-xml parser per
//! source format (daily RSS/Atom feeds, OAI-PMH, the search API) plus the Kaggle snapshot reader.

pub mod api;
pub mod http;
pub mod kaggle;
pub mod oai;
pub mod retry;
pub mod rss;
pub mod xml;
