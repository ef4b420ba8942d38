//! Parity of the cross-encoder engine with PyTorch: `../shared/models/ce-arxiv-minilm-l6/reference_scores.jsonl`
//! holds the f32 logits PyTorch 2.15 computes for 203 pairs at max_length 128 and 256.
//! f32 must match within 1e-3 on every kernel path the CPU supports; bf16 is reported and held to a loose bound
//! (on paths without native bf16 it runs f32).
//!
//! Debug builds check the first 32 pairs per length (all 203 with `PAPERTIDE_PARITY_ALL=1` or in release).
//! Skips, with a printed reason, when the shared directory is absent.

use papertide::rerank::kernels::Isa;
use papertide::rerank::{CrossEncoder, Dtype, EngineOptions};
use std::path::Path;

const MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/models/ce-arxiv-minilm-l6");

/// The kernel paths to check: every one the CPU has, or only those named in `PAPERTIDE_PARITY_ISA` (comma
/// separated), for a slow run under emulation (`qemu-aarch64`: see the README).
fn isas() -> Vec<Isa> {
    let only = std::env::var("PAPERTIDE_PARITY_ISA").unwrap_or_default();
    Isa::supported().into_iter().filter(|i| only.is_empty() || only.split(',').any(|n| n.trim() == i.name())).collect()
}

fn load_refs(dir: &Path) -> Vec<(String, String, usize, f32)> {
    let text = std::fs::read_to_string(dir.join("reference_scores.jsonl")).expect("reference_scores.jsonl");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["query"].as_str().unwrap().to_string(),
                v["document"].as_str().unwrap().to_string(),
                v["max_length"].as_u64().unwrap() as usize,
                v["score"].as_f64().unwrap() as f32,
            )
        })
        .collect()
}

fn max_error(
    dir: &Path,
    isa: Isa,
    dtype: Dtype,
    max_length: usize,
    refs: &[(String, String, usize, f32)],
    limit: usize,
) -> (f32, usize) {
    let sel: Vec<&(String, String, usize, f32)> = refs.iter().filter(|r| r.2 == max_length).take(limit).collect();
    assert!(!sel.is_empty(), "no reference pairs at max_length {max_length}");
    let ce = CrossEncoder::load(dir, EngineOptions { max_length, threads: 2, dtype, batch_size: 32, isa: Some(isa) })
        .unwrap();
    assert_eq!(ce.isa(), isa);
    let pairs: Vec<(&str, &str)> = sel.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect();
    let got = ce.score_pairs(&pairs).unwrap();
    let mut worst = 0f32;
    for (r, g) in sel.iter().zip(&got) {
        worst = worst.max((r.3 - g).abs());
    }
    (worst, sel.len())
}

#[test]
fn parity_with_pytorch_reference() {
    let dir = Path::new(MODEL);
    if !dir.join("reference_scores.jsonl").is_file() {
        eprintln!("skipped: {} is absent (the shared model directory is needed for the parity test)", dir.display());
        return;
    }
    let refs = load_refs(dir);
    let all = !cfg!(debug_assertions) || std::env::var_os("PAPERTIDE_PARITY_ALL").is_some();
    let limit = if all { usize::MAX } else { 32 };
    for isa in isas() {
        let name = isa.name();
        for max_length in [128, 256] {
            let (err, n) = max_error(dir, isa, Dtype::F32, max_length, &refs, limit);
            eprintln!("{name:<11} f32  max_length {max_length}: {n} pairs, max |error| {err:.2e}");
            assert!(err < 1e-3, "{name} f32 parity at max_length {max_length}: max error {err}");
            let (err, n) = max_error(dir, isa, Dtype::Bf16, max_length, &refs, limit);
            eprintln!("{name:<11} bf16 max_length {max_length}: {n} pairs, max |error| {err:.2e}");
            assert!(err < 0.5, "{name} bf16 error at max_length {max_length}: {err}");
        }
    }
}

/// The bundled relatedness model (bf16 weights, paper-paper pairs truncated longest-first) against the logits
/// PyTorch computes for it in f32 (`models/related-minilm-l6/reference_scores.jsonl`: 25 pairs of the judged
/// test split plus a short one, at 128 and 256 tokens), on every kernel path.
#[test]
fn bundled_model_parity_with_pytorch() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/models/related-minilm-l6"));
    if !dir.join("reference_scores.jsonl").is_file() {
        eprintln!("skipped: {} is absent", dir.display());
        return;
    }
    let refs = load_refs(dir);
    for isa in isas() {
        for max_length in [128, 256] {
            let (err, n) = max_error(dir, isa, Dtype::F32, max_length, &refs, usize::MAX);
            eprintln!(
                "bundled model, {} f32, max_length {max_length}: max abs error {err:.2e} over {n} pairs",
                isa.name()
            );
            assert!(err < 1e-3, "{}: {err} at max_length {max_length}", isa.name());
        }
    }
}

/// The bundled model's embedding head (`embed_texts`) against the embeddings PyTorch computes for it in f32
/// (`models/related-minilm-l6/reference_embeddings.jsonl`, `scripts/reference_embeddings.py`: 24 real papers),
/// on every kernel path: f32 within 1e-4 per component; bf16 (where the path has native bf16) cosine ≥ 0.99.
#[test]
fn bundled_model_embedding_parity_with_pytorch() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/models/related-minilm-l6"));
    let path = dir.join("reference_embeddings.jsonl");
    if !path.is_file() {
        eprintln!("skipped: {} is absent", path.display());
        return;
    }
    let refs: Vec<(String, usize, Vec<f32>)> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let e = v["embedding"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
            (v["text"].as_str().unwrap().to_string(), v["max_length"].as_u64().unwrap() as usize, e)
        })
        .collect();
    assert!(!refs.is_empty());
    let texts: Vec<&str> = refs.iter().map(|r| r.0.as_str()).collect();
    for isa in isas() {
        for dtype in [Dtype::F32, Dtype::Bf16] {
            let opts = EngineOptions { max_length: 256, threads: 2, dtype, batch_size: 8, isa: Some(isa) };
            let ce = CrossEncoder::load(dir, opts).unwrap();
            let dim = ce.embedding_dim().expect("the bundled model has an embedding head");
            assert_eq!(refs[0].1, 256);
            let got = ce.embed_texts(&texts).unwrap();
            assert_eq!(got.len(), texts.len() * dim);
            let (mut worst, mut min_cos) = (0f32, 1f32);
            for (r, g) in refs.iter().zip(got.chunks_exact(dim)) {
                assert_eq!(r.2.len(), dim);
                worst = r.2.iter().zip(g).map(|(a, b)| (a - b).abs()).fold(worst, f32::max);
                min_cos = min_cos.min(r.2.iter().zip(g).map(|(a, b)| a * b).sum());
            }
            eprintln!(
                "bundled model embeddings, {} {}: max abs error {worst:.2e}, min cosine {min_cos:.6} over {} texts",
                isa.name(),
                ce.kernel_path(),
                refs.len()
            );
            if ce.kernel_path().contains("f32") {
                assert!(worst < 1e-4, "{}: {worst}", isa.name());
            } else {
                assert!(min_cos > 0.99, "{}: {min_cos}", isa.name());
            }
        }
    }
}
