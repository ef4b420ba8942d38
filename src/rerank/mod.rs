//! Cross-encoder (CE) inference engine: scores (query, document) pairs with a Hugging Face
//! `BertForSequenceClassification` (`num_labels = 1`, raw logit), in process, on the CPU.
//!
//! Pure library code: no HTTP (the optional hub download takes the fetcher as a parameter), no database.
//!
//! Design (see ARCHITECTURE.md):
//! - weights are read from `model.safetensors` (mmap; f32/f16/bf16 converted at load) and packed once into
//!   the GEMM kernel's panel layout (f32, or bf16 pairs for AVX-512 BF16 `vdpbf16ps`);
//! - pairs are tokenized with `tokenizers` (`[CLS] q [SEP] d [SEP]`, `truncation = only_second`), sorted by length
//!   and cut into batches of `batch_size`; a batch is a packed, unpadded token matrix, and attention runs per
//!   sequence, so no FLOP is spent on padding;
//! - batches are spread over `threads` worker threads (each with its own reusable scratch buffers); the weights
//!   are shared read-only;
//! - kernels: register-tiled GEMM (AVX-512 14×32 tile; AVX2+FMA and NEON 6×16) with fused bias/GELU/residual
//!   epilogue, vectorised softmax and layernorm, chosen at run time (`is_x86_feature_detected!`) with a portable
//!   fallback; `PAPERTIDE_CE_ISA` or `EngineOptions::isa` forces a path ([`kernels::Isa`]);
//! - `Dtype::Bf16`: the linear layers (≈90% of the FLOPs) run on AMX-BF16 tiles (`tdpbf16ps`, inline assembly,
//!   since Rust has no stable AMX intrinsics) when the CPU and kernel allow it (`arch_prctl` permission), else on
//!   AVX-512 BF16 `vdpbf16ps` (which is *slower* than the f32 FMA path on Sapphire Rapids-class CPUs);
//!   weights and activations are rounded to bf16, accumulation, attention, softmax, layernorm and GELU stay f32;
//!   without native bf16 (AVX2, NEON, portable) the layers stay f32; `PAPERTIDE_CE_NO_AMX=1` disables AMX;
//! - the last layer is computed for the `[CLS]` rows only (the only ones the classifier reads);
//! - a model may also carry an embedding head (`embedding_head.*`, `papertide.json` "embedding"): one more layer
//!   on the output of its first `shared_layers` layers, run on single texts and mean-pooled into a unit vector
//!   ([`CrossEncoder::embed_texts`]), so one bundled model gives both pair scores and paper embeddings;
//! - tokenization follows Hugging Face exactly (same `tokenizers` truncation); like Hugging Face, a query that alone
//!   leaves no room for a document token under `max_length` is an error, not silently truncated.
//!
//! Measured on the 2-core dev machine (AVX-512 + AMX): f32 parity with PyTorch 1.8e-5 max abs error on the 203
//! reference pairs, bf16 0.10; throughput ≈1.8–2.2× PyTorch 2.15 in f32 and ≈1.8× PyTorch bf16 in bf16
//! (`scripts/bench_ce.sh`).

mod buf;
pub mod config;
pub mod cur;
pub mod format;
mod hub;
pub mod kernels;
mod model;

pub use format::{EmbeddingFormat, PairFormat, PairTexts, Pooling, Truncation, paper_text};
pub use hub::{Fetch, FetchError, resolve_model};
pub use kernels::IsaError;

use model::{Bert, Encoded, Scratch};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Numeric precision of the GEMMs. Read from text (`f32`, `bf16`, and their long names) by `FromStr`, which
/// configuration files and command-line flags both go through, so a typo is refused where it is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(try_from = "String")]
pub enum Dtype {
    /// f32 everywhere (matches PyTorch f32 within 1e-3).
    #[default]
    F32,
    /// Linear layers take bf16 inputs and weights with f32 accumulation (AMX or AVX-512 BF16 `vdpbf16ps`; on
    /// paths without native bf16 they stay f32); attention, softmax, layernorm and GELU stay f32.
    Bf16,
}

impl Dtype {
    pub fn as_str(self) -> &'static str {
        match self {
            Dtype::F32 => "f32",
            Dtype::Bf16 => "bf16",
        }
    }
}

