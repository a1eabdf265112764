//! The XSD model against libxml2 and against what the schema text says: the public VS packages
//! in `../shared/vs/` (when present) and the project's own feature fixture load offline, every
//! root of the main file expands, and the instance generated from each tree is accepted by
//! libxml2 validating with the original schema — the independent judge of the model.

use std::path::{Path, PathBuf};

use smev_protocol::smev::schema::Schema;
use smev_protocol::xsd::components::{Components, QName};
use smev_protocol::xsd::{resolve, sample, show, Content, Field, Particle, SchemaSet, XsdError};

fn vs() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vs");
    p.is_dir().then_some(p)
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/xsd")
}

/// Package folder and main file of each public package.
const PACKAGES: [(&str, &str); 6] = [
    ("fns-inn-singular", "30017.xsd"),
    (
        "pfr-snils-by-additional-data",
        "snils-by-additionalData-1.0.1.xsd",
    ),
    ("fns-egrul/4.0.6", "fns-vipul-tosmv-ru.xsd"),
    ("fns-egrul/4.0.5", "fns-vipul-tosmv-ru.xsd"),
    ("zags-fataloiv", "zags-fataloiv-ru-root.xsd"),
    ("rosreestr-egrn-statement", "rosreestr-statement.xsd"),
];

/// Every root of the main file, expanded.
fn roots(dir: &Path, main: &str) -> Vec<(QName, Field)> {
    let set = SchemaSet::load(dir, Path::new(main)).unwrap_or_else(|e| panic!("{main}: {e}"));
    let comps = Components::index(&set).unwrap_or_else(|e| panic!("{main}: {e}"));
    comps
        .elements()
        .iter()
        .filter(|(_, at)| at.doc == 0)
        .map(|(q, _)| {
            let tree = resolve::describe(&set, &comps, q).unwrap_or_else(|e| panic!("{q}: {e}"));
            (q.clone(), tree)
        })
        .collect()
}

fn assert_samples_validate(dir: &Path, main: &str) -> usize {
    let schema = Schema::load(&dir.join(main)).expect("libxml2 loads the schema");
    let roots = roots(dir, main);
    for (q, tree) in &roots {
        let xml = sample::instance(tree);
        if let Err(e) = schema.validate(xml.as_bytes()) {
            panic!("{main} {q}: libxml2 refuses the generated instance: {e}\n{xml}");
        }
    }
    roots.len()
}

#[test]
fn generated_instances_of_public_packages_pass_libxml2() {
    let Some(vs) = vs() else { return };
    for (dir, main) in PACKAGES {
        let n = assert_samples_validate(&vs.join(dir), main);
        assert!(
            n >= 2,
            "{dir}: a request and a response root at least, found {n}"
        );
    }
}

#[test]
fn generated_instances_of_the_feature_fixture_pass_libxml2() {
    assert_eq!(
        assert_samples_validate(&fixtures().join("features"), "main.xsd"),
        2
    );
}

fn find<'a>(f: &'a Field, name: &str) -> Option<&'a Field> {
    if f.name == name {
        return Some(f);
    }
    let Content::Complex {
        attributes,
        children,
        ..
    } = &f.content
    else {
        return None;
    };
    attributes
        .iter()
        .find_map(|a| find(a, name))
        .or_else(|| children.as_ref().and_then(|g| find_in(&g.items, name)))
}

fn find_in<'a>(items: &'a [Particle], name: &str) -> Option<&'a Field> {
    items.iter().find_map(|p| match p {
        Particle::Element(f) => find(f, name),
        Particle::Group(g) => find_in(&g.items, name),
        Particle::Any { .. } => None,
    })
}

fn feature_request() -> Field {
    roots(&fixtures().join("features"), "main.xsd")
        .into_iter()
        .find(|(q, _)| q.local == "FeatureRequest")
        .map(|(_, f)| f)
        .expect("FeatureRequest")
}

#[test]
fn extension_puts_base_fields_first_and_adds_its_own() {
    let f = feature_request();
    let person = find(&f, "Person").expect("Person");
    let text = show::render(person);
    let order: Vec<usize> = ["LastName", "FirstName", "BirthDate"]
        .iter()
        .map(|n| text.find(n).unwrap_or_else(|| panic!("{n} in\n{text}")))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
    for a in ["@role", "@gender", "@legacy?"] {
        assert!(text.contains(a), "{a} in\n{text}");
    }
}

