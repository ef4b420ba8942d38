//! `ArxivId`: an arXiv identifier, validated at the edge.
//!
//! Two schemes exist. New style (since April 2007): `YYMM.NNNN` (until 2014) or `YYMM.NNNNN`, optionally
//! followed by `vN`. Old style: `archive[.SUBJ]/YYMMNNN`, e.g. `hep-th/9901001` or `math.GT/0309136`.
//! The canonical form never carries the version; the version is kept beside it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a valid id looks like, for error messages shown to users.
pub const VALID_ID_HELP: &str = "a valid arXiv id looks like 2401.01234, 2401.01234v3, 0704.0001 or hep-th/9901001v2";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid arXiv id {input:?}: {reason}; {VALID_ID_HELP}")]
pub struct IdError {
    pub input: String,
    pub reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArxivId {
    canonical: String,
    version: Option<u32>,
}

impl ArxivId {
    /// Parses an id, also accepting the usual prefixes people paste (`arXiv:`, `https://arxiv.org/abs/`,
    /// `oai:arXiv.org:`) and surrounding white space.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let err = |reason| IdError { input: input.chars().take(80).collect(), reason };
        let mut s = input.trim();
        for prefix in [
            "https://arxiv.org/abs/",
            "http://arxiv.org/abs/",
            "https://arxiv.org/pdf/",
            "http://arxiv.org/pdf/",
            "oai:arXiv.org:",
            "arXiv:",
            "arxiv:",
        ] {
            if let Some(rest) = s.strip_prefix(prefix) {
                s = rest;
                break;
            }
        }
        if s.is_empty() {
            return Err(err("it is empty"));
        }
        if s.len() > 40 {
            return Err(err("it is too long"));
        }
        let (body, version) = split_version(s).map_err(err)?;
        if let Some((archive, number)) = body.split_once('/') {
            validate_old(archive, number).map_err(err)?;
        } else {
            validate_new(body).map_err(err)?;
        }
        Ok(ArxivId { canonical: body.to_string(), version })
    }

    /// The id without version, e.g. `2401.01234` or `hep-th/9901001`.
    pub fn as_str(&self) -> &str {
        &self.canonical
    }

    pub fn version(&self) -> Option<u32> {
        self.version
    }

    /// The same id without its version.
    pub fn unversioned(&self) -> ArxivId {
        ArxivId { canonical: self.canonical.clone(), version: None }
    }

    pub fn with_version(&self, version: Option<u32>) -> ArxivId {
        ArxivId { canonical: self.canonical.clone(), version }
    }

    /// The id with its version when it has one (`2401.01234v3`).
    pub fn versioned_string(&self) -> String {
        match self.version {
            Some(v) => format!("{}v{v}", self.canonical),
            None => self.canonical.clone(),
        }
    }

    pub fn is_old_style(&self) -> bool {
        self.canonical.contains('/')
    }

    /// `YYMM` of the submission month, from either scheme.
    pub fn yymm(&self) -> &str {
        match self.canonical.split_once('/') {
            Some((_, n)) => &n[..4],
            None => &self.canonical[..4],
        }
    }
}

fn split_version(s: &str) -> Result<(&str, Option<u32>), &'static str> {
    match s.rfind('v') {
        // `v` can only be a version marker after the numeric part (old-style archives contain no `v`
        // followed by digits only at the end, but e.g. `solv-int/9901001` contains a `v` earlier).
        Some(pos) if pos > 0 && s[pos + 1..].chars().all(|c| c.is_ascii_digit()) && !s[..pos].ends_with('/') => {
            let digits = &s[pos + 1..];
            if digits.is_empty() {
                return Err("the version after `v` is missing");
            }
            if !s[..pos].ends_with(|c: char| c.is_ascii_digit()) {
                return Err("the version must follow the paper number");
            }
            let v: u32 = digits.parse().map_err(|_| "the version number is too large")?;
            if v == 0 {
                return Err("versions start at v1");
            }
            Ok((&s[..pos], Some(v)))
        }
        _ => Ok((s, None)),
    }
}

fn validate_new(body: &str) -> Result<(), &'static str> {
    let (yymm, num) = body.split_once('.').ok_or("it has neither the YYMM.NNNNN nor the archive/YYMMNNN shape")?;
    if yymm.len() != 4 || !yymm.bytes().all(|b| b.is_ascii_digit()) {
        return Err("the part before the dot must be four digits (YYMM)");
    }
    let month: u32 = yymm[2..].parse().unwrap_or(0);
    if !(1..=12).contains(&month) {
        return Err("the month in YYMM must be 01 to 12");
    }
    if !num.bytes().all(|b| b.is_ascii_digit()) {
        return Err("the paper number must be digits");
    }
    // Four-digit numbers were used until 1412, five digits since 1501.
    let year: u32 = yymm[..2].parse().unwrap_or(0);
    let expected = if year >= 15 { 5 } else { 4 };
    if year < 7 || (year == 7 && month < 4) {
        return Err("new-style ids start in April 2007 (0704)");
    }
    if num.len() != expected {
        return Err(if expected == 5 {
            "ids since 2015 have five digits after the dot"
        } else {
            "ids before 2015 have four digits after the dot"
        });
    }
    Ok(())
}

