//! The CUR index: build (resumable), query, adaptive query, append.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::anchors::{AnchorMethod, select_item_anchors};
use super::linalg::{Mat, dot_f32, pinv};
use super::store::{self, PartialManifest};
use super::{CurError, PairScorer, score_checked};
use crate::rerank::PairTexts;

/// What a persisted index must match to be reused; anything else means "rebuild".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexSpec {
    pub model_id: String,
    pub max_length: usize,
    pub query_field: String,
    pub item_field: String,
    /// Ids of the anchor query papers, in order.
    pub anchor_query_ids: Vec<String>,
}

impl IndexSpec {
    /// `texts`: what each side of a pair reads (the model's format), recorded so that a change forces a rebuild.
    pub fn new(
        model_id: impl Into<String>,
        max_length: usize,
        texts: PairTexts,
        anchor_query_ids: Vec<String>,
    ) -> Self {
        let (query_field, item_field) = texts.fields();
        Self {
            model_id: model_id.into(),
            max_length,
            query_field: query_field.into(),
            item_field: item_field.into(),
            anchor_query_ids,
        }
    }
}

/// Everything about an index except its matrices (serialised as the file's JSON header).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexMeta {
    pub spec: IndexSpec,
    pub anchor_query_texts: Vec<String>,
    pub anchor_method: AnchorMethod,
    pub anchor_item_ids: Vec<String>,
    pub anchor_item_texts: Vec<String>,
    pub rcond: f64,
    pub item_ids: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub max_length: usize,
    /// Number of anchor items `k_i`.
    pub k_i: usize,
    pub anchor_method: AnchorMethod,
    /// Singular values at or below `rcond · σ_max` of `W` are dropped by the pseudo-inverse. Real CE
    /// score matrices are only approximately low-rank: a cut-off of a few percent (default 5e-2, the best
    /// measured by `papertide eval cur`) keeps noise from being amplified when `k_i ≈ k_q`.
    pub rcond: f64,
    /// Items per resumable chunk of `R` (each chunk is `chunk_items · k_q` CE pairs).
    pub chunk_items: usize,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self { max_length: 128, k_i: 50, anchor_method: AnchorMethod::PivotedQr, rcond: 5e-2, chunk_items: 64 }
    }
}

/// Progress of computing `R`, reported after every chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildProgress {
    pub items_done: usize,
    pub items_total: usize,
    /// CE pairs scored by this call (not counting chunks resumed from disk).
    pub pairs_scored: usize,
    pub resumed_items: usize,
}

