//! One polite HTTP client for every remote source: arXiv (RSS/Atom feeds, OAI-PMH, the search API), the page
//! fetches of the LLM context, model downloads.
//!
//! [`HttpClient::get`] wraps a single `reqwest` client with three things arXiv, our main peer, expects of
//! well-behaved robots:
//!
//! * **An identifying User-Agent** with a contact address ([`HttpConfig::contact`]).
//! * **Politeness**: at most one request *start* per [`HttpConfig::request_interval`] per host (arXiv asks for
//!   one request every 3 s). Retries count as requests. The limiter is shared by all clones.
//! * **Retries** through [`crate::net::retry`]: connect errors, timeouts (including a body that stalls past
//!   the read timeout), bodies cut short, HTTP 5xx and 429 are transient. `Retry-After` on 503/429 is honoured:
//!   arXiv's OAI-PMH server uses 503 + `Retry-After` for flow control. The body is read completely *inside*
//!   the retried operation so that a truncated transfer is retried rather than handed to a parser.
//!
//! Other 4xx responses are permanent and come back as [`FetchError::Status`] *with the body*, because the arXiv
//! search API answers HTTP 400 with an Atom error feed that the caller parses into a typed error.
//! Conditional GET ([`Validators`]) lets daily feed polls cost a 304 when nothing changed.
//!
//! **Size cap**: a body (after gzip decoding) larger than [`HttpConfig::max_body_bytes`] is refused with
//! [`FetchError::TooLarge`] and never retried: a misconfigured URL or a hostile server must not be able to make
//! the ingester buffer gigabytes (a gzip bomb decodes to far more than it sends). A declared `Content-Length`
//! over the cap is refused before any of the body is read; otherwise the body is counted as it streams in.
//! Large downloads (a model's weights) go through [`HttpClient::download_to`] instead, which streams the body
//! into a file under its own cap, so memory stays flat whatever their size.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{StatusCode, Url};
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

use super::retry::{self, Attempt, RetryError, RetryPolicy};

/// Settings for [`HttpClient`].
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Contact e-mail put in the User-Agent so arXiv can reach the operator instead of blocking the client.
    pub contact: Option<String>,
    /// Limit for establishing a TCP/TLS connection.
    pub connect_timeout: Duration,
    /// Limit for each read from the socket; a response body that stalls for longer fails (and is retried).
    pub read_timeout: Duration,
    /// Minimum spacing between request starts to the same host:port. Zero disables the limiter.
    pub request_interval: Duration,
    /// How failed requests are retried.
    pub retry: RetryPolicy,
    /// The largest body (after decoding) accepted; larger ones fail with [`FetchError::TooLarge`].
    pub max_body_bytes: u64,
}

/// Default [`HttpConfig::max_body_bytes`]: 64 MiB. arXiv's largest answers (an OAI-PMH page of 1,000 records,
/// an API page of 2,000 entries, a busy category's daily RSS) are a few MiB to about 20 MiB.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 64 << 20;

