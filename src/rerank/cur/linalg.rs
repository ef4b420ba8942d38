//! Small dense linear algebra for the CUR index: a row-major `f64` matrix, a one-sided Jacobi SVD,
//! the Moore–Penrose pseudo-inverse with a relative cut-off, and column-pivoted QR column selection.
//!
//! Why hand-written: the matrices that need factorising are tiny (`W` is `k_q × k_i`, at most a few
//! hundred on a side), one-sided Jacobi is simple and accurate to working precision at that size, and it
//! adds no dependency or build time (nalgebra or faer would; see the timing in the eval report: pinv of a
//! 100 × 50 `W` plus `E` for 1,000 items takes milliseconds). The large product
//! `E = U·R` (`k_i × N`) is a plain loop that streams `R` once.

#![allow(clippy::needless_range_loop)] // index loops read like the formulas in numeric code

/// A dense row-major matrix of `f64`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mat {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f64>,
}

impl Mat {
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Self { rows, cols, data: vec![0.0; rows * cols] }
    }

    pub fn identity(n: usize) -> Self {
        let mut m = Self::zeros(n, n);
        for i in 0..n {
            m.data[i * n + i] = 1.0;
        }
        m
    }

    /// Builds from row-major data; panics when the length does not match.
    pub fn from_rows(rows: usize, cols: usize, data: Vec<f64>) -> Self {
        assert_eq!(data.len(), rows * cols, "Mat::from_rows: {rows}x{cols} needs {} values", rows * cols);
        Self { rows, cols, data }
    }

    pub fn from_fn(rows: usize, cols: usize, mut f: impl FnMut(usize, usize) -> f64) -> Self {
        let mut data = Vec::with_capacity(rows * cols);
        for i in 0..rows {
            for j in 0..cols {
                data.push(f(i, j));
            }
        }
        Self { rows, cols, data }
    }

    #[inline]
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.data[i * self.cols + j]
    }

    #[inline]
    pub fn set(&mut self, i: usize, j: usize, v: f64) {
        self.data[i * self.cols + j] = v;
    }

    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    pub fn transpose(&self) -> Mat {
        Mat::from_fn(self.cols, self.rows, |i, j| self.get(j, i))
    }

    /// `self · other`.
    pub fn matmul(&self, other: &Mat) -> Mat {
        assert_eq!(self.cols, other.rows, "matmul: {}x{} · {}x{}", self.rows, self.cols, other.rows, other.cols);
        let mut out = Mat::zeros(self.rows, other.cols);
        for i in 0..self.rows {
            let orow = &mut out.data[i * other.cols..(i + 1) * other.cols];
            for k in 0..self.cols {
                let a = self.data[i * self.cols + k];
                if a == 0.0 {
                    continue;
                }
                for (o, b) in orow.iter_mut().zip(other.row(k)) {
                    *o += a * b;
                }
            }
        }
        out
    }

    /// `self · x` for a column vector `x` (length `cols`).
    pub fn mul_vec(&self, x: &[f64]) -> Vec<f64> {
        assert_eq!(x.len(), self.cols, "mul_vec: {}x{} · {}", self.rows, self.cols, x.len());
        (0..self.rows).map(|i| dot(self.row(i), x)).collect()
    }

    /// `xᵀ · self` for a row vector `x` (length `rows`).
    pub fn vec_mul(&self, x: &[f64]) -> Vec<f64> {
        assert_eq!(x.len(), self.rows, "vec_mul: {} · {}x{}", x.len(), self.rows, self.cols);
        (0..self.cols).map(|j| x.iter().enumerate().map(|(i, xi)| xi * self.get(i, j)).sum()).collect()
    }

    /// The sub-matrix with the given rows (in order) and all columns.
    pub fn select_rows(&self, rows: &[usize]) -> Mat {
        let mut data = Vec::with_capacity(rows.len() * self.cols);
        for &r in rows {
            data.extend_from_slice(self.row(r));
        }
        Mat::from_rows(rows.len(), self.cols, data)
    }

    /// The sub-matrix with all rows and the given columns (in order).
    pub fn select_cols(&self, cols: &[usize]) -> Mat {
        Mat::from_fn(self.rows, cols.len(), |i, j| self.get(i, cols[j]))
    }

    pub fn frobenius(&self) -> f64 {
        self.data.iter().map(|x| x * x).sum::<f64>().sqrt()
    }

    /// `‖self − other‖_F`.
    pub fn dist(&self, other: &Mat) -> f64 {
        assert_eq!((self.rows, self.cols), (other.rows, other.cols));
        self.data.iter().zip(&other.data).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt()
    }
}

