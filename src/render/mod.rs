//! Text to HTML for readers: escaping, TeX to MathML, highlighted titles and snippets. Below both the web
//! pages and the LLM answers' renderer, so neither depends on the other.

pub mod math;
pub mod text;
