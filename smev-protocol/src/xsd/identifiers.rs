//! Check numbers of the Russian identifiers that data kinds carry: ИНН (10 digits for an
//! organisation, 12 for a person), ОГРН (13) and ОГРНИП (15), СНИЛС (11). A schema only says
//! "12 digits"; a mistyped number passes it and comes back from the agency as "not found" days
//! later, so forms check the number as soon as it is typed.

/// Which identifier a field holds, told by its name or its type's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identifier {
    Inn,
    Ogrn,
    Snils,
}

impl Identifier {
    /// The identifier a field or type name refers to (`ИННЮЛ`, `ИННФЛТип`, `OGRNCompanyType`,
    /// `Snils`, `SNILSType` …), if any.
    pub fn named(name: &str) -> Option<Identifier> {
        let upper = name.to_uppercase();
        if upper.contains("СНИЛС") || upper.contains("SNILS") {
            Some(Identifier::Snils)
        } else if upper.contains("ОГРН") || upper.contains("OGRN") {
            Some(Identifier::Ogrn)
        } else if upper.starts_with("ИНН") || upper.contains("INN") && !upper.contains("INNER") {
            Some(Identifier::Inn)
        } else {
            None
        }
    }

    /// Whether `value` (digits; СНИЛС may carry its usual `-` and space) has a valid check
    /// number. Values of another length are left to the schema's own facets.
    pub fn check_number_ok(self, value: &str) -> bool {
        let digits: Vec<u32> = match self {
            Identifier::Snils => value
                .chars()
                .filter(|c| *c != '-' && *c != ' ')
                .map(|c| c.to_digit(10))
                .collect::<Option<Vec<u32>>>(),
            _ => value.chars().map(|c| c.to_digit(10)).collect(),
        }
        .unwrap_or_default();
        match (self, digits.len()) {
            (Identifier::Inn, 10) => {
                inn_digit(&digits[..9], &[2, 4, 10, 3, 5, 9, 4, 6, 8]) == digits[9]
            }
            (Identifier::Inn, 12) => {
                inn_digit(&digits[..10], &[7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) == digits[10]
                    && inn_digit(&digits[..11], &[3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) == digits[11]
            }
            (Identifier::Ogrn, 13) => number(&digits[..12]) % 11 % 10 == u64::from(digits[12]),
            (Identifier::Ogrn, 15) => number(&digits[..14]) % 13 % 10 == u64::from(digits[14]),
            (Identifier::Snils, 11) => snils_ok(&digits),
            _ => true,
        }
    }
}

fn inn_digit(digits: &[u32], weights: &[u32]) -> u32 {
    digits.iter().zip(weights).map(|(d, w)| d * w).sum::<u32>() % 11 % 10
}

fn number(digits: &[u32]) -> u64 {
    digits.iter().fold(0, |acc, d| acc * 10 + u64::from(*d))
}

/// СНИЛС: numbers up to 001-001-998 carry no check number.
fn snils_ok(d: &[u32]) -> bool {
    if number(&d[..9]) <= 1_001_998 {
        return true;
    }
    let sum: u32 = d[..9]
        .iter()
        .enumerate()
        .map(|(i, x)| x * (9 - i as u32))
        .sum();
    let check = match sum % 101 {
        100 => 0,
        s => s,
    };
    check == d[9] * 10 + d[10]
}

#[cfg(test)]
mod tests {
    use super::Identifier::{self, *};

    #[test]
    fn names_tell_the_identifier() {
        let cases = [
            ("ИННЮЛ", Some(Inn)),
            ("ИННФЛТип", Some(Inn)),
            ("LegalPersonINNType", Some(Inn)),
            ("ОГРН", Some(Ogrn)),
            ("OGRNCompanyType", Some(Ogrn)),
            ("Snils", Some(Snils)),
            ("СНИЛС", Some(Snils)),
            ("Фамилия", None),
            ("InnerCode", None),
        ];
        for (name, want) in cases {
            assert_eq!(Identifier::named(name), want, "{name}");
        }
    }

    #[test]
    fn check_numbers() {
        // Published examples: ИНН of ФНС России, ОГРН of Сбербанк, СНИЛС from the ПФР sample.
        let cases = [
            (Inn, "7707329152", true),
            (Inn, "7707329153", false),
            (Inn, "500100732259", true),
            (Inn, "500100732258", false),
            (Ogrn, "1027700132195", true),
            (Ogrn, "1027700132196", false),
            (Ogrn, "304500116000157", true),
            (Snils, "112-233-445 95", true),
            (Snils, "11223344596", false),
            (Snils, "00100199812", true),
            (Inn, "123", true), // other lengths are the schema's business
        ];
        for (id, value, ok) in cases {
            assert_eq!(id.check_number_ok(value), ok, "{id:?} {value}");
        }
    }
}
