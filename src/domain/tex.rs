//! Decoding of TeX accent macros (`\'e`, `{\"o}`, `\c{c}`) and a few text macros to Unicode for display and search.
//!
//! arXiv metadata is written by authors in TeX. Outside math we turn accents, special letters (`\ss`, `\o`, `\l`),
//! escaped specials (`\&`, `\%`) and dash ligatures into Unicode; math (`$...$`, `$$...$$`, `\(...\)`, `\[...\]`) is
//! copied byte for byte so the front-end renderer sees exactly what the author wrote. Anything not recognised is kept
//! verbatim: a wrong guess would corrupt text, an unknown macro left alone only looks like TeX.
//!
//! No Unicode normalisation crate is a direct dependency, so accents are composed from a precomposed table
//! (generated from Unicode NFC for every ASCII letter); other pairs fall back to base letter + combining mark.

use std::borrow::Cow;

/// Decodes TeX accents and text macros outside math; returns the input unchanged when it has none.
pub fn decode(input: &str) -> String {
    let bytes = input.as_bytes();
    if !bytes.iter().any(|b| matches!(b, b'\\' | b'{' | b'-' | b'~' | b'$')) {
        return input.to_string();
    }
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' => match math_end(input, i) {
                Some(end) => {
                    out.push_str(&input[i..end]);
                    i = end;
                }
                None => {
                    out.push('$');
                    i += 1;
                }
            },
            b'\\' => {
                if let Some(end) = math_end(input, i) {
                    out.push_str(&input[i..end]);
                    i = end;
                } else if let Some((text, end)) = decode_macro(input, i) {
                    out.push_str(&text);
                    i = end;
                } else {
                    // Unknown: copy the backslash and the whole macro name so its letters are not re-read.
                    let end = macro_name_end(input, i);
                    out.push_str(&input[i..end]);
                    i = end;
                }
            }
            b'{' => match braced_macro(input, i) {
                Some((text, end)) => {
                    out.push_str(&text);
                    i = end;
                }
                None => {
                    out.push('{');
                    i += 1;
                }
            },
            b'-' => {
                let run = bytes[i..].iter().take_while(|&&b| b == b'-').count();
                push_dashes(&mut out, run);
                i += run;
            }
            b'~' => {
                out.push('\u{a0}');
                i += 1;
            }
            _ => {
                // Copy the plain run up to the next byte that may start something (all of them are ASCII, so the
                // slice boundaries are char boundaries).
                let len = bytes[i..].iter().position(|b| matches!(b, b'\\' | b'{' | b'-' | b'~' | b'$'));
                let end = len.map_or(bytes.len(), |l| i + l);
                out.push_str(&input[i..end]);
                i = end;
            }
        }
    }
    out
}

/// Collapses runs of white space (the hard wraps and indentation of old arXiv API titles and abstracts, Kaggle's
/// `"\n  "`) to single spaces and trims both ends.
pub fn normalize_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// `---` is an em dash, `--` an en dash (TeX ligatures); longer runs are read greedily, a single `-` stays.
fn push_dashes(out: &mut String, mut run: usize) {
    while run >= 3 {
        out.push('—');
        run -= 3;
    }
    if run == 2 {
        out.push('–');
    } else if run == 1 {
        out.push('-');
    }
}

/// If a math region starts at `i` (`$`, `$$`, `\(`, `\[`), the index just past its closing delimiter.
/// Unclosed regions are not math: a lone `$` ("costs $5") is then kept as a plain character.
fn math_end(s: &str, i: usize) -> Option<usize> {
    let b = s.as_bytes();
    let (open_len, close): (usize, &[u8]) = match (b.get(i), b.get(i + 1)) {
        (Some(b'$'), Some(b'$')) => (2, b"$$"),
        (Some(b'$'), _) => (1, b"$"),
        (Some(b'\\'), Some(b'(')) => (2, b"\\)"),
        (Some(b'\\'), Some(b'[')) => (2, b"\\]"),
        _ => return None,
    };
    let mut j = i + open_len;
    while j < b.len() {
        if b[j..].starts_with(close) {
            return Some(j + close.len());
        }
        // An escaped character (`\$`, `\\`) never closes the region.
        j += if b[j] == b'\\' { 2 } else { 1 };
    }
    // `$$` without a closing `$$` may still be an empty `$` `$` pair; everything else is unclosed.
    if open_len == 2 && close == b"$$" { math_end_single(s, i) } else { None }
}

