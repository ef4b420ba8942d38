//! What one venue ingest run reads: an OpenReview venue, an ACL Anthology volume, a PMLR volume or a CVF
//! conference, written `source:spec` in the `[venues] follow` list and built from the command's flags.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::domain::VenueSource;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid venue {input:?}: {reason} (e.g. openreview:ICLR.cc/2025/Conference, acl:2024.acl-long, pmlr:235, cvf:CVPR2024)"
)]
pub struct TargetError {
    pub input: String,
    pub reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum VenueTarget {
    /// An OpenReview `content.venueid` (`ICLR.cc/2025/Conference`): its accepted papers.
    OpenReview(String),
    /// An ACL Anthology volume (`2024.acl-long`).
    Acl(String),
    /// A PMLR volume number (235 is ICML 2024).
    Pmlr(u32),
    /// A CVF open-access conference (`CVPR2024`).
    Cvf(String),
}

impl VenueTarget {
    pub fn new(source: VenueSource, spec: &str) -> Result<Self, TargetError> {
        let err = |reason| TargetError { input: format!("{}:{spec}", source.as_str()), reason };
        let spec = spec.trim();
        let plain = |s: &str, extra: &[u8]| {
            !s.is_empty() && s.len() <= 120 && s.bytes().all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
        };
        match source {
            VenueSource::OpenReview if plain(spec, b"._-/") && !spec.contains("..") => {
                Ok(VenueTarget::OpenReview(spec.to_string()))
            }
            VenueSource::OpenReview => Err(err("an OpenReview venue id looks like ICLR.cc/2025/Conference")),
            VenueSource::Acl if super::acl::collection_of(spec).is_some() => Ok(VenueTarget::Acl(spec.to_string())),
            VenueSource::Acl => Err(err("an ACL Anthology volume looks like 2024.acl-long or P19-1")),
            VenueSource::Pmlr => spec
                .trim_start_matches('v')
                .parse::<u32>()
                .ok()
                .filter(|v| *v > 0)
                .map(VenueTarget::Pmlr)
                .ok_or(err("a PMLR volume is a number, e.g. 235")),
            VenueSource::Cvf => {
                let digits = spec.find(|c: char| c.is_ascii_digit());
                let ok = digits.is_some_and(|i| {
                    let (name, year) = spec.split_at(i);
                    (2..=8).contains(&name.len())
                        && name.bytes().all(|b| b.is_ascii_uppercase())
                        && year.len() == 4
                        && year.bytes().all(|b| b.is_ascii_digit())
                });
                if ok {
                    Ok(VenueTarget::Cvf(spec.to_string()))
                } else {
                    Err(err("a CVF conference looks like CVPR2024"))
                }
            }
        }
    }

    pub fn source(&self) -> VenueSource {
        match self {
            VenueTarget::OpenReview(_) => VenueSource::OpenReview,
            VenueTarget::Acl(_) => VenueSource::Acl,
            VenueTarget::Pmlr(_) => VenueSource::Pmlr,
            VenueTarget::Cvf(_) => VenueSource::Cvf,
        }
    }
}

impl fmt::Display for VenueTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VenueTarget::OpenReview(v) => write!(f, "openreview:{v}"),
            VenueTarget::Acl(v) => write!(f, "acl:{v}"),
            VenueTarget::Pmlr(v) => write!(f, "pmlr:{v}"),
            VenueTarget::Cvf(v) => write!(f, "cvf:{v}"),
        }
    }
}

impl FromStr for VenueTarget {
    type Err = TargetError;
    fn from_str(s: &str) -> Result<Self, TargetError> {
        let (source, spec) = s
            .split_once(':')
            .ok_or(TargetError { input: s.chars().take(80).collect(), reason: "no source: prefix" })?;
        let source: VenueSource = source
            .parse()
            .map_err(|_| TargetError { input: s.chars().take(80).collect(), reason: "unknown source" })?;
        VenueTarget::new(source, spec)
    }
}

impl TryFrom<String> for VenueTarget {
    type Error = TargetError;
    fn try_from(s: String) -> Result<Self, TargetError> {
        s.parse()
    }
}

impl From<VenueTarget> for String {
    fn from(t: VenueTarget) -> String {
        t.to_string()
    }
}

/// The `[venues]` config section: which proceedings to follow, how often, and where each source lives
/// (tests point them at a local server).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VenuesConfig {
    /// What `serve` keeps fresh, e.g. `["openreview:ICLR.cc/2025/Conference", "acl:2024.acl-long"]`.
    pub follow: Vec<VenueTarget>,
    /// How often `serve` refreshes each followed venue (conditional GETs where the source allows).
    pub refresh_hours: u64,
    pub openreview_url: String,
    /// OpenReview notes per request (its API allows up to 1,000).
    pub openreview_page_size: u64,
    pub acl_url: String,
    pub pmlr_url: String,
    pub cvf_url: String,
    /// CVF listings have no abstracts: each paper's page is fetched, at most this many per run (politeness:
    /// one request per 3 s per host), the rest on later runs.
    pub cvf_abstracts_per_run: usize,
}

impl Default for VenuesConfig {
    fn default() -> Self {
        VenuesConfig {
            follow: Vec::new(),
            refresh_hours: 24,
            openreview_url: "https://api2.openreview.net".into(),
            openreview_page_size: 1_000,
            acl_url: "https://raw.githubusercontent.com/acl-org/acl-anthology/master".into(),
            pmlr_url: "https://proceedings.mlr.press".into(),
            cvf_url: "https://openaccess.thecvf.com".into(),
            cvf_abstracts_per_run: 200,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_refuse() {
        for s in ["openreview:ICLR.cc/2025/Conference", "acl:2024.acl-long", "acl:P19-1", "pmlr:235", "cvf:CVPR2024"] {
            assert_eq!(s.parse::<VenueTarget>().unwrap().to_string(), s);
        }
        assert_eq!("pmlr:v235".parse::<VenueTarget>().unwrap(), VenueTarget::Pmlr(235));
        for bad in ["ICLR", "openreview:a b", "openreview:../x", "acl:acl", "pmlr:x", "cvf:cvpr2024", "dblp:x"] {
            assert!(bad.parse::<VenueTarget>().is_err(), "{bad} accepted");
        }
    }
}
