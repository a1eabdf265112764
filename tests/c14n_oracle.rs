//! Exclusive c14n against independent implementations: libxml2's `xmllint --exc-c14n` (whole
//! documents, comments kept) and lxml (subtrees by Id, with and without comments, PrefixLists),
//! over the corpus in `tests/fixtures/c14n/`. The oracles run at test time; nothing is recorded.

use std::path::{Path, PathBuf};
use std::process::Command;

use smev_gateway::xml::c14n::{self, Options};
use smev_gateway::xml::{Document, XmlError};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/c14n")
}

#[derive(serde::Deserialize)]
struct Case {
    file: String,
    id: Option<String>,
    with_comments: bool,
    inclusive_prefixes: Vec<String>,
}

fn ours(case: &Case) -> Vec<u8> {
    let src = std::fs::read(fixtures().join(&case.file)).unwrap();
    let doc = Document::parse(&src).unwrap_or_else(|e| panic!("{}: {e}", case.file));
    let opts = Options {
        with_comments: case.with_comments,
        inclusive_prefixes: case.inclusive_prefixes.clone(),
    };
    match &case.id {
        Some(id) => {
            let n = doc.find_by_id(id).unwrap();
            c14n::canonicalize_subtree(&doc, n, None, &opts)
        }
        None => c14n::canonicalize_document(&doc, &opts),
    }
}

#[test]
fn equals_xmllint_on_every_document() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "corpus too small: {}", files.len());
    for f in &files {
        let out = Command::new("xmllint")
            .arg("--exc-c14n")
            .arg(f)
            .output()
            .expect("xmllint (libxml2-utils) must be installed");
        assert!(out.status.success(), "xmllint failed on {}", f.display());
        let src = std::fs::read(f).unwrap();
        let doc = Document::parse(&src).unwrap();
        let mine = c14n::canonicalize_document(
            &doc,
            &Options {
                with_comments: true,
                inclusive_prefixes: vec![],
            },
        );
        assert_eq!(
            String::from_utf8_lossy(&mine),
            String::from_utf8_lossy(&out.stdout),
            "exc-c14n of {} differs from xmllint",
            f.display()
        );
    }
}

#[test]
fn equals_lxml_on_every_case() {
    let cases_path = fixtures().join("cases.json");
    let cases: Vec<Case> = serde_json::from_slice(&std::fs::read(&cases_path).unwrap()).unwrap();
    assert!(cases.len() >= 100);
    assert!(
        cases
            .iter()
            .filter(|c| !c.inclusive_prefixes.is_empty())
            .count()
            >= 15
    );
    let outdir = tempfile::tempdir().unwrap();
    let status = Command::new("/usr/bin/python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/c14n_batch.py"))
        .arg(&cases_path)
        .arg(fixtures())
        .arg(outdir.path())
        .status()
        .expect("python3 with lxml (python3-lxml) must be installed");
    assert!(status.success(), "the lxml oracle failed");
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let expected = std::fs::read(outdir.path().join(format!("{i}.out"))).unwrap();
        let mine = ours(case);
        if mine != expected {
            failures.push(format!(
                "case {i} ({} id={:?} comments={} prefixes={:?}):\n  ours:  {}\n  lxml:  {}",
                case.file,
                case.id,
                case.with_comments,
                case.inclusive_prefixes,
                String::from_utf8_lossy(&mine),
                String::from_utf8_lossy(&expected)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn documents_with_doctype_are_refused() {
    for entry in std::fs::read_dir(fixtures().join("reject")).unwrap() {
        let path = entry.unwrap().path();
        let src = std::fs::read(&path).unwrap();
        assert!(
            matches!(Document::parse(&src), Err(XmlError::DoctypeRefused { .. })),
            "{} must be refused",
            path.display()
        );
    }
}