/// A thin SVD `A = U · diag(s) · Vᵀ` with `r = min(m, n)` singular values in descending order.
#[derive(Debug, Clone)]
pub struct Svd {
    /// `m × r`, orthonormal columns (a column is zero where its singular value is zero).
    pub u: Mat,
    pub s: Vec<f64>,
    /// `n × r`, orthonormal columns.
    pub v: Mat,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// One-sided (Hestenes) Jacobi SVD. Accurate to a few ulps of `‖A‖` for the small matrices used here.
pub fn svd(a: &Mat) -> Svd {
    if a.rows < a.cols {
        let t = svd(&a.transpose());
        return Svd { u: t.v, s: t.s, v: t.u };
    }
    let (m, n) = (a.rows, a.cols);
    // Column-major working copies: columns of A (rotated into U·Σ) and of V.
    let mut cols: Vec<Vec<f64>> = (0..n).map(|j| (0..m).map(|i| a.get(i, j)).collect()).collect();
    let mut v: Vec<Vec<f64>> = (0..n)
        .map(|j| {
            let mut c = vec![0.0; n];
            c[j] = 1.0;
            c
        })
        .collect();
    let tol = 1e-15;
    for _sweep in 0..80 {
        let mut rotated = false;
        for p in 0..n {
            for q in p + 1..n {
                let alpha = dot(&cols[p], &cols[p]);
                let beta = dot(&cols[q], &cols[q]);
                let gamma = dot(&cols[p], &cols[q]);
                if gamma == 0.0 || gamma.abs() <= tol * (alpha * beta).sqrt() {
                    continue;
                }
                rotated = true;
                let zeta = (beta - alpha) / (2.0 * gamma);
                let sign = if zeta >= 0.0 { 1.0 } else { -1.0 };
                let t = sign / (zeta.abs() + (1.0 + zeta * zeta).sqrt());
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = c * t;
                rotate(&mut cols, p, q, c, s);
                rotate(&mut v, p, q, c, s);
            }
        }
        if !rotated {
            break;
        }
    }
    let mut order: Vec<(f64, usize)> = cols.iter().enumerate().map(|(j, c)| (dot(c, c).sqrt(), j)).collect();
    order.sort_by(|x, y| y.0.total_cmp(&x.0));
    let smax = order.first().map_or(0.0, |x| x.0);
    let mut u = Mat::zeros(m, n);
    let mut vm = Mat::zeros(n, n);
    let mut s = Vec::with_capacity(n);
    for (k, &(sv, j)) in order.iter().enumerate() {
        s.push(sv);
        // Columns whose norm is pure round-off carry no direction: leave them zero.
        if sv > 0.0 && sv > smax * 1e-300 {
            for i in 0..m {
                u.set(i, k, cols[j][i] / sv);
            }
        }
        for i in 0..n {
            vm.set(i, k, v[j][i]);
        }
    }
    Svd { u, s, v: vm }
}

fn rotate(cols: &mut [Vec<f64>], p: usize, q: usize, c: f64, s: f64) {
    let (lo, hi) = cols.split_at_mut(q);
    for (x, y) in lo[p].iter_mut().zip(hi[0].iter_mut()) {
        let (xp, yq) = (*x, *y);
        *x = c * xp - s * yq;
        *y = s * xp + c * yq;
    }
}

/// The Moore–Penrose pseudo-inverse (`n × m` for an `m × n` input) from the SVD, dropping singular values
/// at or below `rcond · σ_max`. Never forms an explicit inverse.
pub fn pinv(a: &Mat, rcond: f64) -> Mat {
    let Svd { u, s, v } = svd(a);
    let smax = s.first().copied().unwrap_or(0.0);
    let cut = rcond * smax;
    let mut out = Mat::zeros(a.cols, a.rows);
    for (k, &sv) in s.iter().enumerate() {
        if sv <= cut || sv == 0.0 {
            continue;
        }
        let inv = 1.0 / sv;
        for i in 0..a.cols {
            let vi = v.get(i, k) * inv;
            if vi == 0.0 {
                continue;
            }
            let orow = &mut out.data[i * a.rows..(i + 1) * a.rows];
            for (j, o) in orow.iter_mut().enumerate() {
                *o += vi * u.get(j, k);
            }
        }
    }
    out
}

/// Greedy column-pivoted QR (Businger–Golub) on the columns of `a`: returns `k` column indices in pick
/// order, each time the column with the largest residual norm after projecting out the ones already picked.
/// Columns listed in `forbidden` are never picked. Stops early when every residual is (numerically) zero.
pub fn pivoted_qr_columns(a: &Mat, k: usize, forbidden: &[usize]) -> Vec<usize> {
    let (m, n) = (a.rows, a.cols);
    // Column-major copy so that each column is contiguous.
    let mut cols: Vec<Vec<f64>> = (0..n).map(|j| (0..m).map(|i| a.get(i, j)).collect()).collect();
    let mut norms: Vec<f64> = cols.iter().map(|c| dot(c, c)).collect();
    let mut allowed = vec![true; n];
    for &f in forbidden {
        if f < n {
            allowed[f] = false;
        }
    }
    let initial_max = norms.iter().cloned().fold(0.0f64, f64::max);
    let mut picked = Vec::with_capacity(k);
    while picked.len() < k.min(n) {
        let best = (0..n).filter(|&j| allowed[j]).max_by(|&x, &y| norms[x].total_cmp(&norms[y]));
        let Some(best) = best else { break };
        if norms[best] <= initial_max * 1e-24 {
            // Rank exhausted: fill with the remaining allowed columns of largest original norm? No —
            // callers that need exactly k get the rest from their fallback; stop here.
            break;
        }
        allowed[best] = false;
        picked.push(best);
        let nrm = dot(&cols[best], &cols[best]).sqrt();
        if nrm == 0.0 {
            continue;
        }
        let q: Vec<f64> = cols[best].iter().map(|x| x / nrm).collect();
        for j in 0..n {
            if !allowed[j] {
                continue;
            }
            let proj = dot(&q, &cols[j]);
            for (c, qi) in cols[j].iter_mut().zip(&q) {
                *c -= proj * qi;
            }
            norms[j] = dot(&cols[j], &cols[j]);
        }
    }
    picked
}

/// Solves `A x = b` for a symmetric positive definite `A` by Cholesky (`A = L Lᵀ`, then two triangular
/// solves). Returns `None` when `A` is not numerically positive definite (a non-positive pivot), so the
/// caller can fall back to the pseudo-inverse.
pub fn cholesky_solve(a: &Mat, b: &[f64]) -> Option<Vec<f64>> {
    let n = a.rows;
    assert_eq!(a.cols, n, "cholesky_solve: A must be square");
    assert_eq!(b.len(), n, "cholesky_solve: b must have A's size");
    let mut l = Mat::zeros(n, n);
    for i in 0..n {
        for j in 0..=i {
            let s = a.get(i, j) - dot(&l.row(i)[..j], &l.row(j)[..j]);
            if i == j {
                if !(s > 0.0 && s.is_finite()) {
                    return None;
                }
                l.set(i, i, s.sqrt());
            } else {
                l.set(i, j, s / l.get(j, j));
            }
        }
    }
    // L y = b, then Lᵀ x = y.
    let mut y = vec![0.0; n];
    for i in 0..n {
        y[i] = (b[i] - dot(&l.row(i)[..i], &y[..i])) / l.get(i, i);
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = ((i + 1)..n).map(|k| l.get(k, i) * x[k]).sum();
        x[i] = (y[i] - s) / l.get(i, i);
    }
    Some(x)
}

/// `out[j] = Σ_i x[i] · y[j·stride + i]` style dot of two `f32` slices, with eight independent
/// accumulators so the compiler vectorises it.
#[inline]
pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += x * y;
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn random(rows: usize, cols: usize, rng: &mut StdRng) -> Mat {
        Mat::from_fn(rows, cols, |_, _| rng.random_range(-1.0..1.0))
    }

