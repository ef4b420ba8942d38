//! The related-papers pipeline: lexical candidates (key-term BM25), CUR candidates, exact cross-encoder rerank.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use crate::rerank::cur::{KrigingOptions, QueryOptions};
use crate::search::SearchIndex;
use crate::store::{PaperText, RelatedItem, Store};

use super::engine::Engine;
use super::{Fusion, RelatedConfig, RelatedError};

/// Lexical candidates of `paper`: its key terms as a weighted BM25 query, the paper itself and withdrawn
/// papers left out, best first, with their texts. Cheap (well under 10 ms): pages show it at once.
pub async fn lexical(
    index: &SearchIndex,
    store: &Store,
    paper: &PaperText,
    key_terms: usize,
    limit: usize,
) -> Result<Vec<(PaperText, f32)>, RelatedError> {
    // Searches run on the blocking pool, like the site search (never on the async runtime).
    let (index, title, abstract_text, id) =
        (index.clone(), paper.title.clone(), paper.abstract_text.clone(), paper.id.clone());
    let hits = tokio::task::spawn_blocking(move || {
        let terms = index.key_terms(&title, &abstract_text, key_terms)?;
        // A few extra hits stand in for withdrawn ones.
        index.more_like(&terms, &[id.as_str()], limit + 5)
    })
    .await
    .map_err(|e| crate::search::SearchError::Task(e.to_string()))??;
    let ids: Vec<String> = hits.iter().map(|h| h.id.clone()).collect();
    let mut texts: HashMap<String, PaperText> =
        store.paper_texts(&ids).await?.into_iter().map(|t| (t.id.clone(), t)).collect();
    Ok(hits
        .into_iter()
        .filter_map(|h| texts.remove(&h.id).filter(|t| !t.withdrawn).map(|t| (t, h.score)))
        .take(limit)
        .collect())
}

/// The BM25 list as served when no reranked list is available.
pub fn lexical_items(lexical: &[(PaperText, f32)], top_k: usize) -> Vec<RelatedItem> {
    lexical
        .iter()
        .take(top_k)
        .map(|(t, s)| RelatedItem { id: t.id.clone(), title: t.title.clone(), score: *s, source: "bm25".into() })
        .collect()
}

/// What the exact stage produced.
#[derive(Debug, Clone)]
pub struct Reranked {
    pub items: Vec<RelatedItem>,
    pub ce_pairs: usize,
}

