//! The SQLite store: the single source of truth (papers, announcements, checkpoints, feed validators).
//!
//! Two pools over one WAL-mode file: a single-connection writer, so every write transaction is serialised in
//! this process and `BEGIN IMMEDIATE` never deadlocks against ourselves, and a reader pool for handlers.

mod checkpoints;
mod embeddings;
mod jobs;
mod listings;
mod papers;
mod related;
mod rows;
mod summaries;
mod translations;
mod venues;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

pub use jobs::{JobKind, JobRow, NewJob};
pub use listings::{CategoryFilter, DayCount, ListingEntry};
pub use papers::{IndexRow, UpsertOutcome};
pub use related::{PaperText, RelatedItem, StoredRelated};
pub use rows::StoredPaper;
pub use summaries::{StoredSummary, SummaryAnswer, SummaryKey};
pub use translations::{TranslatedField, TranslationKey};
pub use venues::{EditionCount, LinkMethod, StoredVenuePaper, TrackCount, VenueOutcome};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored row for {id} is unreadable: {reason}")]
    Corrupt { id: String, reason: String },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Clone, Debug)]
pub struct Store {
    read: SqlitePool,
    write: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        let base = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL is durable in WAL mode except for the last transactions on power loss, never corrupt.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-65536");
        let write = SqlitePoolOptions::new().max_connections(1).connect_with(base.clone()).await?;
        sqlx::migrate!("./migrations").run(&write).await?;
        let read = SqlitePoolOptions::new().max_connections(8).connect_with(base.read_only(true)).await?;
        Ok(Store { read, write })
    }

    pub(crate) fn reader(&self) -> &SqlitePool {
        &self.read
    }

    pub(crate) fn writer(&self) -> &SqlitePool {
        &self.write
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    /// Number of stored papers.
    pub async fn paper_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar!("SELECT COUNT(*) FROM papers").fetch_one(&self.read).await?)
    }

    /// Number of stored announcements.
    pub async fn announcement_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar!("SELECT COUNT(*) FROM announcements").fetch_one(&self.read).await?)
    }
}

/// A list bound as one JSON array parameter and read with `json_each(?)` in SQL: variable-length `IN` lists
/// then need no statement built at run time, so every statement is a checked macro (`.sqlx/`).
pub(crate) fn json_list<S: AsRef<str>>(items: &[S]) -> String {
    let items: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    serde_json::to_string(&items).unwrap_or_else(|_| "[]".into())
}

/// Now as an RFC 3339 string, the format every timestamp column uses.
pub(crate) fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
