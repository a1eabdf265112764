//! The «Создать запрос» form: validation of the case fields and of a data kind's configured
//! fields (formats "digits:N", "digits:N|M", "date", "snils"), with Russian messages, and the
//! rendering of the kind's request template with XML-escaped values.

use crate::xsd::identifiers::Identifier;
use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::Value as Json;

use crate::config::{FieldConfig, KindConfig};
use crate::domain::CaseInfo;

/// Longest value of a free-text field.
pub const MAX_TEXT: usize = 500;

/// Decoded `application/x-www-form-urlencoded` (or multipart text) fields, in order.
#[derive(Debug, Clone, Default)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    /// The first value of `name` ("" when absent).
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

/// A validation message bound to a form field (also how the form lists it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// The form field name (`case_reference`, `f_inn`, …).
    pub field: String,
    pub message: String,
}

/// Form name of a kind field.
pub fn kind_field_name(f: &FieldConfig) -> String {
    format!("f_{}", f.name)
}

fn digits_lengths(format: &str) -> Option<Vec<usize>> {
    let spec = format.strip_prefix("digits:")?;
    let v: Vec<usize> = spec
        .split('|')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    (!v.is_empty()).then_some(v)
}

fn join_or(lengths: &[usize]) -> String {
    let parts: Vec<String> = lengths.iter().map(|n| n.to_string()).collect();
    match parts.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} или {last}", rest.join(", ")),
        _ => parts.join(""),
    }
}

/// Whether the 11 digits of a СНИЛС have a matching check number (numbers up to 001-001-998
/// carry none).
pub fn snils_checksum_ok(digits: &str) -> bool {
    let d: String = digits.chars().filter(char::is_ascii_digit).collect();
    d.len() == 11 && crate::xsd::identifiers::Identifier::Snils.check_number_ok(&d)
}

/// The identifier a digits field holds, told by its label («ИНН организации», «ОГРН», …), with
/// its name for messages; СНИЛС has its own format.
fn identifier_of(label: &str) -> Option<(Identifier, &'static str)> {
    match Identifier::named(label)? {
        Identifier::Inn => Some((Identifier::Inn, "ИНН")),
        Identifier::Ogrn => Some((Identifier::Ogrn, "ОГРН")),
        Identifier::Snils => None,
    }
}

/// `11223344595` → `112-233-445 95`; anything but 11 ASCII digits stays as it is.
pub fn format_snils(d: &str) -> String {
    if d.len() == 11 && d.is_ascii() {
        format!("{}-{}-{} {}", &d[..3], &d[3..6], &d[6..9], &d[9..])
    } else {
        d.to_string()
    }
}

/// Checks and normalizes one value. `Ok(None)` is an empty optional field.
pub fn check_value(
    label: &str,
    format: &str,
    required: bool,
    raw: &str,
) -> Result<Option<String>, String> {
    let v = raw.trim();
    if v.is_empty() {
        return if required {
            Err(format!("Заполните поле «{label}»."))
        } else {
            Ok(None)
        };
    }
    if v.chars().any(|c| c.is_control()) {
        return Err(format!("Поле «{label}» содержит недопустимые символы."));
    }
    if v.chars().count() > MAX_TEXT {
        return Err(format!(
            "Поле «{label}» слишком длинное: не более {MAX_TEXT} символов."
        ));
    }
    if let Some(lengths) = digits_lengths(format) {
        if !v.bytes().all(|b| b.is_ascii_digit()) || !lengths.contains(&v.len()) {
            return Err(format!(
                "Поле «{label}» должно состоять из {} цифр.",
                join_or(&lengths)
            ));
        }
        // A field labelled as an ИНН or ОГРН(ИП) carries a check number: a mistyped one would
        // come back from the provider as "not found" days later.
        if let Some((id, name)) = identifier_of(label) {
            if !id.check_number_ok(v) {
                return Err(format!(
                    "Контрольное число {name} в поле «{label}» не сходится: проверьте номер."
                ));
            }
        }
        return Ok(Some(v.to_string()));
    }
    match format {
        "date" => {
            let parsed = NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .or_else(|_| NaiveDate::parse_from_str(v, "%d.%m.%Y"))
                .ok()
                .filter(|d| (1900..=2100).contains(&chrono::Datelike::year(d)));
            match parsed {
                Some(d) => Ok(Some(d.format("%Y-%m-%d").to_string())),
                None => Err(format!(
                    "Укажите в поле «{label}» существующую дату в формате ДД.ММ.ГГГГ."
                )),
            }
        }
        "snils" => {
            let digits: String = v.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
            if digits.len() != 11 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "Поле «{label}» должно содержать 11 цифр СНИЛС, например 112-233-445 95."
                ));
            }
            if !snils_checksum_ok(&digits) {
                return Err(format!(
                    "Контрольное число СНИЛС в поле «{label}» не сходится: проверьте номер."
                ));
            }
            Ok(Some(format_snils(&digits)))
        }
        _ => Ok(Some(v.to_string())),
    }
}

