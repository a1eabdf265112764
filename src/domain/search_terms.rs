//! What a request can be found by beyond its case: the numbers inside its business data (ИНН,
//! ОГРН, СНИЛС, document numbers). A clerk types a СНИЛС as she reads it — `112-233-445 95`,
//! `11223344595` or `112 233 445 95` — so numbers are kept and compared as bare digits.

/// Shortest and longest digit runs kept (a КПП or passport number at the short end, an ОГРНИП
/// at the long one).
const MIN_DIGITS: usize = 9;
const MAX_DIGITS: usize = 15;
/// Most numbers kept per request: enough for every identifier of a real request, and a bound on
/// what a hostile document can add to the record.
const MAX_TERMS: usize = 32;

/// The distinct numbers of 9–15 digits in `xml`, in order of appearance; digits separated by a
/// single `-` or space count as one number (`112-233-445 95`).
pub fn digit_terms(xml: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut Vec<String>| {
        if (MIN_DIGITS..=MAX_DIGITS).contains(&run.len())
            && out.len() < MAX_TERMS
            && !out.contains(run)
        {
            out.push(run.clone());
        }
        run.clear();
    };
    let bytes = xml.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b.is_ascii_digit() {
            run.push(char::from(b));
        } else if matches!(b, b'-' | b' ')
            && !run.is_empty()
            && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
        {
            continue;
        } else if !run.is_empty() {
            flush(&mut run, &mut out);
        }
        if run.len() > MAX_DIGITS * 4 {
            // A long run of digits is data, not an identifier; it is dropped without growing.
            run.clear();
        }
    }
    flush(&mut run, &mut out);
    out
}

/// The digits of a search text that is a number as people write one (digits with spaces or
/// dashes, at least four digits), or None for a text search.
pub fn digits_of_query(q: &str) -> Option<String> {
    let q = q.trim();
    if !q
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b' '))
    {
        return None;
    }
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= 4).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_found_in_any_spelling() {
        let xml = r#"<r><INN>7707083893</INN><Snils>112-233-445 95</Snils><S2>112 233 445 95</S2>
            <Date>2026-11-20</Date><KPP>770701001</KPP><Ogrnip>304500116000157</Ogrnip>
            <Long>12345678901234567890</Long><Doc n="4510 123456"/></r>"#;
        assert_eq!(
            digit_terms(xml),
            [
                "7707083893",
                "11223344595",
                "770701001",
                "304500116000157",
                "4510123456"
            ]
        );
    }

    #[test]
    fn the_number_of_terms_is_bounded() {
        let xml: String = (0..100)
            .map(|i| format!("<a>{:010}</a>", 1_000_000_000u64 + i))
            .collect();
        assert_eq!(digit_terms(&xml).len(), MAX_TERMS);
    }

    #[test]
    fn queries_that_are_numbers() {
        assert_eq!(
            digits_of_query(" 112-233-445 95 ").as_deref(),
            Some("11223344595")
        );
        assert_eq!(digits_of_query("1122").as_deref(), Some("1122"));
        assert_eq!(digits_of_query("112"), None);
        assert_eq!(digits_of_query("ЗАЯВ-2026"), None);
    }
}
