//! XSD validation with libxml2, through a minimal hand-written binding (the `libxml` crate needs
//! bindgen and libclang at build time for the eight functions used here).
//!
//! Documents are first parsed by our own parser (which refuses DOCTYPE and entities), then by
//! libxml2 without network access and without entity substitution. Each violation is reported
//! with the line and column of the offending element in the validated text and libxml2's
//! message.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::Path;
use std::sync::Once;

use serde::Serialize;

use crate::xml::Document;

#[repr(C)]
struct XmlError {
    domain: c_int,
    code: c_int,
    message: *const c_char,
    level: c_int,
    file: *const c_char,
    line: c_int,
    str1: *const c_char,
    str2: *const c_char,
    str3: *const c_char,
    int1: c_int,
    int2: c_int,
    ctxt: *mut c_void,
    node: *mut c_void,
}

/// The leading fields of libxml2's `xmlNode` (stable across 2.x).
#[repr(C)]
struct XmlNode {
    private: *mut c_void,
    kind: c_int,
    name: *const c_char,
    children: *mut XmlNode,
    last: *mut XmlNode,
    parent: *mut XmlNode,
    next: *mut XmlNode,
    prev: *mut XmlNode,
}

const XML_ELEMENT_NODE: c_int = 1;
const XML_ATTRIBUTE_NODE: c_int = 2;
const XML_PARSE_NOERROR: c_int = 1 << 5;
const XML_PARSE_NOWARNING: c_int = 1 << 6;
const XML_PARSE_NONET: c_int = 1 << 11;

type StructuredErrorFn = unsafe extern "C" fn(user: *mut c_void, error: *mut XmlError);

#[link(name = "xml2")]
extern "C" {
    fn xmlInitParser();
    fn xmlSchemaNewParserCtxt(url: *const c_char) -> *mut c_void;
    fn xmlSchemaSetParserStructuredErrors(
        ctxt: *mut c_void,
        f: StructuredErrorFn,
        user: *mut c_void,
    );
    fn xmlSchemaParse(ctxt: *mut c_void) -> *mut c_void;
    fn xmlSchemaFreeParserCtxt(ctxt: *mut c_void);
    fn xmlSchemaFree(schema: *mut c_void);
    fn xmlSchemaNewValidCtxt(schema: *mut c_void) -> *mut c_void;
    fn xmlSchemaSetValidStructuredErrors(
        ctxt: *mut c_void,
        f: StructuredErrorFn,
        user: *mut c_void,
    );
    fn xmlSchemaValidateDoc(ctxt: *mut c_void, doc: *mut c_void) -> c_int;
    fn xmlSchemaFreeValidCtxt(ctxt: *mut c_void);
    fn xmlReadMemory(
        buf: *const c_char,
        size: c_int,
        url: *const c_char,
        enc: *const c_char,
        options: c_int,
    ) -> *mut c_void;
    fn xmlFreeDoc(doc: *mut c_void);
    fn xmlDocGetRootElement(doc: *mut c_void) -> *mut XmlNode;
}

/// One violation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// All violations of one validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaErrors(pub Vec<SchemaError>);

impl std::fmt::Display for SchemaErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "line {}, column {}: {}", e.line, e.column, e.message)?;
        }
        Ok(())
    }
}

struct Collected {
    errors: Vec<(c_int, *mut c_void, String)>,
}

unsafe extern "C" fn collect(user: *mut c_void, error: *mut XmlError) {
    if user.is_null() || error.is_null() {
        return;
    }
    // SAFETY: `user` is the `Collected` passed by `validate`/`load`, alive for the whole call;
    // `error` is a valid xmlError for the duration of this callback.
    let c = &mut *(user as *mut Collected);
    let e = &*error;
    let message = if e.message.is_null() {
        "schema error".to_string()
    } else {
        CStr::from_ptr(e.message)
            .to_string_lossy()
            .trim()
            .to_string()
    };
    // A document with a million invalid elements gets the first ones only: enough to fix it,
    // and the memory and the mapping below stay bounded.
    if c.errors.len() < MAX_REPORTED_ERRORS {
        c.errors.push((e.line, e.node, message));
    }
}

/// Most schema errors kept and reported for one document.
pub const MAX_REPORTED_ERRORS: usize = 100;

fn init() {
    static INIT: Once = Once::new();
    // SAFETY: xmlInitParser is idempotent and must run once before threads use libxml2.
    INIT.call_once(|| unsafe { xmlInitParser() });
}

/// A compiled XSD, shareable between threads (libxml2 only reads it while validating).
pub struct Schema {
    ptr: *mut c_void,
    path: String,
}

// SAFETY: a parsed xmlSchema is immutable; libxml2 documents concurrent validation with separate
// validation contexts over one schema as safe. The pointer is freed only in Drop.
unsafe impl Send for Schema {}
unsafe impl Sync for Schema {}

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schema").field("path", &self.path).finish()
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        // SAFETY: ptr came from xmlSchemaParse and is freed exactly once.
        unsafe { xmlSchemaFree(self.ptr) }
    }
}

