//! Offline evaluations (`papertide eval ...`).

pub mod cur;
pub mod first_stage;
pub mod foryou;
pub mod judged;
pub mod related;
pub mod venue_link;

use std::io::BufRead;

use anyhow::Context;

use crate::app::App;
use crate::arxiv::kaggle::KaggleRecord;

/// The records of a Kaggle JSONL(.gz) corpus that `keep` accepts (unparsable lines skipped: the corpus is
/// trusted data, and its importer reports them).
pub fn read_corpus(path: &std::path::Path, keep: impl Fn(&KaggleRecord) -> bool) -> anyhow::Result<Vec<KaggleRecord>> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let reader: Box<dyn std::io::Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut records = Vec::new();
    for line in std::io::BufReader::new(reader).lines() {
        if let Ok(r) = crate::arxiv::kaggle::parse_line(&line?)
            && keep(&r)
        {
            records.push(r);
        }
    }
    Ok(records)
}

/// Stores `records` in batches without queueing related-list jobs, then commits the index.
pub async fn store_corpus(app: &App, records: &[KaggleRecord]) -> anyhow::Result<()> {
    app.set_related_on_ingest(false);
    for chunk in records.chunks(2_000) {
        let recs: Vec<_> = chunk.iter().map(|k| k.record.clone()).collect();
        let anns: Vec<_> = chunk.iter().flat_map(|k| k.announcements.clone()).collect();
        app.store_batch(&recs, &anns, None).await?;
    }
    app.commit_index().await?;
    Ok(())
}

/// Builds the CUR index over the stored papers unless the engine already holds one with `anchor_queries`
/// anchors covering at least `min_items` papers; returns the CE pairs scored (0 when reused).
pub async fn ensure_cur_index(app: &App, anchor_queries: usize, seed: u64, min_items: usize) -> anyhow::Result<usize> {
    let engine = app.related.engine().context("no cross-encoder is loaded")?;
    let has =
        engine.cur.read().ok().and_then(|c| c.as_ref().map(|c| c.k_q() == anchor_queries && c.len() >= min_items));
    if has == Some(true) {
        return Ok(0);
    }
    let ia = crate::related::bulk::IndexArgs {
        anchor_queries,
        anchor_items: 20.min(anchor_queries),
        category: None,
        since: None,
        seed,
    };
    Ok(crate::related::bulk::build_index(&app.related, &app.config.cur_index_path(), &ia, true).await?.1)
}
