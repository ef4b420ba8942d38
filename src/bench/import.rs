//! `papertide bench import`: the whole import pipeline (parse + store + index + commit) from a cold data
//! directory, reporting papers/s and peak resident memory as one JSON line.

use std::path::Path;
use std::time::Instant;

use crate::app::App;
use crate::config::Config;
use crate::ingest::import::{ImportSource, import};

pub async fn import_bench(files: &[std::path::PathBuf], keep: Option<&Path>) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let dir = keep.unwrap_or(tmp.path()).to_path_buf();
    if dir.join("papertide.sqlite").exists() {
        anyhow::bail!("{} already holds a database: the benchmark needs a cold data directory", dir.display());
    }
    let config = Config { data_dir: dir.clone(), ..Config::default() };
    let sources = files.iter().map(|f| ImportSource::open(f)).collect::<Result<Vec<_>, _>>()?;
    let started = Instant::now();
    let app = App::open(config).await?;
    let summary = import(&app, sources, false).await?;
    let wall = started.elapsed().as_secs_f64();
    let papers = summary.new + summary.updated + summary.unchanged;
    let line = serde_json::json!({
        "bench": "import",
        "files": files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
        "papers": papers,
        "skipped": summary.skipped,
        "announcements": summary.announcements,
        "indexed_docs": app.index.num_docs(),
        "wall_s": (wall * 1000.0).round() / 1000.0,
        "papers_per_s": (papers as f64 / wall).round(),
        "peak_rss_mb": super::peak_rss_mb().map(|m| m.round()),
        "threads": std::thread::available_parallelism().map_or(1, |n| n.get()),
    });
    println!("{line}");
    Ok(())
}
