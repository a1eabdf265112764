//! Loading the schema set of a VS package: the main XSD and every file it imports or includes,
//! by relative `schemaLocation`, offline and inside the package directory only.
//!
//! Files are decoded by their declared encoding (VS packages are UTF-8 or windows-1251) and
//! refused, with the file named, when the bytes do not match it: libxml2 refuses such files too,
//! and a silently mis-decoded Russian label is worse than a loud error.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{XsdError, MAX_SCHEMA_FILES, MAX_SCHEMA_FILE_BYTES, XS};
use crate::xml::{Document, NodeId};

/// Namespaces whose schemas are built in: an import of them needs no file.
const BUILT_IN_NAMESPACES: [&str; 2] = [XS, "http://www.w3.org/XML/1998/namespace"];

/// One schema document of the set.
#[derive(Debug)]
pub struct SchemaDoc {
    /// Path relative to the package root, `/`-separated (how errors and `kinds show` name it).
    pub path: PathBuf,
    /// The namespace its global components belong to: its `targetNamespace`, or for a
    /// chameleon `xs:include` (no `targetNamespace`) the includer's.
    pub target_namespace: Option<String>,
    /// `elementFormDefault="qualified"`.
    pub elements_qualified: bool,
    /// `attributeFormDefault="qualified"`.
    pub attributes_qualified: bool,
    pub doc: Document,
}

impl SchemaDoc {
    /// The `xs:schema` element.
    pub fn schema(&self) -> NodeId {
        self.doc.root()
    }
}

/// The main schema and everything it pulls in, in load order (the main file first).
#[derive(Debug)]
pub struct SchemaSet {
    pub root: PathBuf,
    pub docs: Vec<SchemaDoc>,
}

impl SchemaSet {
    /// Loads `main` (a path inside `root`) and, transitively, every imported or included file.
    pub fn load(root: &Path, main: &Path) -> Result<SchemaSet, XsdError> {
        let root = root.canonicalize().map_err(|e| XsdError::Read {
            file: root.to_path_buf(),
            message: e.to_string(),
        })?;
        let main = root.join(main);
        let mut docs: Vec<SchemaDoc> = Vec::new();
        let mut seen: HashMap<(PathBuf, Option<String>), usize> = HashMap::new();
        // Like libxml2, a namespace is imported once: a second xs:import of it is skipped.
        let mut imported: HashSet<Option<String>> = HashSet::new();
        let mut queue = VecDeque::from([(main, None::<String>, None::<PathBuf>)]);
        while let Some((file, chameleon_ns, from)) = queue.pop_front() {
            let file = contained(&root, &file, from.as_deref())?;
            if seen.contains_key(&(file.clone(), chameleon_ns.clone())) {
                continue;
            }
            if docs.len() >= MAX_SCHEMA_FILES {
                return Err(XsdError::TooManyFiles(MAX_SCHEMA_FILES));
            }
            let relative = file.strip_prefix(&root).unwrap_or(&file).to_path_buf();
            let doc = read_schema(&file, &relative)?;
            let schema = doc
                .element(doc.root())
                .ok_or_else(|| XsdError::NotASchema {
                    file: relative.clone(),
                    found: String::new(),
                })?;
            if !schema.is(XS, "schema") {
                return Err(XsdError::NotASchema {
                    file: relative,
                    found: schema.qname(),
                });
            }
            let declared = schema.attr("targetNamespace").map(str::to_string);
            let target_namespace = declared.or(chameleon_ns.clone());
            if docs.is_empty() {
                imported.insert(target_namespace.clone());
            }
            for child in doc.child_elements(doc.root()) {
                let Some(e) = doc.element(child) else {
                    continue;
                };
                let (is_import, is_include) = (
                    e.is(XS, "import"),
                    e.is(XS, "include") || e.is(XS, "redefine"),
                );
                if !is_import && !is_include {
                    continue;
                }
                let namespace = e.attr("namespace");
                let location = e.attr("schemaLocation");
                let built_in = namespace.is_some_and(|n| BUILT_IN_NAMESPACES.contains(&n));
                match location {
                    None if is_import => continue, // resolved by namespace, if at all
                    None => {
                        return Err(XsdError::Location {
                            file: relative,
                            location: String::new(),
                            why: "xs:include without schemaLocation".into(),
                        })
                    }
                    Some(_) if built_in => continue,
                    Some(_) if is_import && !imported.insert(namespace.map(str::to_string)) => {
                        continue
                    }
                    Some(loc) => {
                        let next = Path::new(loc);
                        if loc.contains("://") || next.is_absolute() {
                            return Err(XsdError::Location {
                                file: relative,
                                location: loc.into(),
                                why: "only relative locations inside the package are read (nothing is fetched)".into(),
                            });
                        }
                        let base = file.parent().unwrap_or(&root).join(next);
                        let ns = if is_include {
                            target_namespace.clone()
                        } else {
                            None
                        };
                        queue.push_back((base, ns, Some(relative.clone())));
                    }
                }
            }
            let (elements_qualified, attributes_qualified) = (
                schema.attr("elementFormDefault") == Some("qualified"),
                schema.attr("attributeFormDefault") == Some("qualified"),
            );
            seen.insert((file, chameleon_ns), docs.len());
            docs.push(SchemaDoc {
                path: relative,
                target_namespace,
                elements_qualified,
                attributes_qualified,
                doc,
            });
        }
        Ok(SchemaSet { root, docs })
    }
}

