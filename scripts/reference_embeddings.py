#!/usr/bin/env python3
"""PyTorch's f32 paper embeddings for a model with an embedding head: what `tests/rerank_parity.rs` holds
the engine's `embed_texts` to.

  python3 scripts/reference_embeddings.py models/related-minilm-l6 [--texts 24]

The head (`embedding_head.*` in model.safetensors, `papertide.json` "embedding", written by
scripts/train_embedding_head.py) is one BERT layer on top of the first `shared_layers` layers; Hugging Face
has no such class, so a `BertModel` of `shared_layers + 1` layers is built from the stored tensors (f32),
each text is embedded as `[CLS] text [SEP]` cut to the head's max_length, mean-pooled and L2-normalised.
The texts are the documents of MODEL/reference_scores.jsonl (real papers, "{title}. {abstract}"); writes
MODEL/reference_embeddings.jsonl ({"text", "embedding"} lines).
"""
import argparse
import json
import os


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--texts", type=int, default=24)
    a = ap.parse_args()

    import torch
    from safetensors.torch import load_file
    from transformers import BertConfig, BertModel, AutoTokenizer

    emb = json.load(open(os.path.join(a.model, "papertide.json")))["embedding"]
    shared = emb["shared_layers"]
    cfg = BertConfig.from_pretrained(a.model)
    cfg.num_hidden_layers = shared + 1
    tensors = {k: v.float() for k, v in load_file(os.path.join(a.model, "model.safetensors")).items()}
    state = {}
    for k, v in tensors.items():
        k2 = k[len("bert."):] if k.startswith("bert.") else k
        if k2.startswith("embeddings."):
            state[k2] = v
        elif k2.startswith("encoder.layer."):
            if int(k2.split(".")[2]) < shared:
                state[k2] = v
        elif k2.startswith("embedding_head."):
            state[f"encoder.layer.{shared}." + k2[len("embedding_head."):]] = v
    model = BertModel(cfg, add_pooling_layer=False).eval()
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [m for m in missing if not m.endswith("position_ids")]
    assert not missing and not unexpected, (missing, unexpected)
    tok = AutoTokenizer.from_pretrained(a.model)
    texts = []
    for line in open(os.path.join(a.model, "reference_scores.jsonl")):
        d = json.loads(line)["document"]
        if d not in texts:
            texts.append(d)
    texts = texts[:a.texts]
    out = os.path.join(a.model, "reference_embeddings.jsonl")
    with torch.inference_mode(), open(out, "w") as f:
        for t in texts:
            enc = tok([t], truncation=True, max_length=emb["max_length"], return_tensors="pt")
            h = model(**enc).last_hidden_state[0]
            e = torch.nn.functional.normalize(h.mean(0), dim=-1)
            f.write(json.dumps({"text": t, "max_length": emb["max_length"], "embedding": [round(x, 7) for x in e.tolist()]}) + "\n")
    print(f"{len(texts)} texts embedded into {out}")


if __name__ == "__main__":
    main()
