//! `config.json` of a Hugging Face BERT cross-encoder: parsing and validation.

use super::RerankError;
use super::kernels::Act;
use serde_json::Value;
use std::path::Path;

/// The validated subset of a BERT config the engine uses.
#[derive(Clone, Debug)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f32,
    pub act: Act,
}

impl BertConfig {
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    pub fn from_file(path: &Path) -> Result<Self, RerankError> {
        let text = std::fs::read_to_string(path).map_err(|e| RerankError::io(path, e))?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| RerankError::Config { file: path.to_path_buf(), field: "(json)".into(), message: e.to_string() })?;
        Self::from_json(&v, path)
    }

    pub fn from_json(v: &Value, path: &Path) -> Result<Self, RerankError> {
        let err = |field: &str, message: String| RerankError::Config { file: path.to_path_buf(), field: field.into(), message };
        let get_str = |f: &str| v.get(f).and_then(Value::as_str);
        let get_usize = |f: &str| -> Result<usize, RerankError> {
            match v.get(f) {
                None => Err(err(f, "missing".into())),
                Some(x) => x.as_u64().map(|n| n as usize).ok_or_else(|| err(f, format!("expected a non-negative integer, found {x}"))),
            }
        };

        match get_str("model_type") {
            Some("bert") => {}
            Some(other) => return Err(err("model_type", format!("unsupported model type {other:?}; only \"bert\" is supported"))),
            None => return Err(err("model_type", "missing (expected \"bert\")".into())),
        }
        if let Some(archs) = v.get("architectures").and_then(Value::as_array) {
            let names: Vec<&str> = archs.iter().filter_map(Value::as_str).collect();
            if !names.is_empty() && !names.contains(&"BertForSequenceClassification") {
                return Err(err("architectures", format!("{names:?} is not a cross-encoder; expected BertForSequenceClassification")));
            }
        }
        let act = match get_str("hidden_act") {
            Some("gelu") => Act::Gelu,
            Some("gelu_new") | Some("gelu_pytorch_tanh") => Act::GeluTanh,
            Some(other) => {
                return Err(err("hidden_act", format!("unsupported activation {other:?}; supported: gelu, gelu_new, gelu_pytorch_tanh")));
            }
            None => Act::Gelu,
        };
        // num_labels is implied by id2label when not given explicitly
        let num_labels = match v.get("num_labels").and_then(Value::as_u64) {
            Some(n) => n as usize,
            None => v.get("id2label").and_then(Value::as_object).map_or(2, |m| m.len()),
        };
        if num_labels != 1 {
            return Err(err("num_labels", format!("{num_labels} labels; a cross-encoder scorer needs exactly 1 (a raw relevance logit)")));
        }
        if let Some(p) = get_str("position_embedding_type")
            && p != "absolute"
        {
            return Err(err("position_embedding_type", format!("{p:?} is not supported; only \"absolute\"")));
        }
        if v.get("is_decoder").and_then(Value::as_bool) == Some(true) {
            return Err(err("is_decoder", "decoder BERTs are not cross-encoders".into()));
        }
        let cfg = BertConfig {
            vocab_size: get_usize("vocab_size")?,
            hidden_size: get_usize("hidden_size")?,
            num_hidden_layers: get_usize("num_hidden_layers")?,
            num_attention_heads: get_usize("num_attention_heads")?,
            intermediate_size: get_usize("intermediate_size")?,
            max_position_embeddings: get_usize("max_position_embeddings")?,
            type_vocab_size: v.get("type_vocab_size").map_or(Ok(2), |_| get_usize("type_vocab_size"))?,
            layer_norm_eps: v.get("layer_norm_eps").and_then(Value::as_f64).unwrap_or(1e-12) as f32,
            act,
        };
        if cfg.hidden_size == 0 || cfg.num_attention_heads == 0 || !cfg.hidden_size.is_multiple_of(cfg.num_attention_heads) {
            return Err(err(
                "num_attention_heads",
                format!("hidden_size {} is not a positive multiple of num_attention_heads {}", cfg.hidden_size, cfg.num_attention_heads),
            ));
        }
        if cfg.num_hidden_layers == 0 {
            return Err(err("num_hidden_layers", "must be at least 1".into()));
        }
        if cfg.type_vocab_size < 2 {
            return Err(err("type_vocab_size", format!("{} token types; pairs need 2", cfg.type_vocab_size)));
        }
        Ok(cfg)
    }
}
