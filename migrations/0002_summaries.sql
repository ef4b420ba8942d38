-- LLM FAQ summaries, a cache: one row per (paper, language, model, prompt version). Only rows with complete = 1
-- are ever served; a failed or cut-off generation is kept with complete = 0 for operators and regenerated.
CREATE TABLE summaries (
    paper_id       TEXT NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    lang           TEXT NOT NULL,                 -- 'en' or 'zh'
    model          TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    answers        TEXT NOT NULL,                 -- JSON array of {question, answer, finish_reason}
    complete       INTEGER NOT NULL DEFAULT 0,
    full_text      INTEGER NOT NULL DEFAULT 0,    -- 1: the context had the paper's full text, 0: abstract only
    created_at     TEXT NOT NULL,
    PRIMARY KEY (paper_id, lang, model, prompt_version)
) WITHOUT ROWID;

-- Summary generations started per UTC day, for the daily request cap (survives restarts).
CREATE TABLE llm_daily_usage (
    day      TEXT PRIMARY KEY NOT NULL,           -- YYYY-MM-DD, UTC
    requests INTEGER NOT NULL
);
