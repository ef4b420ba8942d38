//! Adaptive retrieval by kriging (Gaussian-process regression) over the CUR index's `R`.
//!
//! Plain and adaptive CUR fit the query's score row as an unregularised combination of the `k_q` anchor
//! query rows from the few items scored so far (`c_S · pinv(R[:, S])`). With `|S| < k_q` that fit is
//! underdetermined and, measured on real CE scores (`papertide eval cur`), it wastes the budget on the
//! items every query scores highly. Kriging treats a query's row as a random vector over the items:
//!
//! - mean `m_j = μ_j + β·z_j`: `μ_j` is item `j`'s mean score over the anchor queries (how relevant it
//!   looks to anyone; computed from its column of `R`, so appended items get it for free) and `z` is an
//!   optional per-query prior from the caller, z-scored (for example the BM25 scores of the query);
//! - covariance `K = AᵀA / k_q`, with `A = R − μ` the centred anchor rows (items that the anchor queries
//!   score alike co-vary), plus noise `σ²` on the observed scores.
//!
//! After each round the posterior mean `m + K[:, S] (K[S, S] + σ²I)⁻¹ (y_S − m_S)` ranks the unscored
//! items and the best `round_size` are scored exactly. The noise term is what a ridge penalty would be
//! in the least-squares view, so the fit stays stable at any `|S|`. Budget: `|initial| + k_r` CE calls.

use super::index::{CurIndex, QueryOptions, QueryResult, Search};
use super::linalg::{Mat, cholesky_solve, dot_f32, pinv};
use super::{CurError, PairScorer};

/// Settings of [`CurIndex::query_kriging`]. The defaults are the best measured by `papertide eval cur`
/// (1,000 cs.CL papers, 100 anchor queries): they barely move the result within 2× either way.
#[derive(Debug, Clone, PartialEq)]
pub struct KrigingOptions {
    /// Items scored exactly per round after the initial ones.
    pub round_size: usize,
    /// `σ²`: noise variance of an observed score, in the units of the kernel `AᵀA / k_q` (score², added
    /// to its diagonal; must be > 0).
    pub noise: f64,
    /// `β`: weight of the z-scored caller prior in the mean.
    pub prior_weight: f64,
    /// `λ`: each round picks the items with the highest `posterior − λ·μ_j` rather than the highest
    /// posterior. An item every query scores highly (a "hub": high `μ_j`) then has to look unusually good
    /// for this query to be picked (the hubness correction of CSLS, Lample et al. 2018). 0 = plain kriging.
    pub hub_weight: f64,
}

impl Default for KrigingOptions {
    fn default() -> Self {
        Self { round_size: 5, noise: 1.0, prior_weight: 0.3, hub_weight: 0.0 }
    }
}

impl CurIndex {
    /// Each item's mean score over the anchor queries, `μ_j`.
    pub fn item_means(&self) -> &[f32] {
        &self.means
    }

    /// The kriging posterior mean of a query's scores over all items, given the exact scores `observed`
    /// as `(position, score)` and an optional per-item prior (length `N`). Pure: no CE calls.
    pub fn kriging_scores(
        &self,
        observed: &[(usize, f32)],
        prior: Option<&[f32]>,
        opts: &KrigingOptions,
    ) -> Result<Vec<f32>, CurError> {
        let mu = self.item_means();
        let mean = self.prior_mean(mu, prior, opts)?;
        Ok(self.posterior_mean(mu, &mean, observed, opts.noise))
    }

