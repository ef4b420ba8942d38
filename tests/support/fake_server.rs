//! A scripted HTTP/1.1 server on `127.0.0.1:0` for integration tests, with fault injection.
//!
//! It is a hand-written tokio loop over raw TCP, not axum, because the faults worth testing (a connection
//! reset before any response, headers followed by silence, a body shorter than its `Content-Length`) cannot
//! be produced through a well-behaved HTTP framework. Each connection serves exactly one request and then
//! closes (`Connection: close`), so every request is independent and faults never poison a pooled connection.
//!
//! # Usage
//!
//! ```ignore
//! mod support;
//! use support::fake_server::{FakeServer, Reply};
//!
//! #[tokio::test]
//! async fn lists_records() {
//!     let server = FakeServer::start().await;
//!     // Routes match on the path and on the query parameters named in the route (others are ignored).
//!     // Fixture bodies live in tests/fixtures/arxiv/{api,oai,rss} (see the PROVENANCE files there).
//!     let page = std::fs::read("tests/fixtures/arxiv/oai/oai_dc_ListRecords_cs_2024-01-25_truncated.xml").unwrap();
//!     let last = std::fs::read("tests/fixtures/arxiv/oai/functional__arxiv__fixtures__http_server__records__arxiv-single.xml").unwrap();
//!     server.script("/oai?verb=ListRecords", [Reply::RetryAfter503(1), Reply::xml(page)]);
//!     server.script("/oai?verb=ListRecords&resumptionToken=6960524|1001", [Reply::xml(last)]);
//!
//!     let url = server.url("/oai?verb=ListRecords&metadataPrefix=arXiv&set=cs");
//!     // ... run the code under test against `url` / `server.base_url()` ...
//!
//!     assert_eq!(server.hits("/oai?verb=ListRecords&resumptionToken=6960524|1001"), 1);
//!     let first = &server.requests()[0];
//!     assert!(first.header("user-agent").unwrap().starts_with("Papertide/"));
//! }
//! ```
//!
//! # Scripts
//!
//! Each route has a queue of [`Reply`]s: every request to the route consumes the front entry, and the
//! **last entry repeats forever**. So `[Reply::Status500, Reply::ok("x")]` fails once and then succeeds,
//! while `[Reply::Status500]` always fails. Calling [`FakeServer::script`] again for the same route replaces
//! its queue (the hit count is kept).
//!
//! # Route matching
//!
//! A route is written like a request target: `"/path"` or `"/path?name=value&..."`. A request matches when its
//! path is equal and it carries every listed query parameter with that value (percent- and `+`-decoded on
//! both sides, so write values as they would appear in a URL). Extra request parameters are ignored. When
//! several routes match, the one naming the most parameters wins; ties go to the route scripted first.
//! Unmatched requests get `404` with a body saying so, and are still recorded in [`FakeServer::requests`].

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use reqwest::Url;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Largest request head accepted (request line + headers).
const MAX_HEAD: usize = 64 * 1024;