/// A dtype name that is neither `f32` nor `bf16` (or their aliases).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown dtype {0:?} (expected f32 or bf16)")]
pub struct DtypeError(pub String);

impl std::str::FromStr for Dtype {
    type Err = DtypeError;
    fn from_str(s: &str) -> Result<Self, DtypeError> {
        match s.to_ascii_lowercase().as_str() {
            "f32" | "fp32" | "float32" => Ok(Dtype::F32),
            "bf16" | "bfloat16" => Ok(Dtype::Bf16),
            other => Err(DtypeError(other.to_string())),
        }
    }
}

impl TryFrom<String> for Dtype {
    type Error = DtypeError;
    fn try_from(s: String) -> Result<Self, DtypeError> {
        s.parse()
    }
}

impl std::fmt::Display for Dtype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Engine options.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// Tokens per pair including `[CLS]` and the two `[SEP]`; the document is truncated to fit.
    pub max_length: usize,
    /// Worker threads (0 = all available cores).
    pub threads: usize,
    pub dtype: Dtype,
    /// Pairs per batch (after sorting by length).
    pub batch_size: usize,
    /// Kernel path; `None`: `PAPERTIDE_CE_ISA` (or `PAPERTIDE_CE_GENERIC=1`), else the best the CPU supports. An
    /// unsupported one fails the load.
    pub isa: Option<kernels::Isa>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions { max_length: 256, threads: 0, dtype: Dtype::F32, batch_size: 32, isa: None }
    }
}

/// Errors of the engine; messages name the file, field or tensor concerned.
#[derive(Debug, thiserror::Error)]
pub enum RerankError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: missing; a cross-encoder directory needs config.json, model.safetensors and tokenizer.json")]
    MissingFile { path: PathBuf },
    #[error("{file}: field `{field}`: {message}")]
    Config { file: PathBuf, field: String, message: String },
    #[error("{file}: tensor `{name}`: {message}")]
    Tensor { file: PathBuf, name: String, message: String },
    #[error("{file}: tokenizer: {message}")]
    Tokenizer { file: PathBuf, message: String },
    #[error("pair {index}: {message}")]
    Tokenize { index: usize, message: String },
    #[error("invalid option `{option}`: {message}")]
    Option { option: &'static str, message: String },
    #[error("could not download {file} from {url}: {source}; pass a local model directory")]
    Download { file: String, url: String, source: hub::FetchError },
    #[error("model spec {spec:?}: {message}")]
    Spec { spec: String, message: String },
    #[error("kernel path {requested:?} ({origin}): {source}")]
    Isa { requested: String, origin: &'static str, source: IsaError },
}

impl RerankError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            RerankError::MissingFile { path: path.to_path_buf() }
        } else {
            RerankError::Io { path: path.to_path_buf(), source }
        }
    }
}

/// A loaded cross-encoder. `Send + Sync`: share it behind an `Arc`; calls may run concurrently.
pub struct CrossEncoder {
    bert: Bert,
    tokenizer: tokenizers::Tokenizer,
    format: PairFormat,
    opts: EngineOptions,
    threads: usize,
    model_id: String,
    scratch: Mutex<Vec<Scratch>>,
}

impl std::fmt::Debug for CrossEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrossEncoder").field("model_id", &self.model_id).field("opts", &self.opts).finish()
    }
}

