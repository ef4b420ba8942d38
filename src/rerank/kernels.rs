//! Compute kernels: a register-tiled GEMM (AVX-512 f32 FMA, AVX-512 BF16 `vdpbf16ps`, AMX, AVX2+FMA, NEON,
//! portable fallback) with a fused epilogue (bias, GELU, residual add), and the row operations of a BERT layer
//! (softmax, layernorm, GELU). [`Isa`] names the paths; every one is checked against the same properties (tests).
//!
//! GEMM convention: `C[m, n] = sum_k A[m, k] * B[k, n] (+ bias[n]) (then GELU | + R[m, n])`. `A` is row-major;
//! `B` is read in panels of [`NR`] = 32 columns: element `(k, p*NR + j)` is at `p*panel_stride + k*ldb + j`
//! (packed weights: `panel_stride = K*NR, ldb = NR`; a row-major matrix used directly: `panel_stride = NR`,
//! `ldb` = its row stride). The whole panel row of NR values must be readable even past `n` (pad buffers).
//! Results for columns `>= n` are never written.

#![allow(clippy::needless_range_loop)]

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Columns of one B panel / register tile.
pub const NR: usize = 32;
/// Rows of one register tile (AVX-512: 28 zmm accumulators of the 32 registers).
pub const MR: usize = 14;
/// Rows of one register tile of the 16-register ISAs' kernels (AVX2, NEON), which cover a 32-column panel as two
/// 16-column halves: 6 rows × 16 columns is 12 ymm accumulators, plus two B vectors and one broadcast of A.
pub const MR_SMALL: usize = 6;
/// Columns of one half panel (see [`MR_SMALL`]).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
const HALF: usize = NR / 2;

/// Kernel path, chosen at run time ([`Isa::detect`]) or requested (`PAPERTIDE_CE_ISA`, `EngineOptions::isa`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// Portable Rust (auto-vectorised by the compiler for the build target: SSE2 on baseline x86-64).
    Generic,
    /// AVX2 + FMA (f32 FMA, 6×16 register tile).
    Avx2,
    /// AVX-512F (f32 FMA).
    Avx512,
    /// AVX-512F + AVX-512 BF16 (`vdpbf16ps`).
    Avx512Bf16,
    /// [`Isa::Avx512Bf16`], plus AMX tiles for the bf16 linear layers.
    Amx,
    /// aarch64 Advanced SIMD (f32 FMA, 6×16 register tile).
    Neon,
}

/// The values `PAPERTIDE_CE_ISA` accepts.
pub const ISA_NAMES: &str = "generic, avx2, avx512, amx, neon";

/// Why a kernel path cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IsaError {
    #[error("unknown kernel path {0:?} (expected one of: {ISA_NAMES})")]
    Unknown(String),
    #[error("this CPU lacks {}", .0.join(", "))]
    MissingFeatures(Vec<&'static str>),
    #[error(
        "AMX-BF16 is not usable (the CPU lacks it, the kernel refused the tile state, or PAPERTIDE_CE_NO_AMX is set)"
    )]
    AmxUnusable,
    #[error("{isa} kernels are not built for {arch}")]
    OtherArch { isa: &'static str, arch: &'static str },
}

impl Isa {
    /// The fastest path this CPU supports (f32 speed first; AMX only matters for bf16 and implies the rest).
    pub fn detect() -> Isa {
        [Isa::Amx, Isa::Avx512Bf16, Isa::Avx512, Isa::Avx2, Isa::Neon]
            .into_iter()
            .find(|i| i.check().is_ok())
            .unwrap_or(Isa::Generic)
    }

    /// Every path this CPU supports, portable first (the tests run each).
    pub fn supported() -> Vec<Isa> {
        [Isa::Generic, Isa::Avx2, Isa::Avx512, Isa::Avx512Bf16, Isa::Amx, Isa::Neon]
            .into_iter()
            .filter(|i| i.check().is_ok())
            .collect()
    }

    /// `Ok` when this build and CPU can run the path, else why not.
    pub fn check(self) -> Result<(), IsaError> {
        #[cfg(target_arch = "x86_64")]
        {
            let missing = |feats: &[(&'static str, bool)]| -> Result<(), IsaError> {
                let lack: Vec<&'static str> = feats.iter().filter(|f| !f.1).map(|f| f.0).collect();
                if lack.is_empty() { Ok(()) } else { Err(IsaError::MissingFeatures(lack)) }
            };
            let avx512 = [("avx512f", is_x86_feature_detected!("avx512f"))];
            let bf16 = [
                ("avx512f", is_x86_feature_detected!("avx512f")),
                ("avx512bw", is_x86_feature_detected!("avx512bw")),
                ("avx512vl", is_x86_feature_detected!("avx512vl")),
                ("avx512bf16", is_x86_feature_detected!("avx512bf16")),
            ];
            match self {
                Isa::Generic => Ok(()),
                Isa::Avx2 => {
                    missing(&[("avx2", is_x86_feature_detected!("avx2")), ("fma", is_x86_feature_detected!("fma"))])
                }
                Isa::Avx512 => missing(&avx512),
                Isa::Avx512Bf16 => missing(&bf16),
                Isa::Amx => {
                    missing(&bf16)?;
                    if amx_available() { Ok(()) } else { Err(IsaError::AmxUnusable) }
                }
                Isa::Neon => Err(IsaError::OtherArch { isa: self.name(), arch: std::env::consts::ARCH }),
            }
        }
        #[cfg(target_arch = "aarch64")]
        {
            match self {
                Isa::Generic => Ok(()),
                // Advanced SIMD is part of the aarch64 baseline; detection is a formality.
                Isa::Neon if std::arch::is_aarch64_feature_detected!("neon") => Ok(()),
                Isa::Neon => Err(IsaError::MissingFeatures(vec!["neon"])),
                _ => Err(IsaError::OtherArch { isa: self.name(), arch: std::env::consts::ARCH }),
            }
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        {
            match self {
                Isa::Generic => Ok(()),
                _ => Err(IsaError::OtherArch { isa: self.name(), arch: std::env::consts::ARCH }),
            }
        }
    }

    /// Parses a requested path ([`ISA_NAMES`]); `avx512` means the AVX-512 kernels with `vdpbf16ps` where the CPU
    /// has it, AMX off. Support is checked separately ([`Isa::check`]).
    pub fn parse(s: &str) -> Result<Isa, IsaError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "generic" | "portable" => Ok(Isa::Generic),
            "avx2" => Ok(Isa::Avx2),
            "avx512" => Ok(if Isa::Avx512Bf16.check().is_ok() { Isa::Avx512Bf16 } else { Isa::Avx512 }),
            "amx" => Ok(Isa::Amx),
            "neon" => Ok(Isa::Neon),
            other => Err(IsaError::Unknown(other.to_string())),
        }
    }

    pub fn has_avx512(self) -> bool {
        matches!(self, Isa::Avx512 | Isa::Avx512Bf16 | Isa::Amx)
    }

    /// Whether bf16 dot products run natively (`vdpbf16ps`, AMX) rather than emulated.
    pub fn has_native_bf16(self) -> bool {
        matches!(self, Isa::Avx512Bf16 | Isa::Amx)
    }

    pub fn name(self) -> &'static str {
        match self {
            Isa::Generic => "generic",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
            Isa::Avx512Bf16 => "avx512-bf16",
            Isa::Amx => "amx",
            Isa::Neon => "neon",
        }
    }

    /// Rows of the f32 GEMM's register tile.
    fn mr_f32(self) -> usize {
        match self {
            Isa::Avx2 | Isa::Neon => MR_SMALL,
            _ => MR,
        }
    }
}

/// The path for an engine: `requested` (from `EngineOptions::isa`) if given, else `PAPERTIDE_CE_ISA`, else
/// `PAPERTIDE_CE_GENERIC=1` (the older switch, an alias of `generic`), else the best detected. A path the CPU or
/// build cannot run, or an unknown name, is an error rather than a silent fallback: whoever forces a path wants
/// to measure or test that path.
pub(crate) fn select_isa(requested: Option<Isa>) -> Result<Isa, crate::rerank::RerankError> {
    let err = |requested: String, origin: &'static str, source: IsaError| crate::rerank::RerankError::Isa {
        requested,
        origin,
        source,
    };
    let (isa, origin) = if let Some(i) = requested {
        (i, "EngineOptions::isa")
    } else if let Some(v) = std::env::var_os("PAPERTIDE_CE_ISA").filter(|v| !v.is_empty()) {
        let v = v.to_string_lossy().into_owned();
        (Isa::parse(&v).map_err(|m| err(v.clone(), "PAPERTIDE_CE_ISA", m))?, "PAPERTIDE_CE_ISA")
    } else if std::env::var_os("PAPERTIDE_CE_GENERIC").is_some() {
        (Isa::Generic, "PAPERTIDE_CE_GENERIC")
    } else {
        return Ok(Isa::detect());
    };
    isa.check().map_err(|m| err(isa.name().into(), origin, m))?;
    Ok(isa)
}

/// The SIMD features relevant to the kernels that this CPU reports (for benchmark records).
pub fn cpu_features() -> Vec<&'static str> {
    #[allow(unused_mut)]
    let mut v: Vec<&'static str> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! probe {
            ($($f:tt),*) => { $( if is_x86_feature_detected!($f) { v.push($f); } )* };
        }
        probe!("avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512vnni", "avx512bf16", "avxvnni");
        let l7 = __cpuid_count(7, 0);
        if l7.edx & (1 << 24) != 0 {
            v.push("amx-tile");
        }
        if l7.edx & (1 << 22) != 0 {
            v.push("amx-bf16");
        }
        if amx_available() {
            v.push("amx-usable");
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        macro_rules! probe {
            ($($f:tt),*) => { $( if std::arch::is_aarch64_feature_detected!($f) { v.push($f); } )* };
        }
        probe!("neon", "fp16", "bf16", "i8mm", "dotprod", "sve", "sve2");
    }
    v
}

/// Activation applied in the GEMM epilogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    /// Exact GELU, `x * Phi(x)` (Hugging Face `"gelu"`).
    Gelu,
    /// tanh approximation (`"gelu_new"`, `"gelu_pytorch_tanh"`).
    GeluTanh,
}

/// What happens to `acc + bias` before it is stored.
#[derive(Clone, Copy)]
pub enum Epilogue<'a> {
    None,
    Act(Act),
    /// Adds `r[i * ldr + j]` (a residual connection).
    Residual(&'a [f32], usize),
}

#[derive(Clone, Copy)]
enum EpiRaw {
    None,
    Act(Act),
    Residual(*const f32, usize),
}

/// A read-only view of B (see the module documentation).
#[derive(Clone, Copy)]
pub struct BView<'a> {
    pub data: &'a [f32],
    pub k: usize,
    pub n: usize,
    pub panel_stride: usize,
    pub ldb: usize,
}

impl BView<'_> {
    fn check(&self) {
        if self.k == 0 || self.n == 0 {
            return;
        }
        let np = self.n.div_ceil(NR);
        let last = (np - 1) * self.panel_stride + (self.k - 1) * self.ldb + NR;
        assert!(last <= self.data.len(), "B view out of bounds: needs {last}, has {}", self.data.len());
    }
}

