//! XML Schema regular expressions (`xs:pattern`) run by the `regex-automata` engine (linear
//! time in the input, whatever the pattern — the schema and the value both come from outside).
//!
//! The dialects differ in a few places, translated here: an XSD pattern is anchored at both
//! ends; `^` and `$` are ordinary characters; `\i`/`\c` (XML name characters) have no Rust
//! counterpart; class subtraction is `[a-z-[aeiou]]` (Rust: `[a-z--[aeiou]]`); `\p{IsBlock}`
//! names Unicode blocks, which Rust does not have. A pattern that cannot be translated is
//! reported as such, and the value is left to libxml2, which validates every message anyway.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use regex_automata::meta::Regex;

/// Longest pattern compiled.
const MAX_PATTERN_CHARS: usize = 4096;
/// Largest compiled program (bytes), against patterns like `(a{1000}){1000}`.
const MAX_COMPILED_BYTES: usize = 4 * 1024 * 1024;

/// Most compiled patterns kept for reuse (a kind's schema has a few hundred).
const MAX_CACHED: usize = 4096;

/// A compiled `xs:pattern`.
#[derive(Debug, Clone)]
pub struct Pattern {
    regex: Regex,
}

impl Pattern {
    /// Compiles an XSD pattern; `None` when it uses what cannot be translated or is too large.
    pub fn new(xsd: &str) -> Option<Pattern> {
        if xsd.chars().count() > MAX_PATTERN_CHARS {
            return None;
        }
        let translated = translate(xsd)?;
        let regex = Regex::builder()
            .syntax(regex_automata::util::syntax::Config::new().unicode(true))
            .configure(Regex::config().nfa_size_limit(Some(MAX_COMPILED_BYTES)))
            .build(&format!("^(?:{translated})$"))
            .ok()?;
        Some(Pattern { regex })
    }

    /// The compiled pattern, shared: each value check would otherwise compile its type's
    /// patterns again, and a request may carry thousands of values.
    pub fn cached(xsd: &str) -> Option<Arc<Pattern>> {
        static CACHE: OnceLock<Mutex<HashMap<String, Option<Arc<Pattern>>>>> = OnceLock::new();
        let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
        if let Some(hit) = cache.lock().ok().and_then(|c| c.get(xsd).cloned()) {
            return hit;
        }
        let compiled = Pattern::new(xsd).map(Arc::new);
        if let Ok(mut c) = cache.lock() {
            if c.len() >= MAX_CACHED {
                c.clear();
            }
            c.insert(xsd.to_string(), compiled.clone());
        }
        compiled
    }

    /// Whether the whole value matches.
    pub fn matches(&self, value: &str) -> bool {
        self.regex.is_match(value)
    }
}

/// The pattern in Rust regex syntax.
fn translate(xsd: &str) -> Option<String> {
    let mut out = String::with_capacity(xsd.len() + 8);
    let mut chars = xsd.chars().peekable();
    let mut class_depth = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let e = chars.next()?;
                match e {
                    'i' => out.push_str(if class_depth > 0 {
                        r"\p{L}_:"
                    } else {
                        r"[\p{L}_:]"
                    }),
                    'c' => out.push_str(if class_depth > 0 {
                        r"\p{L}\p{N}._:\-"
                    } else {
                        r"[\p{L}\p{N}._:\-]"
                    }),
                    'I' | 'C' if class_depth > 0 => return None,
                    'I' => out.push_str(r"[^\p{L}_:]"),
                    'C' => out.push_str(r"[^\p{L}\p{N}._:\-]"),
                    'p' | 'P' => {
                        let mut name = String::new();
                        if chars.next()? != '{' {
                            return None;
                        }
                        loop {
                            match chars.next()? {
                                '}' => break,
                                ch => name.push(ch),
                            }
                        }
                        if name.starts_with("Is") {
                            return None; // Unicode blocks: no Rust counterpart
                        }
                        out.push('\\');
                        out.push(e);
                        out.push('{');
                        out.push_str(&name);
                        out.push('}');
                    }
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            }
            '[' => {
                class_depth += 1;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
            }
            ']' if class_depth > 0 => {
                class_depth -= 1;
                out.push(']');
            }
            '-' if class_depth > 0 && chars.peek() == Some(&'[') => out.push_str("--"),
            // Ordinary characters in XSD; operators in Rust (`&`, `~` only inside classes).
            '^' | '$' if class_depth == 0 => {
                out.push('\\');
                out.push(c);
            }
            '&' | '~' if class_depth > 0 => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    (class_depth == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::Pattern;

    #[test]
    fn xsd_patterns_from_vs_packages() {
        let cases = [
            (r"[125]{1}\d{12}", "1027700132195", true),
            (r"[125]{1}\d{12}", "10277001321950", false),
            (
                r"([0-9]{1}[1-9]{1}|[1-9]{1}[0-9]{1})[0-9]{8}",
                "7707329152",
                true,
            ),
            (
                r"([0-9]{1}[1-9]{1}|[1-9]{1}[0-9]{1})[0-9]{8}",
                "0007329152",
                false,
            ),
            (
                r"[а-яА-ЯёЁ\-0-9][а-яА-ЯёЁ\-\s'',.]*",
                "Салтыков-Щедрин",
                true,
            ),
            (r"[а-яА-ЯёЁ\-0-9][а-яА-ЯёЁ\-\s'',.]*", "Smith", false),
            (r"[IVXLCDM]{1,3}[\-][А-Я]{2}", "IV-АБ", true),
            (r"\d{2}", "1", false),
            (r"a$b", "a$b", true),
            (r"[a-z-[aeiou]]+", "bcd", true),
            (r"[a-z-[aeiou]]+", "bad", false),
            (r"\i\c*", "Имя_1", true),
            (r"\p{Lu}+", "АБВ", true),
        ];
        for (p, value, ok) in cases {
            let compiled = Pattern::new(p).unwrap_or_else(|| panic!("{p} compiles"));
            assert_eq!(compiled.matches(value), ok, "{p} ~ {value}");
        }
    }

    #[test]
    fn untranslatable_or_huge_patterns_are_not_compiled() {
        for p in [r"\p{IsBasicLatin}+", "[abc", r"(a{1000}){1000}"] {
            assert!(Pattern::new(p).is_none(), "{p}");
        }
    }
}
