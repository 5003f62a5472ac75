//! Sets of names (header names, methods) probed with request bytes, without
//! allocating.
//!
//! A policy usually allows a handful of names, and a preflight asks about
//! one or two. For such sets a scan that compares lengths first beats
//! hashing: most entries are skipped on one comparison, and the probe is
//! never read twice. Past [`LINEAR_MAX`] names the set hashes instead, so
//! that a policy allowing hundreds of names still costs one probe.

use std::hash::{BuildHasher, Hash, Hasher};

use hashbrown::{DefaultHashBuilder, HashTable};

/// The most names a set scans; larger sets hash.
const LINEAR_MAX: usize = 16;

/// How a [`NameSet`] compares names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Case {
    /// Byte for byte (methods: browsers send the normalised form).
    Sensitive,
    /// ASCII case folded (header names). Names are stored lowercase.
    Insensitive,
}

impl Case {
    /// Whether two names of the same length are equal. Names are short:
    /// folding the differences of every byte without branching, as here,
    /// costs a few instructions where a call to `memcmp` costs dozens.
    fn eq(self, stored: &[u8], probe: &[u8]) -> bool {
        stored.len() == probe.len()
            && match self {
                Case::Sensitive => stored.iter().zip(probe).fold(0, |d, (a, b)| d | (a ^ b)) == 0,
                Case::Insensitive => {
                    stored.iter().zip(probe).fold(0, |d, (a, b)| {
                        d | (a.to_ascii_lowercase() ^ b.to_ascii_lowercase())
                    }) == 0
                }
            }
    }
}

/// A set of names, compared as its [`Case`] says.
#[derive(Clone, Debug)]
pub(crate) struct NameSet {
    case: Case,
    repr: Repr,
}

#[derive(Clone, Debug)]
enum Repr {
    /// Few names: compared in turn, length first.
    Linear(Vec<Box<[u8]>>),
    /// Many names: hashed (folding case when the set does).
    Hashed {
        table: HashTable<Box<[u8]>>,
        hasher: DefaultHashBuilder,
    },
}

/// Hashes a name as its ASCII-lowercase form, in fixed-size chunks so that
/// a name hashes the same whatever its case.
struct Folded<'a>(&'a [u8]);

impl Hash for Folded<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        const CHUNK: usize = 32;
        let mut buffer = [0u8; CHUNK];
        for chunk in self.0.chunks(CHUNK) {
            for (folded, byte) in buffer.iter_mut().zip(chunk) {
                *folded = byte.to_ascii_lowercase();
            }
            state.write(buffer.get(..chunk.len()).unwrap_or_default());
        }
        state.write_usize(self.0.len());
    }
}

impl NameSet {
    /// The set of `names` (lowercase when `case` is
    /// [`Case::Insensitive`]); duplicates are kept once.
    pub(crate) fn new<'a>(case: Case, names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut unique: Vec<Box<[u8]>> = Vec::new();
        for name in names {
            if !unique.iter().any(|stored| case.eq(stored, name.as_bytes())) {
                unique.push(name.as_bytes().into());
            }
        }
        if unique.len() <= LINEAR_MAX {
            return NameSet {
                case,
                repr: Repr::Linear(unique),
            };
        }
        let hasher = DefaultHashBuilder::default();
        let mut table = HashTable::with_capacity(unique.len());
        for name in unique {
            let hash = hash(case, &hasher, &name);
            table.insert_unique(hash, name, |stored| self::hash(case, &hasher, stored));
        }
        NameSet {
            case,
            repr: Repr::Hashed { table, hasher },
        }
    }

    /// Whether `name` is in the set.
    pub(crate) fn contains(&self, name: &[u8]) -> bool {
        let case = self.case;
        match &self.repr {
            Repr::Linear(names) => names.iter().any(|stored| case.eq(stored, name)),
            Repr::Hashed { table, hasher } => table
                .find(hash(case, hasher, name), |stored| case.eq(stored, name))
                .is_some(),
        }
    }
}

fn hash(case: Case, hasher: &DefaultHashBuilder, name: &[u8]) -> u64 {
    match case {
        Case::Sensitive => hasher.hash_one(name),
        Case::Insensitive => hasher.hash_one(Folded(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sets(case: Case, names: &[&str]) -> [NameSet; 2] {
        let linear = NameSet::new(case, names.iter().copied());
        // The same names padded past the linear limit, so that the hashed
        // form answers the same probes.
        let padding: Vec<String> = (0..=LINEAR_MAX).map(|n| format!("pad-{n}")).collect();
        let hashed = NameSet::new(
            case,
            names
                .iter()
                .copied()
                .chain(padding.iter().map(String::as_str)),
        );
        assert!(matches!(linear.repr, Repr::Linear(_)));
        assert!(matches!(hashed.repr, Repr::Hashed { .. }));
        [linear, hashed]
    }

    #[test]
    fn header_names_ignore_case_at_any_length() {
        let long = "x-".repeat(40);
        for set in sets(
            Case::Insensitive,
            &["content-type", "x-api-key", long.as_str()],
        ) {
            assert!(set.contains(b"content-type"));
            assert!(set.contains(b"Content-Type"));
            assert!(set.contains(b"X-API-KEY"));
            assert!(set.contains(long.to_ascii_uppercase().as_bytes()));
            assert!(!set.contains(b"content-typ"));
            assert!(!set.contains(b"x-api-key2"));
            assert!(!set.contains(b""));
        }
    }

    #[test]
    fn methods_compare_byte_for_byte() {
        for set in sets(Case::Sensitive, &["PUT", "PATCH", "purge"]) {
            assert!(set.contains(b"PUT"));
            assert!(set.contains(b"PATCH"));
            assert!(set.contains(b"purge"));
            assert!(!set.contains(b"put"));
            assert!(!set.contains(b"Patch"));
            assert!(!set.contains(b"PURGE"));
            assert!(!set.contains(b"DELETE"));
        }
    }

    #[test]
    fn duplicates_are_kept_once() {
        let set = NameSet::new(Case::Insensitive, ["accept", "accept", "x-a"]);
        assert!(matches!(&set.repr, Repr::Linear(names) if names.len() == 2));
    }
}
