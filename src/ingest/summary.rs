//! The summary every ingest run ends with: what was fetched, stored, skipped (with reasons) and failed.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::domain::Skipped;
use crate::store::UpsertOutcome;

/// How many skipped records are kept verbatim as examples.
const MAX_EXAMPLES: usize = 10;

#[derive(Debug, Default, Clone, Serialize)]
pub struct RunSummary {
    pub source: String,
    /// Requests made (pages, feeds, lookups); 0 for imports.
    pub requests: u64,
    /// Records received from the source (before skipping).
    pub fetched: u64,
    pub new: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub announcements: u64,
    pub skipped: u64,
    /// Records stored with a field cut to its length cap (`domain::field_caps`): kept, but not whole.
    pub truncated: u64,
    /// Venue papers linked to their arXiv versions in this run.
    pub linked: u64,
    /// Skipped records counted by reason.
    pub skip_reasons: BTreeMap<String, u64>,
    pub skip_examples: Vec<Skipped>,
    /// Failures that ended part of the run (a feed that could not be fetched, say); the rest went on.
    pub errors: Vec<String>,
    /// Feeds answered 304 Not Modified, or empty (no announcement that day).
    pub notes: Vec<String>,
    pub seconds: f64,
}

impl RunSummary {
    pub fn new(source: &str) -> Self {
        RunSummary { source: source.to_string(), ..Default::default() }
    }

    pub fn add_outcome(&mut self, o: &UpsertOutcome) {
        self.new += o.inserted as u64;
        self.updated += o.updated as u64;
        self.unchanged += o.unchanged as u64;
        self.announcements += o.announcements_added as u64;
        self.truncated += o.truncated as u64;
    }

    pub fn skip(&mut self, s: Skipped) {
        self.skipped += 1;
        // Reasons carry details after a colon; count by the general part so the table stays short.
        let key = s.reason.split(':').next().unwrap_or(&s.reason).trim().to_string();
        *self.skip_reasons.entry(key).or_default() += 1;
        if self.skip_examples.len() < MAX_EXAMPLES {
            self.skip_examples.push(s);
        }
    }

    pub fn error(&mut self, e: impl fmt::Display) {
        let msg = e.to_string();
        tracing::warn!("{msg}");
        self.errors.push(msg);
    }
}

impl fmt::Display for RunSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: fetched {}, new {}, updated {}, unchanged {}, announcements {}, skipped {}, errors {} ({:.1} s)",
            self.source,
            self.fetched,
            self.new,
            self.updated,
            self.unchanged,
            self.announcements,
            self.skipped,
            self.errors.len(),
            self.seconds
        )?;
        for (reason, n) in &self.skip_reasons {
            writeln!(f, "  skipped {n}: {reason}")?;
        }
        if self.truncated > 0 {
            writeln!(f, "  truncated {}: a field over its length cap was cut (kept the rest)", self.truncated)?;
        }
        for e in &self.errors {
            writeln!(f, "  error: {e}")?;
        }
        for n in &self.notes {
            writeln!(f, "  note: {n}")?;
        }
        Ok(())
    }
}
