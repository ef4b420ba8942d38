//! `papertide eval related`: known-item retrieval through the related-papers pipeline, and its cost.
//!
//! The shared corpus (or a random subset of it) is imported into a fresh data directory. For `queries` random
//! papers, the query is the paper's title only and the candidates are all papers: where does the paper itself
//! rank? MRR@10 and Recall@1 for BM25 alone (key terms of the title against the abstracts: every method sees a
//! candidate through its abstract, and a title query against indexed titles would find itself verbatim; that
//! near-trivial row is reported too), BM25 + exact cross-encoder rerank of the top `depth`, and the full pipeline (BM25 top `depth` + CUR candidates, reranked), when a CUR index is built
//! (`--anchor-queries K`, K cross-encoder calls per corpus paper). The cost per new paper (CE calls and wall
//! time of `RelatedService::compute` plus the CUR append) is measured on the same data.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde::Serialize;

use crate::app::App;
use crate::config::Config;
use crate::related::pipeline;
use crate::store::PaperText;

#[derive(clap::Args, Debug, Clone)]
pub struct EvalRelatedArgs {
    /// Corpus in Kaggle arXiv JSONL(.gz) form.
    #[arg(long, default_value = "../shared/data/arxiv-cs-2025-2026.jsonl.gz")]
    pub data: PathBuf,
    /// Judged relatedness pairs (JSONL `{"query", "candidate", "rating"}`, e.g. `data/relatedness/dev.jsonl`):
    /// score related-paper lists against them (nDCG@5, P@5) instead of the known-item evaluation.
    #[arg(long)]
    pub judgments: Option<PathBuf>,
    /// With --judgments: the corpus is every paper this (full) judgment file names.
    #[arg(long, default_value = "../shared/data/relatedness/judgments.jsonl")]
    pub corpus_judgments: PathBuf,
    /// With --judgments: the corpus is instead these papers (one arXiv id per line) plus the queries, and
    /// judgments of papers outside it are set aside: the held-back protocol's shape (random other papers,
    /// not each query's neighbours), e.g. `data/relatedness/replica-corpus.txt`.
    #[arg(long)]
    pub corpus_ids: Option<PathBuf>,
    /// With --judgments: also score the former product (this known-item cross-encoder over BM25, fused).
    #[arg(long)]
    pub baseline_model: Option<String>,
    /// Cross-encoder model directory (or hub id, or `none`); default: the bundled model with --judgments, else
    /// ../shared/models/ce-arxiv-minilm-l6.
    #[arg(long)]
    pub model: Option<String>,
    /// Known-item queries.
    #[arg(long, default_value_t = 300)]
    pub queries: usize,
    /// Use a random subset of this many papers as the corpus (0: all).
    #[arg(long, default_value_t = 0)]
    pub corpus: usize,
    /// BM25 candidates reranked exactly.
    #[arg(long, default_value_t = 40)]
    pub depth: usize,
    /// Anchor queries of the CUR index built over the corpus (0: no CUR, no full-pipeline row).
    #[arg(long, default_value_t = 0)]
    pub anchor_queries: usize,
    /// CUR candidates scored exactly in the full pipeline.
    #[arg(long, default_value_t = 30)]
    pub cur_candidates: usize,
    /// Tokens per pair for the known-item evaluation (with --judgments the model's own `papertide.json` decides).
    #[arg(long, default_value_t = 128)]
    pub max_length: usize,
    /// Engine dtype: f32, or bf16 (native on AVX-512 BF16 and AMX CPUs; f32 elsewhere).
    #[arg(long, default_value = "f32")]
    pub dtype: crate::rerank::Dtype,
    #[arg(long, default_value_t = 20261123)]
    pub seed: u64,
    /// Keep (and reuse) the data directory, with its CUR index, here.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Papers whose full `compute` (the production path) is timed for the cost figures.
    #[arg(long, default_value_t = 20)]
    pub cost_papers: usize,
    /// JSON result file.
    #[arg(long)]
    pub out_json: Option<PathBuf>,
    /// With --judgments: TF-IDF candidates per query (default: the product's, `[related] tfidf_candidates`).
    #[arg(long)]
    pub tfidf_candidates: Option<usize>,
    /// With --judgments: key-term BM25 candidates per query (default: `[related] bm25_candidates`).
    #[arg(long)]
    pub bm25_candidates: Option<usize>,
    /// With --judgments: dense candidates per query (default: `[related] dense_candidates`; models with an
    /// embedding head only).
    #[arg(long)]
    pub dense_candidates: Option<usize>,
    /// With --judgments: the embedding cosine's weight in score fusion (default: `[related] dense_weight`).
    #[arg(long)]
    pub dense_weight: Option<f32>,
    /// With --judgments: every system's top 10 per query, as JSONL (for judging unjudged papers).
    #[arg(long)]
    pub lists_out: Option<PathBuf>,
    /// With --judgments: each query's product candidates with their cross-encoder scores (both pair orders),
    /// lexical ranks and TF-IDF cosine, as JSONL (for studying final orders offline: scripts/fusion_sweep.py).
    #[arg(long)]
    pub scores_out: Option<PathBuf>,
    /// With --judgments and a CUR index: the hubness correction λ of the pipeline with CUR (default:
    /// `[related] cur_hub_weight`); scores-out then also lists what that pipeline scored (scripts/cur_hub_sweep.py).
    #[arg(long)]
    pub cur_hub_weight: Option<f32>,
}

