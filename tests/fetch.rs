//! `HttpClient` end to end over loopback against the scripted fake server: retries per fault kind, Retry-After,
//! permanent statuses with bodies, giving up, conditional GET, User-Agent, gzip, size caps, streamed and
//! resumed downloads, and per-host politeness.
//! Everything runs in real time with millisecond-to-one-second waits; the file takes a few seconds.

mod support;

use std::io::Write;
use std::time::{Duration, Instant};

use papertide::net::http::{FetchError, HttpClient, HttpConfig, Validators};
use papertide::net::retry::RetryPolicy;
use support::fake_server::{FakeServer, Reply};

/// The arXiv API's answer to `id_list=abc` (HTTP 400), as recorded by arxiv.py's fixtures.
const ATOM_ERROR_FEED: &str = r#"<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">
  <id>https://arxiv.org/</id>
  <title>arXiv Search Results</title>
  <entry>
    <id>https://arxiv.org/api/errors#incorrect_id_format_for_abc</id>
    <title>Error</title>
    <summary>incorrect id format for abc</summary>
  </entry>
</feed>"#;

fn client(cfg: HttpConfig) -> HttpClient {
    HttpClient::new(cfg).expect("client builds")
}

fn test_client() -> HttpClient {
    client(HttpConfig::for_tests())
}

/// `data` gzip-compressed (best compression: zeros shrink about a thousandfold, a gzip bomb).
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).expect("compress");
    encoder.finish().expect("compress")
}

#[tokio::test]
async fn each_fault_is_retried_until_the_body_arrives() {
    let server = FakeServer::start().await;
    let faults = [
        ("/status500", Reply::Status500),
        ("/retry503", Reply::RetryAfter503(0)),
        ("/status429", Reply::Status429 { retry_after: None }),
        ("/reset", Reply::Reset),
        ("/truncated", Reply::Truncated),
        // Longer than the read timeout below: the stalled body must time out and be retried.
        ("/stall", Reply::Stall(Duration::from_secs(3))),
    ];
    for (path, fault) in &faults {
        server.script(*path, [fault.clone(), fault.clone(), Reply::ok(format!("body of {path}"))]);
    }
    let http = client(HttpConfig { read_timeout: Duration::from_millis(500), ..HttpConfig::for_tests() });

    for (path, _) in &faults {
        let fetched = http.get(&server.url(path), None).await.unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(fetched.status, 200, "{path}");
        assert_eq!(fetched.body, format!("body of {path}").as_bytes(), "{path}");
        assert!(!fetched.not_modified);
        assert_eq!(server.hits(*path), 3, "{path}: two faults, then success");
    }
}

#[tokio::test]
async fn retry_after_on_503_is_waited_out() {
    let server = FakeServer::start().await;
    server.script("/oai", [Reply::RetryAfter503(1), Reply::xml("<OAI-PMH/>")]);
    let start = Instant::now();
    let fetched = test_client().get(&server.url("/oai?verb=Identify"), None).await.expect("fetch");
    assert!(start.elapsed() >= Duration::from_secs(1), "waited only {:?}", start.elapsed());
    assert_eq!(fetched.body, "<OAI-PMH/>".as_bytes());
    assert_eq!(server.hits("/oai"), 2);
}

#[tokio::test]
async fn retry_after_on_429_is_waited_out() {
    let server = FakeServer::start().await;
    server.script("/api/query", [Reply::Status429 { retry_after: Some(1) }, Reply::ok("feed")]);
    let start = Instant::now();
    let fetched = test_client().get(&server.url("/api/query"), None).await.expect("fetch");
    assert!(start.elapsed() >= Duration::from_secs(1), "waited only {:?}", start.elapsed());
    assert_eq!(fetched.body, "feed".as_bytes());
}

