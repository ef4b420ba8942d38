//! Connection and response limits of the real server on loopback (issue 19, item 3): a half-sent request
//! and an idle keep-alive connection are closed within the header-read timeout, connections over the cap
//! get a clear 503, and a page that takes too long answers 503 instead of holding the connection.

mod support;

use std::time::{Duration, Instant};

use papertide::app::App;
use papertide::config::Config;
use support::fake_server::{FakeServer, Reply};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn serve(config: Config) -> (App, String) {
    let app = App::open(config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(papertide::web::serve_listener(listener, app.clone(), std::future::pending()));
    (app, addr)
}

/// Reads until the server closes the connection (or `limit` passes); returns what arrived and when it closed.
async fn read_until_closed(tcp: &mut TcpStream, limit: Duration) -> (String, Option<Duration>) {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&got).into_owned(), Some(started.elapsed())),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), None),
        }
    }
}

#[tokio::test]
async fn half_sent_requests_and_idle_keep_alive_connections_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = support::config::at(dir.path());
    config.server.header_read_timeout_s = 1;
    let (_app, addr) = serve(config).await;

    // Slow loris: a request head that never ends.
    let mut loris = TcpStream::connect(&addr).await.unwrap();
    loris.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
    let (_, closed) = read_until_closed(&mut loris, Duration::from_secs(10)).await;
    let closed = closed.expect("the half-sent request's connection was never closed");
    assert!(closed < Duration::from_secs(4), "closed after {closed:?}");

    // Idle keep-alive: one request answered, then silence.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let (answer, closed) = read_until_closed(&mut idle, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let closed = closed.expect("the idle keep-alive connection was never closed");
    assert!(closed < Duration::from_secs(4), "closed after {closed:?}");

    // A client that keeps asking is not cut off: three requests on one connection, 600 ms apart.
    let mut busy = TcpStream::connect(&addr).await.unwrap();
    for _ in 0..3 {
        busy.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 4096];
        let n = busy.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
}

#[tokio::test]
async fn connections_over_the_cap_get_a_clear_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = support::config::at(dir.path());
    config.server.max_connections = 2;
    config.server.header_read_timeout_s = 30;
    let (_app, addr) = serve(config).await;

    let held: Vec<TcpStream> = vec![TcpStream::connect(&addr).await.unwrap(), TcpStream::connect(&addr).await.unwrap()];
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = TcpStream::connect(&addr).await.unwrap();
    third.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let (answer, closed) = read_until_closed(&mut third, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("too many open connections") && answer.contains("retry-after: 1"), "{answer}");
    assert!(closed.is_some(), "the refused connection is closed");

    // Once a held connection goes away, a new one is served.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = TcpStream::connect(&addr).await.unwrap();
        again.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
        let (answer, _) = read_until_closed(&mut again, Duration::from_secs(5)).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "still refused: {answer}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_page_that_takes_too_long_answers_503() {
    // The paper page of an unknown id waits for an arXiv lookup; this arXiv never answers in time.
    let arxiv = FakeServer::start().await;
    arxiv.script("/api/query", [Reply::Stall(Duration::from_secs(20))]);
    let dir = tempfile::tempdir().unwrap();
    let mut config = support::config::against(dir.path(), &arxiv);
    config.arxiv.read_timeout_s = 30;
    config.arxiv.retry_max_elapsed_s = 30;
    config.server.request_timeout_s = 1;
    let (_app, addr) = serve(config).await;
    let http = reqwest::Client::new();
    let started = Instant::now();
    let res = http.get(format!("http://{addr}/arxiv/2501.99999")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "5");
    assert!(res.text().await.unwrap().contains("took longer than 1 s"));
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    let res = http.get(format!("http://{addr}/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200, "the server is still answering");
}