/// Packs a row-major `W[n, k]` (a PyTorch `Linear` weight, out × in) as B = Wᵀ in panels: `[n/NR][k][NR]`.
pub fn pack_f32(w: &[f32], n: usize, k: usize) -> crate::rerank::buf::AlignedBuf {
    assert!(w.len() >= n * k);
    let np = n.div_ceil(NR);
    let mut out = crate::rerank::buf::AlignedBuf::with_f32(np * k * NR);
    let o = out.f32_mut();
    for p in 0..np {
        for j in 0..NR {
            let col = p * NR + j;
            if col >= n {
                break;
            }
            let row = &w[col * k..col * k + k];
            for (kk, &v) in row.iter().enumerate() {
                o[p * k * NR + kk * NR + j] = v;
            }
        }
    }
    out
}

/// Round-to-nearest-even f32 → bf16 bits (NaN kept quiet).
#[inline]
pub fn f32_to_bf16(x: f32) -> u16 {
    half::bf16::from_f32(x).to_bits()
}
#[inline]
pub fn bf16_to_f32(b: u16) -> f32 {
    f32::from_bits((b as u32) << 16)
}

/// Packs `W[n, k]` as bf16 B = Wᵀ for `vdpbf16ps`: `[n/NR][k/2][NR][2]` (k padded to even with zeros).
pub fn pack_bf16(w: &[f32], n: usize, k: usize) -> crate::rerank::buf::AlignedBuf {
    assert!(w.len() >= n * k);
    let np = n.div_ceil(NR);
    let kp = k.div_ceil(2);
    let mut out = crate::rerank::buf::AlignedBuf::with_u16(np * kp * NR * 2);
    let o = out.u16_mut();
    for p in 0..np {
        for j in 0..NR {
            let col = p * NR + j;
            if col >= n {
                break;
            }
            for kk in 0..k {
                o[p * kp * NR * 2 + (kk / 2) * NR * 2 + j * 2 + (kk % 2)] = f32_to_bf16(w[col * k + kk]);
            }
        }
    }
    out
}

