//! A listing's category expression: `cs.AI`, `cs.AI,cs.CL` (either), `cs.AI+cs.LG-cs.CY` (either, but not in
//! cs.CY), read with `FromStr` and written back in its canonical form with `Display` (as used in links).

use super::{Category, CategoryError};

/// Papers announced in any of `include` whose categories hold none of `exclude`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CategoryFilter {
    pub include: Vec<Category>,
    pub exclude: Vec<Category>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FilterError {
    #[error("{0}. Combine categories as cs.AI,cs.CL or cs.AI+cs.LG-cs.CY.")]
    Category(#[from] CategoryError),
    #[error("Name at least one category to include, e.g. /arxiv/cs.CL.")]
    NothingIncluded,
}

/// `,` and `+` separate included codes, `-` starts an excluded one; a space stands for `+`, since a `+` in a
/// query string or from a careless client arrives as one. Repeated codes count once.
impl std::str::FromStr for CategoryFilter {
    type Err = FilterError;

    fn from_str(expr: &str) -> Result<Self, FilterError> {
        let mut filter = CategoryFilter::default();
        let mut token = String::new();
        let mut excluding = false;
        let mut push = |token: &mut String, excluding: bool| -> Result<(), FilterError> {
            if token.is_empty() {
                return Ok(());
            }
            let cat = Category::parse(token)?;
            let list = if excluding { &mut filter.exclude } else { &mut filter.include };
            if !list.contains(&cat) {
                list.push(cat);
            }
            token.clear();
            Ok(())
        };
        for (i, c) in expr.char_indices() {
            match c {
                ',' | '+' | ' ' => {
                    push(&mut token, excluding)?;
                    excluding = false;
                }
                '-' if token.is_empty() => excluding = true,
                // `-` also occurs inside codes (hep-th, cond-mat.mes-hall): it starts an exclusion only between
                // two whole arXiv codes.
                '-' if starts_exclusion(&token, &expr[i + 1..]) => {
                    push(&mut token, excluding)?;
                    excluding = true;
                }
                _ => token.push(c),
            }
        }
        push(&mut token, excluding)?;
        if filter.include.is_empty() {
            return Err(FilterError::NothingIncluded);
        }
        Ok(filter)
    }
}

fn starts_exclusion(before: &str, after: &str) -> bool {
    if Category::parse_arxiv(before).is_err() {
        return false;
    }
    // The code after the dash may itself be followed by `-code` (`cs.AI-hep-th-cs.CY`): any prefix ending at a
    // dash, or the whole run, that is an arXiv code makes this dash a separator.
    let next = after.split([',', '+', ' ']).next().unwrap_or("");
    next.match_indices('-').map(|(i, _)| &next[..i]).chain([next]).any(|code| Category::parse_arxiv(code).is_ok())
}

/// The canonical text (`cs.AI+cs.LG-cs.CY`), as used in links.
impl std::fmt::Display for CategoryFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, c) in self.include.iter().enumerate() {
            if i > 0 {
                f.write_str("+")?;
            }
            f.write_str(c.code())?;
        }
        for c in &self.exclude {
            write!(f, "-{}", c.code())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CODES: [&str; 8] = ["cs.AI", "cs.CL", "cs.LG", "cs.CY", "hep-th", "cond-mat.mes-hall", "math.AG", "q-bio.BM"];

    proptest! {
        /// Writing a filter and reading it back gives the same filter.
        #[test]
        fn display_then_parse_is_the_identity(
            inc in proptest::collection::vec(0usize..8, 1..5),
            exc in proptest::collection::vec(0usize..8, 0..3),
        ) {
            let mut f = CategoryFilter::default();
            for i in inc {
                let c = Category::parse(CODES[i]).unwrap();
                if !f.include.contains(&c) { f.include.push(c); }
            }
            for i in exc {
                let c = Category::parse(CODES[i]).unwrap();
                if !f.exclude.contains(&c) { f.exclude.push(c); }
            }
            prop_assert_eq!(f.to_string().parse::<CategoryFilter>().unwrap(), f);
        }
    }

    fn codes(v: &[Category]) -> Vec<&str> {
        v.iter().map(|c| c.code()).collect()
    }

    #[test]
    fn reads_and_writes_category_expressions() {
        let f: CategoryFilter = "cs.AI+cs.LG-cs.CY".parse().unwrap();
        assert_eq!((codes(&f.include), codes(&f.exclude)), (vec!["cs.AI", "cs.LG"], vec!["cs.CY"]));
        assert_eq!(f.to_string(), "cs.AI+cs.LG-cs.CY");
        let f: CategoryFilter = "cs.AI,cs.CL,cs.AI".parse().unwrap();
        assert_eq!(codes(&f.include), ["cs.AI", "cs.CL"]);
        assert_eq!(f.to_string(), "cs.AI+cs.CL", "canonical form");
        assert_eq!("cs.AI cs.CL".parse::<CategoryFilter>().unwrap(), f, "a space is a +");
        let f: CategoryFilter = "hep-th-cs.CY".parse().unwrap();
        assert_eq!(codes(&f.include), ["hep-th"], "a dash inside an archive name belongs to it");
        let f: CategoryFilter = "cond-mat.mes-hall".parse().unwrap();
        assert_eq!(codes(&f.include), ["cond-mat.mes-hall"]);
        // Found by the property test: an excluded code with a dash, followed by another exclusion.
        let f: CategoryFilter = "cs.AI-hep-th-cs.CY".parse().unwrap();
        assert_eq!((codes(&f.include), codes(&f.exclude)), (vec!["cs.AI"], vec!["hep-th", "cs.CY"]));
        assert_eq!("-cs.CY".parse::<CategoryFilter>(), Err(FilterError::NothingIncluded));
        assert!(matches!("cs.AI,<script>".parse::<CategoryFilter>(), Err(FilterError::Category(_))));
    }
}