/// `file` resolved and checked to lie inside `root` (a `..` may climb inside the package, never
/// out of it).
fn contained(root: &Path, file: &Path, from: Option<&Path>) -> Result<PathBuf, XsdError> {
    // Canonical, so that a symbolic link inside the package cannot lead out of it either.
    let resolved = file.canonicalize().ok().filter(|p| p.is_file());
    let why = match &resolved {
        None => Some("no such file in the package"),
        Some(p) if !p.starts_with(root) => Some("points outside the package directory"),
        Some(_) => None,
    };
    match (why, resolved) {
        (None, Some(p)) => Ok(p),
        (why, _) => Err(XsdError::Location {
            file: from
                .map(Path::to_path_buf)
                .unwrap_or_else(|| file.to_path_buf()),
            location: file
                .strip_prefix(root)
                .unwrap_or(file)
                .display()
                .to_string(),
            why: why.unwrap_or_default().into(),
        }),
    }
}

/// Reads, decodes and parses one file.
pub(crate) fn read_schema(file: &Path, relative: &Path) -> Result<Document, XsdError> {
    let read_error = |e: std::io::Error| XsdError::Read {
        file: relative.to_path_buf(),
        message: e.to_string(),
    };
    let f = std::fs::File::open(file).map_err(read_error)?;
    let size = f.metadata().map_err(read_error)?.len();
    if size > MAX_SCHEMA_FILE_BYTES {
        return Err(XsdError::FileTooLarge {
            file: relative.to_path_buf(),
            size,
            limit: MAX_SCHEMA_FILE_BYTES,
        });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    f.take(MAX_SCHEMA_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    let text = decode(&bytes, relative)?;
    Document::parse(text.as_bytes()).map_err(|source| XsdError::Xml {
        file: relative.to_path_buf(),
        source,
    })
}

/// The file as UTF-8 text with its declaration saying so.
pub(crate) fn decode(bytes: &[u8], file: &Path) -> Result<String, XsdError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let label = declared_encoding(bytes);
    let is_utf8 = label
        .as_deref()
        .is_none_or(|l| l.eq_ignore_ascii_case("utf-8") || l.eq_ignore_ascii_case("utf8"));
    if is_utf8 {
        return match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_string()),
            Err(e) => Err(XsdError::WrongEncoding {
                file: file.to_path_buf(),
                declared: label.unwrap_or_else(|| "UTF-8".into()),
                offset: e.valid_up_to(),
            }),
        };
    }
    let label = label.unwrap_or_default();
    let encoding = encoding_rs::Encoding::for_label(label.as_bytes()).ok_or_else(|| {
        XsdError::UnknownEncoding {
            file: file.to_path_buf(),
            label: label.clone(),
        }
    })?;
    let text = encoding
        .decode_without_bom_handling_and_without_replacement(bytes)
        .ok_or_else(|| XsdError::WrongEncoding {
            file: file.to_path_buf(),
            declared: label.clone(),
            offset: 0,
        })?;
    // The parser accepts UTF-8 only; the text now is UTF-8, so the declaration must say so.
    Ok(text.replacen(&label, "UTF-8", 1))
}

/// The `encoding` of the XML declaration, if the file starts with one.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(256)];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&head[..end]).ok()?;
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    Some(value[..value.find(quote)?].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_decoded_or_refused_by_name() {
        let file = Path::new("a.xsd");
        let cp1251 = b"<?xml version=\"1.0\" encoding=\"windows-1251\"?><x>\xcf\xf0\xe8</x>";
        assert_eq!(
            decode(cp1251, file).unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><x>При</x>"
        );
        let liar = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><x>\xcf\xf0\xe8</x>";
        match decode(liar, file) {
            Err(XsdError::WrongEncoding {
                offset, declared, ..
            }) => {
                assert_eq!((offset, declared.as_str()), (41, "UTF-8"))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            decode(b"<?xml version='1.0' encoding='x-unknown'?><x/>", file),
            Err(XsdError::UnknownEncoding { .. })
        ));
        assert_eq!(
            decode("\u{feff}<x>ё</x>".as_bytes(), file).unwrap(),
            "<x>ё</x>"
        );
    }
}
