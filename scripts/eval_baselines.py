#!/usr/bin/env python3
"""The related-papers baselines Papertide is compared with, on the shared relatedness judgments.

  - arxiv-sanity-lite: TF-IDF (uni+bigrams, sublinear tf, English stop words, max_df 0.1, min_df 5, 20,000
    features, title + abstract) and a per-query linear SVM (LinearSVC, C = 0.1, balanced classes, the query the
    only positive), ranked by the SVM's decision value;
  - TF-IDF cosine over the same vectors;
  - all-MiniLM-L6-v2 bi-encoder (mean pooling, normalised), cosine over "title. abstract" (--bi-encoder DIR).

Corpus: every paper of --corpus-judgments (the whole judged set: 5,539 papers, about the size of the held-back
evaluation's 4,955), or with --corpus-ids a fixed list of papers plus the queries (judgments of papers outside
it set aside; scripts/replica_corpus.py). Queries: those of --judgments (a split file). Two scores per system, as `papertide eval
related` computes them: "condensed" (the system's ranking of the whole corpus, unjudged papers removed, top 5)
and "pool" (the query's judged candidates ranked by the system). nDCG@5 with linear gains 0/1/2; P@5 = share of
the top 5 rated >= 1; judged@5 = share of the uncondensed top 5 that is judged (below 1, the condensed score is
optimistic: judge the rest blind with scripts/judge_packets.py, from --lists-out).

  python3 scripts/eval_baselines.py --judgments data/relatedness/dev.jsonl [--corpus-ids F] [--bi-encoder DIR] [--lists-out F]
Needs: scikit-learn, numpy (and torch + transformers for the bi-encoder).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from train_reranker import evaluate, ndcg_at, paper_text, read_judgments  # noqa: E402

import numpy as np  # noqa: E402


LISTS = []  # (system, query, uncondensed top 5), for --lists-out


def condensed(groups, rank_fn, system=""):
    nd, pr, seen = [], [], []
    for q, cands in groups.items():
        judged = dict(cands)
        ranked = rank_fn(q)
        top = ranked[:5]
        LISTS.append({"system": system, "query": q, "top": top})
        seen.append(sum(1 for c in top if c in judged) / 5)
        order = [c for c in ranked if c in judged][:5]
        rs = [judged[c] for c in order]
        n = ndcg_at(rs, list(judged.values()))
        if n is None:
            continue
        nd.append(n)
        pr.append(sum(1 for r in rs if r >= 1) / 5)
    return round(float(np.mean(nd)), 4), round(float(np.mean(pr)), 4), len(nd), round(float(np.mean(seen)), 3)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--judgments", required=True)
    ap.add_argument("--corpus-judgments", default="../shared/data/relatedness/judgments.jsonl")
    ap.add_argument("--corpus", default="../shared/data/arxiv-cs-2025-2026.jsonl.gz")
    ap.add_argument("--corpus-ids", help="rank this corpus instead (one id per line; scripts/replica_corpus.py)")
    ap.add_argument("--bi-encoder", help="all-MiniLM-L6-v2 directory (BertModel weights)")
    ap.add_argument("--lists-out", help="write each system's uncondensed top 5 per query here (JSONL), for judging")
    a = ap.parse_args()
    from sklearn import svm
    from sklearn.feature_extraction.text import TfidfVectorizer
    import gzip

    judgments = read_judgments(a.judgments)
    if a.corpus_ids:
        # A fixed corpus (scripts/replica_corpus.py) plus the queries; judgments of other papers set aside.
        with open(a.corpus_ids) as f:
            ids = {line.strip() for line in f if line.strip() and not line.startswith("#")}
        papers = sorted(ids | {j["query"] for j in judgments})
    else:
        papers = sorted({x for j in read_judgments(a.corpus_judgments) for x in (j["query"], j["candidate"])})
    want = set(papers)
    text = {}
    with (gzip.open(a.corpus, "rt") if a.corpus.endswith(".gz") else open(a.corpus)) as f:
        for line in f:
            p = json.loads(line)
            if p["id"] in want:
                text[p["id"]] = paper_text(p["title"], p["abstract"])
    pos = {p: i for i, p in enumerate(papers)}
    groups = {}
    for j in judgments:
        groups.setdefault(j["query"], [])
        if j["candidate"] in want:
            groups[j["query"]].append((j["candidate"], j["rating"]))
    pairs = [(q, c) for q, cs in groups.items() for c, _ in cs]
    docs = [text[p] for p in papers]
    rows = {}

    v = TfidfVectorizer(strip_accents="unicode", lowercase=True, analyzer="word", stop_words="english",
                        token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b", ngram_range=(1, 2), max_features=20000,
                        norm="l2", use_idf=True, smooth_idf=True, sublinear_tf=True, max_df=0.1, min_df=5)
    x = v.fit_transform(docs).astype(np.float32)
    sims = {}

    def cos_rank(q):
        s = (x @ x[pos[q]].T).toarray().ravel()
        sims[q] = s
        s = s.copy()
        s[pos[q]] = -1e9
        return [papers[i] for i in np.argsort(-s, kind="stable")]

    c = condensed(groups, cos_rank, "tfidf")
    p = evaluate(groups, {(q, cc): float(sims[q][pos[cc]]) for q, cc in pairs})
    rows["TF-IDF cosine (sklearn, arxiv-sanity-lite features)"] = (c, p)

    svm_scores = {}

    def svm_rank(q):
        y = np.zeros(len(papers))
        y[pos[q]] = 1
        clf = svm.LinearSVC(class_weight="balanced", max_iter=10000, tol=1e-6, C=0.1)
        clf.fit(x, y)
        s = clf.decision_function(x)
        svm_scores[q] = s
        s = s.copy()
        s[pos[q]] = -1e9
        return [papers[i] for i in np.argsort(-s, kind="stable")]

    c = condensed(groups, svm_rank, "arxiv-sanity-lite")
    p = evaluate(groups, {(q, cc): float(svm_scores[q][pos[cc]]) for q, cc in pairs})
    rows["arxiv-sanity-lite (TF-IDF + per-query SVM)"] = (c, p)

    if a.bi_encoder:
        import torch
        from transformers import AutoModel, AutoTokenizer
        dev = "cuda" if torch.cuda.is_available() else "cpu"
        tok = AutoTokenizer.from_pretrained(a.bi_encoder)
        m = AutoModel.from_pretrained(a.bi_encoder).to(dev).eval()
        embs = []
        with torch.inference_mode():
            for i in range(0, len(docs), 128):
                enc = tok(docs[i:i + 128], truncation=True, max_length=256, padding=True, return_tensors="pt").to(dev)
                h = m(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).float()
                e = (h * mask).sum(1) / mask.sum(1)
                embs.append(torch.nn.functional.normalize(e, dim=-1).cpu())
        e = torch.cat(embs).numpy()
        sim = e @ e.T

        def bi_rank(q):
            s = sim[pos[q]].copy()
            s[pos[q]] = -1e9
            return [papers[i] for i in np.argsort(-s, kind="stable")]

        c = condensed(groups, bi_rank, "bi-encoder")
        p = evaluate(groups, {(q, cc): float(sim[pos[q], pos[cc]]) for q, cc in pairs})
        rows["all-MiniLM-L6-v2 bi-encoder cosine"] = (c, p)

    print(f"{len(groups)} queries of {a.judgments}; corpus {len(papers)} papers")
    print("| system | condensed nDCG@5 | P@5 | judged@5 | pool nDCG@5 | P@5 |\n|---|---|---|---|---|---|")
    for name, (c, p) in rows.items():
        print(f"| {name} | {c[0]:.3f} | {c[1]:.3f} | {c[3]:.2f} | {p[0]:.3f} | {p[1]:.3f} |")
    if a.lists_out:
        with open(a.lists_out, "w") as f:
            for row in LISTS:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
