//! Compute kernels: a register-tiled GEMM (AVX-512 f32 FMA, AVX-512 BF16 `vdpbf16ps`, portable fallback) with a
//! fused epilogue (bias, GELU, residual add), and the row operations of a BERT layer (softmax, layernorm).
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
/// Rows of one register tile.
pub const MR: usize = 14;

/// Instruction set chosen at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// Portable Rust (auto-vectorised by the compiler for the build target).
    Generic,
    /// AVX-512F (f32 FMA).
    Avx512,
    /// AVX-512F + AVX-512 BF16 (`vdpbf16ps`).
    Avx512Bf16,
}

impl Isa {
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::env::var_os("PAPERTIDE_CE_GENERIC").is_some() {
                return Isa::Generic;
            }
            if is_x86_feature_detected!("avx512f") {
                if is_x86_feature_detected!("avx512bf16") && is_x86_feature_detected!("avx512bw") {
                    return Isa::Avx512Bf16;
                }
                return Isa::Avx512;
            }
        }
        Isa::Generic
    }
    pub fn has_avx512(self) -> bool {
        matches!(self, Isa::Avx512 | Isa::Avx512Bf16)
    }
    pub fn name(self) -> &'static str {
        match self {
            Isa::Generic => "generic",
            Isa::Avx512 => "avx512",
            Isa::Avx512Bf16 => "avx512-bf16",
        }
    }
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
    if isa == Isa::Avx512Bf16 {
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
        let s = unsafe { src.as_ptr().add(i * lds) };
        let d = unsafe { dst.as_mut_ptr().add(i * ldd) };
        let mut kk = 0;
        while kk + 16 <= k {
            unsafe {
                let v = _mm512_loadu_ps(s.add(kk));
                let h: __m256i = std::mem::transmute(_mm512_cvtneps_pbh(v));
                _mm256_storeu_si256(d.add(kk) as *mut __m256i, h);
            }
            kk += 16;
        }
        while kk < k {
            unsafe { *d.add(kk) = f32_to_bf16(*s.add(kk)) };
            kk += 1;
        }
        if kp > k {
            unsafe { *d.add(k) = 0 };
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn check_gemm(m: usize, n: usize, k: usize, a_len: usize, lda: usize, c_len: usize, ldc: usize, bias: Option<&[f32]>, epi: &Epilogue) {
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

/// Rows of A kept hot in L2 per block (about 384 KiB of A).
fn m_block(k_bytes: usize) -> usize {
    let rows = (384 * 1024 / k_bytes.max(1)).max(MR);
    (rows / MR).max(1) * MR
}

/// f32 GEMM with fused epilogue (see the module documentation).
#[allow(clippy::too_many_arguments)]
pub fn gemm_f32(isa: Isa, m: usize, a: &[f32], lda: usize, b: &BView, bias: Option<&[f32]>, c: &mut [f32], ldc: usize, epi: Epilogue) {
    let (n, k) = (b.n, b.k);
    check_gemm(m, n, k, a.len(), lda, c.len(), ldc, bias, &epi);
    b.check();
    if m == 0 || n == 0 {
        return;
    }
    let e = epi_raw(epi);
    let bias_p = bias.map_or(std::ptr::null(), |b| b.as_ptr());
    let np = n.div_ceil(NR);
    let mc = m_block(k * 4);
    let mut m0 = 0;
    while m0 < m {
        let m1 = (m0 + mc).min(m);
        for p in 0..np {
            let nvalid = (n - p * NR).min(NR);
            let bp = unsafe { b.data.as_ptr().add(p * b.panel_stride) };
            let biasp = if bias_p.is_null() { bias_p } else { unsafe { bias_p.add(p * NR) } };
            let mut i = m0;
            while i < m1 {
                let rows = (m1 - i).min(MR);
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
pub fn gemm_bf16(isa: Isa, m: usize, n: usize, k: usize, a: &[u16], lda: usize, b: &[u16], bias: Option<&[f32]>, c: &mut [f32], ldc: usize, epi: Epilogue) {
    let kp = k.div_ceil(2);
    check_gemm(m, n, kp * 2, a.len(), lda, c.len(), ldc, bias, &epi);
    let np = n.div_ceil(NR);
    assert!(b.len() >= np * kp * NR * 2, "packed bf16 B too small");
    if m == 0 || n == 0 {
        return;
    }
    let e = epi_raw(epi);
    let bias_p = bias.map_or(std::ptr::null(), |b| b.as_ptr());
    let mc = m_block(k * 2);
    let mut m0 = 0;
    while m0 < m {
        let m1 = (m0 + mc).min(m);
        for p in 0..np {
            let nvalid = (n - p * NR).min(NR);
            let bp = unsafe { b.as_ptr().add(p * kp * NR * 2) };
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

#[allow(clippy::too_many_arguments)]
#[inline]
unsafe fn tile_f32(isa: Isa, rows: usize, k: usize, a: *const f32, lda: usize, b: *const f32, ldb: usize, c: *mut f32, ldc: usize, nvalid: usize, bias: *const f32, e: EpiRaw) {
    #[cfg(target_arch = "x86_64")]
    if isa.has_avx512() {
        unsafe { dispatch_rows!(rows, kern_f32_avx512, k, a, lda, b, ldb, c, ldc, nvalid, bias, e) };
        return;
    }
    let _ = isa;
    unsafe { dispatch_rows!(rows, kern_f32_generic, k, a, lda, b, ldb, c, ldc, nvalid, bias, e) };
}

#[allow(clippy::too_many_arguments)]
#[inline]
unsafe fn tile_bf16(isa: Isa, rows: usize, kp: usize, a: *const u16, lda: usize, b: *const u16, c: *mut f32, ldc: usize, nvalid: usize, bias: *const f32, e: EpiRaw) {
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512Bf16 {
        unsafe { dispatch_rows!(rows, kern_bf16_avx512, kp, a, lda, b, c, ldc, nvalid, bias, e) };
        return;
    }
    let _ = isa;
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
        EpiRaw::Residual(..) => v + unsafe { *r.add(j) },
    }
}

#[allow(clippy::too_many_arguments)]
unsafe fn kern_f32_generic<const R: usize>(k: usize, a: *const f32, lda: usize, b: *const f32, ldb: usize, c: *mut f32, ldc: usize, nvalid: usize, bias: *const f32, e: EpiRaw) {
    let mut acc = [[0f32; NR]; R];
    for kk in 0..k {
        let brow: &[f32; NR] = unsafe { &*(b.add(kk * ldb) as *const [f32; NR]) };
        for (i, acc_i) in acc.iter_mut().enumerate() {
            let av = unsafe { *a.add(i * lda + kk) };
            for j in 0..NR {
                acc_i[j] += av * brow[j];
            }
        }
    }
    unsafe { store_generic::<R>(&acc, c, ldc, nvalid, bias, e) };
}

unsafe fn store_generic<const R: usize>(acc: &[[f32; NR]; R], c: *mut f32, ldc: usize, nvalid: usize, bias: *const f32, e: EpiRaw) {
    for (i, acc_i) in acc.iter().enumerate() {
        let r = match e {
            EpiRaw::Residual(r, ldr) => unsafe { r.add(i * ldr) },
            _ => std::ptr::null(),
        };
        for j in 0..nvalid {
            let mut v = acc_i[j];
            if !bias.is_null() {
                v += unsafe { *bias.add(j) };
            }
            unsafe { *c.add(i * ldc + j) = epilogue_scalar(v, e, r, j) };
        }
    }
}

#[allow(clippy::too_many_arguments)]
unsafe fn kern_bf16_generic<const R: usize>(kp: usize, a: *const u16, lda: usize, b: *const u16, c: *mut f32, ldc: usize, nvalid: usize, bias: *const f32, e: EpiRaw) {
    let mut acc = [[0f32; NR]; R];
    for kk in 0..kp {
        let brow: &[u16; 2 * NR] = unsafe { &*(b.add(kk * 2 * NR) as *const [u16; 2 * NR]) };
        for (i, acc_i) in acc.iter_mut().enumerate() {
            let a0 = bf16_to_f32(unsafe { *a.add(i * lda + 2 * kk) });
            let a1 = bf16_to_f32(unsafe { *a.add(i * lda + 2 * kk + 1) });
            for j in 0..NR {
                acc_i[j] += a0 * bf16_to_f32(brow[2 * j]) + a1 * bf16_to_f32(brow[2 * j + 1]);
            }
        }
    }
    unsafe { store_generic::<R>(&acc, c, ldc, nvalid, bias, e) };
}

// ---------------------------------------------------------------------------------------------------------------
// AVX-512 kernels

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn masks(nvalid: usize) -> (u16, u16) {
    let m0 = if nvalid >= 16 { 0xFFFF } else { ((1u32 << nvalid) - 1) as u16 };
    let m1 = if nvalid >= 32 { 0xFFFF } else if nvalid > 16 { ((1u32 << (nvalid - 16)) - 1) as u16 } else { 0 };
    (m0, m1)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn store_avx512<const R: usize>(acc0: &[__m512; R], acc1: &[__m512; R], c: *mut f32, ldc: usize, nvalid: usize, bias: *const f32, e: EpiRaw) {
    let (m0, m1) = masks(nvalid);
    let (bv0, bv1) = if bias.is_null() {
        (_mm512_setzero_ps(), _mm512_setzero_ps())
    } else {
        unsafe { (_mm512_loadu_ps(bias), _mm512_loadu_ps(bias.add(16))) }
    };
    for i in 0..R {
        let mut v0 = _mm512_add_ps(acc0[i], bv0);
        let mut v1 = _mm512_add_ps(acc1[i], bv1);
        match e {
            EpiRaw::None => {}
            EpiRaw::Act(Act::Gelu) => {
                v0 = unsafe { gelu512(v0) };
                if m1 != 0 {
                    v1 = unsafe { gelu512(v1) };
                }
            }
            EpiRaw::Act(Act::GeluTanh) => {
                v0 = unsafe { gelu_tanh512(v0) };
                if m1 != 0 {
                    v1 = unsafe { gelu_tanh512(v1) };
                }
            }
            EpiRaw::Residual(r, ldr) => unsafe {
                let rp = r.add(i * ldr);
                v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, rp));
                v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, rp.add(16)));
            },
        }
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
unsafe fn kern_f32_avx512<const R: usize>(k: usize, a: *const f32, lda: usize, b: *const f32, ldb: usize, c: *mut f32, ldc: usize, nvalid: usize, bias: *const f32, e: EpiRaw) {
    let mut acc0 = [_mm512_setzero_ps(); R];
    let mut acc1 = [_mm512_setzero_ps(); R];
    for kk in 0..k {
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
    unsafe { store_avx512::<R>(&acc0, &acc1, c, ldc, nvalid, bias, e) };
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16,avx512bw,avx512vl")]
#[allow(clippy::too_many_arguments)]
unsafe fn kern_bf16_avx512<const R: usize>(kp: usize, a: *const u16, lda: usize, b: *const u16, c: *mut f32, ldc: usize, nvalid: usize, bias: *const f32, e: EpiRaw) {
    let mut acc0 = [_mm512_setzero_ps(); R];
    let mut acc1 = [_mm512_setzero_ps(); R];
    for kk in 0..kp {
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
    unsafe { store_avx512::<R>(&acc0, &acc1, c, ldc, nvalid, bias, e) };
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
    let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm512_mul_ps(x, _mm512_set1_ps(LOG2E)));
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
    let t = unsafe { recip512(_mm512_fmadd_ps(ax, _mm512_set1_ps(ERF_P), _mm512_set1_ps(1.0))) };
    let mut p = _mm512_set1_ps(ERF_A[4]);
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(ERF_A[3]));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(ERF_A[2]));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(ERF_A[1]));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(ERF_A[0]));
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
    let e = unsafe { exp512(_mm512_mul_ps(u, _mm512_set1_ps(-2.0))) };
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

/// In-place GELU over a slice (used where it cannot be fused).
pub fn gelu_inplace(isa: Isa, act: Act, x: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if isa.has_avx512() {
        // SAFETY: feature detected; masked loads/stores stay in bounds.
        unsafe { gelu_inplace_avx512(act, x) };
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
        let v = unsafe { _mm512_mask_loadu_ps(_mm512_set1_ps(f32::NEG_INFINITY), mask(i), p.add(i)) };
        mx = _mm512_max_ps(mx, v);
        i += 16;
    }
    let mxv = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
    let mut sum = _mm512_setzero_ps();
    i = 0;
    while i < n {
        let m = mask(i);
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
        s = _mm512_add_ps(s, unsafe { _mm512_maskz_loadu_ps(mask(i), p.add(i)) });
        i += 16;
    }
    let mean = _mm512_reduce_add_ps(s) / n as f32;
    let mv = _mm512_set1_ps(mean);
    let mut s2 = _mm512_setzero_ps();
    i = 0;
    while i < n {
        let m = mask(i);
        let d = _mm512_maskz_sub_ps(m, unsafe { _mm512_maskz_loadu_ps(m, p.add(i)) }, mv);
        s2 = _mm512_fmadd_ps(d, d, s2);
        i += 16;
    }
    let var = _mm512_reduce_add_ps(s2) / n as f32;
    let rstd = _mm512_set1_ps(1.0 / (var + eps).sqrt());
    i = 0;
    while i < n {
        let m = mask(i);
        unsafe {
            let d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, p.add(i)), mv);
            let gv = _mm512_maskz_loadu_ps(m, g.as_ptr().add(i));
            let bv = _mm512_maskz_loadu_ps(m, b.as_ptr().add(i));
            _mm512_mask_storeu_ps(p.add(i), m, _mm512_fmadd_ps(_mm512_mul_ps(d, rstd), gv, bv));
        }
        i += 16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn isas() -> Vec<Isa> {
        let mut v = vec![Isa::Generic];
        let d = Isa::detect();
        if d.has_avx512() {
            v.push(Isa::Avx512);
        }
        if d == Isa::Avx512Bf16 {
            v.push(Isa::Avx512Bf16);
        }
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

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn exp_is_accurate() {
        if !Isa::detect().has_avx512() {
            eprintln!("skipped: no AVX-512 on this CPU");
            return;
        }
        let xs: Vec<f32> = (-2000..=880).map(|i| i as f32 * 0.1).collect();
        for chunk in xs.chunks(16) {
            let mut buf = [0f32; 16];
            buf[..chunk.len()].copy_from_slice(chunk);
            let mut out = [0f32; 16];
            unsafe {
                let v = exp512(_mm512_loadu_ps(buf.as_ptr()));
                _mm512_storeu_ps(out.as_mut_ptr(), v);
            }
            for i in 0..chunk.len() {
                let want = (buf[i] as f64).exp();
                assert!(((out[i] as f64) - want).abs() <= 3e-7 * want + 1e-38, "exp({}) = {} want {want}", buf[i], out[i]);
            }
        }
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
        if std::env::var_os("PAPERTIDE_CE_NO_AMX").is_some() || !is_x86_feature_detected!("avx512f") || !is_x86_feature_detected!("avx512bw") {
            return false;
        }
        let l7 = __cpuid_count(7, 0);
        let amx_bf16 = l7.edx & (1 << 22) != 0;
        let amx_tile = l7.edx & (1 << 24) != 0;
        if !amx_bf16 || !amx_tile || !cfg!(target_os = "linux") {
            return false;
        }
        let ret: i64;
        // SAFETY: arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) only asks the kernel for permission to use
        // the AMX register state; it fails harmlessly (negative errno) on kernels or VMs that do not allow it.
        unsafe {
            std::arch::asm!("syscall", inlateout("rax") 158i64 => ret, in("rdi") 0x1023i64, in("rsi") 18i64,
                lateout("rcx") _, lateout("r11") _, options(nostack));
        }
        ret == 0
    })
}

#[cfg(not(target_arch = "x86_64"))]
pub fn amx_available() -> bool {
    false
}

/// AMX bf16 GEMM: same contract as [`gemm_bf16`], plus: `k % 32 == 0`, and `a` readable for
/// `ceil(m / 32) * 32` rows (rows past `m` may hold anything; their results are discarded).
#[allow(clippy::too_many_arguments)]
pub fn gemm_amx(m: usize, n: usize, k: usize, a: &[u16], lda: usize, b: &[u16], bias: Option<&[f32]>, c: &mut [f32], ldc: usize, epi: Epilogue) {
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
        gemm_amx_impl(m, n, k, a.as_ptr(), lda, b.as_ptr(), bias.map_or(std::ptr::null(), |b| b.as_ptr()), c.as_mut_ptr(), ldc, epi_raw(epi))
    };
}

#[cfg(target_arch = "x86_64")]
#[repr(C, align(64))]
struct TileBuf([f32; 32 * 32]);

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn epi_from_buf<const R: usize>(buf: *const f32, c: *mut f32, ldc: usize, nvalid: usize, bias: *const f32, e: EpiRaw) {
    let mut acc0 = [_mm512_setzero_ps(); R];
    let mut acc1 = [_mm512_setzero_ps(); R];
    for i in 0..R {
        unsafe {
            acc0[i] = _mm512_load_ps(buf.add(i * 32));
            acc1[i] = _mm512_load_ps(buf.add(i * 32 + 16));
        }
    }
    unsafe { store_avx512::<R>(&acc0, &acc1, c, ldc, nvalid, bias, e) };
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_amx_impl(m: usize, n: usize, k: usize, a: *const u16, lda: usize, b: *const u16, bias: *const f32, c: *mut f32, ldc: usize, e: EpiRaw) {
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
    let mc = (m_block(k * 2) / 32).max(1) * 32;
    let a_stride = lda * 2;
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
