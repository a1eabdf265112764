//! The reference half of verification: reading each `ds:Reference` of SignedInfo and checking
//! its digest over the transformed element — and, when it differs, finding the likely cause
//! (content changed, transforms applied differently, whitespace added).

use base64::Engine as _;

use crate::xml::{Document, NodeId};

use super::algorithm::DigestAlgorithm;
use super::reference::{transformed_octets, Transform};
use super::verify::*;
use super::DSIG_NS;

pub(super) struct ParsedReference {
    pub(super) uri: String,
    pub(super) transforms: Result<Vec<Transform>, String>,
    pub(super) transform_uris: Vec<String>,
    pub(super) digest_method: String,
    pub(super) digest_value: Vec<u8>,
    pub(super) digest_value_text: String,
}

pub(super) fn parse_references(
    doc: &Document,
    signed_info: NodeId,
) -> Result<Vec<ParsedReference>, Cause> {
    let mut out = Vec::new();
    for r in doc.child_elements(signed_info) {
        let Some(e) = doc.element(r) else { continue };
        if !e.is(DSIG_NS, "Reference") {
            continue;
        }
        if out.len() >= MAX_REFERENCES {
            return Err(malformed(format!(
                "more than {MAX_REFERENCES} ds:Reference elements in SignedInfo"
            )));
        }
        let uri = e.attr("URI").unwrap_or("").to_string();
        let mut transform_uris = Vec::new();
        let mut transforms: Result<Vec<Transform>, String> = Ok(Vec::new());
        if let Some(ts) = ds_child(doc, r, "Transforms") {
            for t in doc.child_elements(ts) {
                let Some(te) = doc.element(t) else { continue };
                if !te.is(DSIG_NS, "Transform") {
                    continue;
                }
                if transform_uris.len() >= MAX_TRANSFORMS {
                    return Err(malformed(format!(
                        "more than {MAX_TRANSFORMS} ds:Transform elements in a Reference"
                    )));
                }
                let a = te.attr("Algorithm").unwrap_or("").to_string();
                transform_uris.push(a.clone());
                let parsed = Transform::from_uri(&a, inclusive_prefixes(doc, t)?);
                transforms = match (transforms, parsed) {
                    (Ok(mut v), Ok(t)) => {
                        v.push(t);
                        Ok(v)
                    }
                    (Err(x), _) => Err(x),
                    (Ok(_), Err(_)) => Err(a),
                };
            }
        }
        let dm = ds_child(doc, r, "DigestMethod")
            .ok_or_else(|| malformed("Reference has no ds:DigestMethod"))?;
        let digest_method = algorithm_attr(doc, dm)?;
        let dv = ds_child(doc, r, "DigestValue")
            .ok_or_else(|| malformed("Reference has no ds:DigestValue"))?;
        let digest_value_text = doc.text(dv).trim().to_string();
        let digest_value = decode_b64(&digest_value_text)
            .map_err(|e| malformed(format!("DigestValue is not base64: {e}")))?;
        out.push(ParsedReference {
            uri,
            transforms,
            transform_uris,
            digest_method,
            digest_value,
            digest_value_text,
        });
    }
    Ok(out)
}

