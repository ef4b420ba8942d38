#!/usr/bin/env python3
"""Final orderings of the related-papers candidates, studied offline (issue 14 lab notes).

`papertide eval related --judgments J --scores-out S` writes each query's product candidates (model-less order)
with the cross-encoder's score in both pair orders, the TF-IDF cosine and the lexical ranks. This script ranks
those candidates by several final orders without rescoring anything and prints each order's condensed nDCG@5 on
J (linear gains, papers J does not judge dropped; `judged@5` = share of the uncondensed top 5 that J judges),
and a paired bootstrap of score fusion against the product's reciprocal-rank fusion. Choose on the dev split,
report on test.

  python3 scripts/fusion_sweep.py --judgments /tmp/dev-full.jsonl --scores /tmp/dev-scores.jsonl [--lists-out F]
"""
import argparse
import json
import math
import random
import statistics as st


def read_judgments(path):
    """{query: {candidate: rating}}"""
    judged = {}
    for line in open(path):
        j = json.loads(line)
        judged.setdefault(j["query"], {})[j["candidate"]] = j["rating"]
    return judged


def ndcg(j, top):
    """Condensed nDCG@5 of the ranked ids `top` under one query's judgments `j` (unjudged ids dropped), and the
    share of the uncondensed top 5 that `j` judges; None when the query has no relevant paper."""
    gains = [j[c] for c in top if c in j][:5]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(sorted(j.values(), reverse=True)[:5]))
    if idcg == 0:
        return None
    return sum(r / math.log2(i + 2) for i, r in enumerate(gains)) / idcg, sum(c in j for c in top[:5]) / 5


def report(name, pq):
    v = [x[0] for x in pq.values()]
    jd = [x[1] for x in pq.values()]
    print(f"{sum(v) / len(v):.3f}  judged@5 {sum(jd) / len(jd):.2f}  n={len(v)}  {name}")


def paired(label, a_, b_):
    """Paired bootstrap (2,000 resamples of queries) of a_ − b_ over the queries both score."""
    d = [a_[q][0] - b_[q][0] for q in a_ if q in b_]
    rng = random.Random(1)
    bs = sorted(sum(d[rng.randrange(len(d))] for _ in d) / len(d) for _ in range(2000))
    print(f"paired, {label}: {sum(d) / len(d):+.3f} [{bs[50]:+.3f}, {bs[1949]:+.3f}]"
          f", better {sum(x > 1e-9 for x in d)}, worse {sum(x < -1e-9 for x in d)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--judgments", required=True, help="judged pairs, JSONL {query, candidate, rating}")
    ap.add_argument("--scores", required=True, help="`eval related --scores-out` file")
    ap.add_argument("--lists-out", help="write every order's top 10 per query here (JSONL {query, system, top}, "
                    "for scripts/judge_packets.py)")
    a = ap.parse_args()
    judged = read_judgments(a.judgments)
    lists_out = open(a.lists_out, "w") if a.lists_out else None
    # Lines with "cur" (the CUR pipeline's scored papers, with an index) are studied by cur_hub_sweep.py.
    rows = [r for r in map(json.loads, open(a.scores)) if "candidates" in r]

    def per_query(name, order):
        out = {}
        for r in rows:
            q, c = r["query"], r["candidates"]
            if q not in judged or not c:
                continue
            s = order(c)
            top = [c[i]["id"] for i in sorted(range(len(c)), key=lambda i: (-s[i], c[i]["id"]))]
            if lists_out:
                lists_out.write(json.dumps({"query": q, "system": name, "top": top[:10]}) + "\n")
            v = ndcg(judged[q], top)
            if v is not None:
                out[q] = v
        return out

    def z(xs):
        m, sd = st.mean(xs), st.pstdev(xs) or 1.0
        return [(x - m) / sd for x in xs]

    def ranks(xs):  # 0 = best
        r = [0] * len(xs)
        for k, i in enumerate(sorted(range(len(xs)), key=lambda i: -xs[i])):
            r[i] = k
        return r

    def rrf(w, k=60):  # the product's order at w = 0.5 (the lexical rank is the candidate's position)
        def f(c):
            rce = ranks([x["ce"] for x in c])
            return [w / (k + rce[i] + 1) + (1 - w) / (k + i + 1) for i in range(len(c))]
        return f

    def zsum(a, rev=0.0):  # z(CE) + a · z(TF-IDF cosine), standardised over the query's candidates
        def f(c):
            zc = z([x["ce"] + rev * x["ce_rev"] for x in c])
            zt = z([x["tfidf_cos"] for x in c])
            return [zc[i] + a * zt[i] for i in range(len(c))]
        return f

    orders = {
        "cross-encoder alone": lambda c: [x["ce"] for x in c],
        "cross-encoder, other pair order alone": lambda c: [x["ce_rev"] for x in c],
        "model-less order": lambda c: [-i for i in range(len(c))],
        "TF-IDF cosine": lambda c: [x["tfidf_cos"] for x in c],
    }
    for k in (60, 20, 5):
        for w in (0.3, 0.4, 0.5, 0.6, 0.7):
            orders[f"RRF k={k}, CE weight {w}" + (" (the product)" if (k, w) == (60, 0.5) else "")] = rrf(w, k)
    for a_ in (0.5, 0.75, 1.0, 1.5, 2.0, 3.0):
        orders[f"z(CE) + {a_} z(TF-IDF cos)"] = zsum(a_)
        orders[f"z(CE both orders) + {a_} z(TF-IDF cos)"] = zsum(a_, 1.0)
    res = {}
    for name, f in orders.items():
        res[name] = pq = per_query(name, f)
        report(name, pq)
    if lists_out:
        lists_out.close()
    paired("z(CE) + z(TF-IDF cos) vs the product", res["z(CE) + 1.0 z(TF-IDF cos)"],
           res["RRF k=60, CE weight 0.5 (the product)"])


if __name__ == "__main__":
    main()
