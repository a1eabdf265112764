//! `smev-gateway kinds import` and `kinds show` as an operator runs them: a VS package becomes
//! a `[[kinds]]` entry that `check-config` accepts (libxml2 compiles its schema), `kinds show`
//! prints the fields with their Russian labels, and ambiguity or a taken id is refused with a
//! reason. Runs on the project's own feature package and on the public packages of
//! `../shared/vs/` when they are present.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{bin, gateway_config, root};

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin()).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Imports `package` into `config` under `id`, then checks the configuration and shows the
/// kind; returns what `kinds show` printed.
fn import_and_show(config: &Path, package: &Path, id: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "kinds",
        "import",
        path(package),
        "--id",
        id,
        "--append",
        path(config),
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{package:?}: {out}{err}");
    let (code, out, err) = run(&["check-config", "--offline", path(config)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("ok   kind {id}: schema ")), "{out}");
    let (code, shown, err) = run(&["kinds", "show", id, "--config", path(config)]);
    assert_eq!(code, 0, "{err}");
    shown
}

fn vs() -> Option<PathBuf> {
    let p = root().join("../shared/vs");
    p.is_dir().then_some(p)
}

#[test]
fn the_feature_package_imports_and_shows_its_labels() {
    let dir = tempfile::tempdir().unwrap();
    let config = gateway_config(dir.path(), "http://127.0.0.1:9/ws", "");
    let package = root().join("smev-protocol/tests/fixtures/xsd/features");
    let shown = import_and_show(&config, &package, "features", &["--response", "Code"]);
    assert!(
        shown.contains("request {urn://test/features/1.0}FeatureRequest"),
        "{shown}"
    );
    assert!(
        shown.contains("— Строка кириллицей до 60 символов"),
        "{shown}"
    );
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("name = \"Запрос с функциями\""), "{text}");
}

#[test]
fn public_vs_packages_import_into_one_configuration() {
    let Some(vs) = vs() else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = gateway_config(dir.path(), "http://127.0.0.1:9/ws", "");
    let cases: [(&str, &str, &[&str], &str); 6] = [
        ("fns-egrul/4.0.6", "egrul-4-0-6", &[], "| ИННЮЛ : "),
        (
            "fns-egrul/4.0.5",
            "egrul-4-0-5",
            &[],
            "— Идентификационные сведения о юридическом лице",
        ),
        ("fns-inn-singular", "inn", &[], "@ИННЮЛ : ИННЮЛТип"),
        (
            "pfr-snils-by-additional-data",
            "snils",
            &[],
            "Snils : SNILSType",
        ),
        (
            "zags-fataloiv",
            "fataloiv",
            &["--request", "FATALOIVRequest"],
            "@КодОбр : ",
        ),
        (
            "rosreestr-egrn-statement",
            "egrn",
            &[],
            "region : dRegionsRF",
        ),
    ];
    for (package, id, extra, expected) in cases {
        let shown = import_and_show(&config, &vs.join(package), id, extra);
        assert!(
            shown.contains(expected),
            "{package}: {expected:?} in\n{shown}"
        );
    }
}

#[test]
fn several_candidate_roots_are_refused_with_their_names() {
    let Some(vs) = vs() else { return };
    let (code, out, err) = run(&["kinds", "import", path(&vs.join("zags-fataloiv"))]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(
        err.contains("Request, FATALOIVRequest, FATALOIVResponse") && err.contains("--request"),
        "{err}"
    );
}

#[test]
fn a_taken_id_is_refused_and_the_configuration_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let config = gateway_config(dir.path(), "http://127.0.0.1:9/ws", "");
    let package = root().join("smev-protocol/tests/fixtures/xsd/features");
    import_and_show(&config, &package, "features", &["--response", "Code"]);
    let before = std::fs::read(&config).unwrap();
    let (code, _, err) = run(&[
        "kinds",
        "import",
        path(&package),
        "--id",
        "features",
        "--response",
        "Code",
        "--append",
        path(&config),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("already configured"), "{err}");
    assert_eq!(std::fs::read(&config).unwrap(), before);
}

/// `dev --kind DIR`: the package's form fields sent through the API are answered end to end by
/// the mock's simulated provider with an answer generated from the response schema — which the
/// gateway, as for every answer, validated against the kind's XSD before storing it.
#[test]
fn dev_mode_answers_an_imported_kind_end_to_end() {
    let package = root().join("tests/fixtures/vs/example-passport");
    let (mut dev, ready) =
        common::start_dev(&[std::ffi::OsStr::new("--kind"), package.as_os_str()]);
    let (url, token) = (
        ready["url"].as_str().unwrap(),
        ready["token"].as_str().unwrap(),
    );
    let fields = serde_json::json!({
        "@ИдЗапрос": "П-1", "@ИННЮЛ": "7707329152",
        "Заявитель": {"Фамилия": "Иванова", "Имя": "Анна"},
        "ЗагранПаспорт": {"@Номер": "751234567"},
        "Основание": ["01", "02"]
    });
    let body = serde_json::json!({"kind": "example-passport", "fields": fields});
    let (s, created) = common::call(
        "POST",
        &format!("{url}/api/v1/requests"),
        Some(token),
        Some(&body),
    );
    assert_eq!(s, 202, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let answered = common::wait_for(std::time::Duration::from_secs(60), "the answer", || {
        let (_, r) = common::call(
            "GET",
            &format!("{url}/api/v1/requests/{id}"),
            Some(token),
            None,
        );
        (r["status"] == "answered").then_some(r)
    });
    assert_eq!(answered["kind"], "example-passport");
    let (s, answer) = common::call(
        "GET",
        &format!("{url}/api/v1/requests/{id}/answer"),
        Some(token),
        None,
    );
    assert_eq!(s, 200, "{answer}");
    let xml = answer["business_xml"].as_str().unwrap();
    assert!(
        xml.contains("ПроверкаПаспортаОтвет") && xml.contains("Сведения"),
        "{xml}"
    );
    assert_eq!(dev.terminate(), Some(0));
}

#[test]
fn a_zipped_package_is_unpacked_beside_the_archive_and_imported() {
    let dir = tempfile::tempdir().unwrap();
    let config = gateway_config(dir.path(), "http://127.0.0.1:9/ws", "");
    let zip = dir.path().join("example-passport.zip");
    let status = Command::new("python3")
        .arg("-c")
        .arg(
            r#"
import sys, zipfile, pathlib
out, src = sys.argv[1], pathlib.Path(sys.argv[2])
with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
    for f in sorted(src.rglob("*.xsd")):
        z.write(f, "VS-пакет/" + str(f.relative_to(src)))
"#,
        )
        .arg(&zip)
        .arg(root().join("tests/fixtures/vs/example-passport"))
        .status()
        .unwrap();
    assert!(status.success());
    let shown = import_and_show(&config, &zip, "passport", &[]);
    assert!(
        shown.contains(
            "request {urn://smev-gateway/example/passport-validity/1.0}ПроверкаПаспортаЗапрос"
        ),
        "{shown}"
    );
    assert!(dir
        .path()
        .join("example-passport/VS-пакет/commons/example-commons-1.0.xsd")
        .is_file());
    // A second import into the same folder would mix two packages: refused.
    let (code, _, err) = run(&["kinds", "import", path(&zip), "--id", "again"]);
    assert_eq!(code, 2);
    assert!(err.contains("already holds files"), "{err}");
}
