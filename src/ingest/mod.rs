//! Ingest runs: each source's fetch → parse → store → index loop, with run summaries.

pub mod bench;
pub mod import;
mod summary;

pub use summary::RunSummary;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Search(#[from] crate::search::SearchError),
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{0}")]
    Other(String),
}
