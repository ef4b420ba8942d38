//! `papertide eval cur`: Top-k-Recall@m of the CUR index against exact cross-encoder scores.
//!
//! 1. Slice the corpus: the first `n` papers of one primary category by id order (titles and abstracts
//!    whitespace-normalised). Pick `anchor_queries` anchor query papers and `test_queries` test query
//!    papers, disjoint, with a fixed seed. Queries are papers of the slice; a query paper is excluded from
//!    every ranking.
//! 2. Compute the exact CE score matrix `(test + anchor queries) × n` once, with pairs in the model's own
//!    format (`papertide.json`: the query's title against the abstract for a known-item model, both papers'
//!    title and abstract for a relatedness model), into a cache (one row per chunk, resumable, progress on
//!    stderr, reused across runs). Test and anchor rows are interleaved, so a partial cache already supports
//!    a run with fewer anchor queries (`--max-anchor-rows`).
//! 3. Evaluate every method through the real [`CurIndex`] code paths with a scorer that looks scores up
//!    in the matrix (so the budget is counted exactly as in production): CUR with random, pivoted-QR and
//!    top-coverage anchors, adaptive CUR (adaCUR), kriging, and the product's lexical first stage
//!    ([`super::first_stage`]: key-term BM25 + TF-IDF) top-m reranked exactly, and the lexical scores of the
//!    text the model reads on the query side (BM25 of the title alone for a known-item model, whole-text
//!    TF-IDF cosine for a relatedness model) that seed kriging; plus a bound that no CUR-family
//!    method can beat with these anchor queries (the least-squares fit of the test query's whole row).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::rerank::PairTexts;
use crate::rerank::cur::linalg::{Mat, dot_f32, pinv};
use crate::rerank::cur::{
    AnchorMethod, CountingScorer, CurIndex, IndexMeta, IndexSpec, KrigingOptions, PairScorer, QueryOptions,
    ScorerError, synthetic::LowRankScorer,
};

#[derive(clap::Args, Debug, Clone)]
pub struct EvalCurArgs {
    /// Corpus in Kaggle arXiv JSONL(.gz) form.
    #[arg(long, default_value = "../shared/data/arxiv-cs-2025-2026.jsonl.gz")]
    pub data: PathBuf,
    /// Cross-encoder model directory.
    #[arg(long, default_value = "../shared/models/ce-arxiv-minilm-l6")]
    pub model: PathBuf,
    /// Primary category of the slice.
    #[arg(long, default_value = "cs.CL")]
    pub category: String,
    /// Papers in the slice (the first N of the category by id).
    #[arg(long, default_value_t = 1000)]
    pub n: usize,
    #[arg(long, default_value_t = 100)]
    pub anchor_queries: usize,
    #[arg(long, default_value_t = 50)]
    pub test_queries: usize,
    #[arg(long, default_value_t = 128)]
    pub max_length: usize,
    #[arg(long, default_value_t = 20261123)]
    pub seed: u64,
    /// Where the exact score matrix is cached.
    #[arg(long, default_value = "data/eval-cache")]
    pub cache_dir: PathBuf,
    /// Explicit path (base name) of the exact score cache; defaults to one under --cache-dir named after
    /// the model and slice.
    #[arg(long)]
    pub scores_cache: Option<PathBuf>,
    /// Use a synthetic low-rank scorer instead of the model (for developing the harness).
    #[arg(long)]
    pub synthetic: bool,
    /// Engine dtype: f32 or bf16.
    #[arg(long, default_value = "f32")]
    pub dtype: String,
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Only fill the exact score cache, then stop.
    #[arg(long)]
    pub compute_only: bool,
    /// Evaluate with only the first K anchor query rows (for a partially computed cache).
    #[arg(long)]
    pub max_anchor_rows: Option<usize>,
    /// Random-anchor repetitions averaged.
    #[arg(long, default_value_t = 5)]
    pub random_seeds: u64,
    /// Relative singular value cut-off of pinv(W) (5e-2 measured best of 1e-3 .. 1e-1 on a preliminary
    /// run; small cut-offs blow up noise when k_i ≈ k_q).
    #[arg(long, default_value_t = 5e-2)]
    pub rcond: f64,
    /// Items scored exactly per adaptive round.
    #[arg(long, default_value_t = 10)]
    pub round_size: usize,
    /// Kriging: first-stage items (the BM25 top of the query's title).
    #[arg(long, default_value_t = 5)]
    pub kriging_seeds: usize,
    /// Kriging: items scored exactly per round.
    #[arg(long, default_value_t = 5)]
    pub kriging_round_size: usize,
    /// Kriging: noise variance of an observed score (relative to the kernel).
    #[arg(long, default_value_t = 1.0)]
    pub kriging_noise: f64,
    /// Kriging: weight of the z-scored BM25 prior in the mean.
    #[arg(long, default_value_t = 0.3)]
    pub kriging_prior_weight: f64,
    /// JSON result file (default: <cache-dir>/cur-eval.json).
    #[arg(long)]
    pub out_json: Option<PathBuf>,
}

/// One paper of the slice.
#[derive(Debug, Clone)]
pub struct Paper {
    pub id: String,
    pub title: String,
    pub abstract_text: String,
}

#[derive(Deserialize)]
struct RawLine {
    id: String,
    title: Option<String>,
    #[serde(rename = "abstract")]
    abstract_text: Option<String>,
    categories: Option<String>,
}

