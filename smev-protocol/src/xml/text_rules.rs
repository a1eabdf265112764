//! The character-level rules of XML 1.0 a parsed document must meet: which characters may
//! appear, how references resolve (the five predefined entities and character references only),
//! and how text and attribute values are normalized. Each rule returns the message of its
//! failure; the parser adds the position.

use std::borrow::Cow;

use super::tree::{is_xml_char, normalize_line_ends};

pub(super) fn check_chars(s: &str) -> Result<(), String> {
    // Most text has no control character and no U+FFFE/U+FFFF (whose UTF-8 starts with
    // 0xEF): one pass over the bytes settles it.
    if !any_byte(s.as_bytes(), |b| {
        (b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r') | (b == 0xEF)
    }) {
        return Ok(());
    }
    if let Some(c) = s.chars().find(|c| !is_xml_char(*c)) {
        return Err(format!(
            "character U+{:04X} is not allowed in XML",
            c as u32
        ));
    }
    Ok(())
}

pub(super) fn normalize_text(s: &str) -> Result<Cow<'_, str>, String> {
    // The usual text: no reference, no ']', no control character (CR included) and no
    // 0xEF lead byte — one pass that settles all the checks below.
    if !any_byte(s.as_bytes(), |b| {
        (b < 0x20 && b != b'\t' && b != b'\n') | (b == b'&') | (b == b']') | (b == 0xEF)
    }) {
        return Ok(Cow::Borrowed(s));
    }
    if s.contains('&') {
        // quick-xml reports references as separate events; a bare '&' here is malformed.
        return Err("unescaped '&' in text".into());
    }
    if s.contains("]]>") {
        return Err("\"]]>\" is not allowed in text".into());
    }
    let text = normalize_line_ends(s);
    check_chars(&text)?;
    Ok(text)
}

pub(super) fn resolve_reference(name: &str) -> Result<char, String> {
    let c = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ if name.starts_with('#') => {
            let num = if let Some(hex) = name.strip_prefix("#x") {
                if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    None
                } else {
                    u32::from_str_radix(hex, 16).ok()
                }
            } else {
                let dec = &name[1..];
                if dec.is_empty() || !dec.bytes().all(|b| b.is_ascii_digit()) {
                    None
                } else {
                    dec.parse::<u32>().ok()
                }
            };
            match num.and_then(char::from_u32) {
                Some(c) if is_xml_char(c) => c,
                _ => return Err(format!("invalid character reference &{name};")),
            }
        }
        _ => {
            return Err(format!(
                "undefined entity &{name}; (only the predefined entities are allowed)"
            ))
        }
    };
    Ok(c)
}

pub(super) fn normalize_attr_value(s: &str) -> Result<String, String> {
    // Nothing to replace or refuse: the usual value, copied as it is.
    if !s
        .bytes()
        .any(|b| b < 0x20 || matches!(b, b'<' | b'&' | 0xEF))
    {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '<' => return Err("'<' is not allowed in an attribute value".into()),
            '\r' => {
                if let Some((_, '\n')) = chars.peek() {
                    chars.next();
                }
                out.push(' ');
            }
            '\n' | '\t' => out.push(' '),
            '&' => {
                let rest = &s[i + 1..];
                let Some(semi) = rest.find(';') else {
                    return Err("unterminated reference in an attribute value".into());
                };
                let name = &rest[..semi];
                out.push(resolve_reference(name)?);
                for _ in 0..=semi {
                    chars.next();
                }
            }
            c if !is_xml_char(c) => {
                return Err(format!(
                    "character U+{:04X} is not allowed in XML",
                    c as u32
                ))
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Whether `flag` holds for some byte of `bytes`. No early exit: the loop has no branch, so the
/// compiler turns it into vector instructions, many bytes a step.
pub(super) fn any_byte(bytes: &[u8], flag: impl Fn(u8) -> bool) -> bool {
    bytes.iter().fold(false, |found, &b| found | flag(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `rule` on each input of `cases` and compares with the expected text or message.
    fn check_table(
        cases: &[(&str, Result<&str, &str>)],
        rule: impl Fn(&str) -> Result<String, String>,
    ) {
        for (input, expected) in cases {
            let got = rule(input);
            let got = got.as_deref().map_err(String::as_str);
            assert_eq!(got, *expected, "{input:?}");
        }
    }

    #[test]
    fn text_is_kept_normalized_or_refused() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("plain text", Ok("plain text")),
            ("Задолженность по налогу", Ok("Задолженность по налогу")),
            ("a]b ]] c", Ok("a]b ]] c")),
            ("tab\tand\nline", Ok("tab\tand\nline")),
            ("crlf\r\nand lone\rcr", Ok("crlf\nand lone\ncr")),
            (
                "replacement \u{FFFD} is a character",
                Ok("replacement \u{FFFD} is a character"),
            ),
            ("x]]>y", Err("\"]]>\" is not allowed in text")),
            ("bare & amp", Err("unescaped '&' in text")),
            ("bell \u{7}", Err("character U+0007 is not allowed in XML")),
            (
                "noncharacter \u{FFFE}",
                Err("character U+FFFE is not allowed in XML"),
            ),
        ];
        check_table(cases, |s| normalize_text(s).map(Cow::into_owned));
    }

    #[test]
    fn attribute_values_are_normalized_or_refused() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("plain", Ok("plain")),
            ("a\tb\nc\r\nd", Ok("a b c d")),
            ("&lt;&#x41;&#66;&amp;", Ok("<AB&")),
            ("a<b", Err("'<' is not allowed in an attribute value")),
            (
                "&nbsp;",
                Err("undefined entity &nbsp; (only the predefined entities are allowed)"),
            ),
            ("&#0;", Err("invalid character reference &#0;")),
            ("&amp", Err("unterminated reference in an attribute value")),
        ];
        check_table(cases, normalize_attr_value);
    }
}
