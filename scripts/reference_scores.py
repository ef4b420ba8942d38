#!/usr/bin/env python3
"""PyTorch's f32 logits for a cross-encoder's parity pairs: what `tests/rerank_parity.rs` holds the engine to.

  python3 scripts/reference_scores.py models/related-minilm-l6

reads MODEL/reference_scores.jsonl ({"query", "document", "max_length", "score"} lines), scores every pair
again with Hugging Face `transformers` in f32 (the weights as stored, bf16 or f32, widened to f32) with the
model's own truncation (`papertide.json`, default longest_first), and rewrites the file with the new scores.
Run it after retraining a model: the pairs stay, the scores follow the weights. `--pairs FILE` takes the pairs
from another file (e.g. a fresh model directory without one).
"""
import argparse
import json
import os


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--pairs", help="read the pairs here instead of MODEL/reference_scores.jsonl")
    a = ap.parse_args()

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    out_path = os.path.join(a.model, "reference_scores.jsonl")
    with open(a.pairs or out_path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    fmt_path = os.path.join(a.model, "papertide.json")
    truncation = "longest_first"
    if os.path.exists(fmt_path):
        truncation = json.load(open(fmt_path)).get("truncation", truncation)
    tok = AutoTokenizer.from_pretrained(a.model)
    model = AutoModelForSequenceClassification.from_pretrained(a.model, dtype=torch.float32).eval()
    with torch.inference_mode():
        for r in rows:
            enc = tok([r["query"]], [r["document"]], truncation=truncation, max_length=r["max_length"],
                      return_tensors="pt")
            r["score"] = float(model(**enc).logits.view(-1)[0])
    with open(out_path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    print(f"{len(rows)} pairs rescored into {out_path}")


if __name__ == "__main__":
    main()
