//! Unit tests on small synthetic model directories written to a tempdir (no shared files needed), plus tokenizer
//! checks against the real tokenizer when `../shared/models` is present.

use super::*;
use serde_json::json;
use std::collections::HashMap;

const WORDS: &[&str] = &[
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "a", "model", "paper", "graph", "neural", "network",
    "learning", "of", "on", "$", "\\", "{", "}", "x", "^", "2", "##s", "##ing", "é", "café", "über", "ü", "-", ".",
    ",", "data",
];

struct Tiny {
    h: usize,
    inter: usize,
    heads: usize,
    layers: usize,
    max_pos: usize,
}

const TINY: Tiny = Tiny { h: 32, inter: 64, heads: 4, layers: 2, max_pos: 64 };

fn tokenizer_json() -> serde_json::Value {
    let vocab: serde_json::Map<String, serde_json::Value> =
        WORDS.iter().enumerate().map(|(i, w)| (w.to_string(), json!(i))).collect();
    let added: Vec<_> = [(0, "[PAD]"), (1, "[UNK]"), (2, "[CLS]"), (3, "[SEP]"), (4, "[MASK]")]
        .iter()
        .map(|(id, c)| json!({"id": id, "content": c, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}))
        .collect();
    json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]}, "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": vocab}
    })
}

fn config_json(t: &Tiny) -> serde_json::Value {
    json!({
        "architectures": ["BertForSequenceClassification"], "model_type": "bert", "hidden_act": "gelu",
        "hidden_size": t.h, "intermediate_size": t.inter, "num_attention_heads": t.heads, "num_hidden_layers": t.layers,
        "max_position_embeddings": t.max_pos, "type_vocab_size": 2, "vocab_size": WORDS.len(), "layer_norm_eps": 1e-12,
        "position_embedding_type": "absolute", "id2label": {"0": "LABEL_0"}, "label2id": {"LABEL_0": 0}
    })
}

fn rnd(seed: &mut u64, scale: f32) -> f32 {
    *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0) * scale
}

/// name -> (shape, values) of a random tiny BERT cross-encoder.
fn tiny_tensors(t: &Tiny) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let mut s = 7u64;
    let mut v = Vec::new();
    let mut add = |name: String, shape: Vec<usize>, scale: f32, offset: f32| {
        let n = shape.iter().product();
        let vals = (0..n).map(|_| offset + rnd(&mut s, scale)).collect();
        v.push((name, shape, vals));
    };
    let h = t.h;
    add("bert.embeddings.word_embeddings.weight".into(), vec![WORDS.len(), h], 1.0, 0.0);
    add("bert.embeddings.position_embeddings.weight".into(), vec![t.max_pos, h], 0.5, 0.0);
    add("bert.embeddings.token_type_embeddings.weight".into(), vec![2, h], 0.5, 0.0);
    add("bert.embeddings.LayerNorm.weight".into(), vec![h], 0.2, 1.0);
    add("bert.embeddings.LayerNorm.bias".into(), vec![h], 0.2, 0.0);
    for l in 0..t.layers {
        let p = format!("bert.encoder.layer.{l}.");
        for m in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"] {
            add(format!("{p}{m}.weight"), vec![h, h], 0.4, 0.0);
            add(format!("{p}{m}.bias"), vec![h], 0.1, 0.0);
        }
        add(format!("{p}attention.output.LayerNorm.weight"), vec![h], 0.2, 1.0);
        add(format!("{p}attention.output.LayerNorm.bias"), vec![h], 0.2, 0.0);
        add(format!("{p}intermediate.dense.weight"), vec![t.inter, h], 0.4, 0.0);
        add(format!("{p}intermediate.dense.bias"), vec![t.inter], 0.1, 0.0);
        add(format!("{p}output.dense.weight"), vec![h, t.inter], 0.3, 0.0);
        add(format!("{p}output.dense.bias"), vec![h], 0.1, 0.0);
        add(format!("{p}output.LayerNorm.weight"), vec![h], 0.2, 1.0);
        add(format!("{p}output.LayerNorm.bias"), vec![h], 0.2, 0.0);
    }
    add("bert.pooler.dense.weight".into(), vec![h, h], 0.4, 0.0);
    add("bert.pooler.dense.bias".into(), vec![h], 0.1, 0.0);
    add("classifier.weight".into(), vec![1, h], 1.0, 0.0);
    add("classifier.bias".into(), vec![1], 1.0, 0.0);
    v
}

