//! How a model wants its pairs: `papertide.json` beside the weights (written by `scripts/train_reranker.py`).
//!
//! A model directory without the file is read the way the first Papertide models were trained: the query
//! paper's title against the candidate's abstract, only the abstract truncated (any Hugging Face
//! cross-encoder trained on (query, passage) pairs, e.g. MS MARCO models, fits that shape too).

use serde::Deserialize;
use std::path::Path;

use super::RerankError;

/// The file name, beside `config.json`.
pub const FORMAT_FILE: &str = "papertide.json";

/// What each side of a pair holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
pub enum PairTexts {
    /// `[CLS] query title [SEP] candidate abstract [SEP]` (a known-item model).
    #[default]
    #[serde(rename = "title-abstract")]
    TitleAbstract,
    /// `[CLS] query "title. abstract" [SEP] candidate "title. abstract" [SEP]` (a relatedness model).
    #[serde(rename = "paper-paper")]
    PaperPaper,
}

impl PairTexts {
    /// The two texts of a pair for a query paper and a candidate paper, each `(title, abstract)`.
    pub fn texts(self, query: (&str, &str), candidate: (&str, &str)) -> (String, String) {
        match self {
            PairTexts::TitleAbstract => (query.0.to_string(), candidate.1.to_string()),
            PairTexts::PaperPaper => (paper_text(query.0, query.1), paper_text(candidate.0, candidate.1)),
        }
    }

    /// The fields each side of a pair reads, as a CUR index records them (`(query, item)`): an index scored
    /// on other texts is rebuilt, not reused.
    pub fn fields(self) -> (&'static str, &'static str) {
        match self {
            PairTexts::TitleAbstract => ("title", "abstract"),
            PairTexts::PaperPaper => ("title. abstract", "title. abstract"),
        }
    }
}

/// Which side is cut when a pair exceeds `max_length` (Hugging Face's names and behaviour).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Truncation {
    /// The second text only; a first text that alone leaves no room is an error.
    #[default]
    OnlySecond,
    /// A token at a time from the longer text, so both keep a share.
    LongestFirst,
}

/// A model's pair format (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PairFormat {
    #[serde(default)]
    pub pair: PairTexts,
    #[serde(default)]
    pub truncation: Truncation,
    /// The length the model was trained at; the default when the configuration names none.
    #[serde(default)]
    pub max_length: Option<usize>,
    /// The model's embedding head, when it has one (`scripts/train_embedding_head.py`).
    #[serde(default)]
    pub embedding: Option<EmbeddingFormat>,
}

/// How a model with an embedding head embeds one paper (`"{title}. {abstract}"`, `[CLS] text [SEP]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingFormat {
    /// The head (`embedding_head.*`, one BERT layer) runs on the output of this many encoder layers.
    pub shared_layers: usize,
    pub pooling: Pooling,
    /// L2-normalised (a dot product is the cosine); only `true` is supported.
    pub normalize: bool,
    /// Tokens of the text kept, `[CLS]` and `[SEP]` included.
    pub max_length: usize,
}

/// How the head's token outputs become one vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// The mean over every token (sentence-transformers' default, what the head was distilled with).
    Mean,
}

impl PairFormat {
    /// Reads `dir/papertide.json`; a directory without one gets the default (title vs abstract).
    pub fn load(dir: &Path) -> Result<PairFormat, RerankError> {
        let path = dir.join(FORMAT_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| RerankError::Config {
                file: path.clone(),
                field: "(papertide.json)".into(),
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(PairFormat::default()),
            Err(e) => Err(RerankError::io(&path, e)),
        }
    }

    /// The two texts of a pair for a query paper and a candidate paper.
    pub fn texts(&self, query: (&str, &str), candidate: (&str, &str)) -> (String, String) {
        self.pair.texts(query, candidate)
    }
}

/// One side of a paper-paper pair: `"{title}. {abstract}"`, as `scripts/train_reranker.py` builds it.
pub fn paper_text(title: &str, abstract_text: &str) -> String {
    format!("{}. {}", title.trim(), abstract_text.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_training_scripts_file_and_defaults_without_one() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(PairFormat::load(dir.path()).unwrap(), PairFormat::default());
        std::fs::write(
            dir.path().join(FORMAT_FILE),
            r#"{"pair": "paper-paper", "truncation": "longest_first", "max_length": 256}"#,
        )
        .unwrap();
        let f = PairFormat::load(dir.path()).unwrap();
        assert_eq!(
            f,
            PairFormat {
                pair: PairTexts::PaperPaper,
                truncation: Truncation::LongestFirst,
                max_length: Some(256),
                embedding: None
            }
        );
        assert_eq!(f.texts(("T", "A"), ("U", "B")), ("T. A".to_string(), "U. B".to_string()));
        assert_eq!(PairFormat::default().texts(("T", "A"), ("U", "B")), ("T".to_string(), "B".to_string()));
        std::fs::write(
            dir.path().join(FORMAT_FILE),
            r#"{"pair": "paper-paper", "embedding": {"shared_layers": 5, "pooling": "mean", "normalize": true,
                "max_length": 256}}"#,
        )
        .unwrap();
        let e = PairFormat::load(dir.path()).unwrap().embedding.unwrap();
        assert_eq!(e, EmbeddingFormat { shared_layers: 5, pooling: Pooling::Mean, normalize: true, max_length: 256 });
        std::fs::write(dir.path().join(FORMAT_FILE), r#"{"pair": "title-title"}"#).unwrap();
        let err = PairFormat::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("papertide.json") && err.contains("title-title"), "{err}");
    }
}

#[cfg(test)]
mod truncation_tests {
    use crate::rerank::longest_first_keep;
    use proptest::prelude::*;

    #[test]
    fn matches_hugging_face_on_cases_read_off_tokenizers_0_23_3() {
        // (n1, n2, target) → kept, as Python `tokenizers` 0.23.3 truncates "longest_first".
        assert_eq!(longest_first_keep(280, 242, 125), (63, 62));
        assert_eq!(longest_first_keep(69, 292, 125), (62, 63));
        assert_eq!(longest_first_keep(100, 100, 125), (62, 63));
        assert_eq!(longest_first_keep(10, 300, 125), (10, 115));
        assert_eq!(longest_first_keep(6, 2, 125), (6, 2));
    }

    proptest! {
        #[test]
        fn keeps_the_budget_and_never_grows(n1 in 0usize..600, n2 in 0usize..600, target in 0usize..520) {
            let (a, b) = longest_first_keep(n1, n2, target);
            prop_assert!(a <= n1 && b <= n2);
            prop_assert_eq!(a + b, (n1 + n2).min(target));
            // the shorter text is never cut below the longer one's share
            if n1 + n2 > target {
                prop_assert!(a.abs_diff(b) <= 1 || a == n1 || b == n2);
            }
        }
    }
}
