//! Related papers: every paper's list of the papers most related to it, ranked by the cross-encoder.
//!
//! Pipeline ([`pipeline`]): whole-text TF-IDF cosine and key-term BM25 candidates, CUR candidates over the
//! whole corpus (when a CUR index has been built: `papertide related index`), exact cross-encoder rerank of the
//! union (by default the bundled relatedness model, `models/related-minilm-l6`). Lists are stored in SQLite
//! (`related`) and computed by a durable job queue (`jobs`): for every newly ingested paper, on a first view,
//! and when the model or anchors change (stale lists, newest papers first). Without a model, lists are the
//! lexical candidates in the model-less order (TF-IDF cosine, then BM25), with a note saying so.

pub mod affinity;
pub mod bulk;
mod config;
pub mod dense;
pub mod engine;
pub mod fusion;
pub mod pipeline;
mod service;

pub use config::{BUNDLED_MODEL, Fusion, ModelChoice, RelatedConfig, bundled_model_dir};
pub use service::{ComputeStats, RelatedService, RelatedStatus, RelatedView};

#[derive(Debug, thiserror::Error)]
pub enum RelatedError {
    #[error("{0} is not in this Papertide's store")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Search(#[from] crate::search::SearchError),
    #[error("cross-encoder: {0}")]
    Engine(#[from] engine::EngineError),
    #[error(transparent)]
    Pool(#[from] crate::jobs::PoolError),
    #[error("no cross-encoder is loaded")]
    NoEngine,
}
