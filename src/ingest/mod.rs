//! Ingest runs: each source's fetch → parse → store → index loop, with run summaries, and the scheduler
//! `serve` runs them from.

pub mod bench;
pub mod feeds;
pub mod import;
pub mod lookup;
pub mod oai;
pub mod scheduler;
mod summary;

use std::time::Instant;

use chrono::Utc;

pub use summary::RunSummary;

use crate::app::App;
use crate::cli::{IngestArgs, Source};
use crate::domain::Category;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    App(#[from] crate::app::AppError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Search(#[from] crate::search::SearchError),
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{0}")]
    Other(String),
}

/// One `papertide ingest` run, as the arguments ask; returns its summary (also recorded in the store).
pub async fn run_once(app: &App, args: &IngestArgs) -> Result<RunSummary, IngestError> {
    let started = Instant::now();
    let started_at = Utc::now().to_rfc3339();
    let source = args.source.unwrap_or(if args.ids.is_empty() { Source::Rss } else { Source::Api });
    let categories: Vec<Category> =
        if args.categories.is_empty() { app.config.categories.clone() } else { args.categories.clone() };
    let mut summary = RunSummary::new(match source {
        Source::Rss => "rss",
        Source::Oai => "oai",
        Source::Api => "api",
    });
    match source {
        Source::Rss => feeds::poll(app, &categories, &mut summary).await?,
        Source::Api => {
            if args.ids.is_empty() {
                return Err(IngestError::Other("--source api needs at least one --id".into()));
            }
            lookup::lookup(app, &args.ids, &mut summary).await?;
        }
        Source::Oai => {
            for set in oai_sets(&categories) {
                let h = oai::Harvest {
                    set: Some(set),
                    prefix: app.config.ingest.oai_metadata_prefix.clone(),
                    from: args.from,
                    until: args.until,
                };
                oai::harvest(app, &h, &mut summary).await?;
            }
        }
    }
    summary.seconds = started.elapsed().as_secs_f64();
    let json = serde_json::to_value(&summary).unwrap_or_default();
    app.store.record_run(&summary.source, &started_at, &json).await?;
    Ok(summary)
}

/// The distinct OAI-PMH sets covering `categories` (`cs` for every cs.* category, say).
pub fn oai_sets(categories: &[Category]) -> Vec<String> {
    let mut sets: Vec<String> = categories.iter().map(crate::arxiv::oai::set_for_category).collect();
    sets.sort();
    sets.dedup();
    sets
}
