//! ANNCUR: a CUR-factorised index that approximates cross-encoder (CE) scores of a query paper against
//! every paper from a few exact CE calls, then reranks a shortlist exactly (Yadav et al., EMNLP 2022).
//!
//! Queries and items are both papers. The CE reads `(query paper title, item paper abstract)` pairs.
//! With anchor query papers `Q_a` (`k_q`) and anchor item papers `I_a` (`k_i`):
//! - offline: `R = CE(Q_a, all N)` (`k_q × N`), `W = R[:, I_a]`, `U = pinv(W)`, `E = U·R` (`k_i × N`);
//! - a query `q`: `c = CE(q, I_a)` (`k_i` calls), `s = c·E`, exact CE on the top `k_r` by `s`
//!   (`k_r` calls); the result ranks the `k_i + k_r` exactly scored papers. Budget `m = k_i + k_r`.
//! - a new paper `j`: `r_j = CE(Q_a, j)` (`k_q` calls), `e_j = U·r_j`, appended without a rebuild.
//! - adaptive variants within the same budget: [`CurIndex::query_adaptive_from`] (adaCUR: re-solve the
//!   query's coefficients by least squares after each round) and [`CurIndex::query_kriging`] (Gaussian-
//!   process regression over the centred anchor rows with a caller prior; the best measured, see
//!   [`kriging`]).
//!
//! The module is pure: it works on ids and texts handed in by the caller (no DB, no HTTP), and on any
//! [`PairScorer`].

pub mod anchors;
mod ce;
pub mod index;
pub mod kriging;
pub mod linalg;
pub mod store;
pub mod synthetic;

pub use anchors::{AnchorMethod, select_item_anchors};
pub use index::{BuildOptions, BuildProgress, CurIndex, IndexMeta, IndexSpec, QueryOptions, QueryResult, ScoredItem};
pub use kriging::KrigingOptions;
pub use store::FORMAT_VERSION;

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::rerank::PairTexts;

/// Anything that scores `(query text, item text)` pairs like a cross-encoder: one score per pair, in order.
pub trait PairScorer: Sync {
    fn score(&self, pairs: &[(&str, &str)]) -> Result<Vec<f32>, ScorerError>;
    /// Identifies the model; a persisted index built with another model id is refused.
    fn model_id(&self) -> String;
    /// What each side of a pair reads (recorded in an index's spec; a persisted index scored on other texts is
    /// refused). Title vs abstract unless the scorer says otherwise.
    fn texts(&self) -> PairTexts {
        PairTexts::default()
    }
}

/// A scorer failure, carried as text so any engine's error fits.
#[derive(Debug, thiserror::Error)]
#[error("scorer failed: {0}")]
pub struct ScorerError(pub String);

impl ScorerError {
    pub fn new(msg: impl std::fmt::Display) -> Self {
        Self(msg.to_string())
    }
}

impl<T: PairScorer + ?Sized> PairScorer for &T {
    fn score(&self, pairs: &[(&str, &str)]) -> Result<Vec<f32>, ScorerError> {
        (**self).score(pairs)
    }
    fn model_id(&self) -> String {
        (**self).model_id()
    }
    fn texts(&self) -> PairTexts {
        (**self).texts()
    }
}

/// Errors of the CUR index.
#[derive(Debug, thiserror::Error)]
pub enum CurError {
    #[error(transparent)]
    Scorer(#[from] ScorerError),
    #[error("scorer returned {got} scores for {want} pairs")]
    ScoreCount { want: usize, got: usize },
    #[error("I/O error on {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path} is not a CUR index file ({reason})")]
    Format { path: String, reason: String },
    /// The file is valid but was built for another model, anchor set, text fields or format version:
    /// the index must be rebuilt.
    #[error("CUR index {path} must be rebuilt: {reason}")]
    RebuildRequired { path: String, reason: String },
    #[error("invalid CUR index input: {0}")]
    Invalid(String),
    #[error("unknown item id {0}")]
    UnknownItem(String),
}

impl CurError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        CurError::Io { path: path.display().to_string(), source }
    }
}

/// Wraps a scorer and counts the pairs it was asked to score (budget accounting).
pub struct CountingScorer<S> {
    pub inner: S,
    pairs: AtomicUsize,
    calls: AtomicUsize,
}

impl<S> CountingScorer<S> {
    pub fn new(inner: S) -> Self {
        Self { inner, pairs: AtomicUsize::new(0), calls: AtomicUsize::new(0) }
    }
    /// Pairs scored so far.
    pub fn pairs(&self) -> usize {
        self.pairs.load(Ordering::Relaxed)
    }
    /// `score` invocations so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }
    pub fn reset(&self) {
        self.pairs.store(0, Ordering::Relaxed);
        self.calls.store(0, Ordering::Relaxed);
    }
}

impl<S: PairScorer> PairScorer for CountingScorer<S> {
    fn score(&self, pairs: &[(&str, &str)]) -> Result<Vec<f32>, ScorerError> {
        self.pairs.fetch_add(pairs.len(), Ordering::Relaxed);
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.score(pairs)
    }
    fn model_id(&self) -> String {
        self.inner.model_id()
    }
    fn texts(&self) -> PairTexts {
        self.inner.texts()
    }
}

/// Scores pairs, checking the count.
pub(crate) fn score_checked(scorer: &dyn PairScorer, pairs: &[(&str, &str)]) -> Result<Vec<f32>, CurError> {
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let out = scorer.score(pairs)?;
    if out.len() != pairs.len() {
        return Err(CurError::ScoreCount { want: pairs.len(), got: out.len() });
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
