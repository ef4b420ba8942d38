//! `papertide bench ce`: cross-encoder throughput on a JSONL file of `{"query", "document"}` pairs, measured the
//! way `../shared/tools/ce_bench_torch.py` measures PyTorch (same pairs, `--limit`, warm-up batches excluded), and
//! printed as one JSON line.

use crate::rerank::{CrossEncoder, Dtype, EngineOptions};
use anyhow::{Context, bail};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args, Debug, Clone)]
pub struct CeBenchArgs {
    /// Cross-encoder directory (config.json, model.safetensors, tokenizer.json).
    #[arg(long)]
    pub model: PathBuf,
    /// JSONL file of {"query": ..., "document": ...} pairs.
    #[arg(long)]
    pub pairs: PathBuf,
    /// Tokens per pair (the document is truncated to fit).
    #[arg(long, default_value_t = 256)]
    pub max_length: usize,
    /// Pairs per batch.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Worker threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// f32 or bf16.
    #[arg(long, default_value = "f32")]
    pub dtype: Dtype,
    /// Use only the first N pairs (0 = all).
    #[arg(long, default_value_t = 0)]
    pub limit: usize,
    /// Batches scored (and discarded) before timing.
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    /// Write one score per line, in input order.
    #[arg(long)]
    pub scores_out: Option<PathBuf>,
}

/// Reads `{"query", "document"}` JSONL (blank lines skipped).
pub fn read_pairs(path: &std::path::Path, limit: usize) -> anyhow::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if limit > 0 && out.len() >= limit {
            break;
        }
        let v: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("{}:{}: invalid JSON", path.display(), i + 1))?;
        let field = |f: &str| -> anyhow::Result<String> {
            v.get(f)
                .and_then(|x| x.as_str())
                .map(str::to_owned)
                .with_context(|| format!("{}:{}: missing string field `{f}`", path.display(), i + 1))
        };
        out.push((field("query")?, field("document")?));
    }
    Ok(out)
}

/// The CPU's model name (`/proc/cpuinfo`), so every recorded figure says what it was measured on.
pub fn cpu_model() -> Option<String> {
    let s = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let line = s.lines().find(|l| l.starts_with("model name") || l.starts_with("Model"))?;
    Some(line.split_once(':')?.1.trim().to_string())
}

pub fn run(args: &CeBenchArgs) -> anyhow::Result<()> {
    if args.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    let pairs = read_pairs(&args.pairs, args.limit)?;
    if pairs.is_empty() {
        bail!("{}: no pairs", args.pairs.display());
    }
    let opts = EngineOptions {
        max_length: args.max_length,
        threads: args.threads,
        dtype: args.dtype,
        batch_size: args.batch_size,
        isa: None,
    };
    let t_load = Instant::now();
    let ce = CrossEncoder::load(&args.model, opts).with_context(|| format!("loading {}", args.model.display()))?;
    let load_s = t_load.elapsed().as_secs_f64();
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(q, d)| (q.as_str(), d.as_str())).collect();
    // warm-up: the first `warmup` batches in file order, as the PyTorch baseline does
    let nw = (args.warmup * args.batch_size).min(refs.len());
    if nw > 0 {
        ce.score_pairs(&refs[..nw])?;
    }
    let t0 = Instant::now();
    let scores = ce.score_pairs(&refs)?;
    let wall = t0.elapsed().as_secs_f64();
    if let Some(path) = &args.scores_out {
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        );
        for s in &scores {
            writeln!(f, "{s:.6}")?;
        }
        f.flush()?;
    }
    let score_sum: f64 = scores.iter().map(|&s| s as f64).sum();
    let out = serde_json::json!({
        "engine": ce.engine_name(),
        "isa": ce.isa().name(),
        "kernel_path": ce.kernel_path(),
        "cpu": cpu_model(),
        "cpu_flags": crate::rerank::kernels::cpu_features().join(" "),
        "model_id": ce.model_id(),
        "dtype": args.dtype.as_str(),
        "threads": args.threads,
        "pairs": refs.len(),
        "max_length": args.max_length,
        "batch_size": args.batch_size,
        "wall_s": (wall * 1000.0).round() / 1000.0,
        "pairs_per_s": (refs.len() as f64 / wall * 100.0).round() / 100.0,
        "load_s": (load_s * 1000.0).round() / 1000.0,
        "peak_rss_mb": super::peak_rss_mb().map(|m| (m * 10.0).round() / 10.0),
        "score_sum": (score_sum * 10000.0).round() / 10000.0,
    });
    println!("{out}");
    Ok(())
}