#[derive(Debug, Clone, Copy)]
pub struct QueryOptions {
    /// How many results to return.
    pub k: usize,
    /// How many items beyond the anchors to score exactly (`m = k_i + k_r`).
    pub k_r: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScoredItem {
    pub pos: usize,
    pub id: String,
    /// The exact CE score.
    pub score: f32,
}

#[derive(Debug, Clone)]
pub struct QueryResult {
    /// The top `k` by exact CE score, best first.
    pub items: Vec<ScoredItem>,
    /// CE pairs this query spent.
    pub ce_pairs: usize,
}

/// A built CUR index. `R` and `E` are kept item-major (`N × k_q` and `N × k_i`): an item's vectors are
/// contiguous, so appending is a push and `s_j = c · e_j` is one short vectorised dot per item.
#[derive(Debug, Clone)]
pub struct CurIndex {
    pub(crate) meta: IndexMeta,
    pub(crate) pos: HashMap<String, usize>,
    pub(crate) anchor_item_pos: Vec<usize>,
    /// `U = pinv(W)`, `k_i × k_q` row-major.
    pub(crate) u: Vec<f32>,
    /// `Rᵀ`, `N × k_q`.
    pub(crate) rt: Vec<f32>,
    /// `Eᵀ = (U·R)ᵀ`, `N × k_i`.
    pub(crate) e: Vec<f32>,
    /// `μ_j`, each item's mean score over the anchor queries: kept beside `Rᵀ` (and extended by
    /// [`CurIndex::append`]) so that kriging does not recompute it for every query.
    pub(crate) means: Vec<f32>,
}

/// Each item's mean over its `k_q` anchor query scores, from `Rᵀ` (item-major).
pub(crate) fn item_means_of(rt: &[f32], k_q: usize) -> Vec<f32> {
    rt.chunks_exact(k_q).map(|r| r.iter().sum::<f32>() / k_q as f32).collect()
}

impl CurIndex {
    /// Builds the index: `R = CE(anchor queries, items)` (resumable through `partial` when given: `R` is
    /// written chunk by chunk beside that path with a manifest, and a later call with the same inputs
    /// continues after the last complete chunk), then anchor items, `U = pinv(W)` and `E = U·R`.
    ///
    /// `anchor_queries` are `(id, query-side text)`, `items` are `(id, item-side text)`, both in the format
    /// `scorer.texts()` names (for the known-item format: the title and the abstract).
    pub fn build(
        scorer: &dyn PairScorer,
        anchor_queries: &[(&str, &str)],
        items: &[(&str, &str)],
        opts: &BuildOptions,
        partial: Option<&Path>,
        progress: &mut dyn FnMut(BuildProgress),
    ) -> Result<CurIndex, CurError> {
        if anchor_queries.is_empty() || items.is_empty() {
            return Err(CurError::Invalid("need at least one anchor query and one item".into()));
        }
        let spec = IndexSpec::new(
            scorer.model_id(),
            opts.max_length,
            scorer.texts(),
            anchor_queries.iter().map(|(id, _)| id.to_string()).collect(),
        );
        let mut pos = HashMap::with_capacity(items.len());
        for (i, (id, _)) in items.iter().enumerate() {
            if pos.insert(id.to_string(), i).is_some() {
                return Err(CurError::Invalid(format!("duplicate item id {id}")));
            }
        }
        let rt = compute_r(scorer, &spec, anchor_queries, items, opts.chunk_items.max(1), partial, progress)?;
        let k_q = anchor_queries.len();
        let anchor_item_pos = match &opts.anchor_method {
            AnchorMethod::Given { ids } => ids
                .iter()
                .map(|id| pos.get(id).copied().ok_or_else(|| CurError::UnknownItem(id.clone())))
                .collect::<Result<Vec<_>, _>>()?,
            m => select_item_anchors(m, &rt, k_q, items.len(), opts.k_i, &[]),
        };
        let meta = IndexMeta {
            spec,
            anchor_query_texts: anchor_queries.iter().map(|(_, t)| t.to_string()).collect(),
            anchor_method: opts.anchor_method.clone(),
            anchor_item_ids: anchor_item_pos.iter().map(|&p| items[p].0.to_string()).collect(),
            anchor_item_texts: anchor_item_pos.iter().map(|&p| items[p].1.to_string()).collect(),
            rcond: opts.rcond,
            item_ids: items.iter().map(|(id, _)| id.to_string()).collect(),
        };
        let index = Self::from_r(meta, rt)?;
        if let Some(p) = partial {
            store::remove_partial(p);
        }
        Ok(index)
    }

