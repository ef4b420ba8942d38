//! Conference proceedings sources: one parser per source format (OpenReview API v2 notes, ACL Anthology
//! volume XML, PMLR BibTeX, CVF open-access listings), each pure (bytes in, records out), fetched by
//! `ingest::venues` through the one HTTP client (`net::http`). A record that does not fit is skipped with a reason, never fatal.

pub mod acl;
pub mod cvf;
pub mod link;
pub mod openreview;
pub mod pmlr;
pub mod target;

pub use target::{TargetError, VenueTarget, VenuesConfig};

use crate::domain::{Skipped, VenueRecord};

/// What one parsed page or file held.
#[derive(Debug, Default, Clone)]
pub struct Parsed {
    pub records: Vec<VenueRecord>,
    /// Records that could not be used, each with its reason (`"no title"`, `"invalid key: …"`).
    pub skipped: Vec<Skipped>,
    /// The whole listing's size where the source says (OpenReview's `count`), for paging.
    pub total: Option<u64>,
    /// The document broke off or turned unreadable before its end (a cut-off download, bad markup): what came
    /// before is in `records`, and a skipped entry says where it stopped. Set by the parser that saw it.
    pub partial: bool,
}

impl Parsed {
    /// Whether the document was read to its end. A file read only in part must be fetched whole again next
    /// time, so its cache validators are not kept.
    pub fn whole(&self) -> bool {
        !self.partial
    }
}

/// A document that is not the format asked for at all (not a single record can be read from it).
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not {expected}: {detail}")]
    Format { expected: &'static str, detail: String },
}
