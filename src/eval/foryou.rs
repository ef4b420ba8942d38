//! `papertide eval foryou`: does "For you" bring the papers a reader cares about to the top of a day?
//!
//! A simulated reader has starred one query paper of the relatedness judgments (`--judgments`, a split). Their
//! "day" is the query's judged candidates (rated 0, 1 or 2: the 0s are hard negatives that some retriever
//! thought related) mixed with `--others` random papers of the corpus not judged for that query (counted as
//! unrelated). Each order is scored by the rank of the first related paper (MRR; related = rated ≥ 1) and
//! nDCG@10 with linear gains against the ideal order of the query's judgments:
//! - arXiv order (by id, as a listing shows a day);
//! - keywords only: the reader typed the query paper's `--terms` best key terms (the product's own key-term
//!   extractor, `search::similar`) as preference terms;
//! - For you, star only; For you, star + those terms (the product's `related::affinity` with the corpus
//!   TF-IDF index);
//! - with `--ce-top N`, the star-only order with its top N rescored by the loaded cross-encoder (the cost
//!   the product would pay per page).
//!
//! It also times the product's ordering of `--bench-papers` papers against `--bench-stars` starred ones.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::judged::{group, ndcg_at, read_judgments};
use crate::app::App;
use crate::config::Config;
use crate::related::affinity::{self, Prefer, Weights};
use crate::store::PaperText;

#[derive(Debug, clap::Args)]
pub struct EvalForYouArgs {
    /// Corpus in Kaggle arXiv JSONL(.gz) form.
    #[arg(long, default_value = "../shared/data/arxiv-cs-2025-2026.jsonl.gz")]
    pub data: PathBuf,
    /// The queries' judgments (a split: `data/relatedness/dev.jsonl` to tune, `test.jsonl` to report).
    #[arg(long, default_value = "data/relatedness/test.jsonl")]
    pub judgments: PathBuf,
    /// The corpus is every paper this (full) judgment file names.
    #[arg(long, default_value = "../shared/data/relatedness/judgments.jsonl")]
    pub corpus_judgments: PathBuf,
    /// Unjudged papers mixed into each simulated day.
    #[arg(long, default_value_t = 200)]
    pub others: usize,
    /// Key terms the simulated reader types as preference terms.
    #[arg(long, default_value_t = 3)]
    pub terms: usize,
    /// Weight of one matched preference term (default: the product's).
    #[arg(long)]
    pub keyword_weight: Option<f32>,
    /// Rescore the top N of the star-only order with the cross-encoder (0: no such row).
    #[arg(long, default_value_t = 0)]
    pub ce_top: usize,
    /// Cross-encoder for `--ce-top` (default: the bundled model).
    #[arg(long)]
    pub model: Option<String>,
    /// The timing: this many papers ordered against this many stars.
    #[arg(long, default_value_t = 300)]
    pub bench_papers: usize,
    #[arg(long, default_value_t = 100)]
    pub bench_stars: usize,
    #[arg(long, default_value_t = 20261201)]
    pub seed: u64,
    /// Keep (and reuse) the imported corpus here.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// The scores of one order for one query.
#[derive(Debug, Clone, Copy)]
struct Score {
    rr: f64,
    ndcg10: f64,
}

fn score(order: &[&str], judged: &HashMap<String, u8>) -> Option<Score> {
    let all: Vec<u8> = judged.values().copied().collect();
    let ratings: Vec<u8> = order.iter().map(|id| judged.get(*id).copied().unwrap_or(0)).collect();
    let ndcg10 = ndcg_at(&ratings, &all, 10)?;
    let rr = ratings.iter().position(|&r| r >= 1).map_or(0.0, |i| 1.0 / (i as f64 + 1.0));
    Some(Score { rr, ndcg10 })
}

/// Mean and 95% bootstrap interval.
fn mean_ci(xs: &[f64], seed: u64) -> (f64, f64, f64) {
    let n = xs.len().max(1) as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut means: Vec<f64> = (0..1000)
        .map(|_| {
            if xs.is_empty() { 0.0 } else { (0..xs.len()).map(|_| xs[rng.random_range(0..xs.len())]).sum::<f64>() / n }
        })
        .collect();
    means.sort_by(f64::total_cmp);
    (mean, means[24], means[974])
}

pub fn run(args: &EvalForYouArgs) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run_async(args))
}

