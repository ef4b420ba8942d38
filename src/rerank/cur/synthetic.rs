//! A synthetic low-rank [`PairScorer`] for tests and for developing the evaluation harness without a
//! model: every text hashes to a latent vector, and `score(q, d) = ⟨f(q), g(d)⟩ + noise · h(q, d)`, which
//! is exactly rank `rank` when `noise` is zero.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{PairScorer, ScorerError};

#[derive(Debug, Clone)]
pub struct LowRankScorer {
    pub rank: usize,
    /// Amplitude of a full-rank pair-hash term added to the low-rank score.
    pub noise: f32,
    pub seed: u64,
}

/// FNV-1a: stable across Rust versions and platforms.
pub fn fnv1a(bytes: &[u8], seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl LowRankScorer {
    pub fn new(rank: usize, seed: u64) -> Self {
        Self { rank, noise: 0.0, seed }
    }

    pub fn with_noise(mut self, noise: f32) -> Self {
        self.noise = noise;
        self
    }

    fn latent(&self, text: &str, side: u64) -> Vec<f32> {
        let mut rng = StdRng::seed_from_u64(fnv1a(text.as_bytes(), self.seed ^ side));
        (0..self.rank).map(|_| rng.random_range(-1.0f32..1.0)).collect()
    }
}

impl PairScorer for LowRankScorer {
    fn score(&self, pairs: &[(&str, &str)]) -> Result<Vec<f32>, ScorerError> {
        Ok(pairs
            .iter()
            .map(|(q, d)| {
                let f = self.latent(q, 1);
                let g = self.latent(d, 2);
                let mut s: f32 = f.iter().zip(&g).map(|(a, b)| a * b).sum();
                if self.noise != 0.0 {
                    let h = fnv1a(d.as_bytes(), fnv1a(q.as_bytes(), self.seed ^ 3));
                    s += self.noise * ((h >> 11) as f32 / (1u64 << 53) as f32 - 0.5);
                }
                s
            })
            .collect())
    }

    fn model_id(&self) -> String {
        format!("synthetic-low-rank-r{}-n{}-s{}", self.rank, self.noise, self.seed)
    }
}
