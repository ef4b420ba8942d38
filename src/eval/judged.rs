//! `papertide eval related --judgments FILE`: related-paper lists scored against human-style relatedness
//! judgments (`../shared/data/relatedness/`: (query, candidate, rating 0/1/2) lines).
//!
//! The corpus is every paper the full judgment file names (`--corpus-judgments`, 5,539 papers, about the size
//! of the held-back evaluation's 4,955), imported from `--data` into a fresh data directory; the queries are
//! those of `--judgments` (a split: `data/relatedness/dev.jsonl` or `test.jsonl`). Each system ranks the
//! whole corpus for each query; papers not judged for that query are removed ("condensed" lists, Sakai 2007)
//! and the top 5 are scored: nDCG@5 with linear gains (0/1/2) against the ideal order of all of the query's
//! judgments, and P@5, the share of the 5 rated ≥ 1 (a list with fewer than 5 judged papers counts the missing
//! ones as 0). `judged@5` says how much of each uncondensed top 5 was judged at all. "Pool" rows rank just the
//! query's judged candidates by a scorer. Queries with no positive judgment are left out (nDCG undefined).

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::config::Config;
use crate::related::pipeline;
use crate::rerank::{CrossEncoder, EngineOptions};
use crate::store::PaperText;

/// One judged pair.
#[derive(Debug, Clone, Deserialize)]
pub struct Judgment {
    pub query: String,
    pub candidate: String,
    pub rating: u8,
}

/// Reads a judgments file (JSONL; blank lines skipped; a bad line is an error naming it).
pub fn read_judgments(path: &Path) -> anyhow::Result<Vec<Judgment>> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in BufReader::new(f).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let j: Judgment =
            serde_json::from_str(&line).with_context(|| format!("{}:{}: not a judgment", path.display(), i + 1))?;
        anyhow::ensure!(j.rating <= 2, "{}:{}: rating {} is not 0, 1 or 2", path.display(), i + 1, j.rating);
        out.push(j);
    }
    Ok(out)
}

/// The judgments of each query: candidate → rating.
pub type Judged = HashMap<String, HashMap<String, u8>>;

pub fn group(judgments: &[Judgment]) -> Judged {
    let mut g: Judged = HashMap::new();
    for j in judgments {
        g.entry(j.query.clone()).or_default().insert(j.candidate.clone(), j.rating);
    }
    g
}

/// nDCG@k with linear gains: `ranked` are the ratings of a list in order, `all` every rating judged for the
/// query (the ideal list is `all` sorted). `None` when nothing was judged related.
pub fn ndcg_at(ranked: &[u8], all: &[u8], k: usize) -> Option<f64> {
    let dcg =
        |r: &[u8]| -> f64 { r.iter().take(k).enumerate().map(|(i, &g)| g as f64 / (i as f64 + 2.0).log2()).sum() };
    let mut ideal = all.to_vec();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let best = dcg(&ideal);
    (best > 0.0).then(|| dcg(ranked) / best)
}

/// Per-query scores of one system.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct QueryScore {
    pub ndcg5: f64,
    pub p5: f64,
    /// Share of the uncondensed top 5 that was judged.
    pub judged5: f64,
}

/// Scores a ranked list (ids, best first) for `query` against its judgments (condensed: unjudged ids dropped).
pub fn score_list(judged: &HashMap<String, u8>, list: &[String]) -> Option<QueryScore> {
    let all: Vec<u8> = judged.values().copied().collect();
    let kept: Vec<u8> = list.iter().filter_map(|id| judged.get(id).copied()).take(5).collect();
    let ndcg5 = ndcg_at(&kept, &all, 5)?;
    let p5 = kept.iter().filter(|&&r| r >= 1).count() as f64 / 5.0;
    let judged5 = list.iter().take(5).filter(|id| judged.contains_key(*id)).count() as f64 / 5.0;
    Some(QueryScore { ndcg5, p5, judged5 })
}

