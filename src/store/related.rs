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
#[derive(Debug, Clone, PartialEq)]
pub struct PaperText {
    pub id: String,
    pub title: String,
    pub abstract_text: String,
    pub withdrawn: bool,
}

// A paper's sort day (`YYYY-MM-DD`) in the queries below is its first announcement, else its submission:
// `COALESCE(p.first_announced, substr(p.submitted, 1, 10), '')`. The optional `--category` / `--since` filter
// compares the category as a whole code within the space-separated list. The checked-SQL macros take string
// literals only, so both are written out in each query.

impl Store {
    pub async fn get_related(&self, paper_id: &str) -> Result<Option<StoredRelated>> {
        let row = sqlx::query!(
            "SELECT paper_id, model_key, items, ce_pairs, compute_ms, computed_at FROM related WHERE paper_id = ?",
            paper_id,
        )
        .fetch_optional(self.reader())
        .await?;
        row.map(|r| {
            let items = serde_json::from_str(&r.items)
                .map_err(|e| StoreError::Corrupt { id: r.paper_id.clone(), reason: format!("related items: {e}") })?;
            Ok(StoredRelated {
                paper_id: r.paper_id,
                model_key: r.model_key,
                items,
                ce_pairs: r.ce_pairs,
                compute_ms: r.compute_ms,
                computed_at: r.computed_at,
            })
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
        let (ce_pairs, compute_ms, now) = (ce_pairs as i64, compute_ms as i64, now_rfc3339());
        sqlx::query!(
            "INSERT INTO related (paper_id, model_key, items, ce_pairs, compute_ms, computed_at) \
             SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM papers WHERE id = ?) \
             ON CONFLICT (paper_id) DO UPDATE SET model_key = excluded.model_key, items = excluded.items, \
             ce_pairs = excluded.ce_pairs, compute_ms = excluded.compute_ms, computed_at = excluded.computed_at",
            paper_id,
            model_key,
            json,
            ce_pairs,
            compute_ms,
            now,
            paper_id,
        )
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Ids (newest first) of papers whose stored list was computed with another model key.
    pub async fn stale_related(&self, model_key: &str, limit: i64) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query!(
            r#"SELECT r.paper_id, COALESCE(p.first_announced, substr(p.submitted, 1, 10), '') AS "d!: String"
               FROM related r JOIN papers p ON p.id = r.paper_id WHERE r.model_key != ?
               ORDER BY 2 DESC, r.paper_id DESC LIMIT ?"#,
            model_key,
            limit,
        )
        .fetch_all(self.reader())
        .await?;
        Ok(rows.into_iter().map(|r| (r.paper_id, r.d)).collect())
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
        let rows = sqlx::query!(
            r#"SELECT p.id, COALESCE(p.first_announced, substr(p.submitted, 1, 10), '') AS "d!: String"
               FROM papers p LEFT JOIN related r ON r.paper_id = p.id AND r.model_key = ?
               WHERE r.paper_id IS NULL AND p.withdrawn = 0
                 AND (?2 IS NULL OR (' ' || p.categories || ' ') LIKE ('% ' || ?2 || ' %'))
                 AND (?3 IS NULL OR COALESCE(p.first_announced, substr(p.submitted, 1, 10), '') >= ?3)
               ORDER BY 2 DESC, p.id DESC LIMIT ?4"#,
            model_key,
            category,
            since,
            limit,
        )
        .fetch_all(self.reader())
        .await?;
        Ok(rows.into_iter().map(|r| (r.id, r.d)).collect())
    }

    /// Title and abstract (TeX-decoded, as displayed) of papers, in the order asked for (like
    /// [`Store::get_papers`]); unknown ids are absent, a repeated id appears once.
    pub async fn paper_texts(&self, ids: &[String]) -> Result<Vec<PaperText>> {
        // The ids travel as one JSON array (`json_each`), so the statement is fixed and checked at build time.
        let list = super::json_list(ids);
        let rows = sqlx::query_as!(
            PaperText,
            r#"SELECT id, title, abstract AS abstract_text, withdrawn AS "withdrawn: bool"
               FROM papers WHERE id IN (SELECT value FROM json_each(?))"#,
            list,
        )
        .fetch_all(self.reader())
        .await?;
        let mut by_id: std::collections::HashMap<String, PaperText> =
            rows.into_iter().map(|t| (t.id.clone(), t)).collect();
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    /// Every paper's (id, title, abstract), for building a CUR index, optionally filtered; id order.
    pub async fn all_paper_texts(&self, category: Option<&str>, since: Option<&str>) -> Result<Vec<PaperText>> {
        Ok(sqlx::query_as!(
            PaperText,
            r#"SELECT id, title, abstract AS abstract_text, withdrawn AS "withdrawn: bool" FROM papers p
               WHERE withdrawn = 0
                 AND (?1 IS NULL OR (' ' || p.categories || ' ') LIKE ('% ' || ?1 || ' %'))
                 AND (?2 IS NULL OR COALESCE(p.first_announced, substr(p.submitted, 1, 10), '') >= ?2)
               ORDER BY id"#,
            category,
            since,
        )
        .fetch_all(self.reader())
        .await?)
    }
}
