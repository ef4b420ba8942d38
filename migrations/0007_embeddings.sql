-- Paper embeddings from the related-papers model's embedding head (src/related/dense.rs): the dense
-- candidates and the cosine of the fused related-list order. One row per (paper, model id): a model swapped
-- back is not recomputed. `vector` is little-endian f32, L2-normalised.
CREATE TABLE paper_embeddings (
    paper_id   TEXT NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    model      TEXT NOT NULL,
    vector     BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (paper_id, model)
) WITHOUT ROWID;
