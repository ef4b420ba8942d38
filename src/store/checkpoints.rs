//! Resumable progress markers and conditional-GET validators.

use sqlx::{Sqlite, Transaction};

use super::{Result, Store, now_rfc3339};

impl Store {
    pub async fn checkpoint(&self, key: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar!("SELECT value FROM checkpoints WHERE key = ?", key)
            .fetch_optional(self.reader())
            .await?)
    }

    pub async fn put_checkpoint(&self, key: &str, value: &str) -> Result<()> {
        let mut tx = self.writer().begin_with("BEGIN IMMEDIATE").await?;
        put_in(&mut tx, key, value).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn delete_checkpoint(&self, key: &str) -> Result<()> {
        sqlx::query!("DELETE FROM checkpoints WHERE key = ?", key).execute(self.writer()).await?;
        Ok(())
    }

    /// The ETag and Last-Modified last seen for `url`.
    pub async fn feed_validators(&self, url: &str) -> Result<(Option<String>, Option<String>)> {
        let row = sqlx::query!("SELECT etag, last_modified FROM feed_state WHERE url = ?", url)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.map_or((None, None), |r| (r.etag, r.last_modified)))
    }

    pub async fn put_feed_validators(&self, url: &str, etag: Option<&str>, last_modified: Option<&str>) -> Result<()> {
        let now = now_rfc3339();
        sqlx::query!(
            "INSERT INTO feed_state (url, etag, last_modified, checked_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified, \
             checked_at = excluded.checked_at",
            url,
            etag,
            last_modified,
            now,
        )
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Records a finished ingest run and its JSON summary.
    pub async fn record_run(&self, source: &str, started_at: &str, summary: &serde_json::Value) -> Result<()> {
        let (now, summary) = (now_rfc3339(), summary.to_string());
        sqlx::query!(
            "INSERT INTO ingest_runs (source, started_at, finished_at, summary) VALUES (?, ?, ?, ?)",
            source,
            started_at,
            now,
            summary,
        )
        .execute(self.writer())
        .await?;
        Ok(())
    }
}

pub(super) async fn put_in(tx: &mut Transaction<'static, Sqlite>, key: &str, value: &str) -> Result<()> {
    let now = now_rfc3339();
    sqlx::query!(
        "INSERT INTO checkpoints (key, value, updated_at) VALUES (?, ?, ?) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        key,
        value,
        now,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
