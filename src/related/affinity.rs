//! "For you": how close a paper is to what one reader cares about, from their starred papers and their
//! "prefer" keywords. Pure code (no I/O, no locks), so the listing, search and the evaluation
//! (`papertide eval foryou`) share one definition.
//!
//! A paper's affinity is its best whole-text TF-IDF cosine against any starred paper (the related-papers
//! lexical stage, [`crate::search::tfidf`]) plus a fixed amount per preference term it mentions. The
//! cross-encoder is not used: 300 papers × 100 stars is 30,000 pairs, minutes of CPU, and on the judged
//! evaluation reranking the top of the order with it did not pay for its cost (README § For you).

use crate::search::tfidf::{SparseVec, TfidfIndex, TfidfOptions};

/// How the signals add up (chosen on the relatedness dev split; README § For you).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// Added per distinct preference term a paper's title or abstract mentions: about a weak starred-paper
    /// match (related papers' cosines are 0.1–0.4), so terms order what stars leave tied and lift papers
    /// with several of them. On the dev split (star + the star's 3 key terms as terms), 0.02 / 0.05 / 0.10 /
    /// 0.15 gave nDCG@10 0.840 / 0.830 / 0.784 / 0.754 (star alone 0.842): 0.05 is the largest that costs
    /// the stars nothing measurable.
    pub keyword: f32,
    /// Below this cosine, a starred paper is not named as the reason (it shares only common words).
    pub min_star: f32,
}

impl Default for Weights {
    fn default() -> Self {
        Weights { keyword: 0.05, min_star: 0.05 }
    }
}

/// A preference term: matched case-insensitively where a word starts, as the browser highlights keywords, so
/// `graph` matches "Graphs" and "graph-based" but not "paragraph".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefer {
    /// The term as the reader typed it (trimmed), for the "why" line.
    pub shown: String,
    needle: String,
}

impl Prefer {
    /// `None` for a term with nothing to match.
    pub fn new(term: &str) -> Option<Prefer> {
        let shown = term.trim();
        let needle = shown.to_lowercase();
        (!needle.is_empty()).then(|| Prefer { shown: shown.to_string(), needle })
    }

    /// The lower-cased term (two terms with the same needle are one).
    pub fn needle(&self) -> &str {
        &self.needle
    }

    /// Whether `text_lower` (already lower-cased) mentions the term at the start of a word.
    pub fn matches(&self, text_lower: &str) -> bool {
        let starts_word = self.needle.starts_with(char::is_alphanumeric);
        text_lower
            .match_indices(&self.needle)
            .any(|(at, _)| !starts_word || !text_lower[..at].chars().next_back().is_some_and(char::is_alphanumeric))
    }
}

/// One paper's affinity and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Affinity {
    pub score: f32,
    /// The closest starred paper (its index in the stars given) and the cosine, when at least `min_star`.
    pub star: Option<(usize, f32)>,
    /// Indices of the preference terms the paper mentions.
    pub matched: Vec<usize>,
}

/// Cosine of two L2-normalised sparse vectors sorted by term (a merge join).
pub fn cosine(a: &[(u32, f32)], b: &[(u32, f32)]) -> f32 {
    let (mut i, mut j, mut s) = (0, 0, 0.0f32);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                s += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    s
}

/// The affinity of a paper (its TF-IDF `vector` and its lower-cased title and abstract) to `stars` and
/// `prefer`.
pub fn affinity(
    vector: &[(u32, f32)],
    text_lower: &str,
    stars: &[SparseVec],
    prefer: &[Prefer],
    w: Weights,
) -> Affinity {
    let mut best: Option<(usize, f32)> = None;
    for (i, s) in stars.iter().enumerate() {
        let c = cosine(vector, s);
        if best.is_none_or(|(_, b)| c > b) {
            best = Some((i, c));
        }
    }
    let star_score = best.map_or(0.0, |(_, c)| c.max(0.0));
    let mut matched: Vec<usize> = Vec::new();
    for (i, p) in prefer.iter().enumerate() {
        // A term typed twice counts once.
        if p.matches(text_lower) && !matched.iter().any(|&m| prefer[m].needle == p.needle) {
            matched.push(i);
        }
    }
    Affinity {
        score: star_score + w.keyword * matched.len() as f32,
        star: best.filter(|&(_, c)| c >= w.min_star),
        matched,
    }
}

