//! The product's lexical first stage over an evaluation slice: the slice indexed by the site's tantivy schema
//! and analyzers and by the related papers' TF-IDF index, ranked by [`crate::related::pipeline`]'s own
//! functions (key-term BM25 and TF-IDF, fused). `eval cur` seeds and compares CUR with this, so its "seeded by
//! the first stage" figures measure what production runs, not a look-alike.

use std::collections::HashMap;

use anyhow::Context;

use super::cur::Paper;
use crate::related::RelatedConfig;
use crate::related::pipeline::{lexical_lists, merge};
use crate::search::SearchIndex;
use crate::search::tfidf::TfidfIndex;
use crate::store::{IndexRow, PaperText};

pub struct FirstStage {
    index: SearchIndex,
    tfidf: TfidfIndex,
    texts: Vec<PaperText>,
    pos: HashMap<String, usize>,
    key_terms: usize,
}

impl FirstStage {
    /// Indexes `papers` (in memory) the way the product indexes stored papers; `cfg` gives the key-term count.
    pub fn build(papers: &[Paper], cfg: &RelatedConfig) -> anyhow::Result<Self> {
        let index = SearchIndex::in_memory().context("creating the in-memory search index")?;
        let rows: Vec<IndexRow> = papers
            .iter()
            .enumerate()
            .map(|(i, p)| IndexRow {
                id: p.id.clone(),
                title: p.title.clone(),
                abstract_text: p.abstract_text.clone(),
                authors: "[]".into(),
                categories: String::new(),
                first_announced: None,
                submitted: None,
                seq: i as i64 + 1,
            })
            .collect();
        // The indexer's API is async (the server runs it on the blocking pool); a small runtime drives it here.
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let indexer = crate::search::Indexer::new(&index, 1, 64);
        rt.block_on(async {
            indexer.add(rows).await?;
            indexer.commit().await
        })
        .context("indexing the slice")?;
        index.reload().context("reloading the slice index")?;
        let texts: Vec<PaperText> = papers
            .iter()
            .map(|p| PaperText {
                id: p.id.clone(),
                title: p.title.clone(),
                abstract_text: p.abstract_text.clone(),
                withdrawn: false,
            })
            .collect();
        let whole: Vec<String> = papers.iter().map(|p| crate::rerank::paper_text(&p.title, &p.abstract_text)).collect();
        let docs: Vec<(&str, &str)> = papers.iter().zip(&whole).map(|(p, t)| (p.id.as_str(), t.as_str())).collect();
        let tfidf = TfidfIndex::build(&docs, Default::default());
        let pos = papers.iter().enumerate().map(|(i, p)| (p.id.clone(), i)).collect();
        Ok(FirstStage { index, tfidf, texts, pos, key_terms: cfg.key_terms })
    }

    /// Slice positions of the first `depth` candidates of paper `q` in the product's fused lexical order
    /// (`q` itself left out): each list is taken `depth` deep, then fused as related papers fuse them.
    pub fn ranking(&self, q: usize, depth: usize) -> anyhow::Result<Vec<usize>> {
        let (bm25, tfidf) =
            lexical_lists(&self.index, Some(&self.tfidf), &self.texts[q], self.key_terms, depth, depth)?;
        let fused = merge(&bm25, &tfidf, |id| self.pos.get(id).map(|&i| self.texts[i].clone()));
        Ok(fused.iter().filter_map(|c| self.pos.get(&c.paper.id).copied()).take(depth).collect())
    }

    /// The whole-text TF-IDF cosine of every slice paper with paper `q` (`q` itself 0): the first stage of a
    /// model that reads both papers whole.
    pub fn tfidf_scores(&self, q: usize) -> Vec<f32> {
        let p = &self.texts[q];
        let qv = self.tfidf.vector(&crate::rerank::paper_text(&p.title, &p.abstract_text));
        let mut scores = vec![0.0f32; self.texts.len()];
        for (id, s) in self.tfidf.similar_to(&qv, &[p.id.as_str()], self.texts.len()) {
            if let Some(&i) = self.pos.get(id) {
                scores[i] = s;
            }
        }
        scores
    }

    /// The BM25 score of every slice paper for paper `q`'s title alone as the key-term query (0 where it does
    /// not match; `q` itself 0): the first stage of a query that is only a title.
    pub fn title_scores(&self, q: usize) -> anyhow::Result<Vec<f32>> {
        let p = &self.texts[q];
        let terms = self.index.key_terms(&p.title, "", self.key_terms)?;
        let mut scores = vec![0.0f32; self.texts.len()];
        for hit in self.index.more_like(&terms, &[p.id.as_str()], self.texts.len())? {
            if let Some(&i) = self.pos.get(&hit.id) {
                scores[i] = hit.score;
            }
        }
        Ok(scores)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paper(id: &str, title: &str, abstract_text: &str) -> Paper {
        Paper { id: id.into(), title: title.into(), abstract_text: abstract_text.into() }
    }

    #[test]
    fn ranks_the_slice_with_the_product_first_stage() {
        let mut papers = vec![
            paper(
                "2501.00001",
                "Neural machine translation with attention",
                "Attention lets a translation model align words.",
            ),
            paper(
                "2501.00002",
                "Speech recognition for low-resource languages",
                "Acoustic models for languages with little data.",
            ),
            paper(
                "2501.00003",
                "Attention-based translation of legal documents",
                "Legal text translated by attention models.",
            ),
        ];
        for i in 0..40 {
            papers.push(paper(
                &format!("2501.{:05}", 100 + i),
                &format!("Unrelated topic {i}"),
                "Graphs, proteins and sensors.",
            ));
        }
        let stage = FirstStage::build(&papers, &RelatedConfig::default()).unwrap();
        let r = stage.ranking(0, 10).unwrap();
        assert_eq!(r.first(), Some(&2), "the other translation paper comes first: {r:?}");
        assert!(!r.contains(&0), "the query paper is left out");
        let s = stage.title_scores(1).unwrap();
        assert_eq!(s[1], 0.0);
        assert!(s.iter().all(|x| x.is_finite() && *x >= 0.0));
        let t = stage.tfidf_scores(0);
        assert_eq!(t[0], 0.0, "the query paper itself is left out");
        assert!(t[2] > t[1] && t[2] > t[5], "the other translation paper is nearest: {:?}", &t[..6]);
    }
}
