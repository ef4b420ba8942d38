//! Dense paper embeddings in memory: the bundled model's embedding head gives every paper a unit vector
//! (`CrossEncoder::embed_texts`), stored in SQLite (`paper_embeddings`) and held here for the related
//! pipeline's dense candidates and its third fused signal (the cosine).
//!
//! Why a plain matrix scanned in full and not an approximate index: 70,000 papers × 384 floats is 107 MB and
//! one scan is ~27 M multiply-adds (milliseconds), against the ~1 s of cross-encoder work of the same list;
//! an ANN structure would add a dependency and a recall loss for no visible gain. Pure: no I/O.

use std::collections::HashMap;

/// The embeddings of one model, by paper id. Vectors are L2-normalised, so a dot product is the cosine.
#[derive(Debug, Default, Clone)]
pub struct DenseIndex {
    dim: usize,
    ids: Vec<String>,
    pos: HashMap<String, usize>,
    mat: Vec<f32>,
}

/// Why a vector was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DenseError {
    #[error("embedding of {id} has {got} dimensions, the index {want}")]
    Dimension { id: String, got: usize, want: usize },
    #[error("embedding of {id} is not finite")]
    NotFinite { id: String },
}

impl DenseIndex {
    /// An empty index of `dim`-dimensional vectors.
    pub fn new(dim: usize) -> DenseIndex {
        DenseIndex { dim, ..DenseIndex::default() }
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Adds or replaces a paper's vector.
    pub fn insert(&mut self, id: &str, v: &[f32]) -> Result<(), DenseError> {
        if v.len() != self.dim {
            return Err(DenseError::Dimension { id: id.into(), got: v.len(), want: self.dim });
        }
        if v.iter().any(|x| !x.is_finite()) {
            return Err(DenseError::NotFinite { id: id.into() });
        }
        match self.pos.get(id) {
            Some(&p) => self.mat[p * self.dim..(p + 1) * self.dim].copy_from_slice(v),
            None => {
                self.pos.insert(id.to_string(), self.ids.len());
                self.ids.push(id.to_string());
                self.mat.extend_from_slice(v);
            }
        }
        Ok(())
    }

    /// A paper's vector, if the index holds it.
    pub fn get(&self, id: &str) -> Option<&[f32]> {
        self.pos.get(id).map(|&p| &self.mat[p * self.dim..(p + 1) * self.dim])
    }

    /// The `k` papers with the highest dot product with `q` (best first, ties by id), `exclude` left out.
    pub fn nearest(&self, q: &[f32], k: usize, exclude: &[&str]) -> Vec<(String, f32)> {
        if k == 0 || q.len() != self.dim {
            return Vec::new();
        }
        let mut scored: Vec<(f32, usize)> = self
            .mat
            .chunks_exact(self.dim.max(1))
            .enumerate()
            .filter(|(i, _)| !exclude.contains(&self.ids[*i].as_str()))
            .map(|(i, row)| (dot(q, row), i))
            .collect();
        let by =
            |a: &(f32, usize), b: &(f32, usize)| b.0.total_cmp(&a.0).then_with(|| self.ids[a.1].cmp(&self.ids[b.1]));
        if scored.len() > k {
            scored.select_nth_unstable_by(k - 1, by);
            scored.truncate(k);
        }
        scored.sort_by(by);
        scored.into_iter().map(|(s, i)| (self.ids[i].clone(), s)).collect()
    }
}

/// The dot product (the cosine of two unit vectors).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// A vector as stored in SQLite: little-endian f32s.
pub fn to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The inverse of [`to_blob`]; `None` for a blob whose length is not a whole number of f32s.
pub fn from_blob(b: &[u8]) -> Option<Vec<f32>> {
    b.len().is_multiple_of(4).then(|| b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn insert_replace_get_and_refuse() {
        let mut d = DenseIndex::new(2);
        d.insert("a", &[1.0, 0.0]).unwrap();
        d.insert("b", &[0.0, 1.0]).unwrap();
        d.insert("a", &[0.6, 0.8]).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d.get("a"), Some(&[0.6, 0.8][..]));
        assert_eq!(d.get("c"), None);
        assert!(matches!(d.insert("c", &[1.0]), Err(DenseError::Dimension { .. })));
        assert!(matches!(d.insert("c", &[f32::NAN, 0.0]), Err(DenseError::NotFinite { .. })));
        assert_eq!(d.nearest(&[0.0, 1.0], 5, &[]), [("b".to_string(), 1.0), ("a".to_string(), 0.8)]);
        assert_eq!(d.nearest(&[0.0, 1.0], 5, &["b"]), [("a".to_string(), 0.8)]);
        assert!(d.nearest(&[0.0, 1.0, 0.0], 5, &[]).is_empty(), "a query of the wrong width finds nothing");
        assert_eq!(from_blob(&to_blob(&[1.5, -2.0])), Some(vec![1.5, -2.0]));
        assert_eq!(from_blob(&[0, 0, 0]), None);
    }

    proptest! {
        /// `nearest` is the brute-force order: every dot product computed, sorted descending, ties by id.
        #[test]
        fn nearest_is_the_full_sort(rows in prop::collection::vec(prop::collection::vec(-4i8..4, 3), 0..40),
                                    q in prop::collection::vec(-4i8..4, 3), k in 0usize..50, ex in 0usize..40) {
            let mut d = DenseIndex::new(3);
            let ids: Vec<String> = (0..rows.len()).map(|i| format!("p{i:02}")).collect();
            for (id, r) in ids.iter().zip(&rows) {
                d.insert(id, &r.iter().map(|&x| x as f32).collect::<Vec<_>>()).unwrap();
            }
            let q: Vec<f32> = q.iter().map(|&x| x as f32).collect();
            let exclude = format!("p{ex:02}");
            let got = d.nearest(&q, k, &[exclude.as_str()]);
            let mut want: Vec<(String, f32)> = ids.iter().filter(|id| **id != exclude)
                .map(|id| (id.clone(), dot(&q, d.get(id).unwrap()))).collect();
            want.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            want.truncate(k);
            prop_assert_eq!(got, want);
        }
    }
}
