//! The durable job queue's table (`jobs`, migration 0003). The scheduling policy lives in `src/jobs/`.

use super::{Result, Store, now_rfc3339};

/// What a job does: each kind has its own workers. Stored by [`JobKind::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Compute (or refresh) one paper's related-papers list; the key is the paper's id.
    Related,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Related => "related",
        }
    }
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    pub id: i64,
    pub kind: JobKind,
    pub key: String,
    pub priority: i64,
    pub attempts: i64,
}

/// One job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub kind: JobKind,
    pub key: &'a str,
    pub priority: i64,
    pub sort_key: &'a str,
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Store {
    /// Enqueues jobs; a job already queued or running keeps its place (its priority is raised if the new one
    /// is higher), and a failed one is queued again. Returns how many were new.
    pub async fn enqueue_jobs(&self, jobs: &[NewJob<'_>]) -> Result<u64> {
        let mut tx = self.writer().begin_with("BEGIN IMMEDIATE").await?;
        let now = now_rfc3339();
        let mut added = 0;
        for j in jobs {
            let kind = j.kind.as_str();
            let r = sqlx::query!(
                "INSERT INTO jobs (kind, key, priority, sort_key, created_at) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (kind, key) DO UPDATE SET priority = max(priority, excluded.priority), \
                 state = CASE state WHEN 'failed' THEN 'queued' ELSE state END, \
                 attempts = CASE state WHEN 'failed' THEN 0 ELSE attempts END, \
                 run_after = CASE state WHEN 'failed' THEN 0 ELSE run_after END",
                kind,
                j.key,
                j.priority,
                j.sort_key,
                now,
            )
            .execute(&mut *tx)
            .await?;
            added += r.rows_affected();
        }
        tx.commit().await?;
        Ok(added)
    }

    /// Claims the most urgent runnable job of `kind` (highest priority, then highest sort key), if any.
    pub async fn claim_job(&self, kind: JobKind) -> Result<Option<JobRow>> {
        let (kind_str, now) = (kind.as_str(), unix_now());
        let row = sqlx::query!(
            r#"UPDATE jobs SET state = 'running', attempts = attempts + 1 WHERE id = (
               SELECT id FROM jobs WHERE kind = ? AND state = 'queued' AND run_after <= ?
               ORDER BY priority DESC, sort_key DESC, id LIMIT 1)
             RETURNING id AS "id!", key, priority, attempts"#,
            kind_str,
            now,
        )
        .fetch_optional(self.writer())
        .await?;
        Ok(row.map(|r| JobRow { id: r.id, kind, key: r.key, priority: r.priority, attempts: r.attempts }))
    }

    /// A finished job leaves the queue.
    pub async fn complete_job(&self, id: i64) -> Result<()> {
        sqlx::query!("DELETE FROM jobs WHERE id = ?", id).execute(self.writer()).await?;
        Ok(())
    }

    /// A failed attempt: queued again after `retry_in_s`, or marked failed for good when `retry_in_s` is None.
    pub async fn fail_job(&self, id: i64, error: &str, retry_in_s: Option<i64>) -> Result<()> {
        let (state, after) = match retry_in_s {
            Some(s) => ("queued", unix_now() + s),
            None => ("failed", 0),
        };
        sqlx::query!("UPDATE jobs SET state = ?, run_after = ?, last_error = ? WHERE id = ?", state, after, error, id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Jobs left running by a process that died are queued again (at start-up, before any worker runs).
    pub async fn requeue_interrupted_jobs(&self) -> Result<u64> {
        let r = sqlx::query!("UPDATE jobs SET state = 'queued' WHERE state = 'running'").execute(self.writer()).await?;
        Ok(r.rows_affected())
    }

    /// Whether a job of `kind` for `key` is queued or running.
    pub async fn job_pending(&self, kind: JobKind, key: &str) -> Result<bool> {
        let kind = kind.as_str();
        let n: i64 = sqlx::query_scalar!(
            "SELECT COUNT(*) FROM jobs WHERE kind = ? AND key = ? AND state IN ('queued', 'running')",
            kind,
            key,
        )
        .fetch_one(self.reader())
        .await?;
        Ok(n > 0)
    }

    /// Counts of jobs of `kind` by state: (queued, running, failed).
    pub async fn job_counts(&self, kind: JobKind) -> Result<(i64, i64, i64)> {
        let kind = kind.as_str();
        let rows = sqlx::query!(r#"SELECT state, COUNT(*) AS "n!: i64" FROM jobs WHERE kind = ? GROUP BY state"#, kind)
            .fetch_all(self.reader())
            .await?;
        let get = |s: &str| rows.iter().find(|r| r.state == s).map_or(0, |r| r.n);
        Ok((get("queued"), get("running"), get("failed")))
    }
}
