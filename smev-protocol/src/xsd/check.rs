//! Checking one value against its simple type before anything is built or sent: the built-in
//! base (dates, numbers, booleans), length, enumeration, patterns, bounds, digits, and the check
//! number of ИНН/ОГРН/СНИЛС when the field or its type is named so. Each failure is one
//! [`ValueError`] with a Russian message for the person at the form.
//!
//! libxml2 still validates the whole document; this is for saying what is wrong, beside the
//! field, in words a clerk understands.

use chrono::NaiveDate;

use super::identifiers::Identifier;
use super::model::SimpleType;
use super::regex::Pattern;

/// Why a value does not fit its type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("значение не указано")]
    Missing,
    #[error("должно быть датой в формате ГГГГ-ММ-ДД")]
    NotADate,
    #[error("должно быть целым числом")]
    NotAnInteger,
    #[error("должно быть числом (дробная часть через точку)")]
    NotADecimal,
    #[error("должно быть «true» или «false»")]
    NotABoolean,
    #[error("должно быть годом (ГГГГ)")]
    NotAYear,
    #[error("должно содержать ровно {0} символов")]
    Length(u64),
    #[error("должно содержать не меньше {0} символов")]
    TooShort(u64),
    #[error("должно содержать не больше {0} символов")]
    TooLong(u64),
    #[error("должно быть одним из значений: {0}")]
    NotInList(String),
    #[error("не соответствует формату {0}")]
    Pattern(String),
    #[error("должно быть не меньше {0}")]
    BelowMinimum(String),
    #[error("должно быть не больше {0}")]
    AboveMaximum(String),
    #[error("не больше {0} цифр")]
    TotalDigits(u32),
    #[error("не больше {0} цифр после точки")]
    FractionDigits(u32),
    #[error("неверное контрольное число {0}")]
    CheckNumber(&'static str),
}

/// Checks `value` of a field called `field_name` against its type.
pub fn check(s: &SimpleType, field_name: &str, value: &str) -> Result<(), ValueError> {
    if !s.union.is_empty() {
        // Valid if valid for one member.
        let mut first = None;
        for m in &s.union {
            match check(m, field_name, value) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    first.get_or_insert(e);
                }
            }
        }
        return Err(first.unwrap_or(ValueError::Missing));
    }
    if s.list {
        let item = SimpleType {
            list: false,
            ..s.clone()
        };
        return value
            .split_whitespace()
            .try_for_each(|v| check(&item, field_name, v));
    }
    let v = collapse(&s.base, value);
    base(&s.base, &v)?;
    facets(s, &v)?;
    let named =
        Identifier::named(field_name).or_else(|| s.name.as_deref().and_then(Identifier::named));
    if let Some(id) = named {
        if !id.check_number_ok(&v) {
            return Err(ValueError::CheckNumber(match id {
                Identifier::Inn => "ИНН",
                Identifier::Ogrn => "ОГРН",
                Identifier::Snils => "СНИЛС",
            }));
        }
    }
    Ok(())
}

/// White space as the type's parser sees it: kept for `string`, collapsed otherwise.
fn collapse(base: &str, value: &str) -> String {
    match base {
        "string" => value.to_string(),
        _ => value.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

fn base(base: &str, v: &str) -> Result<(), ValueError> {
    let integer = |v: &str| {
        let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    };
    let ok = match base {
        "date" => {
            return NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map(|_| ())
                .map_err(|_| ValueError::NotADate)
        }
        "gYear" => v.len() == 4 && v.bytes().all(|b| b.is_ascii_digit()),
        "boolean" => matches!(v, "true" | "false" | "1" | "0"),
        "integer" | "int" | "long" | "short" | "byte" | "nonNegativeInteger"
        | "positiveInteger" | "nonPositiveInteger" | "negativeInteger" | "unsignedInt"
        | "unsignedLong" | "unsignedShort" | "unsignedByte" => {
            if !integer(v) {
                return Err(ValueError::NotAnInteger);
            }
            true
        }
        "decimal" => {
            let (int, frac) = v.split_once('.').unwrap_or((v, ""));
            let int = int.strip_prefix(['-', '+']).unwrap_or(int);
            !(int.is_empty() && frac.is_empty())
                && int.bytes().all(|b| b.is_ascii_digit())
                && frac.bytes().all(|b| b.is_ascii_digit())
        }
        _ => true,
    };
    if ok {
        return Ok(());
    }
    Err(match base {
        "boolean" => ValueError::NotABoolean,
        "gYear" => ValueError::NotAYear,
        _ => ValueError::NotADecimal,
    })
}

fn facets(s: &SimpleType, v: &str) -> Result<(), ValueError> {
    let f = &s.facets;
    if !f.enumeration.is_empty() && !f.enumeration.iter().any(|e| e.value == v) {
        let values: Vec<&str> = f
            .enumeration
            .iter()
            .take(20)
            .map(|e| e.value.as_str())
            .collect();
        return Err(ValueError::NotInList(values.join(", ")));
    }
    let len = v.chars().count() as u64;
    if let Some(n) = f.length.filter(|n| *n != len) {
        return Err(ValueError::Length(n));
    }
    if let Some(n) = f.min_length.filter(|n| len < *n) {
        return Err(ValueError::TooShort(n));
    }
    if let Some(n) = f.max_length.filter(|n| len > *n) {
        return Err(ValueError::TooLong(n));
    }
    for step in &f.patterns {
        let compiled: Vec<_> = step.iter().filter_map(|p| Pattern::cached(p)).collect();
        // A step with a pattern that cannot be compiled is left to libxml2.
        if compiled.len() == step.len() && !compiled.iter().any(|p| p.matches(v)) {
            return Err(ValueError::Pattern(step.join(" | ")));
        }
    }
    bounds(s, v)
}

/// `minInclusive` … `maxExclusive`, and digit counts, for numbers and dates (compared as
/// numbers, or as ISO strings of equal length).
fn bounds(s: &SimpleType, v: &str) -> Result<(), ValueError> {
    let f = &s.facets;
    let below = |limit: &str| compare(v, limit).is_some_and(|o| o.is_lt());
    let above = |limit: &str| compare(v, limit).is_some_and(|o| o.is_gt());
    let equal = |limit: &str| compare(v, limit).is_some_and(|o| o.is_eq());
    if let Some(m) = f.min_inclusive.as_deref().filter(|m| below(m)) {
        return Err(ValueError::BelowMinimum(m.into()));
    }
    if let Some(m) = f.min_exclusive.as_deref().filter(|m| below(m) || equal(m)) {
        return Err(ValueError::BelowMinimum(format!("больше {m}")));
    }
    if let Some(m) = f.max_inclusive.as_deref().filter(|m| above(m)) {
        return Err(ValueError::AboveMaximum(m.into()));
    }
    if let Some(m) = f.max_exclusive.as_deref().filter(|m| above(m) || equal(m)) {
        return Err(ValueError::AboveMaximum(format!("меньше {m}")));
    }
    let unsigned = v.trim_start_matches(['-', '+']);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let frac = frac.trim_end_matches('0');
    let int = int.trim_start_matches('0');
    if let Some(t) = f
        .total_digits
        .filter(|t| (int.len() + frac.len()) as u32 > *t)
    {
        return Err(ValueError::TotalDigits(t));
    }
    if let Some(t) = f.fraction_digits.filter(|t| frac.len() as u32 > *t) {
        return Err(ValueError::FractionDigits(t));
    }
    Ok(())
}

fn compare(a: &str, b: &str) -> Option<std::cmp::Ordering> {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y),
        _ if a.len() == b.len() => Some(a.cmp(b)),
        _ => None,
    }
}