fn math_end_single(s: &str, i: usize) -> Option<usize> {
    let b = s.as_bytes();
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'$' => return Some(j + 1),
            b'\\' => j += 2,
            _ => j += 1,
        }
    }
    None
}

/// The end of the macro starting with the backslash at `i`: a run of letters, or one other character.
fn macro_name_end(s: &str, i: usize) -> usize {
    let b = s.as_bytes();
    let letters = b[i + 1..].iter().take_while(|c| c.is_ascii_alphabetic()).count();
    if letters > 0 {
        i + 1 + letters
    } else {
        // One control symbol; step over a whole (possibly multi-byte) character.
        s[i + 1..].chars().next().map_or(i + 1, |c| i + 1 + c.len_utf8())
    }
}

/// `{\'e}`, `{\ss}`: a group that holds exactly one decodable macro decodes without its braces.
fn braced_macro(s: &str, i: usize) -> Option<(Cow<'static, str>, usize)> {
    let b = s.as_bytes();
    if b.get(i + 1) != Some(&b'\\') {
        return None;
    }
    let (text, end) = decode_macro(s, i + 1)?;
    (b.get(end) == Some(&b'}')).then_some((text, end + 1))
}

/// Decodes the macro whose backslash is at `i`; `None` for anything not recognised.
fn decode_macro(s: &str, i: usize) -> Option<(Cow<'static, str>, usize)> {
    let b = s.as_bytes();
    let c = *b.get(i + 1)?;
    if c.is_ascii_alphabetic() {
        let end = macro_name_end(s, i);
        let name = &s[i + 1..end];
        if let Some(letter) = special_letter(name) {
            return Some((Cow::Borrowed(letter), skip_word_terminator(s, end)));
        }
        let accent = match name {
            "c" | "v" | "u" | "H" | "k" | "r" | "d" | "b" => name.chars().next()?,
            _ => return None,
        };
        // TeX skips spaces between a control word and its argument (`\c c`).
        let arg = end + b[end..].iter().take_while(|&&c| c == b' ').count();
        let (base, arg_end) = accent_argument(s, arg)?;
        return Some((Cow::Owned(compose(accent, base)), arg_end));
    }
    match c {
        // `\^{}` and `\~{}` are how TeX writes a literal caret or tilde (`Pass\^{}1`, URLs).
        b'^' | b'~' if b[i + 2..].starts_with(b"{}") => Some((Cow::Owned(char::from(c).to_string()), i + 4)),
        b'\'' | b'"' | b'`' | b'^' | b'~' | b'=' | b'.' => {
            let (base, end) = accent_argument(s, i + 2)?;
            Some((Cow::Owned(compose(char::from(c), base)), end))
        }
        b'&' => Some((Cow::Borrowed("&"), i + 2)),
        b'%' => Some((Cow::Borrowed("%"), i + 2)),
        b'_' => Some((Cow::Borrowed("_"), i + 2)),
        b'#' => Some((Cow::Borrowed("#"), i + 2)),
        b'$' => Some((Cow::Borrowed("$"), i + 2)),
        _ => None,
    }
}

fn special_letter(name: &str) -> Option<&'static str> {
    Some(match name {
        "i" => "ı",
        "j" => "ȷ",
        "ss" => "ß",
        "o" => "ø",
        "O" => "Ø",
        "aa" => "å",
        "AA" => "Å",
        "ae" => "æ",
        "AE" => "Æ",
        "oe" => "œ",
        "OE" => "Œ",
        "l" => "ł",
        "L" => "Ł",
        _ => return None,
    })
}