/// One scripted answer (or fault) for one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A complete response with any status, extra headers and body (`Content-Length` is added).
    Ok {
        /// HTTP status code.
        status: u16,
        /// Extra headers, e.g. `("content-type", "application/atom+xml")`, `("etag", "\"v1\"")`.
        headers: Vec<(String, String)>,
        /// The body, sent as-is (pre-compress it and add `content-encoding: gzip` to test gzip).
        body: Bytes,
    },
    /// `503 Service Unavailable` with `Retry-After: <secs>`: arXiv OAI-PMH flow control.
    RetryAfter503(u64),
    /// `429 Too Many Requests`, with `Retry-After: <secs>` when given.
    Status429 {
        /// Seconds for the `Retry-After` header, if any.
        retry_after: Option<u64>,
    },
    /// `500 Internal Server Error`.
    Status500,
    /// Waits this long after reading the request, then answers with the inner reply: a slow upstream.
    Delayed(Duration, Box<Reply>),
    /// Reads the request, then closes the socket with a TCP reset and no response.
    Reset,
    /// Sends a `200` status line and headers announcing a body, then sends nothing for this long and closes.
    /// Use a duration longer than the client's read timeout.
    Stall(Duration),
    /// Sends `200` with `Content-Length: 100`, then only 10 body bytes, then closes.
    Truncated,
    /// `200` announcing all of `body` (with `ETag: <etag>` when given), then only its first `sent` bytes, then
    /// the connection closes: a download cut off midway.
    CutOff {
        /// The entity tag to send, if any (with its quotes).
        etag: Option<String>,
        /// The whole entity.
        body: Bytes,
        /// How many bytes of it are sent.
        sent: usize,
    },
    /// Byte ranges: a request with `Range: bytes=N-` whose `If-Range` (if any) equals `etag` gets
    /// `206 Partial Content` with `body[N..]` and `Content-Range` (416 when N is past the end); any other request
    /// gets `200` with all of `body`. Both carry `ETag: <etag>`.
    Ranged {
        /// The current entity tag (with its quotes).
        etag: String,
        /// The whole entity.
        body: Bytes,
    },
    /// Conditional GET: `304 Not Modified` if the request's `If-None-Match` lists `etag` (or `*`);
    /// otherwise `200` with `ETag: <etag>` and `body`. `etag` includes its quotes, e.g. `"\"v1\""`.
    NotModifiedIfEtag {
        /// The current entity tag.
        etag: String,
        /// The body for a non-matching request.
        body: Bytes,
    },
}

impl Reply {
    /// `200 OK` with `body` and no extra headers.
    pub fn ok(body: impl Into<Bytes>) -> Self {
        Self::status(200, body)
    }

    /// `200 OK` with `content-type: application/xml; charset=utf-8` (arXiv OAI and API bodies).
    pub fn xml(body: impl Into<Bytes>) -> Self {
        Self::ok(body).with_header("content-type", "application/xml; charset=utf-8")
    }

    /// Any status with `body`, e.g. `Reply::status(400, atom_error_feed)`.
    pub fn status(status: u16, body: impl Into<Bytes>) -> Self {
        Reply::Ok { status, headers: Vec::new(), body: body.into() }
    }

    /// Adds a response header to a [`Reply::Ok`].
    ///
    /// # Panics
    /// On any other variant: faults have fixed wire formats.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        match &mut self {
            Reply::Ok { headers, .. } => headers.push((name.to_owned(), value.to_owned())),
            other => panic!("with_header applies to Reply::Ok only, not {other:?}"),
        }
        self
    }
}

/// A route: a path plus the query parameters a request must carry. Built from `"/path?name=value"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The exact request path.
    pub path: String,
    /// Required query parameters (decoded).
    pub query: Vec<(String, String)>,
}

impl Route {
    /// Parses `"/path"` or `"/path?a=1&b=2"`.
    pub fn new(spec: &str) -> Self {
        let (path, query) = split_target(spec);
        Route { path, query }
    }

    fn matches(&self, path: &str, query: &[(String, String)]) -> bool {
        self.path == path && self.query.iter().all(|want| query.contains(want))
    }
}

impl From<&str> for Route {
    fn from(spec: &str) -> Self {
        Route::new(spec)
    }
}

