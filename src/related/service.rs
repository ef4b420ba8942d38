//! The related-papers service: serves stored lists, schedules their computation, runs it off the runtime.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use serde::Serialize;
use tokio::sync::Notify;

use super::config::ModelChoice;
use super::dense::{DenseIndex, from_blob, to_blob};
use super::engine::Engine;
use super::pipeline::{Candidate, Dense, Lexicon};
use super::{RelatedConfig, RelatedError, pipeline};
use crate::jobs::{CpuPool, RetryPolicy};
use crate::net::limits::RateLimiter;
use crate::search::SearchIndex;
use crate::store::{JobKind, NewJob, PaperText, RelatedItem, Store};

/// Priorities in the job queue: what a reader is waiting for first, then new papers, then stale lists.
const PRIORITY_VIEW: i64 = 100;
const PRIORITY_NEW: i64 = 50;
const PRIORITY_STALE: i64 = 10;
/// The key suffix of lists computed before the TF-IDF index was ready (see `RelatedService::compute_key`).
const NO_TFIDF: &str = "bm25-only";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RelatedStatus {
    /// The list is final (reranked, or the BM25 list when no model is configured).
    Ready,
    /// The reranked list is being computed; `related` holds the BM25 (or a stale) list meanwhile.
    Pending,
}

/// What `/api/papers/{id}/related` answers and the pages render.
#[derive(Debug, Clone, Serialize)]
pub struct RelatedView {
    pub status: RelatedStatus,
    pub related: Vec<RelatedItem>,
    /// Shown to readers: why the list is lexical only, or that it is being improved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Whether `related` was ranked by the cross-encoder.
    pub reranked: bool,
}

/// What one computation cost.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ComputeStats {
    pub ce_pairs: usize,
    pub append_pairs: usize,
    pub ms: u64,
}

/// The note of a model-less list.
const NOTE_NO_MODEL: &str =
    "No cross-encoder is in use (PAPERTIDE_RERANKER_MODEL=none), so these are lexical (TF-IDF and BM25) matches.";

/// Downloads one URL into a file (for hub models; see [`crate::rerank::Fetch`]), owned so it can move to the
/// pool thread.
pub type OwnedFetch = Box<dyn Fn(&str, &std::path::Path) -> Result<u64, crate::rerank::FetchError> + Send>;

pub struct RelatedService {
    cfg: RelatedConfig,
    store: Store,
    index: SearchIndex,
    lexicon: Lexicon,
    dense: Dense,
    engine: RwLock<Option<Arc<Engine>>>,
    /// Why there is no engine (no model configured, or it failed to load): the note readers see.
    unavailable: RwLock<String>,
    pool: CpuPool,
    wake: Arc<Notify>,
    limiter: RateLimiter,
}

impl RelatedService {
    pub fn new(cfg: RelatedConfig, store: Store, index: SearchIndex) -> std::io::Result<Arc<Self>> {
        let pool = CpuPool::new("related", cfg.workers.max(1))?;
        let limiter = RateLimiter::new(cfg.on_view_per_minute);
        Ok(Arc::new(RelatedService {
            unavailable: RwLock::new(NOTE_NO_MODEL.into()),
            cfg,
            store,
            index,
            lexicon: Lexicon::default(),
            dense: Dense::default(),
            engine: RwLock::default(),
            pool,
            wake: Arc::default(),
            limiter,
        }))
    }

    /// The store the lists are read from and written to.
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn config(&self) -> &RelatedConfig {
        &self.cfg
    }