#[tokio::test]
async fn client_errors_are_not_retried_and_keep_the_body() {
    let server = FakeServer::start().await;
    server.script("/api/query?id_list=abc", [Reply::status(400, ATOM_ERROR_FEED)]);
    server.script("/missing", [Reply::status(404, "no such page")]);
    let http = test_client();

    let url = server.url("/api/query?id_list=abc&max_results=100");
    let err = http.get(&url, None).await.expect_err("400 is an error");
    assert!(err.to_string().contains(&url), "{err}");
    let FetchError::Status { status, body, url: err_url } = err else { panic!("wrong variant: {err}") };
    assert_eq!((status, err_url.as_str()), (400, url.as_str()));
    assert!(std::str::from_utf8(&body).expect("utf-8").contains("incorrect id format for abc"));
    assert_eq!(server.hits("/api/query?id_list=abc"), 1);

    let err = http.get(&server.url("/missing"), None).await.expect_err("404 is an error");
    assert!(matches!(&err, FetchError::Status { status: 404, body, .. } if body == "no such page"), "{err}");
    assert_eq!(server.hits("/missing"), 1);
}

#[tokio::test]
async fn gives_up_naming_the_url() {
    let server = FakeServer::start().await;
    server.script("/always-down", [Reply::Status500]);
    let retry = RetryPolicy { max_elapsed: Duration::from_millis(300), ..RetryPolicy::for_tests() };
    let http = client(HttpConfig { retry, ..HttpConfig::for_tests() });
    let url = server.url("/always-down");

    let err = http.get(&url, None).await.expect_err("must give up");
    let message = err.to_string();
    let FetchError::GaveUp { url: err_url, attempts, elapsed, last } = err else { panic!("wrong variant: {message}") };
    assert_eq!(err_url, url);
    assert!(attempts >= 2 && attempts as usize == server.hits("/always-down"), "attempts {attempts}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert!(last.contains("500"), "{last}");
    assert!(message.starts_with(&format!("gave up on {url} after {attempts} attempt(s)")), "{message}");
}

#[tokio::test]
async fn connection_refused_is_transient_then_gives_up() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let retry = RetryPolicy { max_elapsed: Duration::from_millis(200), ..RetryPolicy::for_tests() };
    let http = client(HttpConfig { retry, ..HttpConfig::for_tests() });
    let url = format!("http://127.0.0.1:{port}/x");
    let err = http.get(&url, None).await.expect_err("nothing listens");
    assert!(matches!(&err, FetchError::GaveUp { attempts, .. } if *attempts >= 2), "{err}");
    assert!(err.to_string().contains(&url));
}

#[tokio::test]
async fn invalid_urls_are_rejected_up_front() {
    let http = test_client();
    for url in ["not a url", "ftp://export.arxiv.org/x", "file:///etc/passwd"] {
        let err = http.get(url, None).await.expect_err(url);
        assert!(matches!(err, FetchError::InvalidUrl { .. }), "{url}: {err}");
    }
}

#[tokio::test]
async fn conditional_get_maps_304_to_not_modified() {
    let server = FakeServer::start().await;
    let etag = "\"feed-v1\"";
    server.script("/rss/cs", [Reply::NotModifiedIfEtag { etag: etag.into(), body: "<rss/>".into() }]);
    let http = test_client();
    let url = server.url("/rss/cs");

    let first = http.get(&url, None).await.expect("first fetch");
    assert_eq!((first.status, first.not_modified), (200, false));
    assert_eq!(first.body, "<rss/>".as_bytes());
    assert_eq!(first.etag.as_deref(), Some(etag));

    let second = http.get(&url, Some(&first.validators())).await.expect("second fetch");
    assert_eq!((second.status, second.not_modified), (304, true));
    assert!(second.body.is_empty());
    assert_eq!(second.etag.as_deref(), Some(etag));

    let requests = server.requests();
    assert_eq!(requests[0].header("if-none-match"), None);
    assert_eq!(requests[1].header("if-none-match"), Some(etag));
}