impl CrossEncoder {
    /// Loads `config.json`, `model.safetensors` and `tokenizer.json` from `dir`, and the pair format from
    /// `papertide.json` when there is one (else title vs abstract, only the second text truncated).
    pub fn load(dir: &Path, opts: EngineOptions) -> Result<Self, RerankError> {
        let cfg_path = dir.join("config.json");
        let weights_path = dir.join("model.safetensors");
        let tok_path = dir.join("tokenizer.json");
        for p in [&cfg_path, &weights_path, &tok_path] {
            if !p.is_file() {
                return Err(RerankError::MissingFile { path: p.clone() });
            }
        }
        let cfg = config::BertConfig::from_file(&cfg_path)?;
        let format = PairFormat::load(dir)?;
        if opts.max_length < 4 {
            return Err(RerankError::Option {
                option: "max_length",
                message: format!("{} is too small (at least 4)", opts.max_length),
            });
        }
        if opts.max_length > cfg.max_position_embeddings {
            return Err(RerankError::Option {
                option: "max_length",
                message: format!(
                    "{} exceeds the model's max_position_embeddings {} ({})",
                    opts.max_length,
                    cfg.max_position_embeddings,
                    cfg_path.display()
                ),
            });
        }
        if opts.batch_size == 0 {
            return Err(RerankError::Option { option: "batch_size", message: "must be at least 1".into() });
        }
        let threads =
            if opts.threads == 0 { std::thread::available_parallelism().map_or(1, |n| n.get()) } else { opts.threads };
        let mut tokenizer = tokenizers::Tokenizer::from_file(&tok_path)
            .map_err(|e| RerankError::Tokenizer { file: tok_path.clone(), message: e.to_string() })?;
        // Longest-first is done here (`encode_longest_first`): tokenizers 0.23.2 hands an odd leftover token to
        // the other sequence than Hugging Face's reference (tokenizers 0.23.3), which moved logits by up to 0.16.
        let truncation = match format.truncation {
            Truncation::OnlySecond => Some(tokenizers::TruncationParams {
                max_length: opts.max_length,
                strategy: tokenizers::TruncationStrategy::OnlySecond,
                stride: 0,
                direction: tokenizers::TruncationDirection::Right,
            }),
            Truncation::LongestFirst => None,
        };
        tokenizer
            .with_truncation(truncation)
            .map_err(|e| RerankError::Tokenizer { file: tok_path.clone(), message: e.to_string() })?;
        tokenizer.with_padding(None);
        let vocab = tokenizer.get_vocab_size(true);
        if vocab > cfg.vocab_size {
            return Err(RerankError::Config {
                file: cfg_path,
                field: "vocab_size".into(),
                message: format!(
                    "{} is smaller than the tokenizer's vocabulary ({vocab}, {})",
                    cfg.vocab_size,
                    tok_path.display()
                ),
            });
        }
        let isa = kernels::select_isa(opts.isa)?;
        if let Some(e) = &format.embedding
            && (!e.normalize || e.max_length < 3 || e.max_length > cfg.max_position_embeddings)
        {
            return Err(RerankError::Config {
                file: dir.join(format::FORMAT_FILE),
                field: "embedding".into(),
                message: format!(
                    "normalize must be true and max_length within 3..={} (got {} / {})",
                    cfg.max_position_embeddings, e.normalize, e.max_length
                ),
            });
        }
        let shared = format.embedding.map(|e| e.shared_layers);
        let bert = Bert::load(cfg, &weights_path, opts.dtype == Dtype::Bf16, isa, shared)?;
        let model_id = model_id_of(dir, &weights_path)?;
        Ok(CrossEncoder { bert, tokenizer, format, opts, threads, model_id, scratch: Mutex::new(Vec::new()) })
    }

    /// `<dir name>@<16 hex digits>`: a hash of the size and first/last MiB of `model.safetensors`.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// How this model wants its pairs built (`papertide.json`).
    pub fn format(&self) -> &PairFormat {
        &self.format
    }

    /// Short description of the engine (kernel path, dtype, threads), for logs and benchmarks.
    pub fn engine_name(&self) -> String {
        format!("papertide-ce {} ({}, {} threads)", env!("CARGO_PKG_VERSION"), self.kernel_path(), self.threads)
    }

    /// The kernel path the linear layers run on: `"avx2 f32"`, `"amx bf16"`, … (bf16 asked of a path without
    /// native bf16 runs f32 and says so).
    pub fn kernel_path(&self) -> String {
        use kernels::Isa;
        let family = match self.bert.isa {
            Isa::Avx512 | Isa::Avx512Bf16 | Isa::Amx => "avx512",
            other => other.name(),
        };
        match self.opts.dtype {
            Dtype::F32 => format!("{family} f32"),
            Dtype::Bf16 if self.bert.amx => "amx bf16".into(),
            Dtype::Bf16 if self.bert.bf16 => "avx512 vdpbf16ps".into(),
            Dtype::Bf16 => format!("{family} f32 (bf16 requested, no native bf16)"),
        }
    }

    /// The kernel path chosen at load.
    pub fn isa(&self) -> kernels::Isa {
        self.bert.isa
    }

