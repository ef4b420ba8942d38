//! Score fusion: the final order of a related list from the cross-encoder's scores and the whole-text TF-IDF
//! cosine, each standardised over the list.
//!
//! Why scores and not ranks: reciprocal-rank fusion (the former default, [`super::pipeline::fuse_ranks`])
//! keeps only each signal's order, so a paper the model barely prefers and one it prefers by a wide margin
//! weigh the same, and a lexical near-duplicate counts no more than a weak match. Standard scores keep the
//! margins and put the two signals on one scale per list, whatever the model's logit range. Measured on the
//! relatedness judgments over a corpus of random papers (the held-back evaluation's shape, README § Related
//! papers), where most lexical candidates are weak and the margins matter. Pure functions, property-tested.

/// Standard scores of `xs`: mean 0, population standard deviation 1. A list whose values are all equal (or
/// has fewer than two) carries no order, so it standardises to zeros.
pub fn standardize(xs: &[f32]) -> Vec<f64> {
    if xs.is_empty() {
        return Vec::new();
    }
    let n = xs.len() as f64;
    let mean = xs.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = xs.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
    let sd = var.sqrt();
    if sd.is_nan() || sd <= 1e-12 {
        return vec![0.0; xs.len()];
    }
    xs.iter().map(|&x| (x as f64 - mean) / sd).collect()
}

/// Ids of `scored` (id, cross-encoder score) ordered by `z(score) + weight · z(cosine)`, best first, ties by
/// id; `cosine[i]` is the TF-IDF cosine of `scored[i]` to the query paper. `weight` 0 is the cross-encoder
/// order; a large weight tends to the cosine order.
pub fn fuse_scores(scored: &[(String, f32)], cosine: &[f32], weight: f32) -> Vec<String> {
    fuse(scored, &[(cosine, weight)])
}

/// Ids of `scored` (id, cross-encoder score) ordered by `z(score) + Σ weight_k · z(signal_k)`, best first,
/// ties by id; `signal_k[i]` belongs to `scored[i]` (the TF-IDF cosine, the embedding cosine).
pub fn fuse(scored: &[(String, f32)], signals: &[(&[f32], f32)]) -> Vec<String> {
    let ce: Vec<f32> = scored.iter().map(|(_, s)| *s).collect();
    let mut total = standardize(&ce);
    for (signal, weight) in signals {
        assert_eq!(scored.len(), signal.len(), "one value of each signal per scored paper");
        for (t, z) in total.iter_mut().zip(standardize(signal)) {
            *t += *weight as f64 * z;
        }
    }
    let mut fused: Vec<(f64, &str)> = scored.iter().enumerate().map(|(i, (id, _))| (total[i], id.as_str())).collect();
    fused.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    fused.into_iter().map(|(_, id)| id.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("p{i:02}")).collect()
    }

    #[test]
    fn a_hand_made_list() {
        // CE: a 3, b 1, c 2 → z = (1.2247, -1.2247, 0); cosine: a 0.25, b 0.75, c 0.5 → z = (-1.2247, 1.2247, 0)
        // (values exact in binary, so the cancellation below is exact too).
        let scored: Vec<(String, f32)> = vec![("a".into(), 3.0), ("b".into(), 1.0), ("c".into(), 2.0)];
        let cos = [0.25, 0.75, 0.5];
        assert_eq!(fuse_scores(&scored, &cos, 0.0), ["a", "c", "b"], "weight 0: the cross-encoder's order");
        // Equal weight: a and b cancel to 0 and tie with c; ties go by id.
        assert_eq!(fuse_scores(&scored, &cos, 1.0), ["a", "b", "c"]);
        assert_eq!(fuse_scores(&scored, &cos, 3.0), ["b", "c", "a"], "a heavy weight: the cosine's order");
        assert_eq!(standardize(&[2.0, 2.0, 2.0]), [0.0, 0.0, 0.0]);
        assert_eq!(standardize(&[5.0]), [0.0]);
        assert!(fuse_scores(&[], &[], 1.0).is_empty());
        // A third signal (the embedding cosine: c 0.9 > b 0.2 > a 0.1): weight 0 changes nothing; weight 1
        // breaks the three-way tie in its own order.
        let dense = [0.1, 0.2, 0.9];
        assert_eq!(fuse(&scored, &[(&cos, 1.0), (&dense, 0.0)]), ["a", "b", "c"]);
        assert_eq!(fuse(&scored, &[(&cos, 1.0), (&dense, 1.0)]), ["c", "b", "a"]);
    }

    proptest! {
        #[test]
        fn standard_scores_have_mean_zero_and_unit_spread(xs in prop::collection::vec(-20.0f32..20.0, 2..40)) {
            let z = standardize(&xs);
            let n = z.len() as f64;
            let mean = z.iter().sum::<f64>() / n;
            prop_assert!(mean.abs() < 1e-9);
            let var = z.iter().map(|v| v * v).sum::<f64>() / n;
            prop_assert!(var.abs() < 1e-9 || (var - 1.0).abs() < 1e-9, "variance {var}");
        }

        #[test]
        fn the_order_is_a_permutation_and_ignores_input_order_and_scale(
            pairs in prop::collection::vec((-10i32..10, 0u32..100), 1..30),
            weight in 0.0f32..3.0,
            shift in 0usize..30,
        ) {
            let names = ids(pairs.len());
            let scored: Vec<(String, f32)> = names.iter().cloned().zip(pairs.iter().map(|p| p.0 as f32)).collect();
            let cos: Vec<f32> = pairs.iter().map(|p| p.1 as f32 / 100.0).collect();
            let order = fuse_scores(&scored, &cos, weight);
            let mut sorted = order.clone();
            sorted.sort();
            prop_assert_eq!(&sorted, &names);
            // The same list given in another order.
            let k = shift % pairs.len();
            let (mut s2, mut c2) = (scored.clone(), cos.clone());
            s2.rotate_left(k);
            c2.rotate_left(k);
            prop_assert_eq!(&fuse_scores(&s2, &c2, weight), &order);
            // Scores on another scale (a power of two, so exact): standard scores do not see it.
            let scaled: Vec<(String, f32)> = scored.iter().map(|(id, s)| (id.clone(), s * 4.0)).collect();
            let cos_scaled: Vec<f32> = cos.iter().map(|c| c * 0.5).collect();
            prop_assert_eq!(&fuse_scores(&scaled, &cos_scaled, weight), &order);
        }

        #[test]
        fn where_the_two_signals_agree_the_order_is_theirs(
            ce in Just((0..30).collect::<Vec<i32>>()).prop_shuffle(),
            n in 1usize..30,
            weight in 0.0f32..3.0,
        ) {
            // Distinct scores, and a cosine that ranks the papers the same way (any increasing function).
            let names = ids(n);
            let scored: Vec<(String, f32)> = names.iter().cloned().zip(ce.iter().map(|&c| c as f32)).collect();
            let cos: Vec<f32> = ce.iter().take(n).map(|&c| 0.2 + (c as f32 / 30.0).powi(2)).collect();
            let mut by_ce = scored.clone();
            by_ce.sort_by(|a, b| b.1.total_cmp(&a.1));
            let expected: Vec<String> = by_ce.into_iter().map(|(id, _)| id).collect();
            prop_assert_eq!(fuse_scores(&scored, &cos, weight), expected);
        }
    }
}