#[tokio::test]
async fn if_modified_since_is_sent() {
    let server = FakeServer::start().await;
    server.script("/feed", [Reply::status(304, "")]);
    let date = "Mon, 23 Nov 2026 05:00:00 GMT";
    let validators = Validators { etag: None, last_modified: Some(date.into()) };
    let fetched = test_client().get(&server.url("/feed"), Some(&validators)).await.expect("fetch");
    assert!(fetched.not_modified);
    assert_eq!(fetched.last_modified.as_deref(), Some(date), "kept from the request when the 304 has none");
    assert_eq!(server.requests()[0].header("if-modified-since"), Some(date));
}

#[tokio::test]
async fn user_agent_names_papertide_and_contact() {
    let server = FakeServer::start().await;
    server.script("/", [Reply::ok("hi")]);
    let http = client(HttpConfig { contact: Some("ops@example.org".into()), ..HttpConfig::for_tests() });
    http.get(&server.url("/"), None).await.expect("fetch");

    let request = &server.requests()[0];
    let agent = request.header("user-agent").expect("User-Agent sent");
    assert!(agent.starts_with("Papertide/"), "{agent}");
    assert!(agent.contains("mailto:ops@example.org"), "{agent}");
    assert!(request.header("accept-encoding").is_some_and(|v| v.contains("gzip")));
}

#[tokio::test]
async fn gzip_bodies_are_decoded() {
    let gzipped = gzip(b"<feed>compressed</feed>");
    let server = FakeServer::start().await;
    server.script("/gz", [Reply::ok(gzipped).with_header("content-encoding", "gzip")]);
    let fetched = test_client().get(&server.url("/gz"), None).await.expect("fetch");
    assert_eq!(fetched.body, "<feed>compressed</feed>".as_bytes());
}

#[tokio::test]
async fn bodies_over_the_cap_are_refused_once_and_not_retried() {
    let server = FakeServer::start().await;
    // Declared by Content-Length: refused before the body is read.
    server.script("/big", [Reply::ok(vec![b'x'; 4097]), Reply::ok("never fetched")]);
    // Exactly at the cap: accepted.
    server.script("/fits", [Reply::ok(vec![b'y'; 4096])]);
    // A gzip bomb: 4 MiB of zeros sent as ~4 KiB; the cap applies to the decoded size.
    let bomb = gzip(&vec![0u8; 4 << 20]);
    assert!(bomb.len() < 4096 * 2, "the compressed bomb is small ({} bytes)", bomb.len());
    server.script("/bomb", [Reply::ok(bomb).with_header("content-encoding", "gzip")]);
    let http = client(HttpConfig { max_body_bytes: 4096, ..HttpConfig::for_tests() });

    for path in ["/big", "/bomb"] {
        let err = http.get(&server.url(path), None).await.expect_err(path);
        assert!(matches!(err, FetchError::TooLarge { limit: 4096, .. }), "{path}: {err:?}");
        let message = err.to_string();
        assert!(message.contains("4096-byte cap") && message.contains(path), "{message}");
        assert_eq!(server.hits(path), 1, "{path}: a refused body is not retried");
    }
    let fetched = http.get(&server.url("/fits"), None).await.expect("a body at the cap");
    assert_eq!(fetched.body.len(), 4096);
}

