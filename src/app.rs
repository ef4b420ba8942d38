//! The opened application: configuration, store, search index and its writer, shared by commands and
//! the server.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::config::Config;
use crate::domain::{Announcement, PaperRecord};
use crate::net::http::HttpClient;
use crate::search::{self, Indexer, SearchIndex};
use crate::store::{Store, UpsertOutcome};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Search(#[from] search::SearchError),
    #[error(transparent)]
    Http(#[from] crate::net::http::FetchError),
    #[error("LLM summaries: {0}")]
    Llm(#[from] crate::llm::service::SetupError),
    /// The related-papers CPU pool could not start its threads.
    #[error("related papers: {0}")]
    Related(#[source] std::io::Error),
}

#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub store: Store,
    pub index: SearchIndex,
    pub indexer: Indexer,
    /// Venue papers' search index and its writer (derived from `venue_papers`, caught up like the arXiv one).
    pub venue_index: SearchIndex,
    pub venue_indexer: Indexer,
    /// The one polite, retrying client for every arXiv source.
    pub http: HttpClient,
    /// LLM FAQ summaries; `None` when no LLM is configured (the pages then say how to configure one).
    pub llm: Option<Arc<crate::llm::Service>>,
    /// Related papers: stored lists, their job queue and the cross-encoder (loaded by `load_related_engine`).
    pub related: Arc<crate::related::RelatedService>,
    /// Whether stored batches queue related-list jobs for their papers (off during bulk imports: old corpus
    /// papers get their list on first view or from `papertide related build`).
    related_on_ingest: Arc<AtomicBool>,
    /// Held across "store a batch, hand its rows to the indexer", so rows reach the indexer in sequence
    /// order and an index commit never claims a row that another task stored but had not yet added.
    write_lock: Arc<tokio::sync::Mutex<()>>,
    /// Bumped after every stored batch and index commit: caches of rendered pages key on it.
    generation: Arc<AtomicU64>,
    /// Why search is unavailable (`None`: it is available). Set when writing the index failed (a full disk):
    /// the store keeps serving listings and papers, and [`App::recover_index`] clears it.
    search_down: Arc<std::sync::RwLock<Option<String>>>,
}

impl App {
    /// Opens the data directory: applies migrations, opens the index and brings it up to date with the store
    /// (rows a crashed run stored but never indexed are indexed now).
    pub async fn open(config: Config) -> Result<App, AppError> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|source| AppError::DataDir { path: config.data_dir.display().to_string(), source })?;
        let store = Store::open(&config.db_path()).await?;
        let index = SearchIndex::open(&config.index_dir())?;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
        let indexer = Indexer::new(&index, threads, 256);
        // A full disk must not keep the server from serving what the store holds: search is marked
        // unavailable and catches up later (`recover_index`).
        let search_down = match search::catch_up(&store, &indexer, |_, _| {}).await {
            Ok(stats) => {
                if stats.indexed > 0 {
                    tracing::info!(indexed = stats.indexed, seq = stats.seq, "search index caught up with the store");
                }
                None
            }
            Err(e) => {
                tracing::error!("search is unavailable: {e}");
                Some(e.to_string())
            }
        };
        let venue_index = SearchIndex::open(&config.venue_index_dir())?;
        let venue_indexer = Indexer::new(&venue_index, 1, 64);
        if let Err(e) = search::catch_up_table(&store, &venue_indexer, search::Table::Venues, |_, _| {}).await {
            // Venue search is an extra: the venue pages and feeds read the store, and the next venue run retries.
            tracing::error!("the venue search index could not catch up: {e}");
        }
        let http = HttpClient::new(config.http())?;
        let llm = crate::llm::Service::from_config(&config.llm)?;
        let related = crate::related::RelatedService::new(config.related.clone(), store.clone(), index.clone())
            .map_err(AppError::Related)?;
        Ok(App {
            config: Arc::new(config),
            store,
            index,
            indexer,
            venue_index,
            venue_indexer,
            http,
            llm,
            related,
            related_on_ingest: Arc::new(AtomicBool::new(true)),
            write_lock: Arc::default(),
            generation: Arc::default(),
            search_down: Arc::new(std::sync::RwLock::new(search_down)),
        })
    }

    /// Brings the venue search index up to date with `venue_papers` (after a venue run stored or linked
    /// papers). A failure is logged, not returned: venue pages read the store, and the next call catches up.
    pub async fn index_venues(&self) {
        if let Err(e) = search::catch_up_table(&self.store, &self.venue_indexer, search::Table::Venues, |_, _| {}).await
        {
            tracing::error!("the venue search index could not catch up: {e}");
        }
    }

    /// Why search is unavailable, if it is (see [`App::recover_index`]).
    pub fn search_unavailable(&self) -> Option<String> {
        self.search_down.read().ok().and_then(|r| r.clone())
    }

    fn search_failed(&self, e: &search::SearchError) {
        tracing::error!("search is unavailable: {e}");
        if let Ok(mut w) = self.search_down.write() {
            *w = Some(e.to_string());
        }
    }

    /// While search is unavailable, tries [`App::recover_index`] every `every` (for `serve`).
    pub fn watch_index(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let app = self.clone();
        crate::tasks::supervise("search index recovery", move || {
            let app = app.clone();
            async move {
                loop {
                    tokio::time::sleep(every).await;
                    if app.search_unavailable().is_some() {
                        // A failure is recorded (and logged) by recover_index itself.
                        let _ = app.recover_index().await;
                    }
                }
            }
        })
    }

    /// After a failed index write: opens a new writer, re-indexes from the store every row since the last
    /// commit, and marks search available again. `serve` calls it every half minute while search is down.
    pub async fn recover_index(&self) -> Result<search::IndexStats, AppError> {
        let _guard = self.write_lock.lock().await;
        match self.indexer.recover(&self.store).await {
            Ok(stats) => {
                if let Ok(mut w) = self.search_down.write() {
                    *w = None;
                }
                self.generation.fetch_add(1, Ordering::Release);
                tracing::info!(indexed = stats.indexed, "search index caught up: search is available again");
                Ok(stats)
            }
            Err(e) => {
                self.search_failed(&e);
                Err(e.into())
            }
        }
    }

    /// Stores a batch (with an optional checkpoint committed atomically with it) and adds the changed rows
    /// to the index writer. Call [`App::commit_index`] to make them searchable.
    pub async fn store_batch(
        &self,
        records: &[PaperRecord],
        announcements: &[Announcement],
        checkpoint: Option<(&str, &str)>,
    ) -> Result<UpsertOutcome, AppError> {
        let _guard = self.write_lock.lock().await;
        let (outcome, rows) = self.store.upsert(records, announcements, checkpoint).await?;
        // Only with a cross-encoder loaded: without one, lists are BM25 computed on view and nothing is queued.
        let queue_related = self.related_on_ingest.load(Ordering::Relaxed) && self.related.engine().is_some();
        let jobs: Vec<(String, String)> = if queue_related {
            rows.iter()
                .map(|r| (r.id.clone(), r.first_announced.clone().or(r.submitted.clone()).unwrap_or_default()))
                .collect()
        } else {
            Vec::new()
        };
        if !rows.is_empty() {
            let texts: Vec<(&str, &str, &str)> =
                rows.iter().map(|r| (r.id.as_str(), r.title.as_str(), r.abstract_text.as_str())).collect();
            self.related.add_to_lexicon(&texts);
            // The batch is safe in the store; an index that cannot take it (a full disk) catches up later. While
            // search is down nothing is added: a commit must never claim rows the failed writer lost, and
            // `recover_index` re-adds everything after the last commit in one go.
            if self.search_unavailable().is_none()
                && let Err(e) = self.indexer.add(rows).await
            {
                self.search_failed(&e);
            }
        }
        self.generation.fetch_add(1, Ordering::Release);
        if !jobs.is_empty() {
            let refs: Vec<(&str, &str)> = jobs.iter().map(|(i, d)| (i.as_str(), d.as_str())).collect();
            if let Err(e) = self.related.enqueue_new(&refs).await {
                tracing::warn!("cannot queue related-papers jobs: {e}");
            }
        }
        Ok(outcome)
    }

    /// Holds the write lock for a bulk load that stores with `store.upsert` and hands the rows to the indexer
    /// itself, in order (see `ingest::import`). Call [`App::touch`] when done.
    pub async fn lock_writes(&self) -> tokio::sync::OwnedMutexGuard<()> {
        self.write_lock.clone().lock_owned().await
    }

    /// Marks the stored data as changed (page caches key on it).
    pub fn touch(&self) {
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Turns queueing related-list jobs for stored papers on or off; returns the previous setting.
    pub fn set_related_on_ingest(&self, on: bool) -> bool {
        self.related_on_ingest.swap(on, Ordering::Relaxed)
    }

    /// Loads the configured cross-encoder and CUR index for related papers (downloading a hub model through
    /// the project's HTTP client). Without one, related papers stay lexical.
    pub async fn load_related_engine(&self) -> bool {
        let http = self.http.clone();
        let rt = tokio::runtime::Handle::current();
        // Model weights are far over the fetcher's default cap (feeds and API pages are a few MiB).
        const MAX_MODEL_FILE: u64 = 8 << 30;
        let fetch = Box::new(move |url: &str, dest: &std::path::Path| -> Result<u64, crate::rerank::FetchError> {
            Ok(rt.block_on(http.download_to(url, dest, MAX_MODEL_FILE))?)
        });
        self.related.load_engine(self.config.model_cache_dir(), self.config.cur_index_path(), fetch).await
    }

    /// Commits the index so everything stored so far is searchable.
    /// A failed commit (a full disk) marks search unavailable rather than failing the caller: the store
    /// holds every row, and [`App::recover_index`] indexes them when the disk takes writes again.
    pub async fn commit_index(&self) -> Result<(), AppError> {
        if self.search_unavailable().is_none()
            && let Err(e) = self.indexer.commit().await
        {
            self.search_failed(&e);
        }
        self.generation.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// A number that changes whenever this process stored or committed something (see `web::cache`).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}