    /// Solves `U` and `E` from a known `Rᵀ` (item-major) and the metadata's anchors.
    pub fn from_r(meta: IndexMeta, rt: Vec<f32>) -> Result<CurIndex, CurError> {
        let n = meta.item_ids.len();
        let k_q = meta.spec.anchor_query_ids.len();
        if rt.len() != n * k_q {
            return Err(CurError::Invalid(format!("R has {} values, want {n}×{k_q}", rt.len())));
        }
        let pos: HashMap<String, usize> = meta.item_ids.iter().enumerate().map(|(i, id)| (id.clone(), i)).collect();
        let anchor_item_pos = meta
            .anchor_item_ids
            .iter()
            .map(|id| pos.get(id).copied().ok_or_else(|| CurError::UnknownItem(id.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        let k_i = anchor_item_pos.len();
        if k_i == 0 {
            return Err(CurError::Invalid("no anchor items".into()));
        }
        let w = Mat::from_fn(k_q, k_i, |q, a| rt[anchor_item_pos[a] * k_q + q] as f64);
        let u64 = pinv(&w, meta.rcond);
        let u: Vec<f32> = u64.data.iter().map(|&x| x as f32).collect();
        let mut e = Vec::with_capacity(n * k_i);
        for j in 0..n {
            let r_j = &rt[j * k_q..(j + 1) * k_q];
            e.extend((0..k_i).map(|a| dot_f32(&u[a * k_q..(a + 1) * k_q], r_j)));
        }
        let means = item_means_of(&rt, k_q);
        Ok(CurIndex { meta, pos, anchor_item_pos, u, rt, e, means })
    }

    pub fn meta(&self) -> &IndexMeta {
        &self.meta
    }
    pub fn len(&self) -> usize {
        self.meta.item_ids.len()
    }
    pub fn is_empty(&self) -> bool {
        self.meta.item_ids.is_empty()
    }
    pub fn k_q(&self) -> usize {
        self.meta.spec.anchor_query_ids.len()
    }
    pub fn k_i(&self) -> usize {
        self.anchor_item_pos.len()
    }
    pub fn item_id(&self, pos: usize) -> &str {
        &self.meta.item_ids[pos]
    }
    pub fn position(&self, id: &str) -> Option<usize> {
        self.pos.get(id).copied()
    }
    pub fn anchor_item_positions(&self) -> &[usize] {
        &self.anchor_item_pos
    }
    /// `R` item-major (`N × k_q`).
    pub fn r_item_major(&self) -> &[f32] {
        &self.rt
    }

    /// Approximate scores `s = c·E` of every item given the exact scores `c` of the query against the
    /// anchor items (in anchor order).
    pub fn approx_scores(&self, c: &[f32]) -> Vec<f32> {
        let k_i = self.k_i();
        assert_eq!(c.len(), k_i, "approx_scores: c must have k_i entries");
        self.e.chunks_exact(k_i).map(|e_j| dot_f32(c, e_j)).collect()
    }

    /// Exact CE scores of a query text against the anchor items (`k_i` CE calls).
    pub fn anchor_scores(&self, scorer: &dyn PairScorer, query_text: &str) -> Result<Vec<f32>, CurError> {
        let pairs: Vec<(&str, &str)> = self.meta.anchor_item_texts.iter().map(|t| (query_text, t.as_str())).collect();
        score_checked(scorer, &pairs)
    }

    /// ANNCUR retrieval: `k_i` CE calls against the anchor items, `s = c·E`, `k_r` CE calls on the top
    /// items by `s` (excluding `exclude` and the anchors, whose exact scores are already known), and the
    /// top `k` of all `k_i + k_r` exactly scored items. `item_text(id)` supplies abstracts for rescoring.
    pub fn query(
        &self,
        scorer: &dyn PairScorer,
        query_text: &str,
        exclude: &[&str],
        opts: QueryOptions,
        item_text: &dyn Fn(&str) -> Option<String>,
    ) -> Result<QueryResult, CurError> {
        let c = self.anchor_scores(scorer, query_text)?;
        let s = self.approx_scores(&c);
        let excluded = self.exclusion_mask(exclude);
        let mut taken = excluded.clone();
        for &p in &self.anchor_item_pos {
            taken[p] = true;
        }
        let shortlist = top_by(&s, opts.k_r, &taken);
        let exact = self.score_items(scorer, query_text, &shortlist, item_text)?;
        let mut scored: Vec<(usize, f32)> =
            self.anchor_item_pos.iter().zip(&c).filter(|(p, _)| !excluded[**p]).map(|(&p, &sc)| (p, sc)).collect();
        scored.extend(shortlist.iter().copied().zip(exact));
        Ok(self.finish(scored, opts.k, c.len() + shortlist.len()))
    }

    /// Adaptive retrieval (adaCUR-style) within the same budget `k_i + k_r`: after scoring the anchor
    /// items, `rounds` times solve the query's coefficients over the anchor queries by least squares on
    /// every item scored so far (`a = c_S · pinv(R[:, S])`), approximate `s = a·R`, and score the top
    /// `k_r / rounds` not yet scored items exactly.
    pub fn query_adaptive(
        &self,
        scorer: &dyn PairScorer,
        query_text: &str,
        exclude: &[&str],
        opts: QueryOptions,
        rounds: usize,
        item_text: &dyn Fn(&str) -> Option<String>,
    ) -> Result<QueryResult, CurError> {
        self.query_adaptive_from(scorer, query_text, exclude, opts, rounds, None, item_text)
    }

    /// [`Self::query_adaptive`] starting from the caller's first-stage items (for example the BM25 top
    /// of the query) instead of the fixed anchor items: `initial.len() + k_r` CE calls. Unknown ids in
    /// `initial` are skipped.
    #[allow(clippy::too_many_arguments)]
    pub fn query_adaptive_from(
        &self,
        scorer: &dyn PairScorer,
        query_text: &str,
        exclude: &[&str],
        opts: QueryOptions,
        rounds: usize,
        initial: Option<&[&str]>,
        item_text: &dyn Fn(&str) -> Option<String>,
    ) -> Result<QueryResult, CurError> {
        let rounds = rounds.max(1);
        let k_q = self.k_q();
        let mut search = Search::start(self, scorer, query_text, exclude, initial, item_text)?;
        let mut remaining = opts.k_r;
        for round in 0..rounds {
            let step = remaining.div_ceil(rounds - round);
            if step == 0 {
                break;
            }
            let fit = &search.fit;
            let w = Mat::from_fn(k_q, fit.len(), |q, a| self.rt[fit[a].0 * k_q + q] as f64);
            let p = pinv(&w, self.meta.rcond);
            // a = c_S · pinv(W_S): 1 × k_q.
            let c_s: Vec<f64> = fit.iter().map(|&(_, cs)| cs as f64).collect();
            let a: Vec<f32> = p.vec_mul(&c_s).into_iter().map(|x| x as f32).collect();
            let s: Vec<f32> = self.rt.chunks_exact(k_q).map(|r_j| dot_f32(&a, r_j)).collect();
            let scored = search.score_top(&s, step)?;
            if scored == 0 {
                break;
            }
            remaining -= scored;
        }
        Ok(search.finish(opts.k))
    }

    /// Appends a new item: `r_j = CE(anchor queries, text)` (`k_q` calls) and `e_j = U·r_j`.
    pub fn append(&mut self, scorer: &dyn PairScorer, id: &str, text: &str) -> Result<(), CurError> {
        if self.pos.contains_key(id) {
            return Err(CurError::Invalid(format!("item {id} is already in the index")));
        }
        if scorer.model_id() != self.meta.spec.model_id {
            return Err(CurError::Invalid(format!(
                "scorer model {} differs from the index's {}",
                scorer.model_id(),
                self.meta.spec.model_id
            )));
        }
        let pairs: Vec<(&str, &str)> = self.meta.anchor_query_texts.iter().map(|q| (q.as_str(), text)).collect();
        let r_j = score_checked(scorer, &pairs)?;
        let k_q = self.k_q();
        self.e.extend((0..self.k_i()).map(|a| dot_f32(&self.u[a * k_q..(a + 1) * k_q], &r_j)));
        self.rt.extend_from_slice(&r_j);
        self.means.extend(item_means_of(&r_j, k_q));
        self.pos.insert(id.to_string(), self.meta.item_ids.len());
        self.meta.item_ids.push(id.to_string());
        Ok(())
    }

    pub(super) fn exclusion_mask(&self, exclude: &[&str]) -> Vec<bool> {
        let mut mask = vec![false; self.len()];
        for id in exclude {
            if let Some(&p) = self.pos.get(*id) {
                mask[p] = true;
            }
        }
        mask
    }

    pub(super) fn score_items(
        &self,
        scorer: &dyn PairScorer,
        query_text: &str,
        positions: &[usize],
        item_text: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Vec<f32>, CurError> {
        let texts = positions
            .iter()
            .map(|&p| {
                let id = &self.meta.item_ids[p];
                item_text(id).ok_or_else(|| CurError::UnknownItem(id.clone()))
            })
            .collect::<Result<Vec<String>, _>>()?;
        let pairs: Vec<(&str, &str)> = texts.iter().map(|t| (query_text, t.as_str())).collect();
        score_checked(scorer, &pairs)
    }

    pub(super) fn finish(&self, mut scored: Vec<(usize, f32)>, k: usize, ce_pairs: usize) -> QueryResult {
        let mut seen = HashSet::new();
        scored.retain(|(p, _)| seen.insert(*p));
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.truncate(k);
        QueryResult {
            items: scored
                .into_iter()
                .map(|(pos, score)| ScoredItem { pos, id: self.meta.item_ids[pos].clone(), score })
                .collect(),
            ce_pairs,
        }
    }
}

/// The state the adaptive searches share: every exactly scored item (excluded ones too: they still
/// inform the fit), the items that may no longer be picked, and the CE pairs spent.
pub(super) struct Search<'a> {
    index: &'a CurIndex,
    scorer: &'a dyn PairScorer,
    query_text: &'a str,
    item_text: &'a dyn Fn(&str) -> Option<String>,
    pub(super) fit: Vec<(usize, f32)>,
    taken: Vec<bool>,
    excluded: Vec<bool>,
    spent: usize,
}

impl<'a> Search<'a> {
    /// Scores the `initial` items (the anchor items when `None`; unknown and repeated ids skipped).
    pub(super) fn start(
        index: &'a CurIndex,
        scorer: &'a dyn PairScorer,
        query_text: &'a str,
        exclude: &[&str],
        initial: Option<&[&str]>,
        item_text: &'a dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, CurError> {
        let (start, c) = match initial {
            None => (index.anchor_item_pos.clone(), index.anchor_scores(scorer, query_text)?),
            Some(ids) => {
                let mut seen = HashSet::new();
                let start: Vec<usize> =
                    ids.iter().filter_map(|id| index.pos.get(*id).copied()).filter(|p| seen.insert(*p)).collect();
                let c = index.score_items(scorer, query_text, &start, item_text)?;
                (start, c)
            }
        };
        let excluded = index.exclusion_mask(exclude);
        let mut taken = excluded.clone();
        for &p in &start {
            taken[p] = true;
        }
        let spent = c.len();
        Ok(Self {
            index,
            scorer,
            query_text,
            item_text,
            fit: start.into_iter().zip(c).collect(),
            taken,
            excluded,
            spent,
        })
    }

    /// Scores exactly the `count` items not yet taken with the highest `estimate`; returns how many.
    pub(super) fn score_top(&mut self, estimate: &[f32], count: usize) -> Result<usize, CurError> {
        let shortlist = top_by(estimate, count, &self.taken);
        let exact = self.index.score_items(self.scorer, self.query_text, &shortlist, self.item_text)?;
        self.spent += shortlist.len();
        for (&p, &sc) in shortlist.iter().zip(&exact) {
            self.taken[p] = true;
            self.fit.push((p, sc));
        }
        Ok(shortlist.len())
    }

    /// The top `k` of the scored items that are not excluded.
    pub(super) fn finish(self, k: usize) -> QueryResult {
        let scored: Vec<(usize, f32)> = self.fit.into_iter().filter(|(p, _)| !self.excluded[*p]).collect();
        self.index.finish(scored, k, self.spent)
    }
}

/// Positions of the `k` largest values of `s` whose `skip` flag is false, best first (ties by position).
pub fn top_by(s: &[f32], k: usize, skip: &[bool]) -> Vec<usize> {
    let mut cand: Vec<usize> = (0..s.len()).filter(|&j| !skip[j]).collect();
    let cmp = |a: &usize, b: &usize| s[*b].total_cmp(&s[*a]).then(a.cmp(b));
    if k < cand.len() {
        if k == 0 {
            return Vec::new();
        }
        cand.select_nth_unstable_by(k - 1, cmp);
        cand.truncate(k);
    }
    cand.sort_by(cmp);
    cand
}

/// Computes `Rᵀ` (item-major), resuming from and writing to `partial` when given.
fn compute_r(
    scorer: &dyn PairScorer,
    spec: &IndexSpec,
    anchor_queries: &[(&str, &str)],
    items: &[(&str, &str)],
    chunk_items: usize,
    partial: Option<&Path>,
    progress: &mut dyn FnMut(BuildProgress),
) -> Result<Vec<f32>, CurError> {
    let n = items.len();
    let k_q = anchor_queries.len();
    let item_ids: Vec<String> = items.iter().map(|(id, _)| id.to_string()).collect();
    let manifest_for = |done: usize| PartialManifest {
        format_version: store::FORMAT_VERSION,
        spec: spec.clone(),
        items_fingerprint: store::fingerprint(&item_ids),
        n_items: n,
        chunk_items,
        items_done: done,
    };
    let mut rt: Vec<f32> = Vec::with_capacity(n * k_q);
    let mut writer = None;
    let mut resumed = 0;
    if let Some(p) = partial {
        let (w, existing) = store::open_partial(p, &manifest_for(0))?;
        resumed = existing.len() / k_q;
        rt = existing;
        rt.reserve(n * k_q - rt.len());
        writer = Some(w);
    }
    let mut scored = 0;
    progress(BuildProgress { items_done: resumed, items_total: n, pairs_scored: 0, resumed_items: resumed });
    let mut start = resumed;
    while start < n {
        let end = (start + chunk_items).min(n);
        let mut pairs = Vec::with_capacity((end - start) * k_q);
        for (_, text) in &items[start..end] {
            for (_, q) in anchor_queries {
                pairs.push((*q, *text));
            }
        }
        let chunk = score_checked(scorer, &pairs)?;
        if let Some(w) = writer.as_mut() {
            store::append_partial(w, &chunk, &manifest_for(end))?;
        }
        rt.extend_from_slice(&chunk);
        scored += pairs.len();
        progress(BuildProgress { items_done: end, items_total: n, pairs_scored: scored, resumed_items: resumed });
        start = end;
    }
    Ok(rt)
}