#[tokio::test]
async fn downloads_stream_to_a_file_with_retries_and_their_own_cap() {
    let server = FakeServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let dest = dir.path().join("weights.part");
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    // A truncated first attempt leaves part of the body in the file; the retry starts the file over.
    server.script("/weights", [Reply::Truncated, Reply::Status500, Reply::ok(body.clone())]);
    // The download cap is its own: far over the client's `max_body_bytes` here.
    let http = client(HttpConfig { max_body_bytes: 4096, ..HttpConfig::for_tests() });
    let written = http.download_to(&server.url("/weights"), &dest, 1 << 20).await.expect("download");
    assert_eq!(written, body.len() as u64);
    assert_eq!(std::fs::read(&dest).expect("read back"), body, "exactly the body, nothing from the cut attempt");
    assert_eq!(server.hits("/weights"), 3);

    // Over the download's cap (declared, and a gzip bomb counted as it decodes): refused once.
    server.script("/big", [Reply::ok(vec![b'x'; 5000]), Reply::ok("never fetched")]);
    server.script("/bomb", [Reply::ok(gzip(&vec![0u8; 1 << 20])).with_header("content-encoding", "gzip")]);
    for path in ["/big", "/bomb"] {
        let err = http.download_to(&server.url(path), &dest, 4999).await.expect_err(path);
        assert!(matches!(err, FetchError::TooLarge { limit: 4999, .. }), "{path}: {err:?}");
        assert_eq!(server.hits(path), 1, "{path}: not retried");
    }

    // A missing file on the server: permanent, with the status and URL.
    server.script("/missing", [Reply::status(404, "Entry not found")]);
    let err = http.download_to(&server.url("/missing"), &dest, 1 << 20).await.expect_err("404");
    assert!(matches!(err, FetchError::Status { status: 404, .. }), "{err:?}");
    assert!(err.to_string().contains("/missing"), "{err}");

    // An unwritable destination: a clear error naming the path, not retried.
    server.script("/w", [Reply::ok("data"), Reply::ok("data")]);
    let nowhere = dir.path().join("no-such-dir").join("file");
    let err = http.download_to(&server.url("/w"), &nowhere, 1 << 20).await.expect_err("unwritable");
    assert!(matches!(err, FetchError::Write { .. }), "{err:?}");
    assert!(err.to_string().contains("no-such-dir"), "{err}");
    assert_eq!(server.hits("/w"), 1);
}

#[tokio::test]
async fn a_cut_download_resumes_where_it_stopped_only_for_the_same_entity() {
    let server = FakeServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let dest = dir.path().join("weights.part");
    let v1: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let v2: Vec<u8> = v1.iter().rev().copied().collect();
    let http = test_client();
    let cut = |etag: Option<&str>, body: &[u8]| Reply::CutOff {
        etag: etag.map(str::to_owned),
        body: body.to_vec().into(),
        sent: 120_000,
    };
    let ranged = |etag: &str, body: &[u8]| Reply::Ranged { etag: etag.into(), body: body.to_vec().into() };

    // Same entity: the retry asks for the rest only, and the file is the whole body.
    server.script("/same", [cut(Some("\"v1\""), &v1), ranged("\"v1\"", &v1)]);
    let n = http.download_to(&server.url("/same"), &dest, 1 << 20).await.expect("download");
    assert_eq!((n, std::fs::read(&dest).unwrap() == v1), (v1.len() as u64, true));
    let retry = &server.requests_to("/same")[1];
    assert_eq!(retry.header("range"), Some("bytes=120000-"));
    assert_eq!(retry.header("if-range"), Some("\"v1\""));
    assert_eq!(retry.header("accept-encoding"), Some("identity"), "ranges of the unencoded body");

    // The entity changed in between: the server ignores the range (If-Range) and the file starts over.
    server.script("/changed", [cut(Some("\"v1\""), &v1), ranged("\"v2\"", &v2)]);
    let n = http.download_to(&server.url("/changed"), &dest, 1 << 20).await.expect("download");
    assert_eq!((n, std::fs::read(&dest).unwrap() == v2), (v2.len() as u64, true));

    // Without a strong validator nothing is stitched: no Range header, a fresh start.
    server.script("/weak", [cut(Some("W/\"v1\""), &v1), ranged("\"v1\"", &v1)]);
    http.download_to(&server.url("/weak"), &dest, 1 << 20).await.expect("download");
    assert_eq!(std::fs::read(&dest).unwrap(), v1);
    assert_eq!(server.requests_to("/weak")[1].header("range"), None);

    // A resumed part counts against the cap together with what is on disk: refused once, not retried.
    let grown: Vec<u8> = v1.iter().chain(&v1[..100_000]).copied().collect();
    server.script("/grown", [cut(Some("\"v1\""), &v1), ranged("\"v1\"", &grown), ranged("\"v1\"", &grown)]);
    let err = http.download_to(&server.url("/grown"), &dest, v1.len() as u64).await.expect_err("over the cap");
    assert!(matches!(err, FetchError::TooLarge { .. }), "{err:?}");
    assert_eq!(server.hits("/grown"), 2);

    // What is on disk is past the entity's end (416): the next attempt starts the file over.
    let short = &v1[..100_000];
    server.script("/shrunk", [cut(Some("\"v1\""), &v1), ranged("\"v1\"", short), ranged("\"v1\"", short)]);
    let n = http.download_to(&server.url("/shrunk"), &dest, 1 << 20).await.expect("download");
    assert_eq!((n, std::fs::read(&dest).unwrap() == short), (short.len() as u64, true));
    let asked: Vec<Option<String>> =
        server.requests_to("/shrunk").iter().map(|r| r.header("range").map(str::to_owned)).collect();
    assert_eq!(asked, [None, Some("bytes=120000-".to_owned()), None]);
}