fn write_safetensors(path: &Path, tensors: &[(String, Vec<usize>, Vec<f32>)], dtype: safetensors::Dtype) {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, v)| match dtype {
            safetensors::Dtype::F32 => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            safetensors::Dtype::F16 => v.iter().flat_map(|x| half::f16::from_f32(*x).to_le_bytes()).collect(),
            _ => v.iter().flat_map(|x| half::bf16::from_f32(*x).to_le_bytes()).collect(),
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .zip(&bytes)
        .map(|((n, s, _), b)| (n.clone(), safetensors::tensor::TensorView::new(dtype, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize_to_file(views, None, path).unwrap();
}

fn write_model(dir: &Path, cfg: &serde_json::Value, tensors: &[(String, Vec<usize>, Vec<f32>)]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("config.json"), cfg.to_string()).unwrap();
    std::fs::write(dir.join("tokenizer.json"), tokenizer_json().to_string()).unwrap();
    write_safetensors(&dir.join("model.safetensors"), tensors, safetensors::Dtype::F32);
}

fn opts(max_length: usize, dtype: Dtype, threads: usize, batch_size: usize) -> EngineOptions {
    EngineOptions { max_length, threads, dtype, batch_size, isa: None }
}

/// Straightforward f64 BERT forward pass (the reference the engine is checked against).
fn reference_score(t: &Tiny, w: &HashMap<String, Vec<f32>>, ids: &[u32], types: &[u32]) -> f64 {
    let h = t.h;
    let dh = h / t.heads;
    let g = |n: &str| -> Vec<f64> { w[n].iter().map(|&x| x as f64).collect() };
    let ln = |x: &mut [f64], gm: &[f64], b: &[f64]| {
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        for i in 0..x.len() {
            x[i] = (x[i] - mean) / (var + 1e-12).sqrt() * gm[i] + b[i];
        }
    };
    let lin = |x: &[f64], wn: &str, bn: &str, n_out: usize| -> Vec<f64> {
        let (wt, b) = (g(wn), g(bn));
        let k = x.len();
        (0..n_out).map(|o| b[o] + (0..k).map(|i| wt[o * k + i] * x[i]).sum::<f64>()).collect()
    };
    let erf = |x: f64| -> f64 {
        // high-precision series
        let mut sum = 0.0;
        let mut term = x;
        for k in 0..200 {
            sum += term / (2 * k + 1) as f64;
            term *= -x * x / (k + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    };
    let l = ids.len();
    let (we, pe, te) = (
        g("bert.embeddings.word_embeddings.weight"),
        g("bert.embeddings.position_embeddings.weight"),
        g("bert.embeddings.token_type_embeddings.weight"),
    );
    let mut x: Vec<Vec<f64>> = (0..l)
        .map(|p| {
            let mut r: Vec<f64> =
                (0..h).map(|j| we[ids[p] as usize * h + j] + pe[p * h + j] + te[types[p] as usize * h + j]).collect();
            ln(&mut r, &g("bert.embeddings.LayerNorm.weight"), &g("bert.embeddings.LayerNorm.bias"));
            r
        })
        .collect();
    for li in 0..t.layers {
        let p = format!("bert.encoder.layer.{li}.");
        let f = |s: &str| format!("{p}{s}");
        let q: Vec<Vec<f64>> =
            x.iter().map(|r| lin(r, &f("attention.self.query.weight"), &f("attention.self.query.bias"), h)).collect();
        let k: Vec<Vec<f64>> =
            x.iter().map(|r| lin(r, &f("attention.self.key.weight"), &f("attention.self.key.bias"), h)).collect();
        let v: Vec<Vec<f64>> =
            x.iter().map(|r| lin(r, &f("attention.self.value.weight"), &f("attention.self.value.bias"), h)).collect();
        let mut ctx = vec![vec![0f64; h]; l];
        for hd in 0..t.heads {
            for i in 0..l {
                let s: Vec<f64> = (0..l)
                    .map(|j| (0..dh).map(|d| q[i][hd * dh + d] * k[j][hd * dh + d]).sum::<f64>() / (dh as f64).sqrt())
                    .collect();
                let mx = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = s.iter().map(|v| (v - mx).exp()).collect();
                let z: f64 = e.iter().sum();
                for d in 0..dh {
                    ctx[i][hd * dh + d] = (0..l).map(|j| e[j] / z * v[j][hd * dh + d]).sum();
                }
            }
        }
        for i in 0..l {
            let a = lin(&ctx[i], &f("attention.output.dense.weight"), &f("attention.output.dense.bias"), h);
            let mut h1: Vec<f64> = (0..h).map(|j| a[j] + x[i][j]).collect();
            ln(&mut h1, &g(&f("attention.output.LayerNorm.weight")), &g(&f("attention.output.LayerNorm.bias")));
            let it: Vec<f64> = lin(&h1, &f("intermediate.dense.weight"), &f("intermediate.dense.bias"), t.inter)
                .into_iter()
                .map(|z| 0.5 * z * (1.0 + erf(z / std::f64::consts::SQRT_2)))
                .collect();
            let o = lin(&it, &f("output.dense.weight"), &f("output.dense.bias"), h);
            let mut h2: Vec<f64> = (0..h).map(|j| o[j] + h1[j]).collect();
            ln(&mut h2, &g(&f("output.LayerNorm.weight")), &g(&f("output.LayerNorm.bias")));
            x[i] = h2;
        }
    }
    let pooled: Vec<f64> =
        lin(&x[0], "bert.pooler.dense.weight", "bert.pooler.dense.bias", h).into_iter().map(f64::tanh).collect();
    lin(&pooled, "classifier.weight", "classifier.bias", 1)[0]
}

fn sample_pairs() -> Vec<(String, String)> {
    let docs = [
        "the graph neural network learning of data",
        "",
        "a model on the paper data , data .",
        "learning learning learning the graph of a neural network model on paper data over and over again and again",
        "café über é ü naïve 中文",
        "$x^2$ \\emph{graph} {data}",
        "modelings papers",
    ];
    let queries = ["graph neural network", "", "a paper", "$x^2$", "Über café"];
    let mut v = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        for (j, q) in queries.iter().enumerate() {
            if (i + j) % 2 == 0 || i == 3 {
                v.push((q.to_string(), d.to_string()));
            }
        }
    }
    v
}

#[test]
fn engine_matches_naive_reference_on_tiny_model() {
    let tmp = tempfile::tempdir().unwrap();
    let tensors = tiny_tensors(&TINY);
    write_model(tmp.path(), &config_json(&TINY), &tensors);
    let w: HashMap<String, Vec<f32>> = tensors.iter().map(|(n, _, v)| (n.clone(), v.clone())).collect();
    let pairs = sample_pairs();
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(q, d)| (q.as_str(), d.as_str())).collect();
    for max_length in [12, 40] {
        let base = CrossEncoder::load(tmp.path(), opts(max_length, Dtype::F32, 1, 32)).unwrap();
        let want: Vec<f64> = refs
            .iter()
            .map(|(q, d)| {
                let (ids, types) = base.encode_pair(q, d).unwrap();
                reference_score(&TINY, &w, &ids, &types)
            })
            .collect();
        for isa in kernels::Isa::supported() {
            for (threads, batch, dtype, tol) in [
                (1, 32, Dtype::F32, 1e-4),
                (2, 3, Dtype::F32, 1e-4),
                (3, 1, Dtype::F32, 1e-4),
                (2, 4, Dtype::Bf16, 0.15),
            ] {
                let o = EngineOptions { isa: Some(isa), ..opts(max_length, dtype, threads, batch) };
                let ce = CrossEncoder::load(tmp.path(), o).unwrap();
                assert_eq!(ce.isa(), isa);
                let got = ce.score_pairs(&refs).unwrap();
                assert_eq!(got.len(), refs.len());
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        (*g as f64 - w).abs() < tol,
                        "pair {i} {:?} len {max_length} {isa:?} {dtype} t{threads} b{batch}: {g} vs {w}",
                        refs[i]
                    );
                }
            }
        }
    }
}