/// A system's row: means over queries and a 95% bootstrap interval of the mean nDCG@5.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub system: String,
    pub ndcg5: f64,
    pub ndcg5_ci: (f64, f64),
    pub p5: f64,
    pub judged5: f64,
    pub queries: usize,
    pub ce_pairs_per_query: f64,
    pub ms_per_query: f64,
}

/// Mean and bootstrap interval (1,000 resamples of the queries, fixed seed) of per-query scores.
pub fn summarize(system: &str, scores: &[QueryScore]) -> Row {
    let n = scores.len().max(1) as f64;
    let mean = |f: &dyn Fn(&QueryScore) -> f64| scores.iter().map(f).sum::<f64>() / n;
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261201);
    let mut means: Vec<f64> = (0..1000)
        .map(|_| {
            if scores.is_empty() {
                return 0.0;
            }
            (0..scores.len()).map(|_| scores[rng.random_range(0..scores.len())].ndcg5).sum::<f64>() / n
        })
        .collect();
    means.sort_by(f64::total_cmp);
    Row {
        system: system.to_string(),
        ndcg5: mean(&|s| s.ndcg5),
        ndcg5_ci: (means[24], means[974]),
        p5: mean(&|s| s.p5),
        judged5: mean(&|s| s.judged5),
        queries: scores.len(),
        ce_pairs_per_query: 0.0,
        ms_per_query: 0.0,
    }
}

#[derive(Debug, Serialize)]
struct Report {
    judgments: String,
    corpus: usize,
    queries: usize,
    engine: String,
    rows: Vec<Row>,
}

/// What `eval related --judgments` takes beyond the shared arguments (see `EvalRelatedArgs`).
pub struct JudgedArgs<'a> {
    pub judgments: &'a Path,
    pub corpus_judgments: &'a Path,
    /// The corpus as a list of ids (plus the queries) instead of `corpus_judgments`' papers; judgments of
    /// papers outside it are set aside, so the ideal lists hold only papers a system could have found.
    pub corpus_ids: Option<&'a Path>,
    pub data: &'a Path,
    pub model: Option<String>,
    pub baseline_model: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub out_json: Option<PathBuf>,
    /// Writes every system's uncondensed top 10 per query here (JSONL `{query, system, top}`), for judging
    /// the papers no judgment covers (`scripts/judge_packets.py`).
    pub lists_out: Option<PathBuf>,
    /// Writes each query's product candidates with their cross-encoder score (both pair orders), lexical ranks
    /// and TF-IDF cosine here (JSONL `{query, candidates: [{id, ce, ce_rev, tfidf_cos, tfidf_rank, bm25_rank}]}`,
    /// model-less order), so orderings built from them (fusion weights) can be studied offline without rescoring.
    pub scores_out: Option<PathBuf>,
    /// Build (or reuse) a CUR index with this many anchor queries and add the pipeline-with-CUR rows (0: none).
    pub anchor_queries: usize,
    pub seed: u64,
    /// Candidate counts (default: the product's).
    pub tfidf_candidates: Option<usize>,
    pub bm25_candidates: Option<usize>,
    pub dense_candidates: Option<usize>,
    pub dense_weight: Option<f32>,
    /// The CUR pipeline's hubness correction λ (default: the product's, `[related] cur_hub_weight`).
    pub cur_hub_weight: Option<f32>,
    /// The engine's dtype (`--dtype`): bf16 runs the linear layers in bf16 where the CPU has it natively.
    pub dtype: crate::rerank::Dtype,
}

