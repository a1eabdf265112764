//! Character escaping for the two serializations we must reproduce byte for byte: Canonical XML
//! (W3C C14N §2.3) and the SMEV transform, whose reference implementation writes through the
//! Woodstox StAX writer (documented by the MR 3.5 as "step 9").

use super::text_rules::any_byte;

/// Canonical XML text node escaping: `&`, `<`, `>` and CR.
pub fn c14n_text(out: &mut Vec<u8>, s: &str) {
    escape_ascii(out, s, |b| match b {
        b'&' => Some(b"&amp;"),
        b'<' => Some(b"&lt;"),
        b'>' => Some(b"&gt;"),
        b'\r' => Some(b"&#xD;"),
        _ => None,
    });
}

/// Canonical XML attribute value escaping: `&`, `<`, `"`, TAB, LF, CR.
pub fn c14n_attr(out: &mut Vec<u8>, s: &str) {
    escape_ascii(out, s, |b| match b {
        b'&' => Some(b"&amp;"),
        b'<' => Some(b"&lt;"),
        b'"' => Some(b"&quot;"),
        b'\t' => Some(b"&#x9;"),
        b'\n' => Some(b"&#xA;"),
        b'\r' => Some(b"&#xD;"),
        _ => None,
    });
}

/// Copies `s` to `out` with each byte `entity` names replaced: the bytes replaced are ASCII, so
/// the runs copied between them are whole UTF-8 sequences, and each run is one copy.
fn escape_ascii(out: &mut Vec<u8>, s: &str, entity: impl Fn(u8) -> Option<&'static [u8]>) {
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if let Some(e) = entity(b) {
            out.extend_from_slice(&bytes[run..i]);
            out.extend_from_slice(e);
            run = i + 1;
        }
    }
    out.extend_from_slice(&bytes[run..]);
}

/// Woodstox's `BaseStreamWriter.MIN_ARRAYCOPY`: text this long (in UTF-16 units) is written in
/// chunks through a copy buffer, which changes when `>` gets escaped.
const WOODSTOX_MIN_ARRAYCOPY: usize = 12;
/// Woodstox's copy buffer length (`DEFAULT_COPYBUFFER_LEN`).
const WOODSTOX_COPY_BUFFER: usize = 512;

/// Text escaping exactly as Woodstox's `BufferingXmlWriter` does it: `&`, `<` and CR always;
/// U+007F–U+009F as a lower-case hex character reference (`&#x85;`); `>` only where Woodstox
/// escapes it (start of the text or of a 512-unit chunk, after `]`, and in long texts right after
/// any character written as an entity or a character reference).
pub fn woodstox_text(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    // Text with nothing Woodstox would escape is written as it is. 0xC2 leads U+0080–U+00BF
    // (the C1 controls among them), 0x7F is DEL; `>` needs the rules below.
    if !any_byte(bytes, |b| {
        (b == b'&') | (b == b'<') | (b == b'>') | (b == b'\r') | (b == 0x7F) | (b == 0xC2)
    }) {
        out.extend_from_slice(bytes);
        return;
    }
    // Positions count UTF-16 units, as Java's do: one per character, two for a character
    // outside the BMP (a four-byte UTF-8 sequence, lead byte 0xF0 and above).
    let utf16_len = bytes.iter().fold(0usize, |n, &b| {
        n + usize::from(!is_continuation(b)) + usize::from(b >= 0xF0)
    });
    let chunked = utf16_len >= WOODSTOX_MIN_ARRAYCOPY;
    let mut pos = 0usize; // UTF-16 offset of the current character
    let mut prev_lead: Option<u8> = None; // first byte of the previous character
    let mut prev_was_entity = false;
    // Start of the bytes not yet written: copied as one run before each entity.
    let mut run = 0usize;
    let mut reference = [0u8; 6];
    for (at, &b) in bytes.iter().enumerate() {
        if is_continuation(b) {
            continue;
        }
        let chunk_start = if chunked {
            pos.is_multiple_of(WOODSTOX_COPY_BUFFER)
        } else {
            pos == 0
        };
        let (entity, width): (Option<&[u8]>, usize) = match b {
            b'&' => (Some(b"&amp;"), 1),
            b'<' => (Some(b"&lt;"), 1),
            b'\r' => (Some(b"&#xd;"), 1),
            b'>' if chunk_start || prev_lead == Some(b']') || (chunked && prev_was_entity) => {
                (Some(b"&gt;"), 1)
            }
            // Woodstox writes the C1 controls and DEL as character references (they are
            // "discouraged" characters, and restricted in XML 1.1): U+0080–U+009F is 0xC2
            // followed by 0x80–0x9F.
            0x7F => (Some(b"&#x7f;"), 1),
            0xC2 if bytes.get(at + 1).is_some_and(|n| (0x80..=0x9F).contains(n)) => {
                // Below U+00C0 the continuation byte is the code point itself.
                let code = bytes[at + 1];
                reference[..3].copy_from_slice(b"&#x");
                reference[3] = hex_digit(code >> 4);
                reference[4] = hex_digit(code & 0xF);
                reference[5] = b';';
                (Some(&reference[..6]), 2)
            }
            _ => (None, 0),
        };
        if let Some(e) = entity {
            out.extend_from_slice(&bytes[run..at]);
            out.extend_from_slice(e);
            run = at + width;
        }
        prev_was_entity = entity.is_some();
        prev_lead = Some(b);
        pos += 1 + usize::from(b >= 0xF0);
    }
    out.extend_from_slice(&bytes[run..]);
}