#[test]
fn f16_and_bf16_checkpoints_load() {
    let tensors = tiny_tensors(&TINY);
    let pairs = [("graph neural network", "the paper of data")];
    let tmp = tempfile::tempdir().unwrap();
    write_model(tmp.path(), &config_json(&TINY), &tensors);
    let base = CrossEncoder::load(tmp.path(), opts(32, Dtype::F32, 1, 8)).unwrap().score_pairs(&pairs).unwrap()[0];
    for dt in [safetensors::Dtype::F16, safetensors::Dtype::BF16] {
        write_safetensors(&tmp.path().join("model.safetensors"), &tensors, dt);
        let s = CrossEncoder::load(tmp.path(), opts(32, Dtype::F32, 1, 8)).unwrap().score_pairs(&pairs).unwrap()[0];
        assert!((s - base).abs() < 0.2, "{dt:?}: {s} vs {base}");
    }
}

#[test]
fn tokenizer_edge_cases() {
    let tmp = tempfile::tempdir().unwrap();
    write_model(tmp.path(), &config_json(&TINY), &tiny_tensors(&TINY));
    let ce = CrossEncoder::load(tmp.path(), opts(16, Dtype::F32, 1, 8)).unwrap();
    let (cls, sep) = (2, 3);
    // empty strings
    let (ids, types) = ce.encode_pair("", "").unwrap();
    assert_eq!(ids, vec![cls, sep, sep]);
    assert_eq!(types, vec![0, 0, 1]);
    // query tokens get type 0, document tokens type 1, [CLS] q [SEP] d [SEP]
    let (ids, types) = ce.encode_pair("The Graph", "neural network").unwrap();
    assert_eq!(ids, vec![cls, 5, 9, sep, 10, 11, sep]);
    assert_eq!(types, vec![0, 0, 0, 0, 1, 1, 1]);
    // a very long document is truncated to exactly max_length, only the document shrinks
    let long = "graph ".repeat(10_000);
    let (ids, types) = ce.encode_pair("the model", &long).unwrap();
    assert_eq!(ids.len(), 16);
    assert_eq!(&ids[..4], &[cls, 5, 7, sep]);
    assert_eq!(*ids.last().unwrap(), sep);
    assert_eq!(types.iter().filter(|&&t| t == 0).count(), 4);
    // a query that alone exceeds max_length is an error, as in Hugging Face (only_second never cuts the query)
    let err = ce.score_pairs(&[("ok", "data"), (long.as_str(), "data")]).unwrap_err().to_string();
    assert!(err.contains("pair 1") && err.contains("query"), "{err}");
    // non-ASCII (lower-casing, unknown characters) and TeX
    let (ids, _) = ce.encode_pair("Über CAFÉ", "中 $x^2$ \\emph").unwrap();
    assert_eq!(ids[0], cls);
    assert_eq!(ids.iter().filter(|&&i| i == sep).count(), 2);
    assert!(ids.contains(&1), "unknown characters map to [UNK]: {ids:?}");
    assert!(ids.contains(&15) && ids.contains(&19) && ids.contains(&20) && ids.contains(&16));
    // scores of edge cases are finite
    let s = ce.score_pairs(&[("", ""), ("Über", "中文"), ("$x^2$", &long)]).unwrap();
    assert!(s.iter().all(|v| v.is_finite()));
    assert!(ce.score_pairs(&[]).unwrap().is_empty());
}