impl Default for HttpConfig {
    /// Production values: 10 s connect, 60 s read, one request per 3 s per host, default retry policy.
    fn default() -> Self {
        Self {
            contact: None,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            request_interval: Duration::from_secs(3),
            retry: RetryPolicy::default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

impl HttpConfig {
    /// Values for tests against a loopback server: short timeouts, no politeness delay, tiny retry waits.
    pub fn for_tests() -> Self {
        Self {
            contact: None,
            connect_timeout: Duration::from_secs(2),
            read_timeout: Duration::from_secs(2),
            request_interval: Duration::ZERO,
            retry: RetryPolicy::for_tests(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// The User-Agent sent with every request, e.g.
    /// `Papertide/0.1.0 (+https://github.com/papertide; mailto:me@example.org)`.
    pub fn user_agent(&self) -> String {
        let version = env!("CARGO_PKG_VERSION");
        match self.contact.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            Some(contact) => {
                format!("Papertide/{version} (+https://github.com/papertide; mailto:{contact})")
            }
            None => format!("Papertide/{version} (+https://github.com/papertide)"),
        }
    }
}

/// Cache validators from an earlier response, sent as `If-None-Match` / `If-Modified-Since`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// The `ETag` previously returned.
    pub etag: Option<String>,
    /// The `Last-Modified` previously returned (an HTTP-date, passed back verbatim).
    pub last_modified: Option<String>,
}

/// A successful (2xx) or not-modified (304) response, body fully read.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The final URL, after redirects.
    pub url: String,
    /// HTTP status code.
    pub status: u16,
    /// The (decompressed) body; empty for 304.
    pub body: Bytes,
    /// `ETag` of the response; for a 304 without one, the etag that was sent.
    pub etag: Option<String>,
    /// `Last-Modified` of the response; for a 304 without one, the date that was sent.
    pub last_modified: Option<String>,
    /// True for HTTP 304: the cached copy is still current.
    pub not_modified: bool,
}

impl Fetched {
    /// The validators to send on the next conditional GET of the same URL.
    pub fn validators(&self) -> Validators {
        Validators { etag: self.etag.clone(), last_modified: self.last_modified.clone() }
    }
}

/// The document a successful answer must be, checked inside the retry loop: a `200` whose body is not it
/// (empty, plain text, JSON, an HTML error page from a proxy) is a transient fault, retried like a 503 and
/// reported with the URL once the budget is spent, never read as an empty result.
#[derive(Debug, Clone, Copy)]
pub struct Expected {
    /// What the document is, for messages ("an OAI-PMH response").
    pub what: &'static str,
    /// The local names its root element may have.
    pub roots: &'static [&'static str],
}

impl Expected {
    /// The root element seen (`""` for none) when `body` is not this document; `None` when it is.
    pub fn mismatch(&self, body: &[u8]) -> Option<String> {
        match super::sniff::root_element(body) {
            Some(root) if self.roots.contains(&root.as_str()) => None,
            found => Some(found.unwrap_or_default()),
        }
    }
}

/// Why a fetch failed. Every variant names the URL.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// A non-retryable HTTP status (4xx other than 429, or an unexpected 3xx). The body is kept: arXiv's
    /// API explains a 400 in an Atom error feed.
    #[error("HTTP {status} from {url}")]
    Status {
        /// The requested URL.
        url: String,
        /// The status code.
        status: u16,
        /// The response body.
        body: Bytes,
    },
    /// Transient failures went on until the retry budget was spent.
    #[error("gave up on {url} after {attempts} attempt(s) in {:.1}s: {last}", elapsed.as_secs_f64())]
    GaveUp {
        /// The requested URL.
        url: String,
        /// Attempts made, including the first.
        attempts: u32,
        /// Time from the first attempt until giving up.
        elapsed: Duration,
        /// The last failure, as text.
        last: String,
    },
    /// A transport failure that retrying cannot fix (e.g. a redirect loop).
    #[error("request to {url} failed: {source}")]
    Request {
        /// The requested URL.
        url: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// The URL does not parse, is not http(s), or has no host.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The offending input.
        url: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The body is larger than [`HttpConfig::max_body_bytes`] (declared or as read). Not retried.
    #[error("response from {url} is larger than the {limit}-byte cap (max_body_bytes); refused")]
    TooLarge {
        /// The requested URL.
        url: String,
        /// The cap that was exceeded, in bytes.
        limit: u64,
    },
    /// [`HttpClient::download_to`] could not write the body to its destination file. Not retried.
    #[error("cannot write the body of {url} to {}: {source}", path.display())]
    Write {
        /// The requested URL.
        url: String,
        /// The destination file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A successful answer that is not the document asked for (see [`Expected`]); only reached through a
    /// retry budget of zero, since the fault is otherwise retried and ends as [`FetchError::GaveUp`].
    #[error("{url} answered with something that is not {what} ({})", super::sniff::describe_root(found))]
    NotTheDocument {
        /// The requested URL.
        url: String,
        /// The document expected.
        what: &'static str,
        /// The root element found, `""` for none.
        found: String,
    },
    /// The HTTP client could not be constructed (TLS backend, bad User-Agent, ...).
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

/// The shared HTTP client. Cloning is cheap and clones share the connection pool and the politeness limiter.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    limiter: HostLimiter,
    retry: RetryPolicy,
    max_body_bytes: u64,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("request_interval", &self.inner.limiter.interval)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Builds the client (gzip on, User-Agent, timeouts) and its limiter.
    pub fn new(cfg: HttpConfig) -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(cfg.user_agent())
            .connect_timeout(cfg.connect_timeout)
            .read_timeout(cfg.read_timeout)
            .gzip(true)
            .build()
            .map_err(FetchError::Client)?;
        let inner = Inner {
            client,
            limiter: HostLimiter::new(cfg.request_interval),
            retry: cfg.retry,
            max_body_bytes: cfg.max_body_bytes,
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// GETs `url`, retrying transient failures, and returns the fully read body.
    ///
    /// With `validators`, sends a conditional request; a 304 answer yields `not_modified: true` and an empty
    /// body. Any other non-2xx status that is not retried becomes [`FetchError::Status`].
    pub async fn get(&self, url: &str, validators: Option<&Validators>) -> Result<Fetched, FetchError> {
        self.fetch(url, validators, None).await
    }

    /// [`HttpClient::get`] for a body that must be the `expected` document: a successful answer that is not
    /// it is retried as a transient fault (a 304 has no body and passes).
    pub async fn get_document(
        &self,
        url: &str,
        validators: Option<&Validators>,
        expected: Expected,
    ) -> Result<Fetched, FetchError> {
        self.fetch(url, validators, Some(expected)).await
    }

    /// The retry loop behind [`HttpClient::get`] and [`HttpClient::get_document`].
    async fn fetch(
        &self,
        url: &str,
        validators: Option<&Validators>,
        expected: Option<Expected>,
    ) -> Result<Fetched, FetchError> {
        let parsed = parse_url(url)?;
        let host = host_key(&parsed, url)?;
        let headers = conditional_headers(validators);
        let shown = retry::redact(url);
        let max_body_bytes = self.inner.max_body_bytes;
        let result = retry::retry(&self.inner.retry, url, || async {
            let fetched = self.attempt(parsed.clone(), &host, headers.clone(), validators, max_body_bytes).await?;
            if let Some(expected) = expected
                && !fetched.not_modified
                && let Some(found) = expected.mismatch(&fetched.body)
            {
                return Err(Attempt::transient(Failure::NotTheDocument { what: expected.what, found }));
            }
            Ok(fetched)
        })
        .await;
        result.map_err(|e| into_fetch_error(e, &shown))
    }

    /// Streams the body of `url` into the file `dest` instead of memory, retrying like [`HttpClient::get`], and
    /// returns the body's size. For large downloads (a model's weights): memory stays flat whatever the size.
    ///
    /// A retry after a body broke off resumes where it stopped (`Range` + `If-Range` with the strong `ETag` of
    /// the first answer), so a flaky link does not restart a multi-GB file; a server that does not honour the
    /// range, or whose entity changed, answers 200 and the file starts over. Bodies are requested unencoded
    /// (byte ranges of a gzip stream would not line up). A body over `max_body_bytes` fails with
    /// [`FetchError::TooLarge`]; a failure to write fails with [`FetchError::Write`]. Neither is retried. On
    /// failure `dest` may hold part of the body: callers write to a temporary name and rename on success.
    pub async fn download_to(&self, url: &str, dest: &Path, max_body_bytes: u64) -> Result<u64, FetchError> {
        let parsed = parse_url(url)?;
        let host = host_key(&parsed, url)?;
        let shown = retry::redact(url);
        // The strong ETag of the entity being written, once an answer has started the file.
        let entity = Mutex::new(None::<String>);
        let result = retry::retry(&self.inner.retry, url, || {
            self.download_attempt(parsed.clone(), &host, dest, max_body_bytes, &entity)
        })
        .await;
        result.map_err(|e| into_fetch_error(e, &shown))
    }

    /// Waits for the host's turn and sends the request (the body is not read yet).
    async fn send(&self, url: Url, host: &str, headers: HeaderMap) -> Result<reqwest::Response, Attempt<Failure>> {
        self.inner.limiter.wait_turn(host).await;
        self.inner.client.get(url).headers(headers).send().await.map_err(classify_transport)
    }

    /// One download attempt: a 2xx body goes to `dest` chunk by chunk (appended after what an earlier attempt
    /// wrote when the server honours the range); any other answer is classified like [`HttpClient::get`]'s,
    /// reading at most [`ERROR_BODY_CAP`] of it.
    async fn download_attempt(
        &self,
        url: Url,
        host: &str,
        dest: &Path,
        max_body_bytes: u64,
        entity: &Mutex<Option<String>>,
    ) -> Result<u64, Attempt<Failure>> {
        let write_failed = |source| Attempt::Permanent(Failure::Write { path: dest.to_path_buf(), source });
        let set_entity = |etag: Option<String>| *entity.lock().unwrap_or_else(PoisonError::into_inner) = etag;
        let etag = entity.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let have = match etag {
            Some(_) => tokio::fs::metadata(dest).await.map_or(0, |m| m.len()),
            None => 0,
        };
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        // Where the body is asked to start: after what is on disk, or (no range asked) at 0.
        let mut from = 0;
        if let Some(etag) = &etag
            && have > 0
            && let (Ok(range), Ok(if_range)) =
                (HeaderValue::from_str(&format!("bytes={have}-")), HeaderValue::from_str(etag))
        {
            headers.insert(header::RANGE, range);
            headers.insert(header::IF_RANGE, if_range);
            from = have;
        }
        let mut response = self.send(url, host, headers).await?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = retry_after_of(status, response.headers(), SystemTime::now());
            let body = body_prefix(response, ERROR_BODY_CAP).await.unwrap_or_default();
            if status == StatusCode::RANGE_NOT_SATISFIABLE {
                // What was written no longer fits the entity: start over on the next attempt.
                set_entity(None);
                return Err(Attempt::transient(Failure::Status { status: status.as_u16(), body }));
            }
            return Err(status_failure(status, body, retry_after));
        }
        let resumed = status == StatusCode::PARTIAL_CONTENT;
        if resumed && (from == 0 || content_range_start(response.headers()) != Some(from)) {
            set_entity(None);
            let failure = Failure::Status { status: status.as_u16(), body: Bytes::from_static(b"unexpected range") };
            return Err(Attempt::transient(failure));
        }
        let start = if resumed { from } else { 0 };
        if response.content_length().is_some_and(|n| start + n > max_body_bytes) {
            return Err(Attempt::Permanent(Failure::TooLarge { limit: max_body_bytes }));
        }
        // Only a strong validator may stitch two answers together (RFC 9110 §13.1.5).
        set_entity(header_string(response.headers(), header::ETAG).filter(|e| !e.starts_with("W/")));
        let mut file = if resumed {
            tokio::fs::OpenOptions::new().append(true).open(dest).await.map_err(write_failed)?
        } else {
            tokio::fs::File::create(dest).await.map_err(write_failed)?
        };
        let mut written = start;
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => {
                    // Keep what arrived for the next attempt to resume from: tokio's File finishes a pending
                    // write in the background unless flushed, and the next attempt reads the length.
                    file.flush().await.map_err(write_failed)?;
                    return Err(classify_transport(e));
                }
            };
            written += chunk.len() as u64;
            if written > max_body_bytes {
                return Err(Attempt::Permanent(Failure::TooLarge { limit: max_body_bytes }));
            }
            file.write_all(&chunk).await.map_err(write_failed)?;
        }
        // Durable before the caller renames it into place.
        file.sync_all().await.map_err(write_failed)?;
        Ok(written)
    }

    /// One request, body included, classified for the retry loop.
    async fn attempt(
        &self,
        url: Url,
        host: &str,
        headers: HeaderMap,
        validators: Option<&Validators>,
        max_body_bytes: u64,
    ) -> Result<Fetched, Attempt<Failure>> {
        let response = self.send(url, host, headers).await?;
        let status = response.status();
        let final_url = response.url().to_string();
        let retry_after = retry_after_of(status, response.headers(), SystemTime::now());
        let etag = header_string(response.headers(), header::ETAG);
        let last_modified = header_string(response.headers(), header::LAST_MODIFIED);
        let body = read_capped(response, max_body_bytes).await?;
        tracing::debug!(url = %final_url, status = status.as_u16(), bytes = body.len(), "HTTP response");
        if status == StatusCode::NOT_MODIFIED {
            let sent = validators.cloned().unwrap_or_default();
            return Ok(Fetched {
                url: final_url,
                status: status.as_u16(),
                body: Bytes::new(),
                etag: etag.or(sent.etag),
                last_modified: last_modified.or(sent.last_modified),
                not_modified: true,
            });
        }
        if status.is_success() {
            return Ok(Fetched {
                url: final_url,
                status: status.as_u16(),
                body,
                etag,
                last_modified,
                not_modified: false,
            });
        }
        Err(status_failure(status, body, retry_after))
    }
}

/// How much of an error answer is read: enough for any error message, and bounded.
pub const ERROR_BODY_CAP: usize = 64 << 10;

/// The start (at most `limit` bytes) of a response's body, for explaining an error answer without reading
/// an unbounded one. `None` when nothing of it could be read; a body that breaks off keeps what arrived.
pub async fn body_prefix(mut response: reqwest::Response, limit: usize) -> Option<Bytes> {
    let mut body = bytes::BytesMut::new();
    while body.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk[..chunk.len().min(limit - body.len())]),
            Ok(None) => break,
            Err(_) if !body.is_empty() => break,
            Err(_) => return None,
        }
    }
    Some(body.freeze())
}

