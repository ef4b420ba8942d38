//! The FAQ: the six Cool Papers questions, asked as successive turns of one conversation over the paper.
//!
//! Prompts come from one TOML file (`prompts/faq.toml`, built in; `[llm] prompts_file` overrides it) so users
//! can read and change them; its `version` is part of the cache key.

use std::path::Path;

use serde::Deserialize;

use super::client::ChatMessage;
use super::context::PaperContext;

static BUILTIN: &str = include_str!("../../prompts/faq.toml");

/// The answer language. English and Chinese are generated separately, never translated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Zh,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "en" => Some(Lang::En),
            "zh" | "zh-cn" | "cn" => Some(Lang::Zh),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LangPrompts {
    pub system: String,
    pub context: String,
    pub full_text_note: String,
    pub abstract_only_note: String,
    pub questions: Vec<String>,
}

/// Why a prompts file cannot be used (the server refuses to start, naming the file and the part).
#[derive(Debug, thiserror::Error)]
pub enum PromptsError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{name} is invalid: {message}")]
    Syntax { name: String, message: String },
    #[error("{name}: [{lang}] has no questions")]
    NoQuestions { name: String, lang: &'static str },
    #[error("{name}: [{lang}] context: {reason}")]
    Template { name: String, lang: &'static str, reason: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prompts {
    pub version: String,
    pub en: LangPrompts,
    pub zh: LangPrompts,
}

impl Prompts {
    pub fn builtin() -> Result<Prompts, PromptsError> {
        Self::parse(BUILTIN, "prompts/faq.toml (built in)")
    }

    pub fn load(path: Option<&Path>) -> Result<Prompts, PromptsError> {
        match path {
            None => Self::builtin(),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|source| PromptsError::Read { path: p.display().to_string(), source })?;
                Self::parse(&text, &p.display().to_string())
            }
        }
    }

    fn parse(text: &str, name: &str) -> Result<Prompts, PromptsError> {
        let p: Prompts = toml::from_str(text)
            .map_err(|e| PromptsError::Syntax { name: name.to_string(), message: e.message().to_string() })?;
        for (lang, lp) in [("en", &p.en), ("zh", &p.zh)] {
            if lp.questions.is_empty() {
                return Err(PromptsError::NoQuestions { name: name.to_string(), lang });
            }
            fill(&lp.context, &[]).map_err(|reason| PromptsError::Template { name: name.to_string(), lang, reason })?;
        }
        Ok(p)
    }

    pub fn lang(&self, lang: Lang) -> &LangPrompts {
        match lang {
            Lang::En => &self.en,
            Lang::Zh => &self.zh,
        }
    }
}

impl LangPrompts {
    /// The first user turn's text: the paper context followed by the first question is built by [`turns`].
    pub fn context_text(&self, ctx: &PaperContext) -> String {
        let (note, body) = match &ctx.body {
            Some(body) => (self.full_text_note.as_str(), body.as_str()),
            None => (self.abstract_only_note.as_str(), ""),
        };
        let authors = ctx.authors.join(", ");
        let vars = [
            ("title", ctx.title.as_str()),
            ("authors", authors.as_str()),
            ("abstract", ctx.abstract_text.as_str()),
            ("body_note", note),
            ("body", body),
        ];
        // Validated at load time; an unknown name here cannot happen, but never panic over a template.
        fill(&self.context, &vars).unwrap_or_else(|_| self.context.clone()).trim().to_string()
    }
}

/// The messages for question `index` (0-based): system, context + Q1, A1, Q2, A2, ..., Q(index+1).
pub fn turns(p: &LangPrompts, ctx: &PaperContext, answers: &[String], index: usize) -> Vec<ChatMessage> {
    let mut msgs = vec![ChatMessage::system(p.system.clone())];
    for (i, q) in p.questions.iter().enumerate().take(index + 1) {
        if i == 0 {
            msgs.push(ChatMessage::user(format!("{}\n\n{q}", p.context_text(ctx))));
        } else {
            msgs.push(ChatMessage::user(q.clone()));
        }
        if i < index {
            msgs.push(ChatMessage::assistant(answers.get(i).cloned().unwrap_or_default()));
        }
    }
    msgs
}

/// Replaces `{name}` with its value; `{{`/`}}` are literal braces. With no `vars`, only checks the names.
fn fill(template: &str, vars: &[(&str, &str)]) -> Result<String, String> {
    const NAMES: &[&str] = &["title", "authors", "abstract", "body_note", "body"];
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
        } else if tail.starts_with('}') {
            return Err("a lone '}' (write '}}')".into());
        } else {
            let end = tail.find('}').ok_or("an unclosed '{'")?;
            let name = &tail[1..end];
            if !NAMES.contains(&name) {
                return Err(format!("unknown placeholder {{{name}}}; known: {}", NAMES.join(", ")));
            }
            out.push_str(vars.iter().find(|(n, _)| *n == name).map_or("", |(_, v)| v));
            rest = &tail[end + 1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(body: Option<&str>) -> PaperContext {
        PaperContext {
            title: "Attention {is} all".into(),
            authors: vec!["A. One".into(), "B. Two".into()],
            abstract_text: "We propose.".into(),
            body: body.map(String::from),
            truncated: false,
        }
    }

    #[test]
    fn builtin_prompts_have_six_questions_per_language() {
        let p = Prompts::builtin().unwrap();
        assert_eq!(p.en.questions.len(), 6);
        assert_eq!(p.zh.questions.len(), 6);
        assert!(p.en.questions[0].contains("What problem"));
        assert!(!p.version.is_empty());
    }

    #[test]
    fn turns_form_one_conversation() {
        let p = Prompts::builtin().unwrap();
        let answers = vec!["A1".to_string(), "A2".to_string()];
        let m = turns(&p.en, &ctx(Some("1 Introduction")), &answers, 2);
        let roles: Vec<&str> = m.iter().map(|m| m.role).collect();
        assert_eq!(roles, ["system", "user", "assistant", "user", "assistant", "user"]);
        assert!(m[1].content.contains("Attention {is} all") && m[1].content.contains("1 Introduction"));
        assert!(m[1].content.ends_with(&p.en.questions[0]));
        assert_eq!(m[4].content, "A2");
        assert_eq!(m[5].content, p.en.questions[2]);
        let abstract_only = turns(&p.zh, &ctx(None), &[], 0);
        assert!(abstract_only[1].content.contains(&p.zh.abstract_only_note));
    }

    #[test]
    fn a_prompts_file_overrides_the_builtin_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("faq.toml");
        let text = BUILTIN.replace("version = \"1\"", "version = \"mine-2\"");
        std::fs::write(&path, &text).unwrap();
        assert_eq!(Prompts::load(Some(&path)).unwrap().version, "mine-2");
        std::fs::write(&path, text.replace("{abstract}", "{abstrakt}")).unwrap();
        assert!(Prompts::load(Some(&path)).unwrap_err().to_string().contains("unknown placeholder {abstrakt}"));
        assert!(Prompts::load(Some(&dir.path().join("missing.toml"))).unwrap_err().to_string().contains("cannot read"));
    }

    #[test]
    fn templates_are_checked() {
        assert_eq!(fill("{{x}} {title}", &[("title", "T")]).unwrap(), "{x} T");
        assert!(fill("{nope}", &[]).unwrap_err().contains("unknown placeholder"));
        assert!(fill("{title", &[]).is_err());
        assert!(fill("}", &[]).is_err());
    }
}
