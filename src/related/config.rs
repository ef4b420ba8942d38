//! `[related]` configuration.

use serde::Deserialize;

use crate::env::EnvError;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelatedConfig {
    /// The cross-encoder: a local model directory or a Hugging Face hub id (`owner/name[@revision]`), or
    /// `none`; `PAPERTIDE_RERANKER_MODEL` overrides it. Unset: the bundled relatedness model
    /// ([`BUNDLED_MODEL`]). `none` or unloadable: lists are the model-less lexical lists, with a note.
    pub model: Option<String>,
    /// Where hub models are downloaded from (`{hub_url}/{id}/resolve/{rev}/{file}`).
    pub hub_url: String,
    /// Tokens per pair; unset: the length the model was trained at (`papertide.json`), else 128.
    pub max_length: Option<usize>,
    /// `f32` or `bf16` (anything else is refused when the configuration is read).
    pub dtype: crate::rerank::Dtype,
    /// Threads one cross-encoder call uses.
    pub threads: usize,
    /// Papers in a list.
    pub top_k: usize,
    /// Key terms in the lexical query.
    pub key_terms: usize,
    /// Key-term BM25 candidates scored exactly.
    pub bm25_candidates: usize,
    /// Whole-text TF-IDF cosine candidates scored exactly (beyond the BM25 ones); unset: 10 with a model that
    /// has an embedding head (its dense candidates take the place of the rest), else 20
    /// ([`RelatedConfig::tfidf_candidates_for`]).
    pub tfidf_candidates: Option<usize>,
    /// CUR candidates scored exactly (beyond the BM25 ones), when a CUR index exists.
    pub cur_candidates: usize,
    /// Hubness correction with a CUR index (`λ`, 0 = off): papers are picked by the CUR search and ordered
    /// by `CE − λ·μ`, `μ` being the paper's mean CE score over the index's anchor queries, so a paper the
    /// model scores high whatever the query must stand out for this one (a paper the index does not hold is
    /// corrected by the index's average `μ`). 1 measured best of 0 / 0.5 / 1 /
    /// 1.5 / 2 on the dev judgments with an index; without one it does nothing (README § Related papers).
    #[serde(deserialize_with = "non_negative")]
    pub cur_hub_weight: f32,
    /// Adaptive rounds the CUR candidates are found in.
    pub cur_rounds: usize,
    /// Lists computed at once (each uses `threads` threads): the concurrency cap of cross-encoder work.
    pub workers: usize,
    /// Computations one client may trigger by viewing papers, per minute (the rest see the BM25 list).
    pub on_view_per_minute: u32,
    /// Whether `serve` computes lists in the background (new papers, stale lists, first views).
    pub background: bool,
    /// Final order: `score` (the default) ranks by `z(CE) + lexical_weight · z(TF-IDF cosine)`, each score
    /// standardised over the list ([`super::fusion`]); `rrf` fuses the cross-encoder's ranking with the
    /// lexical ranking (reciprocal-rank fusion, the former default); `ce` orders by the cross-encoder alone.
    /// Without the TF-IDF index (still building at start-up) `score` falls back to `rrf`.
    pub fusion: Fusion,
    /// The TF-IDF cosine's weight in `score` fusion (the cross-encoder's is 1).
    #[serde(deserialize_with = "non_negative")]
    pub lexical_weight: f32,
    /// With a model that has an embedding head: nearest papers by embedding cosine added to the candidates
    /// (beyond the lexical ones) and scored exactly; 0 = none.
    pub dense_candidates: usize,
    /// With a model that has an embedding head: the embedding cosine's weight in `score` fusion (0 = off).
    #[serde(deserialize_with = "non_negative")]
    pub dense_weight: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fusion {
    Score,
    Rrf,
    Ce,
}

impl Default for RelatedConfig {
    fn default() -> Self {
        RelatedConfig {
            model: None,
            hub_url: "https://huggingface.co".into(),
            max_length: None,
            dtype: crate::rerank::Dtype::F32,
            threads: 2,
            top_k: 10,
            key_terms: 20,
            // Chosen on the dev split with the bundled model: 20 + 10 candidates (≈25 pairs, ~1.1 s on 2
            // AVX2 cores) ranked as well as 30 + 20 (≈40 pairs, ~2.1 s), README § Related papers.
            bm25_candidates: 10,
            // Chosen on the dev split over random papers, with the bundled model: TF-IDF 10 + dense 10 (26
            // pairs) ranked as well as TF-IDF 20 + dense 10 (35 pairs) or + dense 5 (30), within the AVX2 budget;
            // without an embedding head, 20 ranked better than 10 (README § Related papers).
            tfidf_candidates: None,
            cur_candidates: 30,
            cur_rounds: 3,
            cur_hub_weight: 1.0,
            workers: 1,
            on_view_per_minute: 30,
            background: true,
            // Chosen on the dev split over a corpus of random papers (the held-back evaluation's shape):
            // score fusion +0.041 nDCG@5 over rank fusion, fully judged; on the test splits it ties (+0.007,
            // +0.001) and is never worse; README § Related papers.
            fusion: Fusion::Score,
            lexical_weight: 1.0,
            // Equal weights, not tuned per value: README § Related papers has the dev figures.
            dense_candidates: 10,
            dense_weight: 1.0,
        }
    }
}

/// A finite number ≥ 0 (a weight), refused with a message otherwise.
fn non_negative<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
    let v = f32::deserialize(d)?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(serde::de::Error::custom(format!("must be a number ≥ 0, got {v}")))
    }
}

