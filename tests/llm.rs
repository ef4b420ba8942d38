//! LLM summaries end to end: the real router served on 127.0.0.1 (axum::serve), read over loopback with reqwest
//! as a browser's EventSource would, against the fake OpenAI-compatible server in `support::fake_llm`.

mod support;

use std::time::{Duration, Instant};

use papertide::app::App;
use papertide::domain::PaperRecord;
use papertide::llm::LlmConfig;
use papertide::llm::sse::SseParser;
use papertide::store::SummaryKey;
use reqwest::StatusCode;
use serde_json::Value;
use support::fake_llm::{Behavior, FakeLlm, answer};
use support::papers::paper;

const KEY: &str = "sk-test-9f8e7d6c5b4a-SECRET";
const ADMIN: &str = "admin-token-1234";
const PAGE: &str = include_str!("fixtures/arxiv/html/latexml_2401.00001_written.html");

fn capture_logs() {
    support::logs::capture();
}

fn logs() -> String {
    support::logs::text()
}

struct Harness {
    _dir: tempfile::TempDir,
    app: App,
    base: String,
    http: reqwest::Client,
}

fn llm_config(fake: &FakeLlm) -> LlmConfig {
    LlmConfig {
        base_url: Some(fake.base_url()),
        model: Some("fake-model".into()),
        api_key: Some(KEY.into()),
        admin_token: Some(ADMIN.into()),
        html_base_url: fake.html_base_url(),
        request_timeout_s: 5,
        idle_timeout_s: 1,
        retry_initial_ms: 10,
        retry_max_elapsed_s: 5,
        per_client_per_minute: 0,
        daily_request_cap: 0,
        max_concurrent: 4,
        ..LlmConfig::default()
    }
}

async fn harness(llm: Option<LlmConfig>) -> Harness {
    harness_tuned(llm, |_| {}).await
}

async fn harness_tuned(llm: Option<LlmConfig>, tune: impl FnOnce(&mut papertide::config::Config)) -> Harness {
    capture_logs();
    let dir = tempfile::tempdir().unwrap();
    let mut config = support::config::loopback(dir.path());
    config.arxiv.retry_max_elapsed_s = 2;
    if let Some(llm) = llm {
        config.llm = llm;
    }
    tune(&mut config);
    let app = App::open(config).await.unwrap();
    let records: Vec<PaperRecord> = ["2501.00001", "2501.00002", "2501.00003", "2501.00004", "hep-th/9901001"]
        .iter()
        .map(|id| paper(id, format!("Paper {id} on sparse routing"), "We study routing in transformers.", &["cs.CL"]))
        .collect();
    app.store_batch(&records, &[], None).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(papertide::web::serve_listener(listener, app.clone(), std::future::pending()));
    Harness { _dir: dir, app, base, http: reqwest::Client::new() }
}

#[derive(Debug)]
struct Stream {
    status: StatusCode,
    raw: String,
    events: Vec<(String, Value)>,
}

impl Stream {
    fn of(&self, kind: &str) -> Vec<&Value> {
        self.events.iter().filter(|(k, _)| k == kind).map(|(_, v)| v).collect()
    }
    fn kinds(&self) -> Vec<&str> {
        self.events.iter().map(|(k, _)| k.as_str()).collect()
    }
    /// Answer `index` as a reader would show it: the deltas after the last restart.
    fn answer(&self, index: u64) -> String {
        let mut text = String::new();
        for (k, v) in &self.events {
            if v["index"].as_u64() != Some(index) {
                continue;
            }
            match k.as_str() {
                "restart" => text.clear(),
                "delta" => text.push_str(v["text"].as_str().unwrap()),
                _ => {}
            }
        }
        text
    }
}