/// Positions of `affinities` best first; equal scores keep their given order (arXiv's), so a reader with no
/// interests sees the listing unchanged.
pub fn order(affinities: &[Affinity]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..affinities.len()).collect();
    idx.sort_by(|&a, &b| affinities[b].score.total_cmp(&affinities[a].score));
    idx
}

/// The affinities of `papers` (title, abstract) to `stars` (title, abstract) and `prefer`, in the papers'
/// order. Vectors come from `lexicon` (the corpus-wide index the related lists use); without it (still
/// building at start-up), from an index of just these papers and stars.
pub fn score_papers(
    lexicon: Option<&TfidfIndex>,
    papers: &[(&str, &str)],
    stars: &[(&str, &str)],
    prefer: &[Prefer],
    w: Weights,
) -> Vec<Affinity> {
    let text = |(t, a): &(&str, &str)| crate::rerank::paper_text(t, a);
    let paper_texts: Vec<String> = papers.iter().map(text).collect();
    let star_texts: Vec<String> = stars.iter().map(text).collect();
    let local;
    let index = match lexicon {
        Some(l) => l,
        None => {
            let ids: Vec<String> = (0..paper_texts.len() + star_texts.len()).map(|i| i.to_string()).collect();
            let docs: Vec<(&str, &str)> =
                ids.iter().map(String::as_str).zip(paper_texts.iter().chain(&star_texts).map(String::as_str)).collect();
            local = TfidfIndex::build(&docs, TfidfOptions { max_df: 0.5, ..TfidfOptions::default() });
            &local
        }
    };
    let star_vecs: Vec<SparseVec> =
        if stars.is_empty() { Vec::new() } else { star_texts.iter().map(|t| index.vector(t)).collect() };
    paper_texts
        .iter()
        .map(|t| {
            let v = if star_vecs.is_empty() { Vec::new() } else { index.vector(t) };
            affinity(&v, &t.to_lowercase(), &star_vecs, prefer, w)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn norm(v: Vec<(u32, f32)>) -> SparseVec {
        let n = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
        v.into_iter().map(|(t, w)| (t, if n > 0.0 { w / n } else { 0.0 })).collect()
    }

    #[test]
    fn prefer_terms_match_at_word_starts_only() {
        let p = Prefer::new(" Graph ").unwrap();
        assert_eq!(p.shown, "Graph");
        assert!(p.matches("graph neural networks"));
        assert!(p.matches("on graphs, and graph-based"));
        assert!(p.matches("(graph)"));
        assert!(!p.matches("one paragraph only"));
        assert!(Prefer::new("  ").is_none());
        let phrase = Prefer::new("diffusion model").unwrap();
        assert!(phrase.matches("latent diffusion models for video"));
        assert!(!phrase.matches("diffusion of models"));
        let sym = Prefer::new("3d").unwrap();
        assert!(sym.matches("a 3d scene") && !sym.matches("a23d scene"));
        let uni = Prefer::new("Schrödinger").unwrap();
        assert!(uni.matches("the schrödinger bridge"));
    }

    #[test]
    fn best_star_and_keywords_add_up_and_say_why() {
        let stars = vec![norm(vec![(1, 1.0)]), norm(vec![(1, 1.0), (2, 1.0)])];
        let prefer = vec![Prefer::new("graph").unwrap(), Prefer::new("GRAPH").unwrap(), Prefer::new("x").unwrap()];
        let v = norm(vec![(2, 1.0)]);
        let a = affinity(&v, "graph things", &stars, &prefer, Weights::default());
        assert_eq!(a.star.map(|s| s.0), Some(1));
        assert_eq!(a.matched, vec![0], "a term typed twice counts once");
        assert!((a.score - (std::f32::consts::FRAC_1_SQRT_2 + 0.05)).abs() < 1e-5);
        let none = affinity(&norm(vec![(9, 1.0)]), "nothing", &stars, &prefer, Weights::default());
        assert_eq!((none.score, none.star, none.matched.len()), (0.0, None, 0));
    }

    fn vec_strategy() -> impl Strategy<Value = SparseVec> {
        proptest::collection::btree_map(0u32..40, 0.01f32..1.0, 1..12).prop_map(|m| norm(m.into_iter().collect()))
    }

    #[test]
    fn papers_close_to_a_star_rise_with_or_without_a_corpus_index() {
        let papers = [
            ("Cooking pasta at altitude", "Boiling points of water change with pressure in mountain kitchens."),
            ("Graph neural networks for molecules", "Message passing graph networks predict molecular properties."),
            ("Bird migration routes", "Satellite tags follow storks across the Mediterranean every autumn."),
            ("Molecular property prediction with message passing", "We predict molecular properties of drugs."),
        ];
        let stars = [("Message passing neural networks", "Graph networks for molecular property prediction.")];
        let prefer = [Prefer::new("stork").unwrap()];
        for lexicon in [
            None,
            Some(TfidfIndex::build(
                &[
                    ("a", "message passing molecular property graph networks"),
                    ("b", "message passing molecular property"),
                    ("c", "storks pasta birds kitchens"),
                ],
                TfidfOptions { min_df: 1, max_df: 1.0, bigrams: true },
            )),
        ] {
            let affs = score_papers(lexicon.as_ref(), &papers, &stars, &[], Weights::default());
            let ord = order(&affs);
            assert!(ord[..2].contains(&1) && ord[..2].contains(&3), "{ord:?} {affs:?}");
            assert_eq!(affs[1].star.map(|s| s.0), Some(0));
            assert_eq!(affs[0].star, None, "no shared words: no reason named");
            let with_kw = score_papers(lexicon.as_ref(), &papers, &stars, &prefer, Weights::default());
            assert_eq!(with_kw[2].matched, vec![0]);
            assert!(with_kw[2].score > affs[2].score);
        }
        let none = score_papers(None, &papers, &[], &[], Weights::default());
        assert_eq!(order(&none), vec![0, 1, 2, 3]);
    }

    proptest! {
        #[test]
        fn cosine_is_symmetric_and_bounded(a in vec_strategy(), b in vec_strategy()) {
            let (ab, ba) = (cosine(&a, &b), cosine(&b, &a));
            prop_assert!((ab - ba).abs() < 1e-5);
            prop_assert!((-1e-5..=1.0 + 1e-5).contains(&ab));
            prop_assert!((cosine(&a, &a) - 1.0).abs() < 1e-4);
        }

        /// A paper identical to a starred one ranks first; the order is a permutation that keeps ties in
        /// their given order; more interests never lower a paper's score.
        #[test]
        fn order_is_a_stable_permutation(
            papers in proptest::collection::vec(vec_strategy(), 1..30),
            stars in proptest::collection::vec(vec_strategy(), 0..6),
            pick in 0usize..30,
        ) {
            let w = Weights::default();
            let mut stars = stars;
            let target = pick % papers.len();
            stars.push(papers[target].clone());
            let affs: Vec<Affinity> = papers.iter().map(|p| affinity(p, "", &stars, &[], w)).collect();
            let ord = order(&affs);
            let mut sorted = ord.clone();
            sorted.sort_unstable();
            prop_assert_eq!(sorted, (0..papers.len()).collect::<Vec<_>>());
            prop_assert!((affs[ord[0]].score - affs[target].score).abs() < 1e-4);
            for pair in ord.windows(2) {
                let (a, b) = (&affs[pair[0]], &affs[pair[1]]);
                prop_assert!(a.score > b.score || (a.score == b.score && pair[0] < pair[1]));
            }
            let fewer: Vec<Affinity> = papers.iter().map(|p| affinity(p, "", &stars[..stars.len() - 1], &[], w)).collect();
            for (more, less) in affs.iter().zip(&fewer) {
                prop_assert!(more.score >= less.score - 1e-6);
            }
        }

        #[test]
        fn no_interests_keep_the_given_order(papers in proptest::collection::vec(vec_strategy(), 0..20)) {
            let affs: Vec<Affinity> = papers.iter().map(|p| affinity(p, "text", &[], &[], Weights::default())).collect();
            prop_assert_eq!(order(&affs), (0..papers.len()).collect::<Vec<_>>());
        }
    }
}
