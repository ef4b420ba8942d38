//! `papertide import`: Kaggle snapshot JSONL (plain or gzip) into the store and the index.
//!
//! A reader thread decompresses and parses lines into batches; the async side stores each batch in one
//! transaction and hands the changed rows to the index writer, whose own threads tokenize. Parsing, SQLite
//! and tantivy so overlap on the two cores. Re-running an import (after a kill, say) stores nothing twice:
//! upserts are idempotent and the index catches up from the store's change sequence.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use flate2::read::MultiGzDecoder;
use indicatif::{ProgressBar, ProgressStyle};

use super::{IngestError, RunSummary};
use crate::app::App;
use crate::arxiv::kaggle;
use crate::domain::{Announcement, PaperRecord, Skipped};

/// Records per store transaction: large enough to amortise the commit, small enough to keep memory flat.
const BATCH: usize = 2_000;

/// Something to import: a name for messages, the bytes (gzip is detected from the content), and their length
/// when known (for the progress bar).
pub struct ImportSource {
    pub name: String,
    pub reader: Box<dyn Read + Send>,
    pub len: Option<u64>,
}

impl ImportSource {
    pub fn open(path: &Path) -> Result<Self, IngestError> {
        let read_err = |source| IngestError::Read { path: path.display().to_string(), source };
        let file = File::open(path).map_err(read_err)?;
        let len = file.metadata().ok().map(|m| m.len());
        Ok(ImportSource { name: path.display().to_string(), reader: Box::new(file), len })
    }

    pub fn from_bytes(name: &str, bytes: &'static [u8]) -> Self {
        ImportSource { name: name.to_string(), reader: Box::new(bytes), len: Some(bytes.len() as u64) }
    }
}

struct Batch {
    records: Vec<PaperRecord>,
    announcements: Vec<Announcement>,
    skipped: Vec<Skipped>,
    lines: u64,
}

impl Batch {
    fn new() -> Self {
        Batch { records: Vec::with_capacity(BATCH), announcements: Vec::new(), skipped: Vec::new(), lines: 0 }
    }
}

/// Counts bytes read so the progress bar can follow a compressed file.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn decompressing(reader: Box<dyn Read + Send>) -> std::io::Result<Box<dyn BufRead + Send>> {
    let mut buffered = BufReader::with_capacity(1 << 16, reader);
    let gz = buffered.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gz { Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(buffered))) } else { Box::new(buffered) })
}

/// Reads, parses and batches one source on the calling (blocking) thread.
fn read_source(source: ImportSource, count: Arc<AtomicU64>, tx: tokio::sync::mpsc::Sender<Result<Batch, IngestError>>) {
    let name = source.name.clone();
    let counting: Box<dyn Read + Send> = Box::new(Counting { inner: source.reader, count });
    let mut reader = match decompressing(counting) {
        Ok(r) => r,
        Err(e) => {
            let _ = tx.blocking_send(Err(IngestError::Read { path: name, source: e }));
            return;
        }
    };
    let mut line = String::new();
    let mut batch = Batch::new();
    let mut line_no = 0u64;
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                // A truncated gzip stream or bad UTF-8 ends this file; what was read is kept.
                batch
                    .skipped
                    .push(Skipped { what: format!("{name}:{}", line_no + 1), reason: format!("unreadable: {e}") });
                break;
            }
        }
        line_no += 1;
        if line.trim().is_empty() {
            continue;
        }
        batch.lines += 1;
        match kaggle::parse_line(&line) {
            Ok(k) => {
                batch.records.push(k.record);
                batch.announcements.extend(k.announcements);
            }
            Err(e) => batch.skipped.push(Skipped { what: format!("{name}:{line_no}"), reason: e.to_string() }),
        }
        // A failed send means the consumer stopped (on an error): nothing more to do.
        if batch.records.len() >= BATCH && tx.blocking_send(Ok(std::mem::replace(&mut batch, Batch::new()))).is_err() {
            return;
        }
    }
    let _ = tx.blocking_send(Ok(batch));
}

/// Imports every source in order; returns the run summary. The index is committed once at the end (and is
/// caught up from the store at the next start if the process dies first).
///
/// A bulk import is old corpus: it queues no related-list jobs (its papers get lists on first view or from
/// `papertide related build`).
pub async fn import(app: &App, sources: Vec<ImportSource>, show_progress: bool) -> Result<RunSummary, IngestError> {
    let started = Instant::now();
    let mut summary = RunSummary::new("import");
    let total: u64 = sources.iter().filter_map(|s| s.len).sum();
    let bar = if show_progress { ProgressBar::new(total) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({eta}) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let count = Arc::new(AtomicU64::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Batch, IngestError>>(4);
    let reader_count = count.clone();
    let reader = tokio::task::spawn_blocking(move || {
        for source in sources {
            read_source(source, reader_count.clone(), tx.clone());
        }
    });
    // Store batch N+1 while the index writer takes batch N: one task stores (SQLite's writer thread), another
    // hands the changed rows to the index writer in the same order. The app's write lock is held throughout, so
    // no other writer interleaves rows (the index must receive them in sequence order).
    let writes = app.lock_writes().await;
    let (index_tx, mut index_rx) = tokio::sync::mpsc::channel::<Vec<crate::store::IndexRow>>(2);
    let indexer = app.indexer.clone();
    let feeder = tokio::spawn(async move {
        while let Some(rows) = index_rx.recv().await {
            indexer.add(rows).await?;
        }
        Ok::<(), crate::search::SearchError>(())
    });
    let mut changed = false;
    let stored: Result<(), IngestError> = async {
        while let Some(batch) = rx.recv().await {
            let batch = batch?;
            summary.fetched += batch.lines - batch.skipped.len() as u64;
            for s in batch.skipped {
                summary.skip(s);
            }
            let (outcome, rows) = app.store.upsert(&batch.records, &batch.announcements, None).await?;
            if !rows.is_empty() && index_tx.send(rows).await.is_err() {
                break; // the feeder failed: its error is reported below
            }
            summary.add_outcome(&outcome);
            changed |= outcome.inserted + outcome.updated > 0;
            bar.set_position(count.load(Ordering::Relaxed));
            bar.set_message(format!("{} papers", summary.new + summary.updated + summary.unchanged));
        }
        Ok(())
    }
    .await;
    drop(index_tx);
    let fed = feeder.await.map_err(|e| IngestError::Other(format!("index feeder failed: {e}")))?;
    drop(writes);
    app.touch();
    stored?;
    fed?;
    reader.await.map_err(|e| IngestError::Other(format!("import reader failed: {e}")))?;
    if changed {
        bar.set_message("committing the search index");
        app.commit_index().await?;
    }
    bar.finish_and_clear();
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}