/// Converts `m` rows of `k` f32 (stride `lds`) to bf16 rows of `kp = ceil(k/2)*2` (stride `ldd`, padding zeroed).
pub fn convert_bf16(isa: Isa, src: &[f32], m: usize, k: usize, lds: usize, dst: &mut [u16], ldd: usize) {
    let kp = k.div_ceil(2) * 2;
    assert!(ldd >= kp);
    if m == 0 {
        return;
    }
    assert!(src.len() >= (m - 1) * lds + k && dst.len() >= (m - 1) * ldd + kp);
    #[cfg(target_arch = "x86_64")]
    if isa.has_native_bf16() {
        // SAFETY: feature detected; bounds checked above.
        unsafe { convert_bf16_avx512(src, m, k, lds, dst, ldd) };
        return;
    }
    let _ = isa;
    for i in 0..m {
        for kk in 0..k {
            dst[i * ldd + kk] = f32_to_bf16(src[i * lds + kk]);
        }
        if kp > k {
            dst[i * ldd + k] = 0;
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16,avx512bw,avx512vl")]
unsafe fn convert_bf16_avx512(src: &[f32], m: usize, k: usize, lds: usize, dst: &mut [u16], ldd: usize) {
    let kp = k.div_ceil(2) * 2;
    for i in 0..m {
        // SAFETY: row i < m of `src`, which convert_bf16 checked holds (m-1)·lds + k values.
        let s = unsafe { src.as_ptr().add(i * lds) };
        // SAFETY: row i < m of `dst`, which convert_bf16 checked holds (m-1)·ldd + kp values.
        let d = unsafe { dst.as_mut_ptr().add(i * ldd) };
        let mut kk = 0;
        while kk + 16 <= k {
            // SAFETY: kk + 16 <= k: inside both rows; AVX-512 BF16 is this function's target feature, detected by the caller.
            unsafe {
                let v = _mm512_loadu_ps(s.add(kk));
                let h: __m256i = std::mem::transmute(_mm512_cvtneps_pbh(v));
                _mm256_storeu_si256(d.add(kk) as *mut __m256i, h);
            }
            kk += 16;
        }
        while kk < k {
            // SAFETY: kk < k: inside both rows.
            unsafe { *d.add(kk) = f32_to_bf16(*s.add(kk)) };
            kk += 1;
        }
        if kp > k {
            // SAFETY: kp > k means the row has kp = k + 1 slots (ldd >= kp, checked by convert_bf16).
            unsafe { *d.add(k) = 0 };
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn check_gemm(
    m: usize,
    n: usize,
    k: usize,
    a_len: usize,
    lda: usize,
    c_len: usize,
    ldc: usize,
    bias: Option<&[f32]>,
    epi: &Epilogue,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(lda >= k && ldc >= n, "bad strides");
    assert!(a_len >= (m - 1) * lda + k, "A too small");
    assert!(c_len >= (m - 1) * ldc + n, "C too small");
    if let Some(b) = bias {
        assert!(b.len() >= n.div_ceil(NR) * NR, "bias must be padded to a multiple of NR");
    }
    if let Epilogue::Residual(r, ldr) = epi {
        assert!(*ldr >= n && r.len() >= (m - 1) * ldr + n, "residual too small");
    }
}

fn epi_raw(e: Epilogue) -> EpiRaw {
    match e {
        Epilogue::None => EpiRaw::None,
        Epilogue::Act(a) => EpiRaw::Act(a),
        Epilogue::Residual(r, ldr) => EpiRaw::Residual(r.as_ptr(), ldr),
    }
}

/// Rows of A kept hot in L2 per block (about 384 KiB of A), a multiple of the tile's `mr` rows.
fn m_block(k_bytes: usize, mr: usize) -> usize {
    let rows = (384 * 1024 / k_bytes.max(1)).max(mr);
    (rows / mr).max(1) * mr
}

/// f32 GEMM with fused epilogue (see the module documentation).
#[allow(clippy::too_many_arguments)]
pub fn gemm_f32(
    isa: Isa,
    m: usize,
    a: &[f32],
    lda: usize,
    b: &BView,
    bias: Option<&[f32]>,
    c: &mut [f32],
    ldc: usize,
    epi: Epilogue,
) {
    let (n, k) = (b.n, b.k);
    check_gemm(m, n, k, a.len(), lda, c.len(), ldc, bias, &epi);
    b.check();
    if m == 0 || n == 0 {
        return;
    }
    let e = epi_raw(epi);
    let bias_p = bias.map_or(std::ptr::null(), |b| b.as_ptr());
    let np = n.div_ceil(NR);
    let mr = isa.mr_f32();
    let mc = m_block(k * 4, mr);
    let mut m0 = 0;
    while m0 < m {
        let m1 = (m0 + mc).min(m);
        for p in 0..np {
            let nvalid = (n - p * NR).min(NR);
            // SAFETY: p < np = ceil(n / NR) panels, each panel_stride long inside b.data (BView::check above).
            let bp = unsafe { b.data.as_ptr().add(p * b.panel_stride) };
            // SAFETY: p·NR < n, and the bias is padded to np·NR values (check_gemm).
            let biasp = if bias_p.is_null() { bias_p } else { unsafe { bias_p.add(p * NR) } };
            let mut i = m0;
            while i < m1 {
                let rows = (m1 - i).min(mr);
                // SAFETY: all bounds were checked above (rows < m, cols < n, panel within b.data).
                unsafe {
                    let ap = a.as_ptr().add(i * lda);
                    let cp = c.as_mut_ptr().add(i * ldc + p * NR);
                    let ee = match e {
                        EpiRaw::Residual(r, ldr) => EpiRaw::Residual(r.add(i * ldr + p * NR), ldr),
                        x => x,
                    };
                    tile_f32(isa, rows, k, ap, lda, bp, b.ldb, cp, ldc, nvalid, biasp, ee);
                }
                i += rows;
            }
        }
        m0 = m1;
    }
}

/// bf16 GEMM: `a` holds bf16 rows (stride `lda` in u16, `k` padded to even), `b` a [`pack_bf16`] buffer.
#[allow(clippy::too_many_arguments)]
pub fn gemm_bf16(
    isa: Isa,
    m: usize,
    n: usize,
    k: usize,
    a: &[u16],
    lda: usize,
    b: &[u16],
    bias: Option<&[f32]>,
    c: &mut [f32],
    ldc: usize,
    epi: Epilogue,
) {
    let kp = k.div_ceil(2);
    check_gemm(m, n, kp * 2, a.len(), lda, c.len(), ldc, bias, &epi);
    let np = n.div_ceil(NR);
    assert!(b.len() >= np * kp * NR * 2, "packed bf16 B too small");
    if m == 0 || n == 0 {
        return;
    }
    let e = epi_raw(epi);
    let bias_p = bias.map_or(std::ptr::null(), |b| b.as_ptr());
    let mc = m_block(k * 2, MR);
    let mut m0 = 0;
    while m0 < m {
        let m1 = (m0 + mc).min(m);
        for p in 0..np {
            let nvalid = (n - p * NR).min(NR);
            // SAFETY: p < np panels of kp·NR·2 values, inside `b` (checked above).
            let bp = unsafe { b.as_ptr().add(p * kp * NR * 2) };
            // SAFETY: p·NR < n, and the bias is padded to np·NR values (check_gemm).
            let biasp = if bias_p.is_null() { bias_p } else { unsafe { bias_p.add(p * NR) } };
            let mut i = m0;
            while i < m1 {
                let rows = (m1 - i).min(MR);
                // SAFETY: bounds checked above.
                unsafe {
                    let ap = a.as_ptr().add(i * lda);
                    let cp = c.as_mut_ptr().add(i * ldc + p * NR);
                    let ee = match e {
                        EpiRaw::Residual(r, ldr) => EpiRaw::Residual(r.add(i * ldr + p * NR), ldr),
                        x => x,
                    };
                    tile_bf16(isa, rows, kp, ap, lda, bp, cp, ldc, nvalid, biasp, ee);
                }
                i += rows;
            }
        }
        m0 = m1;
    }
}

macro_rules! dispatch_rows {
    ($rows:expr, $f:ident, $($arg:expr),*) => {
        match $rows {
            1 => $f::<1>($($arg),*), 2 => $f::<2>($($arg),*), 3 => $f::<3>($($arg),*), 4 => $f::<4>($($arg),*),
            5 => $f::<5>($($arg),*), 6 => $f::<6>($($arg),*), 7 => $f::<7>($($arg),*), 8 => $f::<8>($($arg),*),
            9 => $f::<9>($($arg),*), 10 => $f::<10>($($arg),*), 11 => $f::<11>($($arg),*), 12 => $f::<12>($($arg),*),
            13 => $f::<13>($($arg),*), 14 => $f::<14>($($arg),*),
            _ => unreachable!(),
        }
    };
}

/// [`dispatch_rows!`] for the [`MR_SMALL`]-row kernels.
macro_rules! dispatch_rows_small {
    ($rows:expr, $f:ident, $($arg:expr),*) => {
        match $rows {
            1 => $f::<1>($($arg),*), 2 => $f::<2>($($arg),*), 3 => $f::<3>($($arg),*), 4 => $f::<4>($($arg),*),
            5 => $f::<5>($($arg),*), 6 => $f::<6>($($arg),*),
            _ => unreachable!(),
        }
    };
}

/// Runs a 16-column kernel over the halves of a 32-column panel that hold valid columns: `f(col0, nvalid, bias,
/// epilogue)`, with the bias and residual pointers advanced to the half.
///
/// # Safety
/// `bias` (if not null) and the residual pointer must be valid for the panel's columns.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[inline(always)]
unsafe fn over_halves(nvalid: usize, bias: *const f32, e: EpiRaw, mut f: impl FnMut(usize, usize, *const f32, EpiRaw)) {
    for c0 in [0, HALF] {
        if nvalid <= c0 {
            break;
        }
        // SAFETY: c0 < nvalid, and a non-null bias points at NR values for this tile (the caller's contract).
        let bh = if bias.is_null() { bias } else { unsafe { bias.add(c0) } };
        let eh = match e {
            // SAFETY: c0 < nvalid <= the columns left in each residual row (the caller's contract).
            EpiRaw::Residual(r, ldr) => EpiRaw::Residual(unsafe { r.add(c0) }, ldr),
            x => x,
        };
        f(c0, (nvalid - c0).min(HALF), bh, eh);
    }
}

#[allow(clippy::too_many_arguments)]
#[inline]
unsafe fn tile_f32(
    isa: Isa,
    rows: usize,
    k: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    nvalid: usize,
    bias: *const f32,
    e: EpiRaw,
) {
    #[cfg(target_arch = "x86_64")]
    if isa.has_avx512() {
        // SAFETY: the caller's tile contract (A: rows × k at stride lda, B: k × NR, C and the epilogue: rows × nvalid) is the kernel's; AVX-512F was detected (has_avx512).
        unsafe { dispatch_rows!(rows, kern_f32_avx512, k, a, lda, b, ldb, c, ldc, nvalid, bias, e) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2 {
        // SAFETY: as above, split into two 16-column halves at c0 < nvalid; AVX2 and FMA were detected (Isa::Avx2).
        unsafe {
            over_halves(nvalid, bias, e, |c0, nv, bh, eh| {
                dispatch_rows_small!(rows, kern_f32_avx2, k, a, lda, b.add(c0), ldb, c.add(c0), ldc, nv, bh, eh)
            })
        };
        return;
    }
    #[cfg(target_arch = "aarch64")]
    if isa == Isa::Neon {
        // SAFETY: as above, split into two 16-column halves at c0 < nvalid; NEON is part of every aarch64 CPU (Isa::Neon).
        unsafe {
            over_halves(nvalid, bias, e, |c0, nv, bh, eh| {
                dispatch_rows_small!(rows, kern_f32_neon, k, a, lda, b.add(c0), ldb, c.add(c0), ldc, nv, bh, eh)
            })
        };
        return;
    }
    let _ = isa;
    // SAFETY: the caller's tile contract is the generic kernel's; it uses no special instructions.
    unsafe { dispatch_rows!(rows, kern_f32_generic, k, a, lda, b, ldb, c, ldc, nvalid, bias, e) };
}

#[allow(clippy::too_many_arguments)]
#[inline]
unsafe fn tile_bf16(
    isa: Isa,
    rows: usize,
    kp: usize,
    a: *const u16,
    lda: usize,
    b: *const u16,
    c: *mut f32,
    ldc: usize,
    nvalid: usize,
    bias: *const f32,
    e: EpiRaw,
) {
    #[cfg(target_arch = "x86_64")]
    if isa.has_native_bf16() {
        // SAFETY: the caller's tile contract is the kernel's; AVX-512 BF16 was detected (has_native_bf16).
        unsafe { dispatch_rows!(rows, kern_bf16_avx512, kp, a, lda, b, c, ldc, nvalid, bias, e) };
        return;
    }
    let _ = isa;
    // SAFETY: the caller's tile contract is the generic kernel's; it uses no special instructions.
    unsafe { dispatch_rows!(rows, kern_bf16_generic, kp, a, lda, b, c, ldc, nvalid, bias, e) };
}

// ---------------------------------------------------------------------------------------------------------------
// portable kernels

#[inline(always)]
fn epilogue_scalar(v: f32, e: EpiRaw, r: *const f32, j: usize) -> f32 {
    match e {
        EpiRaw::None => v,
        EpiRaw::Act(Act::Gelu) => gelu_scalar(v),
        EpiRaw::Act(Act::GeluTanh) => gelu_tanh_scalar(v),
        // SAFETY: j < nvalid: inside the residual row the caller passed for this tile.
        EpiRaw::Residual(..) => v + unsafe { *r.add(j) },
    }
}

#[allow(clippy::too_many_arguments)]
unsafe fn kern_f32_generic<const R: usize>(
    k: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    nvalid: usize,
    bias: *const f32,
    e: EpiRaw,
) {
    let mut acc = [[0f32; NR]; R];
    for kk in 0..k {
        // SAFETY: kk < k rows of NR values in the packed panel (the tile contract).
        let brow: &[f32; NR] = unsafe { &*(b.add(kk * ldb) as *const [f32; NR]) };
        for (i, acc_i) in acc.iter_mut().enumerate() {
            // SAFETY: i < R rows, kk < k columns of the A tile (the tile contract).
            let av = unsafe { *a.add(i * lda + kk) };
            for j in 0..NR {
                acc_i[j] += av * brow[j];
            }
        }
    }
    // SAFETY: the tile contract: C holds R rows × nvalid columns at stride ldc.
    unsafe { store_generic::<R>(&acc, c, ldc, nvalid, bias, e) };
}

unsafe fn store_generic<const R: usize>(
    acc: &[[f32; NR]; R],
    c: *mut f32,
    ldc: usize,
    nvalid: usize,
    bias: *const f32,
    e: EpiRaw,
) {
    for (i, acc_i) in acc.iter().enumerate() {
        let r = match e {
            // SAFETY: i < R rows of the residual, ldr apart (the tile contract).
            EpiRaw::Residual(r, ldr) => unsafe { r.add(i * ldr) },
            _ => std::ptr::null(),
        };
        for j in 0..nvalid {
            let mut v = acc_i[j];
            if !bias.is_null() {
                // SAFETY: j < nvalid, and a non-null bias holds NR values (the tile contract).
                v += unsafe { *bias.add(j) };
            }
            // SAFETY: i < R, j < nvalid: inside the C tile.
            unsafe { *c.add(i * ldc + j) = epilogue_scalar(v, e, r, j) };
        }
    }
}

#[allow(clippy::too_many_arguments)]
unsafe fn kern_bf16_generic<const R: usize>(
    kp: usize,
    a: *const u16,
    lda: usize,
    b: *const u16,
    c: *mut f32,
    ldc: usize,
    nvalid: usize,
    bias: *const f32,
    e: EpiRaw,
) {
    let mut acc = [[0f32; NR]; R];
    for kk in 0..kp {
        // SAFETY: kk < kp/2 pairs of the packed panel, 2·NR values each (the tile contract).
        let brow: &[u16; 2 * NR] = unsafe { &*(b.add(kk * 2 * NR) as *const [u16; 2 * NR]) };
        for (i, acc_i) in acc.iter_mut().enumerate() {
            // SAFETY: i < R rows and 2·kk < kp columns of the A tile (the tile contract).
            let a0 = bf16_to_f32(unsafe { *a.add(i * lda + 2 * kk) });
            // SAFETY: 2·kk + 1 < kp, kp even: inside the A tile's row.
            let a1 = bf16_to_f32(unsafe { *a.add(i * lda + 2 * kk + 1) });
            for j in 0..NR {
                acc_i[j] += a0 * bf16_to_f32(brow[2 * j]) + a1 * bf16_to_f32(brow[2 * j + 1]);
            }
        }
    }
    // SAFETY: the tile contract: C holds R rows × nvalid columns at stride ldc.
    unsafe { store_generic::<R>(&acc, c, ldc, nvalid, bias, e) };
}

// ---------------------------------------------------------------------------------------------------------------
// AVX-512 kernels

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn masks(nvalid: usize) -> (u16, u16) {
    let m0 = if nvalid >= 16 { 0xFFFF } else { ((1u32 << nvalid) - 1) as u16 };
    let m1 = if nvalid >= 32 {
        0xFFFF
    } else if nvalid > 16 {
        ((1u32 << (nvalid - 16)) - 1) as u16
    } else {
        0
    };
    (m0, m1)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn store_avx512<const R: usize>(
    acc0: &[__m512; R],
    acc1: &[__m512; R],
    c: *mut f32,
    ldc: usize,
    nvalid: usize,
    bias: *const f32,
    e: EpiRaw,
) {
    let (m0, m1) = masks(nvalid);
    let (bv0, bv1) = if bias.is_null() {
        (_mm512_setzero_ps(), _mm512_setzero_ps())
    } else {
        // SAFETY: a non-null bias holds NR = 32 values for this tile (padded: check_gemm).
        unsafe { (_mm512_loadu_ps(bias), _mm512_loadu_ps(bias.add(16))) }
    };
    for i in 0..R {
        let mut v0 = _mm512_add_ps(acc0[i], bv0);
        let mut v1 = _mm512_add_ps(acc1[i], bv1);
        match e {
            EpiRaw::None => {}
            EpiRaw::Act(Act::Gelu) => {
                // SAFETY: AVX-512F is this function's target feature.
                v0 = unsafe { gelu512(v0) };
                if m1 != 0 {
                    // SAFETY: AVX-512F is this function's target feature.
                    v1 = unsafe { gelu512(v1) };
                }
            }
            EpiRaw::Act(Act::GeluTanh) => {
                // SAFETY: AVX-512F is this function's target feature.
                v0 = unsafe { gelu_tanh512(v0) };
                if m1 != 0 {
                    // SAFETY: AVX-512F is this function's target feature.
                    v1 = unsafe { gelu_tanh512(v1) };
                }
            }
            // SAFETY: row i < R of the residual; the masks m0/m1 load only its nvalid columns.
            EpiRaw::Residual(r, ldr) => unsafe {
                let rp = r.add(i * ldr);
                v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, rp));
                v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, rp.add(16)));
            },
        }
        // SAFETY: row i < R of C; full stores only when all 32 columns are valid, masked ones otherwise.
        unsafe {
            let cp = c.add(i * ldc);
            if m0 == 0xFFFF && m1 == 0xFFFF {
                _mm512_storeu_ps(cp, v0);
                _mm512_storeu_ps(cp.add(16), v1);
            } else {
                _mm512_mask_storeu_ps(cp, m0, v0);
                _mm512_mask_storeu_ps(cp.add(16), m1, v1);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn kern_f32_avx512<const R: usize>(
    k: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    nvalid: usize,
    bias: *const f32,
    e: EpiRaw,
) {
    let mut acc0 = [_mm512_setzero_ps(); R];
    let mut acc1 = [_mm512_setzero_ps(); R];
    for kk in 0..k {
        // SAFETY: kk < k rows of 32 values in the packed panel; i < R rows, kk < k columns of A (the tile contract).
        unsafe {
            let bp = b.add(kk * ldb);
            let b0 = _mm512_loadu_ps(bp);
            let b1 = _mm512_loadu_ps(bp.add(16));
            for i in 0..R {
                let av = _mm512_set1_ps(*a.add(i * lda + kk));
                acc0[i] = _mm512_fmadd_ps(av, b0, acc0[i]);
                acc1[i] = _mm512_fmadd_ps(av, b1, acc1[i]);
            }
        }
    }
    // SAFETY: the tile contract: C holds R rows × nvalid columns at stride ldc.
    unsafe { store_avx512::<R>(&acc0, &acc1, c, ldc, nvalid, bias, e) };
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16,avx512bw,avx512vl")]
#[allow(clippy::too_many_arguments)]
unsafe fn kern_bf16_avx512<const R: usize>(
    kp: usize,
    a: *const u16,
    lda: usize,
    b: *const u16,
    c: *mut f32,
    ldc: usize,
    nvalid: usize,
    bias: *const f32,
    e: EpiRaw,
) {
    let mut acc0 = [_mm512_setzero_ps(); R];
    let mut acc1 = [_mm512_setzero_ps(); R];
    for kk in 0..kp {
        // SAFETY: kk < kp/2 pairs of the packed panel; i < R rows of A (the tile contract); AVX-512 BF16 detected.
        unsafe {
            let bp = b.add(kk * 2 * NR);
            let b0: __m512bh = std::mem::transmute(_mm512_loadu_si512(bp as *const _));
            let b1: __m512bh = std::mem::transmute(_mm512_loadu_si512(bp.add(NR) as *const _));
            for i in 0..R {
                let pair = std::ptr::read_unaligned(a.add(i * lda + 2 * kk) as *const i32);
                let av: __m512bh = std::mem::transmute(_mm512_set1_epi32(pair));
                acc0[i] = _mm512_dpbf16_ps(acc0[i], av, b0);
                acc1[i] = _mm512_dpbf16_ps(acc1[i], av, b1);
            }
        }
    }
    // SAFETY: the tile contract: C holds R rows × nvalid columns at stride ldc.
    unsafe { store_avx512::<R>(&acc0, &acc1, c, ldc, nvalid, bias, e) };
}

// ---------------------------------------------------------------------------------------------------------------
// AVX2 + FMA kernels (16 ymm registers): a 6×16 tile, run over the two halves of each 32-column panel, so the
// packed weights and the BView convention are those of the AVX-512 kernel.

/// Lanes `j < n` of an 8-lane vector set (for `vmaskmovps` loads and stores of a tail).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn mask8(n: usize) -> __m256i {
    _mm256_cmpgt_epi32(_mm256_set1_epi32(n.min(8) as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn store_avx2<const R: usize>(
    acc0: &[__m256; R],
    acc1: &[__m256; R],
    c: *mut f32,
    ldc: usize,
    nvalid: usize,
    bias: *const f32,
    e: EpiRaw,
) {
    let full = nvalid == HALF;
    let (m0, m1) = (mask8(nvalid), mask8(nvalid.saturating_sub(8)));
    let (bv0, bv1) = if bias.is_null() {
        (_mm256_setzero_ps(), _mm256_setzero_ps())
    } else {
        // bias is padded to a multiple of NR, so the whole half is readable
        // SAFETY: a non-null bias holds the 16 values of this half-tile (padded: check_gemm; over_halves offsets it).
        unsafe { (_mm256_loadu_ps(bias), _mm256_loadu_ps(bias.add(8))) }
    };
    for i in 0..R {
        let mut v0 = _mm256_add_ps(acc0[i], bv0);
        let mut v1 = _mm256_add_ps(acc1[i], bv1);
        match e {
            EpiRaw::None => {}
            EpiRaw::Act(Act::Gelu) => {
                // SAFETY: AVX2 and FMA are this function's target features.
                v0 = unsafe { gelu256(v0) };
                if nvalid > 8 {
                    // SAFETY: AVX2 and FMA are this function's target features.
                    v1 = unsafe { gelu256(v1) };
                }
            }
            EpiRaw::Act(Act::GeluTanh) => {
                // SAFETY: AVX2 and FMA are this function's target features.
                v0 = unsafe { gelu_tanh256(v0) };
                if nvalid > 8 {
                    // SAFETY: AVX2 and FMA are this function's target features.
                    v1 = unsafe { gelu_tanh256(v1) };
                }
            }
            // SAFETY: row i < R of the residual; the masks load only its nvalid columns.
            EpiRaw::Residual(r, ldr) => unsafe {
                // the residual is only valid for the first nvalid columns
                let rp = r.add(i * ldr);
                v0 = _mm256_add_ps(v0, _mm256_maskload_ps(rp, m0));
                v1 = _mm256_add_ps(v1, _mm256_maskload_ps(rp.add(8), m1));
            },
        }
        // SAFETY: row i < R of C; full stores only when all 16 columns are valid, masked ones otherwise.
        unsafe {
            let cp = c.add(i * ldc);
            if full {
                _mm256_storeu_ps(cp, v0);
                _mm256_storeu_ps(cp.add(8), v1);
            } else {
                _mm256_maskstore_ps(cp, m0, v0);
                _mm256_maskstore_ps(cp.add(8), m1, v1);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn kern_f32_avx2<const R: usize>(
    k: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    nvalid: usize,
    bias: *const f32,
    e: EpiRaw,
) {
    let mut acc0 = [_mm256_setzero_ps(); R];
    let mut acc1 = [_mm256_setzero_ps(); R];
    for kk in 0..k {
        // SAFETY: kk < k rows of the packed panel (16 values from this half's offset); i < R rows, kk < k columns of A.
        unsafe {
            let bp = b.add(kk * ldb);
            let b0 = _mm256_loadu_ps(bp);
            let b1 = _mm256_loadu_ps(bp.add(8));
            for i in 0..R {
                let av = _mm256_broadcast_ss(&*a.add(i * lda + kk));
                acc0[i] = _mm256_fmadd_ps(av, b0, acc0[i]);
                acc1[i] = _mm256_fmadd_ps(av, b1, acc1[i]);
            }
        }
    }
    // SAFETY: the tile contract: C holds R rows × nvalid columns at stride ldc.
    unsafe { store_avx2::<R>(&acc0, &acc1, c, ldc, nvalid, bias, e) };
}

// ---------------------------------------------------------------------------------------------------------------
// aarch64 NEON kernels: the AVX2 kernels' shape (a 6×16 tile over the halves of each 32-column panel, 24 of the 32
// q registers as accumulators); tails are handled through a stack buffer or scalar code, NEON having no masks.

#[cfg(target_arch = "aarch64")]
use std::arch::aarch64::*;

#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon")]
#[inline]
unsafe fn store_neon<const R: usize>(
    acc: &[[float32x4_t; 4]; R],
    c: *mut f32,
    ldc: usize,
    nvalid: usize,
    bias: *const f32,
    e: EpiRaw,
) {
    let full = nvalid == HALF;
    let mut bv = [vdupq_n_f32(0.0); 4];
    if !bias.is_null() {
        for j in 0..4 {
            // bias is padded to a multiple of NR, so the whole half is readable
            // SAFETY: j < 4: the 16 values of this half-tile; the bias is padded to a multiple of NR (check_gemm).
            bv[j] = unsafe { vld1q_f32(bias.add(4 * j)) };
        }
    }
    for i in 0..R {
        let mut v = [vdupq_n_f32(0.0); 4];
        for j in 0..4 {
            v[j] = vaddq_f32(acc[i][j], bv[j]);
        }
        match e {
            EpiRaw::None => {}
            EpiRaw::Act(act) => {
                for j in 0..4 {
                    if 4 * j < nvalid {
                        v[j] = match act {
                            // SAFETY: NEON is this function's target feature.
                            Act::Gelu => unsafe { gelu_neon(v[j]) },
                            // SAFETY: NEON is this function's target feature.
                            Act::GeluTanh => unsafe { gelu_tanh_neon(v[j]) },
                        };
                    }
                }
            }
            EpiRaw::Residual(r, ldr) => {
                // the residual is only valid for the first nvalid columns
                let mut rb = [0f32; HALF];
                // SAFETY: row i < R of the residual holds nvalid <= HALF = rb.len() valid columns (the tile contract).
                unsafe { std::ptr::copy_nonoverlapping(r.add(i * ldr), rb.as_mut_ptr(), nvalid) };
                for j in 0..4 {
                    // SAFETY: j < 4: inside rb's 16 values.
                    v[j] = vaddq_f32(v[j], unsafe { vld1q_f32(rb.as_ptr().add(4 * j)) });
                }
            }
        }
        // SAFETY: row i < R of the C tile (the tile contract).
        let cp = unsafe { c.add(i * ldc) };
        if full {
            for j in 0..4 {
                // SAFETY: full: all 16 columns of this row are valid.
                unsafe { vst1q_f32(cp.add(4 * j), v[j]) };
            }
        } else {
            let mut ob = [0f32; HALF];
            for j in 0..4 {
                // SAFETY: j < 4: inside ob's 16 values.
                unsafe { vst1q_f32(ob.as_mut_ptr().add(4 * j), v[j]) };
            }
            // SAFETY: nvalid <= 16 valid columns of the C row; ob holds 16.
            unsafe { std::ptr::copy_nonoverlapping(ob.as_ptr(), cp, nvalid) };
        }
    }
}

#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon")]
#[allow(clippy::too_many_arguments)]
unsafe fn kern_f32_neon<const R: usize>(
    k: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    nvalid: usize,
    bias: *const f32,
    e: EpiRaw,
) {
    let mut acc = [[vdupq_n_f32(0.0); 4]; R];
    for kk in 0..k {
        // SAFETY: kk < k rows of the packed panel (16 values from this half's offset); i < R rows, kk < k columns of A.
        unsafe {
            let bp = b.add(kk * ldb);
            let bv = [vld1q_f32(bp), vld1q_f32(bp.add(4)), vld1q_f32(bp.add(8)), vld1q_f32(bp.add(12))];
            for i in 0..R {
                let av = vld1q_dup_f32(a.add(i * lda + kk));
                for j in 0..4 {
                    acc[i][j] = vfmaq_f32(acc[i][j], bv[j], av);
                }
            }
        }
    }
    // SAFETY: the tile contract: C holds R rows × nvalid columns at stride ldc.
    unsafe { store_neon::<R>(&acc, c, ldc, nvalid, bias, e) };
}

/// [`exp256`] on 4 lanes.
#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon")]
#[inline]
unsafe fn exp_neon(x: float32x4_t) -> float32x4_t {
    let x = vmaxq_f32(vminq_f32(x, vdupq_n_f32(88.0)), vdupq_n_f32(-100.0));
    let n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(LOG2E)));
    let r = vfmsq_f32(x, n, vdupq_n_f32(LN2_HI));
    let r = vfmsq_f32(r, n, vdupq_n_f32(LN2_LO));
    let mut p = vdupq_n_f32(1.0 / 5040.0);
    for c in [1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
        p = vfmaq_f32(vdupq_n_f32(c), p, r);
    }
    let ni = vcvtq_s32_f32(n);
    let n1 = vshrq_n_s32::<1>(ni);
    let n2 = vsubq_s32(ni, n1);
    let pow2 = |m: int32x4_t| vreinterpretq_f32_s32(vshlq_n_s32::<23>(vaddq_s32(m, vdupq_n_s32(127))));
    vmulq_f32(vmulq_f32(p, pow2(n1)), pow2(n2))
}

#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon")]
#[inline]
unsafe fn gelu_neon(x: float32x4_t) -> float32x4_t {
    let ax = vmulq_f32(vabsq_f32(x), vdupq_n_f32(FRAC_1_SQRT2));
    let one = vdupq_n_f32(1.0);
    let t = vdivq_f32(one, vfmaq_f32(one, ax, vdupq_n_f32(ERF_P)));
    let mut p = vdupq_n_f32(ERF_A[4]);
    for c in [ERF_A[3], ERF_A[2], ERF_A[1], ERF_A[0]] {
        p = vfmaq_f32(vdupq_n_f32(c), p, t);
    }
    // SAFETY: exp_neon needs only NEON, this function's target feature.
    let e = unsafe { exp_neon(vnegq_f32(vmulq_f32(ax, ax))) };
    let half_q = vmulq_f32(vmulq_f32(p, t), vmulq_f32(e, vdupq_n_f32(0.5)));
    let neg = vcltq_f32(x, vdupq_n_f32(0.0));
    vmulq_f32(x, vbslq_f32(neg, half_q, vsubq_f32(one, half_q)))
}

#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon")]
#[inline]
unsafe fn gelu_tanh_neon(x: float32x4_t) -> float32x4_t {
    let x3 = vmulq_f32(vmulq_f32(x, x), x);
    let u = vmulq_f32(vdupq_n_f32(SQRT_2_OVER_PI), vfmaq_f32(x, x3, vdupq_n_f32(0.044_715)));
    // SAFETY: exp_neon needs only NEON, this function's target feature.
    let e = unsafe { exp_neon(vmulq_f32(u, vdupq_n_f32(-2.0))) };
    vdivq_f32(x, vaddq_f32(vdupq_n_f32(1.0), e))
}

#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon")]
unsafe fn gelu_inplace_neon(act: Act, x: &mut [f32]) {
    let mut chunks = x.chunks_exact_mut(4);
    for ch in &mut chunks {
        // SAFETY: the chunk holds exactly 4 values (chunks_exact_mut).
        unsafe {
            let v = vld1q_f32(ch.as_ptr());
            let y = match act {
                Act::Gelu => gelu_neon(v),
                Act::GeluTanh => gelu_tanh_neon(v),
            };
            vst1q_f32(ch.as_mut_ptr(), y);
        }
    }
    for v in chunks.into_remainder() {
        *v = match act {
            Act::Gelu => gelu_scalar(*v),
            Act::GeluTanh => gelu_tanh_scalar(*v),
        };
    }
}

#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon")]
unsafe fn softmax_neon(x: &mut [f32]) {
    let n4 = x.len() / 4 * 4;
    let mut mxv = vdupq_n_f32(f32::NEG_INFINITY);
    for i in (0..n4).step_by(4) {
        // SAFETY: i + 4 <= n4 <= n: inside x.
        mxv = vmaxq_f32(mxv, unsafe { vld1q_f32(x.as_ptr().add(i)) });
    }
    let mx = x[n4..].iter().copied().fold(vmaxvq_f32(mxv), f32::max);
    let mut sv = vdupq_n_f32(0.0);
    for i in (0..n4).step_by(4) {
        // SAFETY: i + 4 <= n4 <= n: inside x.
        unsafe {
            let p = x.as_mut_ptr().add(i);
            let e = exp_neon(vsubq_f32(vld1q_f32(p), vdupq_n_f32(mx)));
            sv = vaddq_f32(sv, e);
            vst1q_f32(p, e);
        }
    }
    let mut s = vaddvq_f32(sv);
    for v in &mut x[n4..] {
        *v = (*v - mx).exp();
        s += *v;
    }
    let inv = 1.0 / s;
    for v in x.iter_mut() {
        *v *= inv;
    }
}

#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon")]
unsafe fn layernorm_neon(x: &mut [f32], g: &[f32], b: &[f32], eps: f32) {
    let n = x.len();
    let n4 = n / 4 * 4;
    let mut sv = vdupq_n_f32(0.0);
    for i in (0..n4).step_by(4) {
        // SAFETY: i + 4 <= n4 <= n: inside x.
        sv = vaddq_f32(sv, unsafe { vld1q_f32(x.as_ptr().add(i)) });
    }
    let mean = (vaddvq_f32(sv) + x[n4..].iter().sum::<f32>()) / n as f32;
    let mv = vdupq_n_f32(mean);
    let mut s2 = vdupq_n_f32(0.0);
    for i in (0..n4).step_by(4) {
        // SAFETY: i + 4 <= n4 <= n: inside x.
        let d = vsubq_f32(unsafe { vld1q_f32(x.as_ptr().add(i)) }, mv);
        s2 = vfmaq_f32(s2, d, d);
    }
    let var = (vaddvq_f32(s2) + x[n4..].iter().map(|v| (v - mean) * (v - mean)).sum::<f32>()) / n as f32;
    let rstd = 1.0 / (var + eps).sqrt();
    let rv = vdupq_n_f32(rstd);
    for i in (0..n4).step_by(4) {
        // SAFETY: i + 4 <= n4 <= n: inside x, and g and b are at least n long (layernorm_inplace).
        unsafe {
            let p = x.as_mut_ptr().add(i);
            let d = vmulq_f32(vsubq_f32(vld1q_f32(p), mv), rv);
            vst1q_f32(p, vfmaq_f32(vld1q_f32(b.as_ptr().add(i)), d, vld1q_f32(g.as_ptr().add(i))));
        }
    }
    for i in n4..n {
        x[i] = (x[i] - mean) * rstd * g[i] + b[i];
    }
}

// ---------------------------------------------------------------------------------------------------------------
// elementwise math

const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
// Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7)
const ERF_P: f32 = 0.327_591_1;
const ERF_A: [f32; 5] = [0.254_829_6, -0.284_496_74, 1.421_413_7, -1.453_152_1, 1.061_405_4];
const FRAC_1_SQRT2: f32 = std::f32::consts::FRAC_1_SQRT_2;
const SQRT_2_OVER_PI: f32 = 0.797_884_6;

/// `erfc(x)` for `x >= 0` (A&S 7.1.26).
#[inline(always)]
fn erfc_pos_scalar(x: f32) -> f32 {
    let t = 1.0 / (1.0 + ERF_P * x);
    let p = ERF_A[0] + t * (ERF_A[1] + t * (ERF_A[2] + t * (ERF_A[3] + t * ERF_A[4])));
    p * t * (-x * x).exp()
}

/// Exact (erf) GELU, scalar.
#[inline]
pub fn gelu_scalar(x: f32) -> f32 {
    let q = erfc_pos_scalar(x.abs() * FRAC_1_SQRT2);
    // Phi(x) = 1 - q/2 for x >= 0, q/2 for x < 0
    if x >= 0.0 { x * (1.0 - 0.5 * q) } else { x * 0.5 * q }
}

/// tanh-approximated GELU, scalar.
#[inline]
pub fn gelu_tanh_scalar(x: f32) -> f32 {
    let u = SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x);
    x / (1.0 + (-2.0 * u).exp())
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
/// Vectorised `exp` (relative error ~2e-7), inputs clamped to [-100, 88].
///
/// # Safety
/// The CPU must support AVX-512F.
pub unsafe fn exp512(x: __m512) -> __m512 {
    let x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.0)), _mm512_set1_ps(-100.0));
    let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm512_mul_ps(
        x,
        _mm512_set1_ps(LOG2E),
    ));
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_HI), x);
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_LO), r);
    let mut p = _mm512_set1_ps(1.0 / 5040.0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0 / 720.0));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0 / 120.0));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0 / 24.0));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0 / 6.0));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0));
    _mm512_scalef_ps(p, n)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn gelu512(x: __m512) -> __m512 {
    let ax = _mm512_mul_ps(_mm512_abs_ps(x), _mm512_set1_ps(FRAC_1_SQRT2));
    // SAFETY: recip512 needs only AVX-512F, this function's target feature.
    let t = unsafe { recip512(_mm512_fmadd_ps(ax, _mm512_set1_ps(ERF_P), _mm512_set1_ps(1.0))) };
    let mut p = _mm512_set1_ps(ERF_A[4]);
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(ERF_A[3]));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(ERF_A[2]));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(ERF_A[1]));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(ERF_A[0]));
    // SAFETY: exp512 needs only AVX-512F, this function's target feature.
    let e = unsafe { exp512(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(ax, ax))) };
    let half_q = _mm512_mul_ps(_mm512_mul_ps(p, t), _mm512_mul_ps(e, _mm512_set1_ps(0.5)));
    let neg = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(x, _mm512_setzero_ps());
    let phi = _mm512_mask_blend_ps(neg, _mm512_sub_ps(_mm512_set1_ps(1.0), half_q), half_q);
    _mm512_mul_ps(x, phi)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn gelu_tanh512(x: __m512) -> __m512 {
    let x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
    let u = _mm512_mul_ps(_mm512_set1_ps(SQRT_2_OVER_PI), _mm512_fmadd_ps(x3, _mm512_set1_ps(0.044_715), x));
    // SAFETY: exp512 needs only AVX-512F, this function's target feature.
    let e = unsafe { exp512(_mm512_mul_ps(u, _mm512_set1_ps(-2.0))) };
    // SAFETY: recip512 needs only AVX-512F, this function's target feature.
    _mm512_mul_ps(x, unsafe { recip512(_mm512_add_ps(_mm512_set1_ps(1.0), e)) })
}