impl Schema {
    /// Loads and compiles an XSD file (imports and includes are resolved relative to it, from
    /// local files only).
    pub fn load(path: &Path) -> Result<Schema, String> {
        init();
        if !path.is_file() {
            return Err(format!("schema file {} does not exist", path.display()));
        }
        let c_path = CString::new(path.to_string_lossy().as_bytes()).map_err(|e| e.to_string())?;
        let mut collected = Collected { errors: Vec::new() };
        // SAFETY: valid C string; the context is freed on every path; `collected` outlives the
        // calls that may invoke the callback.
        let ptr = unsafe {
            let ctxt = xmlSchemaNewParserCtxt(c_path.as_ptr());
            if ctxt.is_null() {
                return Err(format!("cannot open schema {}", path.display()));
            }
            xmlSchemaSetParserStructuredErrors(
                ctxt,
                collect,
                &mut collected as *mut Collected as *mut c_void,
            );
            let schema = xmlSchemaParse(ctxt);
            xmlSchemaFreeParserCtxt(ctxt);
            schema
        };
        if ptr.is_null() {
            let msg = collected
                .errors
                .iter()
                .map(|(line, _, m)| format!("line {line}: {m}"))
                .collect::<Vec<_>>()
                .join("; ");
            return Err(format!("schema {} does not compile: {msg}", path.display()));
        }
        Ok(Schema {
            ptr,
            path: path.display().to_string(),
        })
    }

    /// The file it was loaded from.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Validates `xml`. Malformed XML is reported as a violation too.
    pub fn validate(&self, xml: &[u8]) -> Result<(), SchemaErrors> {
        let ours = match Document::parse(xml) {
            Ok(d) => d,
            Err(e) => {
                let (line, column) = match &e {
                    crate::xml::XmlError::Malformed { line, column, .. } => (*line, *column),
                    _ => (1, 1),
                };
                return Err(SchemaErrors(vec![SchemaError {
                    line,
                    column,
                    message: e.to_string(),
                }]));
            }
        };
        let len = c_int::try_from(xml.len()).map_err(|_| {
            SchemaErrors(vec![SchemaError {
                line: 1,
                column: 1,
                message: "document too large to validate".into(),
            }])
        })?;
        let mut collected = Collected { errors: Vec::new() };
        let mut order: Vec<*mut XmlNode> = Vec::new();
        // SAFETY: `xml` outlives xmlReadMemory's parse; the document and the validation context
        // are freed before returning; node pointers are only compared, never dereferenced after
        // xmlFreeDoc.
        let rc = unsafe {
            let doc = xmlReadMemory(
                xml.as_ptr() as *const c_char,
                len,
                std::ptr::null(),
                std::ptr::null(),
                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING,
            );
            if doc.is_null() {
                return Err(SchemaErrors(vec![SchemaError {
                    line: 1,
                    column: 1,
                    message: "libxml2 could not parse the document".into(),
                }]));
            }
            let ctxt = xmlSchemaNewValidCtxt(self.ptr);
            if ctxt.is_null() {
                xmlFreeDoc(doc);
                return Err(SchemaErrors(vec![SchemaError {
                    line: 1,
                    column: 1,
                    message: "cannot create a validation context".into(),
                }]));
            }
            xmlSchemaSetValidStructuredErrors(
                ctxt,
                collect,
                &mut collected as *mut Collected as *mut c_void,
            );
            let rc = xmlSchemaValidateDoc(ctxt, doc);
            xmlSchemaFreeValidCtxt(ctxt);
            if !collected.errors.is_empty() {
                element_order(xmlDocGetRootElement(doc), &mut order);
            }
            // Resolve attribute nodes to their elements while the tree is alive.
            for e in collected.errors.iter_mut() {
                let n = e.1 as *mut XmlNode;
                if !n.is_null() && (*n).kind == XML_ATTRIBUTE_NODE {
                    e.1 = (*n).parent as *mut c_void;
                }
            }
            xmlFreeDoc(doc);
            rc
        };
        if rc == 0 && collected.errors.is_empty() {
            return Ok(());
        }
        let ours_order = ours_elements(&ours);
        let index: std::collections::HashMap<*mut c_void, usize> = order
            .iter()
            .enumerate()
            .map(|(i, p)| (*p as *mut c_void, i))
            .collect();
        let errors = collected
            .errors
            .into_iter()
            .map(|(line, node, message)| {
                let idx = index.get(&node).copied();
                let (line, column) = match idx.and_then(|i| ours_order.get(i)) {
                    Some(offset) => ours.line_column(*offset),
                    None => (usize::try_from(line).unwrap_or(0).max(1), 1),
                };
                SchemaError {
                    line,
                    column,
                    message,
                }
            })
            .collect::<Vec<_>>();
        if errors.is_empty() {
            return Err(SchemaErrors(vec![SchemaError {
                line: 1,
                column: 1,
                message: format!("validation failed (libxml2 code {rc})"),
            }]));
        }
        Err(SchemaErrors(errors))
    }
}

/// Element nodes of a libxml2 tree in document order.
///
/// # Safety
/// `root` must be null or a valid node of a live document.
unsafe fn element_order(root: *mut XmlNode, out: &mut Vec<*mut XmlNode>) {
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        if n.is_null() {
            continue;
        }
        if (*n).kind == XML_ELEMENT_NODE {
            out.push(n);
            let mut kids = Vec::new();
            let mut c = (*n).children;
            while !c.is_null() {
                kids.push(c);
                c = (*c).next;
            }
            stack.extend(kids.into_iter().rev());
        }
    }
}

/// Start offsets of our tree's elements in document order.
fn ours_elements(doc: &Document) -> Vec<usize> {
    let root = doc.root();
    std::iter::once(root)
        .chain(doc.descendants(root))
        .filter_map(|n| doc.element(n).map(|e| e.span.start))
        .collect()
}
