//! The index schema and its analyzers.

use tantivy::Index;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer};

use super::stem::PluralStemmer;

/// Bump when fields or analyzers change: an index of another version is rebuilt from the store.
pub(super) const SCHEMA_VERSION: u32 = 2;

/// English prose: lower-cased, accents folded (so `Schrodinger` finds `Schrödinger`), plurals folded.
const TEXT_ANALYZER: &str = "pt_text";
/// Names: lower-cased and folded, never stemmed.
const NAME_ANALYZER: &str = "pt_name";

#[derive(Clone, Copy, Debug)]
pub(crate) struct Fields {
    pub id: Field,
    pub title: Field,
    pub abstract_text: Field,
    pub author: Field,
    pub category: Field,
    /// Announcement (else submission) day as YYYYMMDD, for range filters and date sort.
    pub day: Field,
}

pub(super) fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |analyzer: &str| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(analyzer)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
    };
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        title: b.add_text_field("title", text(TEXT_ANALYZER) | STORED),
        abstract_text: b.add_text_field("abstract", text(TEXT_ANALYZER)),
        author: b.add_text_field("author", text(NAME_ANALYZER)),
        category: b.add_text_field("category", STRING),
        day: b.add_u64_field("day", INDEXED | FAST | STORED),
    };
    (b.build(), fields)
}

pub(super) fn register_tokenizers(index: &Index) {
    let text = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(PluralStemmer)
        .build();
    let name = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build();
    index.tokenizers().register(TEXT_ANALYZER, text);
    index.tokenizers().register(NAME_ANALYZER, name);
}

/// `2025-03-18` -> 20250318.
pub(crate) fn day_number(date: &str) -> Option<u64> {
    let d = date.get(..10)?;
    let digits: String = d.chars().filter(|c| c.is_ascii_digit()).collect();
    (digits.len() == 8).then(|| digits.parse().ok()).flatten()
}