    fn low_rank(rows: usize, cols: usize, rank: usize, seed: u64) -> Mat {
        let mut rng = StdRng::seed_from_u64(seed);
        random(rows, rank, &mut rng).matmul(&random(rank, cols, &mut rng))
    }

    fn assert_close(a: &Mat, b: &Mat, tol: f64, what: &str) {
        let scale = a.frobenius().max(b.frobenius()).max(1e-12);
        let err = a.dist(b) / scale;
        assert!(err < tol, "{what}: relative error {err:e} ≥ {tol:e}");
    }

    #[test]
    fn svd_reconstructs_and_is_orthonormal() {
        let mut rng = StdRng::seed_from_u64(7);
        for &(m, n) in &[(5, 3), (3, 5), (20, 20), (1, 4), (40, 7)] {
            let a = random(m, n, &mut rng);
            let Svd { u, s, v } = svd(&a);
            let r = m.min(n);
            let us = Mat::from_fn(m, r, |i, k| u.get(i, k) * s[k]);
            assert_close(&us.matmul(&v.transpose()), &a, 1e-12, "U S Vt");
            assert_close(&u.transpose().matmul(&u), &Mat::identity(r), 1e-12, "UtU");
            assert_close(&v.transpose().matmul(&v), &Mat::identity(r), 1e-12, "VtV");
            assert!(s.windows(2).all(|w| w[0] >= w[1]), "descending");
        }
    }

    #[test]
    fn pinv_of_zero_and_empty() {
        let z = Mat::zeros(3, 2);
        assert_eq!(pinv(&z, 1e-10), Mat::zeros(2, 3));
    }

