//! The opened application: configuration, store, search index and its writer, shared by commands and
//! the server.

use std::sync::Arc;

use crate::config::Config;
use crate::search::{self, Indexer, SearchIndex};
use crate::store::Store;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Search(#[from] search::SearchError),
}

#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub store: Store,
    pub index: SearchIndex,
    pub indexer: Indexer,
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
        Ok(App { config: Arc::new(config), store, index, indexer })
    }
}
