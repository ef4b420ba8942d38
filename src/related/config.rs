//! `[related]` configuration.

use serde::Deserialize;

use crate::config::ConfigError;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelatedConfig {
    /// The cross-encoder: a local model directory or a Hugging Face hub id (`owner/name[@revision]`);
    /// `PAPERTIDE_RERANKER_MODEL` overrides it. Unset or unloadable: related lists are BM25 only, with a note.
    pub model: Option<String>,
    /// Where hub models are downloaded from (`{hub_url}/{id}/resolve/{rev}/{file}`).
    pub hub_url: String,
    /// Tokens per (query title, candidate abstract) pair.
    pub max_length: usize,
    /// `f32` or `bf16`.
    pub dtype: String,
    /// Threads one cross-encoder call uses.
    pub threads: usize,
    /// Papers in a list.
    pub top_k: usize,
    /// Key terms in the lexical query.
    pub key_terms: usize,
    /// Lexical (BM25) candidates scored exactly.
    pub bm25_candidates: usize,
    /// CUR candidates scored exactly (beyond the BM25 ones), when a CUR index exists.
    pub cur_candidates: usize,
    /// Adaptive rounds the CUR candidates are found in.
    pub cur_rounds: usize,
    /// Lists computed at once (each uses `threads` threads): the concurrency cap of cross-encoder work.
    pub workers: usize,
    /// Computations one client may trigger by viewing papers, per minute (the rest see the BM25 list).
    pub on_view_per_minute: u32,
    /// Whether `serve` computes lists in the background (new papers, stale lists, first views).
    pub background: bool,
    /// Final order: `rrf` fuses the cross-encoder's ranking with the BM25 ranking (reciprocal-rank fusion,
    /// measured better than either alone by `eval related`), `ce` orders by the cross-encoder score alone.
    pub fusion: Fusion,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fusion {
    Rrf,
    Ce,
}

impl Default for RelatedConfig {
    fn default() -> Self {
        RelatedConfig {
            model: None,
            hub_url: "https://huggingface.co".into(),
            max_length: 128,
            dtype: "f32".into(),
            threads: 2,
            top_k: 10,
            key_terms: 20,
            bm25_candidates: 40,
            cur_candidates: 30,
            cur_rounds: 3,
            workers: 1,
            on_view_per_minute: 30,
            background: true,
            fusion: Fusion::Rrf,
        }
    }
}

impl RelatedConfig {
    pub fn apply_env(&mut self, var: &impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = var("PAPERTIDE_RERANKER_MODEL") {
            self.model = Some(v.trim().to_string()).filter(|v| !v.is_empty());
        }
        if let Some(v) = var("PAPERTIDE_RERANKER_DTYPE") {
            if v.parse::<crate::rerank::Dtype>().is_err() {
                return Err(ConfigError::Env {
                    name: "PAPERTIDE_RERANKER_DTYPE",
                    value: v,
                    reason: "must be f32 or bf16".into(),
                });
            }
            self.dtype = v;
        }
        Ok(())
    }
}