    #[test]
    fn pivoted_qr_finds_rank() {
        let a = low_rank(10, 30, 4, 3);
        let cols = pivoted_qr_columns(&a, 10, &[]);
        assert_eq!(cols.len(), 4, "stops at the numerical rank");
        let forbidden = pivoted_qr_columns(&a, 3, &cols[..1]);
        assert!(!forbidden.contains(&cols[0]));
    }

    #[test]
    fn dot_f32_matches_naive() {
        let a: Vec<f32> = (0..37).map(|i| i as f32 * 0.5 - 3.0).collect();
        let b: Vec<f32> = (0..37).map(|i| (i as f32).sin()).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot_f32(&a, &b) - naive).abs() < 1e-4);
    }

    #[test]
    fn vector_products_match_matmul() {
        let mut rng = StdRng::seed_from_u64(7);
        let a = random(4, 3, &mut rng);
        let (x, y) = (vec![0.5, -1.0, 2.0], vec![1.0, 0.0, -3.0, 0.25]);
        assert_eq!(a.mul_vec(&x), a.matmul(&Mat::from_rows(3, 1, x.clone())).data);
        assert_eq!(a.vec_mul(&y), Mat::from_rows(1, 4, y.clone()).matmul(&a).data);
    }

    #[test]
    fn cholesky_refuses_indefinite() {
        let a = Mat::from_rows(2, 2, vec![1.0, 2.0, 2.0, 1.0]);
        assert_eq!(cholesky_solve(&a, &[1.0, 1.0]), None);
        assert_eq!(cholesky_solve(&Mat::zeros(0, 0), &[]), Some(vec![]));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// The four Moore–Penrose conditions on random low-rank matrices.
        #[test]
        fn pinv_satisfies_moore_penrose(m in 1usize..25, n in 1usize..25, r in 1usize..6, seed in any::<u64>()) {
            let r = r.min(m).min(n);
            let a = low_rank(m, n, r, seed);
            let p = pinv(&a, 1e-10);
            prop_assert_eq!((p.rows, p.cols), (n, m));
            let ap = a.matmul(&p);
            let pa = p.matmul(&a);
            assert_close(&ap.matmul(&a), &a, 1e-9, "A A+ A = A");
            assert_close(&pa.matmul(&p), &p, 1e-9, "A+ A A+ = A+");
            assert_close(&ap.transpose(), &ap, 1e-9, "(A A+)^T = A A+");
            assert_close(&pa.transpose(), &pa, 1e-9, "(A+ A)^T = A+ A");
        }

        /// `cholesky_solve` on `A = BᵀB + λI` (symmetric positive definite) solves `A x = b`.
        #[test]
        fn cholesky_solves_spd_systems(n in 1usize..20, extra in 0usize..10, lambda in 1e-6f64..10.0, seed in any::<u64>()) {
            let mut rng = StdRng::seed_from_u64(seed);
            let bm = random(n + extra, n, &mut rng);
            let mut a = bm.transpose().matmul(&bm);
            for i in 0..n {
                a.set(i, i, a.get(i, i) + lambda);
            }
            let b: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
            let x = cholesky_solve(&a, &b).expect("SPD");
            let ax = a.matmul(&Mat::from_rows(n, 1, x));
            let err: f64 = (0..n).map(|i| (ax.get(i, 0) - b[i]).powi(2)).sum::<f64>().sqrt();
            let scale = b.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
            prop_assert!(err / scale < 1e-6 * (1.0 + 1.0 / lambda), "residual {err:e}");
        }

        /// CUR with selected rows Q and columns I: `C · pinv(W) · R` reproduces the selected rows and
        /// columns exactly, and the whole matrix when `|Q|, |I| ≥ rank`.
        #[test]
        fn cur_reproduces_selection_and_recovers_rank_r(
            m in 4usize..30, n in 4usize..40, r in 1usize..5, extra_q in 0usize..4, extra_i in 0usize..4,
            seed in any::<u64>(),
        ) {
            let r = r.min(m).min(n);
            let a = low_rank(m, n, r, seed);
            let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
            let kq = (r + extra_q).min(m);
            let ki = (r + extra_i).min(n);
            let q = rand::seq::index::sample(&mut rng, m, kq).into_vec();
            let i = rand::seq::index::sample(&mut rng, n, ki).into_vec();
            let rows = a.select_rows(&q);
            let c = a.select_cols(&i);
            let w = rows.select_cols(&i);
            let approx = c.matmul(&pinv(&w, 1e-10)).matmul(&rows);
            // Random Gaussian-like factors: W has rank r almost surely, so recovery is exact.
            prop_assert!(approx.dist(&a) / a.frobenius() < 1e-8, "rank-r recovery");
            assert_close(&approx.select_rows(&q), &rows, 1e-8, "selected rows");
            assert_close(&approx.select_cols(&i), &c, 1e-8, "selected columns");
        }
    }
}
