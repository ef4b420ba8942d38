//! Conference proceedings beside arXiv: a paper's identity at a venue (`PaperKey`), a conference and its
//! editions (`Conference`, `Edition`), and the record every venue source produces (`VenueRecord`).
//!
//! Keys are validated at the edge like [`ArxivId`]: a source's id that does not fit its scheme skips the
//! record with a reason instead of reaching the store or a URL.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::ArxivId;

/// What valid keys look like, for error messages shown to users.
pub const VALID_KEY_HELP: &str = "a paper key looks like 2406.01234, openreview:AbCdEf123, acl:2024.acl-long.12, \
     pmlr:v235/smith24a or cvf:CVPR2024/Smith_Title_CVPR_2024_paper";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid paper key {input:?}: {reason}; {VALID_KEY_HELP}")]
pub struct KeyError {
    pub input: String,
    pub reason: &'static str,
}

/// Which proceedings a venue paper came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VenueSource {
    OpenReview,
    Acl,
    Pmlr,
    Cvf,
}

impl VenueSource {
    pub const ALL: [VenueSource; 4] = [VenueSource::OpenReview, VenueSource::Acl, VenueSource::Pmlr, VenueSource::Cvf];

    /// The key prefix and the name on the command line (`--source openreview`).
    pub fn as_str(self) -> &'static str {
        match self {
            VenueSource::OpenReview => "openreview",
            VenueSource::Acl => "acl",
            VenueSource::Pmlr => "pmlr",
            VenueSource::Cvf => "cvf",
        }
    }

    /// The name shown to readers.
    pub fn label(self) -> &'static str {
        match self {
            VenueSource::OpenReview => "OpenReview",
            VenueSource::Acl => "ACL Anthology",
            VenueSource::Pmlr => "PMLR",
            VenueSource::Cvf => "CVF Open Access",
        }
    }
}

impl FromStr for VenueSource {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        VenueSource::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or(KeyError { input: s.chars().take(80).collect(), reason: "unknown source" })
    }
}

/// One paper's identity: an arXiv id, or its id at one venue source. The string form is `arxiv:`-less for
/// arXiv (so every existing URL and row keeps its id) and `source:id` otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PaperKey {
    Arxiv(ArxivId),
    /// An OpenReview forum id (`openreview:<forum>`).
    OpenReview(String),
    /// An ACL Anthology id, new style `2024.acl-long.12` or old style `P19-1001`.
    Acl(String),
    /// A PMLR volume and the paper's id in it (`pmlr:v235/smith24a`).
    Pmlr {
        volume: u32,
        id: String,
    },
    /// A CVF conference (`CVPR2024`) and the paper's page name in it.
    Cvf {
        conference: String,
        slug: String,
    },
}

impl PaperKey {
    /// Parses a key; a bare arXiv id (with the usual prefixes) is an arXiv key.
    pub fn parse(input: &str) -> Result<Self, KeyError> {
        let err = |reason| KeyError { input: input.chars().take(80).collect(), reason };
        let s = input.trim();
        if s.len() > 240 {
            return Err(err("it is too long"));
        }
        let Some((prefix, rest)) = s.split_once(':') else {
            return ArxivId::parse(s).map(|id| PaperKey::Arxiv(id.unversioned())).map_err(|_| err("not an arXiv id"));
        };
        match prefix.to_ascii_lowercase().as_str() {
            "arxiv" | "oai" => {
                ArxivId::parse(s).map(|id| PaperKey::Arxiv(id.unversioned())).map_err(|_| err("not an arXiv id"))
            }
            "openreview" => {
                if (4..=32).contains(&rest.len())
                    && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                {
                    Ok(PaperKey::OpenReview(rest.to_string()))
                } else {
                    Err(err("an OpenReview forum id is 4-32 letters, digits, '_' or '-'"))
                }
            }
            "acl" => {
                if valid_acl(rest) {
                    Ok(PaperKey::Acl(rest.to_string()))
                } else {
                    Err(err("an ACL Anthology id looks like 2024.acl-long.12 or P19-1001"))
                }
            }
            "pmlr" => {
                let parsed = rest.split_once('/').and_then(|(v, id)| {
                    let volume: u32 = v.strip_prefix('v')?.parse().ok()?;
                    (volume > 0 && valid_slug(id, 80) && !id.contains('.')).then(|| (volume, id.to_string()))
                });
                parsed
                    .map(|(volume, id)| PaperKey::Pmlr { volume, id })
                    .ok_or(err("a PMLR key looks like v235/smith24a"))
            }
            "cvf" => {
                let parsed = rest.split_once('/').and_then(|(c, slug)| {
                    let (name, year) = c.split_at(c.find(|ch: char| ch.is_ascii_digit())?);
                    let ok = (2..=8).contains(&name.len())
                        && name.bytes().all(|b| b.is_ascii_uppercase())
                        && year.len() == 4
                        && year.bytes().all(|b| b.is_ascii_digit())
                        && valid_slug(slug, 200);
                    ok.then(|| (c.to_string(), slug.to_string()))
                });
                parsed
                    .map(|(conference, slug)| PaperKey::Cvf { conference, slug })
                    .ok_or(err("a CVF key looks like CVPR2024/Smith_Title_CVPR_2024_paper"))
            }
            _ => Err(err("unknown source prefix")),
        }
    }

