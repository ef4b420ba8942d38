#!/usr/bin/env python3
"""Blind judging of the papers that systems rank in their top k but no judgment covers.

  make:  python3 scripts/judge_packets.py make --lists LISTS.jsonl --judgments data/relatedness/test.jsonl \
             --out DIR [--depth 5] [--queries-per-packet 12]
         LISTS.jsonl comes from `papertide eval related --judgments ... --lists-out LISTS.jsonl`. For every query,
         the top `depth` of every non-pool system are pooled; the (query, candidate) pairs not yet judged are
         written as reviewer packets DIR/packet-N.txt in the layout of ../shared/data/relatedness/PROTOCOL.md:
         candidates shuffled, labels random, the systems that proposed them hidden. DIR/key.json maps labels back.
  merge: python3 scripts/judge_packets.py merge --out DIR > extra.jsonl
         reads DIR/ratings-N.jsonl ({"q", "c", "r"} lines written by the reviewers) and prints judgment lines
         ({"query", "candidate", "rating", "proposed_by": ["blind-review"]}); a missing or malformed rating is
         reported on stderr and left out.
"""
import argparse
import gzip
import json
import os
import random
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=["make", "merge"])
    ap.add_argument("--lists")
    ap.add_argument("--judgments", nargs="*", default=[])
    ap.add_argument("--corpus", default="../shared/data/arxiv-cs-2025-2026.jsonl.gz")
    ap.add_argument("--out", required=True)
    ap.add_argument("--depth", type=int, default=5)
    ap.add_argument("--queries-per-packet", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1201)
    a = ap.parse_args()
    if a.cmd == "merge":
        key = json.load(open(os.path.join(a.out, "key.json")))
        got = {}
        for f in sorted(os.listdir(a.out)):
            if f.startswith("ratings-") and f.endswith(".jsonl"):
                for n, line in enumerate(open(os.path.join(a.out, f)), 1):
                    try:
                        r = json.loads(line)
                        q, c = key[f"{r['q']} {r['c']}"]
                        assert r["r"] in (0, 1, 2)
                        got[(q, c)] = r["r"]
                    except Exception as e:  # noqa: BLE001 - a bad line is reported and skipped
                        print(f"{f}:{n}: skipped ({e!r})", file=sys.stderr)
        missing = len(key) - len(got)
        if missing:
            print(f"{missing} of {len(key)} pairs have no rating", file=sys.stderr)
        for (q, c), r in sorted(got.items()):
            print(json.dumps({"query": q, "candidate": c, "rating": r, "proposed_by": ["blind-review"]}))
        return
    judged = set()
    for f in a.judgments:
        for line in open(f):
            if line.strip():
                j = json.loads(line)
                judged.add((j["query"], j["candidate"]))
    todo = {}
    for line in open(a.lists):
        row = json.loads(line)
        if row["system"].startswith("pool"):
            continue
        for c in row["top"][: a.depth]:
            if (row["query"], c) not in judged:
                todo.setdefault(row["query"], set()).add(c)
    need = set(todo) | {c for cs in todo.values() for c in cs}
    papers = {}
    with gzip.open(a.corpus, "rt") as f:
        for line in f:
            p = json.loads(line)
            if p["id"] in need:
                papers[p["id"]] = p
    rng = random.Random(a.seed)
    queries = sorted(todo)
    rng.shuffle(queries)
    os.makedirs(a.out, exist_ok=True)
    key = {}
    labels = rng.sample(range(100000, 999999), sum(len(v) for v in todo.values()) + len(queries))
    for pi in range(0, len(queries), a.queries_per_packet):
        n = pi // a.queries_per_packet
        with open(os.path.join(a.out, f"packet-{n}.txt"), "w") as out:
            for q in queries[pi: pi + a.queries_per_packet]:
                ql = f"Q{labels.pop()}"
                p = papers[q]
                out.write(f"=== QUERY {ql}\nTitle: {' '.join(p['title'].split())}\nCategories: {p['categories']}\n"
                          f"Abstract: {' '.join(p['abstract'].split())}\n\n")
                cands = sorted(todo[q])
                rng.shuffle(cands)
                for c in cands:
                    cl = f"C{labels.pop()}"
                    key[f"{ql} {cl}"] = (q, c)
                    cp = papers[c]
                    out.write(f"--- {ql} {cl}\nTitle: {' '.join(cp['title'].split())}\n"
                              f"Abstract: {' '.join(cp['abstract'].split())}\n\n")
    json.dump(key, open(os.path.join(a.out, "key.json"), "w"))
    print(f"{len(key)} unjudged pairs over {len(queries)} queries in {(len(queries) - 1) // a.queries_per_packet + 1} "
          f"packets under {a.out}")


if __name__ == "__main__":
    main()