pub(super) fn check_reference(
    doc: &Document,
    sig: NodeId,
    r: &ParsedReference,
) -> (ReferenceCheck, Option<Cause>) {
    let mut check = ReferenceCheck {
        uri: r.uri.clone(),
        target: None,
        transforms: r.transform_uris.clone(),
        digest_method: r.digest_method.clone(),
        expected_digest: r.digest_value_text.clone(),
        computed_digest: None,
        digest_ok: false,
    };
    let reference = if r.uri.is_empty() {
        "the whole document".to_string()
    } else {
        r.uri.clone()
    };
    let digest = match DigestAlgorithm::from_uri(&r.digest_method) {
        Ok(d) => d,
        Err(_) => {
            return (
                check,
                Some(Cause::UnsupportedAlgorithm {
                    uri: r.digest_method.clone(),
                }),
            )
        }
    };
    let transforms = match &r.transforms {
        Ok(t) => t.clone(),
        Err(uri) => {
            return (
                check,
                Some(Cause::UnsupportedAlgorithm { uri: uri.clone() }),
            )
        }
    };
    let target = if r.uri.is_empty() {
        doc.root()
    } else if let Some(id) = r.uri.strip_prefix('#') {
        match doc.find_by_id(id) {
            Ok(n) => n,
            Err(e) => {
                let cause = match e {
                    crate::xml::XmlError::DuplicateId(_) => {
                        malformed(format!("{} is ambiguous: {e}", r.uri))
                    }
                    _ => Cause::ReferenceNotFound {
                        reference: r.uri.clone(),
                    },
                };
                return (check, Some(cause));
            }
        }
    } else {
        return (
            check,
            Some(malformed(format!(
                "external reference URI {:?} is not supported",
                r.uri
            ))),
        );
    };
    check.target = doc.element(target).map(|e| e.qname());
    let digest_of = |ts: &[Transform]| -> Option<Vec<u8>> {
        let octets = transformed_octets(doc, target, Some(sig), ts).ok()?;
        digest.hash(&octets).ok()
    };
    let computed = digest_of(&transforms);
    check.computed_digest = computed.as_ref().map(|d| B64.encode(d));
    if computed.as_deref() == Some(r.digest_value.as_slice()) {
        check.digest_ok = true;
        return (check, None);
    }
    if contains_xop(doc, target) {
        return (check, Some(Cause::XopIncludeUnresolved { reference }));
    }
    if doc.raw(target).len() > DIAGNOSE_UP_TO_BYTES {
        return (check, Some(Cause::ContentChanged { reference }));
    }
    // Try the orders signers get wrong.
    let enveloped = transforms.contains(&Transform::Enveloped);
    let mut alternatives: Vec<Vec<Transform>> = vec![
        vec![Transform::Smev, exc()],
        vec![exc()],
        vec![Transform::Smev],
        Transform::smev_chain(),
    ];
    if enveloped {
        for a in &mut alternatives {
            a.insert(0, Transform::Enveloped);
        }
    } else {
        let mut with_env = Transform::smev_chain();
        with_env.insert(0, Transform::Enveloped);
        alternatives.push(with_env);
    }
    for alt in alternatives.into_iter().filter(|a| *a != transforms) {
        if digest_of(&alt).as_deref() == Some(r.digest_value.as_slice()) {
            let matching = alt.iter().map(|t| t.uri()).collect::<Vec<_>>().join(" → ");
            return (
                check,
                Some(Cause::TransformsDiffer {
                    reference,
                    matching,
                }),
            );
        }
    }
    (check, Some(Cause::ContentChanged { reference }))
}

pub(super) fn exc() -> Transform {
    Transform::ExcC14n {
        with_comments: false,
        inclusive_prefixes: Vec::new(),
    }
}

pub(super) fn contains_xop(doc: &Document, n: NodeId) -> bool {
    doc.descendants(n)
        .into_iter()
        .any(|d| doc.element(d).is_some_and(|e| e.is(XOP_NS, "Include")))
}

/// Removes whitespace-only text between tags of canonical XML (where a literal `>` always ends a
/// tag and a literal `<` always starts one).
pub(super) fn strip_inter_element_whitespace(canonical: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(canonical.len());
    let mut i = 0;
    while i < canonical.len() {
        let b = canonical[i];
        out.push(b);
        i += 1;
        if b == b'>' {
            let mut j = i;
            while j < canonical.len() && matches!(canonical[j], b' ' | b'\t' | b'\n') {
                j += 1;
            }
            if j < canonical.len() && canonical[j] == b'<' {
                i = j;
            }
        }
    }
    out
}

pub(super) fn location(doc: &Document, n: NodeId) -> String {
    let mut parts: Vec<String> = doc
        .ancestors(n)
        .into_iter()
        .rev()
        .filter_map(|a| doc.element(a).map(|e| e.local.to_string()))
        .collect();
    if let Some(e) = doc.element(n) {
        parts.push(e.local.to_string());
    }
    format!("/{}", parts.join("/"))
}