#[test]
fn real_tokenizer_edge_cases() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/models/ce-arxiv-minilm-l6"));
    if !dir.is_dir() {
        eprintln!("skipped: {} is absent", dir.display());
        return;
    }
    let ce = CrossEncoder::load(dir, opts(128, Dtype::F32, 1, 8)).unwrap();
    let (ids, types) = ce.encode_pair("", "").unwrap();
    assert_eq!(ids, vec![101, 102, 102]);
    assert_eq!(types, vec![0, 0, 1]);
    let long = "transformers attend to everything. ".repeat(500);
    let (ids, types) = ce.encode_pair("A title", &long).unwrap();
    assert_eq!(ids.len(), 128);
    assert_eq!(types.iter().filter(|&&t| t == 0).count(), 4);
    let (ids, _) = ce.encode_pair("Schrödinger's café", "$\\mathcal{O}(n^2)$ Erdős–Rényi").unwrap();
    assert!(ids.len() > 10 && !ids[1..ids.len() - 1].contains(&101));
}

fn load_err(dir: &Path) -> String {
    CrossEncoder::load(dir, opts(32, Dtype::F32, 1, 8)).unwrap_err().to_string()
}

#[test]
fn loading_errors_name_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let tensors = tiny_tensors(&TINY);
    let d = tmp.path().join("m");
    write_model(&d, &config_json(&TINY), &tensors);
    assert!(CrossEncoder::load(&d, opts(32, Dtype::F32, 1, 8)).is_ok());

    // missing files
    for f in ["config.json", "model.safetensors", "tokenizer.json"] {
        let d2 = tmp.path().join(format!("missing-{f}"));
        write_model(&d2, &config_json(&TINY), &tensors);
        std::fs::remove_file(d2.join(f)).unwrap();
        let e = load_err(&d2);
        assert!(e.contains(f) && e.contains("missing"), "{e}");
    }
    // config fields
    let cases: &[(&str, serde_json::Value, &str)] = &[
        ("hidden_act", json!("relu"), "hidden_act"),
        ("model_type", json!("roberta"), "model_type"),
        ("position_embedding_type", json!("relative_key"), "position_embedding_type"),
        ("id2label", json!({"0": "a", "1": "b"}), "num_labels"),
        ("num_attention_heads", json!(5), "num_attention_heads"),
        ("architectures", json!(["BertForMaskedLM"]), "architectures"),
    ];
    for (field, value, needle) in cases {
        let mut cfg = config_json(&TINY);
        cfg[*field] = value.clone();
        std::fs::write(d.join("config.json"), cfg.to_string()).unwrap();
        let e = load_err(&d);
        assert!(e.contains(needle) && e.contains("config.json"), "{field}: {e}");
    }
    let mut cfg = config_json(&TINY);
    cfg.as_object_mut().unwrap().remove("hidden_size");
    std::fs::write(d.join("config.json"), cfg.to_string()).unwrap();
    assert!(load_err(&d).contains("hidden_size"));
    std::fs::write(d.join("config.json"), "{not json").unwrap();
    assert!(load_err(&d).contains("config.json"));
    std::fs::write(d.join("config.json"), config_json(&TINY).to_string()).unwrap();
    // max_length beyond the position table
    let e = CrossEncoder::load(&d, opts(65, Dtype::F32, 1, 8)).unwrap_err().to_string();
    assert!(e.contains("max_length") && e.contains("max_position_embeddings"), "{e}");

    // wrong shape and missing tensor, named
    let mut bad = tensors.clone();
    let i = bad.iter().position(|(n, _, _)| n == "bert.encoder.layer.1.intermediate.dense.weight").unwrap();
    bad[i].1 = vec![TINY.h, TINY.inter];
    write_safetensors(&d.join("model.safetensors"), &bad, safetensors::Dtype::F32);
    let e = load_err(&d);
    assert!(e.contains("bert.encoder.layer.1.intermediate.dense.weight") && e.contains("shape"), "{e}");
    let mut bad = tensors.clone();
    bad.retain(|(n, _, _)| n != "classifier.weight");
    write_safetensors(&d.join("model.safetensors"), &bad, safetensors::Dtype::F32);
    let e = load_err(&d);
    assert!(e.contains("classifier.weight") && e.contains("missing"), "{e}");
    std::fs::write(d.join("model.safetensors"), b"garbage").unwrap();
    assert!(load_err(&d).contains("model.safetensors"));
}

