//! Ingest runs: each source's fetch → parse → store → index loop, with run summaries, and the scheduler
//! `serve` runs them from.

pub mod feeds;
pub mod import;
pub mod lookup;
pub mod oai;
pub mod scheduler;
mod summary;
pub mod venues;

use std::time::Instant;

use chrono::Utc;

pub use summary::RunSummary;

use crate::app::App;
use crate::domain::{ArxivId, Category, VenueSource};
use crate::venues::VenueTarget;

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
    /// A venue source run with no venue named and none of that source followed.
    #[error("--source {} needs {}, or a followed venue in [venues] follow", .0.as_str(), example_flag(*.0))]
    NoVenue(VenueSource),
}

/// How a venue of `source` is named on the command line, for messages.
fn example_flag(source: VenueSource) -> &'static str {
    match source {
        VenueSource::OpenReview => "--venue ICLR.cc/2025/Conference",
        VenueSource::Acl => "--volume 2024.acl-long",
        VenueSource::Pmlr => "--volume 235",
        VenueSource::Cvf => "--conference CVPR2024",
    }
}

/// Which arXiv interface a run reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The daily RSS/Atom feeds.
    Rss,
    /// OAI-PMH harvesting (metadata refresh, date ranges).
    Oai,
    /// The search API, for named papers.
    Api,
    /// Conference proceedings from one venue source.
    Venue(VenueSource),
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Rss => "rss",
            Source::Oai => "oai",
            Source::Api => "api",
            Source::Venue(v) => v.as_str(),
        }
    }
}

/// What one run is asked to do. The command line builds it from its flags (`cli::IngestArgs`), so ingest does
/// not depend on the command line.
#[derive(Debug, Clone, Default)]
pub struct IngestRequest {
    /// Default: the daily feeds, or the API when `ids` are given.
    pub source: Option<Source>,
    /// Default: the followed categories.
    pub categories: Vec<Category>,
    /// OAI-PMH `from` / `until`.
    pub from: Option<chrono::NaiveDate>,
    pub until: Option<chrono::NaiveDate>,
    /// Papers to look up through the API.
    pub ids: Vec<ArxivId>,
    /// The venue a venue source reads (default: the source's followed venues in `[venues] follow`).
    pub venue: Option<VenueTarget>,
}

impl IngestRequest {
    /// The venues a run of venue source `source` reads: the one named, else the source's followed ones in
    /// `follow`; [`IngestError::NoVenue`] when there are none (the command line checks it before opening the
    /// data directory, so it is a bad argument there).
    pub fn venue_targets(&self, source: VenueSource, follow: &[VenueTarget]) -> Result<Vec<VenueTarget>, IngestError> {
        let targets: Vec<VenueTarget> = match &self.venue {
            Some(t) => vec![t.clone()],
            None => follow.iter().filter(|t| t.source() == source).cloned().collect(),
        };
        if targets.is_empty() { Err(IngestError::NoVenue(source)) } else { Ok(targets) }
    }
}

/// One `papertide ingest` run, as the request asks; returns its summary (also recorded in the store).
pub async fn run_once(app: &App, req: &IngestRequest) -> Result<RunSummary, IngestError> {
    let started = Instant::now();
    let started_at = Utc::now().to_rfc3339();
    let source = req.source.unwrap_or(if req.ids.is_empty() { Source::Rss } else { Source::Api });
    let categories: Vec<Category> =
        if req.categories.is_empty() { app.config.categories.clone() } else { req.categories.clone() };
    let mut summary = RunSummary::new(source.as_str());
    match source {
        Source::Rss => feeds::poll(app, &categories, &mut summary).await?,
        Source::Api => {
            if req.ids.is_empty() {
                return Err(IngestError::Other("--source api needs at least one --id".into()));
            }
            lookup::lookup(app, &req.ids, &mut summary).await?;
        }
        Source::Oai => {
            for set in oai_sets(&categories) {
                harvest_set(app, set, req.from, req.until, &mut summary).await?;
            }
        }
        Source::Venue(v) => {
            let targets = req.venue_targets(v, &app.config.venues.follow)?;
            for t in &targets {
                venues::run(app, t, &mut summary).await?;
            }
        }
    }
    summary.seconds = started.elapsed().as_secs_f64();
    let json = serde_json::to_value(&summary).unwrap_or_default();
    app.store.record_run(&summary.source, &started_at, &json).await?;
    Ok(summary)
}

/// Harvests one OAI-PMH set between `from` and `until` with the configured metadata format (the command's
/// `--source oai` and the scheduler's nightly refresh).
pub async fn harvest_set(
    app: &App,
    set: String,
    from: Option<chrono::NaiveDate>,
    until: Option<chrono::NaiveDate>,
    summary: &mut RunSummary,
) -> Result<(), IngestError> {
    let h = oai::Harvest { set: Some(set), prefix: app.config.ingest.oai_metadata_prefix.clone(), from, until };
    oai::harvest(app, &h, summary).await
}

/// The distinct OAI-PMH sets covering `categories` (`cs` for every cs.* category, say).
pub fn oai_sets(categories: &[Category]) -> Vec<String> {
    let mut sets: Vec<String> = categories.iter().map(crate::arxiv::oai::set_for_category).collect();
    sets.sort();
    sets.dedup();
    sets
}