/// After a control word TeX swallows spaces (`\o ster` is "øster") and authors often add an empty group (`\ss{}`).
fn skip_word_terminator(s: &str, end: usize) -> usize {
    let b = s.as_bytes();
    if b[end..].starts_with(b"{}") {
        return end + 2;
    }
    end + b[end..].iter().take_while(|&&c| c == b' ').count()
}

/// The base letter of an accent: `e`, `{e}`, `{ e }`, `\i`, `{\i}`. Dotless i/j are returned as `i`/`j` because an
/// accent on a dotless i is how TeX writes í. Returns the base and the index past the argument.
fn accent_argument(s: &str, j: usize) -> Option<(char, usize)> {
    let b = s.as_bytes();
    match *b.get(j)? {
        c if c.is_ascii_alphabetic() => Some((char::from(c), j + 1)),
        // A non-ASCII letter (Vietnamese `\~ên`): composed with a combining mark below.
        c if c >= 0x80 => {
            let ch = s[j..].chars().next().filter(|ch| ch.is_alphabetic())?;
            Some((ch, j + ch.len_utf8()))
        }
        b'\\' => dotless(s, j),
        b'{' => {
            let close = j + 1 + b[j + 1..].iter().position(|&c| c == b'}')?;
            let inner = s[j + 1..close].trim();
            let mut chars = inner.chars();
            let base = match inner.as_bytes() {
                [c] if c.is_ascii_alphabetic() => char::from(*c),
                [c, ..] if *c >= 0x80 => match (chars.next(), chars.next()) {
                    (Some(ch), None) if ch.is_alphabetic() => ch,
                    _ => return None,
                },
                [b'\\', ..] => match dotless(inner, 0) {
                    Some((c, end)) if inner[end..].trim().is_empty() => c,
                    _ => return None,
                },
                _ => return None,
            };
            Some((base, close + 1))
        }
        _ => None,
    }
}

/// `\i` / `\j` at `j` (not `\it`, `\int`): the undotted base and the index past the name.
fn dotless(s: &str, j: usize) -> Option<(char, usize)> {
    let end = macro_name_end(s, j);
    match &s[j + 1..end] {
        "i" => Some(('i', end)),
        "j" => Some(('j', end)),
        _ => None,
    }
}

/// The precomposed character for `accent` over `base`, or `base` followed by the combining mark.
fn compose(accent: char, base: char) -> String {
    match PRECOMPOSED.binary_search_by(|&(a, b, _)| (a, b).cmp(&(accent, base))) {
        Ok(i) => PRECOMPOSED[i].2.to_string(),
        Err(_) => {
            let mut s = String::with_capacity(4);
            s.push(base);
            if let Some(mark) = combining_mark(accent) {
                s.push(mark);
            }
            s
        }
    }
}

fn combining_mark(accent: char) -> Option<char> {
    Some(match accent {
        '`' => '\u{300}',
        '\'' => '\u{301}',
        '^' => '\u{302}',
        '~' => '\u{303}',
        '=' => '\u{304}',
        'u' => '\u{306}',
        '.' => '\u{307}',
        '"' => '\u{308}',
        'r' => '\u{30a}',
        'H' => '\u{30b}',
        'v' => '\u{30c}',
        'd' => '\u{323}',
        'c' => '\u{327}',
        'k' => '\u{328}',
        'b' => '\u{331}',
        _ => return None,
    })
}

