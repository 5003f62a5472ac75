//! A set of header names compared ASCII-case-insensitively, probed without
//! allocating.

use std::hash::{BuildHasher, Hash, Hasher};

use hashbrown::{DefaultHashBuilder, HashTable};

/// Header names, stored lowercase; `contains` folds the probe's case while
/// hashing it, so no lowercase copy is ever made.
#[derive(Clone, Debug, Default)]
pub(crate) struct HeaderNameSet {
    table: HashTable<Box<str>>,
    hasher: DefaultHashBuilder,
}

/// Hashes a name as its ASCII-lowercase form, in fixed-size chunks so that
/// a name hashes the same whatever its case.
struct Folded<'a>(&'a str);

impl Hash for Folded<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        const CHUNK: usize = 32;
        let mut buffer = [0u8; CHUNK];
        for chunk in self.0.as_bytes().chunks(CHUNK) {
            for (folded, byte) in buffer.iter_mut().zip(chunk) {
                *folded = byte.to_ascii_lowercase();
            }
            state.write(buffer.get(..chunk.len()).unwrap_or_default());
        }
        state.write_usize(self.0.len());
    }
}

impl HeaderNameSet {
    /// Adds `name` (already lowercase).
    pub(crate) fn insert(&mut self, name: &str) {
        let hash = self.hasher.hash_one(Folded(name));
        if self
            .table
            .find(hash, |stored| stored.eq_ignore_ascii_case(name))
            .is_none()
        {
            let hasher = &self.hasher;
            self.table
                .insert_unique(hash, name.into(), |stored| hasher.hash_one(Folded(stored)));
        }
    }

    /// Whether `name`, in any case, is in the set.
    pub(crate) fn contains(&self, name: &str) -> bool {
        let hash = self.hasher.hash_one(Folded(name));
        self.table
            .find(hash, |stored| stored.eq_ignore_ascii_case(name))
            .is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_ignore_case_at_any_length() {
        let long = "x-".repeat(40);
        let mut set = HeaderNameSet::default();
        for name in ["content-type", "x-api-key", long.as_str()] {
            set.insert(name);
        }
        assert!(set.contains("content-type"));
        assert!(set.contains("Content-Type"));
        assert!(set.contains("X-API-KEY"));
        assert!(set.contains(&long.to_ascii_uppercase()));
        assert!(!set.contains("content-typ"));
        assert!(!set.contains("x-api-key2"));
        assert!(!set.contains(""));
    }
}
