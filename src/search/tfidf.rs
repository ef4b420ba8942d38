//! Whole-text TF-IDF cosine over the corpus: the candidate stage of related papers that sees a paper's whole
//! title and abstract (arxiv-sanity-lite's representation), beside the key-term BM25 query of [`super::similar`].
//!
//! Features are word unigrams and bigrams (adjacent words after English stop words are dropped), weighted by
//! sub-linear tf × smoothed idf and L2-normalised, so a dot product is the cosine. Terms in fewer than
//! `min_df` papers cannot link two papers and terms in more than `max_df` of them say little; both are left out
//! of the vocabulary, which is fixed when the index is built (papers added later are vectorised with it).
//!
//! Terms are kept as 64-bit hashes, never as strings: the corpus has millions of distinct bigrams, and only
//! their counts are needed. Postings are `(paper, weight)` lists per term; a query walks the postings of its
//! own terms (about 1 ms over 70,000 papers). Pure code: no I/O, no locks.

use std::collections::HashMap;
use std::sync::LazyLock;

/// Vocabulary settings (measured on the relatedness dev split; README § Related papers).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TfidfOptions {
    /// Least number of papers a term must occur in.
    pub min_df: u32,
    /// Largest share of papers a term may occur in.
    pub max_df: f32,
    /// Whether word bigrams are features too.
    pub bigrams: bool,
}

impl Default for TfidfOptions {
    fn default() -> Self {
        TfidfOptions { min_df: 2, max_df: 0.1, bigrams: true }
    }
}

/// A sparse, L2-normalised TF-IDF vector: `(term, weight)` sorted by term.
pub type SparseVec = Vec<(u32, f32)>;

/// The TF-IDF index of a corpus.
#[derive(Debug, Clone)]
pub struct TfidfIndex {
    opts: TfidfOptions,
    vocab: HashMap<u64, u32>,
    idf: Vec<f32>,
    postings: Vec<Vec<(u32, f32)>>,
    ids: Vec<String>,
    positions: HashMap<String, u32>,
}

impl TfidfIndex {
    /// Builds the index of `docs` (`(id, text)`; a repeated id keeps its first text). Two passes over the
    /// texts (document frequencies, then vectors), so the texts are borrowed, not copied.
    pub fn build<'a>(docs: &[(&'a str, &'a str)], opts: TfidfOptions) -> TfidfIndex {
        let mut df: HashMap<u64, u32> = HashMap::new();
        let mut terms = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut uniq: Vec<(&str, &str)> = Vec::with_capacity(docs.len());
        for &(id, text) in docs {
            if seen.insert(id) {
                uniq.push((id, text));
            }
        }
        for &(_, text) in &uniq {
            terms.clear();
            features(text, opts.bigrams, &mut terms);
            terms.sort_unstable();
            terms.dedup();
            for &t in &terms {
                *df.entry(t).or_default() += 1;
            }
        }
        let n = uniq.len();
        let max_df = ((opts.max_df as f64) * n as f64).max(1.0);
        let mut kept: Vec<(u64, u32)> =
            df.into_iter().filter(|&(_, d)| d >= opts.min_df && (d as f64) <= max_df).collect();
        // A stable term numbering (hash order), so two builds of one corpus are identical.
        kept.sort_unstable();
        let mut vocab = HashMap::with_capacity(kept.len());
        let mut idf = Vec::with_capacity(kept.len());
        for (i, (h, d)) in kept.into_iter().enumerate() {
            vocab.insert(h, i as u32);
            // scikit-learn's smoothed idf: as if one extra paper held every term once.
            idf.push((((1 + n) as f64 / (1 + d) as f64).ln() + 1.0) as f32);
        }
        let mut index = TfidfIndex {
            opts,
            postings: vec![Vec::new(); idf.len()],
            vocab,
            idf,
            ids: Vec::with_capacity(n),
            positions: HashMap::with_capacity(n),
        };
        for (id, text) in uniq {
            index.add(id, text);
        }
        index
    }

    /// Papers held.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.positions.contains_key(id)
    }

    pub fn options(&self) -> TfidfOptions {
        self.opts
    }

    /// Terms in the vocabulary.
    pub fn vocabulary_size(&self) -> usize {
        self.idf.len()
    }

    /// The normalised vector of `text` over this index's vocabulary (empty when no term is known).
    pub fn vector(&self, text: &str) -> SparseVec {
        let mut terms = Vec::new();
        features(text, self.opts.bigrams, &mut terms);
        let mut tf: HashMap<u32, u32> = HashMap::new();
        for t in terms {
            if let Some(&i) = self.vocab.get(&t) {
                *tf.entry(i).or_default() += 1;
            }
        }
        let mut v: SparseVec =
            tf.into_iter().map(|(i, c)| (i, (1.0 + (c as f32).ln()) * self.idf[i as usize])).collect();
        v.sort_unstable_by_key(|&(i, _)| i);
        let norm = v.iter().map(|&(_, w)| w * w).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|(_, w)| *w /= norm);
        }
        v
    }

    /// Adds a paper (vectorised with the current vocabulary). Returns false when it is already held.
    pub fn add(&mut self, id: &str, text: &str) -> bool {
        if self.positions.contains_key(id) {
            return false;
        }
        let doc = self.ids.len() as u32;
        for (t, w) in self.vector(text) {
            self.postings[t as usize].push((doc, w));
        }
        self.ids.push(id.to_string());
        self.positions.insert(id.to_string(), doc);
        true
    }

    /// The `k` papers most similar to `text` by cosine, best first (ties by id), `exclude`d ids and papers
    /// sharing no term left out.
    pub fn similar(&self, text: &str, exclude: &[&str], k: usize) -> Vec<(&str, f32)> {
        self.similar_to(&self.vector(text), exclude, k)
    }

    /// [`Self::similar`] for a vector already computed.
    pub fn similar_to(&self, query: &[(u32, f32)], exclude: &[&str], k: usize) -> Vec<(&str, f32)> {
        if k == 0 || query.is_empty() {
            return Vec::new();
        }
        let mut scores = vec![0f32; self.ids.len()];
        for &(t, qw) in query {
            for &(d, w) in &self.postings[t as usize] {
                scores[d as usize] += qw * w;
            }
        }
        for id in exclude {
            if let Some(&p) = self.positions.get(*id) {
                scores[p as usize] = 0.0;
            }
        }
        let mut hits: Vec<(u32, f32)> =
            scores.iter().enumerate().filter(|&(_, &s)| s > 0.0).map(|(d, &s)| (d as u32, s)).collect();
        let by_score = |a: &(u32, f32), b: &(u32, f32)| {
            b.1.total_cmp(&a.1).then_with(|| self.ids[a.0 as usize].cmp(&self.ids[b.0 as usize]))
        };
        if hits.len() > k {
            hits.select_nth_unstable_by(k - 1, by_score);
            hits.truncate(k);
        }
        hits.sort_unstable_by(by_score);
        hits.into_iter().map(|(d, s)| (self.ids[d as usize].as_str(), s)).collect()
    }
}