/// Collapses runs of white space to one space and trims.
pub fn normalize_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first `n` papers whose primary category is `category`, by id order.
pub fn load_slice(path: &Path, category: &str, n: usize) -> anyhow::Result<Vec<Paper>> {
    let file = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let reader: Box<dyn BufRead> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(BufReader::new(flate2::read::GzDecoder::new(file)))
    } else {
        Box::new(BufReader::new(file))
    };
    let mut papers = Vec::new();
    for line in reader.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let raw: RawLine = serde_json::from_str(&line).with_context(|| format!("parsing {}", path.display()))?;
        let primary = raw.categories.as_deref().and_then(|c| c.split_whitespace().next()).unwrap_or("");
        if primary != category {
            continue;
        }
        let (Some(t), Some(a)) = (raw.title, raw.abstract_text) else {
            continue;
        };
        let (title, abstract_text) = (normalize_ws(&t), normalize_ws(&a));
        if title.is_empty() || abstract_text.is_empty() {
            continue;
        }
        papers.push(Paper { id: raw.id, title, abstract_text });
    }
    papers.sort_by(|a, b| a.id.cmp(&b.id));
    papers.dedup_by(|a, b| a.id == b.id);
    papers.truncate(n);
    Ok(papers)
}

// ---------------------------------------------------------------------------------------------------
// Exact score cache

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct CacheManifest {
    model_id: String,
    max_length: usize,
    item_ids: Vec<String>,
    /// Query paper ids in row order (test queries first, then anchor queries).
    row_ids: Vec<String>,
    rows_done: usize,
    /// CE seconds spent on the rows done, over all runs.
    seconds: f64,
}

/// The exact `(rows × n)` score matrix, row-major.
pub struct ExactScores {
    pub rows: usize,
    pub n: usize,
    pub data: Vec<f32>,
    pub seconds: f64,
}

impl ExactScores {
    pub fn row(&self, r: usize) -> &[f32] {
        &self.data[r * self.n..(r + 1) * self.n]
    }
}