/// Where the bundled model lives, relative to the working directory, the executable's folders or the source
/// tree it was built from (see [`bundled_model_dir`]).
pub const BUNDLED_MODEL: &str = "models/related-minilm-l6";

/// The bundled relatedness model's directory, if one of the usual places has it: `./models/…` (a checkout, the
/// demo), beside the executable or up to three folders above it (`target/release/…`, an install prefix), or
/// the source tree the binary was built from.
pub fn bundled_model_dir() -> Option<std::path::PathBuf> {
    let mut roots: Vec<std::path::PathBuf> = Vec::new();
    roots.extend(std::env::current_dir().ok());
    if let Ok(exe) = std::env::current_exe() {
        roots.extend(exe.ancestors().skip(1).take(4).map(std::path::Path::to_path_buf));
    }
    roots.push(std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    roots.into_iter().map(|r| r.join(BUNDLED_MODEL)).find(|d| d.join("model.safetensors").is_file())
}

/// What `[related] model` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelChoice {
    /// `none`: no cross-encoder, model-less lists.
    Off,
    /// The bundled model (unset `model`); `None` when it cannot be found.
    Bundled(Option<std::path::PathBuf>),
    /// A directory or hub id.
    Spec(String),
}

impl RelatedConfig {
    pub fn model_choice(&self) -> ModelChoice {
        match self.model.as_deref().map(str::trim) {
            Some(s) if s.eq_ignore_ascii_case("none") => ModelChoice::Off,
            Some(s) if !s.is_empty() => ModelChoice::Spec(s.to_string()),
            _ => ModelChoice::Bundled(bundled_model_dir()),
        }
    }

    /// The TF-IDF candidates a list takes: the setting, else 10 with an embedding head and 20 without.
    pub fn tfidf_candidates_for(&self, embedding_head: bool) -> usize {
        self.tfidf_candidates.unwrap_or(if embedding_head { 10 } else { 20 })
    }