    /// Kriging retrieval: scores the `initial` items (the anchor items when `None`; unknown ids are
    /// skipped), then in rounds of `round_size` scores the unscored items with the highest posterior
    /// mean (less `hub_weight·μ_j`), `k_r` in all, and returns the top `k` of everything scored. Excluded
    /// items inform the fit but are never returned. Spends exactly `|initial| + k_r` CE calls (fewer only
    /// when the index has fewer items).
    #[allow(clippy::too_many_arguments)]
    pub fn query_kriging(
        &self,
        scorer: &dyn PairScorer,
        query_text: &str,
        exclude: &[&str],
        opts: QueryOptions,
        kopts: &KrigingOptions,
        initial: Option<&[&str]>,
        prior: Option<&[f32]>,
        item_text: &dyn Fn(&str) -> Option<String>,
    ) -> Result<QueryResult, CurError> {
        let mu = self.item_means();
        let mean = self.prior_mean(mu, prior, kopts)?;
        let mut search = Search::start(self, scorer, query_text, exclude, initial, item_text)?;
        let mut remaining = opts.k_r;
        let step = kopts.round_size.max(1);
        while remaining > 0 {
            let mut s = self.posterior_mean(mu, &mean, &search.fit, kopts.noise);
            if kopts.hub_weight != 0.0 {
                for (x, &m) in s.iter_mut().zip(mu) {
                    *x -= kopts.hub_weight as f32 * m;
                }
            }
            let scored = search.score_top(&s, step.min(remaining))?;
            if scored == 0 {
                break;
            }
            remaining -= scored;
        }
        Ok(search.finish(opts.k))
    }

    /// `m = μ + β·z(prior)`, in f64.
    fn prior_mean(&self, mu: &[f32], prior: Option<&[f32]>, opts: &KrigingOptions) -> Result<Vec<f64>, CurError> {
        if !(opts.noise > 0.0 && opts.noise.is_finite()) {
            return Err(CurError::Invalid(format!("kriging noise must be a positive number, got {}", opts.noise)));
        }
        if !opts.hub_weight.is_finite() {
            return Err(CurError::Invalid(format!("kriging hub weight must be a number, got {}", opts.hub_weight)));
        }
        let mut mean: Vec<f64> = mu.iter().map(|&m| m as f64).collect();
        if let Some(p) = prior {
            if p.len() != mean.len() {
                return Err(CurError::Invalid(format!("prior has {} values for {} items", p.len(), mean.len())));
            }
            let n = p.len() as f64;
            let avg = p.iter().map(|&x| x as f64).sum::<f64>() / n;
            let sd = (p.iter().map(|&x| (x as f64 - avg).powi(2)).sum::<f64>() / n).sqrt();
            if sd > 0.0 && sd.is_finite() {
                for (m, &x) in mean.iter_mut().zip(p) {
                    *m += opts.prior_weight * (x as f64 - avg) / sd;
                }
            }
        }
        Ok(mean)
    }

    /// `m + A ᵀ v` with `v = A_S (K_SS + σ²I)⁻¹ (y_S − m_S) / k_q`: one pass over `R`.
    fn posterior_mean(&self, mu: &[f32], mean: &[f64], observed: &[(usize, f32)], noise: f64) -> Vec<f32> {
        let k_q = self.k_q();
        let s = observed.len();
        if s == 0 {
            return mean.iter().map(|&m| m as f32).collect();
        }
        // A_S: k_q × s, the centred columns of the observed items.
        let a_s = Mat::from_fn(k_q, s, |q, i| {
            let p = observed[i].0;
            (self.rt[p * k_q + q] - mu[p]) as f64
        });
        let mut k_ss = a_s.transpose().matmul(&a_s);
        for i in 0..s {
            for j in 0..s {
                k_ss.set(i, j, k_ss.get(i, j) / k_q as f64 + if i == j { noise } else { 0.0 });
            }
        }
        let resid: Vec<f64> = observed.iter().map(|&(p, y)| y as f64 - mean[p]).collect();
        // K_SS + σ²I is positive definite for σ² > 0; the pseudo-inverse only guards against round-off.
        let alpha = cholesky_solve(&k_ss, &resid).unwrap_or_else(|| pinv(&k_ss, 1e-12).mul_vec(&resid));
        let v: Vec<f32> = a_s.mul_vec(&alpha).into_iter().map(|x| (x / k_q as f64) as f32).collect();
        let v_sum: f32 = v.iter().sum();
        self.rt
            .chunks_exact(k_q)
            .zip(mu)
            .zip(mean)
            .map(|((r_j, &mu_j), &m_j)| m_j as f32 + dot_f32(r_j, &v) - mu_j * v_sum)
            .collect()
    }
}