fn with_suffix(base: &Path, suffix: &str) -> PathBuf {
    let mut s = base.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn read_f32_file(path: &Path, count: usize) -> anyhow::Result<Vec<f32>> {
    let bytes = fs::read(path).unwrap_or_default();
    if bytes.len() < count * 4 {
        bail!("{} holds {} bytes, want at least {}", path.display(), bytes.len(), count * 4);
    }
    Ok(bytes[..count * 4].chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

/// Fills (or resumes) the exact score cache at `base` (`base.f32` + `base.json`) and returns what is done.
/// With `scorer == None` only what is already cached is returned.
fn exact_scores(
    base: &Path,
    scorer: Option<&dyn PairScorer>,
    model_id: &str,
    max_length: usize,
    papers: &[Paper],
    texts: &PairSides,
    rows: &[usize],
) -> anyhow::Result<ExactScores> {
    let data_path = with_suffix(base, ".f32");
    let manifest_path = with_suffix(base, ".json");
    if let Some(d) = base.parent() {
        fs::create_dir_all(d)?;
    }
    let mut fresh = CacheManifest {
        model_id: model_id.to_string(),
        max_length,
        item_ids: papers.iter().map(|p| p.id.clone()).collect(),
        row_ids: rows.iter().map(|&r| papers[r].id.clone()).collect(),
        rows_done: 0,
        seconds: 0.0,
    };
    let n = papers.len();
    if let Some(old) = fs::read(&manifest_path).ok().and_then(|b| serde_json::from_slice::<CacheManifest>(&b).ok()) {
        let same = old.model_id == fresh.model_id
            && old.max_length == fresh.max_length
            && old.item_ids == fresh.item_ids
            && old.row_ids == fresh.row_ids;
        if same {
            fresh.rows_done = old.rows_done;
            fresh.seconds = old.seconds;
        } else {
            eprintln!("exact scores: cache {} is for other inputs; starting over", manifest_path.display());
        }
    }
    let mut data = if fresh.rows_done > 0 { read_f32_file(&data_path, fresh.rows_done * n)? } else { Vec::new() };
    if let Some(scorer) = scorer
        && fresh.rows_done < rows.len()
    {
        let mut file = fs::OpenOptions::new().create(true).write(true).truncate(false).open(&data_path)?;
        file.set_len((fresh.rows_done * n * 4) as u64)?;
        use std::io::Seek;
        file.seek(std::io::SeekFrom::End(0))?;
        let total_pairs = (rows.len() - fresh.rows_done) * n;
        let started = Instant::now();
        let mut done_pairs = 0usize;
        eprintln!(
            "exact scores: {} of {} rows cached, {} pairs to go ({})",
            fresh.rows_done,
            rows.len(),
            total_pairs,
            data_path.display()
        );
        for r in fresh.rows_done..rows.len() {
            let q = texts.query[rows[r]].as_str();
            let pairs: Vec<(&str, &str)> = texts.item.iter().map(|d| (q, d.as_str())).collect();
            let t = Instant::now();
            let scores = scorer.score(&pairs)?;
            anyhow::ensure!(scores.len() == n, "scorer returned {} scores for {n} pairs", scores.len());
            let mut bytes = Vec::with_capacity(n * 4);
            for s in &scores {
                bytes.extend_from_slice(&s.to_le_bytes());
            }
            file.write_all(&bytes)?;
            file.sync_data()?;
            data.extend_from_slice(&scores);
            fresh.rows_done = r + 1;
            fresh.seconds += t.elapsed().as_secs_f64();
            let tmp = with_suffix(&manifest_path, ".tmp");
            fs::write(&tmp, serde_json::to_vec_pretty(&fresh)?)?;
            fs::rename(&tmp, &manifest_path)?;
            done_pairs += n;
            let el = started.elapsed().as_secs_f64();
            let rate = done_pairs as f64 / el;
            eprintln!(
                "exact scores: row {}/{} ({:.1} pairs/s, {:.0} s elapsed, ETA {:.0} s)",
                r + 1,
                rows.len(),
                rate,
                el,
                (total_pairs - done_pairs) as f64 / rate
            );
        }
    }
    Ok(ExactScores { rows: fresh.rows_done, n, data, seconds: fresh.seconds })
}

// ---------------------------------------------------------------------------------------------------
// A scorer backed by the exact matrix

/// Each slice paper's two sides of a pair, in the model's format: `query[p]` when paper `p` is the query,
/// `item[p]` when it is the candidate.
pub struct PairSides {
    pub query: Vec<String>,
    pub item: Vec<String>,
}

impl PairSides {
    pub fn new(papers: &[Paper], texts: PairTexts) -> PairSides {
        let (query, item) =
            papers.iter().map(|p| texts.texts((&p.title, &p.abstract_text), (&p.title, &p.abstract_text))).unzip();
        PairSides { query, item }
    }
}

/// Answers pairs from the cached matrix: the query is found by its query-side text among the matrix rows, the
/// item by its item-side text among the slice. Counts pairs like a real scorer would.
struct MatrixScorer<'a> {
    exact: &'a ExactScores,
    row_of_query: HashMap<&'a str, usize>,
    col_of_item: HashMap<&'a str, usize>,
    model_id: String,
}

impl PairScorer for MatrixScorer<'_> {
    fn score(&self, pairs: &[(&str, &str)]) -> Result<Vec<f32>, ScorerError> {
        pairs
            .iter()
            .map(|(q, d)| {
                let r = self.row_of_query.get(q).ok_or_else(|| ScorerError::new(format!("no row for {q:?}")))?;
                let c = self.col_of_item.get(d).ok_or_else(|| ScorerError::new("unknown item text"))?;
                Ok(self.exact.data[r * self.exact.n + c])
            })
            .collect()
    }
    fn model_id(&self) -> String {
        self.model_id.clone()
    }
}

// ---------------------------------------------------------------------------------------------------
// BM25 baseline

// ---------------------------------------------------------------------------------------------------
// Evaluation

pub const KS: [usize; 2] = [1, 10];
pub const BUDGETS: [usize; 3] = [20, 50, 100];

/// Top-k-Recall: |exact top-k ∩ got top-k| / k.
fn recall(exact_top: &[usize], got: &[usize], k: usize) -> f64 {
    let want: HashSet<usize> = exact_top.iter().take(k).copied().collect();
    got.iter().take(k).filter(|p| want.contains(p)).count() as f64 / k as f64
}

/// Positions of the `k` best entries of `row`, best first, excluding `skip`.
fn exact_top(row: &[f32], k: usize, skip: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..row.len()).filter(|&j| j != skip).collect();
    idx.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub method: String,
    pub budget: usize,
    /// Anchor items used (0 for BM25).
    pub k_i: usize,
    pub k_r: usize,
    /// Mean Top-1 and Top-10 recall over test queries (and over random seeds).
    pub recall_at_1: f64,
    pub recall_at_10: f64,
    /// Whether this split is the best found for this method and budget.
    pub best: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RelError {
    pub method: String,
    pub k_i: usize,
    pub rel_error: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub model_id: String,
    pub engine: String,
    pub n: usize,
    pub category: String,
    pub anchor_queries: usize,
    pub test_queries: usize,
    pub max_length: usize,
    pub rcond: f64,
    pub round_size: usize,
    pub indexing_ce_calls: usize,
    pub exact_matrix_pairs: usize,
    pub exact_matrix_seconds: f64,
    pub timings_ms: Vec<(String, f64)>,
    pub cells: Vec<Cell>,
    pub rel_errors: Vec<RelError>,
}

fn splits(m: usize) -> Vec<usize> {
    let mut v: Vec<usize> =
        [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8].iter().map(|f| ((m as f64) * f).round() as usize).collect();
    v.retain(|&k| k >= 2 && k < m);
    v.dedup();
    v
}

fn make_scorer(args: &EvalCurArgs) -> anyhow::Result<(Box<dyn PairScorer>, String)> {
    if args.synthetic {
        let s = LowRankScorer::new(24, args.seed).with_noise(0.6);
        return Ok((Box::new(s), "synthetic low-rank".into()));
    }
    model_scorer(args)
}

fn model_scorer(args: &EvalCurArgs) -> anyhow::Result<(Box<dyn PairScorer>, String)> {
    use crate::rerank::{CrossEncoder, Dtype, EngineOptions};
    let dtype: Dtype = args.dtype.parse().map_err(|e| anyhow::anyhow!("--dtype {}: {e}", args.dtype))?;
    let opts = EngineOptions {
        max_length: args.max_length,
        threads: args.threads,
        dtype,
        batch_size: args.batch_size,
        isa: None,
    };
    let ce = CrossEncoder::load(&args.model, opts).with_context(|| format!("loading {}", args.model.display()))?;
    let engine = format!("{}, {dtype}, {} threads", ce.engine_name(), args.threads);
    Ok((Box::new(ce), engine))
}

pub fn run(args: &EvalCurArgs) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let mut timings: Vec<(String, f64)> = Vec::new();
    let papers = load_slice(&args.data, &args.category, args.n)?;
    anyhow::ensure!(
        papers.len() >= args.anchor_queries + args.test_queries + 10,
        "only {} papers of {} in {}",
        papers.len(),
        args.category,
        args.data.display()
    );
    let n = papers.len();
    timings.push(("load slice".into(), t0.elapsed().as_secs_f64() * 1e3));
    eprintln!("slice: {n} {} papers, {} .. {}", args.category, papers[0].id, papers[n - 1].id);

    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut StdRng::seed_from_u64(args.seed));
    let test: Vec<usize> = order[..args.test_queries].to_vec();
    let anchors: Vec<usize> = order[args.test_queries..args.test_queries + args.anchor_queries].to_vec();
    // Row order of the exact matrix: test and anchor queries interleaved, so that a partly computed
    // cache already supports an evaluation with as many of each as are done.
    let mut rows: Vec<usize> = Vec::with_capacity(test.len() + anchors.len());
    for i in 0..test.len().max(anchors.len()) {
        rows.extend(test.get(i));
        rows.extend(anchors.get(i));
    }
    let is_test: HashSet<usize> = test.iter().copied().collect();

    let (scorer, engine) = make_scorer(args)?;
    let texts = scorer.texts();
    let sides = PairSides::new(&papers, texts);
    let whole_papers = texts == PairTexts::PaperPaper;
    let model_id = scorer.model_id();
    let base = match &args.scores_cache {
        Some(p) => p.clone(),
        None => {
            let safe: String =
                model_id.chars().map(|c| if c.is_alphanumeric() || c == '-' { c } else { '_' }).collect();
            args.cache_dir.join(format!(
                "exact-{safe}-{}-n{}-q{}-t{}-s{}-L{}",
                args.category, n, args.anchor_queries, args.test_queries, args.seed, args.max_length
            ))
        }
    };
    let use_scorer = args.max_anchor_rows.is_none() || args.compute_only;
    let exact = exact_scores(
        &base,
        if use_scorer { Some(scorer.as_ref()) } else { None },
        &model_id,
        args.max_length,
        &papers,
        &sides,
        &rows,
    )?;
    if args.compute_only {
        eprintln!("exact scores: {} rows cached in {:.0} s of CE time", exact.rows, exact.seconds);
        return Ok(());
    }
    // (row, paper) of the completed rows.
    let test_rows: Vec<(usize, usize)> =
        (0..exact.rows).filter(|&r| is_test.contains(&rows[r])).map(|r| (r, rows[r])).collect();
    let mut anchor_rows: Vec<(usize, usize)> =
        (0..exact.rows).filter(|&r| !is_test.contains(&rows[r])).map(|r| (r, rows[r])).collect();
    anchor_rows.truncate(args.max_anchor_rows.unwrap_or(usize::MAX));
    let k_q = anchor_rows.len();
    anyhow::ensure!(!test_rows.is_empty() && k_q >= 1, "the exact score cache has only {} rows", exact.rows);
    let anchors: Vec<usize> = anchor_rows.iter().map(|&(_, p)| p).collect();
    let test: Vec<usize> = test_rows.iter().map(|&(_, p)| p).collect();
    eprintln!("evaluating with {k_q} anchor queries, {} test queries", test.len());

    let matrix = MatrixScorer {
        exact: &exact,
        row_of_query: rows[..exact.rows].iter().enumerate().map(|(r, &p)| (sides.query[p].as_str(), r)).collect(),
        col_of_item: {
            let mut m = HashMap::new();
            for (j, d) in sides.item.iter().enumerate() {
                m.entry(d.as_str()).or_insert(j);
            }
            m
        },
        model_id: model_id.clone(),
    };
    let counting = CountingScorer::new(&matrix);
    let text_of: HashMap<&str, &str> =
        papers.iter().zip(&sides.item).map(|(p, d)| (p.id.as_str(), d.as_str())).collect();
    let item_text = |id: &str| text_of.get(id).map(|s| s.to_string());
    let exact_tops: Vec<Vec<usize>> = test_rows.iter().map(|&(r, p)| exact_top(exact.row(r), 10, p)).collect();

    // R (item-major) for the anchor queries, from the cache.
    let mut rt = vec![0f32; n * k_q];
    for (q, &(row, _)) in anchor_rows.iter().enumerate() {
        for (j, v) in exact.row(row).iter().enumerate() {
            rt[j * k_q + q] = *v;
        }
    }
    let spec = IndexSpec::new(
        model_id.clone(),
        args.max_length,
        texts,
        anchors.iter().map(|&a| papers[a].id.clone()).collect(),
    );
    let make_index = |anchor_pos: &[usize], method: AnchorMethod| -> anyhow::Result<CurIndex> {
        let meta = IndexMeta {
            spec: spec.clone(),
            anchor_query_texts: anchors.iter().map(|&a| sides.query[a].clone()).collect(),
            anchor_method: method,
            anchor_item_ids: anchor_pos.iter().map(|&p| papers[p].id.clone()).collect(),
            anchor_item_texts: anchor_pos.iter().map(|&p| sides.item[p].clone()).collect(),
            rcond: args.rcond,
            item_ids: papers.iter().map(|p| p.id.clone()).collect(),
        };
        Ok(CurIndex::from_r(meta, rt.clone())?)
    };

    let mut cells: Vec<Cell> = Vec::new();
    let mut rel_errors: Vec<RelError> = Vec::new();
    let norm_m: f64 =
        test_rows.iter().flat_map(|&(r, _)| exact.row(r).iter()).map(|&x| (x as f64) * (x as f64)).sum::<f64>().sqrt();

    // Anchor item choices per method, nested in k_i where the method allows.
    let max_ki = BUDGETS.iter().flat_map(|&m| splits(m)).max().unwrap_or(1);
    let qr_order = crate::rerank::cur::select_item_anchors(&AnchorMethod::PivotedQr, &rt, k_q, n, max_ki, &[]);
    let t = Instant::now();
    let _ = make_index(&qr_order[..max_ki.min(qr_order.len())], AnchorMethod::PivotedQr)?;
    timings.push((format!("index build (pinv + E, k_i = {max_ki}, pivoted QR)"), t.elapsed().as_secs_f64() * 1e3));

    type Picker<'a> = Box<dyn Fn(usize, u64) -> Vec<usize> + 'a>;
    // The product's lexical first stage (key-term BM25 + TF-IDF, fused) over the slice; per test query, its
    // ranking (query paper excluded).
    let t = Instant::now();
    let first_stage = super::first_stage::FirstStage::build(&papers, &crate::related::RelatedConfig::default())?;
    timings.push(("first-stage index build (tantivy + TF-IDF)".into(), t.elapsed().as_secs_f64() * 1e3));
    let bm25_top: Vec<Vec<usize>> = test_rows
        .iter()
        .map(|&(_, qp)| first_stage.ranking(qp, *BUDGETS.iter().max().unwrap()))
        .collect::<anyhow::Result<_>>()?;

    #[derive(Clone, Copy, PartialEq)]
    enum Mode {
        Plain,
        Adaptive,
        Bm25Seeded,
    }
    let methods: Vec<(&str, u64, Picker, Vec<Mode>)> = vec![
        (
            "CUR random anchors",
            args.random_seeds.max(1),
            Box::new(|k_i, seed| {
                crate::rerank::cur::select_item_anchors(&AnchorMethod::Random { seed }, &rt, k_q, n, k_i, &[])
            }),
            vec![Mode::Plain],
        ),
        (
            "CUR pivoted-QR anchors",
            1,
            Box::new(|k_i, _| qr_order[..k_i.min(qr_order.len())].to_vec()),
            vec![Mode::Plain, Mode::Adaptive, Mode::Bm25Seeded],
        ),
        (
            "CUR top-coverage anchors",
            1,
            Box::new(|k_i, _| {
                let m = AnchorMethod::TopCoverage { depth: 10, per_query: 1 };
                crate::rerank::cur::select_item_anchors(&m, &rt, k_q, n, k_i, &[])
            }),
            vec![Mode::Plain],
        ),
    ];
    let mut query_ms = Vec::new();
    for (name, seeds, pick, modes) in &methods {
        for &mode in modes {
            let label = match mode {
                Mode::Plain => name.to_string(),
                Mode::Adaptive => format!("{name} + adaptive"),
                Mode::Bm25Seeded => "adaptive CUR from first-stage top-k_i".to_string(),
            };
            for &m in &BUDGETS {
                let mut best: Option<usize> = None;
                let start = cells.len();
                for k_i in splits(m) {
                    let (mut r1, mut r10) = (0.0, 0.0);
                    for seed in 0..*seeds {
                        let index = make_index(&pick(k_i, seed), AnchorMethod::Random { seed })?;
                        for (t, &(_, qp)) in test_rows.iter().enumerate() {
                            let (q, qtext) = (&papers[qp], sides.query[qp].as_str());
                            let opts = QueryOptions { k: 10, k_r: m - k_i };
                            counting.reset();
                            let tq = Instant::now();
                            let rounds = (opts.k_r / args.round_size.max(1)).max(1);
                            let res = if mode == Mode::Adaptive {
                                index.query_adaptive(&counting, qtext, &[q.id.as_str()], opts, rounds, &item_text)?
                            } else if mode == Mode::Bm25Seeded {
                                let seeds: Vec<&str> = bm25_top[t][..k_i.min(bm25_top[t].len())]
                                    .iter()
                                    .map(|&p| papers[p].id.as_str())
                                    .collect();
                                index.query_adaptive_from(
                                    &counting,
                                    qtext,
                                    &[q.id.as_str()],
                                    opts,
                                    rounds,
                                    Some(&seeds),
                                    &item_text,
                                )?
                            } else {
                                index.query(&counting, qtext, &[q.id.as_str()], opts, &item_text)?
                            };
                            query_ms.push(tq.elapsed().as_secs_f64() * 1e3);
                            check_budget(counting.pairs(), m, n)?;
                            let got: Vec<usize> = res.items.iter().map(|s| s.pos).collect();
                            r1 += recall(&exact_tops[t], &got, 1);
                            r10 += recall(&exact_tops[t], &got, 10);
                        }
                    }
                    let denom = (test.len() as u64 * seeds) as f64;
                    cells.push(Cell {
                        method: label.clone(),
                        budget: m,
                        k_i,
                        k_r: m - k_i,
                        recall_at_1: r1 / denom,
                        recall_at_10: r10 / denom,
                        best: false,
                    });
                    let i = cells.len() - 1;
                    if best.is_none_or(|b| cells[b].recall_at_10 + 1e-12 < cells[i].recall_at_10) {
                        best = Some(i);
                    }
                }
                if let Some(b) = best {
                    cells[b].best = true;
                }
                debug_assert!(cells.len() > start);
            }
        }
        // Relative error of the CUR approximation on the test queries, per k_i.
        for k_i in [10usize, 25, 50] {
            let mut err = 0.0;
            for seed in 0..*seeds {
                let index = make_index(&pick(k_i, seed), AnchorMethod::PivotedQr)?;
                for &(r, qp) in &test_rows {
                    let c = index.anchor_scores(&matrix, &sides.query[qp])?;
                    let s = index.approx_scores(&c);
                    err += s.iter().zip(exact.row(r)).map(|(a, b)| ((a - b) as f64).powi(2)).sum::<f64>();
                }
            }
            rel_errors.push(RelError {
                method: name.to_string(),
                k_i,
                rel_error: (err / *seeds as f64).sqrt() / norm_m,
            });
        }
    }
    query_ms.sort_by(f64::total_cmp);
    timings.push((
        "CUR query, median (scores from the matrix: excludes CE time)".into(),
        query_ms.get(query_ms.len() / 2).copied().unwrap_or(0.0),
    ));

    // The product's first stage, top-m reranked exactly.
    cells.extend(shortlist_cells(
        "first stage (BM25 key terms + TF-IDF) top-m + exact rerank",
        &exact,
        &test_rows,
        &exact_tops,
        |t, m| bm25_top[t][..m.min(bm25_top[t].len())].to_vec(),
    ));

    // The lexical scores of what the CE reads on the query side: BM25 of the title alone for a known-item
    // model, the whole-text TF-IDF cosine for a model that reads both papers. Kriging is seeded by and centred
    // on them; reported as a baseline of their own.
    let (query_lexical, kriging_label) = if whole_papers {
        ("TF-IDF cosine (whole text)", "kriging CUR from TF-IDF (whole text) top-k_i")
    } else {
        ("BM25 (title query)", "kriging CUR from BM25 (title) top-k_i")
    };
    let query_scores: Vec<Vec<f32>> = if whole_papers {
        test_rows.iter().map(|&(_, qp)| first_stage.tfidf_scores(qp)).collect()
    } else {
        test_rows.iter().map(|&(_, qp)| first_stage.title_scores(qp)).collect::<anyhow::Result<_>>()?
    };
    let query_top: Vec<Vec<usize>> = test_rows
        .iter()
        .zip(&query_scores)
        .map(|(&(_, qp), sc)| top_except(sc, *BUDGETS.iter().max().unwrap(), qp))
        .collect();
    cells.extend(shortlist_cells(
        &format!("{query_lexical} top-m + exact rerank"),
        &exact,
        &test_rows,
        &exact_tops,
        |t, m| query_top[t][..m.min(query_top[t].len())].to_vec(),
    ));

    // Kriging over R, seeded by and centred on those lexical scores (one setting, not tuned per budget).
    let kopts = KrigingOptions {
        round_size: args.kriging_round_size,
        noise: args.kriging_noise,
        prior_weight: args.kriging_prior_weight,
        // Recall of the model's own top 10 is measured here, hubs included: no hubness correction.
        ..KrigingOptions::default()
    };
    let index = make_index(&qr_order[..max_ki.min(qr_order.len())], AnchorMethod::PivotedQr)?;
    let mut kriging_ms = Vec::new();
    // Two settings: seeded by and centred on the query-side lexical scores (`--kriging-seeds` seeds), and
    // the product's own (`related::pipeline::rerank`): seeded by the fused first stage's candidates (up to
    // 25, as many as a related list reranks, at most half the budget) with no prior.
    let settings: [(&str, &Vec<Vec<usize>>, bool); 2] = [
        (kriging_label, &query_top, true),
        ("kriging CUR from the first stage's candidates, no prior (the product's)", &bm25_top, false),
    ];
    for (label, seed_lists, with_prior) in settings {
        for &m in &BUDGETS {
            let k_i = if with_prior { args.kriging_seeds.min(m) } else { 25.min(m / 2) };
            let (mut r1, mut r10) = (0.0, 0.0);
            for (t, &(_, qp)) in test_rows.iter().enumerate() {
                let q = &papers[qp];
                let seeds: Vec<&str> =
                    seed_lists[t][..k_i.min(seed_lists[t].len())].iter().map(|&p| papers[p].id.as_str()).collect();
                counting.reset();
                let tq = Instant::now();
                let res = index.query_kriging(
                    &counting,
                    &sides.query[qp],
                    &[q.id.as_str()],
                    QueryOptions { k: 10, k_r: m - seeds.len() },
                    &kopts,
                    Some(&seeds),
                    if with_prior { Some(&query_scores[t]) } else { None },
                    &item_text,
                )?;
                kriging_ms.push(tq.elapsed().as_secs_f64() * 1e3);
                check_budget(counting.pairs(), m, n)?;
                let got: Vec<usize> = res.items.iter().map(|s| s.pos).collect();
                r1 += recall(&exact_tops[t], &got, 1);
                r10 += recall(&exact_tops[t], &got, 10);
            }
            let nq = test.len() as f64;
            cells.push(Cell {
                method: label.into(),
                budget: m,
                k_i,
                k_r: m - k_i,
                recall_at_1: r1 / nq,
                recall_at_10: r10 / nq,
                best: true,
            });
        }
    }
    kriging_ms.sort_by(f64::total_cmp);
    timings.push((
        "kriging query, median (scores from the matrix: excludes CE time)".into(),
        kriging_ms.get(kriging_ms.len() / 2).copied().unwrap_or(0.0),
    ));

    // A bound, not a method (it reads the query's whole exact row): the best least-squares fit of the row
    // on the anchor rows, `a = y·pinv(R)`, ranks the corpus by `a·R`; its top m are reranked exactly. No
    // CUR-family method with these anchor queries approximates the row better than this fit does.
    let r_mat = Mat::from_fn(k_q, n, |q, j| rt[j * k_q + q] as f64);
    let r_pinv = pinv(&r_mat, 1e-10);
    let fits: Vec<Vec<f32>> = test_rows
        .iter()
        .map(|&(r, _)| {
            let row: Vec<f64> = exact.row(r).iter().map(|&y| y as f64).collect();
            let a: Vec<f32> = r_pinv.vec_mul(&row).into_iter().map(|x| x as f32).collect();
            rt.chunks_exact(k_q).map(|r_j| dot_f32(&a, r_j)).collect()
        })
        .collect();
    cells.extend(shortlist_cells(
        "bound: whole exact row fitted on the anchor rows (not a method)",
        &exact,
        &test_rows,
        &exact_tops,
        |t, m| top_except(&fits[t], m, test_rows[t].1),
    ));

    let report = EvalReport {
        model_id: model_id.clone(),
        engine,
        n,
        category: args.category.clone(),
        anchor_queries: k_q,
        test_queries: test.len(),
        max_length: args.max_length,
        rcond: args.rcond,
        round_size: args.round_size,
        indexing_ce_calls: k_q * n,
        exact_matrix_pairs: exact.rows * n,
        exact_matrix_seconds: exact.seconds,
        timings_ms: timings,
        cells,
        rel_errors,
    };
    println!("{}", markdown(&report));
    let out = args.out_json.clone().unwrap_or_else(|| args.cache_dir.join("cur-eval.json"));
    if let Some(d) = out.parent() {
        fs::create_dir_all(d)?;
    }
    fs::write(&out, serde_json::to_vec_pretty(&report)?)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// The `k` best positions of `s`, best first, leaving out the query paper's own position.
