//! The tantivy BM25 index: derived from SQLite, rebuildable, caught up on every start.
//!
//! The index remembers how far it has read the store's change sequence (`papers.seq`) in its commit payload,
//! so a crash between a store write and an index commit loses nothing: the next start re-indexes every row
//! changed after the last committed sequence (re-adding a document first deletes it by id, so it is safe).

mod indexer;
mod query;
mod schema;
mod similar;
mod stem;
pub mod tfidf;

pub use indexer::{IndexStats, Indexer, Table, catch_up, catch_up_table, reindex};
pub use query::{Hit, SearchOptions, SearchResults, Sort};
pub use similar::KeyTerm;

use std::path::Path;

use tantivy::{Index, IndexReader, ReloadPolicy};

use schema::{Fields, SCHEMA_VERSION};

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index error: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("could not open the search index directory {path}: {source}")]
    Dir { path: String, source: std::io::Error },
    #[error("{0}")]
    BadQuery(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("indexing task failed: {0}")]
    Task(String),
    /// Writing the index failed and its disk is (nearly) full. Tantivy reports a worker that died of it as
    /// "An index writer was killed", which says neither why nor where.
    #[error(
        "no space left on device: the search index at {path} cannot be written ({} MiB free there); \
         the store is unaffected and the index catches up when space returns (index error: {source})",
        free / (1 << 20)
    )]
    DiskFull { path: String, free: u64, source: tantivy::TantivyError },
}

/// Below this much free space at the index, a write error is reported as a full disk.
const LOW_SPACE: u64 = 32 << 20;

/// Names a write error of the index at `dir`: [`SearchError::DiskFull`] when the disk is (nearly) full or
/// the error says so, else the tantivy error as it is.
pub(crate) fn diagnose(dir: Option<&Path>, e: tantivy::TantivyError) -> SearchError {
    let Some(dir) = dir else { return SearchError::Tantivy(e) };
    let free = fs4::available_space(dir).unwrap_or(u64::MAX);
    let says_full = match &e {
        tantivy::TantivyError::IoError(io) => io.kind() == std::io::ErrorKind::StorageFull,
        other => other.to_string().contains("No space left on device"),
    };
    if says_full || free < LOW_SPACE {
        SearchError::DiskFull { path: dir.display().to_string(), free: free.min(LOW_SPACE), source: e }
    } else {
        SearchError::Tantivy(e)
    }
}

pub type Result<T, E = SearchError> = std::result::Result<T, E>;

/// A handle on the index for searching; cheap to clone.
#[derive(Clone)]
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    /// Where the index lives on disk (`None` in memory), for naming write errors.
    dir: Option<std::path::PathBuf>,
}

/// What the index has seen, kept in the tantivy commit payload.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Payload {
    schema: u32,
    seq: i64,
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it if absent. An index written with another schema version is
    /// discarded and recreated empty: it is derived data, and the catch-up refills it from the store.
    pub fn open(dir: &Path) -> Result<Self> {
        let io = |source| SearchError::Dir { path: dir.display().to_string(), source };
        std::fs::create_dir_all(dir).map_err(io)?;
        let (schema, fields) = schema::build();
        let fresh = |why: &str| -> Result<Index> {
            tracing::warn!(dir = %dir.display(), "{why}: starting the search index afresh (the store refills it)");
            std::fs::remove_dir_all(dir).map_err(io)?;
            std::fs::create_dir_all(dir).map_err(io)?;
            Index::create_in_dir(dir, schema.clone()).map_err(|e| diagnose(Some(dir), e))
        };
        let index = match Index::open_in_dir(dir) {
            Ok(index) => match index.load_metas().ok().and_then(|m| m.payload) {
                Some(p) if serde_json::from_str::<Payload>(&p).is_ok_and(|p| p.schema == SCHEMA_VERSION) => index,
                Some(_) => fresh("the search index was written with another schema version")?,
                // Created but never committed (new, or a first import killed before its first commit): not
                // another version, and nothing in it was ever visible. The catch-up fills it from the store.
                None => {
                    tracing::info!(
                        dir = %dir.display(),
                        "the search index holds no commit yet (new, or a first import stopped before its first \
                         commit): the store's rows are indexed into it"
                    );
                    index
                }
            },
            Err(e) if dir.join("meta.json").exists() => fresh(&format!("the search index cannot be opened ({e})"))?,
            Err(_) => Index::create_in_dir(dir, schema).map_err(|e| diagnose(Some(dir), e))?,
        };
        schema::register_tokenizers(&index);
        let reader = index.reader_builder().reload_policy(ReloadPolicy::OnCommitWithDelay).try_into()?;
        Ok(SearchIndex { index, reader, fields, dir: Some(dir.to_path_buf()) })
    }

    /// An index held in memory (tests, evaluations).
    pub fn in_memory() -> Result<Self> {
        let (schema, fields) = schema::build();
        let index = Index::create_in_ram(schema);
        schema::register_tokenizers(&index);
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(SearchIndex { index, reader, fields, dir: None })
    }

    /// The last store change sequence committed to the index.
    pub fn indexed_seq(&self) -> i64 {
        payload_of(&self.index).seq
    }

    /// Number of documents visible to searches.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Makes the last commit visible now rather than after the reload delay.
    pub fn reload(&self) -> Result<()> {
        Ok(self.reader.reload()?)
    }
}

fn payload_of(index: &Index) -> Payload {
    index.load_metas().ok().and_then(|m| m.payload).and_then(|p| serde_json::from_str(&p).ok()).unwrap_or_default()
}
