//! Talking to arXiv: a streaming quick-xml parser per source format (daily RSS/Atom feeds, OAI-PMH, the
//! search API), each fetched through [`crate::net`], plus the Kaggle snapshot reader.

pub mod api;
pub mod kaggle;
pub mod oai;
pub mod rss;
pub mod xml;