fn is_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
}

fn hex_digit(n: u8) -> u8 {
    b"0123456789abcdef"[usize::from(n & 0xF)]
}
/// Attribute value escaping as Woodstox writes it: `&`, `<`, `"`, TAB, LF, CR (lowercase hex).
pub fn woodstox_attr(out: &mut Vec<u8>, s: &str) {
    escape_ascii(out, s, |b| match b {
        b'&' => Some(b"&amp;"),
        b'<' => Some(b"&lt;"),
        b'"' => Some(b"&quot;"),
        b'\t' => Some(b"&#x9;"),
        b'\n' => Some(b"&#xa;"),
        b'\r' => Some(b"&#xd;"),
        _ => None,
    });
}

/// Text from a document as it may appear in an error message, a log line or a page: at most
/// `max_chars` characters (then `…`), and control, format (bidi) and other invisible characters
/// escaped (`\n`, `\u{202e}`), so input can neither forge log lines nor disguise text.
pub fn printable(s: &str, max_chars: usize) -> String {
    let invisible = |c: char| {
        c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}' | '\u{061c}')
    };
    let mut out = String::with_capacity(s.len().min(max_chars.saturating_mul(4)));
    for c in s.chars().take(max_chars) {
        if invisible(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    if s.chars().nth(max_chars).is_some() {
        out.push('…');
    }
    out
}

/// Plain escaping for building XML by hand: text (`&`, `<`, `>`).
pub fn text(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    c14n_text(&mut out, s);
    String::from_utf8(out).unwrap_or_default()
}

/// Plain escaping for building XML by hand: attribute values in double quotes.
pub fn attr(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    c14n_attr(&mut out, s);
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wt(s: &str) -> String {
        let mut v = Vec::new();
        woodstox_text(&mut v, s);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn woodstox_gt_rules_short_text() {
        assert_eq!(wt(">>text<&"), "&gt;>text&lt;&amp;");
        assert_eq!(wt("a&>b"), "a&amp;>b");
        assert_eq!(wt("]>"), "]&gt;");
    }

    #[test]
    fn woodstox_gt_rules_long_text() {
        assert_eq!(wt("abcdefghij>k"), "abcdefghij>k");
        assert_eq!(wt("abcdefghijkl<>mnop"), "abcdefghijkl&lt;&gt;mnop");
        assert_eq!(wt("abcdefghijkl>>mnop"), "abcdefghijkl>>mnop");
        assert_eq!(wt("abcdefghijkl&>mnop"), "abcdefghijkl&amp;&gt;mnop");
        let mut long = "a".repeat(512);
        long.push_str(">>");
        let expected = format!("{}&gt;&gt;", "a".repeat(512));
        assert_eq!(wt(&long), expected);
    }

    #[test]
    fn woodstox_c1_controls_are_character_references() {
        let cases = [
            ("a\u{85}b", "a&#x85;b"),
            ("\u{7f}", "&#x7f;"),
            ("\u{9f}\u{a0}", "&#x9f;\u{a0}"),
            ("\u{7e}", "\u{7e}"),
            // Short text: `>` after a reference is not escaped, as after `&amp;`.
            ("a\u{85}>", "a&#x85;>"),
            // Long text: `>` right after a reference is escaped, as after `&amp;`.
            ("abcdefghijkl\u{85}>m", "abcdefghijkl&#x85;&gt;m"),
        ];
        for (input, expected) in cases {
            assert_eq!(wt(input), expected, "input {input:?}");
        }
    }
}
