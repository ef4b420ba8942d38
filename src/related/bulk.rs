//! Bulk work behind `papertide related index` (the CUR index over the corpus) and `papertide related build`
//! (precomputing lists). Both show progress with an ETA and resume after an interruption.

use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand::seq::SliceRandom;

use super::RelatedService;
use crate::rerank::cur::{AnchorMethod, BuildOptions, CurIndex};

fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} {what} ({{per_sec}}, ETA {{eta}}) {{msg}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

#[derive(Debug, Clone, clap::Args)]
pub struct IndexArgs {
    /// Anchor query papers (k_q): a new paper costs this many cross-encoder calls to append.
    #[arg(long, default_value_t = 32)]
    pub anchor_queries: usize,
    /// Anchor item papers (k_i), chosen by pivoted QR on the score matrix.
    #[arg(long, default_value_t = 20)]
    pub anchor_items: usize,
    /// Only papers in this category.
    #[arg(long)]
    pub category: Option<crate::domain::Category>,
    /// Only papers announced (or submitted) on or after this day.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub since: Option<chrono::NaiveDate>,
    #[arg(long, default_value_t = 20261123)]
    pub seed: u64,
}

/// Builds (or resumes building) the CUR index over the stored papers and installs it in the running engine.
/// `path` is where the index lives (`Config::cur_index_path`).
pub async fn build_index(
    related: &RelatedService,
    path: &std::path::Path,
    args: &IndexArgs,
    show_progress: bool,
) -> anyhow::Result<(usize, usize)> {
    let Some(engine) = related.engine() else {
        anyhow::bail!("no cross-encoder is loaded: set PAPERTIDE_RERANKER_MODEL to a model directory or hub id");
    };
    let cat = args.category.as_ref().map(|c| c.code().to_string());
    let since = args.since.map(|d| d.to_string());
    let papers = related.store().all_paper_texts(cat.as_deref(), since.as_deref()).await?;
    if papers.len() < 2 {
        anyhow::bail!("only {} papers match: nothing to index", papers.len());
    }
    let k_q = args.anchor_queries.clamp(1, papers.len());
    let mut order: Vec<usize> = (0..papers.len()).collect();
    order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(args.seed));
    order.truncate(k_q);
    order.sort_unstable();
    let path = path.to_path_buf();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let opts = BuildOptions {
        max_length: engine.ce.options().max_length,
        k_i: args.anchor_items.clamp(1, k_q.min(papers.len())),
        anchor_method: AnchorMethod::PivotedQr,
        ..BuildOptions::default()
    };
    let bar = Arc::new(if show_progress { bar(papers.len() as u64, "papers") } else { ProgressBar::hidden() });
    let b = bar.clone();
    let started = Instant::now();
    let e = engine.clone();
    let index = tokio::task::spawn_blocking(move || -> anyhow::Result<(CurIndex, usize)> {
        let anchor_texts: Vec<String> = order.iter().map(|&i| e.query_text(&papers[i])).collect();
        let item_texts: Vec<String> = papers.iter().map(|p| e.item_text(p)).collect();
        let anchors: Vec<(&str, &str)> =
            order.iter().zip(&anchor_texts).map(|(&i, t)| (papers[i].id.as_str(), t.as_str())).collect();
        let items: Vec<(&str, &str)> =
            papers.iter().zip(&item_texts).map(|(p, t)| (p.id.as_str(), t.as_str())).collect();
        let partial = path.with_extension("partial");
        let mut pairs = 0;
        let idx = CurIndex::build(&e.ce, &anchors, &items, &opts, Some(&partial), &mut |p| {
            b.set_position(p.items_done as u64);
            if p.resumed_items > 0 {
                b.set_message(format!("resumed after {} papers", p.resumed_items));
            }
            pairs = p.pairs_scored;
        })?;
        idx.save(&path)?;
        Ok((idx, pairs))
    })
    .await??;
    bar.finish_and_clear();
    let (idx, pairs) = index;
    let n = idx.len();
    tracing::info!(items = n, k_q, pairs, secs = started.elapsed().as_secs(), "CUR index built");
    *engine.cur.write().map_err(|_| anyhow::anyhow!("CUR lock poisoned"))? = Some(idx);
    Ok((n, pairs))
}

#[derive(Debug, Clone, clap::Args)]
pub struct BuildArgs {
    /// Only papers in this category.
    #[arg(long)]
    pub category: Option<crate::domain::Category>,
    /// Only papers announced (or submitted) on or after this day.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub since: Option<chrono::NaiveDate>,
    /// At most this many papers (newest first).
    #[arg(long)]
    pub limit: Option<usize>,
}

/// What a bulk build did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct BuildSummary {
    pub computed: usize,
    pub failed: usize,
    pub ce_pairs: usize,
    pub append_pairs: usize,
    pub seconds: f64,
}

/// Computes every matching paper's list that is missing or stale, newest first. Each list is stored as soon
/// as it is computed, so an interrupted build resumes where it stopped.
pub async fn build_lists(
    related: &RelatedService,
    args: &BuildArgs,
    show_progress: bool,
) -> anyhow::Result<BuildSummary> {
    let Some(key) = related.model_key() else {
        anyhow::bail!("no cross-encoder is loaded: set PAPERTIDE_RERANKER_MODEL to a model directory or hub id");
    };
    let cat = args.category.as_ref().map(|c| c.code().to_string());
    let since = args.since.map(|d| d.to_string());
    let limit = args.limit.map_or(i64::MAX, |l| l as i64);
    let todo = related.store().papers_needing_related(&key, cat.as_deref(), since.as_deref(), limit).await?;
    let bar = if show_progress { bar(todo.len() as u64, "papers") } else { ProgressBar::hidden() };
    let started = Instant::now();
    let mut s = BuildSummary::default();
    for (id, _) in &todo {
        match related.compute(id).await {
            Ok((_, stats)) => {
                s.computed += 1;
                s.ce_pairs += stats.ce_pairs;
                s.append_pairs += stats.append_pairs;
            }
            Err(e) => {
                s.failed += 1;
                bar.suspend(|| eprintln!("{id}: {e}"));
            }
        }
        bar.inc(1);
    }
    related.flush().await?;
    bar.finish_and_clear();
    s.seconds = started.elapsed().as_secs_f64();
    Ok(s)
}