#[test]
fn restriction_drops_a_prohibited_attribute() {
    let f = feature_request();
    let text = show::render(find(&f, "Shape").expect("Shape"));
    assert!(
        text.contains("@role") && !text.contains("@legacy"),
        "{text}"
    );
}

#[test]
fn windows_1251_file_is_read_with_its_labels() {
    let f = feature_request();
    let last = find(&f, "LastName").expect("LastName");
    let Content::Simple { simple } = &last.content else {
        panic!("{last:?}")
    };
    assert_eq!(
        simple.documentation.as_deref(),
        Some("Строка кириллицей до 60 символов")
    );
    assert_eq!(
        (simple.facets.min_length, simple.facets.max_length),
        (Some(1), Some(60))
    );
}

#[test]
fn chameleon_include_and_enumeration_labels() {
    let f = feature_request();
    let gender = find(&f, "gender").expect("gender");
    let Content::Simple { simple } = &gender.content else {
        panic!()
    };
    let labels: Vec<_> = simple
        .facets
        .enumeration
        .iter()
        .map(|e| (e.value.as_str(), e.documentation.as_deref()))
        .collect();
    assert_eq!(labels, [("M", Some("Мужской")), ("F", Some("Женский"))]);
    assert_eq!(
        simple.name.as_deref(),
        Some("{urn://test/features/1.0}Gender")
    );
}

#[test]
fn recursion_is_cut_and_named() {
    let f = feature_request();
    let child = find(&f, "Child").expect("Child");
    assert!(
        matches!(&child.content, Content::Recursive { type_name } if type_name.ends_with("}Node")),
        "{child:?}"
    );
}

#[test]
fn restriction_steps_keep_every_pattern() {
    let f = feature_request();
    let code = find(&f, "Code").expect("Code");
    assert_eq!(
        (code.min_occurs, format!("{:?}", code.max_occurs)),
        (0, "Bounded(3)".into())
    );
    let Content::Simple { simple } = &code.content else {
        panic!()
    };
    assert_eq!(
        simple.facets.patterns,
        vec![vec![r"\d+".to_string()], vec![r"[1-9]\d+".to_string()]]
    );
    assert_eq!(simple.facets.length, Some(4));
}

#[test]
fn unqualified_local_elements_of_an_imported_type_have_no_namespace() {
    let f = feature_request();
    assert_eq!(
        find(&f, "Unqualified").expect("Unqualified").namespace,
        None
    );
    assert_eq!(
        find(&f, "Local").expect("Local").namespace.as_deref(),
        Some("urn://test/features/1.0")
    );
}

#[test]
fn egrul_request_is_a_choice_of_ogrn_or_inn() {
    let Some(vs) = vs() else { return };
    let (_, tree) = roots(&vs.join("fns-egrul/4.0.6"), "fns-vipul-tosmv-ru.xsd")
        .into_iter()
        .find(|(q, _)| q.local == "FNSVipULRequest")
        .expect("FNSVipULRequest");
    let text = show::render(&tree);
    assert!(text.contains("(choice of):\n      | ОГРН : "), "{text}");
    assert!(text.contains("\n      | ИННЮЛ : "), "{text}");
    assert!(
        text.contains("@ИдДок : string-36 (string, length 1..36)  — Идентификатор запроса"),
        "{text}"
    );
}

#[test]
fn versions_keep_their_own_namespaces() {
    let Some(vs) = vs() else { return };
    let ns = |v: &str| -> Vec<String> {
        roots(&vs.join(format!("fns-egrul/{v}")), "fns-vipul-tosmv-ru.xsd")
            .into_iter()
            .map(|(q, _)| q.to_string())
            .collect()
    };
    let (a, b) = (ns("4.0.5"), ns("4.0.6"));
    assert!(
        a.iter().all(|q| q.contains("/4.0.5}")) && b.iter().all(|q| q.contains("/4.0.6}")),
        "{a:?} {b:?}"
    );
}

