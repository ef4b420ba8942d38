//! On-demand arXiv lookups from paper pages, bounded (issue 19, item 4): per-client rate limit, one queue
//! asked in batches, an immediate self-refreshing answer when the wait is long, spacing that leaves the
//! scheduled ingest its share of arXiv, and only misses arXiv actually answered remembered. Real server on
//! loopback (so every request has the peer address 127.0.0.1) and a fake arXiv replaying real responses.

mod support;

use std::time::{Duration, Instant};

use papertide::config::Config;
use support::fake_server::{FakeServer, Reply};

const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/arxiv/api");

/// arXiv's real answer to an `id_list` lookup of an id it does not have: a feed with no entries.
fn empty_feed() -> Reply {
    Reply::xml(std::fs::read(format!("{FIX}/id_0000.0000_s0_m100_8b51d9633a68.xml")).unwrap())
}

async fn serve(config: Config) -> (papertide::app::App, String, reqwest::Client) {
    let app = papertide::app::App::open(config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(papertide::web::serve_listener(listener, app.clone(), std::future::pending()));
    (app, base, reqwest::Client::new())
}

fn config(dir: &std::path::Path, arxiv: &FakeServer) -> Config {
    let mut c = support::config::against(dir, arxiv);
    c.server.lookups_per_client_per_minute = 100;
    c
}

#[tokio::test]
async fn each_client_may_start_only_so_many_lookups_and_answered_misses_are_remembered() {
    let arxiv = FakeServer::start().await;
    arxiv.script("/api/query", [empty_feed()]);
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), &arxiv);
    c.server.lookups_per_client_per_minute = 3;
    let (_app, base, http) = serve(c).await;
    for n in 1..=3 {
        let res = http.get(format!("{base}/arxiv/2501.9999{n}")).send().await.unwrap();
        assert_eq!(res.status(), 404);
        assert!(res.text().await.unwrap().contains("arXiv did not return it"));
    }
    let res = http.get(format!("{base}/arxiv/2501.99994")).send().await.unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    assert!(res.text().await.unwrap().contains("can look more up"));
    assert_eq!(arxiv.hits("/api/query"), 3, "the refused lookup never reached arXiv");
    // An id arXiv answered as absent is not asked again (and costs the client nothing).
    let res = http.get(format!("{base}/arxiv/2501.99991")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(arxiv.hits("/api/query"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_unknown_ids_is_one_batch_upstream_and_nobody_waits_long() {
    let arxiv = FakeServer::start().await;
    arxiv.script("/api/query", [Reply::Delayed(Duration::from_secs(3), Box::new(empty_feed()))]);
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), &arxiv);
    c.server.lookup_wait_s = 1;
    c.arxiv.read_timeout_s = 10;
    let (_app, base, http) = serve(c).await;
    let started = Instant::now();
    let asks: Vec<_> = (10..22)
        .map(|n| {
            let (http, url) = (http.clone(), format!("{base}/arxiv/2501.999{n}"));
            tokio::spawn(async move {
                let res = http.get(url).send().await.unwrap();
                let status = res.status();
                (status, res.text().await.unwrap(), started.elapsed())
            })
        })
        .collect();
    for ask in asks {
        let (status, body, took) = ask.await.unwrap();
        assert_eq!(status, 202, "{body}");
        assert!(body.contains("Looking this up at arXiv") && body.contains(r#"http-equiv="refresh""#), "{body}");
        assert!(took < Duration::from_millis(2_500), "answered after {took:?}");
    }
    assert!(arxiv.hits("/api/query") <= 2, "twelve ids, {} requests upstream", arxiv.hits("/api/query"));
    // Once arXiv has answered, the same pages answer at once, without asking again.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let hits = arxiv.hits("/api/query");
    for n in 10..22 {
        let res = http.get(format!("{base}/arxiv/2501.999{n}")).send().await.unwrap();
        assert_eq!(res.status(), 404);
    }
    assert_eq!(arxiv.hits("/api/query"), hits);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_lookup_is_not_remembered_as_a_miss() {
    let arxiv = FakeServer::start().await;
    arxiv.script("/api/query", [Reply::Status500]);
    let dir = tempfile::tempdir().unwrap();
    let (_app, base, http) = serve(config(dir.path(), &arxiv)).await;
    let res = http.get(format!("{base}/arxiv/2104.12255")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert!(res.text().await.unwrap().contains("could not be asked"));
    // arXiv is back: the next visit asks again and finds the paper.
    let feed = std::fs::read(format!("{FIX}/id_2104.12255v1_s0_m100_6ae69987ffe1.xml")).unwrap();
    arxiv.script("/api/query", [Reply::xml(feed)]);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let res = http.get(format!("{base}/arxiv/2104.12255")).send().await.unwrap();
        match res.status().as_u16() {
            200 => break,
            202 => assert!(Instant::now() < deadline, "still looking"),
            other => panic!("{other}: {}", res.text().await.unwrap()),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn a_full_queue_refuses_with_a_message() {
    let arxiv = FakeServer::start().await;
    arxiv.script("/api/query", [empty_feed()]);
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), &arxiv);
    c.server.lookup_queue_max = 2;
    let (_app, base, http) = serve(c).await;
    let res = http.get(format!("{base}/arxiv/2501.99991,2501.99992,2501.99993")).send().await.unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.text().await.unwrap().contains("Many papers are being looked up"));
    assert_eq!(arxiv.hits("/api/query"), 0);
}

#[tokio::test]
async fn on_demand_requests_leave_the_scheduled_ingest_its_share_of_arxiv() {
    let arxiv = FakeServer::start().await;
    arxiv.script("/api/query", [empty_feed()]);
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), &arxiv);
    c.arxiv.request_interval_ms = 300;
    let (_app, base, http) = serve(c).await;
    for n in 1..=3 {
        let res = http.get(format!("{base}/arxiv/2501.9999{n}")).send().await.unwrap();
        assert_eq!(res.status(), 404);
    }
    let at: Vec<_> = arxiv.requests().iter().filter(|r| r.path == "/api/query").map(|r| r.at).collect();
    assert_eq!(at.len(), 3);
    for pair in at.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= Duration::from_millis(580), "on-demand requests {gap:?} apart: two intervals are ingest's");
    }
}
