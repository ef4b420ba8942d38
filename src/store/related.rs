//! Stored related-paper lists (`related`, migration 0003).

use serde::{Deserialize, Serialize};

use super::{Result, Store, StoreError, now_rfc3339};

/// One related paper, as stored and as served by `/api/papers/{id}/related`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelatedItem {
    pub id: String,
    pub title: String,
    /// The cross-encoder score (a logit: higher is more related), or the BM25 score for lexical-only lists.
    pub score: f32,
    /// Which stage found it: `bm25`, `cur` or `bm25+cur`.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredRelated {
    pub paper_id: String,
    pub model_key: String,
    pub items: Vec<RelatedItem>,
    pub ce_pairs: i64,
    pub compute_ms: i64,
    pub computed_at: String,
}

/// The texts the related pipeline reads of a paper.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PaperText {
    pub id: String,
    pub title: String,
    pub abstract_text: String,
    pub withdrawn: bool,
}

/// A paper's sort day (`YYYY-MM-DD`): first announcement, else submission. SQL over `papers p`.
macro_rules! paper_day {
    () => {
        "COALESCE(p.first_announced, substr(p.submitted, 1, 10), '')"
    };
}

/// The optional `--category` / `--since` filter over `papers p`; binds category twice, then since twice. The
/// category is compared as a whole code within the space-separated list.
macro_rules! paper_filter {
    () => {
        concat!(
            "(? IS NULL OR (' ' || p.categories || ' ') LIKE ('% ' || ? || ' %')) AND (? IS NULL OR ",
            paper_day!(),
            " >= ?)"
        )
    };
}

impl Store {
    pub async fn get_related(&self, paper_id: &str) -> Result<Option<StoredRelated>> {
        let row: Option<(String, String, String, i64, i64, String)> = sqlx::query_as(
            "SELECT paper_id, model_key, items, ce_pairs, compute_ms, computed_at FROM related WHERE paper_id = ?",
        )
        .bind(paper_id)
        .fetch_optional(self.reader())
        .await?;
        row.map(|(paper_id, model_key, items, ce_pairs, compute_ms, computed_at)| {
            let items = serde_json::from_str(&items)
                .map_err(|e| StoreError::Corrupt { id: paper_id.clone(), reason: format!("related items: {e}") })?;
            Ok(StoredRelated { paper_id, model_key, items, ce_pairs, compute_ms, computed_at })
        })
        .transpose()
    }

    /// Stores (replacing) a paper's list. A paper deleted meanwhile is skipped (no row to refer to).
    pub async fn put_related(
        &self,
        paper_id: &str,
        model_key: &str,
        items: &[RelatedItem],
        ce_pairs: usize,
        compute_ms: u64,
    ) -> Result<()> {
        let json = serde_json::to_string(items).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO related (paper_id, model_key, items, ce_pairs, compute_ms, computed_at) \
             SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM papers WHERE id = ?) \
             ON CONFLICT (paper_id) DO UPDATE SET model_key = excluded.model_key, items = excluded.items, \
             ce_pairs = excluded.ce_pairs, compute_ms = excluded.compute_ms, computed_at = excluded.computed_at",
        )
        .bind(paper_id)
        .bind(model_key)
        .bind(json)
        .bind(ce_pairs as i64)
        .bind(compute_ms as i64)
        .bind(now_rfc3339())
        .bind(paper_id)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Ids (newest first) of papers whose stored list was computed with another model key.
    pub async fn stale_related(&self, model_key: &str, limit: i64) -> Result<Vec<(String, String)>> {
        Ok(sqlx::query_as(concat!(
            "SELECT r.paper_id, ",
            paper_day!(),
            " AS d FROM related r JOIN papers p ON p.id = r.paper_id WHERE r.model_key != ? \
             ORDER BY d DESC, r.paper_id DESC LIMIT ?",
        ))
        .bind(model_key)
        .bind(limit)
        .fetch_all(self.reader())
        .await?)
    }

    /// Papers (id, sort date) matching the filters that have no list computed with `model_key`, newest first.
    /// `category` matches any of a paper's categories; `since` is a `YYYY-MM-DD` announcement/submission day.
    pub async fn papers_needing_related(
        &self,
        model_key: &str,
        category: Option<&str>,
        since: Option<&str>,
        limit: i64,
    ) -> Result<Vec<(String, String)>> {
        Ok(sqlx::query_as(concat!(
            "SELECT p.id, ",
            paper_day!(),
            " AS d FROM papers p LEFT JOIN related r ON r.paper_id = p.id AND r.model_key = ? \
             WHERE r.paper_id IS NULL AND p.withdrawn = 0 AND ",
            paper_filter!(),
            " ORDER BY d DESC, p.id DESC LIMIT ?",
        ))
        .bind(model_key)
        .bind(category)
        .bind(category)
        .bind(since)
        .bind(since)
        .bind(limit)
        .fetch_all(self.reader())
        .await?)
    }

    /// Title and abstract (TeX-decoded, as displayed) of papers, in the order asked for (like
    /// [`Store::get_papers`]); unknown ids are absent, a repeated id appears once.
    pub async fn paper_texts(&self, ids: &[String]) -> Result<Vec<PaperText>> {
        let mut by_id = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(",");
            let sql =
                format!("SELECT id, title, abstract AS abstract_text, withdrawn FROM papers WHERE id IN ({marks})");
            let mut q = sqlx::query_as::<_, PaperText>(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(id);
            }
            by_id.extend(q.fetch_all(self.reader()).await?.into_iter().map(|t| (t.id.clone(), t)));
        }
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    /// Every paper's (id, title, abstract), for building a CUR index, optionally filtered; id order.
    pub async fn all_paper_texts(&self, category: Option<&str>, since: Option<&str>) -> Result<Vec<PaperText>> {
        Ok(sqlx::query_as(concat!(
            "SELECT id, title, abstract AS abstract_text, withdrawn FROM papers p WHERE withdrawn = 0 AND ",
            paper_filter!(),
            " ORDER BY id",
        ))
        .bind(category)
        .bind(category)
        .bind(since)
        .bind(since)
        .fetch_all(self.reader())
        .await?)
    }
}
