//! An incremental Server-Sent Events parser (the WHATWG event-stream format) for upstream LLM streams.
//!
//! Network chunks split the stream anywhere: inside a line, between `\r` and `\n`, inside a UTF-8 sequence.
//! The parser keeps the unfinished line as bytes and only decodes complete lines, so none of that matters.

/// One dispatched event: its `event:` name (`message` when none was given) and its `data:` lines joined by `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub event: String,
    pub data: String,
}

/// An event stream this client will not buffer (a server that never ends a line or an event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    #[error("an event-stream line exceeds 4 MiB")]
    LineTooLong,
    #[error("an event-stream event's data exceeds 4 MiB")]
    EventTooLarge,
}

#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    /// The previous chunk ended in `\r`: a `\n` starting the next one belongs to that line end.
    skip_lf: bool,
    event: Option<String>,
    data: Option<String>,
}

/// A stream that never ends a line (or an event) would otherwise grow these buffers without bound.
const MAX_LINE: usize = 4 * 1024 * 1024;

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes; returns the events they complete. Errors only on a line, or an event's data,
    /// longer than 4 MiB.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        let mut out = Vec::new();
        for &b in chunk {
            if std::mem::take(&mut self.skip_lf) && b == b'\n' {
                continue;
            }
            match b {
                b'\n' | b'\r' => {
                    self.skip_lf = b == b'\r';
                    let line = std::mem::take(&mut self.line);
                    self.line(&String::from_utf8_lossy(&line), &mut out)?;
                }
                _ => {
                    if self.line.len() >= MAX_LINE {
                        return Err(SseError::LineTooLong);
                    }
                    self.line.push(b);
                }
            }
        }
        Ok(out)
    }

    /// The stream ended: an unterminated last line and event are dispatched (servers that omit the final blank
    /// line after `data: [DONE]` are common enough to be worth the leniency).
    pub fn finish(&mut self) -> Option<SseEvent> {
        let mut out = Vec::new();
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            // An over-long event at the very end is dropped: the caller then sees a stream cut short.
            if self.line(&String::from_utf8_lossy(&line), &mut out).is_err() {
                return None;
            }
        }
        self.line("", &mut out).ok()?;
        out.pop()
    }

    fn line(&mut self, line: &str, out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        if line.is_empty() {
            if let Some(data) = self.data.take() {
                out.push(SseEvent { event: self.event.take().unwrap_or_else(|| "message".into()), data });
            }
            self.event = None;
            return Ok(());
        }
        if line.starts_with(':') {
            return Ok(()); // a comment (keep-alive)
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => match &mut self.data {
                Some(d) => {
                    if d.len() + 1 + value.len() > MAX_LINE {
                        self.data = None;
                        return Err(SseError::EventTooLarge);
                    }
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            "event" => self.event = Some(value.to_string()),
            _ => {} // id, retry and unknown fields mean nothing to a one-shot completion stream
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        let mut out: Vec<SseEvent> = chunks.iter().flat_map(|c| p.feed(c).unwrap()).collect();
        out.extend(p.finish());
        out
    }

    fn data(events: &[SseEvent]) -> Vec<&str> {
        events.iter().map(|e| e.data.as_str()).collect()
    }

    #[test]
    fn every_split_point_gives_the_same_events() {
        let stream = "data: {\"a\":\"é€\"}\r\n\r\n: keep-alive\n\nevent: x\ndata: one\ndata: two\n\ndata:[DONE]\n\n";
        let whole = all(&[stream.as_bytes()]);
        assert_eq!(data(&whole), ["{\"a\":\"é€\"}", "one\ntwo", "[DONE]"]);
        assert_eq!(whole[1].event, "x");
        assert_eq!(whole[2].event, "message");
        let bytes = stream.as_bytes();
        for i in 0..bytes.len() {
            for j in i..bytes.len() {
                assert_eq!(all(&[&bytes[..i], &bytes[i..j], &bytes[j..]]), whole, "split at {i}, {j}");
            }
        }
    }

    #[test]
    fn bare_cr_line_ends_and_unterminated_tail() {
        assert_eq!(data(&all(&[b"data: a\r\rdata: b\r", b"\n\r\ndata: c"])), ["a", "b", "c"]);
        assert_eq!(data(&all(&[b"data\n\n"])), [""]);
        assert!(all(&[b": only a comment\n\n"]).is_empty());
    }

    #[test]
    fn endless_lines_and_events_are_refused() {
        let mut p = SseParser::new();
        let long = vec![b'x'; MAX_LINE + 1];
        assert!(p.feed(&long).unwrap_err().to_string().contains("line exceeds 4 MiB"));
        // Many short data lines that never end the event.
        let mut p = SseParser::new();
        let line = format!("data: {}\n", "y".repeat(1 << 16));
        let err = (0..100).find_map(|_| p.feed(line.as_bytes()).err()).expect("refused before 6.4 MiB").to_string();
        assert!(err.contains("data exceeds 4 MiB"), "{err}");
    }
}