/// The first byte position of a 206's `Content-Range: bytes first-last/total`.
fn content_range_start(headers: &HeaderMap) -> Option<u64> {
    let value = headers.get(header::CONTENT_RANGE)?.to_str().ok()?;
    value.trim().strip_prefix("bytes ")?.split_once('-')?.0.trim().parse().ok()
}

/// A non-2xx answer for the retry loop: 5xx and 429 are transient (honouring `Retry-After`), others permanent.
fn status_failure(status: StatusCode, body: Bytes, retry_after: Option<Duration>) -> Attempt<Failure> {
    let failure = Failure::Status { status: status.as_u16(), body };
    if is_transient_status(status) {
        Attempt::Transient { error: failure, retry_after }
    } else {
        Attempt::Permanent(failure)
    }
}

/// Reads the whole body, refusing (permanently) one that is or claims to be larger than `limit` bytes.
async fn read_capped(mut response: reqwest::Response, limit: u64) -> Result<Bytes, Attempt<Failure>> {
    let too_large = || Attempt::Permanent(Failure::TooLarge { limit });
    // With gzip on, reqwest reports no length for an encoded body: the declared size is only a first check.
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(classify_transport)? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// What went wrong in one attempt (internal: mapped to [`FetchError`] once retrying ends).
#[derive(Debug)]
enum Failure {
    Status {
        status: u16,
        body: Bytes,
    },
    Transport(reqwest::Error),
    TooLarge {
        limit: u64,
    },
    /// A successful answer that is not the expected document (only [`HttpClient::get_document`]).
    NotTheDocument {
        what: &'static str,
        found: String,
    },
    /// The download's destination could not be written (only [`HttpClient::download_to`]).
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Status { status, .. } => {
                let reason = StatusCode::from_u16(*status).ok().and_then(|s| s.canonical_reason());
                write!(f, "HTTP {status} {}", reason.unwrap_or(""))
            }
            // reqwest's Display hides the cause ("error sending request"); the chain says what really happened.
            Failure::Transport(e) => {
                write!(f, "{e}")?;
                let mut source = std::error::Error::source(e);
                while let Some(cause) = source {
                    write!(f, ": {cause}")?;
                    source = cause.source();
                }
                Ok(())
            }
            Failure::TooLarge { limit } => write!(f, "body larger than {limit} bytes"),
            Failure::NotTheDocument { what, found } => {
                write!(f, "the answer is not {what} ({})", super::sniff::describe_root(found))
            }
            Failure::Write { path, source } => write!(f, "cannot write the body to {}: {source}", path.display()),
        }
    }
}