#[derive(Debug, Default, Clone, Serialize)]
struct Row {
    method: String,
    mrr_at_10: f64,
    recall_at_1: f64,
    ce_pairs_per_query: f64,
    ms_per_query: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    corpus: usize,
    queries: usize,
    depth: usize,
    anchor_queries: usize,
    cur_candidates: usize,
    engine: String,
    rows: Vec<Row>,
    cur_build_pairs: usize,
    cur_build_seconds: f64,
    cost_per_new_paper: Cost,
}

#[derive(Debug, Default, Serialize)]
struct Cost {
    papers: usize,
    ce_pairs_rank: f64,
    ce_pairs_append: f64,
    ms_per_paper: f64,
    append_ms_estimate: f64,
    projected_minutes_for_600: f64,
}

pub fn run(args: &EvalRelatedArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match &args.judgments {
        Some(judgments) => rt.block_on(super::judged::run(super::judged::JudgedArgs {
            judgments,
            corpus_judgments: &args.corpus_judgments,
            corpus_ids: args.corpus_ids.as_deref(),
            data: &args.data,
            model: args.model.clone(),
            baseline_model: args.baseline_model.clone(),
            data_dir: args.data_dir.clone(),
            out_json: args.out_json.clone(),
            anchor_queries: args.anchor_queries,
            seed: args.seed,
            lists_out: args.lists_out.clone(),
            scores_out: args.scores_out.clone(),
            tfidf_candidates: args.tfidf_candidates,
            dense_candidates: args.dense_candidates,
            dense_weight: args.dense_weight,
            bm25_candidates: args.bm25_candidates,
            cur_hub_weight: args.cur_hub_weight,
            dtype: args.dtype,
        })),
        None => rt.block_on(run_async(args)),
    }
}

fn ranked_ids(lexical: &[(PaperText, f32)]) -> Vec<String> {
    lexical.iter().map(|(p, _)| p.id.clone()).collect()
}

fn reciprocal_rank(ranked: &[String], target: &str) -> (f64, f64) {
    match ranked.iter().take(10).position(|id| id == target) {
        Some(0) => (1.0, 1.0),
        Some(r) => (1.0 / (r + 1) as f64, 0.0),
        None => (0.0, 0.0),
    }
}

