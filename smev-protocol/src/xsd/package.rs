//! A VS package on disk: its main schema found among the files (the one no other file imports
//! or includes), its schema set loaded, and the request and response roots proposed from the
//! global elements of the main file — what `smev-gateway kinds import` stands on.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::components::{Components, QName};
use super::load::{read_schema, SchemaSet};
use super::model::Field;
use super::{resolve, XsdError, MAX_SCHEMA_FILES, XS};

/// Deepest folder nesting searched for schema files.
const MAX_FOLDER_DEPTH: usize = 8;

/// A loaded package.
#[derive(Debug)]
pub struct Package {
    /// The main schema, relative to the package root.
    pub main: PathBuf,
    pub set: SchemaSet,
    pub components: Components,
}

impl Package {
    /// Opens the package in `dir`; `main` names the main schema when the package has several
    /// candidates.
    pub fn open(dir: &Path, main: Option<&Path>) -> Result<Package, XsdError> {
        let main = match main {
            Some(m) => m.to_path_buf(),
            None => find_main(dir)?,
        };
        let set = SchemaSet::load(dir, &main)?;
        let components = Components::index(&set)?;
        Ok(Package {
            main,
            set,
            components,
        })
    }

    /// Global elements of the main schema, in declaration order.
    pub fn roots(&self) -> Vec<QName> {
        self.components
            .elements()
            .iter()
            .filter(|(_, at)| at.doc == 0)
            .map(|(q, _)| q.clone())
            .collect()
    }

    /// The request root: the one global element of the main schema whose name ends in
    /// `Request` or `Запрос`; refused when none or several do.
    pub fn propose_request(&self) -> Result<QName, XsdError> {
        self.propose("Request", &["Request", "Запрос"])
    }

    /// The response root: the one ending in `Response` or `Ответ`.
    pub fn propose_response(&self) -> Result<QName, XsdError> {
        self.propose("Response", &["Response", "Ответ"])
    }

    /// The request root: the global element named `named`, or the proposed one.
    pub fn request_root(&self, named: Option<&str>) -> Result<QName, XsdError> {
        named.map_or_else(|| self.propose_request(), |n| self.root(n))
    }

    /// The response root: the global element named `named`, or the proposed one.
    pub fn response_root(&self, named: Option<&str>) -> Result<QName, XsdError> {
        named.map_or_else(|| self.propose_response(), |n| self.root(n))
    }

    fn propose(&self, role: &str, suffixes: &[&str]) -> Result<QName, XsdError> {
        let all = self.roots();
        let matching: Vec<&QName> = all
            .iter()
            .filter(|q| suffixes.iter().any(|s| q.local.ends_with(s)))
            .collect();
        match matching.as_slice() {
            [one] => Ok((*one).clone()),
            _ => Err(XsdError::AmbiguousRoot {
                suffix: role.to_string(),
                candidates: all.iter().map(|q| q.local.clone()).collect(),
            }),
        }
    }

    /// The global element of the main schema with this local name.
    pub fn root(&self, local: &str) -> Result<QName, XsdError> {
        self.roots()
            .into_iter()
            .find(|q| q.local == local)
            .ok_or_else(|| XsdError::NoSuchElement(local.to_string()))
    }

    /// The field tree of a root.
    pub fn describe(&self, root: &QName) -> Result<Field, XsdError> {
        resolve::describe(&self.set, &self.components, root)
    }
}

/// Every `*.xsd` under `dir`, sorted, bounded in count and depth.
fn schema_files(dir: &Path) -> Result<Vec<PathBuf>, XsdError> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), 0)];
    while let Some((d, depth)) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| XsdError::Read {
            file: d.clone(),
            message: e.to_string(),
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() && depth < MAX_FOLDER_DEPTH {
                stack.push((path, depth + 1));
            } else if kind.is_file()
                && path
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("xsd"))
            {
                out.push(path);
                if out.len() > MAX_SCHEMA_FILES {
                    return Err(XsdError::TooManyFiles(MAX_SCHEMA_FILES));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The schema no other file of the package imports or includes.
fn find_main(dir: &Path) -> Result<PathBuf, XsdError> {
    let files = schema_files(dir)?;
    let mut referenced = BTreeSet::new();
    for f in &files {
        let relative = f.strip_prefix(dir).unwrap_or(f);
        let doc = read_schema(f, relative)?;
        for child in doc.child_elements(doc.root()) {
            let Some(e) = doc.element(child) else {
                continue;
            };
            let pulls = e.is(XS, "import") || e.is(XS, "include") || e.is(XS, "redefine");
            if let (true, Some(loc)) = (pulls, e.attr("schemaLocation")) {
                if let Ok(p) = f.parent().unwrap_or(dir).join(loc).canonicalize() {
                    referenced.insert(p);
                }
            }
        }
    }
    let mains: Vec<PathBuf> = files
        .iter()
        .filter(|f| f.canonicalize().is_ok_and(|c| !referenced.contains(&c)))
        .map(|f| f.strip_prefix(dir).unwrap_or(f).to_path_buf())
        .collect();
    match mains.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(XsdError::NoMainSchema {
            dir: dir.to_path_buf(),
            candidates: Vec::new(),
        }),
        many => Err(XsdError::NoMainSchema {
            dir: dir.to_path_buf(),
            candidates: many.iter().map(|p| p.display().to_string()).collect(),
        }),
    }
}
