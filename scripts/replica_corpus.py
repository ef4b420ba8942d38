#!/usr/bin/env python3
"""Writes a corpus in the shape of issue 14's held-back evaluation: N random papers of the shared corpus
(4,955 there), none of them a judged query paper, one arXiv id per line.

The judged split files' own corpus (every judged paper) holds each query's TF-IDF/LSA neighbours, which the
judging pools were built from; that favours lexical systems and lifts every score. The held-back set instead
ranks "4,955 other real CS papers": mostly unrelated to any one query, so a system must find the few related
ones. `papertide eval related --judgments SPLIT --corpus-ids FILE` and `scripts/eval_baselines.py --corpus-ids
FILE` rank this corpus (plus the split's queries); every unjudged paper of their top 5 is then judged blind
(`scripts/judge_packets.py`).

  python3 scripts/replica_corpus.py --out data/relatedness/replica-corpus.txt [--n 4955] [--seed 20261202]
"""
import argparse
import gzip
import json
import random


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="../shared/data/arxiv-cs-2025-2026.jsonl.gz")
    ap.add_argument("--judgments", default="../shared/data/relatedness/judgments.jsonl")
    ap.add_argument("--n", type=int, default=4955)
    ap.add_argument("--seed", type=int, default=20261202)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    with open(a.judgments) as f:
        queries = {json.loads(line)["query"] for line in f if line.strip()}
    with gzip.open(a.corpus, "rt") as f:
        ids = sorted({json.loads(line)["id"] for line in f if line.strip()} - queries)
    pick = sorted(random.Random(a.seed).sample(ids, a.n))
    with open(a.out, "w") as f:
        f.write(f"# {a.n} random papers of {a.corpus.split('/')[-1]} ({len(ids)} after removing the {len(queries)} "
                f"judged query papers), seed {a.seed}: scripts/replica_corpus.py\n")
        f.write("".join(p + "\n" for p in pick))


if __name__ == "__main__":
    main()