fn into_fetch_error(err: RetryError<Failure>, url: &str) -> FetchError {
    let url = url.to_owned();
    match err {
        RetryError::GaveUp { attempts, elapsed, last, .. } => {
            FetchError::GaveUp { url, attempts, elapsed, last: last.to_string() }
        }
        RetryError::Permanent(Failure::Status { status, body }) => FetchError::Status { url, status, body },
        RetryError::Permanent(Failure::Transport(source)) => FetchError::Request { url, source },
        RetryError::Permanent(Failure::TooLarge { limit }) => FetchError::TooLarge { url, limit },
        RetryError::Permanent(Failure::Write { path, source }) => FetchError::Write { url, path, source },
        RetryError::Permanent(Failure::NotTheDocument { what, found }) => {
            FetchError::NotTheDocument { url, what, found }
        }
    }
}

/// Transport errors worth retrying: connection trouble, timeouts, and bodies that broke off or could not be
/// decoded (a truncated gzip stream). Builder and redirect-policy errors would fail the same way again.
fn classify_transport(e: reqwest::Error) -> Attempt<Failure> {
    let transient = e.is_connect() || e.is_timeout() || e.is_request() || e.is_body() || e.is_decode();
    if transient { Attempt::transient(Failure::Transport(e)) } else { Attempt::Permanent(Failure::Transport(e)) }
}

