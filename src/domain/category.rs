//! `Category`: an arXiv subject class such as `cs.CL`, with its display name from arXiv's taxonomy.
//! Unknown but well-formed codes are kept and shown as-is, never dropped.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid arXiv category {input:?}: a category looks like cs.CL, math.AG, hep-th or stat.ML")]
pub struct CategoryError {
    pub input: String,
}

/// Why a list of categories was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CategoryListError {
    #[error(transparent)]
    Invalid(#[from] CategoryError),
    #[error("name at least one category, e.g. cs.CL")]
    Empty,
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
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
            && !s.ends_with('.')
            && !s.contains("..");
        if ok { Ok(Category(s.to_string())) } else { Err(CategoryError { input: input.chars().take(80).collect() }) }
    }

    /// A list as people type it: codes separated by spaces, commas or `+` (`cs.CL,cs.IR`, `cs.CL+cs.IR`). At
    /// least one, each valid.
    pub fn parse_list(s: &str) -> Result<Vec<Category>, CategoryListError> {
        let cats = s
            .split(|c: char| c.is_whitespace() || c == ',' || c == '+')
            .filter(|p| !p.is_empty())
            .map(Category::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if cats.is_empty() { Err(CategoryListError::Empty) } else { Ok(cats) }
    }

    /// Like [`Category::parse`], but also requires the archive to be one of arXiv's (`cs`, `hep-th`, `solv-int`, ...).
    /// Sources mix other classifications into their category lists (MSC `68T07`, ACM `I.2.6`, stray words such as
    /// `and`); this tells those apart from real codes, known subject classes or not.
    pub fn parse_arxiv(input: &str) -> Result<Self, CategoryError> {
        let cat = Category::parse(input)?;
        if super::taxonomy::is_known_archive(cat.archive()) {
            Ok(cat)
        } else {
            Err(CategoryError { input: input.chars().take(80).collect() })
        }
    }

    /// The arXiv categories among `tokens`, in order, without duplicates: what every source's category list is
    /// reduced to. Tokens that are not arXiv codes (see [`Category::parse_arxiv`]) are dropped, and a trailing `,` or
    /// `;` (a stray separator, as in `cs.CV, I.4`) is ignored.
    pub fn arxiv_list<'a>(tokens: impl IntoIterator<Item = &'a str>) -> Vec<Category> {
        let mut out: Vec<Category> = Vec::new();
        for token in tokens {
            if let Ok(cat) = Category::parse_arxiv(token.trim().trim_end_matches([',', ';']))
                && !out.contains(&cat)
            {
                out.push(cat);
            }
        }
        out
    }

    /// Whether the code is in arXiv's taxonomy (current, alias or legacy).
    pub fn is_known(&self) -> bool {
        self.name().is_some()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arxiv_codes_versus_other_classifications() {
        for ok in ["cs.CL", "hep-th", "cond-mat.mes-hall", "solv-int", "math.MP", "cs.XX"] {
            assert!(Category::parse_arxiv(ok).is_ok(), "{ok}");
        }
        for bad in ["68T07", "I.2.6", "and", "data", "cs.CV,", ""] {
            assert!(Category::parse_arxiv(bad).is_err(), "{bad}");
        }
        let codes = |v: Vec<Category>| v.iter().map(|c| c.code().to_string()).collect::<Vec<_>>();
        assert_eq!(
            codes(Category::arxiv_list("cs.CV cs.AI, I.4.0; 68T45 cs.CV and".split_whitespace())),
            ["cs.CV", "cs.AI"]
        );
        assert!(Category::parse("cs.CL").unwrap().is_known());
        let unknown = Category::parse("cs.XX").unwrap();
        assert!(!unknown.is_known());
        assert_eq!(unknown.display_name(), "cs.XX");
        assert_eq!(Category::parse("stat.ML").unwrap().display_name(), "Machine Learning");
    }
}