/// scikit-learn's English stop words (`ENGLISH_STOP_WORDS`, 318 words), as arxiv-sanity-lite uses them.
const STOP_WORDS: &str = "a about above across after afterwards again against all almost alone along already also \
although always am among amongst amoungst amount an and another any anyhow anyone anything anyway anywhere are \
around as at back be became because become becomes becoming been before beforehand behind being below beside \
besides between beyond bill both bottom but by call can cannot cant co con could couldnt cry de describe detail do \
done down due during each eg eight either eleven else elsewhere empty enough etc even ever every everyone \
everything everywhere except few fifteen fifty fill find fire first five for former formerly forty found four from \
front full further get give go had has hasnt have he hence her here hereafter hereby herein hereupon hers herself \
him himself his how however hundred i ie if in inc indeed interest into is it its itself keep last latter \
latterly least less ltd made many may me meanwhile might mill mine more moreover most mostly move much must my \
myself name namely neither never nevertheless next nine no nobody none noone nor not nothing now nowhere of off \
often on once one only onto or other others otherwise our ours ourselves out over own part per perhaps please put \
rather re same see seem seemed seeming seems serious several she should show side since sincere six sixty so some \
somehow someone something sometime sometimes somewhere still such system take ten than that the their them \
themselves then thence there thereafter thereby therefore therein thereupon these they thick thin third this \
those though three through throughout thru thus to together too top toward towards twelve twenty two un under \
until up upon us very via was we well were what whatever when whence whenever where whereafter whereas whereby \
wherein whereupon wherever whether which while whither who whoever whole whom whose why will with within without \
would yet you your yours yourself yourselves";

static STOP: LazyLock<std::collections::HashSet<&'static str>> =
    LazyLock::new(|| STOP_WORDS.split_ascii_whitespace().collect());

