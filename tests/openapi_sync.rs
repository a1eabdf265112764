//! Keeps the checked-in OpenAPI document (`src/api/openapi.json`, served at
//! `/api/openapi.json`) in step with the code: the route table of `src/api/mod.rs` (read as
//! source text) and the documented paths and methods match in both directions, and every error
//! code of `src/api/error.rs` `CODES` is in the `Problem` schema with the HTTP status it is
//! documented under.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn document() -> Value {
    let text = read("src/api/openapi.json");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("src/api/openapi.json is not JSON: {e}"))
}

/// The string literal starting at `s` (which must begin with `"`); returns it and the rest.
fn string_literal(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    let rest = s.strip_prefix('"')?;
    let end = rest.find('"')?;
    Some((rest[..end].to_string(), &rest[end + 1..]))
}

/// The text inside the parentheses that open at the start of `s` (balanced, string-aware).
fn balanced(s: &str) -> &str {
    let mut depth = 0usize;
    let mut in_str = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => in_str = !in_str,
            '(' if !in_str => depth += 1,
            ')' if !in_str => {
                depth -= 1;
                if depth == 0 {
                    return &s[1..i];
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced parentheses in: {}", &s[..s.len().min(200)]);
}

/// Whether `word(` occurs in `s` as a whole identifier.
fn calls(s: &str, word: &str) -> bool {
    let pat = format!("{word}(");
    s.match_indices(&pat).any(|(i, _)| {
        s[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
    })
}

/// The routes of `router` in `src/api/mod.rs`: full path → methods. Routes of a router that is
/// `.nest("/prefix", name)`-ed get the prefix.
fn code_routes() -> BTreeMap<String, BTreeSet<String>> {
    let src = read("src/api/mod.rs");
    let start = src
        .find("pub fn router(")
        .expect("pub fn router in src/api/mod.rs");
    let body = &src[start..];
    // `.nest("/api/v1", api)` → api ↦ /api/v1.
    let mut prefixes = BTreeMap::new();
    for (i, _) in body.match_indices(".nest(") {
        let args = balanced(&body[i + ".nest".len()..]);
        let (prefix, rest) = string_literal(args).expect("nest prefix literal");
        let name = rest.trim_start_matches([',', ' ', '\n']).trim().to_string();
        prefixes.insert(name, prefix);
    }
    assert!(!prefixes.is_empty(), "no .nest(...) found in router");
    let mut routes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (i, _) in body.match_indices(".route(") {
        let args = balanced(&body[i + ".route".len()..]);
        let (path, handlers) = string_literal(args).expect("route path literal");
        // The router this route is added to: the nearest preceding `let [mut] name =`.
        let before = &body[..i];
        let let_pos = before.rfind("let ").expect("route outside a let binding");
        let binding = before[let_pos + 4..]
            .trim_start_matches("mut ")
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .next()
            .unwrap_or_default()
            .to_string();
        let full = match prefixes.get(&binding) {
            Some(p) => format!("{p}{path}"),
            None => path.clone(),
        };
        let methods: BTreeSet<String> = METHODS
            .iter()
            .filter(|m| calls(handlers, m))
            .map(|m| m.to_string())
            .collect();
        assert!(
            !methods.is_empty(),
            "no method router in .route({path:?}, {handlers})"
        );
        routes.entry(full).or_default().extend(methods);
    }
    assert!(routes.len() > 10, "parsed too few routes: {routes:?}");
    routes
}

fn documented_routes(doc: &Value) -> BTreeMap<String, BTreeSet<String>> {
    doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .expect("path item")
                .keys()
                .filter(|k| METHODS.contains(&k.as_str()))
                .cloned()
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

#[test]
fn every_route_is_documented_and_every_documented_path_exists() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let code = code_routes();
    let documented = documented_routes(&doc);
    let mut problems = Vec::new();
    for (path, methods) in &code {
        match documented.get(path) {
            None => problems.push(format!(
                "route {path} ({methods:?}) is not in src/api/openapi.json"
            )),
            Some(d) if d != methods => problems.push(format!(
                "route {path}: the router has methods {methods:?}, the document {d:?}"
            )),
            _ => {}
        }
    }
    for path in documented.keys() {
        if !code.contains_key(path) {
            problems.push(format!(
                "documented path {path} is not routed in src/api/mod.rs"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "OpenAPI document out of sync:\n{}",
        problems.join("\n")
    );

    // Path parameters: each `{name}` of a path is declared as a path parameter of it.
    for (path, item) in doc["paths"].as_object().unwrap() {
        let declared: BTreeSet<String> = item
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| *k == "parameters" || METHODS.contains(&k.as_str()))
            .flat_map(|(k, v)| {
                let list = if k == "parameters" {
                    v.clone()
                } else {
                    v["parameters"].clone()
                };
                list.as_array().cloned().unwrap_or_default()
            })
            .map(|p| resolve(&doc, &p))
            .filter(|p| p["in"] == "path")
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect();
        let in_path: BTreeSet<String> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_string)
            .collect();
        assert_eq!(declared, in_path, "path parameters of {path}");
    }
}

/// Follows a local `$ref`.
fn resolve(doc: &Value, v: &Value) -> Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.strip_prefix('#').expect("local $ref");
            resolve(
                doc,
                doc.pointer(pointer)
                    .unwrap_or_else(|| panic!("dangling $ref {r}")),
            )
        }
        None => v.clone(),
    }
}

/// `CODES` of `src/api/error.rs`: (code, HTTP status).
fn error_codes() -> Vec<(String, u16)> {
    let src = read("src/api/error.rs");
    let start = src
        .find("pub const CODES")
        .expect("CODES in src/api/error.rs");
    let block = &src[start..];
    let block = &block
        [block.find("= &[").expect("CODES array") + 4..block.find("];").expect("end of CODES")];
    let mut out = Vec::new();
    let mut rest = block;
    while let Some(open) = rest.find('(') {
        let tuple = balanced(&rest[open..]);
        let (code, after) = string_literal(tuple).expect("code literal");
        let status: u16 = after
            .trim_start_matches([',', ' ', '\n'])
            .split(',')
            .next()
            .unwrap()
            .trim()
            .parse()
            .expect("status number");
        out.push((code, status));
        rest = &rest[open + tuple.len() + 2..];
    }
    out
}

#[test]
fn every_error_code_is_in_the_problem_schema() {
    let doc = document();
    let codes = error_codes();
    assert!(codes.len() >= 10, "parsed too few codes: {codes:?}");
    let problem = &doc["components"]["schemas"]["Problem"];
    let documented: BTreeSet<String> = problem["properties"]["code"]["enum"]
        .as_array()
        .expect("Problem.code enum")
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let defined: BTreeSet<String> = codes.iter().map(|(c, _)| c.clone()).collect();
    let missing: Vec<_> = defined.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&defined).collect();
    assert!(
        missing.is_empty(),
        "codes of src/api/error.rs CODES missing from the Problem schema: {missing:?}"
    );
    assert!(
        unknown.is_empty(),
        "Problem schema codes that src/api/error.rs CODES does not define: {unknown:?}"
    );
    let description = problem["description"].as_str().unwrap_or_default();
    for (code, status) in &codes {
        assert!(
            description.contains(&format!("`{code}` — HTTP {status}")),
            "the Problem description does not list `{code}` — HTTP {status}"
        );
    }

    // A problem response naming its codes ("Codes: `a`, `b`.") lists only codes of its status,
    // and every response that carries a Problem is under a 4xx/5xx status.
    let status_of: BTreeMap<&str, u16> = codes.iter().map(|(c, s)| (c.as_str(), *s)).collect();
    let mut problems = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            for (status, resp) in op["responses"].as_object().expect("responses") {
                let resp = resolve(&doc, resp);
                let is_problem = resp["content"].get("application/problem+json").is_some();
                let desc = resp["description"].as_str().unwrap_or_default();
                if is_problem && !(status.starts_with('4') || status.starts_with('5')) {
                    problems.push(format!(
                        "{method} {path} {status}: a problem under a success status"
                    ));
                }
                let Some(list) = desc.split("Codes: ").nth(1) else {
                    if is_problem && status != "401" {
                        problems.push(format!(
                            "{method} {path} {status}: problem response without \"Codes: …\""
                        ));
                    }
                    continue;
                };
                for code in list.split('`').skip(1).step_by(2) {
                    match status_of.get(code) {
                        None => {
                            problems.push(format!("{method} {path} {status}: unknown code {code}"))
                        }
                        Some(s) if s.to_string() != *status => problems.push(format!(
                            "{method} {path} {status}: code {code} has HTTP status {s} in CODES"
                        )),
                        _ => {}
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_served_document_is_the_checked_in_file() {
    assert_eq!(smev_gateway::api::OPENAPI, read("src/api/openapi.json"));
}
