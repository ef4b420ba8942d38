//! Shared helpers for integration tests. Use from a test file with `mod support;`.
//!
//! * [`fake_server`]: a scripted HTTP/1.1 server on loopback with fault injection, for anything that
//!   talks to arXiv through `papertide::net::http::HttpClient`.
//! * [`fake_llm`]: a streaming OpenAI-compatible Chat Completions server (axum) with fault injection.
//! * [`papers`]: paper records and announcements with test defaults.
//! * [`logs`]: every log line of the test binary, for checks of what is never logged.
//! * [`config`]: configs with data in a temp dir and arXiv settings for a loopback fake.
//! * [`router`]: requests through the real router without a socket.

// Each integration test binary compiles this module separately and uses only part of it.
#![allow(dead_code)]

pub mod config;
pub mod fake_llm;
pub mod fake_server;
pub mod logs;
pub mod papers;
pub mod router;