/// One field of the case block of the form.
struct CaseField {
    name: &'static str,
    label: &'static str,
    required: bool,
    format: &'static str,
    hint: &'static str,
}

const CASE_FIELDS: &[CaseField] = &[
    CaseField {
        name: "case_reference",
        label: "Номер заявки",
        required: true,
        format: "",
        hint: "номер заявки в ведомственной системе, например 2026-000451",
    },
    CaseField {
        name: "case_service",
        label: "Услуга",
        required: false,
        format: "",
        hint: "",
    },
    CaseField {
        name: "case_applicant",
        label: "Заявитель",
        required: false,
        format: "",
        hint: "ФИО или наименование организации",
    },
    CaseField {
        name: "case_inn",
        label: "ИНН заявителя",
        required: false,
        format: "digits:10|12",
        hint: "10 цифр для организации, 12 для физического лица",
    },
    CaseField {
        name: "case_snils",
        label: "СНИЛС заявителя",
        required: false,
        format: "snils",
        hint: "например 112-233-445 95",
    },
];

/// The result of validating the form.
#[derive(Debug, Clone, Default)]
pub struct Validated {
    /// Kind field name (as in the template) → normalized value ("" for empty optional ones).
    pub values: BTreeMap<String, String>,
    pub case: CaseInfo,
    pub errors: Vec<FieldError>,
}

/// Validates the case fields and the fields of `kind`.
pub fn validate(kind: &KindConfig, form: &FormData) -> Validated {
    let mut out = Validated::default();
    let mut case_values: BTreeMap<&str, Option<String>> = BTreeMap::new();
    for f in CASE_FIELDS {
        match check_value(f.label, f.format, f.required, form.get(f.name)) {
            Ok(v) => {
                case_values.insert(f.name, v);
            }
            Err(message) => out.errors.push(FieldError {
                field: f.name.into(),
                message,
            }),
        }
    }
    let take = |m: &mut BTreeMap<&str, Option<String>>, k: &str| m.remove(k).flatten();
    out.case = CaseInfo {
        reference: take(&mut case_values, "case_reference").unwrap_or_default(),
        service: take(&mut case_values, "case_service"),
        applicant: take(&mut case_values, "case_applicant"),
        inn: take(&mut case_values, "case_inn"),
        snils: take(&mut case_values, "case_snils"),
        metadata: Json::Null,
    };
    for f in &kind.fields {
        let name = kind_field_name(f);
        match check_value(&f.label, &f.format, f.required, form.get(&name)) {
            Ok(v) => {
                out.values.insert(f.name.clone(), v.unwrap_or_default());
            }
            Err(message) => out.errors.push(FieldError {
                field: name,
                message,
            }),
        }
    }
    out
}