    /// Loads the configured cross-encoder (downloading a hub model into `cache_dir` through `fetch`) and the
    /// CUR index, on the related pool. A failure is logged and leaves related papers lexical, never an error.
    pub async fn load_engine(
        &self,
        cache_dir: std::path::PathBuf,
        cur_path: std::path::PathBuf,
        fetch: OwnedFetch,
    ) -> bool {
        let spec = match self.cfg.model_choice() {
            ModelChoice::Off => return false,
            ModelChoice::Spec(s) => s,
            ModelChoice::Bundled(Some(dir)) => dir.display().to_string(),
            ModelChoice::Bundled(None) => {
                tracing::warn!(
                    "the bundled related-papers model ({}) was not found; related papers stay lexical",
                    super::config::BUNDLED_MODEL
                );
                self.set_note(
                    "The bundled cross-encoder was not found, so these are lexical (TF-IDF and BM25) matches.",
                );
                return false;
            }
        };
        let cfg = self.cfg.clone();
        let hub = self.cfg.hub_url.clone();
        let loaded = self
            .pool
            .run(move || {
                let dir = crate::rerank::resolve_model(&spec, &cache_dir, &hub, &*fetch)?;
                Engine::load(&dir, &cfg, &cur_path)
            })
            .await
            .map_err(RelatedError::from)
            .and_then(|r| r.map_err(RelatedError::from));
        match loaded {
            Ok(engine) => {
                tracing::info!(model = engine.ce.model_id(), engine = %engine.ce.engine_name(), "cross-encoder loaded");
                *self.engine.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(engine));
                true
            }
            Err(e) => {
                tracing::warn!("related papers stay lexical: cannot load the cross-encoder: {e}");
                self.set_note("The cross-encoder could not be loaded, so these are lexical (TF-IDF and BM25) matches.");
                false
            }
        }
    }

    fn set_note(&self, note: &str) {
        *self.unavailable.write().unwrap_or_else(|e| e.into_inner()) = note.into();
    }

    /// Builds the whole-text TF-IDF index of every stored paper (on the blocking pool; a few seconds for
    /// 70,000 papers). Until it is ready, candidates come from BM25 alone.
    pub async fn build_lexicon(&self) -> Result<usize, RelatedError> {
        let started = Instant::now();
        let papers = self.store.all_paper_texts(None, None).await?;
        let lexicon = self.lexicon.clone();
        let n = tokio::task::spawn_blocking(move || {
            let texts: Vec<String> =
                papers.iter().map(|p| crate::rerank::paper_text(&p.title, &p.abstract_text)).collect();
            let docs: Vec<(&str, &str)> = papers.iter().zip(&texts).map(|(p, t)| (p.id.as_str(), t.as_str())).collect();
            let idx = crate::search::tfidf::TfidfIndex::build(&docs, Default::default());
            let n = idx.len();
            *lexicon.write().unwrap_or_else(|e| e.into_inner()) = Some(idx);
            n
        })
        .await
        .map_err(|e| crate::search::SearchError::Task(e.to_string()))?;
        tracing::info!(papers = n, ms = started.elapsed().as_millis() as u64, "TF-IDF index of related papers built");
        Ok(n)
    }

    /// Adds newly stored papers to the TF-IDF index (with its vocabulary; no-op before it is built).
    pub fn add_to_lexicon(&self, papers: &[(&str, &str, &str)]) {
        if let Some(l) = self.lexicon.write().unwrap_or_else(|e| e.into_inner()).as_mut() {
            for (id, title, abstract_text) in papers {
                l.add(id, &crate::rerank::paper_text(title, abstract_text));
            }
        }
    }

    pub fn lexicon(&self) -> &Lexicon {
        &self.lexicon
    }

    pub fn dense(&self) -> &Dense {
        &self.dense
    }

    /// With a model that has an embedding head: loads the stored embeddings of that model, then embeds every
    /// stored paper that has none (batches of 64 on the related pool, each stored as it is done, so an
    /// interrupted pass resumes where it stopped). Returns the papers embedded now. Until it returns, lists
    /// use the embeddings there are (the query's own is computed on the spot). No-op without a head.
    pub async fn prepare_embeddings(&self) -> Result<usize, RelatedError> {
        let Some(engine) = self.engine() else { return Ok(0) };
        let Some(dim) = engine.ce.embedding_dim() else { return Ok(0) };
        let model = engine.ce.model_id().to_string();
        let started = Instant::now();
        let mut index = DenseIndex::new(dim);
        let mut bad = 0usize;
        for (id, blob) in self.store.embeddings(&model).await? {
            if from_blob(&blob).is_none_or(|v| index.insert(&id, &v).is_err()) {
                bad += 1;
            }
        }
        if bad > 0 {
            tracing::warn!(bad, "stored embeddings of the wrong size or not finite: recomputed");
        }
        let loaded = index.len();
        *self.dense.write().unwrap_or_else(|e| e.into_inner()) = Some(index);
        let mut embedded = 0usize;
        let mut skip: HashSet<String> = HashSet::new();
        loop {
            let batch: Vec<PaperText> = self
                .store
                .papers_without_embedding(&model, 64 + skip.len() as i64)
                .await?
                .into_iter()
                .filter(|p| !skip.contains(&p.id))
                .take(64)
                .collect();
            if batch.is_empty() {
                break;
            }
            let e = engine.clone();
            let texts: Vec<String> = batch.iter().map(|p| e.item_text(p)).collect();
            let flat = self
                .pool
                .run(move || e.ce.embed_texts(&texts.iter().map(String::as_str).collect::<Vec<_>>()))
                .await?
                .map_err(|e| RelatedError::Engine(e.into()))?;
            let rows: Vec<(String, Vec<f32>)> =
                batch.iter().map(|p| p.id.clone()).zip(flat.chunks_exact(dim).map(<[f32]>::to_vec)).collect();
            let stored = self.store_embeddings(&model, rows).await?;
            // A paper that could not be stored (deleted meanwhile) is not asked for again in this pass.
            skip.extend(batch.iter().map(|p| p.id.clone()).filter(|id| !stored.contains(id)));
            embedded += stored.len();
        }
        tracing::info!(loaded, embedded, ms = started.elapsed().as_millis() as u64, "paper embeddings ready");
        Ok(embedded)
    }

    /// Stores embeddings of `model` and adds those of stored papers to the in-memory index; returns the ids
    /// stored (a text that is not a stored paper, such as a venue paper's, is neither stored nor indexed).
    async fn store_embeddings(
        &self,
        model: &str,
        rows: Vec<(String, Vec<f32>)>,
    ) -> Result<HashSet<String>, RelatedError> {
        if rows.is_empty() {
            return Ok(HashSet::new());
        }
        let blobs: Vec<(String, Vec<u8>)> = rows.iter().map(|(id, v)| (id.clone(), to_blob(v))).collect();
        let stored: HashSet<String> = self.store.put_embeddings(model, &blobs).await?.into_iter().collect();
        if let Some(d) = self.dense.write().unwrap_or_else(|e| e.into_inner()).as_mut() {
            for (id, v) in rows.iter().filter(|(id, _)| stored.contains(id)) {
                if let Err(e) = d.insert(id, v) {
                    tracing::warn!("embedding not indexed: {e}");
                }
            }
        }
        Ok(stored)
    }

    /// The first-stage candidates of `paper` (see [`pipeline::candidates`]).
    pub async fn candidates(&self, paper: &PaperText) -> Result<Vec<Candidate>, RelatedError> {
        let c = &self.cfg;
        pipeline::candidates(
            &self.index,
            &self.lexicon,
            &self.store,
            paper,
            c.key_terms,
            c.bm25_candidates.max(c.top_k),
            c.tfidf_candidates_for(self.engine().is_some_and(|e| e.ce.embedding_dim().is_some())),
        )
        .await
    }

    pub fn engine(&self) -> Option<Arc<Engine>> {
        self.engine.read().ok().and_then(|e| e.clone())
    }

    /// The key of a complete list under the loaded model and settings (`None`: no model, lists are lexical and
    /// not stored); lists under another key are stale.
    pub fn model_key(&self) -> Option<String> {
        self.engine().map(|e| e.model_key().to_string())
    }

    /// The key a list computed now is stored under. While the TF-IDF index is still being built (start-up),
    /// candidates come from BM25 alone and the order cannot use the cosines, so such a list carries the
    /// `bm25-only` mark: it serves while the index is missing, and once the index is ready it is stale and
    /// recomputed (on its next view, or at the next start) instead of standing for good.
    /// `complete` is the engine's key ([`Self::model_key`]), passed in so that a list is keyed by the engine
    /// that computed it even if another is loaded meanwhile.
    fn compute_key(&self, complete: &str) -> String {
        let tfidf = self.lexicon.read().map(|l| l.is_some()).unwrap_or(false);
        if tfidf { complete.to_string() } else { format!("{complete}|{NO_TFIDF}") }
    }

    /// A paper's list as it stands, scheduling its computation when it is missing or stale (unless `client`
    /// has used up its rate). Never waits for the cross-encoder.
    pub async fn view(&self, id: &str, client: Option<IpAddr>) -> Result<RelatedView, RelatedError> {
        let stored = self.store.get_related(id).await?;
        let Some(key) = self.model_key() else {
            let paper = self.paper(id).await?;
            let lexical = self.candidates(&paper).await?;
            let note = self.unavailable.read().map(|n| n.clone()).unwrap_or_default();
            return Ok(RelatedView {
                status: RelatedStatus::Ready,
                related: pipeline::lexical_items(&lexical, self.cfg.top_k),
                note: Some(note),
                reranked: false,
            });
        };
        // A complete list is fresh; a BM25-only one too while the TF-IDF index is still missing.
        let now = self.compute_key(&key);
        if let Some(s) = stored.as_ref().filter(|s| s.model_key == key || s.model_key == now) {
            return Ok(RelatedView {
                status: RelatedStatus::Ready,
                related: s.items.clone(),
                note: None,
                reranked: true,
            });
        }
        let paper = self.paper(id).await?;
        let scheduled = match client.map(|c| self.limiter.check(c)) {
            Some(Err(_)) => self.store.job_pending(JobKind::Related, id).await?,
            _ => {
                self.enqueue(&[(paper.id.as_str(), "")], PRIORITY_VIEW).await?;
                true
            }
        };
        let (related, reranked) = match stored {
            // A stale reranked list beats a lexical one while the new one is computed.
            Some(s) => (s.items, true),
            None => {
                let lexical = self.candidates(&paper).await?;
                (pipeline::lexical_items(&lexical, self.cfg.top_k), false)
            }
        };
        let note = if scheduled {
            "Ranking these with the cross-encoder; the list updates by itself."
        } else {
            "Too many related-paper computations from your address right now; these are lexical matches."
        };
        Ok(RelatedView {
            status: if scheduled { RelatedStatus::Pending } else { RelatedStatus::Ready },
            related,
            note: Some(note.into()),
            reranked,
        })
    }

    /// Related arXiv papers of a text that is not a stored arXiv paper (a venue paper without an arXiv
    /// version): the lexical candidates reranked by the cross-encoder at once, on the related pool (whose size
    /// caps concurrent cross-encoder work), when a model is loaded and `client` has not used up its rate; else
    /// the lexical list, saying why. Not stored: lists are kept per arXiv paper (the caller's page cache keeps
    /// this one).
    pub async fn view_text(&self, paper: &PaperText, client: Option<IpAddr>) -> Result<RelatedView, RelatedError> {
        let lexical = self.candidates(paper).await?;
        let lexical_view = |note: &str| RelatedView {
            status: RelatedStatus::Ready,
            related: pipeline::lexical_items(&lexical, self.cfg.top_k),
            note: Some(note.to_string()),
            reranked: false,
        };
        let Some(engine) = self.engine() else {
            let note = self.unavailable.read().map(|n| n.clone()).unwrap_or_default();
            return Ok(lexical_view(&note));
        };
        if let Some(Err(_)) = client.map(|c| self.limiter.check(c)) {
            return Ok(lexical_view(
                "Too many related-paper computations from your address right now; these are lexical matches.",
            ));
        }
        let (cfg, store, rt) = (self.cfg.clone(), self.store.clone(), tokio::runtime::Handle::current());
        let (p, cands, lexicon, dense) = (paper.clone(), lexical.clone(), self.lexicon.clone(), self.dense.clone());
        let model = engine.ce.model_id().to_string();
        let reranked = self
            .pool
            .run(move || {
                let lookup = |id: &str| rt.block_on(store.paper_texts(&[id.to_string()])).ok()?.pop();
                pipeline::rerank(&engine, &cfg, &p, &cands, &lexicon, &dense, &lookup)
            })
            .await??;
        // Candidates' embeddings the index lacked are kept (the venue paper's own is refused by the store).
        self.store_embeddings(&model, reranked.new_embeddings).await?;
        Ok(RelatedView { status: RelatedStatus::Ready, related: reranked.items, note: None, reranked: true })
    }

    async fn paper(&self, id: &str) -> Result<PaperText, RelatedError> {
        self.store.paper_texts(&[id.to_string()]).await?.pop().ok_or_else(|| RelatedError::NotFound(id.to_string()))
    }

    /// Computes, stores and returns a paper's reranked list, and appends the paper to the CUR index if it
    /// lacks it. CPU work runs on the related pool (its size caps concurrent cross-encoder work).
    pub async fn compute(&self, id: &str) -> Result<(Vec<RelatedItem>, ComputeStats), RelatedError> {
        let Some(engine) = self.engine() else {
            return Err(RelatedError::NoEngine);
        };
        let start = Instant::now();
        let paper = self.paper(id).await?;
        // The key as the candidates are taken (the TF-IDF index may become ready meanwhile: then the list
        // keeps the key of what it was computed from, and is refreshed later).
        let key = self.compute_key(engine.model_key());
        let lexical = self.candidates(&paper).await?;
        let (cfg, store, rt) = (self.cfg.clone(), self.store.clone(), tokio::runtime::Handle::current());
        let (e, lexicon, dense) = (engine.clone(), self.lexicon.clone(), self.dense.clone());
        let result = self
            .pool
            .run(move || -> Result<_, RelatedError> {
                // SQLite reads for CUR-found papers, from this pool thread (not a runtime thread).
                let lookup = |id: &str| rt.block_on(store.paper_texts(&[id.to_string()])).ok()?.pop();
                let reranked = pipeline::rerank(&e, &cfg, &paper, &lexical, &lexicon, &dense, &lookup)?;
                let append = if paper.withdrawn { 0 } else { e.append(&paper)? };
                Ok((reranked, append))
            })
            .await??;
        let (mut reranked, append_pairs) = result;
        let new_embeddings = std::mem::take(&mut reranked.new_embeddings);
        self.store_embeddings(engine.ce.model_id(), new_embeddings).await?;
        let ms = start.elapsed().as_millis() as u64;
        self.store.put_related(id, &key, &reranked.items, reranked.ce_pairs, ms).await?;
        Ok((reranked.items, ComputeStats { ce_pairs: reranked.ce_pairs, append_pairs, ms }))
    }

    /// Queues related-list jobs for `(id, sort date)` pairs. No-op without a model.
    pub async fn enqueue(&self, papers: &[(&str, &str)], priority: i64) -> Result<u64, RelatedError> {
        if self.engine().is_none() || papers.is_empty() {
            return Ok(0);
        }
        let jobs: Vec<NewJob> =
            papers.iter().map(|(id, d)| NewJob { kind: JobKind::Related, key: id, priority, sort_key: d }).collect();
        let n = self.store.enqueue_jobs(&jobs).await?;
        self.wake.notify_waiters();
        Ok(n)
    }

    /// Queues newly ingested papers.
    pub async fn enqueue_new(&self, papers: &[(&str, &str)]) -> Result<u64, RelatedError> {
        self.enqueue(papers, PRIORITY_NEW).await
    }

    /// Start-up: requeues jobs a dead process left running, queues stale lists (newest first) and recent papers
    /// without a list (new papers whose job was lost in a crash), then starts the workers.
    pub async fn start_background(self: &Arc<Self>) -> Result<(), RelatedError> {
        let Some(key) = self.model_key() else { return Ok(()) };
        if !self.cfg.background {
            return Ok(());
        }
        let requeued = self.store.requeue_interrupted_jobs().await?;
        let stale = self.store.stale_related(&key, 1_000_000).await?;
        let stale_refs: Vec<(&str, &str)> = stale.iter().map(|(i, d)| (i.as_str(), d.as_str())).collect();
        let n_stale = self.enqueue(&stale_refs, PRIORITY_STALE).await?;
        let since = (chrono::Utc::now() - chrono::Duration::days(3)).format("%Y-%m-%d").to_string();
        let recent = self.store.papers_needing_related(&key, None, Some(&since), 100_000).await?;
        let recent_refs: Vec<(&str, &str)> = recent.iter().map(|(i, d)| (i.as_str(), d.as_str())).collect();
        let n_recent = self.enqueue_new(&recent_refs).await?;
        tracing::info!(requeued, stale = n_stale, recent = n_recent, "related-papers jobs queued");
        for _ in 0..self.cfg.workers.max(1) {
            let this = self.clone();
            crate::jobs::spawn_worker(
                self.store.clone(),
                JobKind::Related,
                RetryPolicy { max_attempts: 5, first_delay_s: 30 },
                self.wake.clone(),
                move |job| {
                    let this = this.clone();
                    async move {
                        match this.compute(&job.key).await {
                            Ok(_) | Err(RelatedError::NotFound(_)) => Ok(()),
                            Err(e) => Err(e),
                        }
                    }
                },
            );
        }
        Ok(())
    }

    /// Writes CUR appends to disk (at shutdown or the end of a bulk build).
    pub async fn flush(&self) -> Result<(), RelatedError> {
        let Some(engine) = self.engine() else { return Ok(()) };
        Ok(self.pool.run(move || engine.flush()).await??)
    }
}