    /// Bytes of packed weights held in memory.
    pub fn weight_bytes(&self) -> usize {
        self.bert.weight_bytes()
    }

    /// Token ids and token type ids of one pair as the model sees them (after truncation).
    pub fn encode_pair(&self, query: &str, document: &str) -> Result<(Vec<u32>, Vec<u32>), RerankError> {
        let e = self.encode(0, query, document)?;
        Ok((e.ids, e.types))
    }

    fn encode(&self, index: usize, q: &str, d: &str) -> Result<Encoded, RerankError> {
        if self.format.truncation == Truncation::LongestFirst {
            return self.encode_longest_first(index, q, d);
        }
        let enc = self.tokenizer.encode_fast((q, d), true).map_err(|e| {
            let msg = e.to_string();
            let message = if msg.contains("too short") {
                // What Hugging Face does too (it raises): only the document may be truncated.
                format!(
                    "the query alone does not fit max_length {} with at least one document token ({msg})",
                    self.opts.max_length
                )
            } else {
                msg
            };
            RerankError::Tokenize { index, message }
        })?;
        let ids = enc.get_ids().to_vec();
        let types = enc.get_type_ids().to_vec();
        let cfg = &self.bert.cfg;
        if ids.len() > self.opts.max_length
            || ids.iter().any(|&i| i as usize >= cfg.vocab_size)
            || types.iter().any(|&t| t as usize >= cfg.type_vocab_size)
        {
            return Err(RerankError::Tokenize { index, message: "token ids out of the model's range".into() });
        }
        Ok(Encoded { ids, types })
    }

    /// `[CLS] q [SEP] d [SEP]` with both texts cut by [`longest_first_keep`] (BERT's special tokens).
    fn encode_longest_first(&self, index: usize, q: &str, d: &str) -> Result<Encoded, RerankError> {
        let err = |message: String| RerankError::Tokenize { index, message };
        let tok = |t: &str| {
            self.tokenizer.encode_fast(t, false).map(|e| e.get_ids().to_vec()).map_err(|e| err(e.to_string()))
        };
        let (qi, di) = (tok(q)?, tok(d)?);
        let special = |s: &str| self.tokenizer.token_to_id(s).ok_or_else(|| err(format!("the tokenizer has no {s}")));
        let (cls, sep) = (special("[CLS]")?, special("[SEP]")?);
        let (k1, k2) = longest_first_keep(qi.len(), di.len(), self.opts.max_length.saturating_sub(3));
        let mut ids = Vec::with_capacity(k1 + k2 + 3);
        ids.push(cls);
        ids.extend_from_slice(&qi[..k1]);
        ids.push(sep);
        ids.extend_from_slice(&di[..k2]);
        ids.push(sep);
        let mut types = vec![0u32; k1 + 2];
        types.resize(ids.len(), 1);
        let cfg = &self.bert.cfg;
        if ids.iter().any(|&i| i as usize >= cfg.vocab_size) || types.iter().any(|&t| t as usize >= cfg.type_vocab_size)
        {
            return Err(err("token ids out of the model's range".into()));
        }
        Ok(Encoded { ids, types })
    }

    /// Scores (query, document) pairs; output in input order. Internally sorts by length into batches so no
    /// padding is wasted. Fails as a whole if a pair cannot be tokenized (a query longer than `max_length`).
    pub fn score_pairs(&self, pairs: &[(&str, &str)]) -> Result<Vec<f32>, RerankError> {
        let n = pairs.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let threads = self.threads.min(n).max(1);
        // tokenize in parallel
        let encs: Vec<Encoded> = if threads > 1 && n >= 16 {
            let chunk = n.div_ceil(threads);
            let parts: Vec<Result<Vec<Encoded>, RerankError>> = std::thread::scope(|s| {
                let hs: Vec<_> = pairs
                    .chunks(chunk)
                    .enumerate()
                    .map(|(ci, c)| {
                        s.spawn(move || {
                            c.iter().enumerate().map(|(i, (q, d))| self.encode(ci * chunk + i, q, d)).collect()
                        })
                    })
                    .collect();
                hs.into_iter().map(|h| h.join().expect("tokenizer thread panicked")).collect()
            });
            let mut v = Vec::with_capacity(n);
            for p in parts {
                v.extend(p?);
            }
            v
        } else {
            pairs.iter().enumerate().map(|(i, (q, d))| self.encode(i, q, d)).collect::<Result<_, _>>()?
        };
        Ok(self.run(&encs, 1, |bert, seqs, sc, out| bert.forward(seqs, sc, out)))
    }

