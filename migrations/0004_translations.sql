-- Translations of titles and abstracts by the configured LLM, a cache shared by every reader: one row per
-- (paper, language, model, prompt version, field). Only complete, checked translations are ever stored.
CREATE TABLE translations (
    paper_id       TEXT NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    lang           TEXT NOT NULL,                 -- the language's canonical name, e.g. 'Chinese (Simplified)'
    model          TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    field          TEXT NOT NULL CHECK (field IN ('title', 'abstract')),
    text           TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (paper_id, lang, model, prompt_version, field)
) WITHOUT ROWID;
