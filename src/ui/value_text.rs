//! How a value of an answer reads to a clerk: booleans as «Да»/«Нет», dates as ДД.ММ.ГГГГ,
//! amounts with digit groups, a decimal comma and the currency in Russian, enumeration codes as
//! the text the schema documents for them («Брак действует»). The raw value stays beside it,
//! behind the «технические сведения» toggle, so nothing is hidden from whoever checks.
//!
//! What a value is comes from the kind's schema (its field tree); where no schema says, only
//! unmistakable forms are turned (`true`/`false`, an ISO date), everything else is shown as is.

use std::collections::HashMap;

use crate::xsd::{Content, Field, SimpleType};

/// What a leaf holds, as far as its reading goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    Boolean,
    Date,
    DateTime,
    Decimal,
    /// Code → documented text (codes without documentation are absent).
    Enumeration(HashMap<String, String>),
}

/// Shapes of a kind's document: path relative to the root (no indexes, attributes as
/// `path/@name`) → shape. Text fields are absent.
pub type Shapes = HashMap<String, Shape>;

/// The shapes of the fields under `root`.
pub fn shapes_from_tree(root: &Field) -> Shapes {
    let mut out = Shapes::new();
    super::xmltable::visit_tree(root, &mut |path, f| {
        let simple = match &f.content {
            Content::Simple { simple } => Some(simple),
            Content::Complex { text, .. } => text.as_ref(),
            Content::Any | Content::Recursive { .. } => None,
        };
        if let Some(s) = simple.and_then(shape_of) {
            out.insert(path.to_string(), s);
        }
    });
    out
}

fn shape_of(t: &SimpleType) -> Option<Shape> {
    if t.list || !t.union.is_empty() {
        return None;
    }
    let texts: HashMap<String, String> = t
        .facets
        .enumeration
        .iter()
        .filter_map(|e| {
            let doc = e.documentation.as_deref()?;
            let text = doc.split_whitespace().collect::<Vec<_>>().join(" ");
            let text = text.trim_end_matches('.').to_string();
            (!text.is_empty()).then(|| (e.value.clone(), text))
        })
        .collect();
    if !texts.is_empty() {
        return Some(Shape::Enumeration(texts));
    }
    match t.base.as_str() {
        "boolean" => Some(Shape::Boolean),
        "date" => Some(Shape::Date),
        "dateTime" => Some(Shape::DateTime),
        "decimal" => (t.facets.fraction_digits != Some(0)).then_some(Shape::Decimal),
        _ => None,
    }
}

/// How `value` reads, given its shape (None: no schema says).
pub fn readable(value: &str, shape: Option<&Shape>) -> String {
    let v = value.trim();
    match shape {
        Some(Shape::Boolean) => match v {
            "1" => Some("Да".into()),
            "0" => Some("Нет".into()),
            _ => boolean(v),
        },
        Some(Shape::Date) => date(v),
        Some(Shape::DateTime) => date_time(v),
        Some(Shape::Decimal) => amount(v, None),
        Some(Shape::Enumeration(texts)) => texts.get(v).cloned(),
        // Only forms that cannot mean anything else.
        None => boolean(v).or_else(|| date(v)),
    }
    .unwrap_or_else(|| v.to_string())
}

fn boolean(v: &str) -> Option<String> {
    match v {
        "true" => Some("Да".into()),
        "false" => Some("Нет".into()),
        _ => None,
    }
}

/// `YYYY-MM-DD` (an optional zone suffix is dropped: a date is a calendar day).
fn date(v: &str) -> Option<String> {
    let day = v.get(..10)?;
    let rest = &v[10..];
    if !(rest.is_empty() || rest == "Z" || rest.starts_with('+') || rest.starts_with('-')) {
        return None;
    }
    let d = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
    Some(d.format("%d.%m.%Y").to_string())
}