    /// Whether the model has an embedding head ([`CrossEncoder::embed_texts`]), and its width.
    pub fn embedding_dim(&self) -> Option<usize> {
        // The head is loaded exactly when papertide.json names one (`CrossEncoder::load`).
        self.bert.embedding_dim()
    }

    /// Paper embeddings (L2-normalised, [`CrossEncoder::embedding_dim`] floats each, concatenated in input
    /// order) of texts in the model's paper form (`"{title}. {abstract}"`, [`paper_text`]): `[CLS] text [SEP]`
    /// cut to the head's `max_length`, through the shared layers and the embedding head, mean-pooled. Errors
    /// when the model has no embedding head.
    pub fn embed_texts(&self, texts: &[&str]) -> Result<Vec<f32>, RerankError> {
        let Some(fmt) = self.format.embedding else {
            return Err(RerankError::Option {
                option: "embedding",
                message: format!("{} has no embedding head", self.model_id),
            });
        };
        let h = self.bert.cfg.hidden_size;
        let encs = texts
            .iter()
            .enumerate()
            .map(|(i, t)| self.encode_single(i, t, fmt.max_length))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.run(&encs, h, |bert, seqs, sc, out| bert.embed(seqs, sc, out)))
    }

    /// `[CLS] text [SEP]`, the text cut to `max_length - 2` tokens (Hugging Face's single-text truncation).
    fn encode_single(&self, index: usize, text: &str, max_length: usize) -> Result<Encoded, RerankError> {
        let err = |message: String| RerankError::Tokenize { index, message };
        let ids =
            self.tokenizer.encode_fast(text, false).map(|e| e.get_ids().to_vec()).map_err(|e| err(e.to_string()))?;
        let special = |s: &str| self.tokenizer.token_to_id(s).ok_or_else(|| err(format!("the tokenizer has no {s}")));
        let (cls, sep) = (special("[CLS]")?, special("[SEP]")?);
        let keep = ids.len().min(max_length.saturating_sub(2));
        let mut out = Vec::with_capacity(keep + 2);
        out.push(cls);
        out.extend_from_slice(&ids[..keep]);
        out.push(sep);
        if out.iter().any(|&i| i as usize >= self.bert.cfg.vocab_size) {
            return Err(err("token ids out of the model's range".into()));
        }
        let types = vec![0u32; out.len()];
        Ok(Encoded { ids: out, types })
    }

    /// Runs `f` over the sequences in length-sorted work units on the worker threads; `width` output floats
    /// per sequence, returned in input order.
    fn run(
        &self,
        encs: &[Encoded],
        width: usize,
        f: impl Fn(&Bert, &[&Encoded], &mut Scratch, &mut [f32]) + Sync,
    ) -> Vec<f32> {
        let n = encs.len();
        if n == 0 {
            return Vec::new();
        }
        let threads = self.threads.min(n).max(1);
        // longest first: big batches start early, short ones fill the tail
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(encs[i].ids.len()));
        // Work units: consecutive pairs in that order, at most `batch_size` pairs (fewer when there are too few
        // pairs to keep every thread busy) and at most MAX_UNIT_TOKENS tokens, which bounds the scratch memory
        // (GEMMs with M = 4096 rows are as efficient as with more).
        let unit = self.opts.batch_size.min(n.div_ceil(threads)).max(1);
        let mut units: Vec<&[usize]> = Vec::with_capacity(n.div_ceil(unit));
        let mut start = 0;
        while start < n {
            let mut end = start;
            let mut tokens = 0;
            while end < n
                && end - start < unit
                && (end == start || tokens + encs[order[end]].ids.len() <= MAX_UNIT_TOKENS)
            {
                tokens += encs[order[end]].ids.len();
                end += 1;
            }
            units.push(&order[start..end]);
            start = end;
        }
        let next = AtomicUsize::new(0);
        let work = |sc: &mut Scratch| -> Vec<(usize, Vec<f32>)> {
            let mut res = Vec::new();
            let mut out = vec![0f32; unit * width];
            loop {
                let u = next.fetch_add(1, Ordering::Relaxed);
                if u >= units.len() {
                    break;
                }
                let idx = units[u];
                let seqs: Vec<&Encoded> = idx.iter().map(|&i| &encs[i]).collect();
                f(&self.bert, &seqs, sc, &mut out[..idx.len() * width]);
                res.extend(idx.iter().copied().zip(out.chunks_exact(width).map(<[f32]>::to_vec)));
            }
            res
        };
        let workers = threads.min(units.len());
        let mut scratches: Vec<Scratch> = {
            let mut pool = self.scratch.lock().unwrap_or_else(|p| p.into_inner());
            (0..workers).map(|_| pool.pop().unwrap_or_default()).collect()
        };
        let results: Vec<Vec<(usize, Vec<f32>)>> = if workers == 1 {
            vec![work(&mut scratches[0])]
        } else {
            std::thread::scope(|s| {
                let (first, rest) = scratches.split_first_mut().expect("workers >= 1");
                let hs: Vec<_> = rest.iter_mut().map(|sc| s.spawn(|| work(sc))).collect();
                let mut r = vec![work(first)];
                r.extend(hs.into_iter().map(|h| h.join().expect("scoring thread panicked")));
                r
            })
        };
        self.scratch.lock().unwrap_or_else(|p| p.into_inner()).extend(scratches.drain(..));
        let mut outs = vec![f32::NAN; n * width];
        for (i, v) in results.into_iter().flatten() {
            outs[i * width..(i + 1) * width].copy_from_slice(&v);
        }
        outs
    }
}