#[test]
fn model_id_tracks_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("tiny-ce");
    let mut tensors = tiny_tensors(&TINY);
    write_model(&d, &config_json(&TINY), &tensors);
    let a = CrossEncoder::load(&d, opts(32, Dtype::F32, 1, 8)).unwrap().model_id().to_string();
    assert!(a.starts_with("tiny-ce@"), "{a}");
    assert_eq!(a, CrossEncoder::load(&d, opts(16, Dtype::Bf16, 2, 4)).unwrap().model_id());
    tensors.last_mut().unwrap().2[0] += 1.0;
    write_safetensors(&d.join("model.safetensors"), &tensors, safetensors::Dtype::F32);
    assert_ne!(a, CrossEncoder::load(&d, opts(32, Dtype::F32, 1, 8)).unwrap().model_id());
}

#[test]
fn cross_encoder_is_send_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CrossEncoder>();
}

#[test]
fn resolve_model_local_download_cache_and_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let src = tmp.path().join("src");
    write_model(&src, &config_json(&TINY), &tiny_tensors(&TINY));
    // a local directory is used as-is, the fetcher is not called
    let never: &dyn Fn(&str, &Path) -> Result<u64, FetchError> = &|u: &str, _: &Path| panic!("fetched {u}");
    assert_eq!(resolve_model(src.to_str().unwrap(), &cache, "https://hub.invalid", never).unwrap(), src);

    // a hub id is downloaded through the injected fetcher, into a temporary file renamed into place
    let calls = std::sync::Mutex::new(Vec::new());
    let fetch = |url: &str, dest: &Path| -> Result<u64, FetchError> {
        calls.lock().unwrap().push(url.to_string());
        assert!(dest.file_name().unwrap().to_string_lossy().starts_with('.'), "a temporary name: {dest:?}");
        let file = url.rsplit('/').next().unwrap();
        std::fs::copy(src.join(file), dest).map_err(FetchError::from)
    };
    let dir = resolve_model("acme/tiny-ce", &cache, "http://127.0.0.1:9/", &fetch).unwrap();
    assert_eq!(dir, cache.join("acme--tiny-ce"));
    assert_eq!(
        *calls.lock().unwrap(),
        vec![
            "http://127.0.0.1:9/acme/tiny-ce/resolve/main/config.json",
            "http://127.0.0.1:9/acme/tiny-ce/resolve/main/model.safetensors",
            "http://127.0.0.1:9/acme/tiny-ce/resolve/main/tokenizer.json",
            // optional: this model has none, which is remembered
            "http://127.0.0.1:9/acme/tiny-ce/resolve/main/papertide.json"
        ]
    );
    assert!(dir.join("papertide.json.absent").is_file());
    assert!(CrossEncoder::load(&dir, opts(16, Dtype::F32, 1, 8)).is_ok());
    let no_temp_files =
        |d: &Path| std::fs::read_dir(d).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().starts_with('.'));
    assert!(no_temp_files(&dir), "no temp files left");
    // present files are not fetched again
    assert_eq!(resolve_model("acme/tiny-ce", &cache, "http://x", never).unwrap(), dir);

    // offline: a clear message
    let offline = |_: &str, _: &Path| -> Result<u64, FetchError> { Err("connection refused".into()) };
    let e = resolve_model("acme/other@v2", &cache, "https://huggingface.co", &offline).unwrap_err().to_string();
    assert!(
        e.contains("could not download config.json from https://huggingface.co/acme/other/resolve/v2/config.json")
            && e.contains("connection refused")
            && e.contains("pass a local model directory"),
        "{e}"
    );
    assert!(!cache.join("acme--other--v2").join("config.json").exists());

    // a download cut off after writing part of the file: the part is removed, nothing is renamed into place
    let cut = |_: &str, dest: &Path| -> Result<u64, FetchError> {
        std::fs::write(dest, b"{\"partial").unwrap();
        Err("connection reset".into())
    };
    let e = resolve_model("acme/cut", &cache, "http://x", &cut).unwrap_err().to_string();
    assert!(e.contains("connection reset"), "{e}");
    let cut_dir = cache.join("acme--cut");
    assert!(!cut_dir.join("config.json").exists() && no_temp_files(&cut_dir), "nothing left behind");
    // an empty answer is an error too, and leaves nothing
    let empty = |_: &str, dest: &Path| -> Result<u64, FetchError> {
        std::fs::write(dest, b"").map(|_| 0).map_err(FetchError::from)
    };
    let e = resolve_model("acme/cut", &cache, "http://x", &empty).unwrap_err().to_string();
    assert!(e.contains("empty response"), "{e}");
    assert!(no_temp_files(&cut_dir));

    // neither a directory nor a hub id
    for bad in ["/no/such/dir", "just-a-name", "a/b/c", "../x/y", "a/b@../c"] {
        let e = resolve_model(bad, &cache, "https://huggingface.co", &offline).unwrap_err().to_string();
        assert!(e.contains("hub id"), "{bad}: {e}");
    }
}

