//! BERT encoder + sequence-classification head: weights prepared once at load, forward pass over a packed
//! (unpadded) batch of variable-length sequences.
#![allow(clippy::needless_range_loop)]

use super::RerankError;
use super::buf::AlignedBuf;
use super::config::BertConfig;
use super::kernels::{self, BView, Epilogue, Isa, NR};
use safetensors::{Dtype as StDtype, SafeTensors};
use std::path::Path;

/// A `Linear` layer (`y = x Wᵀ + b`) with W packed for the GEMM kernel.
pub(crate) struct Linear {
    n: usize,
    k: usize,
    w: AlignedBuf,
    bf16: bool,
    /// padded to a multiple of NR
    bias: Vec<f32>,
}

impl Linear {
    fn new(w: &[f32], n: usize, k: usize, b: &[f32], bf16: bool) -> Self {
        let w_packed = if bf16 { kernels::pack_bf16(w, n, k) } else { kernels::pack_f32(w, n, k) };
        let mut bias = vec![0f32; n.div_ceil(NR) * NR];
        bias[..n].copy_from_slice(&b[..n]);
        Linear { n, k, w: w_packed, bf16, bias }
    }

    /// `out[m, n] = x[m, k] Wᵀ + b` with the epilogue; `a16` is scratch for the bf16 copy of x.
    #[allow(clippy::too_many_arguments)]
    fn forward(
        &self,
        isa: Isa,
        amx: bool,
        m: usize,
        x: &[f32],
        ldx: usize,
        a16: &mut AlignedBuf,
        out: &mut [f32],
        ldo: usize,
        epi: Epilogue,
    ) {
        if self.bf16 {
            let kp = self.k.div_ceil(2) * 2;
            // AMX tiles read A in blocks of 32 rows
            a16.ensure_u16(m.div_ceil(32) * 32 * kp);
            let a = a16.u16_mut();
            kernels::convert_bf16(isa, x, m, self.k, ldx, a, kp);
            if amx && self.k.is_multiple_of(32) {
                kernels::gemm_amx(m, self.n, self.k, a16.u16(), kp, self.w.u16(), Some(&self.bias), out, ldo, epi);
            } else {
                kernels::gemm_bf16(
                    isa,
                    m,
                    self.n,
                    self.k,
                    a16.u16(),
                    kp,
                    self.w.u16(),
                    Some(&self.bias),
                    out,
                    ldo,
                    epi,
                );
            }
        } else {
            let b = BView { data: self.w.f32(), k: self.k, n: self.n, panel_stride: self.k * NR, ldb: NR };
            kernels::gemm_f32(isa, m, x, ldx, &b, Some(&self.bias), out, ldo, epi);
        }
    }

    fn bytes(&self) -> usize {
        self.w.bytes() + self.bias.len() * 4
    }
}

struct Layer {
    /// fused Q (pre-scaled by 1/sqrt(head_dim)), K, V: n = 3H
    qkv: Linear,
    attn_out: Linear,
    ln1_g: Vec<f32>,
    ln1_b: Vec<f32>,
    inter: Linear,
    out: Linear,
    ln2_g: Vec<f32>,
    ln2_b: Vec<f32>,
}

pub(crate) struct Bert {
    pub cfg: BertConfig,
    pub isa: Isa,
    /// bf16 linear layers (requested, and the path has native bf16 dot products)
    pub bf16: bool,
    /// bf16 linear layers on AMX tiles
    pub amx: bool,
    word: Vec<f32>,
    pos: Vec<f32>,
    tok_type: Vec<f32>,
    emb_ln_g: Vec<f32>,
    emb_ln_b: Vec<f32>,
    layers: Vec<Layer>,
    pooler_w: Vec<f32>,
    pooler_b: Vec<f32>,
    cls_w: Vec<f32>,
    cls_b: f32,
    /// The embedding head: a layer applied after the first `.0` layers, its outputs mean-pooled (a paper
    /// embedding that shares the cross-encoder's lower layers).
    embed_head: Option<(usize, Layer)>,
}

/// Per-thread scratch buffers, grown on demand and reused across batches.
#[derive(Default)]
pub(crate) struct Scratch {
    x: AlignedBuf,
    qkv: AlignedBuf,
    ctx: AlignedBuf,
    tmp: AlignedBuf,
    inter: AlignedBuf,
    s: AlignedBuf,
    kt: AlignedBuf,
    a16: AlignedBuf,
    xc: AlignedBuf,
    ctxc: AlignedBuf,
    tmpc: AlignedBuf,
}

