//! Every log line of a test binary, at TRACE, from all crates, kept in memory: for tests that check what must
//! never be logged (API keys, a reader's stars). Call [`capture`] first; the subscriber is global to the
//! binary, so [`text`] holds the lines of every test in it.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

static LOGS: OnceLock<&'static Mutex<Vec<u8>>> = OnceLock::new();

struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(logs) = LOGS.get() {
            logs.lock().unwrap().extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber (once per binary).
pub fn capture() {
    LOGS.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(|| LogWriter)
            .with_ansi(false)
            .try_init();
        Box::leak(Box::new(Mutex::new(Vec::new())))
    });
}

/// Everything logged so far.
pub fn text() -> String {
    LOGS.get().map(|l| String::from_utf8_lossy(&l.lock().unwrap()).into_owned()).unwrap_or_default()
}
