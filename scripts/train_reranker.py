#!/usr/bin/env python3
"""Trains Papertide's relatedness cross-encoder on the shared relatedness judgments.

The model scores a (query paper, candidate paper) pair, both sides "<title>. <abstract>", truncated together
("longest_first") to --max-length tokens, with one raw logit: higher = more related. It is a Hugging Face
`BertForSequenceClassification` (num_labels = 1) that Papertide's engine loads directly.

Data
  --judgments   ../shared/data/relatedness/judgments.jsonl: {"query", "candidate", "rating" 0|1|2, ...}
  --corpus      ../shared/data/arxiv-cs-2025-2026.jsonl.gz (titles and abstracts; any Kaggle-format JSONL[.gz])
  The judged queries are split by query (never a query's pairs apart) with a fixed hash of the query id:
  15% dev (model and setting selection), 15% test (reported once, never tuned on), 70% train.
  `--write-splits DIR` writes DIR/{train,dev,test}.jsonl (the repo keeps dev and test under data/relatedness/).

Training (CPU or GPU, seeded)
  Every judged train pair, in both orders (relatedness is symmetric, so the model learns to be), plus
  --random-negatives random judged papers (of other queries) per train query rated 0 (the judges rated random papers 0.01 on
  average), fitted with a pointwise soft-label BCE (target = rating / 2) or a listwise softmax loss over each
  query's judged candidates (--loss listwise). The epoch with the best dev nDCG@5 is kept.

Evaluation (what --eval-only and the per-epoch log print)
  For each query of a split, its judged candidates are ranked by the model; nDCG@5 (linear gains 0/1/2, ideal
  from all of the query's judgments) and P@5 (share of the top 5 rated >= 1) are averaged over queries. The
  same numbers come out of `papertide eval related --judgments data/relatedness/dev.jsonl` (pool mode).

Output (--out DIR): config.json, model.safetensors (bf16 unless --save-dtype f32), tokenizer.json,
tokenizer_config.json, vocab.txt, papertide.json (pair texts, truncation, max_length: how Papertide feeds the model) and training.json
(arguments, per-epoch dev figures, test figures of the kept epoch, wall time).

Examples
  python3 scripts/train_reranker.py --start ../shared/models/ce-arxiv-minilm-l6 --out models/related-minilm-l6 \
      --max-length 256 --epochs 4 --lr 3e-5 --batch-size 16 --seed 13
  python3 scripts/train_reranker.py --write-splits data/relatedness      # the split files only
  python3 scripts/train_reranker.py --eval-only --start models/related-minilm-l6 --split test

Needs: pip install torch transformers safetensors (CPU is enough: about 1.5 h for 4 epochs at max_length 256 on 2
cores; minutes on a GPU).
"""
import argparse
import gzip
import hashlib
import json
import math
import os
import random
import re
import shutil
import sys
import time

SPLITS = ("train", "dev", "test")
WS = re.compile(r"\s+")


def split_of(query_id):
    """A query's split, from a hash of its id: stable across runs, machines and judgment files."""
    h = int(hashlib.sha1(query_id.encode()).hexdigest()[:8], 16) % 100
    return "dev" if h < 15 else "test" if h < 30 else "train"


def paper_text(title, abstract):
    """The text of one side of a pair. Papertide builds the same string from the store's display text."""
    return f"{WS.sub(' ', title).strip()}. {WS.sub(' ', abstract).strip()}"


def read_judgments(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def read_corpus(path, wanted=None):
    opener = gzip.open if path.endswith(".gz") else open
    papers = {}
    with opener(path, "rt") as f:
        for line in f:
            p = json.loads(line)
            if wanted is None or p["id"] in wanted:
                papers[p["id"]] = paper_text(p["title"], p["abstract"])
    return papers


def ndcg_at(ratings_in_order, all_ratings, k=5):
    dcg = sum(r / math.log2(i + 2) for i, r in enumerate(ratings_in_order[:k]))
    ideal = sorted(all_ratings, reverse=True)
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal[:k]))
    return dcg / idcg if idcg > 0 else None


