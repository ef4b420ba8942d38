//! A `papertide ingest --source oai` child process is killed (SIGKILL) in the middle of a harvest and started
//! again: the second run resumes at the stored resumptionToken and the store ends with every paper exactly once
//! and the index consistent with it.

mod support;

use std::time::{Duration, Instant};

use support::fake_server::{FakeServer, Reply};

const PAGES: usize = 12;
const REAL_PAGE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/arxiv/oai/functional__arxiv__fixtures__http_server__records__arxiv-physics-hep-ex.xml"
);
const REAL_IDS: [&str; 3] = ["1706.05371", "1706.09418", "1707.00874"];

/// Page `k` of a chain built from the real recorded page: its three records get ids of their own and the page
/// a resumptionToken naming the next one (the last page an empty token, as arXiv ends a list).
fn page(k: usize) -> String {
    let mut body = std::fs::read_to_string(REAL_PAGE).unwrap();
    for (j, id) in REAL_IDS.iter().enumerate() {
        body = body.replace(id, &paper_id(k, j));
    }
    let token = if k + 1 < PAGES { format!("chain|{}", k + 1) } else { String::new() };
    let tag =
        format!("<resumptionToken cursor=\"{}\" completeListSize=\"{}\">{token}</resumptionToken>", k * 3, PAGES * 3);
    body.replace("</ListRecords>", &format!("{tag}</ListRecords>"))
}

fn paper_id(k: usize, j: usize) -> String {
    format!("1801.{:05}", k * 10 + j)
}

fn child(dir: &std::path::Path, server: &FakeServer) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_papertide"))
        .args(["--data-dir", dir.to_str().unwrap(), "ingest", "--source", "oai", "--category", "hep-ex"])
        .env("PAPERTIDE_ARXIV_OAI_URL", server.url("/oai"))
        .env("PAPERTIDE_REQUEST_INTERVAL_MS", "150")
        .env("RUST_LOG", "papertide=warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_oai_harvest_resumes_without_losing_or_duplicating_papers() {
    let server = FakeServer::start().await;
    server.script("/oai?verb=ListRecords&metadataPrefix=arXiv&set=physics:hep-ex", [Reply::xml(page(0))]);
    for k in 1..PAGES {
        server.script(format!("/oai?verb=ListRecords&resumptionToken=chain|{k}").as_str(), [Reply::xml(page(k))]);
    }
    let dir = tempfile::tempdir().unwrap();

    // First run: killed once it has asked for the fifth page.
    let mut first = child(dir.path(), &server);
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.requests().len() < 5 {
        assert!(Instant::now() < deadline, "the harvest never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().await.unwrap();
    let before = server.requests().len();
    assert!(before < PAGES, "killed mid-harvest ({before} requests)");

    // Second run: resumes at a stored token, never at the start of the list.
    let out = child(dir.path(), &server).wait_with_output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let resumed = &server.requests()[before];
    assert!(resumed.query_param("resumptionToken").is_some(), "second run started over: {:?}", resumed.query);
    assert!(stdout.contains("resuming"), "{stdout}");

    // Every paper once, the index in step with the store.
    let config = support::config::at(dir.path());
    let app = papertide::app::App::open(config).await.unwrap();
    assert_eq!(app.store.paper_count().await.unwrap(), (PAGES * 3) as i64);
    for k in 0..PAGES {
        for j in 0..3 {
            let id = papertide::domain::ArxivId::parse(&paper_id(k, j)).unwrap();
            assert!(app.store.get_paper(&id).await.unwrap().is_some(), "{id} lost");
        }
    }
    assert_eq!(app.index.num_docs(), (PAGES * 3) as u64);
    assert_eq!(app.store.checkpoint("oai:physics:hep-ex:arXiv::").await.unwrap(), None, "harvest complete");
}

/// The command line on a harvest whose page 2 is a `200` with nothing in it (issue 19, item 2): exit 1, the
/// error names the URL, and a second run resumes from page 2 and completes the list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_page_two_exits_1_and_the_next_run_resumes_there() {
    let server = FakeServer::start().await;
    server.script("/oai?verb=ListRecords&metadataPrefix=arXiv&set=physics:hep-ex", [Reply::xml(page(0))]);
    server.script("/oai?verb=ListRecords&resumptionToken=chain|1", [Reply::ok("")]);
    for k in 2..PAGES {
        server.script(format!("/oai?verb=ListRecords&resumptionToken=chain|{k}").as_str(), [Reply::xml(page(k))]);
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("papertide.toml");
    std::fs::write(
        &config,
        format!(
            "[arxiv]\noai_url = \"{}\"\nrequest_interval_ms = 0\nretry_initial_ms = 10\nretry_max_elapsed_s = 1\n",
            server.url("/oai")
        ),
    )
    .unwrap();
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_papertide"))
            .args(["--data-dir", dir.path().to_str().unwrap(), "--config", config.to_str().unwrap()])
            .args(["ingest", "--source", "oai", "--category", "hep-ex"])
            .env("RUST_LOG", "papertide=error")
            .output()
            .unwrap()
    };
    let first = run();
    let out = String::from_utf8_lossy(&first.stdout);
    assert_eq!(first.status.code(), Some(1), "{out}");
    assert!(out.contains("resumptionToken=chain%7C1") || out.contains("resumptionToken=chain|1"), "{out}");
    assert!(out.contains("not an OAI-PMH response"), "{out}");
    assert!(out.contains("new 3"), "page 1 is kept: {out}");

    server.script("/oai?verb=ListRecords&resumptionToken=chain|1", [Reply::xml(page(1))]);
    let second = run();
    let out = String::from_utf8_lossy(&second.stdout);
    assert_eq!(second.status.code(), Some(0), "{out}");
    assert!(out.contains(&format!("new {}", (PAGES - 1) * 3)), "{out}");
}
