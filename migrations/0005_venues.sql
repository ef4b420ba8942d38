-- Conference proceedings beside arXiv (OpenReview, ACL Anthology, PMLR, CVF). A separate table: arXiv rows,
-- their ids and every existing URL are untouched. A venue paper that is an arXiv paper already stored is
-- linked to it (`arxiv_id`), so the two are shown as one work.
CREATE TABLE venue_papers (
    key             TEXT PRIMARY KEY NOT NULL,   -- domain::PaperKey display form: 'openreview:…', 'acl:…', …
    source          TEXT NOT NULL CHECK (source IN ('openreview', 'acl', 'pmlr', 'cvf')),
    conference      TEXT NOT NULL,               -- domain::Conference, e.g. 'ICLR'
    year            INTEGER NOT NULL,
    track           TEXT,                        -- 'Poster', 'Oral', 'long', 'Findings' … as the source says
    title           TEXT NOT NULL,               -- display text: TeX accents decoded, white space folded
    title_raw       TEXT NOT NULL,
    abstract        TEXT NOT NULL,
    abstract_raw    TEXT NOT NULL,
    authors         TEXT NOT NULL,               -- JSON array of display names, in order
    keywords        TEXT NOT NULL,               -- JSON array
    pdf_url         TEXT,
    doi             TEXT,
    source_arxiv_id TEXT,                        -- an arXiv id the source itself links to
    published       TEXT,                        -- YYYY-MM-DD
    -- The arXiv paper this is the same work as, and how that was decided ('source': the source's own link;
    -- 'match': normalised title + author overlap, venues::link). NULL: not linked (yet).
    arxiv_id        TEXT REFERENCES papers (id) ON DELETE SET NULL,
    link_method     TEXT CHECK (link_method IN ('source', 'match')),
    seq             INTEGER NOT NULL,            -- change sequence, as papers.seq (feeds order by it)
    stored_at       TEXT NOT NULL
);
CREATE UNIQUE INDEX venue_papers_seq ON venue_papers (seq);
CREATE INDEX venue_papers_edition ON venue_papers (conference, year, track);
CREATE INDEX venue_papers_arxiv ON venue_papers (arxiv_id) WHERE arxiv_id IS NOT NULL;
