//! Duplicate-name detection for the attributes of one element, linear however many there are
//! (quick-xml's own check compares every pair, quadratic on hostile input).

use std::borrow::Cow;
use std::collections::HashSet;

/// Names met on one element, to refuse a repeated one: compared one by one while there are few
/// (the usual element), hashed beyond that, so a hostile element with hundreds of attributes
/// costs linear work too.
#[derive(Default)]
pub(super) struct SeenNames<'a> {
    few: Vec<Cow<'a, [u8]>>,
    many: HashSet<Cow<'a, [u8]>>,
}

impl<'a> SeenNames<'a> {
    /// Names compared one by one before hashing.
    const FEW: usize = 16;

    pub(super) fn len(&self) -> usize {
        self.few.len() + self.many.len()
    }

    /// Adds `name`; false when it was already there.
    pub(super) fn insert(&mut self, name: Cow<'a, [u8]>) -> bool {
        if self.few.contains(&name) || self.many.contains(&name) {
            return false;
        }
        if self.few.len() < Self::FEW {
            self.few.push(name);
        } else {
            self.many.insert(name);
        }
        true
    }
}

impl SeenNames<'_> {
    /// Forgets every name, keeping the memory for the next element.
    pub(super) fn clear(&mut self) {
        self.few.clear();
        self.many.clear();
    }
}