#[test]
fn a_location_outside_the_package_is_refused_naming_the_file() {
    match SchemaSet::load(&fixtures().join("escape"), Path::new("main.xsd")) {
        Err(XsdError::Location { file, why, .. }) => {
            assert_eq!(file, Path::new("main.xsd"));
            assert!(why.contains("outside"), "{why}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn utf8_declared_file_with_windows_1251_bytes_is_refused_naming_the_file() {
    let dir = tempdir();
    let bad = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- Комментарий -->\n<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\"/>";
    std::fs::write(dir.join("liar.xsd"), encoding_cp1251(bad)).unwrap();
    match SchemaSet::load(&dir, Path::new("liar.xsd")) {
        Err(e @ XsdError::WrongEncoding { .. }) => assert!(
            e.to_string()
                .starts_with("liar.xsd: declares encoding UTF-8"),
            "{e}"
        ),
        other => panic!("{other:?}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn encoding_cp1251(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            'А'..='я' => (c as u32 - 'А' as u32 + 0xC0) as u8,
            c => c as u8,
        })
        .collect()
}

fn tempdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("xsd-model-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn public_samples_that_fail_their_own_schema_are_refused_with_the_reason() {
    let Some(vs) = vs() else { return };
    let cases = [
        (
            "fns-egrul/4.0.5",
            "fns-vipul-tosmv-ru.xsd",
            "fns-egrul/samples/1.xml",
            "СвАдресЮЛ",
        ),
        (
            "pfr-snils-by-additional-data",
            "snils-by-additionalData-1.0.1.xsd",
            "pfr-snils-by-additional-data/samples/1.xml",
            "Snils",
        ),
    ];
    for (dir, main, sample, element) in cases {
        let schema = Schema::load(&vs.join(dir).join(main)).unwrap();
        let xml = std::fs::read(vs.join(sample)).unwrap();
        let e = schema.validate(&xml).expect_err(sample).to_string();
        assert!(
            e.contains("Element '{") && e.contains(element) && e.contains("not expected"),
            "{sample}: {e}"
        );
    }
}

#[test]
fn packages_find_their_main_schema_and_roots() {
    let Some(vs) = vs() else { return };
    for (dir, main) in PACKAGES {
        let p = smev_protocol::xsd::Package::open(&vs.join(dir), None)
            .unwrap_or_else(|e| panic!("{dir}: {e}"));
        assert_eq!(p.main, Path::new(main), "{dir}");
    }
    let egrul = smev_protocol::xsd::Package::open(&vs.join("fns-egrul/4.0.6"), None).unwrap();
    let (req, resp) = (
        egrul.propose_request().unwrap(),
        egrul.propose_response().unwrap(),
    );
    assert_eq!(
        (req.local.as_str(), resp.local.as_str()),
        ("FNSVipULRequest", "FNSVipULResponse")
    );
}

#[test]
fn ambiguity_is_refused_with_the_candidates() {
    let Some(vs) = vs() else { return };
    let e = smev_protocol::xsd::Package::open(&vs.join("fns-egrul"), None).unwrap_err();
    assert!(
        matches!(&e, XsdError::NoMainSchema { candidates, .. } if candidates.len() == 2),
        "{e}"
    );
    let zags = smev_protocol::xsd::Package::open(&vs.join("zags-fataloiv"), None).unwrap();
    let e = zags.propose_request().unwrap_err().to_string();
    assert!(
        e.contains("Request, FATALOIVRequest, FATALOIVResponse"),
        "{e}"
    );
}

fn package_root(dir: &str, local: &str) -> Option<(Schema, Field)> {
    let vs = vs()?;
    let p = smev_protocol::xsd::Package::open(&vs.join(dir), None).unwrap();
    let schema = Schema::load(&vs.join(dir).join(&p.main)).unwrap();
    let tree = p.describe(&p.root(local).unwrap()).unwrap();
    Some((schema, tree))
}

#[test]
fn xml_built_from_fields_passes_libxml2() {
    let cases = [
        (
            "fns-egrul/4.0.6",
            "FNSVipULRequest",
            serde_json::json!({"@ИдДок": "7e1b2c1a-0b0e-4f57-9f6c-6a6b8d0f1e21", "ЗапросЮЛ": {"ОГРН": "1027700132195"}}),
        ),
        (
            "fns-inn-singular",
            "FNSINNSingularRequest",
            serde_json::json!({
                "@ИдЗапрос": "Z-1",
                "СведЮЛ": {"@НаимОрг": "ФНС России", "@ИННЮЛ": "7707329152", "@ОГРН": "1047707030513"},
                "СведФЛ": {"@ДатаРожд": "1990-04-12", "ФИО": {"@Фамилия": "Иванов", "@Имя": "Пётр"},
                           "УдЛичнФЛ": {"@КодВидДок": "21", "@СерНомДок": "45 08 123456"}}
            }),
        ),
        (
            "pfr-snils-by-additional-data",
            "SnilsByAdditionalDataRequest",
            serde_json::json!({
                "FamilyName": "Иванов", "FirstName": "Пётр", "BirthDate": "1990-04-12", "Gender": "Male",
                "PassportRF": {"Series": "4508", "Number": "123456", "IssueDate": "2010-05-01", "Issuer": "ОВД Тверского района"}
            }),
        ),
    ];
    for (dir, root, values) in cases {
        let Some((schema, tree)) = package_root(dir, root) else {
            return;
        };
        let xml = smev_protocol::xsd::build::from_json(&tree, &values)
            .unwrap_or_else(|e| panic!("{root}: {e:?}"));
        schema
            .validate(xml.as_bytes())
            .unwrap_or_else(|e| panic!("{root}: {e}\n{xml}"));
    }
}

#[test]
fn field_errors_name_each_field() {
    let Some((_, tree)) = package_root("fns-egrul/4.0.6", "FNSVipULRequest") else {
        return;
    };
    let values = serde_json::json!({"ЗапросЮЛ": {"ОГРН": "1027700132196", "ИННЮЛ": "7707329152"}, "Лишнее": 1});
    let errors = smev_protocol::xsd::build::from_json(&tree, &values).unwrap_err();
    let got: Vec<(String, String)> = errors.into_iter().map(|e| (e.path, e.message)).collect();
    let want = [
        ("@ИдДок", "значение не указано"),
        ("ЗапросЮЛ", "указаны взаимоисключающие поля: ОГРН, ИННЮЛ"),
        ("Лишнее", "такого поля нет в схеме"),
    ];
    assert_eq!(got, want.map(|(a, b)| (a.to_string(), b.to_string())));
    let values = serde_json::json!({"@ИдДок": "1", "ЗапросЮЛ": {"ОГРН": "1027700132196"}});
    let errors = smev_protocol::xsd::build::from_json(&tree, &values).unwrap_err();
    assert_eq!(errors[0].path, "ЗапросЮЛ/ОГРН");
    assert_eq!(errors[0].message, "неверное контрольное число ОГРН");
    let errors = smev_protocol::xsd::build::from_json(
        &tree,
        &serde_json::json!({"@ИдДок": "1", "ЗапросЮЛ": {}}),
    )
    .unwrap_err();
    assert_eq!(
        errors[0].message,
        "выберите один из вариантов: ОГРН | ИННЮЛ"
    );
}

#[test]
fn repeated_fields_take_lists_within_their_bounds() {
    let tree = feature_request();
    let base = serde_json::json!({
        "@Id": "r1", "Person": {"@role": "x", "@gender": "M", "LastName": "Иванов", "FirstName": "Пётр", "BirthDate": "1990-01-01"},
        "Email": "a@b", "Amount": {"@currency": "RUB", "#text": "150.5"}, "Tags": "a b", "Either": "много",
        "Tree": {"Label": "корень", "Child": []}, "Shape": {"@role": "y", "LastName": "Петров", "FirstName": "Иван"},
        "Bag": {"Left": 1}, "Extra": {}, "Local": {"Unqualified": "x"}
    });
    let schema = Schema::load(&fixtures().join("features/main.xsd")).unwrap();
    let mut ok = base.clone();
    ok["Code"] = serde_json::json!(["1234", "5678"]);
    let xml = smev_protocol::xsd::build::from_json(&tree, &ok).unwrap_or_else(|e| panic!("{e:?}"));
    // `Extra` needs a wildcard element the fields cannot give: libxml2 names exactly that.
    let e = schema.validate(xml.as_bytes()).unwrap_err().to_string();
    assert!(
        e.contains("Extra") && e.contains("Missing child"),
        "{e}\n{xml}"
    );
    let mut too_many = base.clone();
    too_many["Code"] = serde_json::json!(["1234", "5678", "9012", "3456"]);
    let errors = smev_protocol::xsd::build::from_json(&tree, &too_many).unwrap_err();
    assert_eq!(
        (errors[0].path.as_str(), errors[0].message.as_str()),
        ("Code", "не больше 3 значений")
    );
    let mut bad = base;
    bad["Code"] = serde_json::json!(["0123"]);
    bad["Amount"]["#text"] = serde_json::json!("99");
    let errors = smev_protocol::xsd::build::from_json(&tree, &bad).unwrap_err();
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["Code[1]", "Amount/#text"], "{errors:?}");
}
