//! "More like this": a paper's key terms (TF-IDF of its title and abstract against the index's statistics)
//! as a weighted BM25 query. The lexical first stage of related papers.
//!
//! Why key terms and not the whole abstract: an OR query of ~150 terms costs ~170 ms here, one of ~20 weighted
//! key terms well under a millisecond, and ranks at least as well (rare, specific words carry the signal).

use std::collections::HashMap;

use tantivy::Term;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::tokenizer::TokenStream;

use super::query::Hit;
use super::{Result, SearchError, SearchIndex};

/// A weighted key term (analysed form, as indexed).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyTerm {
    pub term: String,
    pub weight: f32,
}

/// Words that occur in more than this fraction of documents say nothing about a paper.
const MAX_DF_FRACTION: f64 = 0.15;
/// Title words count this much more than abstract words.
const TITLE_WEIGHT: f32 = 2.0;

impl SearchIndex {
    /// The `max_terms` highest TF-IDF terms of `title` and `abstract_text`, best first.
    pub fn key_terms(&self, title: &str, abstract_text: &str, max_terms: usize) -> Result<Vec<KeyTerm>> {
        let f = self.fields;
        let mut analyzer = self
            .index
            .tokenizer_for_field(f.abstract_text)
            .map_err(|e| SearchError::Task(format!("no analyzer for the abstract field: {e}")))?;
        let mut tf: HashMap<String, f32> = HashMap::new();
        for (text, w) in [(title, TITLE_WEIGHT), (abstract_text, 1.0)] {
            let mut stream = analyzer.token_stream(text);
            while stream.advance() {
                let t = &stream.token().text;
                if t.chars().count() < 3 || t.chars().all(|c| c.is_ascii_digit()) {
                    continue;
                }
                *tf.entry(t.clone()).or_default() += w;
            }
        }
        let searcher = self.reader.searcher();
        let n = searcher.num_docs().max(1) as f64;
        let mut terms = Vec::with_capacity(tf.len());
        for (term, tf) in tf {
            let df = searcher.doc_freq(&Term::from_field_text(f.abstract_text, &term))? as f64;
            if df > MAX_DF_FRACTION * n && n > 50.0 {
                continue;
            }
            // BM25's idf; a term no other paper uses cannot find anything, but still counts as 1 document.
            let idf = (1.0 + (n - df.max(1.0) + 0.5) / (df.max(1.0) + 0.5)).ln();
            // Sub-linear tf: a word repeated five times is not five times as telling.
            let weight = (1.0 + tf.ln()) * idf as f32;
            terms.push(KeyTerm { term, weight });
        }
        terms.sort_by(|a, b| b.weight.total_cmp(&a.weight).then_with(|| a.term.cmp(&b.term)));
        terms.truncate(max_terms);
        Ok(terms)
    }

    /// Papers ranked by BM25 against the weighted key terms (in title and abstract), excluding `exclude_ids`.
    pub fn more_like(&self, terms: &[KeyTerm], exclude_ids: &[&str], limit: usize) -> Result<Vec<Hit>> {
        self.more_like_in(terms, exclude_ids, limit, true)
    }

    /// [`Self::more_like`] over the abstracts only (`with_titles = false`): evaluations use it so that a query
    /// made of a paper's title cannot match that title verbatim.
    pub fn more_like_in(
        &self,
        terms: &[KeyTerm],
        exclude_ids: &[&str],
        limit: usize,
        with_titles: bool,
    ) -> Result<Vec<Hit>> {
        if terms.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let f = self.fields;
        let fields: &[(tantivy::schema::Field, f32)] =
            if with_titles { &[(f.title, TITLE_WEIGHT), (f.abstract_text, 1.0)] } else { &[(f.abstract_text, 1.0)] };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(terms.len() * 2 + exclude_ids.len());
        for t in terms {
            for &(field, boost) in fields {
                let q = TermQuery::new(Term::from_field_text(field, &t.term), IndexRecordOption::WithFreqs);
                clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), t.weight * boost))));
            }
        }
        for id in exclude_ids {
            let q = TermQuery::new(Term::from_field_text(f.id, id), IndexRecordOption::Basic);
            clauses.push((Occur::MustNot, Box::new(q)));
        }
        let searcher = self.reader.searcher();
        let top = searcher
            .search(&BooleanQuery::new(clauses), &tantivy::collector::TopDocs::with_limit(limit).order_by_score())?;
        self.hits(&searcher, top)
    }
}