def evaluate(groups, scores):
    """groups: {query: [(candidate, rating)]}; scores: {(query, candidate): float}. Mean nDCG@5, P@5, queries."""
    nd, pr = [], []
    for q, cands in groups.items():
        ranked = sorted(cands, key=lambda c: (-scores[(q, c[0])], c[0]))
        rs = [r for _, r in ranked]
        n = ndcg_at(rs, rs)
        if n is None:  # nothing related was judged: nDCG is undefined, the query is left out (as in Rust)
            continue
        nd.append(n)
        pr.append(sum(1 for r in rs[:5] if r >= 1) / 5)
    return (sum(nd) / len(nd) if nd else 0.0), (sum(pr) / len(pr) if pr else 0.0), len(nd)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--judgments", default="../shared/data/relatedness/judgments.jsonl")
    ap.add_argument("--corpus", default="../shared/data/arxiv-cs-2025-2026.jsonl.gz")
    ap.add_argument("--start", help="starting model directory (a cross-encoder or a BERT encoder)")
    ap.add_argument("--out", help="where the trained model is written")
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=4, help="epochs the learning-rate schedule spans")
    ap.add_argument("--stop-after", type=int, default=0,
                    help="stop after this many epochs (0: all), keeping the schedule of --epochs")
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--warmup", type=float, default=0.1, help="share of steps with a linear warm-up")
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--loss", choices=["bce", "listwise"], default="bce")
    ap.add_argument("--random-negatives", type=int, default=2, help="random papers rated 0 per train query")
    ap.add_argument("--no-swap", action="store_true", help="do not add the (candidate, query) order")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch default)")
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda")
    ap.add_argument("--save-dtype", choices=["bf16", "f32"], default="bf16")
    ap.add_argument("--write-splits", metavar="DIR", help="write DIR/{train,dev,test}.jsonl and exit")
    ap.add_argument("--eval-only", action="store_true", help="evaluate --start on --split and exit")
    ap.add_argument("--split", choices=SPLITS, default="dev")
    ap.add_argument("--limit-queries", type=int, default=0, help="smoke runs: use only N train queries")
    ap.add_argument("--skip-eval-before", action="store_true", help="do not score the start model on dev first")
    a = ap.parse_args()

    judgments = read_judgments(a.judgments)
    by_split = {s: [] for s in SPLITS}
    for j in judgments:
        by_split[split_of(j["query"])].append(j)
    if a.write_splits:
        os.makedirs(a.write_splits, exist_ok=True)
        for s in SPLITS:
            with open(os.path.join(a.write_splits, f"{s}.jsonl"), "w") as f:
                for j in by_split[s]:
                    f.write(json.dumps(j) + "\n")
            print(f"{s}: {len(by_split[s])} pairs, {len({j['query'] for j in by_split[s]})} queries")
        return
    if not a.start:
        ap.error("--start is required")

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    random.seed(a.seed)
    torch.manual_seed(a.seed)
    if a.threads:
        torch.set_num_threads(a.threads)
    device = ("cuda" if torch.cuda.is_available() else "cpu") if a.device == "auto" else a.device

    wanted = {j["query"] for j in judgments} | {j["candidate"] for j in judgments}
    corpus = read_corpus(a.corpus, wanted)
    missing = wanted - corpus.keys()
    if missing:
        sys.exit(f"{len(missing)} judged papers are not in {a.corpus} (e.g. {sorted(missing)[:3]})")
    tok = AutoTokenizer.from_pretrained(a.start)
    model = AutoModelForSequenceClassification.from_pretrained(a.start, num_labels=1, dtype=torch.float32)
    model.to(device)

    def groups_of(split):
        g = {}
        for j in by_split[split]:
            g.setdefault(j["query"], []).append((j["candidate"], j["rating"]))
        return g

    @torch.inference_mode()
    def score(pairs, bs=64):
        model.eval()
        out = []
        for i in range(0, len(pairs), bs):
            chunk = pairs[i:i + bs]
            enc = tok([corpus[q] for q, _ in chunk], [corpus[c] for _, c in chunk], truncation="longest_first",
                      max_length=a.max_length, padding=True, return_tensors="pt").to(device)
            out.extend(model(**enc).logits.view(-1).float().tolist())
        return out

    def eval_split(split):
        g = groups_of(split)
        pairs = [(q, c) for q, cs in g.items() for c, _ in cs]
        return evaluate(g, dict(zip(pairs, score(pairs))))

    if a.eval_only:
        nd, p5, nq = eval_split(a.split)
        print(json.dumps({"split": a.split, "ndcg@5": round(nd, 4), "p@5": round(p5, 4), "queries": nq}))
        return
    if not a.out:
        ap.error("--out is required for training")

    train_groups = groups_of("train")
    queries = sorted(train_groups)
    if a.limit_queries:
        queries = queries[: a.limit_queries]
    pool = sorted(wanted)  # random negatives from the judged papers, so a corpus subset gives the same run
    rng = random.Random(a.seed)
    examples = []  # (query, candidate, target in [0, 1], group)
    for gi, q in enumerate(queries):
        cands = list(train_groups[q])
        judged = {c for c, _ in cands}
        for _ in range(a.random_negatives):
            c = rng.choice(pool)
            if c != q and c not in judged:
                cands.append((c, 0))
        for c, r in cands:
            examples.append((q, c, r / 2, gi))
            if not a.no_swap:
                examples.append((c, q, r / 2, gi))

    def batches():
        if a.loss == "bce":
            idx = list(range(len(examples)))
            rng.shuffle(idx)
            for i in range(0, len(idx), a.batch_size):
                yield [examples[k] for k in idx[i:i + a.batch_size]]
        else:  # listwise: one query's candidates (one direction) per group, groups packed into batches
            by_group = {}
            for e in examples:
                by_group.setdefault((e[3], e[0] == queries[e[3]]), []).append(e)
            keys = list(by_group)
            rng.shuffle(keys)
            batch = []
            for k in keys:
                batch.extend(by_group[k])
                if len(batch) >= a.batch_size:
                    yield batch
                    batch = []
            if batch:
                yield batch

    steps_per_epoch = sum(1 for _ in batches())
    total = steps_per_epoch * a.epochs
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.weight_decay)
    warm = max(1, int(total * a.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (total - s) / max(1, total - warm)))
    bce = torch.nn.BCEWithLogitsLoss()
    t0 = time.time()
    base = (0.0, 0.0, 0) if a.skip_eval_before else eval_split("dev")
    log = {"args": vars(a), "device": device, "train_queries": len(queries), "train_examples": len(examples),
           "dev_before": {"ndcg@5": round(base[0], 4), "p@5": round(base[1], 4), "queries": base[2]}, "epochs": []}
    print(json.dumps({"dev_before": log["dev_before"], "examples": len(examples), "steps": total}), flush=True)
    best, best_state = -1.0, None
    step = 0
    for epoch in range(a.stop_after or a.epochs):
        model.train()
        run_loss = 0.0
        for batch in batches():
            enc = tok([corpus[q] for q, _, _, _ in batch], [corpus[c] for _, c, _, _ in batch],
                      truncation="longest_first", max_length=a.max_length, padding=True,
                      return_tensors="pt").to(device)
            logits = model(**enc).logits.view(-1)
            target = torch.tensor([t for _, _, t, _ in batch], device=device)
            if a.loss == "bce":
                loss = bce(logits, target)
            else:
                loss, groups = 0.0, {}
                for i, e in enumerate(batch):
                    groups.setdefault((e[3], e[0] == queries[e[3]]), []).append(i)
                for ix in groups.values():
                    ix = torch.tensor(ix, device=device)
                    p = torch.softmax(target[ix] * 4.0, 0)  # ratings 0/0.5/1 -> a peaked target distribution
                    loss = loss - (p * torch.log_softmax(logits[ix], 0)).sum()
                loss = loss / len(groups)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            run_loss += loss.item()
            step += 1
        nd, p5, nq = eval_split("dev")
        row = {"epoch": epoch + 1, "loss": round(run_loss / steps_per_epoch, 4), "dev_ndcg@5": round(nd, 4),
               "dev_p@5": round(p5, 4), "minutes": round((time.time() - t0) / 60, 2)}
        log["epochs"].append(row)
        print(json.dumps(row), flush=True)
        if nd > best:
            best = nd
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    nd, p5, nq = eval_split("dev")
    tn, tp, tq = eval_split("test")
    log["kept"] = {"dev_ndcg@5": round(nd, 4), "dev_p@5": round(p5, 4), "dev_queries": nq,
                   "test_ndcg@5": round(tn, 4), "test_p@5": round(tp, 4), "test_queries": tq}
    log["minutes"] = round((time.time() - t0) / 60, 2)
    print(json.dumps(log["kept"]), flush=True)

    os.makedirs(a.out, exist_ok=True)
    if a.save_dtype == "bf16":
        model.to(torch.bfloat16)
    model.config.architectures = ["BertForSequenceClassification"]
    model.save_pretrained(a.out, safe_serialization=True)
    # The start's own tokenizer files, byte for byte (a re-serialised tokenizer.json can differ in form).
    for f in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        if os.path.exists(os.path.join(a.start, f)):
            shutil.copy(os.path.join(a.start, f), os.path.join(a.out, f))
    with open(os.path.join(a.out, "papertide.json"), "w") as f:
        json.dump({"pair": "paper-paper", "truncation": "longest_first", "max_length": a.max_length}, f)
    with open(os.path.join(a.out, "training.json"), "w") as f:
        json.dump(log, f, indent=1)


if __name__ == "__main__":
    main()