fn top_except(s: &[f32], k: usize, query_pos: usize) -> Vec<usize> {
    let mut skip = vec![false; s.len()];
    skip[query_pos] = true;
    crate::rerank::cur::index::top_by(s, k, &skip)
}

/// A method must spend exactly its budget `m` of CE pairs (less only when the slice of `n` papers runs out).
fn check_budget(spent: usize, m: usize, n: usize) -> anyhow::Result<()> {
    anyhow::ensure!(spent == m || (spent < m && n < 2 * m), "budget violated: {spent} CE pairs for m = {m}");
    Ok(())
}

/// One cell per budget for a method that picks `m` items per test query without CE calls (`pick(t, m)`)
/// and reranks them exactly: the budget is all rerank.
fn shortlist_cells(
    method: &str,
    exact: &ExactScores,
    test_rows: &[(usize, usize)],
    exact_tops: &[Vec<usize>],
    pick: impl Fn(usize, usize) -> Vec<usize>,
) -> Vec<Cell> {
    BUDGETS
        .iter()
        .map(|&m| {
            let (mut r1, mut r10) = (0.0, 0.0);
            for (t, &(r, _)) in test_rows.iter().enumerate() {
                let row = exact.row(r);
                let mut scored = pick(t, m);
                scored.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
                r1 += recall(&exact_tops[t], &scored, 1);
                r10 += recall(&exact_tops[t], &scored, 10);
            }
            let nq = test_rows.len() as f64;
            Cell {
                method: method.into(),
                budget: m,
                k_i: 0,
                k_r: m,
                recall_at_1: r1 / nq,
                recall_at_10: r10 / nq,
                best: true,
            }
        })
        .collect()
}

