//! Related papers end to end over a real store, index, job queue and (when ../shared/models is present) the real
//! cross-encoder: the lexical fallback, the durable queue, first-view computation, stale lists, the CUR index,
//! bulk builds, the JSON and HTML surfaces, and loading a hub model from a local server.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::http::StatusCode;
use papertide::app::App;
use papertide::domain::PaperRecord;
use papertide::store::{JobKind, NewJob, RelatedItem, Store};
use serde_json::Value;
use support::fake_server::{FakeServer, Reply};

const MODEL: &str = "../shared/models/ce-arxiv-minilm-l6";

fn model_dir() -> Option<PathBuf> {
    let p = Path::new(MODEL);
    if p.join("model.safetensors").is_file() {
        Some(p.to_path_buf())
    } else {
        eprintln!("skipping: {MODEL} is absent");
        None
    }
}

/// The first `n` papers of the bundled real sample, one of them withdrawn and one with a hostile title.
fn sample(n: usize) -> Vec<PaperRecord> {
    let f = std::fs::File::open("data/sample/papers.jsonl.gz").unwrap();
    let lines = BufReader::new(flate2::read::MultiGzDecoder::new(f)).lines();
    let mut out: Vec<PaperRecord> =
        lines.take(n).map(|l| papertide::arxiv::kaggle::parse_line(&l.unwrap()).unwrap().record).collect();
    out[1].comments = Some("This paper has been withdrawn by the authors".into());
    out[2].title = format!("<script>alert(1)</script> {}", out[2].title);
    out
}

async fn open(dir: &Path, model: Option<&Path>, hub: Option<&str>) -> App {
    let mut config = support::config::loopback(dir);
    // No model given: `none` (the default would be the bundled model).
    config.related.model = Some(model.map_or_else(|| "none".to_string(), |m| m.display().to_string()));
    config.related.background = true;
    config.related.cur_candidates = 10;
    if let Some(h) = hub {
        config.related.hub_url = h.to_string();
        config.related.model = Some("acme/arxiv-ce".into());
    }
    App::open(config).await.unwrap()
}

async fn fill(app: &App, recs: &[PaperRecord]) {
    let was = app.set_related_on_ingest(false);
    app.store_batch(recs, &[], None).await.unwrap();
    app.set_related_on_ingest(was);
    app.commit_index().await.unwrap();
    app.index.reload().unwrap();
}

async fn get(app: &App, uri: &str) -> (StatusCode, Vec<u8>) {
    support::router::get_bytes(app, uri).await
}

