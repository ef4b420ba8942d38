//! Retry decorator: exponential backoff with jitter, server-requested waits, and an overall time budget.
//!
//! Every network operation (arXiv, the LLM, model downloads) runs through [`retry`]. The operation classifies
//! each failure as [`Attempt::Transient`] (try again, optionally after a server-requested delay such as HTTP
//! `Retry-After`) or [`Attempt::Permanent`] (stop at once). Transient failures are retried until the next wait would push the
//! total time past [`RetryPolicy::max_elapsed`]; the resulting [`RetryError::GaveUp`] names the operation, the
//! attempt count, the elapsed time and the last failure, so a log line alone explains what happened.
//!
//! # Why the `backoff` crate is confined to this file
//!
//! The product design asks for the `backoff` crate, which is flagged unmaintained (RUSTSEC-2025-0012, and
//! RUSTSEC-2024-0384 for its `instant` dependency). Everything `backoff`-specific therefore lives in the private
//! [`Schedule`] type below: the public API ([`RetryPolicy`], [`Attempt`], [`RetryError`], [`retry`]) mentions
//! no `backoff` type, so swapping to the maintained `backon` crate touches only this file.
//!
//! `backoff` supplies the jittered exponential interval sequence. The loop itself is ours rather than
//! `backoff::future::retry`, because that function lets a server-supplied `retry_after` bypass the
//! elapsed-time budget (a server answering `Retry-After` forever would keep us retrying forever) and it
//! reports neither the attempt count nor the elapsed time. All time is read from [`tokio::time::Instant`], so
//! tests can run under `tokio::time::pause()`.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use backoff::backoff::Backoff;
use tokio::time::Instant;

/// How long and how often to retry. Waits grow from `initial_interval` by `multiplier` up to `max_interval`;
/// each wait is then drawn uniformly from `[w * (1 - randomization_factor), w * (1 + randomization_factor)]`
/// so that many clients failing together do not retry in lockstep. Note the jitter is applied *after* the
/// cap, so a single wait may reach `max_interval * (1 + randomization_factor)`.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// The first wait (before jitter).
    pub initial_interval: Duration,
    /// The largest un-jittered wait.
    pub max_interval: Duration,
    /// Growth factor between consecutive waits (>= 1.0).
    pub multiplier: f64,
    /// Jitter as a fraction of the wait, in `[0, 1]`.
    pub randomization_factor: f64,
    /// Total time budget, measured from the first attempt: a retry whose wait would end after this is not
    /// made, and the call gives up instead.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    /// Patient defaults for a polite batch client: 1 s doubling to 60 s, ±50 % jitter, 5 minutes in total.
    fn default() -> Self {
        Self {
            initial_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(60),
            multiplier: 2.0,
            randomization_factor: 0.5,
            max_elapsed: Duration::from_secs(5 * 60),
        }
    }
}

impl RetryPolicy {
    /// Tiny intervals for tests against a local server: 10 ms doubling to 50 ms, 2 s budget.
    pub fn for_tests() -> Self {
        Self {
            initial_interval: Duration::from_millis(10),
            max_interval: Duration::from_millis(50),
            multiplier: 2.0,
            randomization_factor: 0.5,
            max_elapsed: Duration::from_secs(2),
        }
    }
}

/// The outcome of one failed attempt, as classified by the operation.
#[derive(Debug)]
pub enum Attempt<E> {
    /// Worth retrying. `retry_after` (e.g. from an HTTP `Retry-After` header) is a floor on the next wait:
    /// never retrying sooner than the server asked is the point of the header. A zero or absent value leaves
    /// our own schedule in charge, which protects a server that keeps answering `Retry-After: 0` (a pure
    /// override let such a server draw dozens of requests per second). A positive value also caps the wait at
    /// [`RETRY_AFTER_CAP`] times itself: a server pacing us with `Retry-After: 1` (arXiv's OAI-PMH flow
    /// control) is asking for a short wait, and a schedule grown to a minute served it badly (waits reached
    /// 56 s in a fault series). The wait is still bound by the overall budget: if it would end after
    /// `max_elapsed`, [`retry`] gives up at once rather than sleep only to give up later.
    Transient {
        /// What went wrong.
        error: E,
        /// A server-requested wait before the next attempt.
        retry_after: Option<Duration>,
    },
    /// Retrying cannot help (e.g. HTTP 404, a malformed request); [`retry`] returns it immediately.
    Permanent(E),
}

