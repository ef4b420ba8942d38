//! `Category`: an arXiv subject class such as `cs.CL`, with its display name from arXiv's taxonomy.
//! Unknown but well-formed codes are kept and shown as-is, never dropped.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid arXiv category {input:?}: a category looks like cs.CL, math.AG, hep-th or stat.ML"
)]
pub struct CategoryError {
    pub input: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Category(String);

impl Category {
    /// Accepts `archive` or `archive.SUBCLASS` made of ASCII letters, digits, `-` and `.` (e.g. `cs.CL`,
    /// `hep-th`, `math-ph`, `q-bio.NC`, `cond-mat.mes-hall`).
    pub fn parse(input: &str) -> Result<Self, CategoryError> {
        let s = input.trim();
        let ok = !s.is_empty()
            && s.len() <= 32
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
            && !s.ends_with('.')
            && !s.contains("..");
        if ok {
            Ok(Category(s.to_string()))
        } else {
            Err(CategoryError {
                input: input.chars().take(80).collect(),
            })
        }
    }

    pub fn code(&self) -> &str {
        &self.0
    }

    /// The archive part (`cs` for `cs.CL`, `cond-mat` for `cond-mat.mes-hall`).
    pub fn archive(&self) -> &str {
        self.0.split('.').next().unwrap_or(&self.0)
    }

    /// arXiv's display name (`Computation and Language`), if the code is in the taxonomy.
    pub fn name(&self) -> Option<&'static str> {
        super::taxonomy::name_of(&self.0)
    }

    /// The display name, or the code itself for codes not in the taxonomy.
    pub fn display_name(&self) -> &str {
        self.name().unwrap_or(&self.0)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Category {
    type Err = CategoryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::parse(s)
    }
}

impl Serialize for Category {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Category {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Category::parse(&s).map_err(serde::de::Error::custom)
    }
}