/// One tokenized pair.
pub(crate) struct Encoded {
    pub ids: Vec<u32>,
    pub types: Vec<u32>,
}

/// Rows of the FFN processed at a time (keeps the intermediate activations in L2).
const FFN_CHUNK: usize = 128;

struct TensorSource<'a> {
    st: SafeTensors<'a>,
    file: &'a Path,
    prefix: &'static str,
}

impl TensorSource<'_> {
    fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, RerankError> {
        let full = format!("{}{}", self.prefix, name);
        let err = |message: String| RerankError::Tensor { file: self.file.to_path_buf(), name: full.clone(), message };
        let t = self.st.tensor(&full).map_err(|e| err(format!("missing ({e})")))?;
        if t.shape() != shape {
            return Err(err(format!("shape {:?}, expected {:?}", t.shape(), shape)));
        }
        let data = t.data();
        let v: Vec<f32> = match t.dtype() {
            StDtype::F32 => data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            StDtype::F16 => data.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            StDtype::BF16 => data.chunks_exact(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            other => return Err(err(format!("dtype {other:?} is not supported (f32, f16, bf16)"))),
        };
        if v.iter().any(|x| !x.is_finite()) {
            return Err(err("contains NaN or infinite values".into()));
        }
        Ok(v)
    }
}

/// One encoder layer's tensors under `p` (`encoder.layer.{l}.` or `embedding_head.`), packed.
fn load_layer(src: &TensorSource, p: &str, cfg: &BertConfig, bf16: bool) -> Result<Layer, RerankError> {
    let (h, i_sz) = (cfg.hidden_size, cfg.intermediate_size);
    let scale = 1.0 / (cfg.head_dim() as f32).sqrt();
    let g = |n: &str, s: &[usize]| src.get(&format!("{p}{n}"), s);
    let mut wq = g("attention.self.query.weight", &[h, h])?;
    let mut bq = g("attention.self.query.bias", &[h])?;
    wq.iter_mut().for_each(|v| *v *= scale);
    bq.iter_mut().for_each(|v| *v *= scale);
    let mut wqkv = wq;
    wqkv.extend(g("attention.self.key.weight", &[h, h])?);
    wqkv.extend(g("attention.self.value.weight", &[h, h])?);
    let mut bqkv = bq;
    bqkv.extend(g("attention.self.key.bias", &[h])?);
    bqkv.extend(g("attention.self.value.bias", &[h])?);
    Ok(Layer {
        qkv: Linear::new(&wqkv, 3 * h, h, &bqkv, bf16),
        attn_out: Linear::new(
            &g("attention.output.dense.weight", &[h, h])?,
            h,
            h,
            &g("attention.output.dense.bias", &[h])?,
            bf16,
        ),
        ln1_g: g("attention.output.LayerNorm.weight", &[h])?,
        ln1_b: g("attention.output.LayerNorm.bias", &[h])?,
        inter: Linear::new(
            &g("intermediate.dense.weight", &[i_sz, h])?,
            i_sz,
            h,
            &g("intermediate.dense.bias", &[i_sz])?,
            bf16,
        ),
        out: Linear::new(&g("output.dense.weight", &[h, i_sz])?, h, i_sz, &g("output.dense.bias", &[h])?, bf16),
        ln2_g: g("output.LayerNorm.weight", &[h])?,
        ln2_b: g("output.LayerNorm.bias", &[h])?,
    })
}