async fn run_async(args: &EvalRelatedArgs) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let dir = args.data_dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let mut config = Config { data_dir: dir.clone(), ..Config::default() };
    let model = args.model.clone().unwrap_or_else(|| "../shared/models/ce-arxiv-minilm-l6".into());
    config.related.model = Some(model.clone());
    config.related.max_length = Some(args.max_length);
    config.related.dtype = args.dtype;
    config.related.bm25_candidates = args.depth;
    config.related.cur_candidates = args.cur_candidates;
    config.related.background = false;
    let app = App::open(config).await?;

    // Corpus.
    let t = Instant::now();
    if app.store.paper_count().await? == 0 {
        let mut records = super::read_corpus(&args.data, |_| true)?;
        if args.corpus > 0 && args.corpus < records.len() {
            records.shuffle(&mut rand::rngs::StdRng::seed_from_u64(args.seed ^ 0x5eed));
            records.truncate(args.corpus);
        }
        super::store_corpus(&app, &records).await?;
    }
    app.index.reload()?;
    let corpus = app.store.all_paper_texts(None, None).await?;
    eprintln!("corpus: {} papers ({:.1} s)", corpus.len(), t.elapsed().as_secs_f64());
    anyhow::ensure!(app.load_related_engine().await, "cannot load the cross-encoder {model}");
    let engine = app.related.engine().context("no engine")?;

    // CUR index over the corpus.
    let (mut cur_pairs, mut cur_secs) = (0, 0.0);
    if args.anchor_queries > 0 {
        let t = Instant::now();
        cur_pairs = super::ensure_cur_index(&app, args.anchor_queries, args.seed, corpus.len()).await?;
        cur_secs = t.elapsed().as_secs_f64();
        eprintln!("CUR index: {cur_pairs} pairs scored in {cur_secs:.0} s");
    }

    // Queries.
    let mut order: Vec<&PaperText> = corpus.iter().collect();
    order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(args.seed));
    let queries: Vec<&PaperText> = order.into_iter().take(args.queries).collect();
    let texts: HashMap<&str, &PaperText> = corpus.iter().map(|p| (p.id.as_str(), p)).collect();
    let cfg = app.related.config().clone();
    let key_terms = cfg.key_terms;
    let mut rows: Vec<Row> = [
        "BM25 over abstracts",
        "BM25 over abstracts + CE rerank",
        "full pipeline (BM25 + CUR + CE rerank)",
        "BM25 over titles + abstracts (matches the query's own title)",
        "BM25 over abstracts + CE, rank fusion",
        "full pipeline, rank fusion",
    ]
    .iter()
    .map(|m| Row { method: m.to_string(), ..Row::default() })
    .collect();
    let has_cur = engine.cur.read().ok().is_some_and(|c| c.is_some());
    for (i, q) in queries.iter().enumerate() {
        // The query is the title alone; the known item keeps its place among the candidates.
        let t = Instant::now();
        let terms = app.index.key_terms(&q.title, "", key_terms)?;
        let hits = app.index.more_like_in(&terms, &[], args.depth, false)?;
        let bm25_ms = t.elapsed().as_secs_f64() * 1e3;
        let with_titles = app.index.more_like_in(&terms, &[], 10, true)?;
        let ranked: Vec<String> = with_titles.iter().map(|h| h.id.clone()).collect();
        let (rr, r1) = reciprocal_rank(&ranked, &q.id);
        rows[3].mrr_at_10 += rr;
        rows[3].recall_at_1 += r1;
        let ranked: Vec<String> = hits.iter().map(|h| h.id.clone()).collect();
        let (rr, r1) = reciprocal_rank(&ranked, &q.id);
        rows[0].mrr_at_10 += rr;
        rows[0].recall_at_1 += r1;
        rows[0].ms_per_query += bm25_ms;
        let lexical: Vec<(PaperText, f32)> =
            hits.iter().filter_map(|h| texts.get(h.id.as_str()).map(|p| ((*p).clone(), h.score))).collect();
        let probe = PaperText {
            id: String::from("(query)"),
            title: q.title.clone(),
            abstract_text: String::new(),
            withdrawn: false,
        };
        let lookup = |id: &str| texts.get(id).map(|p| (*p).clone());
        // BM25 + CE: the exact stage without CUR.
        let t = Instant::now();
        let pairs: Vec<(&str, &str)> =
            lexical.iter().map(|(p, _)| (q.title.as_str(), p.abstract_text.as_str())).collect();
        let scores = engine.ce.score_pairs(&pairs)?;
        let mut scored: Vec<(String, f32)> = lexical.iter().map(|(p, _)| p.id.clone()).zip(scores).collect();
        let fused = pipeline::fuse_ranks(&scored, &ranked_ids(&lexical));
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        let ranked: Vec<String> = scored.into_iter().map(|(id, _)| id).collect();
        let (rr, r1) = reciprocal_rank(&ranked, &q.id);
        rows[1].mrr_at_10 += rr;
        rows[1].recall_at_1 += r1;
        rows[1].ce_pairs_per_query += pairs.len() as f64;
        rows[1].ms_per_query += bm25_ms + t.elapsed().as_secs_f64() * 1e3;
        let (rr, r1) = reciprocal_rank(&fused, &q.id);
        rows[4].mrr_at_10 += rr;
        rows[4].recall_at_1 += r1;
        rows[4].ce_pairs_per_query += pairs.len() as f64;
        rows[4].ms_per_query = rows[1].ms_per_query;
        if has_cur {
            let t = Instant::now();
            let mut all = cfg.clone();
            all.top_k = usize::MAX;
            all.fusion = crate::related::Fusion::Ce;
            let cands = pipeline::merge(&ranked_ids(&lexical), &[], lookup);
            let res =
                pipeline::rerank(&engine, &all, &probe, &cands, app.related.lexicon(), app.related.dense(), &lookup)?;
            let scored: Vec<(String, f32)> = res.items.iter().map(|r| (r.id.clone(), r.score)).collect();
            let fused = pipeline::fuse_ranks(&scored, &ranked_ids(&lexical));
            let (rr, r1) = reciprocal_rank(&fused, &q.id);
            rows[5].mrr_at_10 += rr;
            rows[5].recall_at_1 += r1;
            rows[5].ce_pairs_per_query += res.ce_pairs as f64;
            let ranked: Vec<String> = res.items.iter().map(|r| r.id.clone()).collect();
            let (rr, r1) = reciprocal_rank(&ranked, &q.id);
            rows[2].mrr_at_10 += rr;
            rows[2].recall_at_1 += r1;
            rows[2].ce_pairs_per_query += res.ce_pairs as f64;
            rows[2].ms_per_query += bm25_ms + t.elapsed().as_secs_f64() * 1e3;
            rows[5].ms_per_query = rows[2].ms_per_query;
        }
        if (i + 1) % 25 == 0 {
            eprintln!("queries: {}/{}", i + 1, queries.len());
        }
    }
    if !has_cur {
        rows.remove(5);
        rows.remove(2);
    }
    let nq = queries.len().max(1) as f64;
    for r in &mut rows {
        r.mrr_at_10 /= nq;
        r.recall_at_1 /= nq;
        r.ce_pairs_per_query /= nq;
        r.ms_per_query /= nq;
    }

    // Cost per new paper: the production `compute` (key terms of title + abstract, BM25, CUR, rerank, store).
    let mut cost = Cost::default();
    let k_q = engine.cur.read().ok().and_then(|c| c.as_ref().map(|c| c.k_q())).unwrap_or(0);
    let t = Instant::now();
    for q in queries.iter().take(args.cost_papers) {
        let (_, stats) = app.related.compute(&q.id).await?;
        cost.papers += 1;
        cost.ce_pairs_rank += stats.ce_pairs as f64;
        cost.ce_pairs_append += stats.append_pairs as f64;
    }
    if cost.papers > 0 {
        let n = cost.papers as f64;
        cost.ms_per_paper = t.elapsed().as_secs_f64() * 1e3 / n;
        cost.ce_pairs_rank /= n;
        cost.ce_pairs_append /= n;
        // A new paper is appended to the CUR index (k_q pairs); papers the index already held were not, so
        // that part is estimated at the rate the measured work ran at.
        let measured = cost.ce_pairs_rank + cost.ce_pairs_append;
        let missing = (k_q as f64 - cost.ce_pairs_append).max(0.0);
        cost.append_ms_estimate = cost.ms_per_paper / measured.max(1.0) * missing;
        cost.ce_pairs_append = k_q as f64;
        cost.projected_minutes_for_600 = 600.0 * (cost.ms_per_paper + cost.append_ms_estimate) / 60_000.0;
    }
    let report = Report {
        corpus: corpus.len(),
        queries: queries.len(),
        depth: args.depth,
        anchor_queries: k_q,
        cur_candidates: args.cur_candidates,
        engine: engine.ce.engine_name(),
        rows,
        cur_build_pairs: cur_pairs,
        cur_build_seconds: cur_secs,
        cost_per_new_paper: cost,
    };
    println!(
        "Known-item: {} queries (title only) over {} papers; BM25 depth {}, CUR k_q = {}, {} CUR candidates; {}\n",
        report.queries, report.corpus, report.depth, report.anchor_queries, report.cur_candidates, report.engine
    );
    println!("| method | MRR@10 | Recall@1 | CE pairs / query | ms / query |\n|---|---|---|---|---|");
    for r in &report.rows {
        println!(
            "| {} | {:.3} | {:.3} | {:.0} | {:.1} |",
            r.method, r.mrr_at_10, r.recall_at_1, r.ce_pairs_per_query, r.ms_per_query
        );
    }
    let c = &report.cost_per_new_paper;
    println!(
        "\nCost per new paper ({} papers through RelatedService::compute): {:.0} CE pairs to rank + {:.0} to append \
         to the CUR index, {:.0} ms measured + ~{:.0} ms estimated for appends not measured; 600 new papers ≈ {:.1} \
         min on this machine.",
        c.papers, c.ce_pairs_rank, c.ce_pairs_append, c.ms_per_paper, c.append_ms_estimate, c.projected_minutes_for_600
    );
    if let Some(p) = &args.out_json {
        std::fs::write(p, serde_json::to_vec_pretty(&report)?)?;
    }
    app.store.close().await;
    Ok(())
}
