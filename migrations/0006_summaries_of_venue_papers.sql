-- FAQ summaries of venue papers (issue 18): a summary's paper_id is an arXiv id or a venue paper's key
-- (`acl:2024.acl-long.12`), so it can no longer reference papers (id). SQLite cannot drop a constraint: the
-- table is rebuilt with the same columns and rows. Summaries are a cache; nothing deletes papers, so the lost
-- ON DELETE CASCADE deleted nothing in practice.
CREATE TABLE summaries_new (
    paper_id       TEXT NOT NULL,                 -- an arXiv id (no version) or a venue key (domain::PaperKey)
    lang           TEXT NOT NULL,                 -- 'en' or 'zh'
    model          TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    answers        TEXT NOT NULL,                 -- JSON array of {question, answer, finish_reason}
    complete       INTEGER NOT NULL DEFAULT 0,
    full_text      INTEGER NOT NULL DEFAULT 0,    -- 1: the context had the paper's full text, 0: abstract only
    created_at     TEXT NOT NULL,
    PRIMARY KEY (paper_id, lang, model, prompt_version)
) WITHOUT ROWID;
INSERT INTO summaries_new (paper_id, lang, model, prompt_version, answers, complete, full_text, created_at)
    SELECT paper_id, lang, model, prompt_version, answers, complete, full_text, created_at FROM summaries;
DROP TABLE summaries;
ALTER TABLE summaries_new RENAME TO summaries;