impl From<String> for Route {
    fn from(spec: String) -> Self {
        Route::new(&spec)
    }
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The request path, without the query.
    pub path: String,
    /// Decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    /// Header names (lower-cased) and values, in order.
    pub headers: Vec<(String, String)>,
    /// When the request head had been read (tokio clock).
    pub at: Instant,
    /// The route that answered it; `None` if it got the unmatched 404.
    pub route: Option<Route>,
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The first value of query parameter `name`.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// The running server. Dropping it stops accepting connections.
pub struct FakeServer {
    addr: SocketAddr,
    state: Arc<State>,
    accept: JoinHandle<()>,
}

#[derive(Default)]
struct State {
    routes: Mutex<Vec<RouteEntry>>,
    log: Mutex<Vec<RecordedRequest>>,
}

struct RouteEntry {
    route: Route,
    script: VecDeque<Reply>,
    hits: usize,
}

impl FakeServer {
    /// Binds `127.0.0.1:0` and starts serving in the background on the current tokio runtime.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(State::default());
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&state)));
        FakeServer { addr, state, accept }
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `base_url()` followed by `path_and_query` (which starts with `/`).
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base_url())
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sets the reply queue of `route` (the last reply repeats). Replaces an earlier script of the same route.
    ///
    /// # Panics
    /// If `replies` is empty.
    pub fn script(&self, route: impl Into<Route>, replies: impl IntoIterator<Item = Reply>) {
        let route = route.into();
        let script: VecDeque<Reply> = replies.into_iter().collect();
        assert!(!script.is_empty(), "script for {route:?} needs at least one reply");
        let mut routes = self.state.routes.lock().expect("routes lock");
        match routes.iter_mut().find(|e| e.route == route) {
            Some(entry) => entry.script = script,
            None => routes.push(RouteEntry { route, script, hits: 0 }),
        }
    }

    /// How many requests `route` (exactly as scripted) has answered, faults included.
    pub fn hits(&self, route: impl Into<Route>) -> usize {
        let route = route.into();
        let routes = self.state.routes.lock().expect("routes lock");
        routes.iter().find(|e| e.route == route).map_or(0, |e| e.hits)
    }

    /// Every request received so far, in arrival order (including unmatched ones).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.log.lock().expect("log lock").clone()
    }

    /// Requests whose path is `path`, in arrival order.
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.requests().into_iter().filter(|r| r.path == path).collect()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(serve_connection(stream, Arc::clone(&state)));
    }
}

/// Reads one request, picks its reply, records it, answers, closes.
async fn serve_connection(mut stream: TcpStream, state: Arc<State>) {
    let Some(head) = read_head(&mut stream).await else {
        return;
    };
    let Some(request) = parse_head(&head) else {
        let _ = stream.write_all(&response_bytes(400, &[], b"bad request")).await;
        return;
    };
    let (route, reply) = state.next_reply(&request.path, &request.query);
    let request = RecordedRequest { route: route.clone(), ..request };
    state.log.lock().expect("log lock").push(request.clone());
    match reply {
        Some(reply) => answer(stream, reply, &request).await,
        None => {
            let body = format!("fake server: no route scripted for {} {:?}", request.path, request.query);
            let _ = stream.write_all(&response_bytes(404, &[], body.as_bytes())).await;
        }
    }
}

impl State {
    /// The best-matching route and its next reply (popping unless it is the last one).
    fn next_reply(&self, path: &str, query: &[(String, String)]) -> (Option<Route>, Option<Reply>) {
        let mut routes = self.routes.lock().expect("routes lock");
        let best =
            routes.iter_mut().filter(|e| e.route.matches(path, query)).fold(None::<&mut RouteEntry>, |best, e| {
                match best {
                    Some(b) if b.route.query.len() >= e.route.query.len() => Some(b),
                    _ => Some(e),
                }
            });
        let Some(entry) = best else {
            return (None, None);
        };
        entry.hits += 1;
        let reply = if entry.script.len() > 1 { entry.script.pop_front() } else { entry.script.front().cloned() };
        (Some(entry.route.clone()), reply)
    }
}