/// 5xx (server trouble) and 429 (slow down) are worth retrying; other statuses are answers.
fn is_transient_status(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

/// The server-requested wait of a 503 or 429, if any. `Retry-After` is either delta-seconds or an HTTP-date;
/// a date in the past means "now". Unparseable values are ignored (the backoff schedule applies).
fn retry_after_of(status: StatusCode, headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if status != StatusCode::SERVICE_UNAVAILABLE && status != StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    parse_retry_after(headers.get(header::RETRY_AFTER)?.to_str().ok()?, now)
}

/// Parses a `Retry-After` value (RFC 9110 §10.2.3) relative to `now`.
fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

fn header_string(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_owned)
}

/// `If-None-Match` / `If-Modified-Since` from stored validators. A value that is not a legal header (it came
/// from disk, not from the server) is skipped with a warning: conditional GET is an optimisation only.
fn conditional_headers(validators: Option<&Validators>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let Some(v) = validators else { return headers };
    let pairs = [(header::IF_NONE_MATCH, &v.etag), (header::IF_MODIFIED_SINCE, &v.last_modified)];
    for (name, value) in pairs {
        let Some(value) = value else { continue };
        match HeaderValue::from_str(value) {
            Ok(value) => {
                headers.insert(name, value);
            }
            Err(_) => {
                tracing::warn!(header = %name, "stored validator is not a valid header value; ignored")
            }
        }
    }
    headers
}