fn input_attrs(format: &str) -> (&'static str, &'static str, String) {
    // (type, inputmode, pattern)
    if let Some(l) = digits_lengths(format) {
        let alts: Vec<String> = l.iter().map(|n| format!("[0-9]{{{n}}}")).collect();
        return ("text", "numeric", alts.join("|"));
    }
    match format {
        "date" => ("date", "", String::new()),
        "snils" => ("text", "numeric", String::new()),
        _ => ("text", "", String::new()),
    }
}

/// A form field as the `field` macro draws it: its input, its value so far and its error.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldSpec {
    pub name: String,
    pub label: String,
    pub required: bool,
    pub format: String,
    pub hint: String,
    pub value: String,
    pub error: Option<String>,
    /// The input's `type`.
    #[serde(rename = "type")]
    pub input_type: &'static str,
    pub inputmode: &'static str,
    pub pattern: String,
    /// `inn` or `ogrn` when the field carries that identifier's check number (the script checks
    /// it as the server does).
    pub identifier: &'static str,
}

impl FieldSpec {
    fn new(
        name: &str,
        label: &str,
        required: bool,
        format: &str,
        hint: &str,
        form: &FormData,
        errors: &[FieldError],
    ) -> FieldSpec {
        let (input_type, inputmode, pattern) = input_attrs(format);
        FieldSpec {
            name: name.to_string(),
            label: label.to_string(),
            required,
            format: format.to_string(),
            hint: hint.to_string(),
            value: form.get(name).to_string(),
            error: errors
                .iter()
                .find(|e| e.field == name)
                .map(|e| e.message.clone()),
            input_type,
            inputmode,
            pattern,
            identifier: match digits_lengths(format).and(identifier_of(label)) {
                Some((Identifier::Inn, _)) => "inn",
                Some((Identifier::Ogrn, _)) => "ogrn",
                _ => "",
            },
        }
    }
}

/// Starts the kind's empty ИНН and СНИЛС fields from the case's (`case_inn`, `case_snils` in
/// `form`): the clerk typed them once, on the case.
pub fn prefill_from_case(kind: &KindConfig, form: &mut Vec<(String, String)>) {
    let value = |form: &[(String, String)], name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    for f in &kind.fields {
        let name = kind_field_name(f);
        if value(form, &name).is_some() {
            continue;
        }
        let from_case = if f.format == "snils" {
            value(form, "case_snils")
        } else if matches!(identifier_of(&f.label), Some((Identifier::Inn, _))) {
            value(form, "case_inn").filter(|v| {
                digits_lengths(&f.format).is_none_or(|lengths| lengths.contains(&v.len()))
            })
        } else {
            None
        };
        if let Some(v) = from_case {
            form.push((name, v));
        }
    }
}

/// The case block of the form, for the template.
pub fn case_specs(form: &FormData, errors: &[FieldError]) -> Vec<FieldSpec> {
    CASE_FIELDS
        .iter()
        .map(|f| FieldSpec::new(f.name, f.label, f.required, f.format, f.hint, form, errors))
        .collect()
}

/// The kind's fields, for the template.
pub fn kind_specs(kind: &KindConfig, form: &FormData, errors: &[FieldError]) -> Vec<FieldSpec> {
    kind.fields
        .iter()
        .map(|f| {
            FieldSpec::new(
                &kind_field_name(f),
                &f.label,
                f.required,
                &f.format,
                &f.hint,
                form,
                errors,
            )
        })
        .collect()
}

