//! The parser's table of names: each distinct prefix, local name, qualified name and namespace
//! URI of a document becomes one [`Name`], and every later occurrence is a clone of it. It also
//! finds where a slice quick-xml hands back sits in the (already validated) source, so names and
//! text are read as `&str` without checking their UTF-8 again.

use std::collections::{HashMap, HashSet};

use super::name::Name;
use super::tree::is_ncname;

/// A qualified name split and shared: `(prefix, local)`.
pub(super) type SplitName = (Option<Name>, Name);

pub(super) struct NameTable<'a> {
    /// The whole source as text (its UTF-8 was checked once, before parsing).
    text: &'a str,
    names: HashSet<Name>,
    qnames: HashMap<&'a str, SplitName>,
    /// The qualified names met last, by a cheap slot of their bytes: a document repeats a few
    /// names over and over, and a hit here costs a comparison instead of a hash.
    recent: Vec<Option<(&'a str, SplitName)>>,
}

/// Slots of [`NameTable::recent`].
const RECENT: usize = 64;

fn recent_slot(qname: &str) -> usize {
    let b = qname.as_bytes();
    match (b.first(), b.last()) {
        (Some(&first), Some(&last)) => {
            (b.len().wrapping_mul(31)
                ^ usize::from(first)
                ^ (usize::from(last) << 3)
                ^ (usize::from(b[b.len() / 2]) << 1))
                % RECENT
        }
        _ => 0,
    }
}

impl<'a> NameTable<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        NameTable {
            text,
            // A SOAP envelope uses a few dozen names: room for them from the start, so the
            // tables do not grow (and rehash) on every parse.
            names: HashSet::with_capacity(64),
            qnames: HashMap::with_capacity(64),
            recent: vec![None; RECENT],
        }
    }

    /// The part of the source `bytes` is, as text; `None` when `bytes` is not a slice of the
    /// source (quick-xml reading from a slice always returns slices of it) or does not fall on
    /// character boundaries.
    pub(super) fn source_str(&self, bytes: &[u8]) -> Option<&'a str> {
        let base = self.text.as_ptr() as usize;
        let start = (bytes.as_ptr() as usize).checked_sub(base)?;
        self.text.get(start..start.checked_add(bytes.len())?)
    }

    /// `bytes` as text: borrowed from the source when it is a slice of it, else checked.
    pub(super) fn str_of<'b>(&self, bytes: &'b [u8]) -> Option<std::borrow::Cow<'b, str>>
    where
        'a: 'b,
    {
        match self.source_str(bytes) {
            Some(s) => Some(std::borrow::Cow::Borrowed(s)),
            None => std::str::from_utf8(bytes)
                .ok()
                .map(std::borrow::Cow::Borrowed),
        }
    }

    /// The shared [`Name`] equal to `s`.
    pub(super) fn name(&mut self, s: &str) -> Name {
        if let Some(n) = self.names.get(s) {
            return n.clone();
        }
        let n = Name::from(s);
        self.names.insert(n.clone());
        n
    }

    /// `qname` split into prefix and local name, both shared; `None` when it is not a QName.
    pub(super) fn split(&mut self, qname: &str) -> Option<SplitName> {
        let slot = recent_slot(qname);
        if let Some((k, found)) = &self.recent[slot] {
            if *k == qname {
                return Some(found.clone());
            }
        }
        let key = self.source_str(qname.as_bytes());
        if let Some(found) = key.and_then(|k| self.qnames.get(k)) {
            let found = found.clone();
            if let Some(k) = key {
                self.recent[slot] = Some((k, found.clone()));
            }
            return Some(found);
        }
        let split = match qname.split_once(':') {
            Some((p, l)) if is_ncname(p) && is_ncname(l) => (Some(self.name(p)), self.name(l)),
            Some(_) => return None,
            None if is_ncname(qname) => (None, self.name(qname)),
            None => return None,
        };
        if let Some(k) = key {
            self.qnames.insert(k, split.clone());
            self.recent[slot] = Some((k, split.clone()));
        }
        Some(split)
    }
}
