//! The loaded scoring core: the cross-encoder and, when one has been built, the CUR index over the corpus.
//! Everything here runs on the related pool's threads (see `jobs::CpuPool`), never on the async runtime.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::rerank::cur::{CurError, CurIndex, IndexSpec};
use crate::rerank::{CrossEncoder, EngineOptions, PairFormat, PairTexts, paper_text};
use crate::store::PaperText;

use super::{Fusion, RelatedConfig};

/// Appended items are written to disk at most this often (a crash loses at most this much appending,
/// which the start-up catch-up redoes).
const SAVE_EVERY: Duration = Duration::from_secs(60);

/// Tokens per pair for a model whose directory names no length (the known-item models were trained at 128).
pub const DEFAULT_MAX_LENGTH: usize = 128;

pub struct Engine {
    pub ce: CrossEncoder,
    pub cur: RwLock<Option<CurIndex>>,
    cur_path: PathBuf,
    /// Model, settings and CUR anchors: lists computed under another key are stale.
    model_key: String,
    dirty: Mutex<(usize, Instant)>,
}

/// Why the related-papers engine could not load, score or save.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Model(#[from] crate::rerank::RerankError),
    #[error(transparent)]
    Cur(#[from] CurError),
    #[error("a lock of the engine was poisoned by a panic")]
    Poisoned,
}

impl Engine {
    /// Loads the cross-encoder from `model_dir` and the CUR index at `cur_path` if there is a usable one (an
    /// index built for another model or settings is ignored with a warning: `papertide related index` rebuilds).
    pub fn load(model_dir: &Path, cfg: &RelatedConfig, cur_path: &Path) -> Result<Engine, EngineError> {
        let dtype = cfg.dtype;
        let format = PairFormat::load(model_dir)?;
        let max_length = cfg.max_length.or(format.max_length).unwrap_or(DEFAULT_MAX_LENGTH);
        let opts = EngineOptions { max_length, threads: cfg.threads, dtype, batch_size: 32, isa: None };
        let ce = CrossEncoder::load(model_dir, opts)?;
        let cur = match CurIndex::load(cur_path, &expected_spec(&ce)) {
            Ok(idx) => {
                tracing::info!(items = idx.len(), k_q = idx.k_q(), path = %cur_path.display(), "CUR index loaded");
                Some(idx)
            }
            Err(CurError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                tracing::warn!("CUR index not used: {e}");
                None
            }
        };
        let model_key = model_key(&ce, cfg, cur.as_ref());
        Ok(Engine {
            ce,
            cur: RwLock::new(cur),
            cur_path: cur_path.to_path_buf(),
            model_key,
            dirty: Mutex::new((0, Instant::now())),
        })
    }

    pub fn model_key(&self) -> &str {
        &self.model_key
    }

    /// The query side of a pair about `paper`, in this model's format (its title, or title and abstract).
    pub fn query_text(&self, paper: &PaperText) -> String {
        match self.ce.format().pair {
            PairTexts::TitleAbstract => paper.title.clone(),
            PairTexts::PaperPaper => paper_text(&paper.title, &paper.abstract_text),
        }
    }

    /// The candidate side of a pair about `paper` (its abstract, or title and abstract).
    pub fn item_text(&self, paper: &PaperText) -> String {
        match self.ce.format().pair {
            PairTexts::TitleAbstract => paper.abstract_text.clone(),
            PairTexts::PaperPaper => paper_text(&paper.title, &paper.abstract_text),
        }
    }

    /// Appends a paper to the CUR index if there is one and it lacks the paper (`k_q` CE calls), saving the
    /// index now and then. Returns the CE pairs spent.
    pub fn append(&self, paper: &PaperText) -> Result<usize, EngineError> {
        let id = paper.id.as_str();
        let mut guard = self.cur.write().map_err(|_| EngineError::Poisoned)?;
        let Some(cur) = guard.as_mut() else { return Ok(0) };
        if cur.position(id).is_some() {
            return Ok(0);
        }
        cur.append(&self.ce, id, &self.item_text(paper))?;
        let k_q = cur.k_q();
        let mut dirty = self.dirty.lock().map_err(|_| EngineError::Poisoned)?;
        dirty.0 += 1;
        if dirty.1.elapsed() >= SAVE_EVERY {
            cur.save(&self.cur_path)?;
            *dirty = (0, Instant::now());
        }
        Ok(k_q)
    }

    /// Writes appended items to disk now.
    pub fn flush(&self) -> Result<(), EngineError> {
        let mut dirty = self.dirty.lock().map_err(|_| EngineError::Poisoned)?;
        if dirty.0 == 0 {
            return Ok(());
        }
        let guard = self.cur.read().map_err(|_| EngineError::Poisoned)?;
        if let Some(cur) = guard.as_ref() {
            cur.save(&self.cur_path)?;
        }
        *dirty = (0, Instant::now());
        Ok(())
    }
}

/// What a CUR index must have been built with to serve this engine (any anchors).
pub fn expected_spec(ce: &CrossEncoder) -> IndexSpec {
    IndexSpec::new(ce.model_id(), ce.options().max_length, ce.format().pair, Vec::new())
}

fn model_key(ce: &CrossEncoder, cfg: &RelatedConfig, cur: Option<&CurIndex>) -> String {
    let cur = match cur {
        // "kriging": the CUR search method; lists from the earlier least-squares search go stale. The hub
        // weight changes lists only with an index, so only then is it part of the key.
        Some(c) => format!(
            "cur-kriging:{}:hub{}",
            crate::rerank::cur::store::fingerprint(
                &c.meta().spec.anchor_query_ids.iter().chain(&c.meta().anchor_item_ids).cloned().collect::<Vec<_>>()
            ),
            cfg.cur_hub_weight
        ),
        None => "nocur".into(),
    };
    format!(
        "{}|{:?}|L{}|{}|{}|bm25:{}+tfidf:{}+cur:{}|{:?}",
        ce.model_id(),
        ce.format().pair,
        ce.options().max_length,
        cfg.dtype,
        cur,
        cfg.bm25_candidates,
        cfg.tfidf_candidates_for(ce.embedding_dim().is_some()),
        cfg.cur_candidates,
        // Score fusion's weight changes the order, so it is part of the key (rank fusion keeps its old key).
        match cfg.fusion {
            Fusion::Score => format!("Score{}", cfg.lexical_weight),
            other => format!("{other:?}"),
        }
    ) + &dense_key(ce, cfg)
}

/// The dense stage's part of the key: only for a model with an embedding head (others keep their keys).
fn dense_key(ce: &CrossEncoder, cfg: &RelatedConfig) -> String {
    match ce.embedding_dim() {
        Some(_) if cfg.dense_candidates > 0 || cfg.dense_weight > 0.0 => {
            format!("|dense:{}+w{}", cfg.dense_candidates, cfg.dense_weight)
        }
        _ => String::new(),
    }
}
