//! The LLM summary cache and the daily request counter.

use serde::{Deserialize, Serialize};

use super::{Result, Store, now_rfc3339};

/// The cache key: one summary per paper, language, model and prompt version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SummaryKey {
    pub paper_id: String,
    pub lang: String,
    pub model: String,
    pub prompt_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryAnswer {
    pub question: String,
    pub answer: String,
    pub finish_reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredSummary {
    pub answers: Vec<SummaryAnswer>,
    pub complete: bool,
    pub full_text: bool,
    pub created_at: String,
}

impl Store {
    /// The cached summary for `key`, only if it is complete.
    pub async fn complete_summary(&self, key: &SummaryKey) -> Result<Option<StoredSummary>> {
        let row = sqlx::query!(
            r#"SELECT answers, complete AS "complete: bool", full_text AS "full_text: bool", created_at FROM summaries
               WHERE paper_id = ? AND lang = ? AND model = ? AND prompt_version = ? AND complete = 1"#,
            key.paper_id,
            key.lang,
            key.model,
            key.prompt_version,
        )
        .fetch_optional(self.reader())
        .await?;
        let Some(r) = row else { return Ok(None) };
        let answers = serde_json::from_str(&r.answers)
            .map_err(|e| super::StoreError::Corrupt { id: key.paper_id.clone(), reason: e.to_string() })?;
        Ok(Some(StoredSummary { answers, complete: r.complete, full_text: r.full_text, created_at: r.created_at }))
    }

    /// Whether any row (complete or not) exists for `key`: for tests and operators.
    pub async fn summary_row(&self, key: &SummaryKey) -> Result<Option<bool>> {
        Ok(sqlx::query_scalar!(
            r#"SELECT complete AS "complete: bool" FROM summaries
               WHERE paper_id = ? AND lang = ? AND model = ? AND prompt_version = ?"#,
            key.paper_id,
            key.lang,
            key.model,
            key.prompt_version,
        )
        .fetch_optional(self.reader())
        .await?)
    }

    /// Stores a generation's outcome. An incomplete one never overwrites a complete row.
    pub async fn put_summary(
        &self,
        key: &SummaryKey,
        answers: &[SummaryAnswer],
        complete: bool,
        full_text: bool,
    ) -> Result<()> {
        let json = serde_json::to_string(answers)
            .map_err(|e| super::StoreError::Corrupt { id: key.paper_id.clone(), reason: e.to_string() })?;
        let now = now_rfc3339();
        sqlx::query!(
            "INSERT INTO summaries (paper_id, lang, model, prompt_version, answers, complete, full_text, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (paper_id, lang, model, prompt_version) DO UPDATE SET answers = excluded.answers, \
             complete = excluded.complete, full_text = excluded.full_text, created_at = excluded.created_at \
             WHERE excluded.complete = 1 OR summaries.complete = 0",
            key.paper_id,
            key.lang,
            key.model,
            key.prompt_version,
            json,
            complete,
            full_text,
            now,
        )
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Counts one request against today's (UTC) cap, atomically; `false` (and nothing counted) when the cap is
    /// reached. A cap of 0 means no cap.
    pub async fn take_daily_llm_request(&self, cap: u32) -> Result<bool> {
        let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
        if cap == 0 {
            return Ok(true);
        }
        let cap = i64::from(cap);
        let counted = sqlx::query_scalar!(
            "INSERT INTO llm_daily_usage (day, requests) VALUES (?, 1) \
             ON CONFLICT (day) DO UPDATE SET requests = requests + 1 WHERE requests < ? RETURNING requests",
            day,
            cap,
        )
        .fetch_optional(self.writer())
        .await?;
        Ok(counted.is_some())
    }
}