#[tokio::test]
async fn politeness_spaces_requests_per_host_only() {
    // Generous, so that two loopback requests on a loaded machine still finish well inside it.
    let interval = Duration::from_secs(1);
    let (a, b) = (FakeServer::start().await, FakeServer::start().await);
    a.script("/", [Reply::ok("a")]);
    b.script("/", [Reply::ok("b")]);
    let cfg = HttpConfig { request_interval: interval, ..HttpConfig::for_tests() };

    // Different hosts (ports) do not wait for each other.
    let http = client(cfg.clone());
    let start = Instant::now();
    http.get(&a.url("/"), None).await.expect("a");
    http.get(&b.url("/"), None).await.expect("b");
    assert!(start.elapsed() < interval, "different hosts took {:?}", start.elapsed());

    // The same host waits, also across clones and concurrent callers.
    let http = client(cfg);
    let clone = http.clone();
    let (url1, url2) = (a.url("/"), a.url("/"));
    let start = Instant::now();
    let (r1, r2) = tokio::join!(http.get(&url1, None), clone.get(&url2, None));
    r1.expect("first");
    r2.expect("second");
    assert!(start.elapsed() >= interval, "same host took only {:?}", start.elapsed());
}

#[tokio::test]
async fn retries_count_against_politeness() {
    let interval = Duration::from_millis(300);
    let server = FakeServer::start().await;
    server.script("/flaky", [Reply::Status500, Reply::ok("ok")]);
    let http = client(HttpConfig { request_interval: interval, ..HttpConfig::for_tests() });
    let start = Instant::now();
    http.get(&server.url("/flaky"), None).await.expect("fetch");
    assert!(start.elapsed() >= interval, "retry went out after {:?}", start.elapsed());
}

#[tokio::test]
async fn fake_server_routes_on_query_parameters() {
    let server = FakeServer::start().await;
    server.script("/oai?verb=ListRecords", [Reply::xml("page 1")]);
    server.script("/oai?verb=ListRecords&resumptionToken=6960524|1001", [Reply::xml("page 2")]);
    let http = test_client();

    let first = http.get(&server.url("/oai?verb=ListRecords&metadataPrefix=arXiv&set=cs"), None).await;
    let second = http.get(&server.url("/oai?verb=ListRecords&resumptionToken=6960524%7C1001"), None).await;
    assert_eq!(first.expect("page 1").body, "page 1".as_bytes());
    assert_eq!(second.expect("page 2").body, "page 2".as_bytes());
    assert_eq!(server.hits("/oai?verb=ListRecords"), 1);
    assert_eq!(server.hits("/oai?verb=ListRecords&resumptionToken=6960524|1001"), 1);
    assert_eq!(server.requests()[1].query_param("resumptionToken"), Some("6960524|1001"));

    let err = http.get(&server.url("/oai?verb=Identify"), None).await.expect_err("unscripted");
    assert!(
        matches!(&err, FetchError::Status { status: 404, body, .. }
        if String::from_utf8_lossy(body).contains("no route")),
        "{err}"
    );
}
