//! Stored paper embeddings (`paper_embeddings`, migration 0007), written by the related service's embedding
//! pass and loaded into `related::dense::DenseIndex` at start-up.

use super::{Result, Store, now_rfc3339};
use crate::store::PaperText;

impl Store {
    /// Every stored embedding of `model`, as `(paper id, little-endian f32 blob)`.
    pub async fn embeddings(&self, model: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let rows = sqlx::query!("SELECT paper_id, vector FROM paper_embeddings WHERE model = ?", model)
            .fetch_all(self.reader())
            .await?;
        Ok(rows.into_iter().map(|r| (r.paper_id, r.vector)).collect())
    }

    /// Up to `limit` papers (withdrawn ones included: they can still be queries) without an embedding of
    /// `model`, newest first.
    pub async fn papers_without_embedding(&self, model: &str, limit: i64) -> Result<Vec<PaperText>> {
        let rows = sqlx::query!(
            r#"SELECT p.id, p.title, p.abstract AS abstract_text, p.withdrawn AS "withdrawn: bool" FROM papers p
               WHERE NOT EXISTS (SELECT 1 FROM paper_embeddings e WHERE e.paper_id = p.id AND e.model = ?)
               ORDER BY p.id DESC LIMIT ?"#,
            model,
            limit,
        )
        .fetch_all(self.reader())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| PaperText { id: r.id, title: r.title, abstract_text: r.abstract_text, withdrawn: r.withdrawn })
            .collect())
    }

    /// Stores (replacing) embeddings of `model`; returns the ids stored (ids that are not stored papers, or
    /// papers deleted meanwhile, are skipped).
    pub async fn put_embeddings(&self, model: &str, rows: &[(String, Vec<u8>)]) -> Result<Vec<String>> {
        let mut stored = Vec::with_capacity(rows.len());
        let now = now_rfc3339();
        let mut tx = self.writer().begin().await?;
        for (id, blob) in rows {
            let done = sqlx::query!(
                "INSERT INTO paper_embeddings (paper_id, model, vector, created_at) \
                 SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM papers WHERE id = ?) \
                 ON CONFLICT (paper_id, model) DO UPDATE SET vector = excluded.vector, created_at = excluded.created_at",
                id,
                model,
                blob,
                now,
                id,
            )
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() > 0 {
                stored.push(id.clone());
            }
        }
        tx.commit().await?;
        Ok(stored)
    }
}
