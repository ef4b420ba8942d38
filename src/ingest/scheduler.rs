//! What `serve` runs in the background: the daily feeds polled every `rss_poll_minutes` (cheap conditional
//! GETs), once a day an OAI-PMH refresh of the previous days' metadata, and every `[venues] refresh_hours`
//! the followed conference proceedings (each venue run ends by linking venue papers to new arXiv papers).

use std::time::Duration;

use chrono::{Days, NaiveDate, Utc};

use super::{RunSummary, feeds, harvest_set, oai_sets};
use crate::app::App;

/// Starts the schedule, supervised: a panic is logged and the schedule starts again.
pub fn spawn(app: App) -> tokio::task::JoinHandle<()> {
    crate::tasks::supervise("ingest scheduler", move || run(app.clone()))
}

async fn run(app: App) {
    let every = Duration::from_secs(app.config.ingest.rss_poll_minutes.max(1) * 60);
    let mut last_refresh: Option<NaiveDate> = None;
    let venues_every = Duration::from_secs(app.config.venues.refresh_hours.max(1) * 3_600);
    let mut last_venues: Option<std::time::Instant> = None;
    loop {
        let mut summary = RunSummary::new("rss");
        if let Err(e) = feeds::poll(&app, &app.config.categories, &mut summary).await {
            tracing::error!("scheduled feed poll failed: {e}");
        } else {
            tracing::info!("scheduled feed poll: {}", summary.to_string().trim_end());
        }
        let today = Utc::now().date_naive();
        if app.config.ingest.oai_refresh && last_refresh != Some(today) {
            refresh(&app, today).await;
            last_refresh = Some(today);
        }
        if !app.config.venues.follow.is_empty() && last_venues.is_none_or(|t| t.elapsed() >= venues_every) {
            refresh_venues(&app).await;
            last_venues = Some(std::time::Instant::now());
        }
        tokio::time::sleep(every).await;
    }
}

/// Re-harvests the last two days over OAI-PMH: versions, dates and DOIs the feeds do not carry.
async fn refresh(app: &App, today: NaiveDate) {
    let from = today.checked_sub_days(Days::new(2));
    // Set by set, so one failing set does not stop the others (the command stops at the first error).
    for set in oai_sets(&app.config.categories) {
        let mut summary = RunSummary::new("oai");
        match harvest_set(app, set, from, None, &mut summary).await {
            Ok(()) => tracing::info!("nightly OAI-PMH refresh: {}", summary.to_string().trim_end()),
            Err(e) => tracing::error!("nightly OAI-PMH refresh failed: {e}"),
        }
    }
}

/// Refreshes every followed venue, one after the other (one client, one request per host at a time).
async fn refresh_venues(app: &App) {
    for target in &app.config.venues.follow {
        let mut summary = RunSummary::new(target.source().as_str());
        match super::venues::run(app, target, &mut summary).await {
            Ok(()) => tracing::info!("venue refresh {target}: {}", summary.to_string().trim_end()),
            Err(e) => tracing::error!("venue refresh {target} failed: {e}"),
        }
    }
}