async fn run_async(args: &EvalForYouArgs) -> anyhow::Result<()> {
    let judgments = read_judgments(&args.judgments)?;
    let judged = group(&judgments);
    let mut wanted: HashSet<String> = judgments.iter().flat_map(|j| [j.query.clone(), j.candidate.clone()]).collect();
    if args.corpus_judgments.is_file() {
        wanted.extend(read_judgments(&args.corpus_judgments)?.into_iter().flat_map(|j| [j.query, j.candidate]));
    }
    let tmp = tempfile::tempdir()?;
    let dir = args.data_dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let mut config = Config { data_dir: dir, ..Config::default() };
    config.related.background = false;
    if args.ce_top == 0 {
        config.related.model = Some("none".into());
    } else if let Some(m) = &args.model {
        config.related.model = Some(m.clone());
    }
    let app = App::open(config).await?;
    if app.store.paper_count().await? == 0 {
        let records = super::read_corpus(&args.data, |r| wanted.contains(r.record.id.to_string().as_str()))?;
        eprintln!("corpus: {} of {} judged papers found in {}", records.len(), wanted.len(), args.data.display());
        super::store_corpus(&app, &records).await?;
    }
    app.index.reload()?;
    let n_corpus = app.related.build_lexicon().await?;
    let engine = if args.ce_top > 0 {
        anyhow::ensure!(app.load_related_engine().await, "cannot load the cross-encoder (see the log above)");
        app.related.engine()
    } else {
        None
    };
    let texts: HashMap<String, PaperText> =
        app.store.all_paper_texts(None, None).await?.into_iter().map(|t| (t.id.clone(), t)).collect();
    let mut corpus_ids: Vec<&String> = texts.keys().collect();
    corpus_ids.sort();
    let w = Weights { keyword: args.keyword_weight.unwrap_or(Weights::default().keyword), ..Weights::default() };
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    let names = [
        "arXiv order",
        "keywords only (3 key terms)",
        "For you: star",
        "For you: star + keywords",
        "For you: star, CE top",
    ];
    let mut per: Vec<Vec<Score>> = vec![Vec::new(); names.len()];
    let mut queries: Vec<&String> = judged.keys().collect();
    queries.sort();
    let lexicon = app.related.lexicon().clone();
    let mut ce_ms = 0.0;
    for q in queries {
        let j = &judged[q];
        let Some(star) = texts.get(q) else { continue };
        if !j.values().any(|&r| r >= 1) {
            continue;
        }
        let mut day: Vec<&str> = j.keys().filter(|id| texts.contains_key(*id)).map(String::as_str).collect();
        let mut others: Vec<&str> =
            corpus_ids.iter().filter(|id| **id != q && !j.contains_key(**id)).map(|id| id.as_str()).collect();
        others.shuffle(&mut rng);
        day.extend(others.into_iter().take(args.others));
        day.sort_unstable();
        let terms = app.index.key_terms(&star.title, &star.abstract_text, args.terms)?;
        let prefer: Vec<Prefer> = terms.iter().filter_map(|t| Prefer::new(&t.term)).collect();
        let day_texts: Vec<(&str, &str)> =
            day.iter().map(|id| (texts[*id].title.as_str(), texts[*id].abstract_text.as_str())).collect();
        let stars = [(star.title.as_str(), star.abstract_text.as_str())];
        let (kw, st, both) = {
            let guard = lexicon.read().map_err(|_| anyhow::anyhow!("lock poisoned"))?;
            let l = guard.as_ref();
            (
                affinity::score_papers(l, &day_texts, &[], &prefer, w),
                affinity::score_papers(l, &day_texts, &stars, &[], w),
                affinity::score_papers(l, &day_texts, &stars, &prefer, w),
            )
        };
        let ordered =
            |affs: &[affinity::Affinity]| -> Vec<&str> { affinity::order(affs).into_iter().map(|i| day[i]).collect() };
        let mut lists: Vec<Option<Vec<&str>>> =
            vec![Some(day.clone()), Some(ordered(&kw)), Some(ordered(&st)), Some(ordered(&both)), None];
        if let Some(e) = &engine {
            let mut top = ordered(&st);
            let n = args.ce_top.min(top.len());
            let t = Instant::now();
            let qt = e.query_text(star);
            let items: Vec<String> = top[..n].iter().map(|id| e.item_text(&texts[*id])).collect();
            let pairs: Vec<(&str, &str)> = items.iter().map(|d| (qt.as_str(), d.as_str())).collect();
            let scores = e.ce.score_pairs(&pairs)?;
            ce_ms += t.elapsed().as_secs_f64() * 1e3;
            let mut head: Vec<(&str, f32)> = top[..n].iter().copied().zip(scores).collect();
            head.sort_by(|a, b| b.1.total_cmp(&a.1));
            for (slot, (id, _)) in top.iter_mut().zip(head) {
                *slot = id;
            }
            lists[4] = Some(top);
        }
        for (k, l) in lists.iter().enumerate() {
            if let Some(l) = l
                && let Some(s) = score(l, j)
            {
                per[k].push(s);
            }
        }
    }
    let nq = per[0].len();
    println!(
        "For you on judged relatedness: {nq} queries of {} (one starred paper each), a day of its judged \
         candidates + {} unjudged papers, corpus {n_corpus}; keyword weight {}\n",
        args.judgments.display(),
        args.others,
        w.keyword
    );
    println!("| order | MRR [95% CI] | nDCG@10 [95% CI] |\n|---|---|---|");
    for (name, s) in names.iter().zip(&per) {
        if s.is_empty() {
            continue;
        }
        let rr: Vec<f64> = s.iter().map(|x| x.rr).collect();
        let nd: Vec<f64> = s.iter().map(|x| x.ndcg10).collect();
        let (m, lo, hi) = mean_ci(&rr, 1);
        let (n, nlo, nhi) = mean_ci(&nd, 2);
        let name = if name.ends_with("CE top") { format!("{name} {}", args.ce_top) } else { name.to_string() };
        println!("| {name} | {m:.3} [{lo:.2}, {hi:.2}] | {n:.3} [{nlo:.2}, {nhi:.2}] |");
    }
    if engine.is_some() && nq > 0 {
        println!("\ncross-encoder rescoring of the top {}: {:.0} ms per day", args.ce_top, ce_ms / nq as f64);
    }
    // The cost: the product's ordering (reads of the texts, then the pure scoring) for a large day.
    let mut ids: Vec<String> = corpus_ids.iter().map(|s| s.to_string()).collect();
    ids.shuffle(&mut rng);
    let day_ids: Vec<String> = ids.iter().take(args.bench_papers).cloned().collect();
    let star_ids: Vec<String> = ids.iter().skip(args.bench_papers).take(args.bench_stars).cloned().collect();
    let prefer: Vec<Prefer> = ["graph", "diffusion model", "retrieval"].iter().filter_map(|t| Prefer::new(t)).collect();
    let mut runs = Vec::new();
    let mut runs_local = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let day = app.store.paper_texts(&day_ids).await?;
        let stars = app.store.paper_texts(&star_ids).await?;
        let dt: Vec<(&str, &str)> = day.iter().map(|p| (p.title.as_str(), p.abstract_text.as_str())).collect();
        let st: Vec<(&str, &str)> = stars.iter().map(|p| (p.title.as_str(), p.abstract_text.as_str())).collect();
        let guard = lexicon.read().map_err(|_| anyhow::anyhow!("lock poisoned"))?;
        let affs = affinity::score_papers(guard.as_ref(), &dt, &st, &prefer, w);
        std::hint::black_box(affinity::order(&affs));
        runs.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        std::hint::black_box(affinity::order(&affinity::score_papers(None, &dt, &st, &prefer, w)));
        runs_local.push(t.elapsed().as_secs_f64() * 1e3);
    }
    runs.sort_by(f64::total_cmp);
    runs_local.sort_by(f64::total_cmp);
    println!(
        "\nordering {} papers by {} stars + 3 terms: median {:.1} ms (store reads + corpus TF-IDF), {:.1} ms \
         scoring with a day-local index (before the corpus index is built); 5 runs",
        day_ids.len(),
        star_ids.len(),
        runs[2],
        runs_local[2]
    );
    app.store.close().await;
    Ok(())
}