impl<E> Attempt<E> {
    /// A transient failure with no server-requested wait.
    pub fn transient(error: E) -> Self {
        Attempt::Transient { error, retry_after: None }
    }
}

/// Why [`retry`] returned without a value.
#[derive(Debug)]
pub enum RetryError<E> {
    /// The operation reported a permanent failure; no further attempts were made.
    Permanent(E),
    /// Transient failures continued until the time budget ran out.
    GaveUp {
        /// The operation, as passed to [`retry`] with secret-looking query values redacted.
        what: String,
        /// Attempts made, including the first.
        attempts: u32,
        /// Time from the first attempt until giving up.
        elapsed: Duration,
        /// The last transient failure.
        last: E,
    },
}

impl<E: fmt::Display> fmt::Display for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryError::Permanent(e) => write!(f, "{e}"),
            RetryError::GaveUp { what, attempts, elapsed, last } => {
                write!(f, "gave up on {what} after {attempts} attempt(s) in {:.1}s: {last}", elapsed.as_secs_f64())
            }
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for RetryError<E> {}

/// Runs `op` until it succeeds, fails permanently, or the policy's time budget is spent.
///
/// `what` names the operation (for HTTP: the URL) in retry logs and in [`RetryError::GaveUp`]; values of query
/// parameters that look like credentials (`key`, `token`, `api_key`, ...) are redacted first. Each retry is
/// logged at `warn` with the attempt number, the wait and the failure.
pub async fn retry<T, E, F, Fut>(policy: &RetryPolicy, what: &str, mut op: F) -> Result<T, RetryError<E>>
where
    E: fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Attempt<E>>>,
{
    let what = redact(what);
    let started = Instant::now();
    let mut schedule = Schedule::new(policy);
    let mut attempts: u32 = 0;
    loop {
        attempts += 1;
        let (error, retry_after) = match op().await {
            Ok(value) => return Ok(value),
            Err(Attempt::Permanent(error)) => return Err(RetryError::Permanent(error)),
            Err(Attempt::Transient { error, retry_after }) => (error, retry_after),
        };
        let elapsed = started.elapsed();
        let wait = wait_for(schedule.next_wait(), retry_after);
        if elapsed + wait > policy.max_elapsed {
            return Err(RetryError::GaveUp { what, attempts, elapsed, last: error });
        }
        tracing::warn!(
            target: "papertide::retry",
            what = %what,
            attempt = attempts,
            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            server_requested = retry_after.is_some(),
            error = %error,
            "transient failure, retrying"
        );
        tokio::time::sleep(wait).await;
    }
}

/// How many times a server's positive `Retry-After` the wait may grow to (see [`Attempt::Transient`]).
pub const RETRY_AFTER_CAP: u32 = 4;

/// The next wait: the schedule's, kept between the server's `Retry-After` and [`RETRY_AFTER_CAP`] times it.
fn wait_for(backoff: Duration, retry_after: Option<Duration>) -> Duration {
    match retry_after {
        Some(asked) if !asked.is_zero() => backoff.clamp(asked, asked * RETRY_AFTER_CAP),
        _ => backoff,
    }
}

/// The jittered exponential interval sequence; the only place that names `backoff` types.
struct Schedule {
    inner: backoff::ExponentialBackoff,
}

impl Schedule {
    fn new(policy: &RetryPolicy) -> Self {
        let mut inner = backoff::ExponentialBackoffBuilder::new()
            .with_initial_interval(policy.initial_interval)
            .with_max_interval(policy.max_interval)
            .with_multiplier(policy.multiplier)
            .with_randomization_factor(policy.randomization_factor)
            // The budget is enforced by `retry` with tokio's clock (pausable in tests), not by `backoff`.
            .with_max_elapsed_time(None)
            .build();
        inner.reset();
        Self { inner }
    }