/// `YYYY-MM-DDThh:mm:ss[.fff][zone]` as ДД.ММ.ГГГГ ЧЧ:ММ in the value's own zone (the
/// provider's statement of time; converting it would change what the document says).
fn date_time(v: &str) -> Option<String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
        return Some(t.format("%d.%m.%Y %H:%M").to_string());
    }
    chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.format("%d.%m.%Y %H:%M").to_string())
}

/// The Russian name of a currency code (ISO 4217 letters or digits).
pub fn currency_ru(code: &str) -> Option<&'static str> {
    Some(match code.trim() {
        "RUB" | "RUR" | "643" | "810" => "руб.",
        "USD" | "840" => "долл. США",
        "EUR" | "978" => "евро",
        "CNY" | "156" => "юаней",
        "BYN" | "933" => "бел. руб.",
        "KZT" | "398" => "тенге",
        _ => return None,
    })
}

/// `15230.50` → «15 230,50» (with « руб.» for RUB); None when `v` is not a decimal.
pub fn amount(v: &str, currency: Option<&str>) -> Option<String> {
    let (sign, digits) = match v.strip_prefix('-') {
        Some(rest) => ("−", rest),
        None => ("", v.strip_prefix('+').unwrap_or(v)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let is_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !is_digits(int) || !is_digits(frac) || int.len() > 40 {
        return None;
    }
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            // A narrow no-break space keeps the number on one line.
            grouped.push('\u{202f}');
        }
        grouped.push(c);
    }
    let mut out = format!("{sign}{grouped}");
    if !frac.is_empty() {
        out.push(',');
        out.push_str(frac);
    }
    if let Some(c) = currency {
        out.push(' ');
        out.push_str(currency_ru(c).unwrap_or(c));
    }
    Some(out)
}

/// Whether an attribute names the currency of its element's amount.
pub fn is_currency_attribute(name: &str) -> bool {
    matches!(
        name,
        "currency" | "Currency" | "currencyCode" | "CurrencyCode" | "cur" | "Cur"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_by_shape() {
        let enumeration = Shape::Enumeration(HashMap::from([(
            "1".to_string(),
            "Брак действует".to_string(),
        )]));
        let cases: &[(&str, Option<&Shape>, &str)] = &[
            ("true", Some(&Shape::Boolean), "Да"),
            ("false", Some(&Shape::Boolean), "Нет"),
            ("1", Some(&Shape::Boolean), "Да"),
            ("yes", Some(&Shape::Boolean), "yes"),
            ("2026-12-03", Some(&Shape::Date), "03.12.2026"),
            ("2026-12-03+03:00", Some(&Shape::Date), "03.12.2026"),
            (
                "2026-12-03T09:05:00+03:00",
                Some(&Shape::DateTime),
                "03.12.2026 09:05",
            ),
            (
                "2026-12-03T09:05:00.123",
                Some(&Shape::DateTime),
                "03.12.2026 09:05",
            ),
            ("15230.50", Some(&Shape::Decimal), "15\u{202f}230,50"),
            ("-1000", Some(&Shape::Decimal), "−1\u{202f}000"),
            ("12a", Some(&Shape::Decimal), "12a"),
            ("1", Some(&enumeration), "Брак действует"),
            ("2", Some(&enumeration), "2"),
            // Without a schema only unmistakable forms change.
            ("true", None, "Да"),
            ("2026-02-30", None, "2026-02-30"),
            ("2026-01-31", None, "31.01.2026"),
            ("15230.50", None, "15230.50"),
            ("7707083893", None, "7707083893"),
        ];
        for (value, shape, expected) in cases {
            assert_eq!(readable(value, *shape), *expected, "{value} as {shape:?}");
        }
    }

    #[test]
    fn amounts_with_currency() {
        assert_eq!(
            amount("15230.50", Some("RUB")).as_deref(),
            Some("15\u{202f}230,50 руб.")
        );
        assert_eq!(amount("0.99", Some("643")).as_deref(), Some("0,99 руб."));
        assert_eq!(amount("100", Some("XAU")).as_deref(), Some("100 XAU"));
        assert_eq!(amount("1.2.3", Some("RUB")), None);
        assert_eq!(amount("", None), None);
    }
}