    pub fn apply_env(&mut self, var: &impl Fn(&str) -> Option<String>) -> Result<(), EnvError> {
        if let Some(v) = var("PAPERTIDE_RERANKER_MODEL") {
            self.model = Some(v.trim().to_string()).filter(|v| !v.is_empty());
        }
        if let Some(v) = var("PAPERTIDE_RERANKER_DTYPE") {
            self.dtype = v.parse().map_err(|_| EnvError::new("PAPERTIDE_RERANKER_DTYPE", &v, "must be f32 or bf16"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_choice_defaults_to_the_bundled_model_and_none_turns_it_off() {
        let mut c = RelatedConfig::default();
        assert!(matches!(c.model_choice(), ModelChoice::Bundled(_)));
        for off in ["none", "None", " NONE "] {
            c.apply_env(&|k: &str| (k == "PAPERTIDE_RERANKER_MODEL").then(|| off.to_string())).unwrap();
            assert_eq!(c.model_choice(), ModelChoice::Off, "{off:?}");
        }
        c.apply_env(&|k: &str| (k == "PAPERTIDE_RERANKER_MODEL").then(|| "acme/ce@v1".to_string())).unwrap();
        assert_eq!(c.model_choice(), ModelChoice::Spec("acme/ce@v1".into()));
        // An empty variable means "unset": the bundled model again.
        c.apply_env(&|k: &str| (k == "PAPERTIDE_RERANKER_MODEL").then(String::new)).unwrap();
        assert!(matches!(c.model_choice(), ModelChoice::Bundled(_)));
    }

    #[test]
    fn the_hub_weight_is_on_by_default_and_must_be_a_number_at_least_zero() {
        assert_eq!(RelatedConfig::default().cur_hub_weight, 1.0);
        let read = |t: &str| toml::from_str::<RelatedConfig>(t);
        assert_eq!(read("cur_hub_weight = 0.5").unwrap().cur_hub_weight, 0.5);
        assert_eq!(read("cur_hub_weight = 0").unwrap().cur_hub_weight, 0.0);
        for bad in ["cur_hub_weight = -1.0", "cur_hub_weight = nan", "cur_hub_weight = inf"] {
            let e = read(bad).unwrap_err().to_string();
            assert!(e.contains("must be a number ≥ 0"), "{bad}: {e}");
        }
    }

    #[test]
    fn score_fusion_is_the_default_order_and_the_others_remain() {
        let d = RelatedConfig::default();
        assert_eq!((d.fusion, d.lexical_weight), (Fusion::Score, 1.0));
        let read = |t: &str| toml::from_str::<RelatedConfig>(t);
        assert_eq!(read("fusion = \"rrf\"").unwrap().fusion, Fusion::Rrf);
        assert_eq!(read("fusion = \"ce\"").unwrap().fusion, Fusion::Ce);
        assert_eq!(read("fusion = \"score\"\nlexical_weight = 1.5").unwrap().lexical_weight, 1.5);
        assert!(read("fusion = \"sum\"").is_err());
        assert!(read("lexical_weight = -1").unwrap_err().to_string().contains("must be a number ≥ 0"));
        // The dense stage: on by default (it acts only with a model that has an embedding head).
        assert_eq!((d.dense_candidates, d.dense_weight), (10, 1.0));
        assert_eq!((d.tfidf_candidates_for(true), d.tfidf_candidates_for(false)), (10, 20));
        let set = read("tfidf_candidates = 15").unwrap();
        assert_eq!((set.tfidf_candidates_for(true), set.tfidf_candidates_for(false)), (15, 15));
        let off = read("dense_candidates = 0\ndense_weight = 0").unwrap();
        assert_eq!((off.dense_candidates, off.dense_weight), (0, 0.0));
        assert!(read("dense_weight = -0.5").unwrap_err().to_string().contains("must be a number ≥ 0"));
    }

    #[test]
    fn the_bundled_model_is_found_from_the_source_tree() {
        // The repository ships it; a checkout without it (or a stripped one) reports None, never panics.
        let found = bundled_model_dir();
        if std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(BUNDLED_MODEL).join("model.safetensors").is_file() {
            assert!(found.unwrap().ends_with(BUNDLED_MODEL));
        }
    }
}
