//! The binary as users run it: argument errors exit 2 with one line; `demo` imports the bundled sample and
//! serves it over real HTTP.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn papertide() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_papertide"));
    c.env("RUST_LOG", "papertide=info");
    c
}

#[test]
fn bad_arguments_exit_2_with_a_one_line_reason() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["frobnicate"],
        vec!["ingest", "--from", "yesterday"],
        vec!["ingest", "--id", "abc"],
        vec!["ingest", "--category", "<script>"],
        vec!["ingest", "--source", "ftp"],
        vec!["ingest", "--source", "acl", "--volume", "../etc"],
        vec!["ingest", "--source", "openreview"],
        vec!["ingest", "--source", "cvf", "--conference", "cvpr2024"],
        vec!["import"],
        vec!["serve", "--addr", "nowhere"],
    ] {
        let out = papertide().arg("--data-dir").arg(dir.path()).args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    }
    let out = papertide().args(["ingest", "--id", "abc"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("a valid arXiv id looks like"));
    // A bad environment value names the variable.
    let out = papertide().args(["reindex"]).env("PAPERTIDE_REQUEST_INTERVAL_MS", "soon").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PAPERTIDE_REQUEST_INTERVAL_MS"));
    // Help is not an error.
    assert_eq!(papertide().arg("--help").output().unwrap().status.code(), Some(0));
}

#[test]
fn a_missing_import_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = papertide().arg("--data-dir").arg(dir.path()).args(["import", "/nonexistent/x.jsonl"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.jsonl"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_imports_the_sample_once_and_serves_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_papertide"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["demo", "--addr", "127.0.0.1:0"])
        .env("RUST_LOG", "papertide=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // The server logs the address it bound; wait for it.
    let stderr = child.stderr.take().unwrap().into_owned_fd().unwrap();
    let reader = BufReader::new(std::fs::File::from(stderr));
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut base = None;
    for line in reader.lines() {
        let line = line.unwrap();
        if let Some(pos) = line.find("serving on http://") {
            base = Some(line[pos + "serving on ".len()..].trim().to_string());
            break;
        }
        assert!(Instant::now() < deadline, "demo did not start");
    }
    let base = base.expect("demo printed no address");
    let health: serde_json::Value = reqwest::get(format!("{base}/healthz")).await.unwrap().json().await.unwrap();
    assert_eq!(health["papers"], 3256);
    assert_eq!(health["indexed_docs"], 3256);
    let found: serde_json::Value =
        reqwest::get(format!("{base}/api/search?query=diffusion&limit=3")).await.unwrap().json().await.unwrap();
    assert!(found["total"].as_u64().unwrap() > 10, "{found}");
    child.kill().await.unwrap();
}