/// How many tokens of each text Hugging Face's `truncation="longest_first"` keeps when `n1 + n2` exceeds
/// `target` (tokenizers 0.23.3, checked against it on random lengths): the longer text is cut down to the
/// shorter's length first, then both lose half of what is still over, the originally longer one keeping the odd
/// token (the second text when they were equal).
pub fn longest_first_keep(n1: usize, n2: usize, target: usize) -> (usize, usize) {
    if n1 + n2 <= target {
        return (n1, n2);
    }
    let (mut a, mut b, mut over) = (n1, n2, n1 + n2 - target);
    let cut = a.abs_diff(b).min(over);
    if a > b {
        a -= cut;
    } else {
        b -= cut;
    }
    over -= cut;
    let (lo, hi) = (over / 2, over - over / 2);
    if n1 > n2 { (a - lo, b - hi) } else { (a - hi, b - lo) }
}

/// Upper bound on the tokens of one work unit (see `score_pairs`).
const MAX_UNIT_TOKENS: usize = 4096;

/// FNV-1a 64 (stable across Rust versions, unlike `DefaultHasher`).
fn fnv1a(h: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *h ^= b as u64;
        *h = h.wrapping_mul(0x100000001b3);
    }
}

fn model_id_of(dir: &Path, weights: &Path) -> Result<String, RerankError> {
    use std::io::{Read, Seek, SeekFrom};
    const MIB: u64 = 1 << 20;
    let mut f = std::fs::File::open(weights).map_err(|e| RerankError::io(weights, e))?;
    let len = f.metadata().map_err(|e| RerankError::io(weights, e))?.len();
    let mut h = 0xcbf29ce484222325u64;
    fnv1a(&mut h, &len.to_le_bytes());
    let mut buf = vec![0u8; MIB.min(len) as usize];
    f.read_exact(&mut buf).map_err(|e| RerankError::io(weights, e))?;
    fnv1a(&mut h, &buf);
    if len > MIB {
        let start = len.saturating_sub(MIB).max(MIB.min(len));
        f.seek(SeekFrom::Start(start)).map_err(|e| RerankError::io(weights, e))?;
        buf.resize((len - start) as usize, 0);
        f.read_exact(&mut buf).map_err(|e| RerankError::io(weights, e))?;
        fnv1a(&mut h, &buf);
    }
    let canon = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let name = canon.file_name().map_or_else(|| "model".to_string(), |s| s.to_string_lossy().into_owned());
    Ok(format!("{name}@{h:016x}"))
}

#[cfg(test)]
mod tests;
