//! Domain values, validated at the edge: ids, categories, paper records, TeX decoding.

mod category;
mod filter;
mod id;
mod paper;
pub mod taxonomy;
pub mod tex;
mod venue;

pub use category::{Category, CategoryError, CategoryListError};
pub use filter::{CategoryFilter, FilterError};
pub use id::{ArxivId, IdError, VALID_ID_HELP};
pub use paper::{AnnounceKind, Announcement, PaperRecord, Skipped, cap_text, capped, field_caps};
pub use venue::{Conference, ConferenceError, Edition, KeyError, PaperKey, VALID_KEY_HELP, VenueRecord, VenueSource};
