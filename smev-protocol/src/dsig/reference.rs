//! Computes what a `ds:Reference` digests: the referenced element put through the declared
//! transforms (enveloped-signature, exclusive c14n, the SMEV transform), as octets.

use crate::xml::c14n::{self, Options, EXC_C14N, EXC_C14N_WITH_COMMENTS};
use crate::xml::transform::{self, SMEV_TRANSFORM};
use crate::xml::{Document, NodeId};

use super::{DsigError, ENVELOPED_SIGNATURE};

/// One `ds:Transform`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transform {
    Enveloped,
    ExcC14n {
        with_comments: bool,
        inclusive_prefixes: Vec<String>,
    },
    Smev,
}

impl Transform {
    /// The transform for an Algorithm URI (plus the InclusiveNamespaces PrefixList, if any).
    pub fn from_uri(uri: &str, prefixes: Vec<String>) -> Result<Self, DsigError> {
        match uri {
            ENVELOPED_SIGNATURE => Ok(Transform::Enveloped),
            EXC_C14N => Ok(Transform::ExcC14n {
                with_comments: false,
                inclusive_prefixes: prefixes,
            }),
            EXC_C14N_WITH_COMMENTS => Ok(Transform::ExcC14n {
                with_comments: true,
                inclusive_prefixes: prefixes,
            }),
            SMEV_TRANSFORM => Ok(Transform::Smev),
            other => Err(DsigError::UnsupportedAlgorithm(other.to_string())),
        }
    }

    /// The Algorithm URI.
    pub fn uri(&self) -> &'static str {
        match self {
            Transform::Enveloped => ENVELOPED_SIGNATURE,
            Transform::ExcC14n {
                with_comments: false,
                ..
            } => EXC_C14N,
            Transform::ExcC14n {
                with_comments: true,
                ..
            } => EXC_C14N_WITH_COMMENTS,
            Transform::Smev => SMEV_TRANSFORM,
        }
    }

    /// The transforms of every SMEV signature: exclusive c14n, then the SMEV transform.
    pub fn smev_chain() -> Vec<Transform> {
        vec![
            Transform::ExcC14n {
                with_comments: false,
                inclusive_prefixes: Vec::new(),
            },
            Transform::Smev,
        ]
    }
}

enum Data {
    Nodes {
        apex: NodeId,
        exclude: Option<NodeId>,
    },
    Octets(Vec<u8>),
}

/// Applies `transforms` to the element `apex` of `doc`. `signature` is the `ds:Signature` element
/// the reference belongs to (removed by the enveloped-signature transform).
pub fn transformed_octets(
    doc: &Document,
    apex: NodeId,
    signature: Option<NodeId>,
    transforms: &[Transform],
) -> Result<Vec<u8>, DsigError> {
    let mut data = Data::Nodes {
        apex,
        exclude: None,
    };
    let mut steps = transforms.iter().peekable();
    while let Some(t) = steps.next() {
        // Exclusive c14n without comments and then the SMEV transform — every SMEV signature —
        // in one pass over the tree (the canonical form is neither written nor parsed again).
        let canonical_then_smev = matches!(
            t,
            Transform::ExcC14n {
                with_comments: false,
                ..
            }
        ) && steps.peek() == Some(&&Transform::Smev);
        if let (true, Data::Nodes { apex, exclude }) = (canonical_then_smev, &data) {
            data = Data::Octets(transform::transform_canonical_subtree(
                doc, *apex, *exclude,
            )?);
            steps.next();
            continue;
        }
        data = match (t, data) {
            (Transform::Enveloped, Data::Nodes { apex, .. }) => Data::Nodes {
                apex,
                exclude: signature,
            },
            (Transform::Enveloped, Data::Octets(_)) => return Err(DsigError::MalformedSignature(
                "the enveloped-signature transform must come before any octet-producing transform"
                    .into(),
            )),
            (
                Transform::ExcC14n {
                    with_comments,
                    inclusive_prefixes,
                },
                data,
            ) => {
                let opts = Options {
                    with_comments: *with_comments,
                    inclusive_prefixes: inclusive_prefixes.clone(),
                };
                Data::Octets(match data {
                    Data::Nodes { apex, exclude } => {
                        c14n::canonicalize_subtree(doc, apex, exclude, &opts)
                    }
                    Data::Octets(bytes) => {
                        let d = Document::parse(&bytes)?;
                        c14n::canonicalize_document(&d, &opts)
                    }
                })
            }
            (Transform::Smev, Data::Nodes { apex, exclude }) => {
                // A node-set is canonicalized first (exclusive, no comments).
                Data::Octets(transform::transform_canonical_subtree(doc, apex, exclude)?)
            }
            (Transform::Smev, Data::Octets(bytes)) => {
                Data::Octets(transform::transform_bytes(&bytes)?)
            }
        };
    }
    Ok(match data {
        Data::Octets(b) => b,
        // A node-set left at the end is converted to octets by canonicalization.
        Data::Nodes { apex, exclude } => {
            c14n::canonicalize_subtree(doc, apex, exclude, &Options::exclusive())
        }
    })
}