/// `1 / d` for `d >= 1` (finite or +inf): `rcp14` refined by one Newton step (relative error ~1e-8), much cheaper
/// than a 512-bit division.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn recip512(d: __m512) -> __m512 {
    let r = _mm512_rcp14_ps(d);
    // r * (2 - d r); for d = +inf, rcp14 gives 0 and the step keeps 0
    let corr = _mm512_fnmadd_ps(d, r, _mm512_set1_ps(2.0));
    let refined = _mm512_mul_ps(r, corr);
    let is_zero = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(r, _mm512_setzero_ps());
    _mm512_mask_blend_ps(is_zero, refined, r)
}

/// Vectorised `exp` (relative error ~2e-7), inputs clamped to [-100, 88]: [`exp512`] on 8 lanes. AVX2 has no
/// `scalef`, so `2^n` is built in the exponent field, as two factors because `n` reaches -145 (subnormal results).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
pub unsafe fn exp256(x: __m256) -> __m256 {
    let x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.0)), _mm256_set1_ps(-100.0));
    let n =
        _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(x, _mm256_set1_ps(LOG2E)));
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_HI), x);
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_LO), r);
    let mut p = _mm256_set1_ps(1.0 / 5040.0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0 / 720.0));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0 / 120.0));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0 / 24.0));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0 / 6.0));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0));
    // n in [-145, 127]: 2^n = 2^n1 * 2^n2 with both halves in the normal range [-73, 64]
    let ni = _mm256_cvtps_epi32(n);
    let n1 = _mm256_srai_epi32::<1>(ni);
    let n2 = _mm256_sub_epi32(ni, n1);
    let pow2 = |m: __m256i| _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(m, _mm256_set1_epi32(127))));
    _mm256_mul_ps(_mm256_mul_ps(p, pow2(n1)), pow2(n2))
}