async fn api(app: &App, id: &str) -> Value {
    let (status, body) = get(app, &format!("/api/papers/{id}/related")).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

fn ids(v: &Value) -> Vec<String> {
    v["related"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_model_lists_are_lexical_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let app = open(dir.path(), None, None).await;
    let recs = sample(300);
    fill(&app, &recs).await;
    assert!(!app.load_related_engine().await, "model = none loads nothing");
    let me = recs[0].id.to_string();
    // Before the TF-IDF index is built the list is BM25's alone; after, both lexical lists are fused.
    let bm25_only = api(&app, &me).await;
    assert!(bm25_only["related"].as_array().unwrap().iter().all(|r| r["source"] == "bm25"));
    assert_eq!(app.related.build_lexicon().await.unwrap(), 299, "the withdrawn paper is left out");
    let v = api(&app, &me).await;
    assert_eq!(v["status"], "ready");
    assert_eq!(v["reranked"], false);
    assert!(v["note"].as_str().unwrap().contains("TF-IDF and BM25"), "{v}");
    assert!(v["note"].as_str().unwrap().contains("=none"), "says why: {v}");
    let got = ids(&v);
    assert_eq!(got.len(), 10);
    assert!(!got.contains(&me), "never the paper itself");
    assert!(!got.contains(&recs[1].id.to_string()), "never a withdrawn paper");
    assert!(v["related"].as_array().unwrap().iter().any(|r| r["source"] == "tfidf"), "{v}");
    for r in v["related"].as_array().unwrap() {
        assert!(r["source"] == "bm25" || r["source"] == "tfidf", "{r}");
        assert!(r["score"].as_f64().unwrap() > 0.0 && !r["title"].as_str().unwrap().is_empty());
    }
    // The page and the paper page's panel render it, escaped; nothing was queued.
    let (status, html) = get(&app, &format!("/arxiv/{me}/related")).await;
    let html = String::from_utf8(html).unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Related papers") && html.contains(&format!("/arxiv/{}", got[0])), "{html}");
    let (_, html) = get(&app, &format!("/arxiv/{}", recs[2].id)).await;
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("class=\"related\"") && !html.contains("<script>alert"), "escaped");
    assert_eq!(app.store.job_counts(JobKind::Related).await.unwrap(), (0, 0, 0));
    // Unknown and invalid ids.
    assert_eq!(get(&app, "/api/papers/2601.99999/related").await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&app, "/api/papers/not-an-id/related").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(get(&app, "/arxiv/2601.99999,2601.99998/related").await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_job_queue_is_durable_idempotent_and_ordered() {
    let dir = tempfile::tempdir().unwrap();
    // A bare store: no related-papers workers that could claim these jobs first.
    let db = dir.path().join("queue.db");
    let s = &Store::open(&db).await.unwrap();
    let job = |key: &'static str, priority, sort_key: &'static str| NewJob {
        kind: JobKind::Related,
        key,
        priority,
        sort_key,
    };
    assert_eq!(
        s.enqueue_jobs(&[job("a", 10, "2025-01-01"), job("b", 10, "2025-03-01"), job("c", 50, "2024-01-01")])
            .await
            .unwrap(),
        3
    );
    s.enqueue_jobs(&[job("a", 10, "2025-01-01")]).await.unwrap();
    assert_eq!(s.job_counts(JobKind::Related).await.unwrap(), (3, 0, 0), "enqueueing twice is one job");
    // Highest priority first, then newest.
    let c = s.claim_job(JobKind::Related).await.unwrap().unwrap();
    assert_eq!((c.key.as_str(), c.attempts), ("c", 1));
    let b = s.claim_job(JobKind::Related).await.unwrap().unwrap();
    assert_eq!(b.key, "b");
    // A crash: running jobs go back to the queue at the next start.
    let s = &Store::open(&db).await.unwrap();
    assert_eq!(s.requeue_interrupted_jobs().await.unwrap(), 2);
    let c = s.claim_job(JobKind::Related).await.unwrap().unwrap();
    assert_eq!((c.key.as_str(), c.attempts), ("c", 2), "attempts survive the restart");
    s.complete_job(c.id).await.unwrap();
    // A failure waits out its backoff; a final failure is kept, and enqueueing again revives it.
    let b = s.claim_job(JobKind::Related).await.unwrap().unwrap();
    s.fail_job(b.id, "boom", Some(3600)).await.unwrap();
    let a = s.claim_job(JobKind::Related).await.unwrap().unwrap();
    assert_eq!(a.key, "a", "b waits for its retry");
    s.fail_job(a.id, "bad", None).await.unwrap();
    assert!(s.claim_job(JobKind::Related).await.unwrap().is_none());
    assert_eq!(s.job_counts(JobKind::Related).await.unwrap(), (1, 0, 1));
    s.enqueue_jobs(&[job("a", 10, "")]).await.unwrap();
    assert_eq!(s.claim_job(JobKind::Related).await.unwrap().unwrap().key, "a");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_view_computes_in_the_background_and_stale_lists_refresh() {
    let Some(model) = model_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let app = open(dir.path(), Some(&model), None).await;
    let recs = sample(100);
    fill(&app, &recs).await;
    app.related.build_lexicon().await.unwrap();
    assert!(app.load_related_engine().await);
    // A CUR index over the corpus (k_q = 4 anchor queries: 640 CE pairs), persisted and installed.
    let args = papertide::related::bulk::IndexArgs {
        anchor_queries: 4,
        anchor_items: 4,
        category: None,
        since: None,
        seed: 7,
    };
    let (n, pairs) =
        papertide::related::bulk::build_index(&app.related, &app.config.cur_index_path(), &args, false).await.unwrap();
    assert_eq!((n, pairs), (99, 4 * 99), "the withdrawn paper is not indexed");
    assert!(app.config.cur_index_path().is_file());
    let key = app.related.model_key().unwrap();

    // First view: the BM25 list at once, status pending, one job queued however often it is viewed.
    let me = recs[0].id.to_string();
    let first = api(&app, &me).await;
    assert_eq!(first["status"], "pending");
    assert_eq!(first["reranked"], false);
    let _ = api(&app, &me).await;
    let (status, html) = get(&app, &format!("/arxiv/{me}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8(html).unwrap().contains("data-status=\"pending\""));
    assert_eq!(app.store.job_counts(JobKind::Related).await.unwrap(), (1, 0, 0));

    // The worker computes it off the runtime and the next view is the reranked list.
    app.related.start_background().await.unwrap();
    let mut v = Value::Null;
    for _ in 0..300 {
        v = api(&app, &me).await;
        if v["status"] == "ready" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(v["status"], "ready", "{v}");
    assert_eq!(v["reranked"], true);
    let items: Vec<RelatedItem> = serde_json::from_value(v["related"].clone()).unwrap();
    assert_eq!(items.len(), 10);
    assert!(items.iter().all(|r| r.score.is_finite()), "cross-encoder logits");
    assert!(items.iter().all(|r| r.id != me && r.id != recs[1].id.to_string()));
    assert!(items.iter().all(|r| ["bm25", "tfidf", "cur"].contains(&r.source.as_str())));
    let stored = app.store.get_related(&me).await.unwrap().unwrap();
    assert_eq!(stored.model_key, key);
    assert!(
        stored.ce_pairs > 10 && stored.ce_pairs <= 40 + 10,
        "BM25 candidates (at most 40) + 10 CUR candidates: {}",
        stored.ce_pairs
    );
    assert_eq!(app.store.job_counts(JobKind::Related).await.unwrap(), (0, 0, 0));
    let (_, html) = get(&app, &format!("/arxiv/{me}")).await;
    assert!(String::from_utf8(html).unwrap().contains("data-status=\"ready\""));

    // A list computed under another model key is stale: shown while a refresh is queued, then replaced.
    let other = recs[3].id.to_string();
    let old = vec![RelatedItem { id: recs[4].id.to_string(), title: "old".into(), score: 1.0, source: "bm25".into() }];
    app.store.put_related(&other, "old-model", &old, 1, 1).await.unwrap();
    let v = api(&app, &other).await;
    assert_eq!((v["status"].as_str(), v["related"][0]["title"].as_str()), (Some("pending"), Some("old")));
    for _ in 0..300 {
        if app.store.get_related(&other).await.unwrap().unwrap().model_key == key {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(api(&app, &other).await["status"], "ready");

    // Newly ingested papers are queued and appended to the CUR index.
    let mut new = sample(101).pop().unwrap();
    new.id = papertide::domain::ArxivId::parse("2611.00001").unwrap();
    app.store_batch(&[new], &[], None).await.unwrap();
    app.commit_index().await.unwrap();
    for _ in 0..300 {
        if app.store.get_related("2611.00001").await.unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(app.store.get_related("2611.00001").await.unwrap().is_some());
    let engine = app.related.engine().unwrap();
    assert!(engine.cur.read().unwrap().as_ref().unwrap().position("2611.00001").is_some(), "appended");

    // The bulk build works newest first and resumes: each run computes only lists still missing.
    let todo = |app: &App| {
        let (app, key) = (app.clone(), key.clone());
        async move { app.store.papers_needing_related(&key, None, None, i64::MAX).await.unwrap() }
    };
    let before = todo(&app).await;
    let b = papertide::related::bulk::BuildArgs { category: None, since: None, limit: Some(3) };
    let s = papertide::related::bulk::build_lists(&app.related, &b, false).await.unwrap();
    assert_eq!((s.computed, s.failed), (3, 0));
    let after = todo(&app).await;
    assert_eq!(after[..], before[3..], "the newest three were done, nothing else changed");
    let s = papertide::related::bulk::build_lists(&app.related, &b, false).await.unwrap();
    assert_eq!(s.computed, 3);
    assert_eq!(todo(&app).await[..], before[6..], "a second run resumes after the first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_model_downloads_from_the_configured_hub_and_failures_fall_back() {
    let Some(model) = model_dir() else { return };
    let hub = FakeServer::start().await;
    for f in ["config.json", "model.safetensors", "tokenizer.json"] {
        let body = std::fs::read(model.join(f)).unwrap();
        hub.script(format!("/acme/arxiv-ce/resolve/main/{f}").as_str(), [Reply::ok(body)]);
    }
    let dir = tempfile::tempdir().unwrap();
    let app = open(dir.path(), None, Some(&hub.base_url())).await;
    fill(&app, &sample(30)).await;
    assert!(app.load_related_engine().await, "downloaded through the project's HTTP client");
    assert!(dir.path().join("models/acme--arxiv-ce/model.safetensors").is_file());
    assert_eq!(hub.hits("/acme/arxiv-ce/resolve/main/model.safetensors"), 1);

    // A hub that fails: related papers stay lexical, with a note, never an error.
    let down = FakeServer::start().await;
    down.script("/acme/arxiv-ce/resolve/main/config.json", [Reply::status(500, "down")]);
    let dir = tempfile::tempdir().unwrap();
    let app = open(dir.path(), None, Some(&down.base_url())).await;
    let recs = sample(30);
    fill(&app, &recs).await;
    assert!(!app.load_related_engine().await);
    let v = api(&app, &recs[0].id.to_string()).await;
    assert_eq!((v["status"].as_str(), v["reranked"].as_bool()), (Some("ready"), Some(false)));
    assert!(v["note"].as_str().unwrap().contains("could not be loaded"), "{v}");
}

/// Out of the box (no `[related] model`), the bundled relatedness model in `models/` is loaded and ranks a
/// paper's list from both papers' titles and abstracts; `none` turns it off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundled_model_is_on_by_default_and_reranks() {
    let Some(bundled) = papertide::related::bundled_model_dir() else {
        eprintln!("skipping: the bundled model ({}) is absent", papertide::related::BUNDLED_MODEL);
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = support::config::loopback(dir.path());
    config.related.background = false;
    assert_eq!(config.related.model_choice(), papertide::related::ModelChoice::Bundled(Some(bundled)));
    let app = App::open(config).await.unwrap();
    let recs = sample(60);
    fill(&app, &recs).await;
    assert!(app.load_related_engine().await, "the bundled model loads");
    // Before the TF-IDF index is ready (start-up), a list has BM25's candidates only, and says so in its key:
    // once the index is built it is stale, shown while it is recomputed, then replaced.
    let early = recs[3].id.to_string();
    app.related.compute(&early).await.unwrap();
    let early_key = app.store.get_related(&early).await.unwrap().unwrap().model_key;
    assert!(early_key.ends_with("|bm25-only"), "{early_key}");
    assert_eq!(api(&app, &early).await["status"], "ready", "fresh while the index is not built");
    let full_key = app.related.model_key().unwrap();
    assert_eq!(format!("{full_key}|bm25-only"), early_key);
    app.related.build_lexicon().await.unwrap();
    let v = api(&app, &early).await;
    assert_eq!((v["status"].as_str(), v["related"].as_array().unwrap().len()), (Some("pending"), 10), "{v}");
    app.related.compute(&early).await.unwrap();
    assert_eq!(app.store.get_related(&early).await.unwrap().unwrap().model_key, full_key);
    assert_eq!(api(&app, &early).await["status"], "ready");
    let engine = app.related.engine().unwrap();
    assert_eq!(engine.ce.format().pair, papertide::rerank::PairTexts::PaperPaper);
    assert_eq!(engine.ce.options().max_length, engine.ce.format().max_length.unwrap(), "its own length by default");
    let me = recs[0].id.to_string();
    assert_eq!(api(&app, &me).await["status"], "pending", "the first view shows the lexical list at once");
    let (items, stats) = app.related.compute(&me).await.unwrap();
    assert_eq!(items.len(), 10);
    assert!(stats.ce_pairs >= 10, "{stats:?}");
    let v = api(&app, &me).await;
    assert_eq!((v["status"].as_str(), v["reranked"].as_bool()), (Some("ready"), Some(true)), "{v}");
    let (status, html) = get(&app, &format!("/arxiv/{me}/related")).await;
    let html = String::from_utf8(html).unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("/arxiv/{}", items[0].id)) && !html.contains("lexical"), "{html}");

    // A conference paper without an arXiv version (the recorded ACL volume) gets its related arXiv papers
    // reranked by the same model, at once, on its page.
    let xml = include_bytes!("fixtures/venues/acl-2024.hucllm.xml");
    let parsed = papertide::venues::acl::parse_volume(xml, "2024.hucllm-1").unwrap();
    app.store.upsert_venue_batch(&parsed.records, None).await.unwrap();
    let text = papertide::store::PaperText {
        id: "acl:2024.hucllm-1.3".into(),
        title: parsed.records[2].title.clone(),
        abstract_text: parsed.records[2].abstract_text.clone(),
        withdrawn: false,
    };
    let view = app.related.view_text(&text, None).await.unwrap();
    assert!(view.reranked && view.note.is_none() && view.related.len() == 10, "{view:?}");
    let (status, html) = get(&app, "/venue/paper/acl:2024.hucllm-1.3").await;
    let html = String::from_utf8(html).unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Related arXiv papers") && html.contains(&format!("/arxiv/{}", view.related[0].id)),
        "{html}"
    );
}

/// The bundled model's embedding head: every stored paper gets an embedding (stored, so a restart or an
/// interrupted pass only embeds what is missing), lists add the nearest papers the lexical stage missed and
/// fuse the embedding cosine, and a text that is not a stored paper (a venue paper) is never indexed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedding_head_adds_dense_candidates_and_its_embeddings_are_stored() {
    let Some(_) = papertide::related::bundled_model_dir() else {
        eprintln!("skipping: the bundled model ({}) is absent", papertide::related::BUNDLED_MODEL);
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = support::config::loopback(dir.path());
    config.related.background = false;
    let app = App::open(config).await.unwrap();
    let recs = sample(60);
    fill(&app, &recs).await;
    assert!(app.load_related_engine().await);
    app.related.build_lexicon().await.unwrap();
    let engine = app.related.engine().unwrap();
    assert_eq!(engine.ce.embedding_dim(), Some(384));
    let key = app.related.model_key().unwrap();
    assert!(key.ends_with("|dense:10+w1"), "{key}");
    let model = engine.ce.model_id().to_string();

    // A list computed before the embedding pass embeds its query and scored papers on the spot, and keeps them.
    let first = recs[5].id.to_string();
    let paper = app.store.paper_texts(std::slice::from_ref(&first)).await.unwrap().pop().unwrap();
    let lexical = app.related.candidates(&paper).await.unwrap().len();
    app.related.compute(&first).await.unwrap();
    let early = app.store.embeddings(&model).await.unwrap().len();
    assert_eq!(early, 1 + lexical, "the query and its candidates");
    // The pass embeds the rest (all 60, the withdrawn paper too: it can still be viewed), and only once.
    assert_eq!(app.related.prepare_embeddings().await.unwrap(), 60 - early);
    assert_eq!(app.store.embeddings(&model).await.unwrap().len(), 60);
    assert_eq!(app.related.prepare_embeddings().await.unwrap(), 0, "nothing left: a restart embeds nothing");
    assert_eq!(app.related.dense().read().unwrap().as_ref().unwrap().len(), 60);
    let stored = app.store.embeddings(&model).await.unwrap();
    let v = papertide::related::dense::from_blob(&stored[0].1).unwrap();
    assert!((v.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-4, "unit vectors");

    // The dense stage scores exactly `dense_candidates` papers beyond the lexical ones.
    let me = recs[0].id.to_string();
    let paper = app.store.paper_texts(std::slice::from_ref(&me)).await.unwrap().pop().unwrap();
    let lexical = app.related.candidates(&paper).await.unwrap().len();
    let (items, stats) = app.related.compute(&me).await.unwrap();
    assert_eq!(items.len(), 10);
    assert_eq!(stats.ce_pairs, lexical + 10, "{stats:?}");
    assert!(items.iter().all(|i| ["bm25", "tfidf", "dense"].contains(&i.source.as_str())), "{items:?}");

    // A venue paper's related list uses the embeddings, but its own is neither stored nor indexed.
    let text = papertide::store::PaperText {
        id: "acl:2024.hucllm-1.3".into(),
        title: "Human-centered evaluation of large language models".into(),
        abstract_text: "We study how people judge the answers of large language models in dialogue.".into(),
        withdrawn: false,
    };
    let view = app.related.view_text(&text, None).await.unwrap();
    assert!(view.reranked && view.related.len() == 10, "{view:?}");
    assert_eq!(app.store.embeddings(&model).await.unwrap().len(), 60);
    assert!(app.related.dense().read().unwrap().as_ref().unwrap().get("acl:2024.hucllm-1.3").is_none());
}