    pub fn source(&self) -> Option<VenueSource> {
        match self {
            PaperKey::Arxiv(_) => None,
            PaperKey::OpenReview(_) => Some(VenueSource::OpenReview),
            PaperKey::Acl(_) => Some(VenueSource::Acl),
            PaperKey::Pmlr { .. } => Some(VenueSource::Pmlr),
            PaperKey::Cvf { .. } => Some(VenueSource::Cvf),
        }
    }

    pub fn as_arxiv(&self) -> Option<&ArxivId> {
        match self {
            PaperKey::Arxiv(id) => Some(id),
            _ => None,
        }
    }

    /// The paper's page at its source (the landing page a reader can cite).
    pub fn source_url(&self) -> String {
        match self {
            PaperKey::Arxiv(id) => format!("https://arxiv.org/abs/{id}"),
            PaperKey::OpenReview(forum) => format!("https://openreview.net/forum?id={forum}"),
            PaperKey::Acl(id) => format!("https://aclanthology.org/{id}/"),
            PaperKey::Pmlr { volume, id } => format!("https://proceedings.mlr.press/v{volume}/{id}.html"),
            PaperKey::Cvf { conference, slug } => {
                format!("https://openaccess.thecvf.com/content/{conference}/html/{slug}.html")
            }
        }
    }
}

/// `2024.acl-long.12` (year, volume name, paper number) or the old `P19-1001`.
fn valid_acl(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    match parts.as_slice() {
        [year, volume, number] => {
            year.len() == 4
                && year.bytes().all(|b| b.is_ascii_digit())
                && !volume.is_empty()
                && volume.len() <= 40
                && volume.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !number.is_empty()
                && number.len() <= 5
                && number.bytes().all(|b| b.is_ascii_digit())
        }
        [old] => {
            let b = old.as_bytes();
            b.len() == 8
                && b[0].is_ascii_uppercase()
                && b[1..3].iter().all(u8::is_ascii_digit)
                && b[3] == b'-'
                && b[4..].iter().all(u8::is_ascii_digit)
        }
        _ => false,
    }
}

/// Letters, digits, `_`, `-` and `.`, not empty, at most `max` bytes, no `..`.
fn valid_slug(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && !s.contains("..")
        && !s.starts_with('.')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

impl fmt::Display for PaperKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PaperKey::Arxiv(id) => write!(f, "{id}"),
            PaperKey::OpenReview(forum) => write!(f, "openreview:{forum}"),
            PaperKey::Acl(id) => write!(f, "acl:{id}"),
            PaperKey::Pmlr { volume, id } => write!(f, "pmlr:v{volume}/{id}"),
            PaperKey::Cvf { conference, slug } => write!(f, "cvf:{conference}/{slug}"),
        }
    }
}

impl FromStr for PaperKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        PaperKey::parse(s)
    }
}