/// XML escaping for a value put into the request template: text escaping plus both quotes,
/// so a value is safe in element content and in attribute values alike.
pub fn xml_escape(s: &str) -> String {
    crate::xml::escape::text(s)
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// Renders the kind's request template with the (normalized) values, each XML-escaped.
pub fn render_request(
    kind: &KindConfig,
    values: &BTreeMap<String, String>,
) -> Result<String, String> {
    if kind.template.trim().is_empty() {
        return Err(format!(
            "Для вида сведений «{}» не настроен шаблон запроса (kinds.template).",
            kind.name
        ));
    }
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    let ctx: BTreeMap<String, minijinja::Value> = values
        .iter()
        .map(|(k, v)| (k.clone(), minijinja::Value::from(xml_escape(v))))
        .collect();
    env.render_str(&kind.template, ctx)
        .map(|s| s.trim().to_string())
        .map_err(|e| {
            format!(
                "Шаблон запроса вида сведений «{}» настроен с ошибкой: {e}",
                kind.name
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind() -> KindConfig {
        let toml = r#"
id = "k"
name = "Вид"
request = { namespace = "urn:x", root = "R" }
response = { namespace = "urn:x", root = "A" }
schema = "x.xsd"
fields = [
  { name = "inn", label = "ИНН организации", required = true, format = "digits:10" },
  { name = "kpp", label = "КПП", format = "digits:9" },
  { name = "who", label = "Кто", required = true },
  { name = "on_date", label = "На дату", required = true, format = "date" },
  { name = "snils", label = "СНИЛС", format = "snils" },
]
template = """
<x:R xmlns:x="urn:x" note="{{ who }}"><x:INN>{{ inn }}</x:INN>{% if kpp %}<x:KPP>{{ kpp }}</x:KPP>{% endif %}<x:Who>{{ who }}</x:Who><x:D>{{ on_date }}</x:D></x:R>
"""
"#;
        toml::from_str(toml).unwrap()
    }

    fn form(pairs: &[(&str, &str)]) -> FormData {
        FormData(
            pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )
    }

    #[test]
    fn identifier_check_numbers_by_label() {
        // (label, format, value, accepted)
        let cases = [
            ("ИНН организации", "digits:10", "7707083893", true),
            ("ИНН организации", "digits:10", "7707083894", false),
            ("ИНН заявителя", "digits:10|12", "500100732259", true),
            ("ИНН заявителя", "digits:10|12", "500100732258", false),
            ("ОГРН", "digits:13", "1027700132195", true),
            ("ОГРН", "digits:13", "1027700132194", false),
            ("ОГРНИП", "digits:15", "304500116000157", true),
            ("ОГРНИП", "digits:15", "304500116000158", false),
            ("КПП", "digits:9", "770701001", true),
        ];
        for (label, format, value, accepted) in cases {
            let r = check_value(label, format, true, value);
            assert_eq!(r.is_ok(), accepted, "{label} {value}: {r:?}");
            if let Err(m) = r {
                assert!(m.contains("Контрольное число") || m.contains("цифр"), "{m}");
            }
        }
    }

    #[test]
    fn formats() {
        assert_eq!(
            check_value("ИНН", "digits:10", true, " 7707083893 ").unwrap(),
            Some("7707083893".into())
        );
        assert_eq!(
            check_value("ИНН", "digits:10", true, "770708389").unwrap_err(),
            "Поле «ИНН» должно состоять из 10 цифр."
        );
        assert_eq!(
            check_value("ИНН", "digits:10|12", true, "77070838931").unwrap_err(),
            "Поле «ИНН» должно состоять из 10 или 12 цифр."
        );
        assert!(check_value("ИНН", "digits:10|12", true, "500100732259").is_ok());
        assert!(check_value("ИНН", "digits:10", true, "77070838a3").is_err());
        assert_eq!(
            check_value("Дата", "date", true, "").unwrap_err(),
            "Заполните поле «Дата»."
        );
        assert_eq!(check_value("Дата", "date", false, "  ").unwrap(), None);
        assert_eq!(
            check_value("Дата", "date", true, "26.11.2026").unwrap(),
            Some("2026-11-26".into())
        );
        assert_eq!(
            check_value("Дата", "date", true, "2026-11-26").unwrap(),
            Some("2026-11-26".into())
        );
        assert!(check_value("Дата", "date", true, "31.02.2026")
            .unwrap_err()
            .contains("ДД.ММ.ГГГГ"));
        assert_eq!(
            check_value("СНИЛС", "snils", true, "11223344595").unwrap(),
            Some("112-233-445 95".into())
        );
        assert!(check_value("СНИЛС", "snils", true, "112-233-445 96")
            .unwrap_err()
            .contains("Контрольное число"));
        assert!(check_value("СНИЛС", "snils", true, "112-233")
            .unwrap_err()
            .contains("11 цифр"));
        assert!(check_value("Имя", "", true, "a\u{1}b")
            .unwrap_err()
            .contains("недопустимые"));
        assert!(check_value("Имя", "", true, &"я".repeat(MAX_TEXT + 1))
            .unwrap_err()
            .contains("слишком длинное"));
    }

    #[test]
    fn snils_checksums() {
        assert!(snils_checksum_ok("11223344595"));
        assert!(!snils_checksum_ok("11223344596"));
        // Small numbers carry no check number.
        assert!(snils_checksum_ok("00100199812"));
        // Weighted sum 156 → 156 mod 101 = 55; sum 100 → 00.
        assert!(snils_checksum_ok("12345678055"));
        assert!(snils_checksum_ok("32222222300"));
        assert!(!snils_checksum_ok("32222222301"));
    }

    #[test]
    fn validate_collects_every_error() {
        let k = kind();
        let v = validate(&k, &form(&[("f_inn", "12"), ("case_inn", "abc")]));
        let fields: Vec<&str> = v.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["case_reference", "case_inn", "f_inn", "f_who", "f_on_date"]
        );
        let ok = validate(
            &k,
            &form(&[
                ("case_reference", " 2026-1 "),
                ("case_snils", "112 233 445 95"),
                ("f_inn", "7707083893"),
                ("f_who", "Иванов"),
                ("f_on_date", "01.12.2026"),
            ]),
        );
        assert!(ok.errors.is_empty(), "{:?}", ok.errors);
        assert_eq!(ok.case.reference, "2026-1");
        assert_eq!(ok.case.snils.as_deref(), Some("112-233-445 95"));
        assert_eq!(ok.case.inn, None);
        assert_eq!(ok.values["kpp"], "");
        assert_eq!(ok.values["on_date"], "2026-12-01");
    }

    #[test]
    fn template_values_are_xml_escaped() {
        let k = kind();
        let mut values = BTreeMap::new();
        values.insert("inn".to_string(), "7707083893".to_string());
        values.insert("kpp".to_string(), String::new());
        values.insert("who".to_string(), "<b>\"O'Hara\" & Co</b>]]>".to_string());
        values.insert("on_date".to_string(), "2026-12-01".to_string());
        let xml = render_request(&k, &values).unwrap();
        assert!(!xml.contains("<x:KPP>"), "{xml}");
        assert!(xml
            .contains("<x:Who>&lt;b&gt;&quot;O&apos;Hara&quot; &amp; Co&lt;/b&gt;]]&gt;</x:Who>"));
        assert!(xml.contains("note=\"&lt;b&gt;&quot;O&apos;Hara"));
        crate::xml::tree::Document::parse_str(&xml).expect("well-formed");
        let mut broken = kind();
        broken.template = "{% if %}".into();
        assert!(render_request(&broken, &values)
            .unwrap_err()
            .contains("настроен с ошибкой"));
    }

    #[test]
    fn specs_carry_values_errors_and_html_hints() {
        let k = kind();
        let f = form(&[("f_inn", "12")]);
        let v = validate(&k, &f);
        let specs = kind_specs(&k, &f, &v.errors);
        assert_eq!(specs[0].name, "f_inn");
        assert_eq!(specs[0].value, "12");
        assert_eq!(specs[0].pattern, "[0-9]{10}");
        assert_eq!(specs[0].inputmode, "numeric");
        assert!(specs[0].error.as_deref().unwrap().contains("10 цифр"));
        assert_eq!(specs[3].input_type, "date");
        assert!(specs[1].error.is_none());
        let case = case_specs(&f, &v.errors);
        assert!(case[0].required);
        assert_eq!(case[3].pattern, "[0-9]{10}|[0-9]{12}");
    }
}