/// (TeX accent, ASCII base) -> precomposed character, sorted for binary search. Generated with Python's
/// `unicodedata.normalize("NFC", base + combining_mark)` keeping the pairs that compose to one character.
static PRECOMPOSED: &[(char, char, char)] = &[
    ('"', 'A', 'Ä'),
    ('"', 'E', 'Ë'),
    ('"', 'H', 'Ḧ'),
    ('"', 'I', 'Ï'),
    ('"', 'O', 'Ö'),
    ('"', 'U', 'Ü'),
    ('"', 'W', 'Ẅ'),
    ('"', 'X', 'Ẍ'),
    ('"', 'Y', 'Ÿ'),
    ('"', 'a', 'ä'),
    ('"', 'e', 'ë'),
    ('"', 'h', 'ḧ'),
    ('"', 'i', 'ï'),
    ('"', 'o', 'ö'),
    ('"', 't', 'ẗ'),
    ('"', 'u', 'ü'),
    ('"', 'w', 'ẅ'),
    ('"', 'x', 'ẍ'),
    ('"', 'y', 'ÿ'),
    ('\'', 'A', 'Á'),
    ('\'', 'C', 'Ć'),
    ('\'', 'E', 'É'),
    ('\'', 'G', 'Ǵ'),
    ('\'', 'I', 'Í'),
    ('\'', 'K', 'Ḱ'),
    ('\'', 'L', 'Ĺ'),
    ('\'', 'M', 'Ḿ'),
    ('\'', 'N', 'Ń'),
    ('\'', 'O', 'Ó'),
    ('\'', 'P', 'Ṕ'),
    ('\'', 'R', 'Ŕ'),
    ('\'', 'S', 'Ś'),
    ('\'', 'U', 'Ú'),
    ('\'', 'W', 'Ẃ'),
    ('\'', 'Y', 'Ý'),
    ('\'', 'Z', 'Ź'),
    ('\'', 'a', 'á'),
    ('\'', 'c', 'ć'),
    ('\'', 'e', 'é'),
    ('\'', 'g', 'ǵ'),
    ('\'', 'i', 'í'),
    ('\'', 'k', 'ḱ'),
    ('\'', 'l', 'ĺ'),
    ('\'', 'm', 'ḿ'),
    ('\'', 'n', 'ń'),
    ('\'', 'o', 'ó'),
    ('\'', 'p', 'ṕ'),
    ('\'', 'r', 'ŕ'),
    ('\'', 's', 'ś'),
    ('\'', 'u', 'ú'),
    ('\'', 'w', 'ẃ'),
    ('\'', 'y', 'ý'),
    ('\'', 'z', 'ź'),
    ('.', 'A', 'Ȧ'),
    ('.', 'B', 'Ḃ'),
    ('.', 'C', 'Ċ'),
    ('.', 'D', 'Ḋ'),
    ('.', 'E', 'Ė'),
    ('.', 'F', 'Ḟ'),
    ('.', 'G', 'Ġ'),
    ('.', 'H', 'Ḣ'),
    ('.', 'I', 'İ'),
    ('.', 'M', 'Ṁ'),
    ('.', 'N', 'Ṅ'),
    ('.', 'O', 'Ȯ'),
    ('.', 'P', 'Ṗ'),
    ('.', 'R', 'Ṙ'),
    ('.', 'S', 'Ṡ'),
    ('.', 'T', 'Ṫ'),
    ('.', 'W', 'Ẇ'),
    ('.', 'X', 'Ẋ'),
    ('.', 'Y', 'Ẏ'),
    ('.', 'Z', 'Ż'),
    ('.', 'a', 'ȧ'),
    ('.', 'b', 'ḃ'),
    ('.', 'c', 'ċ'),
    ('.', 'd', 'ḋ'),
    ('.', 'e', 'ė'),
    ('.', 'f', 'ḟ'),
    ('.', 'g', 'ġ'),
    ('.', 'h', 'ḣ'),
    ('.', 'm', 'ṁ'),
    ('.', 'n', 'ṅ'),
    ('.', 'o', 'ȯ'),
    ('.', 'p', 'ṗ'),
    ('.', 'r', 'ṙ'),
    ('.', 's', 'ṡ'),
    ('.', 't', 'ṫ'),
    ('.', 'w', 'ẇ'),
    ('.', 'x', 'ẋ'),
    ('.', 'y', 'ẏ'),
    ('.', 'z', 'ż'),
    ('=', 'A', 'Ā'),
    ('=', 'E', 'Ē'),
    ('=', 'G', 'Ḡ'),
    ('=', 'I', 'Ī'),
    ('=', 'O', 'Ō'),
    ('=', 'U', 'Ū'),
    ('=', 'Y', 'Ȳ'),
    ('=', 'a', 'ā'),
    ('=', 'e', 'ē'),
    ('=', 'g', 'ḡ'),
    ('=', 'i', 'ī'),
    ('=', 'o', 'ō'),
    ('=', 'u', 'ū'),
    ('=', 'y', 'ȳ'),
    ('H', 'O', 'Ő'),
    ('H', 'U', 'Ű'),
    ('H', 'o', 'ő'),
    ('H', 'u', 'ű'),
    ('^', 'A', 'Â'),
    ('^', 'C', 'Ĉ'),
    ('^', 'E', 'Ê'),
    ('^', 'G', 'Ĝ'),
    ('^', 'H', 'Ĥ'),
    ('^', 'I', 'Î'),
    ('^', 'J', 'Ĵ'),
    ('^', 'O', 'Ô'),
    ('^', 'S', 'Ŝ'),
    ('^', 'U', 'Û'),
    ('^', 'W', 'Ŵ'),
    ('^', 'Y', 'Ŷ'),
    ('^', 'Z', 'Ẑ'),
    ('^', 'a', 'â'),
    ('^', 'c', 'ĉ'),
    ('^', 'e', 'ê'),
    ('^', 'g', 'ĝ'),
    ('^', 'h', 'ĥ'),
    ('^', 'i', 'î'),
    ('^', 'j', 'ĵ'),
    ('^', 'o', 'ô'),
    ('^', 's', 'ŝ'),
    ('^', 'u', 'û'),
    ('^', 'w', 'ŵ'),
    ('^', 'y', 'ŷ'),
    ('^', 'z', 'ẑ'),
    ('`', 'A', 'À'),
    ('`', 'E', 'È'),
    ('`', 'I', 'Ì'),
    ('`', 'N', 'Ǹ'),
    ('`', 'O', 'Ò'),
    ('`', 'U', 'Ù'),
    ('`', 'W', 'Ẁ'),
    ('`', 'Y', 'Ỳ'),
    ('`', 'a', 'à'),
    ('`', 'e', 'è'),
    ('`', 'i', 'ì'),
    ('`', 'n', 'ǹ'),
    ('`', 'o', 'ò'),
    ('`', 'u', 'ù'),
    ('`', 'w', 'ẁ'),
    ('`', 'y', 'ỳ'),
    ('b', 'B', 'Ḇ'),
    ('b', 'D', 'Ḏ'),
    ('b', 'K', 'Ḵ'),
    ('b', 'L', 'Ḻ'),
    ('b', 'N', 'Ṉ'),
    ('b', 'R', 'Ṟ'),
    ('b', 'T', 'Ṯ'),
    ('b', 'Z', 'Ẕ'),
    ('b', 'b', 'ḇ'),
    ('b', 'd', 'ḏ'),
    ('b', 'h', 'ẖ'),
    ('b', 'k', 'ḵ'),
    ('b', 'l', 'ḻ'),
    ('b', 'n', 'ṉ'),
    ('b', 'r', 'ṟ'),
    ('b', 't', 'ṯ'),
    ('b', 'z', 'ẕ'),
    ('c', 'C', 'Ç'),
    ('c', 'D', 'Ḑ'),
    ('c', 'E', 'Ȩ'),
    ('c', 'G', 'Ģ'),
    ('c', 'H', 'Ḩ'),
    ('c', 'K', 'Ķ'),
    ('c', 'L', 'Ļ'),
    ('c', 'N', 'Ņ'),
    ('c', 'R', 'Ŗ'),
    ('c', 'S', 'Ş'),
    ('c', 'T', 'Ţ'),
    ('c', 'c', 'ç'),
    ('c', 'd', 'ḑ'),
    ('c', 'e', 'ȩ'),
    ('c', 'g', 'ģ'),
    ('c', 'h', 'ḩ'),
    ('c', 'k', 'ķ'),
    ('c', 'l', 'ļ'),
    ('c', 'n', 'ņ'),
    ('c', 'r', 'ŗ'),
    ('c', 's', 'ş'),
    ('c', 't', 'ţ'),
    ('d', 'A', 'Ạ'),
    ('d', 'B', 'Ḅ'),
    ('d', 'D', 'Ḍ'),
    ('d', 'E', 'Ẹ'),
    ('d', 'H', 'Ḥ'),
    ('d', 'I', 'Ị'),
    ('d', 'K', 'Ḳ'),
    ('d', 'L', 'Ḷ'),
    ('d', 'M', 'Ṃ'),
    ('d', 'N', 'Ṇ'),
    ('d', 'O', 'Ọ'),
    ('d', 'R', 'Ṛ'),
    ('d', 'S', 'Ṣ'),
    ('d', 'T', 'Ṭ'),
    ('d', 'U', 'Ụ'),
    ('d', 'V', 'Ṿ'),
    ('d', 'W', 'Ẉ'),
    ('d', 'Y', 'Ỵ'),
    ('d', 'Z', 'Ẓ'),
    ('d', 'a', 'ạ'),
    ('d', 'b', 'ḅ'),
    ('d', 'd', 'ḍ'),
    ('d', 'e', 'ẹ'),
    ('d', 'h', 'ḥ'),
    ('d', 'i', 'ị'),
    ('d', 'k', 'ḳ'),
    ('d', 'l', 'ḷ'),
    ('d', 'm', 'ṃ'),
    ('d', 'n', 'ṇ'),
    ('d', 'o', 'ọ'),
    ('d', 'r', 'ṛ'),
    ('d', 's', 'ṣ'),
    ('d', 't', 'ṭ'),
    ('d', 'u', 'ụ'),
    ('d', 'v', 'ṿ'),
    ('d', 'w', 'ẉ'),
    ('d', 'y', 'ỵ'),
    ('d', 'z', 'ẓ'),
    ('k', 'A', 'Ą'),
    ('k', 'E', 'Ę'),
    ('k', 'I', 'Į'),
    ('k', 'O', 'Ǫ'),
    ('k', 'U', 'Ų'),
    ('k', 'a', 'ą'),
    ('k', 'e', 'ę'),
    ('k', 'i', 'į'),
    ('k', 'o', 'ǫ'),
    ('k', 'u', 'ų'),
    ('r', 'A', 'Å'),
    ('r', 'U', 'Ů'),
    ('r', 'a', 'å'),
    ('r', 'u', 'ů'),
    ('r', 'w', 'ẘ'),
    ('r', 'y', 'ẙ'),
    ('u', 'A', 'Ă'),
    ('u', 'E', 'Ĕ'),
    ('u', 'G', 'Ğ'),
    ('u', 'I', 'Ĭ'),
    ('u', 'O', 'Ŏ'),
    ('u', 'U', 'Ŭ'),
    ('u', 'a', 'ă'),
    ('u', 'e', 'ĕ'),
    ('u', 'g', 'ğ'),
    ('u', 'i', 'ĭ'),
    ('u', 'o', 'ŏ'),
    ('u', 'u', 'ŭ'),
    ('v', 'A', 'Ǎ'),
    ('v', 'C', 'Č'),
    ('v', 'D', 'Ď'),
    ('v', 'E', 'Ě'),
    ('v', 'G', 'Ǧ'),
    ('v', 'H', 'Ȟ'),
    ('v', 'I', 'Ǐ'),
    ('v', 'K', 'Ǩ'),
    ('v', 'L', 'Ľ'),
    ('v', 'N', 'Ň'),
    ('v', 'O', 'Ǒ'),
    ('v', 'R', 'Ř'),
    ('v', 'S', 'Š'),
    ('v', 'T', 'Ť'),
    ('v', 'U', 'Ǔ'),
    ('v', 'Z', 'Ž'),
    ('v', 'a', 'ǎ'),
    ('v', 'c', 'č'),
    ('v', 'd', 'ď'),
    ('v', 'e', 'ě'),
    ('v', 'g', 'ǧ'),
    ('v', 'h', 'ȟ'),
    ('v', 'i', 'ǐ'),
    ('v', 'j', 'ǰ'),
    ('v', 'k', 'ǩ'),
    ('v', 'l', 'ľ'),
    ('v', 'n', 'ň'),
    ('v', 'o', 'ǒ'),
    ('v', 'r', 'ř'),
    ('v', 's', 'š'),
    ('v', 't', 'ť'),
    ('v', 'u', 'ǔ'),
    ('v', 'z', 'ž'),
    ('~', 'A', 'Ã'),
    ('~', 'E', 'Ẽ'),
    ('~', 'I', 'Ĩ'),
    ('~', 'N', 'Ñ'),
    ('~', 'O', 'Õ'),
    ('~', 'U', 'Ũ'),
    ('~', 'V', 'Ṽ'),
    ('~', 'Y', 'Ỹ'),
    ('~', 'a', 'ã'),
    ('~', 'e', 'ẽ'),
    ('~', 'i', 'ĩ'),
    ('~', 'n', 'ñ'),
    ('~', 'o', 'õ'),
    ('~', 'u', 'ũ'),
    ('~', 'v', 'ṽ'),
    ('~', 'y', 'ỹ'),
];

