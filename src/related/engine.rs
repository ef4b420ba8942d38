//! The loaded scoring core: the cross-encoder and, when one has been built, the CUR index over the corpus.
//! Everything here runs on the related pool's threads (see `jobs::CpuPool`), never on the async runtime.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::rerank::cur::{CurError, CurIndex, IndexSpec, TEXT_FIELDS};
use crate::rerank::{CrossEncoder, Dtype, EngineOptions};

use super::RelatedConfig;

/// Appended items are written to disk at most this often (a crash loses at most this much appending,
/// which the start-up catch-up redoes).
const SAVE_EVERY: Duration = Duration::from_secs(60);

pub struct Engine {
    pub ce: CrossEncoder,
    pub cur: RwLock<Option<CurIndex>>,
    cur_path: PathBuf,
    /// Model, settings and CUR anchors: lists computed under another key are stale.
    model_key: String,
    dirty: Mutex<(usize, Instant)>,
}

impl Engine {
    /// Loads the cross-encoder from `model_dir` and the CUR index at `cur_path` if there is a usable one (an
    /// index built for another model or settings is ignored with a warning: `papertide related index` rebuilds).
    pub fn load(model_dir: &Path, cfg: &RelatedConfig, cur_path: &Path) -> Result<Engine, String> {
        let dtype: Dtype = cfg.dtype.parse()?;
        let opts = EngineOptions { max_length: cfg.max_length, threads: cfg.threads, dtype, batch_size: 32, isa: None };
        let ce = CrossEncoder::load(model_dir, opts).map_err(|e| e.to_string())?;
        let cur = match CurIndex::load(cur_path, &expected_spec(&ce, cfg.max_length)) {
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

    /// Appends a paper to the CUR index if there is one and it lacks the paper (`k_q` CE calls), saving the
    /// index now and then. Returns the CE pairs spent.
    pub fn append(&self, id: &str, abstract_text: &str) -> Result<usize, String> {
        let mut guard = self.cur.write().map_err(|_| "CUR index lock poisoned")?;
        let Some(cur) = guard.as_mut() else { return Ok(0) };
        if cur.position(id).is_some() {
            return Ok(0);
        }
        cur.append(&self.ce, id, abstract_text).map_err(|e| e.to_string())?;
        let k_q = cur.k_q();
        let mut dirty = self.dirty.lock().map_err(|_| "lock poisoned")?;
        dirty.0 += 1;
        if dirty.1.elapsed() >= SAVE_EVERY {
            cur.save(&self.cur_path).map_err(|e| e.to_string())?;
            *dirty = (0, Instant::now());
        }
        Ok(k_q)
    }

    /// Writes appended items to disk now.
    pub fn flush(&self) -> Result<(), String> {
        let mut dirty = self.dirty.lock().map_err(|_| "lock poisoned")?;
        if dirty.0 == 0 {
            return Ok(());
        }
        let guard = self.cur.read().map_err(|_| "CUR index lock poisoned")?;
        if let Some(cur) = guard.as_ref() {
            cur.save(&self.cur_path).map_err(|e| e.to_string())?;
        }
        *dirty = (0, Instant::now());
        Ok(())
    }
}

/// What a CUR index must have been built with to serve this engine (any anchors).
pub fn expected_spec(ce: &CrossEncoder, max_length: usize) -> IndexSpec {
    IndexSpec::new(ce.model_id(), max_length, Vec::new())
}

fn model_key(ce: &CrossEncoder, cfg: &RelatedConfig, cur: Option<&CurIndex>) -> String {
    let cur = match cur {
        // "kriging": the CUR search method; lists from the earlier least-squares search go stale.
        Some(c) => format!(
            "cur-kriging:{}",
            crate::rerank::cur::store::fingerprint(
                &c.meta().spec.anchor_query_ids.iter().chain(&c.meta().anchor_item_ids).cloned().collect::<Vec<_>>()
            )
        ),
        None => "nocur".into(),
    };
    format!(
        "{}|{}:{}|L{}|{}|{}|bm25:{}+cur:{}|{:?}",
        ce.model_id(),
        TEXT_FIELDS.0,
        TEXT_FIELDS.1,
        cfg.max_length,
        cfg.dtype,
        cur,
        cfg.bm25_candidates,
        cfg.cur_candidates,
        cfg.fusion
    )
}