fn validate_old(archive: &str, number: &str) -> Result<(), &'static str> {
    let (name, subject) = match archive.split_once('.') {
        Some((n, s)) => (n, Some(s)),
        None => (archive, None),
    };
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') {
        return Err("the archive name must be lower-case letters and dashes (e.g. hep-th)");
    }
    if let Some(subj) = subject
        && (subj.len() != 2 || !subj.bytes().all(|b| b.is_ascii_uppercase()))
    {
        return Err("the subject class after the archive must be two upper-case letters (e.g. math.GT)");
    }
    if number.len() != 7 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err("old-style ids have seven digits after the slash (YYMMNNN)");
    }
    let month: u32 = number[2..4].parse().unwrap_or(0);
    if !(1..=12).contains(&month) {
        return Err("the month in YYMMNNN must be 01 to 12");
    }
    Ok(())
}

impl fmt::Display for ArxivId {
    /// Displays the versioned form when a version is known.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.version {
            Some(v) => write!(f, "{}v{v}", self.canonical),
            None => f.write_str(&self.canonical),
        }
    }
}

impl FromStr for ArxivId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ArxivId::parse(s)
    }
}

impl Serialize for ArxivId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for ArxivId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ArxivId::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_documented_shapes() {
        let id = ArxivId::parse("2401.01234v3").unwrap();
        assert_eq!(id.as_str(), "2401.01234");
        assert_eq!(id.version(), Some(3));
        assert_eq!(id.to_string(), "2401.01234v3");
        assert_eq!(ArxivId::parse("0704.0001").unwrap().as_str(), "0704.0001");
        let old = ArxivId::parse("hep-th/9901001v2").unwrap();
        assert_eq!((old.as_str(), old.version()), ("hep-th/9901001", Some(2)));
        assert_eq!(ArxivId::parse("math.GT/0309136").unwrap().as_str(), "math.GT/0309136");
        assert_eq!(ArxivId::parse("solv-int/9901001").unwrap().as_str(), "solv-int/9901001");
        assert_eq!(ArxivId::parse(" arXiv:2401.01234 ").unwrap().as_str(), "2401.01234");
        assert_eq!(ArxivId::parse("https://arxiv.org/abs/2401.01234v1").unwrap().version(), Some(1));
        assert_eq!(ArxivId::parse("oai:arXiv.org:0804.2273").unwrap().as_str(), "0804.2273");
        assert_eq!(ArxivId::parse("1412.9999").unwrap().yymm(), "1412");
    }

    #[test]
    fn rejects_with_a_helpful_message() {
        for bad in [
            "",
            "abc",
            "2401.1234",
            "1401.12345",
            "2413.01234",
            "2401.01234v",
            "2401.01234v0",
            "0701.0001",
            "HEP-TH/9901001",
            "hep-th/990100",
            "math.gt/0309136",
            "2401.0123a",
            "../../etc/passwd",
            "<script>alert(1)</script>",
            "2401.01234v99999999999",
        ] {
            let e = ArxivId::parse(bad).unwrap_err();
            assert!(e.to_string().contains("a valid arXiv id looks like"), "{bad}: {e}");
        }
    }

    proptest! {
        #[test]
        fn new_style_round_trips(yy in 15u32..99, mm in 1u32..=12, n in 0u32..100_000, v in proptest::option::of(1u32..50)) {
            let s = format!("{yy:02}{mm:02}.{n:05}{}", v.map(|v| format!("v{v}")).unwrap_or_default());
            let id = ArxivId::parse(&s).unwrap();
            prop_assert_eq!(id.to_string(), s.clone());
            prop_assert_eq!(id.version(), v);
            prop_assert_eq!(ArxivId::parse(&id.to_string()).unwrap(), id);
        }

        #[test]
        fn old_style_round_trips(archive in "(hep-th|astro-ph|math|cond-mat|quant-ph)", yy in 91u32..=99, mm in 1u32..=12, n in 0u32..1000, v in proptest::option::of(1u32..20)) {
            let s = format!("{archive}/{yy:02}{mm:02}{n:03}{}", v.map(|v| format!("v{v}")).unwrap_or_default());
            let id = ArxivId::parse(&s).unwrap();
            prop_assert_eq!(id.to_string(), s);
            prop_assert!(id.is_old_style());
        }

        #[test]
        fn never_panics(s in "\\PC{0,60}") {
            let _ = ArxivId::parse(&s);
        }
    }
}
