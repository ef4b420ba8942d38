//! Domain values, validated at the edge: ids, categories, paper records, TeX decoding.

mod category;
mod id;
mod paper;
pub mod taxonomy;
pub mod tex;

pub use category::{Category, CategoryError};
pub use id::{ArxivId, IdError, VALID_ID_HELP};
pub use paper::{AnnounceKind, Announcement, PaperRecord, Skipped, cap_text, capped, field_caps};