/// FNV-1a 64: stable and fast on short words (the index is rebuilt, never persisted, but tests compare builds).
fn hash_word(w: &str) -> u64 {
    let mut h = 0xcbf29ce484222325u64;
    for b in w.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// The feature hashes of `text`: words (lower-cased runs of letters, digits and `_` that start with a letter or
/// `_`, at least two characters, not stop words), then bigrams of adjacent kept words.
pub fn features(text: &str, bigrams: bool, out: &mut Vec<u64>) {
    let mut prev: Option<u64> = None;
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<u64>, prev: &mut Option<u64>| {
        if word.chars().count() >= 2
            && word.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && !STOP.contains(word.as_str())
        {
            let h = hash_word(word);
            out.push(h);
            if bigrams && let Some(p) = *prev {
                // An order-dependent mix, distinct from any single word's hash.
                out.push(p.rotate_left(23).wrapping_mul(0x9e3779b97f4a7c15) ^ h ^ 0x5bd1e995);
            }
            *prev = Some(h);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' {
            word.extend(c.to_lowercase());
        } else if !word.is_empty() {
            flush(&mut word, out, &mut prev);
        }
    }
    if !word.is_empty() {
        flush(&mut word, out, &mut prev);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn corpus() -> Vec<(&'static str, &'static str)> {
        vec![
            ("a", "Graph neural networks for molecule property prediction with message passing"),
            ("b", "Message passing graph neural networks predict molecular properties"),
            ("c", "Diffusion models generate images from text prompts"),
            ("d", "Text to image diffusion models with classifier free guidance"),
            ("e", "A survey of reinforcement learning for robot control"),
            ("f", "Robot control policies learned with reinforcement learning in simulation"),
        ]
    }

    #[test]
    fn finds_the_paper_on_the_same_topic_first() {
        let docs = corpus();
        let idx = TfidfIndex::build(&docs, TfidfOptions { min_df: 1, max_df: 1.0, bigrams: true });
        for (q, want) in [("a", "b"), ("c", "d"), ("e", "f")] {
            let text = docs.iter().find(|d| d.0 == q).unwrap().1;
            let hits = idx.similar(text, &[q], 3);
            assert_eq!(hits[0].0, want, "{q}: {hits:?}");
            assert!(hits.iter().all(|h| h.0 != q), "the excluded query paper came back");
        }
    }

    #[test]
    fn stop_words_and_short_or_numeric_tokens_are_not_features() {
        let mut f = Vec::new();
        features("The of and 2024 x 3d", false, &mut f);
        assert!(f.is_empty(), "{f:?}");
        features("Transformers", false, &mut f);
        let mut g = Vec::new();
        features("transformers!", false, &mut g);
        assert_eq!(f, g, "case and punctuation must not matter");
    }

    #[test]
    fn vocabulary_bounds_apply() {
        let docs = corpus();
        // min_df 2: words of one paper only are gone; max_df 0.2 (1.2 papers): words of two papers are gone too.
        let idx = TfidfIndex::build(&docs, TfidfOptions { min_df: 2, max_df: 0.2, bigrams: false });
        assert_eq!(idx.vocabulary_size(), 0);
        let idx = TfidfIndex::build(&docs, TfidfOptions { min_df: 2, max_df: 1.0, bigrams: false });
        assert!(idx.vocabulary_size() > 0);
        assert!(idx.vector("zebra quagga").is_empty());
    }

    #[test]
    fn added_papers_are_found_and_duplicates_ignored() {
        let docs = corpus();
        let mut idx = TfidfIndex::build(&docs, TfidfOptions { min_df: 1, max_df: 1.0, bigrams: true });
        assert!(!idx.add("a", "anything"));
        assert!(idx.add("g", "graph neural networks message passing for molecules"));
        assert_eq!(idx.len(), 7);
        let hits = idx.similar("message passing graph neural networks", &[], 3);
        assert!(hits.iter().any(|h| h.0 == "g"), "{hits:?}");
    }

    proptest! {
        /// Vectors are unit length (or empty), scores are cosines in (0, 1], sorted, and within `k`.
        #[test]
        fn scores_are_sorted_cosines(words in proptest::collection::vec("[a-f]{2,3}", 1..40), k in 1usize..8) {
            let texts: Vec<String> = words.chunks(4).map(|c| c.join(" ")).collect();
            let ids: Vec<String> = (0..texts.len()).map(|i| format!("p{i}")).collect();
            let docs: Vec<(&str, &str)> = ids.iter().map(String::as_str).zip(texts.iter().map(String::as_str)).collect();
            let idx = TfidfIndex::build(&docs, TfidfOptions { min_df: 1, max_df: 1.0, bigrams: true });
            for (_, t) in &docs {
                let v = idx.vector(t);
                let norm: f32 = v.iter().map(|x| x.1 * x.1).sum();
                prop_assert!(v.is_empty() || (norm - 1.0).abs() < 1e-4);
                let hits = idx.similar(t, &[], k);
                prop_assert!(hits.len() <= k);
                for w in hits.windows(2) {
                    prop_assert!(w[0].1 >= w[1].1);
                }
                for h in &hits {
                    prop_assert!(h.1 > 0.0 && h.1 <= 1.0 + 1e-4);
                }
            }
        }
    }
}