async fn read_stream(res: reqwest::Response) -> Stream {
    let status = res.status();
    let mut parser = SseParser::new();
    let mut raw = String::new();
    let mut events = Vec::new();
    let mut body = res.bytes_stream();
    use futures::StreamExt;
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(30), body.next()).await.expect("stream stalled") {
        let chunk = chunk.unwrap();
        raw.push_str(&String::from_utf8_lossy(&chunk));
        for ev in parser.feed(&chunk).unwrap() {
            let terminal = matches!(ev.event.as_str(), "complete" | "error" | "unconfigured");
            events.push((ev.event, serde_json::from_str(&ev.data).unwrap()));
            if terminal {
                return Stream { status, raw, events };
            }
        }
    }
    Stream { status, raw, events }
}

impl Harness {
    async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.base)).send().await.unwrap()
    }
    async fn stream(&self, path: &str) -> Stream {
        read_stream(self.get(path).await).await
    }
    async fn stream_from(&self, path: &str, client: &str) -> Stream {
        let res = self.http.get(format!("{}{path}", self.base)).header("x-forwarded-for", client).send().await.unwrap();
        read_stream(res).await
    }
    async fn page(&self, path: &str) -> (StatusCode, String) {
        let res = self.get(path).await;
        (res.status(), res.text().await.unwrap())
    }
    fn key(&self, id: &str) -> SummaryKey {
        SummaryKey {
            paper_id: id.into(),
            lang: "en".into(),
            model: "fake-model".into(),
            prompt_version: self.app.llm.as_ref().unwrap().prompts().version.clone(),
        }
    }
}