/// Lowercase ASCII base letters of Latin-1 (U+00C0–U+00FF) and Latin Extended-A (U+0100–U+017F), one byte per
/// code point; `*` marks the letters spelled with two (æ, þ, ß, ĳ, œ), `-` the two signs (×, ÷).
const LATIN1: &[u8; 64] = b"aaaaaa*ceeeeiiiidnooooo-ouuuuy**aaaaaa*ceeeeiiiidnooooo-ouuuuy*y";
const LATIN_EXT_A: &[u8] = concat!(
    "aaaaaa",
    "cccccccc",
    "dddd",
    "eeeeeeeeee",
    "gggggggg",
    "hhhh",
    "iiiiiiiiii",
    "**",
    "jj",
    "kkk",
    "llllllllll",
    "nnnnnnnnn",
    "oooooo",
    "**",
    "rrrrrr",
    "ssssssss",
    "tttttt",
    "uuuuuuuuuuuu",
    "ww",
    "yyy",
    "zzzzzz",
    "s"
)
.as_bytes();

/// One letter strings, so [`latin_ascii`] can answer `&'static str` for every table entry.
const ASCII_LOWER: [&str; 26] = [
    "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v", "w",
    "x", "y", "z",
];

/// The lowercase ASCII spelling of a Latin-1 or Latin Extended-A letter (`É` → `e`, `ß` → `ss`, `Ł` → `l`), the
/// transliteration PMLR's ids (Rails' `parameterize`) and the venue → arXiv matcher both fold accents with;
/// `None` for every other character (ASCII included) and for the two signs × and ÷.
pub fn latin_ascii(c: char) -> Option<&'static str> {
    let b = match c {
        '\u{c0}'..='\u{ff}' => LATIN1[c as usize - 0xc0],
        '\u{100}'..='\u{17f}' => LATIN_EXT_A[c as usize - 0x100],
        _ => return None,
    };
    match b {
        b'*' => Some(match c {
            'Æ' | 'æ' => "ae",
            'Þ' | 'þ' => "th",
            'ß' => "ss",
            'Ĳ' | 'ĳ' => "ij",
            _ => "oe",
        }),
        b'a'..=b'z' => Some(ASCII_LOWER[usize::from(b - b'a')]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_letters_fold_to_ascii() {
        assert_eq!(LATIN1.len(), 64);
        assert_eq!(LATIN_EXT_A.len(), 128);
        let fold = |s: &str| s.chars().map(|c| latin_ascii(c).unwrap_or("?")).collect::<String>();
        assert_eq!(fold("ÉßŁØÆœĳÞ"), "essloaeoeijth");
        assert_eq!(latin_ascii('a'), None, "ASCII is the caller's");
        assert_eq!(latin_ascii('×'), None);
        assert_eq!(latin_ascii('α'), None);
    }
    use proptest::prelude::*;

    #[test]
    fn accents_in_all_spellings() {
        for (tex, want) in [
            (r"Bal\'azs", "Balázs"),
            (r"\'e \'{e} {\'e} \' e", "é é é \\' e"),
            (r#"\"o {\"o} \"{o}"#, "ö ö ö"),
            (r"\c{c} \c c Fran\c{c}ois", "ç ç François"),
            (r"\v{s}\v{C} \u{a} \H{o} \~n \^o \`a \=a \.z \k{a} \r{a}", "šČ ă ő ñ ô à ā ż ą å"),
            (r"\i{} {\i} \'\i \'{\i} \^{\i}", "ı ı í í î"),
            (
                r"Gro\ss e, {\ss}, \o ster, \O, \aa, \AA, \ae, \AE, \oe, \l\'od\'z, \L",
                "Große, ß, øster, Ø, å, Å, æ, Æ, œ, łódź, Ł",
            ),
            (r#"Schr\"{o}dinger--Poisson---yes"#, "Schrödinger–Poisson—yes"),
            (r"R\&D 5\% a\_b \#1 \$5", "R&D 5% a_b #1 $5"),
            ("a~b", "a\u{a0}b"),
            (
                r"Journal de l'\'Ecole polytechnique - Math\'ematiques",
                "Journal de l'École polytechnique - Mathématiques",
            ),
            (r"\d{s}", "ṣ"),
            (r"Nguy\~ên \'{é}", "Nguyê\u{303}n é\u{301}"),
            (r"Pass\^{}1 a\~{}b", "Pass^1 a~b"),
            (r"\'{\j}", "j\u{301}"),
        ] {
            assert_eq!(decode(tex), want, "{tex}");
        }
    }

    #[test]
    fn unknown_and_unparseable_macros_are_kept() {
        for s in
            [r"\emph{x} \textbf{y} {\em z}", r"\'{ab}", r"\'{}", r"\omega \it", r"\", r"\c", r"{\'", r"\'1", r"\'€"]
        {
            assert_eq!(decode(s), s, "{s}");
        }
    }

    #[test]
    fn math_is_untouched() {
        for s in [r"$\'e--x~y$", r#"$$a--b \"o$$"#, r"\(x--y \'e\)", r"\[\alpha --- \beta\]", r"$a\$b$"] {
            assert_eq!(decode(s), s, "{s}");
        }
        assert_eq!(decode(r"\'e $x--\'y$ --"), r"é $x--\'y$ –");
        // An escaped dollar opens no math; the lone `$` of a price is plain text.
        assert_eq!(decode(r"costs \$5 -- \'e"), "costs $5 – é");
        assert_eq!(decode(r"costs $5 -- \'e"), "costs $5 – é");
    }

    #[test]
    fn whitespace_is_collapsed() {
        assert_eq!(
            normalize_whitespace("Calculation of prompt diphoton\n  production  \t"),
            "Calculation of prompt diphoton production"
        );
        assert_eq!(normalize_whitespace("  \n "), "");
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,80}") {
            let _ = decode(&s);
        }

        #[test]
        fn never_panics_on_tex_soup(s in "[\\\\{}$~\\-'\"`^=.a-zA-Z ()\\[\\]é]{0,40}") {
            let _ = decode(&s);
        }

        #[test]
        fn plain_text_is_unchanged(s in "[^\\\\{}~\\-]{0,80}") {
            prop_assert_eq!(decode(&s), s);
        }

        #[test]
        fn math_regions_survive(pre in "[a-z \\\\'\"]{0,10}", math in "[^$\\\\]{0,20}(\\\\[a-z]+[^$\\\\]{0,5}){0,3}") {
            let input = format!("{pre} ${math}$ tail");
            let out = decode(&input);
            let expected = format!("${math}$ tail");
            prop_assert!(out.ends_with(&expected), "{out:?}");
        }
    }
}
