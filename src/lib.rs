//! Papertide: a self-hosted arXiv reading assistant. See ARCHITECTURE.md for the data flow.

pub mod app;
pub mod arxiv;
#[cfg(feature = "research")]
pub mod bench;
pub mod cli;
pub mod config;
pub mod domain;
pub mod env;
#[cfg(feature = "research")]
pub mod eval;
pub mod ingest;
pub mod jobs;
pub mod llm;
pub mod net;
pub mod related;
pub mod render;
pub mod rerank;
pub mod search;
pub mod store;
pub mod tasks;
pub mod venues;
pub mod web;
