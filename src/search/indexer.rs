//! Writing the index: catch-up from the store's change sequence, full rebuilds.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use tantivy::{IndexWriter, TantivyDocument, Term, doc};

use super::schema::{SCHEMA_VERSION, day_number};
use super::{Payload, Result, SearchError, SearchIndex};
use crate::store::{IndexRow, Store};

/// Rows read from the store per round trip while catching up.
const CATCH_UP_BATCH: i64 = 5_000;

#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct IndexStats {
    pub indexed: u64,
    pub seq: i64,
}

/// The single writer of an index. Tantivy work is CPU-bound and may block, so every call that touches the
/// writer runs on the blocking thread pool, never on the async runtime.
#[derive(Clone)]
pub struct Indexer {
    index: SearchIndex,
    writer: Arc<Mutex<IndexWriter<TantivyDocument>>>,
    /// The highest store sequence handed to `add`. Callers add rows in sequence order under the app's write
    /// lock, so every row up to it has been added and a commit may claim it.
    added_seq: Arc<AtomicI64>,
}

impl Indexer {
    /// `threads` indexing workers sharing `memory_mb` of buffers.
    pub fn new(index: &SearchIndex, threads: usize, memory_mb: usize) -> Result<Self> {
        let threads = threads.max(1);
        let budget = (memory_mb.max(15 * threads)) << 20;
        let writer = index.index.writer_with_num_threads(threads, budget)?;
        let added_seq = Arc::new(AtomicI64::new(index.indexed_seq()));
        Ok(Indexer { index: index.clone(), writer: Arc::new(Mutex::new(writer)), added_seq })
    }

    /// Adds (or replaces, by id) the given rows. Not visible until `commit`.
    pub async fn add(&self, rows: Vec<IndexRow>) -> Result<u64> {
        let this = self.clone();
        blocking(move || {
            let writer = this.writer.lock().map_err(|_| SearchError::Task("index writer lock poisoned".into()))?;
            let f = this.index.fields;
            for row in &rows {
                writer.delete_term(Term::from_field_text(f.id, &row.id));
                writer.add_document(to_doc(&this.index, row))?;
                this.added_seq.fetch_max(row.seq, Ordering::SeqCst);
            }
            Ok(rows.len() as u64)
        })
        .await
    }

    /// Commits everything added so far, recording in the payload how far the store has been indexed.
    pub async fn commit(&self) -> Result<()> {
        let this = self.clone();
        blocking(move || {
            let mut writer = this.writer.lock().map_err(|_| SearchError::Task("index writer lock poisoned".into()))?;
            let seq = this.added_seq.load(Ordering::SeqCst);
            let payload = serde_json::to_string(&Payload { schema: SCHEMA_VERSION, seq }).unwrap_or_default();
            let mut prepared = writer.prepare_commit()?;
            prepared.set_payload(&payload);
            prepared.commit()?;
            this.index.reload()?;
            Ok(())
        })
        .await
    }

    /// Removes every document (used by full rebuilds), committed with sequence 0.
    pub async fn clear(&self) -> Result<()> {
        let this = self.clone();
        blocking(move || {
            let writer = this.writer.lock().map_err(|_| SearchError::Task("index writer lock poisoned".into()))?;
            writer.delete_all_documents()?;
            this.added_seq.store(0, Ordering::SeqCst);
            Ok(())
        })
        .await?;
        self.commit().await
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| SearchError::Task(e.to_string()))?
}

fn to_doc(index: &SearchIndex, row: &IndexRow) -> TantivyDocument {
    let f = index.fields;
    let mut d = doc!(
        f.id => row.id.as_str(),
        f.title => row.title.as_str(),
        f.abstract_text => row.abstract_text.as_str(),
    );
    if let Ok(authors) = serde_json::from_str::<Vec<String>>(&row.authors) {
        for a in authors {
            d.add_text(f.author, a);
        }
    }
    for c in row.categories.split_whitespace() {
        d.add_text(f.category, c);
    }
    let day = row.first_announced.as_deref().or(row.submitted.as_deref()).and_then(day_number);
    if let Some(day) = day {
        d.add_u64(f.day, day);
    }
    d
}

/// Indexes every row changed after the index's last committed sequence; returns how many. `progress` is
/// called with (rows indexed so far, rows to index in all).
pub async fn catch_up(store: &Store, indexer: &Indexer, mut progress: impl FnMut(u64, u64)) -> Result<IndexStats> {
    let mut seq = indexer.index.indexed_seq();
    let total = (store.max_seq().await? - seq).max(0) as u64;
    let mut stats = IndexStats { indexed: 0, seq };
    loop {
        let rows = store.rows_after_seq(seq, CATCH_UP_BATCH).await?;
        let Some(last) = rows.last() else { break };
        seq = last.seq;
        stats.indexed += indexer.add(rows).await?;
        progress(stats.indexed, total.max(stats.indexed));
    }
    if stats.indexed > 0 {
        indexer.commit().await?;
    }
    stats.seq = seq;
    Ok(stats)
}

/// Rebuilds the index from scratch from the store.
pub async fn reindex(store: &Store, indexer: &Indexer, progress: impl FnMut(u64, u64)) -> Result<IndexStats> {
    indexer.clear().await?;
    catch_up(store, indexer, progress).await
}
