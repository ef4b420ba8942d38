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
///
/// A tantivy writer whose worker failed (a full disk, an I/O error) is dead for good: every later call says
/// "An index writer was killed". So a failed `add` or `commit` drops the writer and forgets what it had
/// added since the last commit; the next call opens a new writer, and [`Indexer::recover`] re-adds the lost
/// rows from the store, which always holds them.
#[derive(Clone)]
pub struct Indexer {
    index: SearchIndex,
    writer: Arc<Mutex<WriterSlot>>,
    threads: usize,
    budget: usize,
    /// The highest store sequence handed to `add`. Callers add rows in sequence order under the app's write
    /// lock, so every row up to it has been added and a commit may claim it.
    added_seq: Arc<AtomicI64>,
}

type WriterSlot = Option<IndexWriter<TantivyDocument>>;

impl Indexer {
    /// `threads` indexing workers sharing `memory_mb` of buffers. The writer opens on first use.
    pub fn new(index: &SearchIndex, threads: usize, memory_mb: usize) -> Self {
        let threads = threads.max(1);
        let budget = (memory_mb.max(15 * threads)) << 20;
        let added_seq = Arc::new(AtomicI64::new(index.indexed_seq()));
        Indexer { index: index.clone(), writer: Arc::new(Mutex::new(None)), threads, budget, added_seq }
    }

    /// Runs `f` with the writer (opening one if needed). On failure the writer is dropped, the rows added
    /// since the last commit are forgotten (the store still has them), and the error is named.
    fn with_writer<T>(&self, f: impl FnOnce(&mut IndexWriter<TantivyDocument>) -> tantivy::Result<T>) -> Result<T> {
        let mut slot = self.slot()?;
        let result = self.open_writer(&mut slot).and_then(f);
        result.map_err(|e| {
            *slot = None;
            self.added_seq.store(self.index.indexed_seq(), Ordering::SeqCst);
            super::diagnose(self.index.dir.as_deref(), e)
        })
    }

    fn slot(&self) -> Result<std::sync::MutexGuard<'_, WriterSlot>> {
        self.writer.lock().map_err(|_| SearchError::Task("index writer lock poisoned".into()))
    }

    fn open_writer<'a>(&self, slot: &'a mut WriterSlot) -> tantivy::Result<&'a mut IndexWriter<TantivyDocument>> {
        if slot.is_none() {
            *slot = Some(self.index.index.writer_with_num_threads(self.threads, self.budget)?);
        }
        Ok(slot.as_mut().expect("set above"))
    }

    /// Adds (or replaces, by id) the given rows. Not visible until `commit`.
    pub async fn add(&self, rows: Vec<IndexRow>) -> Result<u64> {
        let this = self.clone();
        blocking(move || {
            let f = this.index.fields;
            this.with_writer(|writer| {
                for row in &rows {
                    writer.delete_term(Term::from_field_text(f.id, &row.id));
                    writer.add_document(to_doc(&this.index, row))?;
                    this.added_seq.fetch_max(row.seq, Ordering::SeqCst);
                }
                Ok(rows.len() as u64)
            })
        })
        .await
    }

    /// Commits everything added so far, recording in the payload how far the store has been indexed.
    pub async fn commit(&self) -> Result<()> {
        let this = self.clone();
        blocking(move || {
            this.with_writer(|writer| {
                let seq = this.added_seq.load(Ordering::SeqCst);
                let payload = serde_json::to_string(&Payload { schema: SCHEMA_VERSION, seq }).unwrap_or_default();
                let mut prepared = writer.prepare_commit()?;
                prepared.set_payload(&payload);
                prepared.commit()?;
                Ok(())
            })?;
            this.index.reload()?;
            Ok(())
        })
        .await
    }

    /// Removes every document (used by full rebuilds), committed with sequence 0.
    pub async fn clear(&self) -> Result<()> {
        let this = self.clone();
        blocking(move || {
            this.with_writer(|writer| {
                writer.delete_all_documents()?;
                Ok(())
            })?;
            this.added_seq.store(0, Ordering::SeqCst);
            Ok(())
        })
        .await?;
        self.commit().await
    }

    /// Brings the index back after a failed write: a fresh writer, then every row changed since the last
    /// committed sequence re-added from the store and committed. Callers hold the app's write lock.
    pub async fn recover(&self, store: &Store) -> Result<IndexStats> {
        *self.slot()? = None;
        self.added_seq.store(self.index.indexed_seq(), Ordering::SeqCst);
        let stats = catch_up(store, self, |_, _| {}).await?;
        // Commit even when nothing was re-added: it proves the disk takes writes again.
        self.commit().await?;
        Ok(stats)
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

/// Which table an index is derived from: the arXiv papers, or the venue papers (their own index, their own
/// change sequence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Papers,
    Venues,
}

/// Indexes every paper changed after the index's last committed sequence; returns how many. `progress` is
/// called with (rows indexed so far, rows to index in all).
pub async fn catch_up(store: &Store, indexer: &Indexer, progress: impl FnMut(u64, u64)) -> Result<IndexStats> {
    catch_up_table(store, indexer, Table::Papers, progress).await
}

/// [`catch_up`] for `table`'s rows.
pub async fn catch_up_table(
    store: &Store,
    indexer: &Indexer,
    table: Table,
    mut progress: impl FnMut(u64, u64),
) -> Result<IndexStats> {
    let mut seq = indexer.index.indexed_seq();
    let max = match table {
        Table::Papers => store.max_seq().await?,
        Table::Venues => store.venue_max_seq().await?,
    };
    let total = (max - seq).max(0) as u64;
    let mut stats = IndexStats { indexed: 0, seq };
    loop {
        let rows = match table {
            Table::Papers => store.rows_after_seq(seq, CATCH_UP_BATCH).await?,
            Table::Venues => store.venue_rows_after_seq(seq, CATCH_UP_BATCH).await?,
        };
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

/// Rebuilds the index of `table` from scratch from the store.
pub async fn reindex(
    store: &Store,
    indexer: &Indexer,
    table: Table,
    progress: impl FnMut(u64, u64),
) -> Result<IndexStats> {
    indexer.clear().await?;
    catch_up_table(store, indexer, table, progress).await
}