/// The exact stage (CPU: call it on the related pool). The query paper's title is scored against each
/// candidate's abstract; the list is ordered by the fusion of that ranking with the lexical one (or by the CE
/// score alone, per `cfg.fusion`); `score` is always the CE logit. With a CUR index, the lexical candidates seed
/// an adaptive search of the whole corpus by kriging over the index's anchor rows ([`crate::rerank::cur::CurIndex::query_kriging`]:
/// their exact scores update a Gaussian-process estimate of the query's scores on every paper; the best
/// `cur_candidates` not yet scored are scored exactly, in `cur_rounds` rounds); lexical candidates the index
/// does not hold yet are scored directly. `lookup` reads a paper's texts (for CUR-found papers).
pub fn rerank(
    engine: &Engine,
    cfg: &RelatedConfig,
    paper: &PaperText,
    lexical: &[(PaperText, f32)],
    lookup: &dyn Fn(&str) -> Option<PaperText>,
) -> Result<Reranked, RelatedError> {
    let query = paper.title.as_str();
    let lex: HashMap<&str, &PaperText> = lexical.iter().map(|(t, _)| (t.id.as_str(), t)).collect();
    let found: Mutex<HashMap<String, PaperText>> = Mutex::default();
    let mut scored: Vec<(String, f32, &'static str)> = Vec::new();
    let mut ce_pairs = 0;
    let guard = engine.cur.read().map_err(|_| RelatedError::Engine("CUR index lock poisoned".into()))?;
    let mut direct: Vec<&PaperText> = lexical.iter().map(|(t, _)| t).collect();
    if let Some(cur) = guard.as_ref().filter(|c| !c.is_empty() && cfg.cur_candidates > 0) {
        let seeds: Vec<&str> = direct.iter().map(|t| t.id.as_str()).filter(|id| cur.position(id).is_some()).collect();
        let seeded: HashSet<&str> = seeds.iter().copied().collect();
        direct.retain(|t| !seeded.contains(t.id.as_str()));
        let item_text = |id: &str| -> Option<String> {
            if let Some(t) = lex.get(id) {
                return Some(t.abstract_text.clone());
            }
            let t = lookup(id)?;
            let text = t.abstract_text.clone();
            found.lock().ok()?.insert(id.to_string(), t);
            Some(text)
        };
        let opts = QueryOptions { k: seeds.len() + cfg.cur_candidates + cur.k_i(), k_r: cfg.cur_candidates };
        let exclude = [paper.id.as_str()];
        let res = if seeds.is_empty() {
            cur.query(&engine.ce, query, &exclude, opts, &item_text)
        } else {
            let kopts = KrigingOptions {
                round_size: cfg.cur_candidates.div_ceil(cfg.cur_rounds.max(1)),
                ..KrigingOptions::default()
            };
            // No prior: the lexical scores are known for the candidates only, and a prior truncated to
            // them measured worse than none (`eval cur`); their exact CE scores carry that signal.
            cur.query_kriging(&engine.ce, query, &exclude, opts, &kopts, Some(&seeds), None, &item_text)
        }
        .map_err(|e| RelatedError::Engine(e.to_string()))?;
        ce_pairs += res.ce_pairs;
        for item in res.items {
            let source = if lex.contains_key(item.id.as_str()) { "bm25" } else { "cur" };
            scored.push((item.id, item.score, source));
        }
    }
    drop(guard);
    if !direct.is_empty() {
        let pairs: Vec<(&str, &str)> = direct.iter().map(|t| (query, t.abstract_text.as_str())).collect();
        let scores = engine.ce.score_pairs(&pairs).map_err(|e| RelatedError::Engine(e.to_string()))?;
        ce_pairs += pairs.len();
        scored.extend(direct.iter().zip(scores).map(|(t, s)| (t.id.clone(), s, "bm25")));
    }
    let found = found.into_inner().unwrap_or_default();
    let mut seen = HashSet::new();
    scored.retain(|(id, _, _)| id != &paper.id && seen.insert(id.clone()));
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if cfg.fusion == Fusion::Rrf {
        let pairs: Vec<(String, f32)> = scored.iter().map(|(id, s, _)| (id.clone(), *s)).collect();
        let lexical_ids: Vec<String> = lexical.iter().map(|(t, _)| t.id.clone()).collect();
        let order: HashMap<String, usize> =
            fuse_ranks(&pairs, &lexical_ids).into_iter().enumerate().map(|(i, id)| (id, i)).collect();
        scored.sort_by_key(|(id, _, _)| order.get(id).copied().unwrap_or(usize::MAX));
    }
    let mut items = Vec::with_capacity(cfg.top_k.min(scored.len()));
    for (id, score, source) in scored {
        if items.len() == cfg.top_k {
            break;
        }
        let Some(t) = lex.get(id.as_str()).copied().or_else(|| found.get(&id)) else { continue };
        if t.withdrawn {
            continue;
        }
        items.push(RelatedItem { id, title: t.title.clone(), score, source: source.into() });
    }
    Ok(Reranked { items, ce_pairs })
}

/// Reciprocal-rank fusion (k = 60) of the cross-encoder ranking of `scored` and the lexical ranking `lexical`
/// (ids, best first); papers the lexical stage did not find count as ranked just after its last. Ids, best first.
pub fn fuse_ranks(scored: &[(String, f32)], lexical: &[String]) -> Vec<String> {
    const K: f64 = 60.0;
    let lex: HashMap<&str, usize> = lexical.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let mut by_ce: Vec<&(String, f32)> = scored.iter().collect();
    by_ce.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut fused: Vec<(f64, &str)> = by_ce
        .iter()
        .enumerate()
        .map(|(ce_rank, (id, _))| {
            let lex_rank = lex.get(id.as_str()).copied().unwrap_or(lexical.len());
            (1.0 / (K + ce_rank as f64 + 1.0) + 1.0 / (K + lex_rank as f64 + 1.0), id.as_str())
        })
        .collect();
    fused.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    fused.into_iter().map(|(_, id)| id.to_string()).collect()
}