/// The report as markdown: the best split per method and budget, then all splits, errors and timings.
pub fn markdown(r: &EvalReport) -> String {
    let mut s = String::new();
    s += &format!(
        "Slice: first {} `{}` papers by id; {} anchor queries, {} test queries (disjoint, query paper excluded); \
         CE `{}` ({}), max_length {}; indexing CE calls k_q·N = {}; exact matrix {} pairs in {:.0} s.\n\n",
        r.n,
        r.category,
        r.anchor_queries,
        r.test_queries,
        r.model_id,
        r.engine,
        r.max_length,
        r.indexing_ce_calls,
        r.exact_matrix_pairs,
        r.exact_matrix_seconds
    );
    s += "| method | Top-1-R@20 | Top-1-R@50 | Top-1-R@100 | Top-10-R@20 | Top-10-R@50 | Top-10-R@100 |\n";
    s += "|---|---|---|---|---|---|---|\n";
    let mut methods: Vec<&str> = Vec::new();
    for c in &r.cells {
        if !methods.contains(&c.method.as_str()) {
            methods.push(&c.method);
        }
    }
    for m in &methods {
        let best: Vec<&Cell> = BUDGETS
            .iter()
            .filter_map(|&b| r.cells.iter().find(|c| c.method == *m && c.budget == b && c.best))
            .collect();
        let cell = |c: &Cell, v: f64| {
            if c.k_i > 0 { format!("{v:.3} ({}+{})", c.k_i, c.k_r) } else { format!("{v:.3}") }
        };
        s += &format!(
            "| {m} | {} | {} |\n",
            best.iter().map(|c| cell(c, c.recall_at_1)).collect::<Vec<_>>().join(" | "),
            best.iter().map(|c| cell(c, c.recall_at_10)).collect::<Vec<_>>().join(" | ")
        );
    }
    s += "\nCells give the best k_i + k_r split by Top-10 recall (the same split is used for Top-1).\n\n";
    s += "| method | m | k_i + k_r | Top-1 | Top-10 |\n|---|---|---|---|---|\n";
    for c in r.cells.iter().filter(|c| c.k_i > 0) {
        s += &format!(
            "| {} | {} | {}+{} | {:.3} | {:.3} |\n",
            c.method, c.budget, c.k_i, c.k_r, c.recall_at_1, c.recall_at_10
        );
    }
    s += "\n| method | k_i | ‖M − CUR‖_F / ‖M‖_F (test queries) |\n|---|---|---|\n";
    for e in &r.rel_errors {
        s += &format!("| {} | {} | {:.4} |\n", e.method, e.k_i, e.rel_error);
    }
    s += "\n| stage | time |\n|---|---|\n";
    s += &format!(
        "| exact CE matrix ({} pairs) | {:.0} s ({:.1} pairs/s) |\n",
        r.exact_matrix_pairs,
        r.exact_matrix_seconds,
        r.exact_matrix_pairs as f64 / r.exact_matrix_seconds.max(1e-9)
    );
    for (k, v) in &r.timings_ms {
        s += &format!("| {k} | {v:.2} ms |\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recall_and_exact_top() {
        let row = [0.1, 0.9, 0.5, 0.7];
        assert_eq!(exact_top(&row, 2, 1), vec![3, 2]);
        assert_eq!(recall(&[3, 2], &[2, 0], 2), 0.5);
        assert_eq!(normalize_ws(" a\n b\t c "), "a b c");
    }

    #[test]
    fn pair_sides_follow_the_model_format() {
        let papers = vec![Paper { id: "1".into(), title: "T".into(), abstract_text: "A.".into() }];
        let known_item = PairSides::new(&papers, PairTexts::TitleAbstract);
        assert_eq!((known_item.query[0].as_str(), known_item.item[0].as_str()), ("T", "A."));
        let whole = PairSides::new(&papers, PairTexts::PaperPaper);
        assert_eq!((whole.query[0].as_str(), whole.item[0].as_str()), ("T. A.", "T. A."));
    }

    #[test]
    fn synthetic_end_to_end_on_a_small_slice() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("slice.jsonl");
        let mut lines = String::new();
        for i in 0..80 {
            lines += &serde_json::json!({
                "id": format!("2501.{:05}", 80 - i),
                "title": format!("Paper  {i} on\n topic {}", i % 7),
                "abstract": format!("We study topic {} with method {} and data {}.", i % 7, i % 5, i),
                "categories": if i % 9 == 0 { "cs.LG cs.CL" } else { "cs.CL" },
            })
            .to_string();
            lines += "\n";
        }
        fs::write(&data, lines).unwrap();
        let papers = load_slice(&data, "cs.CL", 1000).unwrap();
        assert_eq!(papers.len(), 71);
        assert!(papers.windows(2).all(|w| w[0].id < w[1].id));
        assert!(!papers[0].title.contains('\n') && !papers[0].title.contains("  "));
        let args = EvalCurArgs {
            data,
            model: PathBuf::new(),
            category: "cs.CL".into(),
            n: 70,
            anchor_queries: 20,
            test_queries: 10,
            max_length: 128,
            seed: 1,
            cache_dir: dir.path().join("cache"),
            scores_cache: None,
            synthetic: true,
            dtype: "f32".into(),
            threads: 1,
            batch_size: 32,
            compute_only: false,
            max_anchor_rows: None,
            random_seeds: 1,
            rcond: 1e-3,
            round_size: 10,
            kriging_seeds: 5,
            kriging_round_size: 5,
            kriging_noise: 1.0,
            kriging_prior_weight: 0.3,
            out_json: None,
        };
        run(&args).unwrap();
        let report: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.path().join("cache/cur-eval.json")).unwrap()).unwrap();
        assert_eq!(report["exact_matrix_pairs"], 30 * 70);
        let cells = report["cells"].as_array().unwrap();
        for method in [
            "kriging CUR from BM25 (title) top-k_i",
            "BM25 (title query) top-m + exact rerank",
            "kriging CUR from the first stage's candidates, no prior (the product's)",
        ] {
            let budgets: Vec<u64> =
                cells.iter().filter(|c| c["method"] == method).map(|c| c["budget"].as_u64().unwrap()).collect();
            assert_eq!(budgets, [20, 50, 100], "{method}");
        }
        assert!(cells.iter().all(|c| (0.0..=1.0).contains(&c["recall_at_10"].as_f64().unwrap())));
        // A second run reuses the cache (a partial-rows run needs no scorer).
        let mut again = args.clone();
        again.max_anchor_rows = Some(10);
        again.synthetic = true;
        run(&again).unwrap();
    }
}
