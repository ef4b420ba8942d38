//! arXiv's category taxonomy (code -> display name). Filled in from https://arxiv.org/category_taxonomy.

/// Sorted by code so lookups can binary-search.
static TAXONOMY: &[(&str, &str)] = &[
    ("cs.AI", "Artificial Intelligence"),
    ("cs.CL", "Computation and Language"),
    ("cs.CV", "Computer Vision and Pattern Recognition"),
    ("cs.LG", "Machine Learning"),
];

pub fn name_of(code: &str) -> Option<&'static str> {
    TAXONOMY
        .binary_search_by(|(c, _)| (*c).cmp(code))
        .ok()
        .map(|i| TAXONOMY[i].1)
}

/// Every known (code, name) pair, sorted by code.
pub fn all() -> &'static [(&'static str, &'static str)] {
    TAXONOMY
}