fn parse_url(url: &str) -> Result<Url, FetchError> {
    let invalid = |reason: String| FetchError::InvalidUrl { url: retry::redact(url), reason };
    let parsed = Url::parse(url).map_err(|e| invalid(e.to_string()))?;
    match parsed.scheme() {
        "http" | "https" => Ok(parsed),
        other => Err(invalid(format!("unsupported scheme {other:?}"))),
    }
}

/// The politeness key: `host:port` (port defaulted from the scheme), so two local test servers differ.
fn host_key(url: &Url, raw: &str) -> Result<String, FetchError> {
    let host = url
        .host_str()
        .ok_or_else(|| FetchError::InvalidUrl { url: retry::redact(raw), reason: "no host".to_owned() })?;
    let port = url.port_or_known_default().unwrap_or(0);
    Ok(format!("{host}:{port}"))
}

/// Spaces request starts per host by at least `interval`.
///
/// Each caller reserves the next free slot for its host under a short lock and then sleeps until that slot
/// outside it, so concurrent callers are served in arrival order without holding a lock across an await.
/// A caller cancelled while waiting leaves its slot reserved: the next request waits one interval longer
/// than strictly needed, which errs on the polite side.
struct HostLimiter {
    interval: Duration,
    next_slot: Mutex<HashMap<String, Instant>>,
}

impl HostLimiter {
    fn new(interval: Duration) -> Self {
        Self { interval, next_slot: Mutex::new(HashMap::new()) }
    }

    /// Waits until this caller may start a request to `host`.
    async fn wait_turn(&self, host: &str) {
        if self.interval.is_zero() {
            return;
        }
        let slot = self.reserve(host, Instant::now());
        tokio::time::sleep_until(slot).await;
    }