#[test]
fn kernel_path_is_named_and_unsupported_paths_are_refused() {
    use kernels::Isa;
    let tmp = tempfile::tempdir().unwrap();
    write_model(tmp.path(), &config_json(&TINY), &tiny_tensors(&TINY));
    let load = |isa: Isa, dtype: Dtype| {
        CrossEncoder::load(tmp.path(), EngineOptions { isa: Some(isa), ..opts(16, dtype, 1, 4) })
    };
    for isa in [Isa::Generic, Isa::Avx2, Isa::Avx512, Isa::Avx512Bf16, Isa::Amx, Isa::Neon] {
        match isa.check() {
            Ok(()) => {
                let path = load(isa, Dtype::F32).unwrap().kernel_path();
                let family = if isa.has_avx512() { "avx512" } else { isa.name() };
                assert_eq!(path, format!("{family} f32"));
                let bf16 = load(isa, Dtype::Bf16).unwrap().kernel_path();
                if !isa.has_native_bf16() {
                    assert!(bf16.contains("f32 (bf16 requested"), "{isa:?}: {bf16}");
                }
            }
            Err(why) => {
                let e = load(isa, Dtype::F32).unwrap_err();
                assert!(matches!(e, RerankError::Isa { .. }), "{e}");
                let msg = e.to_string();
                assert!(msg.contains(isa.name()) && msg.contains(&why.to_string()), "{msg}");
            }
        }
    }
    assert!(Isa::parse("sse9").unwrap_err().to_string().contains("generic, avx2, avx512, amx, neon"));
    assert_eq!(Isa::parse(" AVX2 ").unwrap(), Isa::Avx2);
    assert!(Isa::supported().contains(&Isa::detect()));
}
