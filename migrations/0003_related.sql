-- Related papers: one stored list per paper, computed by the related-papers pipeline (src/related/).
-- `model_key` names the model, its settings and the CUR anchors the list was computed with: when it differs
-- from the running configuration the list is stale and is refreshed in the background.
CREATE TABLE related (
    paper_id    TEXT PRIMARY KEY NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    model_key   TEXT NOT NULL,
    items       TEXT NOT NULL,                 -- JSON array of {id, title, score, source}
    ce_pairs    INTEGER NOT NULL,              -- cross-encoder calls spent
    compute_ms  INTEGER NOT NULL,
    computed_at TEXT NOT NULL
) WITHOUT ROWID;

-- The durable job queue (src/jobs/): survives restarts; (kind, key) is unique, so enqueueing is idempotent and
-- concurrent requests for the same work share one job. A worker claims a job by setting state = 'running';
-- jobs found running at start-up were interrupted and are queued again.
CREATE TABLE jobs (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,
    key        TEXT NOT NULL,
    priority   INTEGER NOT NULL,               -- higher first
    sort_key   TEXT NOT NULL DEFAULT '',       -- then this, descending (newest papers first)
    state      TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'failed')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    run_after  INTEGER NOT NULL DEFAULT 0,     -- unix seconds: retry backoff
    last_error TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (kind, key)
);
CREATE INDEX jobs_claim ON jobs (state, priority DESC, sort_key DESC);
