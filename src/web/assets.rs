//! The stylesheets, scripts and icon, compiled into the binary so `demo` runs from any directory.
//! Pages link them with `?v={version}` (a content hash), so they can be cached for a long time.

use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::WebError;
use super::cache::Page;

const FILES: [(&str, &str, &str); 5] = [
    ("app.js", "text/javascript; charset=utf-8", include_str!("../../static/app.js")),
    ("style.css", "text/css; charset=utf-8", include_str!("../../static/style.css")),
    ("icon.svg", "image/svg+xml", include_str!("../../static/icon.svg")),
    // The summary page's stream reader and its styles (also loaded by every page for the inline panel).
    ("summary.js", "text/javascript; charset=utf-8", include_str!("../../static/summary.js")),
    ("summary.css", "text/css; charset=utf-8", include_str!("../../static/summary.css")),
];

/// A hash of all static files: changes whenever one does.
pub fn version() -> &'static str {
    static V: OnceLock<String> = OnceLock::new();
    V.get_or_init(|| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for (_, _, body) in FILES {
            body.hash(&mut h);
        }
        format!("{:08x}", h.finish() as u32)
    })
}

fn pages() -> &'static [(&'static str, Page)] {
    static P: OnceLock<Vec<(&'static str, Page)>> = OnceLock::new();
    P.get_or_init(|| {
        FILES
            .iter()
            .map(|(name, ct, body)| (*name, Page::new(*body, ct, "public, max-age=604800, immutable")))
            .collect()
    })
}

pub(super) async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    match pages().iter().find(|(name, _)| *name == file) {
        Some((_, page)) => page.respond(&headers),
        None => WebError::not_found("No such file.").into_response(),
    }
}