#[tokio::test]
async fn streams_frames_reattaches_and_caches() {
    let fake = FakeLlm::start().await;
    fake.set_html("2501.00001", PAGE);
    fake.script([Behavior::slow(60)]);
    let h = harness(Some(llm_config(&fake))).await;
    let path = "/api/papers/2501.00001/summary?lang=en";

    // Reader A starts the generation; reader B attaches once it is under way and must still get all of it.
    let first = h.get(path).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()["content-type"], "text/event-stream");
    let a = tokio::spawn(read_stream(first));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let b = h.stream(path).await;
    let a = a.await.unwrap();
    assert_eq!(a.events, b.events, "the second reader replays the same stream from its start");

    let kinds = a.kinds();
    assert_eq!(kinds.first(), Some(&"meta"));
    assert_eq!(kinds.last(), Some(&"complete"));
    assert_eq!(a.of("question").len(), 6);
    assert_eq!(a.of("answer_done").len(), 6);
    for i in 0..6u64 {
        assert_eq!(a.answer(i), answer(i as usize + 1), "answer {i}");
    }
    assert_eq!(a.of("context")[0]["full_text"], true);
    assert_eq!(a.of("complete")[0]["complete"], true);
    let done = a.of("answer_done");
    assert!(done[0]["html"].as_str().unwrap().contains("<strong>done</strong>"));
    let html0 = done[0]["html"].as_str().unwrap();
    assert!(
        html0.contains("<math") && html0.contains("<msup>"),
        "formulas as MathML, like the rest of the site: {html0}"
    );
    // Browser framing: `event:` and `data:` lines, events separated by blank lines, one JSON object per data.
    assert!(a.raw.starts_with("event: meta\ndata: {"), "{}", &a.raw[..80]);
    assert!(a.raw.contains("\n\nevent: question\ndata: {\"index\":0,"));
    assert!(a.raw.trim_end().ends_with('}'));

    // One generation for both readers: six chat requests forming one conversation over the full text.
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 6);
    let first_turn = reqs[0].body["messages"][1]["content"].as_str().unwrap();
    assert!(first_turn.contains("## 3 Method") && first_turn.contains("Sparse routing"), "{first_turn}");
    assert!(!first_turn.contains("Attention is all you need"), "no bibliography");
    assert_eq!(reqs[0].body["stream"], true);
    let last = reqs[5].body["messages"].as_array().unwrap();
    assert_eq!(last.len(), 12, "system + 6 questions + 5 answers");
    assert_eq!(last[2]["role"], "assistant");
    assert_eq!(last[2]["content"], answer(1));

    // Cached: served instantly with no new request, and the page shows it without JavaScript.
    let c = h.stream(path).await;
    assert_eq!(c.of("meta")[0]["cached"], true);
    assert_eq!(c.answer(5), answer(6));
    assert_eq!(fake.hits(), 6);
    assert_eq!(h.app.store.summary_row(&h.key("2501.00001")).await.unwrap(), Some(true));
    let (status, html) = h.page("/arxiv/2501.00001/summary?lang=en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-cached=\"1\"") && html.contains("<strong>done</strong>"), "{html}");
    assert!(html.contains("<script src=\"/static/summary.js?v="), "the site chrome loads the summary script");
    assert!(!html.contains("<script>"), "no inline script");
    let (status, js) = h.page("/static/summary.js").await;
    assert!(status == StatusCode::OK && js.contains("EventSource"));
    // The paper JSON still answers under the same catch-all, and other /arxiv paths are not found.
    assert_eq!(h.get("/api/papers/2501.00001").await.status(), StatusCode::OK);
    assert_eq!(h.get("/arxiv/2501.00001/nothing").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn retries_429_and_500_and_restarts_a_broken_stream() {
    let fake = FakeLlm::start().await;
    fake.script([
        Behavior::Status { code: 429, retry_after: Some(1), body: r#"{"error":{"message":"Rate limit reached"}}"# },
        Behavior::Status { code: 500, retry_after: None, body: r#"{"error":{"message":"overloaded"}}"# },
        Behavior::FailAfter { pieces: 2 },
        Behavior::ok(),
    ]);
    let h = harness(Some(llm_config(&fake))).await;
    let started = Instant::now();
    let s = h.stream("/api/papers/hep-th/9901001/summary").await;
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After: 1 was honoured");
    assert_eq!(s.kinds().last(), Some(&"complete"), "{:?}", s.kinds());
    let restarts = s.of("restart");
    assert_eq!(restarts.len(), 1, "the stream died after two pieces had been shown");
    assert_eq!(restarts[0]["index"], 0);
    assert_eq!(s.answer(0), answer(1), "restarted cleanly, not stitched");
    assert_eq!(fake.hits(), 3 + 6);
    // No HTML rendering (404): the abstract only, and the page says so.
    assert_eq!(s.of("context")[0]["full_text"], false);
    let first_turn = fake.requests()[3].body["messages"][1]["content"].as_str().unwrap().to_string();
    assert!(first_turn.contains("The full text is not available"), "{first_turn}");
    let (_, html) = h.page("/arxiv/hep-th/9901001/summary").await;
    assert!(html.contains("based on the title and abstract only") && !html.contains("abstract only.</p>\" hidden"));
}

#[tokio::test]
async fn stalls_and_malformed_chunks_are_retried() {
    let fake = FakeLlm::start().await;
    fake.script([Behavior::Malformed, Behavior::StallAfter { pieces: 1 }, Behavior::ok()]);
    let h = harness(Some(llm_config(&fake))).await;
    let s = h.stream("/api/papers/2501.00002/summary").await;
    assert_eq!(s.kinds().last(), Some(&"complete"), "{:?}", s.kinds());
    assert_eq!(s.of("restart").len(), 1, "the stall came after one piece was shown");
    assert_eq!(s.answer(0), answer(1));
    assert_eq!(h.app.store.summary_row(&h.key("2501.00002")).await.unwrap(), Some(true));
}

#[tokio::test]
async fn a_runaway_stream_is_cut_at_1_mib_and_not_retried() {
    let fake = FakeLlm::start().await;
    fake.script([Behavior::Runaway]);
    let h = harness(Some(llm_config(&fake))).await;
    let s = h.stream("/api/papers/2501.00001/summary").await;
    assert_eq!(s.kinds().last(), Some(&"error"), "{:?}", s.kinds());
    assert_eq!(s.of("restart").len(), 1, "what was shown is withdrawn");
    assert_eq!(fake.hits(), 1, "refused for good: another try would run away the same");
    assert!(h.app.store.complete_summary(&h.key("2501.00001")).await.unwrap().is_none());
}

#[tokio::test]
async fn failed_and_cut_off_answers_are_never_cached_as_complete() {
    let fake = FakeLlm::start().await;
    fake.script([Behavior::FailAfter { pieces: 2 }]);
    let mut cfg = llm_config(&fake);
    cfg.retry_max_elapsed_s = 1;
    let h = harness(Some(cfg)).await;
    let s = h.stream("/api/papers/2501.00001/summary").await;
    assert_eq!(s.kinds().last(), Some(&"error"), "{:?}", s.kinds());
    assert!(s.of("error")[0]["message"].as_str().unwrap().contains("could not answer"));
    assert_ne!(h.app.store.summary_row(&h.key("2501.00001")).await.unwrap(), Some(true));
    assert!(h.app.store.complete_summary(&h.key("2501.00001")).await.unwrap().is_none());

    // finish_reason "length": shown, flagged, not cached as complete; the next reader gets a fresh attempt.
    fake.script([Behavior::Stream { delay: Duration::ZERO, finish: "length" }]);
    let s = h.stream("/api/papers/2501.00003/summary").await;
    let complete = s.of("complete");
    assert_eq!((complete[0]["complete"].as_bool(), complete[0]["stored"].as_bool()), (Some(false), Some(false)));
    assert_eq!(h.app.store.summary_row(&h.key("2501.00003")).await.unwrap(), Some(false));
    let before = fake.hits();
    fake.script([Behavior::ok()]);
    let again = h.stream("/api/papers/2501.00003/summary").await;
    assert_eq!(again.of("meta")[0]["cached"], false);
    assert_eq!(fake.hits(), before + 6);
    assert_eq!(h.app.store.summary_row(&h.key("2501.00003")).await.unwrap(), Some(true));
}

/// Summary streams are not cut by the request timeout; they have their own idle rule (issue 19, item 3).
#[tokio::test]
async fn streams_outlive_the_request_timeout_and_end_when_idle() {
    let fake = FakeLlm::start().await;
    fake.set_html("2501.00001", PAGE);
    fake.set_html("2501.00002", PAGE);
    fake.script([Behavior::slow(150)]);
    let h = harness_tuned(Some(llm_config(&fake)), |c| {
        c.server.request_timeout_s = 1;
        c.server.sse_idle_timeout_s = 2;
    })
    .await;
    let started = std::time::Instant::now();
    let s = h.stream("/api/papers/2501.00001/summary?lang=en").await;
    assert_eq!(s.kinds().last(), Some(&"complete"), "{s:?}");
    assert!(started.elapsed() > Duration::from_secs(1), "the stream ran past the request timeout");

    // An upstream that goes silent (the LLM client's own idle limit raised out of the way): the stream ends
    // with an idle error after sse_idle_timeout_s instead of holding the connection.
    fake.script([Behavior::StallAfter { pieces: 1 }]);
    let mut llm = llm_config(&fake);
    llm.idle_timeout_s = 60;
    let h = harness_tuned(Some(llm), |c| c.server.sse_idle_timeout_s = 1).await;
    let started = std::time::Instant::now();
    let s = h.stream("/api/papers/2501.00002/summary?lang=en").await;
    let errors = s.of("error");
    assert_eq!(errors.len(), 1, "{s:?}");
    assert_eq!(errors[0]["code"], "idle", "{s:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}

#[tokio::test]
async fn per_client_rate_limit_and_daily_cap() {
    let fake = FakeLlm::start().await;
    let mut cfg = llm_config(&fake);
    cfg.per_client_per_minute = 1;
    cfg.trust_forwarded_for = true;
    let h = harness(Some(cfg)).await;
    let one = h.stream_from("/api/papers/2501.00001/summary", "10.0.0.1").await;
    assert_eq!(one.kinds().last(), Some(&"complete"));
    let res = h.http.get(format!("{}/api/papers/2501.00002/summary", h.base)).header("x-forwarded-for", "10.0.0.1");
    let res = res.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    let refused = read_stream(res).await;
    assert_eq!(refused.kinds(), ["error"]);
    assert_eq!(refused.of("error")[0]["code"], "over_budget");
    // Cached summaries stay free; another client may start its own.
    assert_eq!(h.stream_from("/api/papers/2501.00001/summary", "10.0.0.1").await.status, StatusCode::OK);
    assert_eq!(h.stream_from("/api/papers/2501.00002/summary", "10.0.0.2").await.status, StatusCode::OK);

    let fake = FakeLlm::start().await;
    let mut cfg = llm_config(&fake);
    cfg.daily_request_cap = 1;
    let h = harness(Some(cfg)).await;
    assert_eq!(h.stream("/api/papers/2501.00001/summary").await.kinds().last(), Some(&"complete"));
    let capped = h.stream("/api/papers/2501.00002/summary").await;
    assert_eq!(capped.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(capped.of("error")[0]["message"].as_str().unwrap().contains("daily limit of 1"));
    assert_eq!(fake.hits(), 6);
}

#[tokio::test]
async fn readers_queued_behind_the_concurrency_cap_see_their_position() {
    let fake = FakeLlm::start().await;
    fake.script([Behavior::slow(30)]);
    let mut cfg = llm_config(&fake);
    cfg.max_concurrent = 1;
    let h = harness(Some(cfg)).await;
    let first = tokio::spawn(read_stream(h.get("/api/papers/2501.00001/summary").await));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = tokio::spawn(read_stream(h.get("/api/papers/2501.00002/summary").await));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let third = h.stream("/api/papers/2501.00003/summary").await;
    let (first, second) = (first.await.unwrap(), second.await.unwrap());
    assert!(first.of("queued").is_empty());
    assert_eq!(second.of("queued").iter().map(|v| v["position"].as_u64().unwrap()).collect::<Vec<_>>(), [1]);
    let positions: Vec<u64> = third.of("queued").iter().map(|v| v["position"].as_u64().unwrap()).collect();
    assert_eq!(positions, [2, 1], "moves up when the first finishes");
    for s in [&first, &second, &third] {
        assert_eq!(s.kinds().last(), Some(&"complete"));
    }
    let kinds = third.kinds();
    let queued_at = kinds.iter().position(|k| *k == "queued").unwrap();
    assert!(queued_at < kinds.iter().position(|k| *k == "question").unwrap());
}

#[tokio::test]
async fn without_an_llm_the_page_and_stream_explain_how_to_configure_one() {
    let h = harness(None).await;
    let s = h.stream("/api/papers/2501.00001/summary?lang=zh").await;
    assert_eq!(s.status, StatusCode::OK);
    assert_eq!(s.kinds(), ["unconfigured"]);
    assert!(s.of("unconfigured")[0]["message"].as_str().unwrap().contains("PAPERTIDE_LLM_BASE_URL"));
    let (status, html) = h.page("/arxiv/2501.00001/summary").await;
    assert_eq!(status, StatusCode::OK);
    for key in ["PAPERTIDE_LLM_BASE_URL", "PAPERTIDE_LLM_MODEL", "PAPERTIDE_LLM_API_KEY", "[llm]"] {
        assert!(html.contains(key), "{key} in {html}");
    }
    assert_eq!(h.get("/api/papers/2501.99999/summary").await.status(), StatusCode::OK, "unconfigured beats lookup");
    assert_eq!(h.get("/api/papers/2501.00001/summary?lang=fr").await.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn regenerate_is_admin_only() {
    let fake = FakeLlm::start().await;
    let h = harness(Some(llm_config(&fake))).await;
    assert_eq!(h.stream("/api/papers/2501.00004/summary").await.kinds().last(), Some(&"complete"));
    let url = format!("{}/api/papers/2501.00004/summary/regenerate", h.base);
    assert_eq!(h.http.post(&url).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let wrong = h.http.post(&url).bearer_auth("admin-token-1235").send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let get_wrong = h.get("/api/papers/2501.00004/summary?regenerate=1").await;
    assert_eq!(get_wrong.status(), StatusCode::UNAUTHORIZED);
    let fresh = read_stream(h.http.post(&url).bearer_auth(ADMIN).send().await.unwrap()).await;
    assert_eq!(fresh.of("meta")[0]["cached"], false);
    assert_eq!(fresh.kinds().last(), Some(&"complete"));
    assert_eq!(fake.hits(), 12);
}

#[tokio::test]
async fn the_api_key_goes_to_the_llm_only() {
    let fake = FakeLlm::start().await;
    fake.script([
        Behavior::Status { code: 500, retry_after: None, body: "upstream trouble" },
        Behavior::Status {
            code: 401,
            retry_after: None,
            body: r#"{"error":{"message":"Incorrect API key provided: sk-test-9f8e7d6c5b4a-SECRET"}}"#,
        },
    ]);
    let h = harness(Some(llm_config(&fake))).await;
    let s = h.stream("/api/papers/2501.00001/summary").await;
    let message = s.of("error")[0]["message"].as_str().unwrap().to_string();
    assert!(message.contains("[redacted]") && !message.contains(KEY), "{message}");
    assert_eq!(fake.requests()[0].authorization.as_deref(), Some(format!("Bearer {KEY}").as_str()));
    fake.script([Behavior::ok()]);
    let ok = h.stream("/api/papers/2501.00002/summary").await;
    let (_, page) = h.page("/arxiv/2501.00002/summary").await;
    let (_, json) = h.page("/api/papers/2501.00002").await;
    let (_, health) = h.page("/healthz").await;
    for (what, text) in
        [("error stream", &s.raw), ("stream", &ok.raw), ("page", &page), ("json", &json), ("health", &health)]
    {
        assert!(!text.contains(KEY) && !text.contains("9f8e7d6c5b4a"), "key in the {what}");
    }
    // A redirect elsewhere is refused, so the key cannot follow it.
    let elsewhere = FakeLlm::start().await;
    fake.script([Behavior::Redirect(format!("{}/chat/completions", elsewhere.base_url()))]);
    let redirected = h.stream("/api/papers/2501.00003/summary").await;
    assert_eq!(redirected.kinds().last(), Some(&"error"));
    assert_eq!(elsewhere.hits(), 0, "nothing, and no key, went to the other host");
    tracing::info!(config = ?h.app.config, "config as logged at start-up");
    let logs = logs();
    assert!(logs.contains("transient failure, retrying"), "the capture works");
    assert!(logs.contains("fake-model"), "the config was logged");
    assert!(!logs.contains("9f8e7d6c5b4a"), "the key is in no log line");
    assert!(!logs.contains(ADMIN), "nor the admin token");
}

/// Resident memory of this process (server, fake upstream and clients together: an upper bound), in MiB.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

async fn add_papers(h: &Harness, prefix: &str, n: usize) -> Vec<String> {
    let ids: Vec<String> = (1..=n).map(|i| format!("{prefix}.{i:05}")).collect();
    let records: Vec<PaperRecord> = ids
        .iter()
        .map(|id| paper(id, format!("Bench paper {id}"), "A paper for the benchmark. ".repeat(40), &["cs.CL"]))
        .collect();
    h.app.store_batch(&records, &[], None).await.unwrap();
    ids
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The README's LLM figures: `cargo test --test llm -- --ignored --nocapture bench_`.
/// Time to first token added by Papertide (request to first `delta` event, minus the upstream's own time to its
/// first content chunk) and memory with 100 summary streams open at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly"]
async fn bench_time_to_first_token_and_memory_of_100_streams() {
    use futures::StreamExt;
    let fake = FakeLlm::start().await;
    let mut cfg = llm_config(&fake);
    cfg.max_concurrent = 100;
    let h = harness(Some(cfg)).await;

    // Upstream alone: POST straight to the fake, until its first content chunk.
    let mut upstream = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let res = h
            .http
            .post(format!("{}/chat/completions", fake.base_url()))
            .json(&serde_json::json!({"model": "fake-model", "stream": true, "messages": [{"role": "user", "content": "q"}]}))
            .send()
            .await
            .unwrap();
        let mut body = res.bytes_stream();
        let mut seen = String::new();
        while let Some(Ok(chunk)) = body.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("\"content\":\"Answer") {
                break;
            }
        }
        upstream.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    // Through Papertide: a fresh paper each time (cache miss, context lookup, daily counter, queue, stream).
    let ids = add_papers(&h, "2601", 20).await;
    let mut through = Vec::new();
    for id in &ids {
        let t = Instant::now();
        let res = h.get(&format!("/api/papers/{id}/summary")).await;
        let mut parser = SseParser::new();
        let mut body = res.bytes_stream();
        'read: while let Some(Ok(chunk)) = body.next().await {
            for ev in parser.feed(&chunk).unwrap() {
                if ev.event == "delta" {
                    break 'read;
                }
            }
        }
        through.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let (up, pt) = (median(upstream), median(through));
    println!("TTFT upstream median {up:.2} ms, through Papertide median {pt:.2} ms, added {:.2} ms", pt - up);

    // 100 streams at once, each a live generation trickling a piece every 300 ms.
    fake.script([Behavior::slow(300)]);
    let ids = add_papers(&h, "2602", 100).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_mib();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(100);
    let mut readers = Vec::new();
    for id in &ids {
        let res = h.get(&format!("/api/papers/{id}/summary")).await;
        let tx = tx.clone();
        readers.push(tokio::spawn(async move {
            let mut parser = SseParser::new();
            let mut body = res.bytes_stream();
            let mut first = true;
            let mut events = 0usize;
            while let Some(Ok(chunk)) = body.next().await {
                for ev in parser.feed(&chunk).unwrap() {
                    events += 1;
                    if first && ev.event == "delta" {
                        first = false;
                        let _ = tx.send(()).await;
                    }
                    if ev.event == "complete" || ev.event == "error" {
                        return (events, ev.event);
                    }
                }
            }
            (events, "eof".to_string())
        }));
    }
    for _ in 0..100 {
        tokio::time::timeout(Duration::from_secs(60), rx.recv()).await.unwrap();
    }
    let open = rss_mib();
    let mut peak = open;
    let mut ends = Vec::new();
    for r in readers {
        peak = peak.max(rss_mib());
        ends.push(r.await.unwrap());
    }
    assert!(ends.iter().all(|(_, e)| e == "complete"), "{ends:?}");
    println!(
        "RSS before {before:.1} MiB, with 100 streams open {open:.1} MiB (+{:.1}), peak {peak:.1} MiB",
        open - before
    );
    assert!(open - before < 200.0, "memory per stream is bounded");
}

/// Headless Chromium opens the summary page of a paper with no summary yet; the answers stream in through
/// `static/summary.js` (the fake upstream sends a piece every 150 ms, so the page opened long before the
/// end) and are rendered as sanitized HTML. A second paper's generation fails at question 3: the page keeps
/// the two finished answers and says what went wrong. (`--virtual-time-budget` makes Chromium wait for the
/// open stream, so the dump comes after its last event.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_sees_the_summary_stream_in() {
    let chromium = std::path::Path::new("/usr/bin/chromium");
    if !chromium.exists() {
        eprintln!("skipped: /usr/bin/chromium is not installed (apt-get install chromium)");
        return;
    }
    let fake = FakeLlm::start().await;
    fake.script([Behavior::slow(150)]);
    let h = harness(Some(llm_config(&fake))).await;
    let dump = |id: &'static str| {
        let url = format!("{}/arxiv/{id}/summary", h.base);
        async move {
            let profile = tempfile::tempdir().unwrap();
            let out = tokio::process::Command::new(chromium)
                .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"])
                .arg(format!("--user-data-dir={}", profile.path().display()))
                .args(["--virtual-time-budget=60000", "--dump-dom", &url])
                .kill_on_drop(true)
                .output();
            let out = tokio::time::timeout(Duration::from_secs(90), out).await.expect("chromium hung").unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
    };
    let started = Instant::now();
    let full = dump("2501.00001").await;
    assert!(started.elapsed() >= Duration::from_millis(3600), "24 gaps of 150 ms: it streamed in");
    assert!(full.contains("data-cached=\"0\""), "nothing was cached when the page loaded: {full}");
    assert_eq!(full.matches("class=\"faq-item\"").count(), 6, "{full}");
    assert_eq!(full.matches("<strong>done</strong>").count(), 6, "answers rendered as HTML: {full}");
    assert!(full.contains("<p>Answer 6: <math"), "MathML: {full}");
    assert!(!full.contains("answer streaming"), "every answer finished: {full}");

    fake.script([
        Behavior::ok(),
        Behavior::ok(),
        Behavior::Status { code: 400, retry_after: None, body: r#"{"error":{"message":"context too long"}}"# },
    ]);
    let failed = dump("2501.00002").await;
    assert_eq!(failed.matches("<strong>done</strong>").count(), 2, "{failed}");
    assert!(failed.contains("summary-error") && failed.contains("context too long"), "{failed}");
}

/// A conference paper without an arXiv version (the recorded ACL volume) is summarised from its abstract: no
/// arXiv HTML is asked for, the answers are cached under its key, and its summary page links back to it.
#[tokio::test]
async fn a_venue_paper_is_summarised_from_its_abstract() {
    let fake = FakeLlm::start().await;
    fake.script([Behavior::ok()]);
    let h = harness(Some(llm_config(&fake))).await;
    let xml = include_bytes!("fixtures/venues/acl-2024.hucllm.xml");
    let parsed = papertide::venues::acl::parse_volume(xml, "2024.hucllm-1").unwrap();
    h.app.store.upsert_venue_batch(&parsed.records, None).await.unwrap();

    let s = h.stream("/api/papers/acl:2024.hucllm-1.1/summary?lang=en").await;
    assert_eq!(s.kinds().last(), Some(&"complete"), "{:?}", s.kinds());
    assert_eq!(s.of("context")[0]["full_text"], false, "abstract only");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 6);
    let first_turn = reqs[0].body["messages"][1]["content"].as_str().unwrap();
    assert!(first_turn.contains("Human Speech Perception in Noise"), "{first_turn}");
    assert_eq!(h.app.store.summary_row(&h.key("acl:2024.hucllm-1.1")).await.unwrap(), Some(true));

    let (status, html) = h.page("/venue/paper/acl:2024.hucllm-1.1/summary?lang=en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-cached=\"1\"") && html.contains("href=\"/venue/paper/acl:2024.hucllm-1.1\""), "{html}");
    let (_, html) = h.page("/venue/paper/acl:2024.hucllm-1.1").await;
    assert!(html.contains("href=\"/venue/paper/acl:2024.hucllm-1.1/summary\""), "the venue page links its summary");
    // A key that is not stored is a 404 in the stream's own error form.
    assert_eq!(h.get("/api/papers/acl:2024.hucllm-1.99/summary").await.status(), StatusCode::NOT_FOUND);
}
