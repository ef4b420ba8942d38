//! The opened application: configuration, store, search index and its writer, shared by commands and
//! the server.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::arxiv::http::ArxivHttp;
use crate::config::Config;
use crate::domain::{Announcement, PaperRecord};
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
    Http(#[from] crate::arxiv::http::FetchError),
    #[error("LLM summaries: {0}")]
    Llm(String),
}

#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub store: Store,
    pub index: SearchIndex,
    pub indexer: Indexer,
    /// The one polite, retrying client for every arXiv source.
    pub http: ArxivHttp,
    /// LLM FAQ summaries; `None` when no LLM is configured (the pages then say how to configure one).
    pub llm: Option<Arc<crate::llm::Service>>,
    /// Held across "store a batch, hand its rows to the indexer", so rows reach the indexer in sequence
    /// order and an index commit never claims a row that another task stored but had not yet added.
    write_lock: Arc<tokio::sync::Mutex<()>>,
    /// Bumped after every stored batch and index commit: caches of rendered pages key on it.
    generation: Arc<AtomicU64>,
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
        let indexer = Indexer::new(&index, threads, 256)?;
        let stats = search::catch_up(&store, &indexer, |_, _| {}).await?;
        if stats.indexed > 0 {
            tracing::info!(indexed = stats.indexed, seq = stats.seq, "search index caught up with the store");
        }
        let http = ArxivHttp::new(config.http())?;
        let llm = crate::llm::Service::from_config(&config.llm).map_err(AppError::Llm)?;
        Ok(App {
            config: Arc::new(config),
            store,
            index,
            indexer,
            http,
            llm,
            write_lock: Arc::default(),
            generation: Arc::default(),
        })
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
        if !rows.is_empty() {
            self.indexer.add(rows).await?;
        }
        self.generation.fetch_add(1, Ordering::Release);
        Ok(outcome)
    }

    /// Commits the index so everything stored so far is searchable.
    pub async fn commit_index(&self) -> Result<(), AppError> {
        self.indexer.commit().await?;
        self.generation.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// A number that changes whenever this process stored or committed something (see `web::cache`).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}
