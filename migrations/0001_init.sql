-- Papertide's source of truth. The tantivy index and every cache are derived from these tables.

-- One row per paper: the latest known version's metadata.
CREATE TABLE papers (
    id               TEXT PRIMARY KEY NOT NULL,   -- canonical arXiv id, no version
    version          INTEGER,                     -- latest known version (NULL: the source did not say)
    title            TEXT NOT NULL,               -- display text: TeX accents decoded, white space folded
    title_raw        TEXT NOT NULL,               -- as the source sent it
    abstract         TEXT NOT NULL,
    abstract_raw     TEXT NOT NULL,
    authors          TEXT NOT NULL,               -- JSON array of display names, in order
    authors_raw      TEXT NOT NULL,               -- JSON array as sent
    categories       TEXT NOT NULL,               -- space separated, primary first
    primary_category TEXT NOT NULL,
    comments         TEXT,
    journal_ref      TEXT,
    doi              TEXT,
    license          TEXT,
    submitted        TEXT,                        -- RFC 3339, version 1
    updated          TEXT,                        -- RFC 3339, latest version
    first_announced  TEXT,                        -- YYYY-MM-DD of the earliest announcement we know
    withdrawn        INTEGER NOT NULL DEFAULT 0,
    -- Change sequence: bumped (to max+1) on every insert or real change, so the search index can catch up
    -- with exactly the rows it has not seen (its last indexed seq lives in the tantivy commit payload).
    seq              INTEGER NOT NULL,
    stored_at        TEXT NOT NULL
);
CREATE UNIQUE INDEX papers_seq ON papers (seq);
CREATE INDEX papers_first_announced ON papers (first_announced);

-- What daily listings show: paper P appeared in category C's listing on day D as KIND.
CREATE TABLE announcements (
    category TEXT NOT NULL,
    date     TEXT NOT NULL,                       -- YYYY-MM-DD
    paper_id TEXT NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    kind     TEXT NOT NULL CHECK (kind IN ('new', 'cross', 'replace', 'replace-cross')),
    PRIMARY KEY (category, date, paper_id)
) WITHOUT ROWID;
CREATE INDEX announcements_date ON announcements (date, category);
CREATE INDEX announcements_paper ON announcements (paper_id);

-- Resumable progress per source (an OAI resumptionToken, a last harvested day ...), written in the same
-- transaction as the records it covers so a killed run resumes without losing or duplicating anything.
CREATE TABLE checkpoints (
    key        TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Conditional-GET validators per polled URL (daily feeds).
CREATE TABLE feed_state (
    url           TEXT PRIMARY KEY NOT NULL,
    etag          TEXT,
    last_modified TEXT,
    checked_at    TEXT NOT NULL
);

-- One row per ingest run, with its summary, for operators.
CREATE TABLE ingest_runs (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    summary     TEXT                              -- JSON
);
