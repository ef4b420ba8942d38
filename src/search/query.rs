//! Searching: BM25 over title (boosted), abstract and authors, with category and date filters.

use std::ops::Bound;

use chrono::NaiveDate;
use serde::Serialize;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, QueryParser, RangeQuery, TermQuery};
use tantivy::query_grammar::{self, UserInputAst, UserInputLeaf};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{Order, TantivyDocument, Term};

use super::{Result, SearchError, SearchIndex};
use crate::domain::Category;

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 1_000;
/// Deepest result page reachable (offset + limit), to bound the work one request can ask for.
const MAX_WINDOW: usize = 10_000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    #[default]
    Relevance,
    Date,
}

#[derive(Debug, Clone, Default)]
pub struct SearchOptions {
    pub limit: usize,
    pub offset: usize,
    /// Keep papers in any of these categories (empty: all).
    pub categories: Vec<Category>,
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    pub sort: Sort,
}

#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub id: String,
    pub title: String,
    pub score: f32,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchResults {
    pub total: usize,
    pub hits: Vec<Hit>,
    /// Set when the query had syntax errors and was read leniently instead.
    pub note: Option<String>,
}

fn day(d: NaiveDate) -> u64 {
    d.format("%Y%m%d").to_string().parse().unwrap_or(0)
}

/// Fields every paper has a value in: `field:*` ("has any value") on them matches every paper.
const ALWAYS_PRESENT: [&str; 5] = ["id", "title", "abstract", "author", "category"];

/// Rewrites `field:*` on a field every paper has into "all papers". Tantivy answers `field:*` with an
/// `ExistsQuery`, which needs a fast field; ours are text fields, so the query failed at search time (a
/// 500 before this). Other fields keep their `Exists` leaf: `day:*` runs (it is fast) and an unknown field
/// gets the parser's own message.
fn every_paper_has(ast: UserInputAst) -> UserInputAst {
    match ast {
        UserInputAst::Clause(clauses) => {
            UserInputAst::Clause(clauses.into_iter().map(|(occur, sub)| (occur, every_paper_has(sub))).collect())
        }
        UserInputAst::Boost(sub, boost) => UserInputAst::Boost(Box::new(every_paper_has(*sub)), boost),
        UserInputAst::Leaf(leaf) => match *leaf {
            UserInputLeaf::Exists { field } if ALWAYS_PRESENT.contains(&field.as_str()) => {
                UserInputAst::Leaf(Box::new(UserInputLeaf::All))
            }
            other => UserInputAst::Leaf(Box::new(other)),
        },
    }
}

/// A query the parser accepted but tantivy cannot run on our schema (a kind of query the rewrite above does
/// not know yet) is the reader's query, not a server fault: it gets the query-syntax message. Errors of
/// the index itself (I/O, corruption) stay errors.
fn unrunnable(e: tantivy::TantivyError) -> SearchError {
    use tantivy::TantivyError as T;
    match e {
        T::SchemaError(m) | T::InvalidArgument(m) => {
            SearchError::BadQuery(format!("That query cannot be run on this index ({m}). Try plain words."))
        }
        T::FieldNotFound(m) => SearchError::BadQuery(format!("There is no field {m} to search in.")),
        other => SearchError::Tantivy(other),
    }
}

impl SearchIndex {
    /// The stored id and title of each scored document, in order.
    pub(super) fn hits(
        &self,
        searcher: &tantivy::Searcher,
        scored: Vec<(f32, tantivy::DocAddress)>,
    ) -> Result<Vec<Hit>> {
        let f = self.fields;
        let mut hits = Vec::with_capacity(scored.len());
        for (score, addr) in scored {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let text = |field| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or_default().to_string();
            hits.push(Hit { id: text(f.id), title: text(f.title), score });
        }
        Ok(hits)
    }

    /// Parses a user query: tantivy syntax (`author:hinton`, `title:"diffusion model"`, `-gan`), read
    /// leniently when it has syntax errors, with a note saying so.
    fn parse(&self, text: &str) -> Result<(Box<dyn Query>, Option<String>)> {
        let text = text.trim();
        if text.is_empty() {
            return Err(SearchError::BadQuery("Type some words to search for.".into()));
        }
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(SearchError::BadQuery(format!(
                "That query is too long: at most {MAX_QUERY_CHARS} characters, please."
            )));
        }
        let f = self.fields;
        let mut parser = QueryParser::for_index(&self.index, vec![f.title, f.abstract_text, f.author]);
        parser.set_field_boost(f.title, 2.0);
        let (ast, syntax_note) = match query_grammar::parse_query(text) {
            Ok(ast) => (ast, None),
            Err(_) => (query_grammar::parse_query_lenient(text).0, Some("its syntax")),
        };
        let ast = every_paper_has(ast);
        match parser.build_query_from_user_input_ast(ast.clone()) {
            Ok(q) => {
                let note = syntax_note
                    .map(|what| format!("Part of the query could not be read ({what}); searched for the rest."));
                Ok((q, note))
            }
            Err(e) => {
                let (q, _) = parser.build_query_from_user_input_ast_lenient(ast);
                Ok((q, Some(format!("Part of the query could not be read ({e}); searched for the rest."))))
            }
        }
    }

    pub fn search(&self, text: &str, opts: &SearchOptions) -> Result<SearchResults> {
        let (user_query, note) = self.parse(text)?;
        let f = self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, user_query)];
        if !opts.categories.is_empty() {
            let any: Vec<(Occur, Box<dyn Query>)> = opts
                .categories
                .iter()
                .map(|c| {
                    let t = Term::from_field_text(f.category, c.code());
                    (Occur::Should, Box::new(TermQuery::new(t, IndexRecordOption::Basic)) as Box<dyn Query>)
                })
                .collect();
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(any))));
        }
        if opts.from.is_some() || opts.until.is_some() {
            let lo = opts.from.map_or(Bound::Unbounded, |d| Bound::Included(Term::from_field_u64(f.day, day(d))));
            let hi = opts.until.map_or(Bound::Unbounded, |d| Bound::Included(Term::from_field_u64(f.day, day(d))));
            clauses.push((Occur::Must, Box::new(RangeQuery::new(lo, hi))));
        }
        let query = BooleanQuery::new(clauses);
        let limit = opts.limit.clamp(1, 1_000);
        let offset = opts.offset.min(MAX_WINDOW.saturating_sub(limit));
        let searcher = self.reader.searcher();
        let top = TopDocs::with_limit(limit).and_offset(offset);
        let (addrs, total): (Vec<(f32, tantivy::DocAddress)>, usize) = match opts.sort {
            Sort::Relevance => searcher.search(&query, &(top.order_by_score(), Count)).map_err(unrunnable)?,
            Sort::Date => {
                let (docs, total) = searcher
                    .search(&query, &(top.order_by_u64_field("day", Order::Desc), Count))
                    .map_err(unrunnable)?;
                (docs.into_iter().map(|(d, a)| (d.unwrap_or(0) as f32, a)).collect(), total)
            }
        };
        let hits = self.hits(&searcher, addrs)?;
        Ok(SearchResults { total, hits, note })
    }
}