/// `1 / d` for `d >= 1`: `rcpps` (12 bits) refined by one Newton step (relative error ~2e-7), cheaper than a
/// division; `d = +inf` gives 0.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn recip256(d: __m256) -> __m256 {
    let r = _mm256_rcp_ps(d);
    let refined = _mm256_mul_ps(r, _mm256_fnmadd_ps(d, r, _mm256_set1_ps(2.0)));
    // for d = +inf, rcpps gives 0 and the step would give NaN (inf * 0)
    let is_zero = _mm256_cmp_ps::<_CMP_EQ_OQ>(r, _mm256_setzero_ps());
    _mm256_blendv_ps(refined, r, is_zero)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn gelu256(x: __m256) -> __m256 {
    let abs = _mm256_andnot_ps(_mm256_set1_ps(-0.0), x);
    let ax = _mm256_mul_ps(abs, _mm256_set1_ps(FRAC_1_SQRT2));
    // SAFETY: recip256 needs only AVX2 and FMA, this function's target features.
    let t = unsafe { recip256(_mm256_fmadd_ps(ax, _mm256_set1_ps(ERF_P), _mm256_set1_ps(1.0))) };
    let mut p = _mm256_set1_ps(ERF_A[4]);
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(ERF_A[3]));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(ERF_A[2]));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(ERF_A[1]));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(ERF_A[0]));
    // SAFETY: exp256 needs only AVX2 and FMA, this function's target features.
    let e = unsafe { exp256(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(ax, ax))) };
    let half_q = _mm256_mul_ps(_mm256_mul_ps(p, t), _mm256_mul_ps(e, _mm256_set1_ps(0.5)));
    let neg = _mm256_cmp_ps::<_CMP_LT_OQ>(x, _mm256_setzero_ps());
    let phi = _mm256_blendv_ps(_mm256_sub_ps(_mm256_set1_ps(1.0), half_q), half_q, neg);
    _mm256_mul_ps(x, phi)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn gelu_tanh256(x: __m256) -> __m256 {
    let x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
    let u = _mm256_mul_ps(_mm256_set1_ps(SQRT_2_OVER_PI), _mm256_fmadd_ps(x3, _mm256_set1_ps(0.044_715), x));
    // SAFETY: exp256 needs only AVX2 and FMA, this function's target features.
    let e = unsafe { exp256(_mm256_mul_ps(u, _mm256_set1_ps(-2.0))) };
    // SAFETY: recip256 needs only AVX2 and FMA, this function's target features.
    _mm256_mul_ps(x, unsafe { recip256(_mm256_add_ps(_mm256_set1_ps(1.0), e)) })
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn hsum256(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn hmax256(v: __m256) -> f32 {
    let s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gelu_inplace_avx2(act: Act, x: &mut [f32]) {
    let n = x.len();
    let mut i = 0;
    while i < n {
        let m = mask8(n - i);
        // SAFETY: i < n, and the mask covers only the min(8, n - i) values left in x.
        unsafe {
            let p = x.as_mut_ptr().add(i);
            let v = _mm256_maskload_ps(p, m);
            let y = match act {
                Act::Gelu => gelu256(v),
                Act::GeluTanh => gelu_tanh256(v),
            };
            _mm256_maskstore_ps(p, m, y);
        }
        i += 8;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn softmax_avx2(x: &mut [f32]) {
    let n = x.len();
    let p = x.as_mut_ptr();
    let ninf = _mm256_set1_ps(f32::NEG_INFINITY);
    let mut mx = ninf;
    let mut i = 0;
    while i < n {
        let m = mask8(n - i);
        // lanes past the end load 0; make them -inf so they cannot win the max
        // SAFETY: i < n, and the mask covers only the min(8, n - i) values left in x.
        let v = _mm256_blendv_ps(ninf, unsafe { _mm256_maskload_ps(p.add(i), m) }, _mm256_castsi256_ps(m));
        mx = _mm256_max_ps(mx, v);
        i += 8;
    }
    let mxv = _mm256_set1_ps(hmax256(mx));
    let mut sum = _mm256_setzero_ps();
    i = 0;
    while i < n {
        let m = mask8(n - i);
        // SAFETY: i < n, and the mask covers only the min(8, n - i) values left in x.
        unsafe {
            let v = _mm256_maskload_ps(p.add(i), m);
            let e = _mm256_and_ps(exp256(_mm256_sub_ps(v, mxv)), _mm256_castsi256_ps(m));
            sum = _mm256_add_ps(sum, e);
            _mm256_maskstore_ps(p.add(i), m, e);
        }
        i += 8;
    }
    let inv = _mm256_set1_ps(1.0 / hsum256(sum));
    i = 0;
    while i < n {
        let m = mask8(n - i);
        // SAFETY: i < n, and the mask covers only the min(8, n - i) values left in x.
        unsafe {
            let v = _mm256_maskload_ps(p.add(i), m);
            _mm256_maskstore_ps(p.add(i), m, _mm256_mul_ps(v, inv));
        }
        i += 8;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn layernorm_avx2(x: &mut [f32], g: &[f32], b: &[f32], eps: f32) {
    let n = x.len();
    let p = x.as_mut_ptr();
    let mut s = _mm256_setzero_ps();
    let mut i = 0;
    while i < n {
        // SAFETY: i < n, and the mask covers only the min(8, n - i) values left in x.
        s = _mm256_add_ps(s, unsafe { _mm256_maskload_ps(p.add(i), mask8(n - i)) });
        i += 8;
    }
    let mean = hsum256(s) / n as f32;
    let mv = _mm256_set1_ps(mean);
    let mut s2 = _mm256_setzero_ps();
    i = 0;
    while i < n {
        let m = mask8(n - i);
        // SAFETY: i < n, and the mask covers only the min(8, n - i) values left in x.
        let d = _mm256_and_ps(_mm256_sub_ps(unsafe { _mm256_maskload_ps(p.add(i), m) }, mv), _mm256_castsi256_ps(m));
        s2 = _mm256_fmadd_ps(d, d, s2);
        i += 8;
    }
    let var = hsum256(s2) / n as f32;
    let rstd = _mm256_set1_ps(1.0 / (var + eps).sqrt());
    i = 0;
    while i < n {
        let m = mask8(n - i);
        // SAFETY: i < n; the mask covers the min(8, n - i) values left in x, and g and b are at least n long (layernorm_inplace).
        unsafe {
            let d = _mm256_sub_ps(_mm256_maskload_ps(p.add(i), m), mv);
            let gv = _mm256_maskload_ps(g.as_ptr().add(i), m);
            let bv = _mm256_maskload_ps(b.as_ptr().add(i), m);
            _mm256_maskstore_ps(p.add(i), m, _mm256_fmadd_ps(_mm256_mul_ps(d, rstd), gv, bv));
        }
        i += 8;
    }
}

/// In-place GELU over a slice (used where it cannot be fused).
pub fn gelu_inplace(isa: Isa, act: Act, x: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if isa.has_avx512() {
        // SAFETY: feature detected; masked loads/stores stay in bounds.
        unsafe { gelu_inplace_avx512(act, x) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2 {
        // SAFETY: feature detected; masked loads/stores stay in bounds.
        unsafe { gelu_inplace_avx2(act, x) };
        return;
    }
    #[cfg(target_arch = "aarch64")]
    if isa == Isa::Neon {
        // SAFETY: feature detected; the tail is scalar.
        unsafe { gelu_inplace_neon(act, x) };
        return;
    }
    let _ = isa;
    for v in x {
        *v = match act {
            Act::Gelu => gelu_scalar(*v),
            Act::GeluTanh => gelu_tanh_scalar(*v),
        };
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn gelu_inplace_avx512(act: Act, x: &mut [f32]) {
    let n = x.len();
    let mut i = 0;
    while i < n {
        let m: u16 = if n - i >= 16 { 0xFFFF } else { ((1u32 << (n - i)) - 1) as u16 };
        // SAFETY: i < n, and the mask covers only the min(16, n - i) values left in x.
        unsafe {
            let p = x.as_mut_ptr().add(i);
            let v = _mm512_maskz_loadu_ps(m, p);
            let y = match act {
                Act::Gelu => gelu512(v),
                Act::GeluTanh => gelu_tanh512(v),
            };
            _mm512_mask_storeu_ps(p, m, y);
        }
        i += 16;
    }
}

/// In-place softmax of one row.
pub fn softmax_inplace(isa: Isa, x: &mut [f32]) {
    if x.is_empty() {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if isa.has_avx512() {
        // SAFETY: feature detected; masked loads/stores stay in bounds.
        unsafe { softmax_avx512(x) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2 {
        // SAFETY: feature detected; masked loads/stores stay in bounds.
        unsafe { softmax_avx2(x) };
        return;
    }
    #[cfg(target_arch = "aarch64")]
    if isa == Isa::Neon {
        // SAFETY: feature detected; the tail is scalar.
        unsafe { softmax_neon(x) };
        return;
    }
    let _ = isa;
    let mx = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut s = 0.0;
    for v in x.iter_mut() {
        *v = (*v - mx).exp();
        s += *v;
    }
    let inv = 1.0 / s;
    for v in x.iter_mut() {
        *v *= inv;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn softmax_avx512(x: &mut [f32]) {
    let n = x.len();
    let p = x.as_mut_ptr();
    let mask = |i: usize| -> u16 { if n - i >= 16 { 0xFFFF } else { ((1u32 << (n - i)) - 1) as u16 } };
    let mut mx = _mm512_set1_ps(f32::NEG_INFINITY);
    let mut i = 0;
    while i < n {
        // SAFETY: i < n, and the mask covers only the min(16, n - i) values left in x.
        let v = unsafe { _mm512_mask_loadu_ps(_mm512_set1_ps(f32::NEG_INFINITY), mask(i), p.add(i)) };
        mx = _mm512_max_ps(mx, v);
        i += 16;
    }
    let mxv = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
    let mut sum = _mm512_setzero_ps();
    i = 0;
    while i < n {
        let m = mask(i);
        // SAFETY: i < n, and the mask covers only the min(16, n - i) values left in x.
        unsafe {
            let v = _mm512_maskz_loadu_ps(m, p.add(i));
            let e = _mm512_maskz_mov_ps(m, exp512(_mm512_sub_ps(v, mxv)));
            sum = _mm512_add_ps(sum, e);
            _mm512_mask_storeu_ps(p.add(i), m, e);
        }
        i += 16;
    }
    let inv = _mm512_set1_ps(1.0 / _mm512_reduce_add_ps(sum));
    i = 0;
    while i < n {
        let m = mask(i);
        // SAFETY: i < n, and the mask covers only the min(16, n - i) values left in x.
        unsafe {
            let v = _mm512_maskz_loadu_ps(m, p.add(i));
            _mm512_mask_storeu_ps(p.add(i), m, _mm512_mul_ps(v, inv));
        }
        i += 16;
    }
}

/// In-place layernorm of one row: `(x - mean) / sqrt(var + eps) * g + b` (biased variance, as PyTorch).
pub fn layernorm_inplace(isa: Isa, x: &mut [f32], g: &[f32], b: &[f32], eps: f32) {
    let n = x.len();
    assert!(g.len() >= n && b.len() >= n);
    if n == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if isa.has_avx512() {
        // SAFETY: feature detected; lengths checked above.
        unsafe { layernorm_avx512(x, g, b, eps) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2 {
        // SAFETY: feature detected; lengths checked above.
        unsafe { layernorm_avx2(x, g, b, eps) };
        return;
    }
    #[cfg(target_arch = "aarch64")]
    if isa == Isa::Neon {
        // SAFETY: feature detected; lengths checked above.
        unsafe { layernorm_neon(x, g, b, eps) };
        return;
    }
    let _ = isa;
    let mean = x.iter().sum::<f32>() / n as f32;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n as f32;
    let rstd = 1.0 / (var + eps).sqrt();
    for i in 0..n {
        x[i] = (x[i] - mean) * rstd * g[i] + b[i];
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn layernorm_avx512(x: &mut [f32], g: &[f32], b: &[f32], eps: f32) {
    let n = x.len();
    let p = x.as_mut_ptr();
    let mask = |i: usize| -> u16 { if n - i >= 16 { 0xFFFF } else { ((1u32 << (n - i)) - 1) as u16 } };
    let mut s = _mm512_setzero_ps();
    let mut i = 0;
    while i < n {
        // SAFETY: i < n, and the mask covers only the min(16, n - i) values left in x.
        s = _mm512_add_ps(s, unsafe { _mm512_maskz_loadu_ps(mask(i), p.add(i)) });
        i += 16;
    }
    let mean = _mm512_reduce_add_ps(s) / n as f32;
    let mv = _mm512_set1_ps(mean);
    let mut s2 = _mm512_setzero_ps();
    i = 0;
    while i < n {
        let m = mask(i);
        // SAFETY: i < n, and the mask covers only the min(16, n - i) values left in x.
        let d = _mm512_maskz_sub_ps(m, unsafe { _mm512_maskz_loadu_ps(m, p.add(i)) }, mv);
        s2 = _mm512_fmadd_ps(d, d, s2);
        i += 16;
    }
    let var = _mm512_reduce_add_ps(s2) / n as f32;
    let rstd = _mm512_set1_ps(1.0 / (var + eps).sqrt());
    i = 0;
    while i < n {
        let m = mask(i);
        // SAFETY: i < n; the mask covers the min(16, n - i) values left in x, and g and b are at least n long (layernorm_inplace).
        unsafe {
            let d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, p.add(i)), mv);
            let gv = _mm512_maskz_loadu_ps(m, g.as_ptr().add(i));
            let bv = _mm512_maskz_loadu_ps(m, b.as_ptr().add(i));
            _mm512_mask_storeu_ps(p.add(i), m, _mm512_fmadd_ps(_mm512_mul_ps(d, rstd), gv, bv));
        }
        i += 16;
    }
}

// ---------------------------------------------------------------------------------------------------------------
// AMX (Advanced Matrix Extensions) bf16 tiles: `tdpbf16ps` multiplies 16×32 by 32×16 bf16 tiles into a 16×16 f32
// tile. Rust has no stable AMX intrinsics, so the five instructions used are written as inline assembly.

/// Whether AMX-BF16 can be used: CPUID says so and Linux granted this process the tile data state.
#[cfg(target_arch = "x86_64")]
pub fn amx_available() -> bool {
    static AMX: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AMX.get_or_init(|| {
        if std::env::var_os("PAPERTIDE_CE_NO_AMX").is_some()
            || !is_x86_feature_detected!("avx512f")
            || !is_x86_feature_detected!("avx512bw")
        {
            return false;
        }
        let l7 = __cpuid_count(7, 0);
        let amx_bf16 = l7.edx & (1 << 22) != 0;
        let amx_tile = l7.edx & (1 << 24) != 0;
        if !amx_bf16 || !amx_tile {
            return false;
        }
        request_amx_permission()
    })
}

/// Asks Linux for the AMX tile-data register state (since 5.16 a process must request it before its first
/// tile instruction, or the instruction faults).
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn request_amx_permission() -> bool {
    // From the kernel's uapi headers (asm/prctl.h) and its xstate numbering; libc does not name them.
    const ARCH_REQ_XCOMP_PERM: libc::c_ulong = 0x1023;
    const XFEATURE_XTILEDATA: libc::c_ulong = 18;
    // SAFETY: arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) takes two integers and touches no memory of
    // ours; it only asks the kernel for permission to use the AMX register state, and fails harmlessly (-1 with
    // errno) on kernels or VMs that do not allow it.
    let ret = unsafe { libc::syscall(libc::SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) };
    ret == 0
}

#[cfg(all(target_arch = "x86_64", not(target_os = "linux")))]
fn request_amx_permission() -> bool {
    false
}

#[cfg(not(target_arch = "x86_64"))]
pub fn amx_available() -> bool {
    false
}

/// AMX bf16 GEMM: same contract as [`gemm_bf16`], plus: `k % 32 == 0`, and `a` readable for
/// `ceil(m / 32) * 32` rows (rows past `m` may hold anything; their results are discarded).
#[allow(clippy::too_many_arguments)]
pub fn gemm_amx(
    m: usize,
    n: usize,
    k: usize,
    a: &[u16],
    lda: usize,
    b: &[u16],
    bias: Option<&[f32]>,
    c: &mut [f32],
    ldc: usize,
    epi: Epilogue,
) {
    assert!(amx_available(), "AMX not available");
    assert!(k.is_multiple_of(32) && k > 0, "gemm_amx needs k % 32 == 0");
    check_gemm(m, n, k, a.len(), lda, c.len(), ldc, bias, &epi);
    let np = n.div_ceil(NR);
    assert!(b.len() >= np * (k / 2) * NR * 2, "packed bf16 B too small");
    if m == 0 || n == 0 {
        return;
    }
    assert!(a.len() >= (m.div_ceil(32) * 32 - 1) * lda + k, "A must be readable for a multiple of 32 rows");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AMX permission granted (amx_available), AVX-512 present; bounds checked above.
    unsafe {
        gemm_amx_impl(
            m,
            n,
            k,
            a.as_ptr(),
            lda,
            b.as_ptr(),
            bias.map_or(std::ptr::null(), |b| b.as_ptr()),
            c.as_mut_ptr(),
            ldc,
            epi_raw(epi),
        )
    };
}

#[cfg(target_arch = "x86_64")]
#[repr(C, align(64))]
struct TileBuf([f32; 32 * 32]);

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn epi_from_buf<const R: usize>(
    buf: *const f32,
    c: *mut f32,
    ldc: usize,
    nvalid: usize,
    bias: *const f32,
    e: EpiRaw,
) {
    let mut acc0 = [_mm512_setzero_ps(); R];
    let mut acc1 = [_mm512_setzero_ps(); R];
    for i in 0..R {
        // SAFETY: i < R rows of 32 values in the caller's 32 × 32 tile buffer, 64-byte aligned (TileBuf).
        unsafe {
            acc0[i] = _mm512_load_ps(buf.add(i * 32));
            acc1[i] = _mm512_load_ps(buf.add(i * 32 + 16));
        }
    }
    // SAFETY: the tile contract: C holds R rows × nvalid columns at stride ldc.
    unsafe { store_avx512::<R>(&acc0, &acc1, c, ldc, nvalid, bias, e) };
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_amx_impl(
    m: usize,
    n: usize,
    k: usize,
    a: *const u16,
    lda: usize,
    b: *const u16,
    bias: *const f32,
    c: *mut f32,
    ldc: usize,
    e: EpiRaw,
) {
    use std::arch::asm;
    #[repr(C, align(64))]
    struct Cfg([u8; 64]);
    let mut cfg = Cfg([0; 64]);
    cfg.0[0] = 1; // palette 1
    for t in 0..8 {
        cfg.0[16 + 2 * t] = 64; // bytes per row
        cfg.0[48 + t] = 16; // rows
    }
    let mut buf = TileBuf([0.0; 32 * 32]);
    let bp_ = buf.0.as_mut_ptr();
    let kp = k / 2;
    let np = n.div_ceil(NR);
    let mc = (m_block(k * 2, MR) / 32).max(1) * 32;
    let a_stride = lda * 2;
    // SAFETY: gemm_amx checked AMX is enabled for this thread (amx_available), A readable for whole 32-row blocks, B's
    // packed panels, the padded bias and C's bounds; the tile configuration is loaded before any tile
    // instruction and released at the end; every C store goes through the bounded epilogue.
    unsafe {
        asm!("ldtilecfg [{}]", in(reg) cfg.0.as_ptr(), options(nostack));
        let mut m0 = 0;
        while m0 < m {
            let m1 = (m0 + mc).min(m);
            for p in 0..np {
                let nvalid = (n - p * NR).min(NR);
                let bpanel = b.add(p * kp * NR * 2);
                let biasp = if bias.is_null() { bias } else { bias.add(p * NR) };
                let mut i = m0;
                while i < m1 {
                    asm!("tilezero tmm0", "tilezero tmm1", "tilezero tmm2", "tilezero tmm3", options(nostack));
                    let mut kk = 0;
                    while kk < k {
                        let a0 = a.add(i * lda + kk);
                        let a1 = a.add((i + 16) * lda + kk);
                        let b0 = bpanel.add((kk / 2) * NR * 2);
                        let b1 = b0.add(32);
                        asm!(
                            "tileloadd tmm4, [{a0} + {sa}*1]",
                            "tileloadd tmm5, [{a1} + {sa}*1]",
                            "tileloadd tmm6, [{b0} + {sb}*1]",
                            "tileloadd tmm7, [{b1} + {sb}*1]",
                            "tdpbf16ps tmm0, tmm4, tmm6",
                            "tdpbf16ps tmm1, tmm4, tmm7",
                            "tdpbf16ps tmm2, tmm5, tmm6",
                            "tdpbf16ps tmm3, tmm5, tmm7",
                            a0 = in(reg) a0, a1 = in(reg) a1, b0 = in(reg) b0, b1 = in(reg) b1,
                            sa = in(reg) a_stride, sb = in(reg) 128usize,
                            options(nostack, readonly),
                        );
                        kk += 32;
                    }
                    asm!(
                        "tilestored [{c0} + {s}*1], tmm0",
                        "tilestored [{c1} + {s}*1], tmm1",
                        "tilestored [{c2} + {s}*1], tmm2",
                        "tilestored [{c3} + {s}*1], tmm3",
                        c0 = in(reg) bp_, c1 = in(reg) bp_.add(16), c2 = in(reg) bp_.add(16 * 32), c3 = in(reg) bp_.add(16 * 32 + 16),
                        s = in(reg) 128usize,
                        options(nostack),
                    );
                    let rows = (m - i).min(32);
                    let mut r0 = 0;
                    while r0 < rows {
                        let rr = (rows - r0).min(MR);
                        let ee = match e {
                            EpiRaw::Residual(r, ldr) => EpiRaw::Residual(r.add((i + r0) * ldr + p * NR), ldr),
                            x => x,
                        };
                        let cp = c.add((i + r0) * ldc + p * NR);
                        dispatch_rows!(rr, epi_from_buf, bp_.add(r0 * 32) as *const f32, cp, ldc, nvalid, biasp, ee);
                        r0 += rr;
                    }
                    i += 32;
                }
            }
            m0 = m1;
        }
        asm!("tilerelease", options(nostack));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every path this CPU can run: each property below is checked on all of them.
    fn isas() -> Vec<Isa> {
        let v = Isa::supported();
        eprintln!("kernel paths under test: {v:?}");
        v
    }

    fn erf_ref(x: f64) -> f64 {
        // Taylor series (converges fast for |x| < 3), continued fraction tail is unnecessary: GELU saturates.
        if x.abs() > 5.0 {
            return x.signum();
        }
        let mut sum = 0.0;
        let mut term = x;
        let mut k = 0.0;
        while term.abs() > 1e-17 || k < 3.0 {
            sum += term / (2.0 * k + 1.0);
            k += 1.0;
            term *= -x * x / k;
            if k > 200.0 {
                break;
            }
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }
    fn gelu_ref(x: f64) -> f64 {
        0.5 * x * (1.0 + erf_ref(x / std::f64::consts::SQRT_2))
    }
    fn gelu_tanh_ref(x: f64) -> f64 {
        0.5 * x * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x)).tanh())
    }

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    fn naive(m: usize, n: usize, k: usize, a: &[f32], w: &[f32], bias: &[f32]) -> Vec<f64> {
        let mut c = vec![0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = bias[j] as f64;
                for kk in 0..k {
                    s += a[i * k + kk] as f64 * w[j * k + kk] as f64;
                }
                c[i * n + j] = s;
            }
        }
        c
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(40))]

        #[test]
        fn gemm_f32_matches_naive(m in 1usize..40, n in 1usize..100, k in 1usize..70, seed in any::<u64>(), epi in 0u8..3) {
            let mut s = seed;
            let a: Vec<f32> = (0..m * k).map(|_| lcg(&mut s)).collect();
            let w: Vec<f32> = (0..n * k).map(|_| lcg(&mut s)).collect();
            let r: Vec<f32> = (0..m * n).map(|_| lcg(&mut s)).collect();
            let np = n.div_ceil(NR);
            let mut bias = vec![0f32; np * NR];
            for b in bias.iter_mut().take(n) { *b = lcg(&mut s); }
            let want = naive(m, n, k, &a, &w, &bias);
            let packed = pack_f32(&w, n, k);
            let packed_bf = pack_bf16(&w, n, k);
            for isa in isas() {
                let e = match epi { 0 => Epilogue::None, 1 => Epilogue::Act(Act::Gelu), _ => Epilogue::Residual(&r, n) };
                let mut c = vec![f32::NAN; m * n];
                gemm_f32(isa, m, &a, k, &BView { data: packed.f32(), k, n, panel_stride: k * NR, ldb: NR }, Some(&bias), &mut c, n, e);
                for i in 0..m * n {
                    let w0 = match epi { 0 => want[i], 1 => gelu_ref(want[i]), _ => want[i] + r[i] as f64 };
                    prop_assert!((c[i] as f64 - w0).abs() < 1e-4 * (1.0 + k as f64).sqrt(), "{isa:?} f32 i={i} got {} want {w0}", c[i]);
                }
                // bf16: inputs rounded to bf16, so compare with a loose tolerance
                let kp2 = k.div_ceil(2) * 2;
                let mut a16 = vec![0u16; m * kp2];
                convert_bf16(isa, &a, m, k, k, &mut a16, kp2);
                let mut c = vec![f32::NAN; m * n];
                gemm_bf16(isa, m, n, k, &a16, kp2, packed_bf.u16(), Some(&bias), &mut c, n, e);
                for i in 0..m * n {
                    let w0 = match epi { 0 => want[i], 1 => gelu_ref(want[i]), _ => want[i] + r[i] as f64 };
                    prop_assert!((c[i] as f64 - w0).abs() < 1e-2 * (1.0 + k as f64).sqrt(), "{isa:?} bf16 i={i} got {} want {w0}", c[i]);
                }
            }
        }

        #[test]
        fn gemm_strided_b_view(m in 1usize..20, n in 1usize..70, k in 1usize..40, seed in any::<u64>()) {
            // B used directly from a row-major [k, ldb] matrix (how attention reads V)
            let mut s = seed;
            let ldb = n.div_ceil(NR) * NR + 5;
            let a: Vec<f32> = (0..m * k).map(|_| lcg(&mut s)).collect();
            let b: Vec<f32> = (0..k * ldb + NR).map(|_| lcg(&mut s)).collect();
            for isa in isas() {
                let mut c = vec![0f32; m * n];
                gemm_f32(isa, m, &a, k, &BView { data: &b, k, n, panel_stride: NR, ldb }, None, &mut c, n, Epilogue::None);
                for i in 0..m { for j in 0..n {
                    let want: f64 = (0..k).map(|kk| a[i * k + kk] as f64 * b[kk * ldb + j] as f64).sum();
                    prop_assert!((c[i * n + j] as f64 - want).abs() < 1e-4);
                }}
            }
        }

        #[test]
        fn softmax_and_layernorm_match_reference(n in 1usize..300, seed in any::<u64>(), scale in 0.1f32..30.0) {
            let mut s = seed;
            let x: Vec<f32> = (0..n).map(|_| lcg(&mut s) * scale).collect();
            let g: Vec<f32> = (0..n).map(|_| lcg(&mut s)).collect();
            let b: Vec<f32> = (0..n).map(|_| lcg(&mut s)).collect();
            let mx = x.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
            let den: f64 = x.iter().map(|&v| (v as f64 - mx).exp()).sum();
            let mean: f64 = x.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
            let var: f64 = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
            for isa in isas() {
                let mut y = x.clone();
                softmax_inplace(isa, &mut y);
                for i in 0..n {
                    let want = (x[i] as f64 - mx).exp() / den;
                    prop_assert!((y[i] as f64 - want).abs() < 1e-6 + 1e-5 * want, "{isa:?} softmax");
                }
                let mut y = x.clone();
                layernorm_inplace(isa, &mut y, &g, &b, 1e-12);
                for i in 0..n {
                    let want = (x[i] as f64 - mean) / (var + 1e-12).sqrt() * g[i] as f64 + b[i] as f64;
                    prop_assert!((y[i] as f64 - want).abs() < 2e-4, "{isa:?} layernorm {} vs {want}", y[i]);
                }
            }
        }

        #[test]
        fn gelu_matches_reference(xs in proptest::collection::vec(-12f32..12.0, 1..100)) {
            for isa in isas() {
                let mut y = xs.clone();
                gelu_inplace(isa, Act::Gelu, &mut y);
                let mut t = xs.clone();
                gelu_inplace(isa, Act::GeluTanh, &mut t);
                for i in 0..xs.len() {
                    let x = xs[i] as f64;
                    prop_assert!((y[i] as f64 - gelu_ref(x)).abs() < 1e-6 * (1.0 + x.abs()), "{isa:?} gelu({x}) = {} want {}", y[i], gelu_ref(x));
                    prop_assert!((t[i] as f64 - gelu_tanh_ref(x)).abs() < 2e-6 * (1.0 + x.abs()), "{isa:?} gelu_tanh({x})");
                }
            }
        }
    }

    /// The vector `exp` of every supported SIMD path over its whole clamped range (subnormal results included).
    #[test]
    fn exp_is_accurate() {
        let mut checked = 0;
        for isa in Isa::supported() {
            let exp16: fn(&[f32; 16]) -> [f32; 16] = match isa {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => |x| {
                    let mut out = [0f32; 16];
                    // SAFETY: AVX-512F is supported (Isa::supported).
                    unsafe { _mm512_storeu_ps(out.as_mut_ptr(), exp512(_mm512_loadu_ps(x.as_ptr()))) };
                    out
                },
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => |x| {
                    let mut out = [0f32; 16];
                    for h in [0, 8] {
                        // SAFETY: AVX2 and FMA are supported (Isa::supported).
                        unsafe {
                            _mm256_storeu_ps(out.as_mut_ptr().add(h), exp256(_mm256_loadu_ps(x.as_ptr().add(h))))
                        };
                    }
                    out
                },
                #[cfg(target_arch = "aarch64")]
                Isa::Neon => |x| {
                    let mut out = [0f32; 16];
                    for h in [0, 4, 8, 12] {
                        // SAFETY: NEON is supported (Isa::supported).
                        unsafe { vst1q_f32(out.as_mut_ptr().add(h), exp_neon(vld1q_f32(x.as_ptr().add(h)))) };
                    }
                    out
                },
                _ => continue,
            };
            checked += 1;
            exp_matches(isa, exp16);
        }
        if checked == 0 {
            eprintln!("skipped: no SIMD path on this CPU");
        }
    }

    fn exp_matches(isa: Isa, exp16: fn(&[f32; 16]) -> [f32; 16]) {
        let xs: Vec<f32> = (-2000..=880).map(|i| i as f32 * 0.1).collect();
        for chunk in xs.chunks(16) {
            let mut buf = [0f32; 16];
            buf[..chunk.len()].copy_from_slice(chunk);
            let out = exp16(&buf);
            for i in 0..chunk.len() {
                let want = (buf[i] as f64).exp();
                assert!(
                    ((out[i] as f64) - want).abs() <= 3e-7 * want + 1e-38,
                    "{isa:?}: exp({}) = {} want {want}",
                    buf[i],
                    out[i]
                );
            }
        }
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod amx_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20))]
        #[test]
        fn amx_matches_bf16_reference(m in 1usize..80, n in 1usize..80, kb in 1usize..4, seed in any::<u64>(), epi in 0u8..3) {
            if !amx_available() {
                eprintln!("skipped: no AMX");
                return Ok(());
            }
            let k = kb * 32;
            let mut s = seed;
            let mut r = || { s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0 };
            let a: Vec<f32> = (0..m * k).map(|_| r()).collect();
            let w: Vec<f32> = (0..n * k).map(|_| r()).collect();
            let res: Vec<f32> = (0..m * n).map(|_| r()).collect();
            let mut bias = vec![0f32; n.div_ceil(NR) * NR];
            for b in bias.iter_mut().take(n) { *b = r(); }
            let packed = pack_bf16(&w, n, k);
            let mut a16 = vec![0u16; m.div_ceil(32) * 32 * k];
            convert_bf16(Isa::Generic, &a, m, k, k, &mut a16, k);
            let e = match epi { 0 => Epilogue::None, 1 => Epilogue::Act(Act::Gelu), _ => Epilogue::Residual(&res, n) };
            let mut want = vec![0f32; m * n];
            gemm_bf16(Isa::Generic, m, n, k, &a16, k, packed.u16(), Some(&bias), &mut want, n, e);
            let mut got = vec![f32::NAN; m * n];
            gemm_amx(m, n, k, &a16, k, packed.u16(), Some(&bias), &mut got, n, e);
            for i in 0..m * n {
                prop_assert!((got[i] - want[i]).abs() < 1e-3, "i={i} {} vs {}", got[i], want[i]);
            }
        }
    }
}