pub async fn run(args: JudgedArgs<'_>) -> anyhow::Result<()> {
    let judgments = read_judgments(args.judgments)?;
    let (judged, wanted) = match args.corpus_ids {
        Some(path) => restrict_to_corpus(&judgments, read_ids(path)?),
        None => {
            let mut wanted: HashSet<String> =
                judgments.iter().flat_map(|j| [j.query.clone(), j.candidate.clone()]).collect();
            if args.corpus_judgments.is_file() {
                wanted.extend(read_judgments(args.corpus_judgments)?.into_iter().flat_map(|j| [j.query, j.candidate]));
            }
            (group(&judgments), wanted)
        }
    };
    let tmp = tempfile::tempdir()?;
    let dir = args.data_dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let mut config = Config { data_dir: dir, ..Config::default() };
    config.related.model = args.model.clone();
    config.related.background = false;
    config.related.dtype = args.dtype;
    if let Some(n) = args.tfidf_candidates {
        config.related.tfidf_candidates = Some(n);
    }
    if let Some(n) = args.bm25_candidates {
        config.related.bm25_candidates = n;
    }
    if let Some(n) = args.dense_candidates {
        config.related.dense_candidates = n;
    }
    if let Some(w) = args.dense_weight {
        anyhow::ensure!(w.is_finite() && w >= 0.0, "--dense-weight must be a number ≥ 0, got {w}");
        config.related.dense_weight = w;
    }
    if let Some(w) = args.cur_hub_weight {
        config.related.cur_hub_weight = w;
    }
    let app = App::open(config).await?;
    if app.store.paper_count().await? == 0 {
        import(&app, args.data, &wanted).await?;
    }
    app.index.reload()?;
    let n_corpus = app.related.build_lexicon().await?;
    anyhow::ensure!(app.load_related_engine().await, "cannot load the cross-encoder (see the log above)");
    let engine = app.related.engine().context("no engine")?;
    let cfg = app.related.config().clone();
    let baseline = match &args.baseline_model {
        Some(dir) => Some(CrossEncoder::load(
            Path::new(dir),
            EngineOptions { max_length: 128, threads: cfg.threads, ..EngineOptions::default() },
        )?),
        None => None,
    };
    let cur_pairs = if args.anchor_queries > 0 {
        super::ensure_cur_index(&app, args.anchor_queries, args.seed, 0).await?
    } else {
        0
    };
    let has_cur = engine.cur.read().ok().is_some_and(|c| c.is_some());
    // The corpus's embeddings (when the model has an embedding head), as `serve` prepares them at start-up.
    let t_embed = Instant::now();
    let embedded = app.related.prepare_embeddings().await?;
    if embedded > 0 {
        eprintln!("embedded {embedded} papers in {:.0} s", t_embed.elapsed().as_secs_f64());
    }
    let all_texts: HashMap<String, PaperText> =
        app.store.all_paper_texts(None, None).await?.into_iter().map(|t| (t.id.clone(), t)).collect();
    let mut queries: Vec<&String> = judged.keys().collect();
    queries.sort();
    let names = [
        "BM25 key terms (the former model-less list)",
        "TF-IDF cosine, whole text (uni+bigrams)",
        "model-less list: TF-IDF order, then BM25",
        "cross-encoder order alone, over those candidates",
        "cross-encoder ⊕ lexical rank fusion (RRF)",
        "pool: cross-encoder ranks the judged candidates",
        "pool: TF-IDF cosine ranks the judged candidates",
        "former product: shared CE (title→abstract) over BM25 40, ⊕ BM25",
        "pipeline with CUR (kriging, 30 more candidates), configured order",
        "cross-encoder ⊕ TF-IDF cosine score fusion (z-scores)",
        "product pipeline as configured, without CUR (dense candidates and cosine when the model has them)",
    ];
    let mut per: Vec<Vec<QueryScore>> = vec![Vec::new(); names.len()];
    let (mut ce_pairs, mut ce_ms, mut cur_ce_pairs, mut cur_ms) = (0usize, 0f64, 0usize, 0f64);
    let (mut product_pairs, mut product_ms) = (0usize, 0f64);
    let t_all = Instant::now();
    let mut ran = 0usize;
    let create = |p: &Option<PathBuf>| -> anyhow::Result<Option<std::io::BufWriter<std::fs::File>>> {
        let Some(p) = p else { return Ok(None) };
        Ok(Some(std::io::BufWriter::new(std::fs::File::create(p).with_context(|| format!("{}", p.display()))?)))
    };
    let (mut lists_out, mut scores_out) = (create(&args.lists_out)?, create(&args.scores_out)?);
    for (qi, q) in queries.iter().enumerate() {
        let j = &judged[*q];
        let Some(paper) = app.store.paper_texts(&[(*q).clone()]).await?.pop() else {
            eprintln!("query {q} is not in the corpus: skipped");
            continue;
        };
        ran += 1;
        let cands = app.related.candidates(&paper).await?;
        let terms = app.index.key_terms(&paper.title, &paper.abstract_text, cfg.key_terms)?;
        let bm25: Vec<String> =
            app.index.more_like(&terms, &[paper.id.as_str()], 50)?.into_iter().map(|h| h.id).collect();
        let qtext = crate::rerank::paper_text(&paper.title, &paper.abstract_text);
        let pool_texts = app.store.paper_texts(&j.keys().cloned().collect::<Vec<_>>()).await?;
        let (tfidf, pool_tfidf, cand_cos): (Vec<String>, Vec<(String, f32)>, Vec<f32>) = {
            let guard = app.related.lexicon().read().map_err(|_| anyhow::anyhow!("lock poisoned"))?;
            let l = guard.as_ref().context("TF-IDF index not built")?;
            let qv = l.vector(&qtext);
            let top = l.similar_to(&qv, &[paper.id.as_str()], 50).into_iter().map(|(id, _)| id.to_string()).collect();
            let cos = |t: &PaperText| {
                crate::related::affinity::cosine(&qv, &l.vector(&crate::rerank::paper_text(&t.title, &t.abstract_text)))
            };
            let pool = pool_texts.iter().map(|t| (t.id.clone(), cos(t))).collect();
            // The candidates' cosines: score fusion's second signal (and --scores-out's).
            let cand_cos = cands.iter().map(|c| cos(&c.paper)).collect();
            (top, pool, cand_cos)
        };
        let lexical: Vec<String> = cands.iter().map(|c| c.paper.id.clone()).collect();
        // The exact stage over the candidates, timed as a reader's first view would run it.
        let t = Instant::now();
        let qt = engine.query_text(&paper);
        let item_texts: Vec<String> = cands.iter().map(|c| engine.item_text(&c.paper)).collect();
        let pairs: Vec<(&str, &str)> = item_texts.iter().map(|d| (qt.as_str(), d.as_str())).collect();
        let scores = engine.ce.score_pairs(&pairs)?;
        ce_ms += t.elapsed().as_secs_f64() * 1e3;
        ce_pairs += pairs.len();
        let ce: Vec<(String, f32)> = lexical.iter().cloned().zip(scores).collect();
        if let Some(out) = scores_out.as_mut() {
            // The pairs in the other order too (candidate first), to study symmetric scoring.
            let rev: Vec<(&str, &str)> = item_texts.iter().map(|d| (d.as_str(), qt.as_str())).collect();
            let rev = engine.ce.score_pairs(&rev)?;
            let rows: Vec<_> = cands
                .iter()
                .zip(&ce)
                .zip(cand_cos.iter().zip(&rev))
                .map(|((c, (id, s)), (cos, r))| {
                    serde_json::json!({"id": id, "ce": s, "ce_rev": r, "tfidf_cos": cos,
                        "tfidf_rank": c.tfidf, "bm25_rank": c.bm25})
                })
                .collect();
            writeln!(out, "{}", serde_json::json!({"query": q, "candidates": rows}))?;
        }
        // Pool: the judged candidates, scored by the cross-encoder (reusing the scores already computed).
        let known: HashMap<&str, f32> = ce.iter().map(|(id, s)| (id.as_str(), *s)).collect();
        let missing: Vec<&PaperText> = pool_texts.iter().filter(|t| !known.contains_key(t.id.as_str())).collect();
        let mtexts: Vec<String> = missing.iter().map(|t| engine.item_text(t)).collect();
        let mpairs: Vec<(&str, &str)> = mtexts.iter().map(|d| (qt.as_str(), d.as_str())).collect();
        let mscores = engine.ce.score_pairs(&mpairs)?;
        let mut pool_ce: Vec<(String, f32)> =
            pool_texts.iter().filter_map(|t| known.get(t.id.as_str()).map(|s| (t.id.clone(), *s))).collect();
        pool_ce.extend(missing.iter().map(|t| t.id.clone()).zip(mscores));
        let mut lists: Vec<Option<Vec<String>>> = vec![
            Some(bm25.clone()),
            Some(tfidf),
            Some(lexical.clone()),
            Some(pipeline::rank_by_score(&ce)),
            Some(pipeline::fuse_ranks(&ce, &lexical)),
            Some(pipeline::rank_by_score(&pool_ce)),
            Some(pipeline::rank_by_score(&pool_tfidf)),
            None,
            None,
            Some(crate::related::fusion::fuse_scores(&ce, &cand_cos, cfg.lexical_weight)),
            None,
        ];
        if has_cur {
            let t = Instant::now();
            // Every scored paper (the lists file keeps the top 10; --scores-out wants them all).
            let all = crate::related::RelatedConfig { top_k: usize::MAX, ..cfg.clone() };
            let lookup = |id: &str| all_texts.get(id).cloned();
            let res =
                pipeline::rerank(&engine, &all, &paper, &cands, app.related.lexicon(), app.related.dense(), &lookup)?;
            cur_ms += t.elapsed().as_secs_f64() * 1e3;
            cur_ce_pairs += res.ce_pairs;
            if let Some(out) = scores_out.as_mut() {
                // What the CUR pipeline scored, with each paper's anchor mean (its hubness), to study a
                // hubness-corrected final order offline.
                let guard = engine.cur.read().map_err(|_| anyhow::anyhow!("lock poisoned"))?;
                let mean = pipeline::hub_means(Some(guard.as_ref().context("no CUR index")?));
                let rows: Vec<_> = res
                    .items
                    .iter()
                    .map(|r| serde_json::json!({"id": r.id, "ce": r.score, "source": r.source, "anchor_mean": mean(&r.id)}))
                    .collect();
                writeln!(out, "{}", serde_json::json!({"query": q, "cur": rows}))?;
            }
            lists[8] = Some(res.items.into_iter().map(|r| r.id).collect());
        }
        {
            // The product's exact stage as a list job runs it (its embeddings are all stored by now).
            let t = Instant::now();
            let nocur = crate::related::RelatedConfig { cur_candidates: 0, ..cfg.clone() };
            let lookup = |id: &str| all_texts.get(id).cloned();
            let res =
                pipeline::rerank(&engine, &nocur, &paper, &cands, app.related.lexicon(), app.related.dense(), &lookup)?;
            product_ms += t.elapsed().as_secs_f64() * 1e3;
            product_pairs += res.ce_pairs;
            lists[10] = Some(res.items.into_iter().map(|r| r.id).collect());
        }
        if let Some(b) = &baseline {
            let top: Vec<String> = bm25.iter().take(40).cloned().collect();
            let texts = app.store.paper_texts(&top).await?;
            let pairs: Vec<(&str, &str)> =
                texts.iter().map(|t| (paper.title.as_str(), t.abstract_text.as_str())).collect();
            let s = b.score_pairs(&pairs)?;
            let scored: Vec<(String, f32)> = texts.iter().map(|t| t.id.clone()).zip(s).collect();
            lists[7] = Some(pipeline::fuse_ranks(&scored, &top));
        }
        for (k, l) in lists.iter().enumerate() {
            if let (Some(l), Some(out)) = (l, lists_out.as_mut()) {
                let top: Vec<&String> = l.iter().take(10).collect();
                writeln!(out, "{}", serde_json::json!({"query": q, "system": names[k], "top": top}))?;
            }
            if let Some(l) = l
                && let Some(s) = score_list(j, l)
            {
                per[k].push(s);
            }
        }
        if (qi + 1) % 10 == 0 {
            eprintln!("queries: {}/{} ({:.0} s)", qi + 1, queries.len(), t_all.elapsed().as_secs_f64());
        }
    }
    for out in [lists_out, scores_out].into_iter().flatten() {
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    }
    // Costs are per query run (a fixed-corpus run may hold queries not yet scorable).
    let nq = ran.max(1) as f64;
    let mut rows: Vec<Row> =
        names.iter().zip(&per).filter(|(_, s)| !s.is_empty()).map(|(n, s)| summarize(n, s)).collect();
    for r in rows.iter_mut() {
        if r.system.starts_with("cross-encoder") {
            r.ce_pairs_per_query = ce_pairs as f64 / nq;
            r.ms_per_query = ce_ms / nq;
        } else if r.system.starts_with("pipeline with CUR") {
            r.ce_pairs_per_query = cur_ce_pairs as f64 / nq;
            r.ms_per_query = cur_ms / nq;
        } else if r.system.starts_with("product pipeline") {
            r.ce_pairs_per_query = product_pairs as f64 / nq;
            r.ms_per_query = product_ms / nq;
        }
    }
    if cur_pairs > 0 {
        println!("CUR index built for this run: {cur_pairs} cross-encoder pairs");
    }
    let report = Report {
        judgments: args.judgments.display().to_string(),
        corpus: n_corpus,
        queries: per[0].len(),
        engine: format!("{} · {}", engine.ce.model_id(), engine.ce.engine_name()),
        rows,
    };
    println!(
        "Judged relatedness: {} queries of {} over {} papers; {}, max_length {}\n",
        report.queries,
        report.judgments,
        report.corpus,
        report.engine,
        engine.ce.options().max_length
    );
    println!(
        "| system | nDCG@5 [95% CI] | P@5 | judged@5 | CE pairs / query | CE ms / query |\n|---|---|---|---|---|---|"
    );
    for r in &report.rows {
        println!(
            "| {} | {:.3} [{:.2}, {:.2}] | {:.3} | {:.2} | {:.0} | {:.0} |",
            r.system, r.ndcg5, r.ndcg5_ci.0, r.ndcg5_ci.1, r.p5, r.judged5, r.ce_pairs_per_query, r.ms_per_query
        );
    }
    if let Some(p) = &args.out_json {
        std::fs::write(p, serde_json::to_vec_pretty(&report)?)?;
    }
    app.store.close().await;
    Ok(())
}