impl Serialize for PaperKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PaperKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PaperKey::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The conferences readers know by name, spelled as they are (and as Cool Papers' URLs spell them). Any other
/// code that fits the pattern is accepted as given (a workshop, a new venue).
const KNOWN_CONFERENCES: &[&str] = &[
    "AAAI", "ACL", "AISTATS", "COLING", "COLM", "COLT", "CoRL", "CVPR", "EACL", "ECCV", "EMNLP", "ICCV", "ICLR",
    "ICML", "IJCAI", "NAACL", "NeurIPS", "PGM", "TACL", "TMLR", "UAI", "WACV",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid conference {input:?}: {reason} (e.g. ICLR, NeurIPS, ACL, or an edition such as ICLR.2025)")]
pub struct ConferenceError {
    pub input: String,
    pub reason: &'static str,
}

/// A conference's short name (`ICLR`, `NeurIPS`, `ACL`): a letter, then letters, digits or `-`, at most 16;
/// a known name is spelled its usual way whatever the case given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Conference(String);

impl Conference {
    pub fn parse(input: &str) -> Result<Self, ConferenceError> {
        let err = |reason| ConferenceError { input: input.chars().take(40).collect(), reason };
        let s = input.trim();
        if s.is_empty() || s.len() > 16 {
            return Err(err("it must be 1-16 characters"));
        }
        if !s.starts_with(|c: char| c.is_ascii_alphabetic())
            || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(err("a letter, then letters, digits or '-'"));
        }
        if let Some(known) = KNOWN_CONFERENCES.iter().find(|k| k.eq_ignore_ascii_case(s)) {
            return Ok(Conference((*known).to_string()));
        }
        Ok(Conference(s.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Conference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Conference {
    type Err = ConferenceError;
    fn from_str(s: &str) -> Result<Self, ConferenceError> {
        Conference::parse(s)
    }
}

impl TryFrom<String> for Conference {
    type Error = ConferenceError;
    fn try_from(s: String) -> Result<Self, ConferenceError> {
        Conference::parse(&s)
    }
}

impl From<Conference> for String {
    fn from(c: Conference) -> String {
        c.0
    }
}

/// One edition of a conference: `ICLR.2025`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Edition {
    pub conference: Conference,
    pub year: u16,
}

impl Edition {
    pub fn new(conference: Conference, year: u16) -> Self {
        Edition { conference, year }
    }

    /// `ICLR.2025` (also `ICLR2025` and `ICLR 2025`, as people write it).
    pub fn parse(input: &str) -> Result<Self, ConferenceError> {
        let err = |reason| ConferenceError { input: input.chars().take(40).collect(), reason };
        let s = input.trim();
        let split = s.len().checked_sub(4).filter(|&i| s.is_char_boundary(i)).ok_or(err("no year"))?;
        let (name, year) = s.split_at(split);
        let name = name.trim_end_matches(['.', ' ']);
        let year: u16 = year.parse().map_err(|_| err("it must end in a four-digit year"))?;
        if !(1950..=2100).contains(&year) {
            return Err(err("the year is out of range"));
        }
        Ok(Edition { conference: Conference::parse(name)?, year })
    }
}

impl fmt::Display for Edition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.conference, self.year)
    }
}

impl FromStr for Edition {
    type Err = ConferenceError;
    fn from_str(s: &str) -> Result<Self, ConferenceError> {
        Edition::parse(s)
    }
}

/// One paper as a venue source delivered it. Text is raw (TeX as the source has it); the store derives the
/// display text as it does for arXiv papers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VenueRecord {
    pub key: PaperKey,
    pub edition: Edition,
    /// The track or decision as the source names it ("Poster", "Oral", "long", "Findings"), where it says.
    pub track: Option<String>,
    pub title: String,
    /// Empty where the source has none (a preface, a listing without abstracts).
    pub abstract_text: String,
    /// Display names in order ("Ada Lovelace").
    pub authors: Vec<String>,
    pub keywords: Vec<String>,
    pub pdf_url: Option<String>,
    pub doi: Option<String>,
    /// An arXiv version the source itself links to, where it does (the strongest link evidence).
    pub arxiv_id: Option<ArxivId>,
    pub published: Option<NaiveDate>,
}

impl VenueRecord {
    pub fn source(&self) -> VenueSource {
        self.key.source().expect("a venue record never has an arXiv key")
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn keys_round_trip_and_reject() {
        for s in [
            "2406.01234",
            "openreview:AbCdEf123",
            "acl:2024.acl-long.12",
            "acl:2024.findings-emnlp.101",
            "acl:P19-1001",
            "pmlr:v235/smith24a",
            "cvf:CVPR2024/Smith_A_Title_CVPR_2024_paper",
        ] {
            let k = PaperKey::parse(s).unwrap();
            assert_eq!(k.to_string(), s);
            assert_eq!(PaperKey::parse(&k.to_string()).unwrap(), k);
        }
        assert_eq!(PaperKey::parse("arXiv:2406.01234v2").unwrap().to_string(), "2406.01234");
        for bad in [
            "",
            "openreview:a/b",
            "openreview:x",
            "acl:2024.acl-long",
            "acl:../etc",
            "pmlr:235/a",
            "pmlr:v235/../x",
            "cvf:cvpr2024/x",
            "cvf:CVPR2024/a/b",
            "doi:10.1/x",
            "2406.1234567",
        ] {
            assert!(PaperKey::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn editions_parse_in_every_usual_spelling() {
        for s in ["ICLR.2025", "iclr2025", "ICLR 2025", "Iclr.2025"] {
            assert_eq!(Edition::parse(s).unwrap().to_string(), "ICLR.2025");
        }
        assert_eq!(Edition::parse("neurips.2024").unwrap().to_string(), "NeurIPS.2024");
        assert_eq!(Edition::parse("hucllm.2024").unwrap().to_string(), "HUCLLM.2024");
        for bad in ["ICLR", "2025", "IC<LR.2025", "ICLR.20x5", "ICLR.1066", "ICLRé2025"] {
            assert!(Edition::parse(bad).is_err(), "{bad} accepted");
        }
    }

    proptest! {
        /// Whatever a key parses from, its display parses back to itself, and it never carries characters
        /// that would need escaping in a URL path segment or HTML (beyond the one `/` of PMLR and CVF keys).
        #[test]
        fn parsed_keys_round_trip(s in "(openreview|acl|pmlr|cvf):[A-Za-z0-9_./-]{0,30}") {
            if let Ok(k) = PaperKey::parse(&s) {
                prop_assert_eq!(PaperKey::parse(&k.to_string()).unwrap(), k.clone());
                prop_assert!(k.to_string().bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-:/".contains(&b)));
            }
        }
    }
}
