//! `PAPERTIDE_*` environment variables: the one error every configuration section reports a bad value with,
//! and the checks they share. Below `config` and the sections it aggregates (`llm`, `related`) in the module
//! graph, so a section does not depend on the aggregate.

/// A variable whose value cannot be used, named with its value and what it must be.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("environment variable {name}={value:?} is invalid: {reason}")]
pub struct EnvError {
    pub name: &'static str,
    pub value: String,
    pub reason: String,
}

impl EnvError {
    pub fn new(name: &'static str, value: impl Into<String>, reason: impl Into<String>) -> Self {
        EnvError { name, value: value.into(), reason: reason.into() }
    }
}

/// An `http://` or `https://` URL, without its trailing slash.
pub fn http_url(name: &'static str, value: &str) -> Result<String, EnvError> {
    let v = value.trim();
    if v.starts_with("http://") || v.starts_with("https://") {
        Ok(v.trim_end_matches('/').to_string())
    } else {
        Err(EnvError::new(name, value, "must be an http(s) URL"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_normalised() {
        assert_eq!(http_url("X", " https://a.org/v1/ ").unwrap(), "https://a.org/v1");
        let e = http_url("PAPERTIDE_X", "ftp://a").unwrap_err();
        assert_eq!(e.to_string(), "environment variable PAPERTIDE_X=\"ftp://a\" is invalid: must be an http(s) URL");
    }
}