impl Bert {
    /// `bf16` asks for bf16 linear layers; on a path without native bf16 dot products (AVX2, plain AVX-512,
    /// NEON, generic) they stay f32, since emulating bf16 there is several times slower than f32 and less accurate.
    /// `embedding_shared_layers`: load the embedding head too (`embedding_head.*`, on top of that many layers).
    pub fn load(
        cfg: BertConfig,
        weights: &Path,
        bf16: bool,
        isa: Isa,
        embedding_shared_layers: Option<usize>,
    ) -> Result<Self, RerankError> {
        let bf16 = bf16 && isa.has_native_bf16();
        let file = std::fs::File::open(weights).map_err(|e| RerankError::io(weights, e))?;
        // SAFETY: the file is opened read-only and only read during load; a concurrent truncation by another
        // process is outside what we can protect against (the same contract as every mmap-based loader).
        let mmap = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| RerankError::io(weights, e))?;
        let st = SafeTensors::deserialize(&mmap).map_err(|e| RerankError::Tensor {
            file: weights.to_path_buf(),
            name: "(header)".into(),
            message: e.to_string(),
        })?;
        let prefix = if st.tensor("bert.embeddings.word_embeddings.weight").is_ok() { "bert." } else { "" };
        let src = TensorSource { st, file: weights, prefix };
        let h = cfg.hidden_size;
        let word = src.get("embeddings.word_embeddings.weight", &[cfg.vocab_size, h])?;
        let pos = src.get("embeddings.position_embeddings.weight", &[cfg.max_position_embeddings, h])?;
        let tok_type = src.get("embeddings.token_type_embeddings.weight", &[cfg.type_vocab_size, h])?;
        let emb_ln_g = src.get("embeddings.LayerNorm.weight", &[h])?;
        let emb_ln_b = src.get("embeddings.LayerNorm.bias", &[h])?;
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for l in 0..cfg.num_hidden_layers {
            layers.push(load_layer(&src, &format!("encoder.layer.{l}."), &cfg, bf16)?);
        }
        let pooler_w = src.get("pooler.dense.weight", &[h, h])?;
        let pooler_b = src.get("pooler.dense.bias", &[h])?;
        // the classification head is never under the "bert." prefix
        let head = TensorSource { st: src.st, file: weights, prefix: "" };
        let cls_w = head.get("classifier.weight", &[1, h])?;
        let cls_b = head.get("classifier.bias", &[1])?[0];
        // the embedding head (scripts/train_embedding_head.py): one more layer on top of the first `shared`
        let embed_head = match embedding_shared_layers {
            None => None,
            Some(shared) if shared == 0 || shared > cfg.num_hidden_layers => {
                return Err(RerankError::Tensor {
                    file: weights.to_path_buf(),
                    name: "embedding_head".into(),
                    message: format!("shared_layers {shared} is outside 1..={}", cfg.num_hidden_layers),
                });
            }
            Some(shared) => Some((shared, load_layer(&head, "embedding_head.", &cfg, bf16)?)),
        };
        let amx = bf16 && isa == Isa::Amx;
        Ok(Bert {
            cfg,
            isa,
            bf16,
            amx,
            word,
            pos,
            tok_type,
            emb_ln_g,
            emb_ln_b,
            layers,
            pooler_w,
            pooler_b,
            cls_w,
            cls_b,
            embed_head,
        })
    }

    /// Bytes of weights held in memory.
    pub fn weight_bytes(&self) -> usize {
        let v = (self.word.len() + self.pos.len() + self.tok_type.len() + self.pooler_w.len()) * 4;
        v + self
            .layers
            .iter()
            .chain(self.embed_head.as_ref().map(|(_, l)| l))
            .map(|l| l.qkv.bytes() + l.attn_out.bytes() + l.inter.bytes() + l.out.bytes())
            .sum::<usize>()
    }

    /// Sizes the scratch buffers for `seqs`; returns the total token count.
    fn prepare(&self, seqs: &[&Encoded], sc: &mut Scratch) -> usize {
        let h = self.cfg.hidden_size;
        let dh = self.cfg.head_dim();
        let b = seqs.len();
        let t: usize = seqs.iter().map(|s| s.ids.len()).sum();
        let lmax = seqs.iter().map(|s| s.ids.len()).max().unwrap_or(0);
        let lp = lmax.div_ceil(NR) * NR;
        sc.x.ensure_f32(t * h);
        sc.qkv.ensure_f32(t * 3 * h + NR);
        sc.ctx.ensure_f32(t * h);
        sc.tmp.ensure_f32(t * h);
        sc.inter.ensure_f32(FFN_CHUNK.min(t.max(1)) * self.cfg.intermediate_size);
        sc.s.ensure_f32(lmax * lp);
        sc.kt.ensure_f32(lp * dh.max(1));
        sc.xc.ensure_f32(b * h);
        sc.ctxc.ensure_f32(b * h);
        sc.tmpc.ensure_f32(b * h);
        t
    }

    /// Word + position + token-type embeddings, layer-normed, into `sc.x` (one row per token).
    fn embeddings(&self, seqs: &[&Encoded], sc: &mut Scratch) {
        let h = self.cfg.hidden_size;
        let x = sc.x.f32_mut();
        let mut row = 0;
        for s in seqs {
            for (p, (&id, &tt)) in s.ids.iter().zip(&s.types).enumerate() {
                let xr = &mut x[row * h..row * h + h];
                let w = &self.word[id as usize * h..id as usize * h + h];
                let pe = &self.pos[p * h..p * h + h];
                let te = &self.tok_type[tt as usize * h..tt as usize * h + h];
                for j in 0..h {
                    xr[j] = w[j] + pe[j] + te[j];
                }
                kernels::layernorm_inplace(self.isa, xr, &self.emb_ln_g, &self.emb_ln_b, self.cfg.layer_norm_eps);
                row += 1;
            }
        }
    }

    /// One encoder layer over `sc.x` (`t` rows). With `last`, only each sequence's [CLS] row is carried
    /// through (the last layer of the classifier: nothing downstream reads the others); the result is then in
    /// `sc.xc`, one row per sequence, else in `sc.x`.
    fn layer_forward(&self, layer: &Layer, seqs: &[&Encoded], sc: &mut Scratch, t: usize, last: bool) {
        let isa = self.isa;
        let h = self.cfg.hidden_size;
        let nh = self.cfg.num_attention_heads;
        let dh = self.cfg.head_dim();
        layer.qkv.forward(isa, self.amx, t, sc.x.f32(), h, &mut sc.a16, sc.qkv.f32_mut(), 3 * h, Epilogue::None);
        // attention, per sequence and head
        let mut off = 0;
        for (si, s) in seqs.iter().enumerate() {
            let l = s.ids.len();
            let lpad = l.div_ceil(NR) * NR;
            let nq = if last { 1 } else { l };
            for hd in 0..nh {
                let qkv = sc.qkv.f32();
                // pack Kᵀ: panel p, row d, col j = K[p*NR + j, d]
                {
                    let kt = sc.kt.f32_mut();
                    for p in 0..lpad / NR {
                        for j in 0..NR {
                            let key = p * NR + j;
                            let dst = p * dh * NR + j;
                            if key < l {
                                let src = &qkv[(off + key) * 3 * h + h + hd * dh..][..dh];
                                for (d, &v) in src.iter().enumerate() {
                                    kt[dst + d * NR] = v;
                                }
                            } else {
                                for d in 0..dh {
                                    kt[dst + d * NR] = 0.0;
                                }
                            }
                        }
                    }
                }
                let q = &qkv[off * 3 * h + hd * dh..];
                let bk = BView { data: sc.kt.f32(), k: dh, n: l, panel_stride: dh * NR, ldb: NR };
                let s_buf = sc.s.f32_mut();
                kernels::gemm_f32(isa, nq, q, 3 * h, &bk, None, s_buf, lpad, Epilogue::None);
                for r in 0..nq {
                    kernels::softmax_inplace(isa, &mut s_buf[r * lpad..r * lpad + l]);
                }
                let bv =
                    BView { data: &qkv[off * 3 * h + 2 * h + hd * dh..], k: l, n: dh, panel_stride: NR, ldb: 3 * h };
                if last {
                    let c = &mut sc.ctxc.f32_mut()[si * h + hd * dh..];
                    kernels::gemm_f32(isa, 1, sc.s.f32(), lpad, &bv, None, c, h, Epilogue::None);
                } else {
                    let c = &mut sc.ctx.f32_mut()[off * h + hd * dh..];
                    kernels::gemm_f32(isa, nq, sc.s.f32(), lpad, &bv, None, c, h, Epilogue::None);
                }
            }
            if last {
                let x = sc.x.f32();
                sc.xc.f32_mut()[si * h..si * h + h].copy_from_slice(&x[off * h..off * h + h]);
            }
            off += l;
        }
        if last {
            self.tail(layer, seqs.len(), &mut sc.ctxc, &mut sc.xc, &mut sc.tmpc, &mut sc.inter, &mut sc.a16);
        } else {
            self.tail(layer, t, &mut sc.ctx, &mut sc.x, &mut sc.tmp, &mut sc.inter, &mut sc.a16);
        }
    }

    /// The embedding head's width, when the model has one.
    pub fn embedding_dim(&self) -> Option<usize> {
        self.embed_head.as_ref().map(|_| self.cfg.hidden_size)
    }

    /// Paper embeddings of single-text sequences (`[CLS] text [SEP]`): the first `shared` layers, the
    /// embedding head, the mean over every token's output, L2-normalised; `out` holds `seqs.len()` rows of
    /// `hidden_size`. Panics without an embedding head (callers check [`Bert::embedding_dim`]).
    pub fn embed(&self, seqs: &[&Encoded], sc: &mut Scratch, out: &mut [f32]) {
        let (shared, head) = self.embed_head.as_ref().map(|(n, l)| (*n, l)).expect("the model has no embedding head");
        let h = self.cfg.hidden_size;
        let t = self.prepare(seqs, sc);
        self.embeddings(seqs, sc);
        for layer in &self.layers[..shared] {
            self.layer_forward(layer, seqs, sc, t, false);
        }
        self.layer_forward(head, seqs, sc, t, false);
        let x = sc.x.f32();
        let mut off = 0;
        for (si, s) in seqs.iter().enumerate() {
            let l = s.ids.len();
            let o = &mut out[si * h..si * h + h];
            o.fill(0.0);
            for r in off..off + l {
                for (oj, xj) in o.iter_mut().zip(&x[r * h..r * h + h]) {
                    *oj += xj;
                }
            }
            let norm = o.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            o.iter_mut().for_each(|v| *v /= norm);
            off += l;
        }
    }

    /// Scores a batch of tokenized sequences (any lengths; no padding is used).
    pub fn forward(&self, seqs: &[&Encoded], sc: &mut Scratch, out: &mut [f32]) {
        let h = self.cfg.hidden_size;
        let b = seqs.len();
        let t = self.prepare(seqs, sc);
        self.embeddings(seqs, sc);
        let nl = self.layers.len();
        for (li, layer) in self.layers.iter().enumerate() {
            self.layer_forward(layer, seqs, sc, t, li + 1 == nl);
        }

        // pooler (tanh dense on [CLS]) + classifier
        let xc = sc.xc.f32();
        let mut pooled = vec![0f32; h];
        for (bi, o) in out.iter_mut().enumerate().take(b) {
            let xr = &xc[bi * h..bi * h + h];
            for (j, pj) in pooled.iter_mut().enumerate() {
                let w = &self.pooler_w[j * h..j * h + h];
                let mut acc = self.pooler_b[j];
                for k in 0..h {
                    acc += w[k] * xr[k];
                }
                *pj = acc.tanh();
            }
            let mut sc_ = self.cls_b;
            for k in 0..h {
                sc_ += self.cls_w[k] * pooled[k];
            }
            *o = sc_;
        }
    }

    /// Attention output projection + residual + LN, then FFN + residual + LN; result in `x`.
    #[allow(clippy::too_many_arguments)]
    fn tail(
        &self,
        layer: &Layer,
        m: usize,
        ctx: &mut AlignedBuf,
        x: &mut AlignedBuf,
        tmp: &mut AlignedBuf,
        inter: &mut AlignedBuf,
        a16: &mut AlignedBuf,
    ) {
        let isa = self.isa;
        let h = self.cfg.hidden_size;
        let isz = self.cfg.intermediate_size;
        let eps = self.cfg.layer_norm_eps;
        {
            let xs = x.f32();
            layer.attn_out.forward(isa, self.amx, m, ctx.f32(), h, a16, tmp.f32_mut(), h, Epilogue::Residual(xs, h));
        }
        let t = tmp.f32_mut();
        for r in 0..m {
            kernels::layernorm_inplace(isa, &mut t[r * h..r * h + h], &layer.ln1_g, &layer.ln1_b, eps);
        }
        let mut r0 = 0;
        while r0 < m {
            let rows = (m - r0).min(FFN_CHUNK);
            let h1 = &tmp.f32()[r0 * h..];
            layer.inter.forward(isa, self.amx, rows, h1, h, a16, inter.f32_mut(), isz, Epilogue::Act(self.cfg.act));
            let xo = &mut x.f32_mut()[r0 * h..];
            layer.out.forward(isa, self.amx, rows, inter.f32(), isz, a16, xo, h, Epilogue::Residual(h1, h));
            for r in 0..rows {
                kernels::layernorm_inplace(isa, &mut xo[r * h..r * h + h], &layer.ln2_g, &layer.ln2_b, eps);
            }
            r0 += rows;
        }
    }
}