    /// Claims the earliest slot for `host` at or after `now` and pushes the host's next slot one interval on.
    fn reserve(&self, host: &str, now: Instant) -> Instant {
        // A poisoned map is still a valid map of instants; politeness must not panic the fetcher.
        let mut slots = self.next_slot.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = slots.get(host).map_or(now, |&next| next.max(now));
        slots.insert(host.to_owned(), slot + self.interval);
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(header::HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn retry_after_seconds() {
        let now = SystemTime::now();
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 5 ", now), Some(Duration::from_secs(5)));
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn retry_after_http_date() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now), Some(Duration::from_secs(30)));
        // A date in the past means "retry now".
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_only_on_503_and_429() {
        let h = headers(&[("retry-after", "7")]);
        let now = SystemTime::now();
        assert_eq!(retry_after_of(StatusCode::SERVICE_UNAVAILABLE, &h, now), Some(Duration::from_secs(7)));
        assert_eq!(retry_after_of(StatusCode::TOO_MANY_REQUESTS, &h, now), Some(Duration::from_secs(7)));
        assert_eq!(retry_after_of(StatusCode::INTERNAL_SERVER_ERROR, &h, now), None);
        assert_eq!(retry_after_of(StatusCode::SERVICE_UNAVAILABLE, &HeaderMap::new(), now), None);
    }

    #[test]
    fn transient_statuses() {
        assert!(is_transient_status(StatusCode::INTERNAL_SERVER_ERROR));
        assert!(is_transient_status(StatusCode::SERVICE_UNAVAILABLE));
        assert!(is_transient_status(StatusCode::TOO_MANY_REQUESTS));
        assert!(!is_transient_status(StatusCode::BAD_REQUEST));
        assert!(!is_transient_status(StatusCode::NOT_FOUND));
    }

    #[test]
    fn user_agent_names_contact() {
        let mut cfg = HttpConfig::default();
        assert!(cfg.user_agent().starts_with("Papertide/"));
        assert!(!cfg.user_agent().contains("mailto"));
        cfg.contact = Some("me@example.org".into());
        assert!(cfg.user_agent().ends_with("; mailto:me@example.org)"));
    }

    #[test]
    fn host_key_includes_port() {
        let key = |u: &str| host_key(&Url::parse(u).unwrap(), u).unwrap();
        assert_eq!(key("https://export.arxiv.org/api/query"), "export.arxiv.org:443");
        assert_eq!(key("http://127.0.0.1:8080/x"), "127.0.0.1:8080");
    }

    #[test]
    fn rejects_bad_urls() {
        assert!(matches!(parse_url("not a url"), Err(FetchError::InvalidUrl { .. })));
        assert!(matches!(parse_url("ftp://arxiv.org/x"), Err(FetchError::InvalidUrl { .. })));
    }

    #[test]
    fn limiter_reserves_slots_per_host() {
        let limiter = HostLimiter::new(Duration::from_secs(3));
        let t0 = Instant::now();
        let secs = Duration::from_secs;
        assert_eq!(limiter.reserve("a:80", t0), t0);
        assert_eq!(limiter.reserve("b:80", t0), t0, "another host is not delayed");
        assert_eq!(limiter.reserve("a:80", t0), t0 + secs(3));
        // Concurrent callers queue up one interval apart.
        assert_eq!(limiter.reserve("a:80", t0 + secs(1)), t0 + secs(6));
        // A host idle for longer than the interval goes at once.
        assert_eq!(limiter.reserve("b:80", t0 + secs(10)), t0 + secs(10));
    }

    #[tokio::test]
    async fn limiter_waits_in_real_time() {
        let limiter = HostLimiter::new(Duration::from_millis(100));
        let start = Instant::now();
        limiter.wait_turn("a:80").await;
        limiter.wait_turn("a:80").await;
        assert!(start.elapsed() >= Duration::from_millis(100));
    }

    #[tokio::test]
    async fn zero_interval_disables_limiter() {
        let limiter = HostLimiter::new(Duration::ZERO);
        let start = Instant::now();
        for _ in 0..100 {
            limiter.wait_turn("a:80").await;
        }
        assert!(start.elapsed() < Duration::from_secs(1));
        assert!(limiter.next_slot.lock().expect("lock").is_empty(), "nothing is reserved");
    }
}
