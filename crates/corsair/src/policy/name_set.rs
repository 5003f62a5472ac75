//! Sets of names (header names, methods) probed with request bytes, without
//! allocating.
//!
//! A policy usually allows a handful of names, and a preflight asks about
//! one or two. For such sets a scan that compares lengths first beats
//! hashing: most entries are skipped on one comparison, and an entry of the
//! right length is compared as two words (see [`Fingerprint`]), its own
//! prepared when the set was built. Past [`LINEAR_MAX`] names the set
//! hashes instead, so that a policy allowing hundreds of names still costs
//! one probe.

use std::hash::{BuildHasher, Hash, Hasher};

use hashbrown::HashTable;

use crate::hash::WordHash;

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

    /// A name's [`Fingerprint`], ASCII-lowercased when names compare
    /// without case.
    fn fingerprint(self, bytes: &[u8]) -> Fingerprint {
        let [first, last] = words(bytes);
        match self {
            Case::Sensitive => [first, last],
            Case::Insensitive => [ascii_lowercase(first), ascii_lowercase(last)],
        }
    }
}

/// The bytes of a name as two words: its first and its last eight bytes
/// when it has eight or more (overlapping below sixteen), its first and last
/// four in one word when it has four to seven, and its bytes in one word
/// below that. Between names of one length, equal fingerprints mean equal
/// names up to [`FINGERPRINT_MAX`] bytes.
type Fingerprint = [u64; 2];

/// The longest name a [`Fingerprint`] holds whole.
const FINGERPRINT_MAX: usize = 16;

fn words(bytes: &[u8]) -> Fingerprint {
    if let (Some(first), Some(last)) = (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        return [u64::from_le_bytes(*first), u64::from_le_bytes(*last)];
    }
    if let (Some(first), Some(last)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        let first = u64::from(u32::from_le_bytes(*first));
        let last = u64::from(u32::from_le_bytes(*last));
        return [first | (last << 32), 0];
    }
    let word = bytes
        .iter()
        .rev()
        .fold(0, |word, &byte| (word << 8) | u64::from(byte));
    [word, 0]
}

/// The eight bytes of `word` ASCII-lowercased, all at once: each byte from
/// `A` to `Z` gains `0x20`; every other byte, non-ASCII included, is kept.
fn ascii_lowercase(word: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;
    // On the low seven bits of every byte, adding `0x80 - c` sets the byte's
    // high bit exactly when it is at least `c`, and never carries into the
    // next byte (`0x7f + 0x3f < 0x100`).
    let low = word & LOW7;
    let at_least_a = low + ONES * (0x80 - u64::from(b'A'));
    let past_z = low + ONES * (0x80 - u64::from(b'Z') - 1);
    let upper = at_least_a & !past_z & !word & HIGH;
    word | (upper >> 2)
}

/// A stored name: its length, its fingerprint (lowercase when the set
/// ignores case) and, for a name too long for the fingerprint, its bytes.
#[derive(Clone, Debug)]
struct Name {
    len: usize,
    fingerprint: Fingerprint,
    bytes: Box<[u8]>,
}

impl Name {
    fn new(case: Case, bytes: &[u8]) -> Self {
        Name {
            len: bytes.len(),
            fingerprint: case.fingerprint(bytes),
            bytes: bytes.into(),
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
    Linear(Box<[Name]>),
    /// Many names: hashed (folding case when the set does).
    Hashed {
        table: HashTable<Box<[u8]>>,
        hasher: WordHash,
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
            let names = unique.iter().map(|name| Name::new(case, name)).collect();
            return NameSet {
                case,
                repr: Repr::Linear(names),
            };
        }
        let hasher = WordHash::default();
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
    ///
    /// Inlined into its callers, a preflight's probes: as a call, saving and
    /// restoring registers cost as much as the scan of a short set.
    #[inline(always)]
    pub(crate) fn contains(&self, name: &[u8]) -> bool {
        let case = self.case;
        match &self.repr {
            Repr::Linear(names) => {
                let fingerprint = case.fingerprint(name);
                names.iter().any(|stored| {
                    stored.len == name.len()
                        && stored.fingerprint == fingerprint
                        && (stored.len <= FINGERPRINT_MAX || case.eq(&stored.bytes, name))
                })
            }
            Repr::Hashed { table, hasher } => contains_hashed(case, table, hasher, name),
        }
    }
}

/// [`NameSet::contains`] for a large set, out of line.
#[inline(never)]
fn contains_hashed(
    case: Case,
    table: &HashTable<Box<[u8]>>,
    hasher: &WordHash,
    name: &[u8],
) -> bool {
    table
        .find(hash(case, hasher, name), |stored| case.eq(stored, name))
        .is_some()
}

fn hash(case: Case, hasher: &WordHash, name: &[u8]) -> u64 {
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
    fn words_lowercase_exactly_the_ascii_capitals() {
        // Every byte value, at every position of a word, next to neighbours
        // that could carry into it (0x7f, 0xff) or be confused with it.
        for byte in 0..=u8::MAX {
            for position in 0..8 {
                for fill in [0u8, b'Z', 0x7f, 0xff] {
                    let mut bytes = [fill; 8];
                    bytes[position] = byte;
                    let lowered = ascii_lowercase(u64::from_le_bytes(bytes)).to_le_bytes();
                    assert_eq!(lowered, bytes.map(|b| b.to_ascii_lowercase()), "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn names_compare_across_word_boundaries() {
        let names = [
            "a",
            "seven77",
            "eight888",
            "nine-9999",
            "x-sixteen-bytes!",
            "x-seventeen-bytes",
            "x-twenty-four-bytes-long",
        ];
        for case in [Case::Sensitive, Case::Insensitive] {
            let set = NameSet::new(case, names);
            for name in names {
                assert!(set.contains(name.as_bytes()), "{name}");
                // One byte changed anywhere, or one more or less, misses.
                for index in 0..name.len() {
                    let mut changed = name.as_bytes().to_vec();
                    changed[index] ^= 0x01;
                    assert!(!set.contains(&changed), "{changed:?}");
                }
                assert!(!set.contains(&name.as_bytes()[..name.len() - 1]));
                assert!(!set.contains(format!("{name}\0").as_bytes()));
            }
        }
    }

    #[test]
    fn duplicates_are_kept_once() {
        let set = NameSet::new(Case::Insensitive, ["accept", "accept", "x-a"]);
        assert!(matches!(&set.repr, Repr::Linear(names) if names.len() == 2));
    }
}