    /// The next wait. Without a time budget `backoff` never ends the sequence; the fallback is defensive.
    fn next_wait(&mut self) -> Duration {
        self.inner.next_backoff().unwrap_or(self.inner.max_interval)
    }
}

/// Query parameter names whose values must never reach a log line.
const SECRET_PARAMS: &[&str] = &["key", "token", "api_key", "apikey", "access_token", "password", "secret"];

/// Replaces the values of credential-like query parameters in a URL-ish string with `REDACTED`.
///
/// Works on the raw text (no URL parsing) so it also handles strings that are not valid URLs. Names are
/// compared case-insensitively; OAI `resumptionToken` is not a secret and is kept (the match is exact).
pub fn redact(what: &str) -> String {
    let Some((base, rest)) = what.split_once('?') else {
        return what.to_owned();
    };
    let (query, fragment) = match rest.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (rest, None),
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret(name) => format!("{name}=REDACTED"),
            _ => pair.to_owned(),
        })
        .collect();
    let mut out = format!("{base}?{}", pairs.join("&"));
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

fn is_secret(name: &str) -> bool {
    SECRET_PARAMS.iter().any(|s| s.eq_ignore_ascii_case(name))
}

// Tokio's `test-util` feature (paused clock) is not enabled in this crate, so these tests use real time with
// millisecond intervals and assert bounds rather than exact instants.
#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// A policy without jitter so waits are predictable: 10 ms, 20 ms, 40 ms, 40 ms, ...
    fn exact(max_elapsed: Duration) -> RetryPolicy {
        RetryPolicy {
            initial_interval: Duration::from_millis(10),
            max_interval: Duration::from_millis(40),
            multiplier: 2.0,
            randomization_factor: 0.0,
            max_elapsed,
        }
    }

    #[tokio::test]
    async fn retries_transient_then_succeeds() {
        let calls = Cell::new(0);
        let start = Instant::now();
        let out: Result<u32, RetryError<String>> = retry(&exact(Duration::from_secs(10)), "op", || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move { if n < 3 { Err(Attempt::transient(format!("fail {n}"))) } else { Ok(n) } }
        })
        .await;
        assert_eq!(out.ok(), Some(3));
        // Waited 10 ms, then 20 ms.
        assert!(start.elapsed() >= Duration::from_millis(30));
    }

    #[tokio::test]
    async fn permanent_error_stops_at_once() {
        let calls = Cell::new(0);
        let out: Result<(), _> = retry(&exact(Duration::from_secs(10)), "op", || {
            calls.set(calls.get() + 1);
            async { Err(Attempt::Permanent("nope")) }
        })
        .await;
        assert!(matches!(out, Err(RetryError::Permanent("nope"))));
        assert_eq!(calls.get(), 1);
    }

    #[tokio::test]
    async fn retry_after_is_honoured() {
        // The schedule alone would wait 10 ms; the server asks for 150 ms.
        let policy = exact(Duration::from_secs(60));
        let calls = Cell::new(0);
        let start = Instant::now();
        let out: Result<(), RetryError<&str>> = retry(&policy, "op", || {
            calls.set(calls.get() + 1);
            let first = calls.get() == 1;
            async move {
                if first {
                    Err(Attempt::Transient { error: "busy", retry_after: Some(Duration::from_millis(150)) })
                } else {
                    Ok(())
                }
            }
        })
        .await;
        assert!(out.is_ok());
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(150) && elapsed < Duration::from_secs(5), "{elapsed:?}");
    }

    #[test]
    fn a_short_retry_after_caps_a_grown_schedule() {
        let s = Duration::from_secs;
        // The schedule has grown to 56 s; the server asks for 1 s: wait at most 4 s.
        assert_eq!(wait_for(s(56), Some(s(1))), s(4));
        // Never sooner than asked, and a long request is honoured whole.
        assert_eq!(wait_for(Duration::from_millis(10), Some(s(2))), s(2));
        assert_eq!(wait_for(s(3), Some(s(120))), s(120));
        // Within the band the schedule decides; `Retry-After: 0` or none leaves it alone.
        assert_eq!(wait_for(s(3), Some(s(1))), s(3));
        assert_eq!(wait_for(s(30), Some(Duration::ZERO)), s(30));
        assert_eq!(wait_for(s(30), None), s(30));
    }

    #[tokio::test]
    async fn zero_retry_after_does_not_bypass_backoff() {
        let calls = Cell::new(0);
        let start = Instant::now();
        let out: Result<(), RetryError<&str>> = retry(&exact(Duration::from_secs(60)), "op", || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                if n < 3 {
                    Err(Attempt::Transient { error: "busy", retry_after: Some(Duration::ZERO) })
                } else {
                    Ok(())
                }
            }
        })
        .await;
        assert!(out.is_ok());
        assert!(start.elapsed() >= Duration::from_millis(30), "backoff 10 + 20 ms still applies");
    }

    #[tokio::test]
    async fn retry_after_beyond_budget_gives_up_without_waiting() {
        let start = Instant::now();
        let out: Result<(), RetryError<&str>> = retry(&exact(Duration::from_secs(10)), "op", || async {
            Err(Attempt::Transient { error: "busy", retry_after: Some(Duration::from_secs(3600)) })
        })
        .await;
        assert!(matches!(out, Err(RetryError::GaveUp { attempts: 1, .. })));
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn gives_up_after_max_elapsed_with_context() {
        let calls = Cell::new(0);
        let start = Instant::now();
        let out: Result<(), RetryError<String>> =
            retry(&exact(Duration::from_millis(300)), "https://example.org/x?api_key=s3cret&id=1", || {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move { Err(Attempt::transient(format!("HTTP 500 (#{n})"))) }
            })
            .await;
        let total = start.elapsed();
        let err = out.expect_err("must give up");
        let RetryError::GaveUp { attempts, elapsed, .. } = &err else { panic!("wrong variant: {err}") };
        // Nominally waits 10, 20, then 40 ms six times (t = 270 ms) and gives up since 270 + 40 > 300: nine
        // attempts. Sleeps overshoot on a loaded machine, so only bound the count.
        assert!((2..=9).contains(attempts), "attempts {attempts}");
        assert_eq!(*attempts, calls.get());
        assert!(*elapsed <= total && total < Duration::from_secs(3));
        let expected = format!(
            "gave up on https://example.org/x?api_key=REDACTED&id=1 after {attempts} attempt(s) in {:.1}s: HTTP 500 (#{attempts})",
            elapsed.as_secs_f64()
        );
        assert_eq!(err.to_string(), expected);
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let policy = RetryPolicy {
            initial_interval: Duration::from_millis(100),
            max_interval: Duration::from_millis(800),
            multiplier: 2.0,
            randomization_factor: 0.5,
            max_elapsed: Duration::from_secs(60),
        };
        let mut seen_low = false;
        let mut seen_high = false;
        for _ in 0..200 {
            let mut schedule = Schedule::new(&policy);
            let mut nominal = policy.initial_interval;
            for _ in 0..8 {
                let wait = schedule.next_wait();
                let (lo, hi) = (nominal.mul_f64(0.5), nominal.mul_f64(1.5) + Duration::from_nanos(1));
                assert!(wait >= lo && wait <= hi, "wait {wait:?} outside [{lo:?}, {hi:?}]");
                seen_low |= wait < nominal;
                seen_high |= wait > nominal;
                nominal = (nominal * 2).min(policy.max_interval);
            }
        }
        assert!(seen_low && seen_high, "jitter should spread waits on both sides");
    }

    #[test]
    fn redacts_only_secret_params() {
        assert_eq!(
            redact("http://h/p?key=a&resumptionToken=123|4&Token=z#f"),
            "http://h/p?key=REDACTED&resumptionToken=123|4&Token=REDACTED#f"
        );
        assert_eq!(redact("http://h/p"), "http://h/p");
        assert_eq!(redact("http://h/p?flag&id=1"), "http://h/p?flag&id=1");
    }
}
