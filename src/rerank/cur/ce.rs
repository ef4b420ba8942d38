//! [`PairScorer`] for the crate's own cross-encoder engine.

use super::{PairScorer, ScorerError};
use crate::rerank::{CrossEncoder, PairTexts};

impl PairScorer for CrossEncoder {
    fn score(&self, pairs: &[(&str, &str)]) -> Result<Vec<f32>, ScorerError> {
        self.score_pairs(pairs).map_err(ScorerError::new)
    }

    fn model_id(&self) -> String {
        CrossEncoder::model_id(self).to_string()
    }

    fn texts(&self) -> PairTexts {
        self.format().pair
    }
}