/// Reads a corpus list: one arXiv id per line (blank lines and `#` comments skipped).
fn read_ids(path: &Path) -> anyhow::Result<HashSet<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_owned).collect())
}

/// The judgments and corpus of a fixed-corpus run: the corpus is `ids` plus every query; each query keeps
/// only its judgments of papers in the corpus (it stays a query even with none left: its lists are still
/// written for judging, and it is scored once it has a positive).
fn restrict_to_corpus(judgments: &[Judgment], mut ids: HashSet<String>) -> (Judged, HashSet<String>) {
    let mut judged: Judged = HashMap::new();
    for j in judgments {
        judged.entry(j.query.clone()).or_default();
    }
    ids.extend(judged.keys().cloned());
    for j in judgments.iter().filter(|j| ids.contains(&j.candidate)) {
        judged.entry(j.query.clone()).or_default().insert(j.candidate.clone(), j.rating);
    }
    (judged, ids)
}

/// Imports the papers of `wanted` from a Kaggle JSONL(.gz) file.
async fn import(app: &App, data: &Path, wanted: &HashSet<String>) -> anyhow::Result<()> {
    let records = super::read_corpus(data, |r| wanted.contains(r.record.id.to_string().as_str()))?;
    eprintln!("corpus: {} of {} papers found in {}", records.len(), wanted.len(), data.display());
    super::store_corpus(app, &records).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(pairs: &[(&str, u8)]) -> HashMap<String, u8> {
        pairs.iter().map(|(c, r)| (c.to_string(), *r)).collect()
    }

    fn list(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ndcg_is_exact_on_a_hand_made_judged_set() {
        // Judged: a=2, b=1, c=0, d=1. Ideal order 2,1,1,0: IDCG = 2 + 1/log2(3) + 1/log2(4) = 3.1309298.
        let j = judged(&[("a", 2), ("b", 1), ("c", 0), ("d", 1)]);
        let idcg = 2.0 + 1.0 / 3f64.log2() + 0.5;
        // x and y are unjudged and dropped (condensed): the list is c, a, b, d.
        let s = score_list(&j, &list(&["x", "c", "a", "y", "b", "d"])).unwrap();
        let dcg = 0.0 + 2.0 / 3f64.log2() + 1.0 / 2.0 + 1.0 / 5f64.log2();
        assert!((s.ndcg5 - dcg / idcg).abs() < 1e-12, "{} vs {}", s.ndcg5, dcg / idcg);
        assert!((s.p5 - 3.0 / 5.0).abs() < 1e-12, "three of the (at most) five rated >= 1");
        assert!((s.judged5 - 3.0 / 5.0).abs() < 1e-12, "x and y were not judged");
        // The ideal list scores 1; nothing related judged: undefined.
        assert!((score_list(&j, &list(&["a", "b", "d", "c"])).unwrap().ndcg5 - 1.0).abs() < 1e-12);
        assert!(score_list(&judged(&[("a", 0)]), &list(&["a"])).is_none());
        assert_eq!(ndcg_at(&[], &[1], 5), Some(0.0));
    }

    #[test]
    fn summary_means_and_interval() {
        let s = [QueryScore { ndcg5: 1.0, p5: 1.0, judged5: 1.0 }, QueryScore { ndcg5: 0.0, p5: 0.2, judged5: 0.4 }];
        let r = summarize("x", &s);
        assert!((r.ndcg5 - 0.5).abs() < 1e-12 && (r.p5 - 0.6).abs() < 1e-12 && (r.judged5 - 0.7).abs() < 1e-12);
        assert!(r.ndcg5_ci.0 <= r.ndcg5 && r.ndcg5 <= r.ndcg5_ci.1 && r.ndcg5_ci.0 >= 0.0 && r.ndcg5_ci.1 <= 1.0);
        assert_eq!(r.queries, 2);
    }

    #[test]
    fn a_fixed_corpus_keeps_every_query_and_only_the_judgments_it_can_score() {
        let j = |q: &str, c: &str, rating| Judgment { query: q.into(), candidate: c.into(), rating };
        let judgments = [j("q1", "a", 2), j("q1", "z", 2), j("q2", "z", 1)];
        let ids: HashSet<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
        let (kept, corpus) = restrict_to_corpus(&judgments, ids);
        // z is outside the corpus: it would raise q1's ideal with a paper no system could list.
        assert_eq!(kept["q1"], judged(&[("a", 2)]));
        assert!(kept["q2"].is_empty(), "q2 stays a query (its lists are written for judging)");
        let mut c: Vec<&str> = corpus.iter().map(String::as_str).collect();
        c.sort();
        assert_eq!(c, ["a", "b", "q1", "q2"]);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ids.txt");
        std::fs::write(&p, "# a comment\n2501.00001\n\n 2501.00002 \n").unwrap();
        assert_eq!(read_ids(&p).unwrap().len(), 2);
    }

    #[test]
    fn judgment_files_are_validated() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.jsonl");
        std::fs::write(&p, "{\"query\": \"q\", \"candidate\": \"c\", \"rating\": 2}\n\n").unwrap();
        assert_eq!(group(&read_judgments(&p).unwrap())["q"]["c"], 2);
        std::fs::write(&p, "{\"query\": \"q\", \"candidate\": \"c\", \"rating\": 3}\n").unwrap();
        assert!(read_judgments(&p).unwrap_err().to_string().contains(":1: rating 3"));
        std::fs::write(&p, "not json\n").unwrap();
        assert!(read_judgments(&p).unwrap_err().to_string().contains("j.jsonl:1"));
    }
}
