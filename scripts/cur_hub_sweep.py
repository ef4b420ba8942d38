#!/usr/bin/env python3
"""Hubness-corrected final orders for the pipeline with CUR, studied offline (issue 14 lab notes).

With a CUR index, `papertide eval related --judgments J --anchor-queries K --scores-out S` also writes, per
query, every paper the CUR pipeline scored (`{"query", "cur": [{id, ce, source, anchor_mean}]}`), where
`anchor_mean` is the paper's mean exact cross-encoder score over the index's anchor queries. A "hub" (a paper
the model scores high whatever the query) has a high mean; CSLS-style correction (Lample et al. 2018) ranks by
`ce − λ·anchor_mean` instead of `ce`. This script reranks those papers by the product's reciprocal-rank fusion
of the (corrected) cross-encoder rank and the lexical rank, for several λ, with and without the CUR-found
papers (without: the index serves the means only), and prints condensed nDCG@5 / judged@5 on J beside the
pipeline without CUR. Choose on the dev split, report on test; unjudged papers are dropped, so judge the chosen
lists' unjudged top 5 blind (`scripts/judge_packets.py`) before believing a gain.

  python3 scripts/cur_hub_sweep.py --judgments /tmp/dev-full.jsonl --scores /tmp/curdev-scores.jsonl
"""
import argparse
import json

from fusion_sweep import ndcg, paired, read_judgments, report


def rrf_order(ce, lex_rank, n_lex, k=60):
    """The product's order: RRF of the CE rank and the lexical rank (papers the lexical stage did not find
    rank just after its last)."""
    by_ce = sorted(range(len(ce)), key=lambda i: -ce[i])
    rce = {i: r for r, i in enumerate(by_ce)}
    return [1 / (k + rce[i] + 1) + 1 / (k + lex_rank.get(i, n_lex) + 1) for i in range(len(ce))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--judgments", required=True, help="judged pairs, JSONL {query, candidate, rating}")
    ap.add_argument("--scores", required=True, help="`eval related --scores-out` file of a run with CUR")
    ap.add_argument("--lists-out", help="write every order's top 10 per query here (JSONL {query, system, top}, "
                    "for scripts/judge_packets.py)")
    a = ap.parse_args()
    judged = read_judgments(a.judgments)
    cands, cur = {}, {}
    for line in open(a.scores):
        r = json.loads(line)
        if "candidates" in r:
            cands[r["query"]] = r["candidates"]
        if "cur" in r:
            cur[r["query"]] = r["cur"]
    queries = [q for q in cur if q in judged and q in cands]
    means = [x["anchor_mean"] for q in queries for x in cur[q] if x["anchor_mean"] is not None]
    found = [x for q in queries for x in cur[q] if x["source"] == "cur"]
    print(f"{len(queries)} queries; anchor means: min {min(means):.2f}, mean {sum(means) / len(means):.2f}, "
          f"max {max(means):.2f}; {len(found)} CUR-found papers scored")

    lists_out = open(a.lists_out, "w") if a.lists_out else None

    def per_query(name, order):
        out = {}
        for q in queries:
            items = cur[q]
            lex = {x["id"]: i for i, x in enumerate(cands[q])}
            lex_rank = {i: lex[x["id"]] for i, x in enumerate(items) if x["id"] in lex}
            s = order(items, lex_rank, len(cands[q]))
            top = [items[i]["id"] for i in sorted(range(len(items)), key=lambda i: (-s[i], items[i]["id"]))
                   if s[i] > -1.0]
            if lists_out:
                lists_out.write(json.dumps({"query": q, "system": name, "top": top[:10]}) + "\n")
            v = ndcg(judged[q], top)
            if v is not None:
                out[q] = v
        return out

    def corrected(lam, with_cur):
        """RRF of the rank by ce − λ·anchor_mean and the lexical rank; without CUR only the lexical candidates
        are ranked (the index serves their means only)."""
        def f(items, lex_rank, n_lex):
            keep = [with_cur or i in lex_rank for i in range(len(items))]
            ce = [x["ce"] - lam * (x["anchor_mean"] or 0.0) if keep[i] else -1e9 for i, x in enumerate(items)]
            s = rrf_order(ce, lex_rank, n_lex)
            return [s[i] if keep[i] else -1.0 for i in range(len(items))]
        return f

    orders = {"without CUR (the lexical candidates, product order)": corrected(0.0, False)}
    for lam in (0.0, 0.5, 1.0, 1.5, 2.0):
        orders[f"with CUR, ce − {lam}·anchor_mean"] = corrected(lam, True)
        if lam > 0:
            orders[f"without CUR, ce − {lam}·anchor_mean"] = corrected(lam, False)
    res = {}
    for name, f in orders.items():
        res[name] = pq = per_query(name, f)
        report(name, pq)
    if lists_out:
        lists_out.close()
    base = res["without CUR (the lexical candidates, product order)"]
    for name in list(orders)[1:]:
        paired(f"{name} vs without CUR", res[name], base)


if __name__ == "__main__":
    main()
