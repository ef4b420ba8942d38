//! Choosing the anchor items `I_a` once `R = CE(Q_a, all N)` is known.
//!
//! - [`AnchorMethod::Random`]: uniform without replacement (the ANNCUR paper's baseline).
//! - [`AnchorMethod::PivotedQr`]: column-pivoted QR on `R`: greedily the item whose score column is least
//!   explained by the anchors already picked. Costs no CE calls (R exists) and `O(k_i · k_q · N)` flops.
//! - [`AnchorMethod::Given`]: the caller's ids (for example k-means centres computed elsewhere).

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use super::linalg::{Mat, pivoted_qr_columns};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "kebab-case")]
pub enum AnchorMethod {
    Random {
        seed: u64,
    },
    PivotedQr,
    /// Greedy coverage of the anchor queries' top lists: repeatedly the item that is in the top `depth`
    /// of the most anchor queries not yet covered `per_query` times (ties and leftovers by pivoted QR).
    /// Aims the anchors at the high-scoring region that Top-k recall depends on.
    TopCoverage {
        depth: usize,
        per_query: usize,
    },
    Given {
        ids: Vec<String>,
    },
}

impl AnchorMethod {
    pub fn name(&self) -> &'static str {
        match self {
            AnchorMethod::Random { .. } => "random",
            AnchorMethod::PivotedQr => "pivoted-qr",
            AnchorMethod::TopCoverage { .. } => "top-coverage",
            AnchorMethod::Given { .. } => "given",
        }
    }
}

/// Picks `k_i` item positions among `n` items, never one in `forbidden`. `rt` is `R` stored item-major
/// (`n × k_q`). Pivoted QR tops up with random items when `R`'s numerical rank is below `k_i`.
/// `Given` ids are resolved by the caller (see `CurIndex::build`), so here it returns an empty list.
pub fn select_item_anchors(
    method: &AnchorMethod,
    rt: &[f32],
    k_q: usize,
    n: usize,
    k_i: usize,
    forbidden: &[usize],
) -> Vec<usize> {
    let k_i = k_i.min(n.saturating_sub(forbidden.len()));
    match method {
        AnchorMethod::Random { seed } => random_positions(n, k_i, forbidden, &[], *seed),
        AnchorMethod::PivotedQr => {
            // R is k_q × n: column j is rt[j*k_q..(j+1)*k_q].
            let r = Mat::from_fn(k_q, n, |q, j| rt[j * k_q + q] as f64);
            let mut picked = pivoted_qr_columns(&r, k_i, forbidden);
            if picked.len() < k_i {
                let more = random_positions(n, k_i - picked.len(), forbidden, &picked, 0x9e37);
                picked.extend(more);
            }
            picked
        }
        AnchorMethod::TopCoverage { depth, per_query } => {
            let qr = select_item_anchors(&AnchorMethod::PivotedQr, rt, k_q, n, n.min(4 * k_i.max(1)), forbidden);
            let qr_rank: Vec<usize> = {
                let mut r = vec![usize::MAX; n];
                for (i, &j) in qr.iter().enumerate() {
                    r[j] = i;
                }
                r
            };
            // tops[q] = the `depth` best items of anchor query q.
            let mut in_top: Vec<Vec<usize>> = vec![Vec::new(); n];
            for q in 0..k_q {
                let mut idx: Vec<usize> = (0..n).filter(|j| !forbidden.contains(j)).collect();
                idx.sort_by(|&a, &b| rt[b * k_q + q].total_cmp(&rt[a * k_q + q]));
                for &j in idx.iter().take(*depth) {
                    in_top[j].push(q);
                }
            }
            let mut covered = vec![0usize; k_q];
            let mut picked: Vec<usize> = Vec::with_capacity(k_i);
            let mut used = vec![false; n];
            for &f in forbidden {
                if f < n {
                    used[f] = true;
                }
            }
            while picked.len() < k_i {
                let gain = |j: usize| in_top[j].iter().filter(|&&q| covered[q] < *per_query).count();
                let best = (0..n)
                    .filter(|&j| !used[j])
                    .max_by(|&a, &b| gain(a).cmp(&gain(b)).then(qr_rank[b].cmp(&qr_rank[a])));
                let Some(best) = best else { break };
                if gain(best) == 0 {
                    break;
                }
                used[best] = true;
                picked.push(best);
                for &q in &in_top[best] {
                    covered[q] += 1;
                }
            }
            for &j in &qr {
                if picked.len() >= k_i {
                    break;
                }
                if !used[j] {
                    used[j] = true;
                    picked.push(j);
                }
            }
            if picked.len() < k_i {
                let more = random_positions(n, k_i - picked.len(), forbidden, &picked, 0x9e37);
                picked.extend(more);
            }
            picked
        }
        AnchorMethod::Given { .. } => Vec::new(),
    }
}

fn random_positions(n: usize, k: usize, forbidden: &[usize], taken: &[usize], seed: u64) -> Vec<usize> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut pool: Vec<usize> = (0..n).filter(|j| !forbidden.contains(j) && !taken.contains(j)).collect();
    let k = k.min(pool.len());
    // Partial Fisher–Yates over the allowed positions.
    for i in 0..k {
        let j = rand::Rng::random_range(&mut rng, i..pool.len());
        pool.swap(i, j);
    }
    pool.truncate(k);
    pool
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_respects_forbidden_and_is_deterministic() {
        let rt = vec![0.0f32; 20 * 3];
        let a = select_item_anchors(&AnchorMethod::Random { seed: 1 }, &rt, 3, 20, 5, &[0, 1, 2]);
        let b = select_item_anchors(&AnchorMethod::Random { seed: 1 }, &rt, 3, 20, 5, &[0, 1, 2]);
        assert_eq!(a, b);
        assert_eq!(a.len(), 5);
        assert!(a.iter().all(|&j| j > 2));
        let mut d = a.clone();
        d.sort();
        d.dedup();
        assert_eq!(d.len(), 5);
    }

    #[test]
    fn pivoted_qr_tops_up_when_rank_deficient() {
        // Rank 1: every column is a multiple of (1, 2).
        let rt: Vec<f32> = (0..10).flat_map(|j| [j as f32 + 1.0, 2.0 * (j as f32 + 1.0)]).collect();
        let a = select_item_anchors(&AnchorMethod::PivotedQr, &rt, 2, 10, 4, &[]);
        assert_eq!(a.len(), 4);
        assert_eq!(a[0], 9, "largest column first");
    }

    #[test]
    fn top_coverage_picks_items_that_top_many_queries() {
        // 3 queries × 6 items; item 4 is best for queries 0 and 1, item 2 for query 2.
        let r = [[0.1, 0.2, 0.3, 0.0, 0.9, 0.5], [0.0, 0.1, 0.2, 0.3, 0.8, 0.1], [0.2, 0.1, 0.9, 0.0, 0.1, 0.3]];
        let rt: Vec<f32> = (0..6).flat_map(|j| (0..3).map(move |q| r[q][j])).collect();
        let m = AnchorMethod::TopCoverage { depth: 1, per_query: 1 };
        let a = select_item_anchors(&m, &rt, 3, 6, 3, &[]);
        assert_eq!(&a[..2], &[4, 2]);
        assert_eq!(a.len(), 3);
        let b = select_item_anchors(&m, &rt, 3, 6, 2, &[4]);
        assert!(!b.contains(&4));
    }
}