/// Writes `reply` (or performs the fault) and closes the connection.
async fn answer(mut stream: TcpStream, reply: Reply, request: &RecordedRequest) {
    let reply = match reply {
        Reply::Delayed(wait, inner) => {
            tokio::time::sleep(wait).await;
            *inner
        }
        other => other,
    };
    match reply {
        Reply::Ok { status, headers, body } => {
            let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let _ = stream.write_all(&response_bytes(status, &headers, &body)).await;
        }
        Reply::RetryAfter503(secs) => {
            let secs = secs.to_string();
            let bytes = response_bytes(503, &[("retry-after", &secs)], b"Retry after the delay, please.");
            let _ = stream.write_all(&bytes).await;
        }
        Reply::Status429 { retry_after } => {
            let secs = retry_after.map(|s| s.to_string());
            let headers: Vec<(&str, &str)> = secs.iter().map(|s| ("retry-after", s.as_str())).collect();
            let _ = stream.write_all(&response_bytes(429, &headers, b"Too many requests.")).await;
        }
        Reply::Status500 => {
            let _ = stream.write_all(&response_bytes(500, &[], b"Internal error.")).await;
        }
        // Unwrapped above; a delay inside a delay answers 500.
        Reply::Delayed(..) => {
            let _ = stream.write_all(&response_bytes(500, &[], b"Nested Delayed reply.")).await;
        }
        Reply::Reset => {
            // SO_LINGER 0: dropping the socket sends RST instead of an orderly FIN.
            let _ = stream.set_zero_linger();
            drop(stream);
        }
        Reply::Stall(duration) => {
            let head = "HTTP/1.1 200 OK\r\ncontent-length: 1000\r\nconnection: close\r\n\r\n";
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.flush().await;
            tokio::time::sleep(duration).await;
        }
        Reply::Truncated => {
            let head = "HTTP/1.1 200 OK\r\ncontent-length: 100\r\nconnection: close\r\n\r\n0123456789";
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
        Reply::CutOff { etag, body, sent } => {
            let mut head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n", body.len());
            if let Some(etag) = etag {
                head.push_str(&format!("etag: {etag}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&body[..sent.min(body.len())]).await;
            let _ = stream.shutdown().await;
        }
        Reply::Ranged { etag, body } => {
            let from = request
                .header("range")
                .and_then(|r| r.strip_prefix("bytes="))
                .and_then(|r| r.strip_suffix('-'))
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|_| request.header("if-range").is_none_or(|v| v == etag));
            let bytes = match from {
                Some(n) if n >= body.len() => {
                    let total = format!("bytes */{}", body.len());
                    response_bytes(416, &[("content-range", &total)], b"")
                }
                Some(n) => {
                    let range = format!("bytes {n}-{}/{}", body.len() - 1, body.len());
                    response_bytes(206, &[("etag", &etag), ("content-range", &range)], &body[n..])
                }
                None => response_bytes(200, &[("etag", &etag)], &body),
            };
            let _ = stream.write_all(&bytes).await;
        }
        Reply::NotModifiedIfEtag { etag, body } => {
            let bytes = if if_none_match_hits(request.header("if-none-match"), &etag) {
                not_modified_bytes(&etag)
            } else {
                response_bytes(200, &[("etag", &etag)], &body)
            };
            let _ = stream.write_all(&bytes).await;
        }
    }
}

/// Whether an `If-None-Match` header value lists `etag` (weak comparison) or is `*`.
fn if_none_match_hits(header: Option<&str>, etag: &str) -> bool {
    let strip_weak = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    header.is_some_and(|h| h.split(',').map(strip_weak).any(|t| t == "*" || t == strip_weak(etag)))
}

/// Reads up to the blank line ending the request head. GET requests carry no body, so nothing follows.
async fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        if buf.len() > MAX_HEAD {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(buf)
}

/// Parses the request line and headers; `route` is filled in later.
fn parse_head(head: &[u8]) -> Option<RecordedRequest> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let mut parts = lines.next()?.split_whitespace();
    let method = parts.next()?.to_owned();
    let (path, query) = split_target(parts.next()?);
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some(RecordedRequest { method, path, query, headers, at: Instant::now(), route: None })
}

/// Splits a request target into its path and decoded query pairs.
fn split_target(target: &str) -> (String, Vec<(String, String)>) {
    match Url::parse("http://fake.invalid").and_then(|base| base.join(target)) {
        Ok(url) => (url.path().to_owned(), url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()),
        Err(_) => (target.to_owned(), Vec::new()),
    }
}

fn response_bytes(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!("content-length: {}\r\nconnection: close\r\n\r\n", body.len()));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn not_modified_bytes(etag: &str) -> Vec<u8> {
    format!("HTTP/1.1 304 Not Modified\r\netag: {etag}\r\nconnection: close\r\n\r\n").into_bytes()
}

fn reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Unknown")
}
