//! The hasher of the policy's lookup tables (the origin matcher, large
//! header-name sets).
//!
//! Those tables are built once from the configuration and only read while
//! serving, so a request cannot grow a bucket: the hash needs to be fast on
//! short byte strings and to spread them well, not to resist chosen keys
//! the way a table that requests insert into must. Each word of input is
//! folded in with a 64×64→128-bit multiply whose halves are xored, a mix
//! that carries every input bit into both the low bits (the bucket) and the
//! high bits (the tag `hashbrown` keeps per slot). The seed is drawn once
//! per process, so bucket layouts differ between runs.
//!
//! corsair writes this rather than depend on a hashing crate: it is a few
//! lines on the hot path, and one crate fewer in every build.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

/// Builds [`WordHasher`]s with the process's seed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WordHash {
    seed: u64,
}

impl Default for WordHash {
    fn default() -> Self {
        static SEED: OnceLock<u64> = OnceLock::new();
        WordHash {
            seed: *SEED.get_or_init(|| RandomState::new().hash_one(0x0063_6f72_7361_6972_u64)),
        }
    }
}

impl BuildHasher for WordHash {
    type Hasher = WordHasher;

    fn build_hasher(&self) -> WordHasher {
        WordHasher { state: self.seed }
    }
}

/// The hasher: see the module documentation.
#[derive(Clone, Debug)]
pub(crate) struct WordHasher {
    state: u64,
}

/// Odd constants with well-spread bits (the fractional parts of π and e).
const MULTIPLIERS: [u64; 2] = [0x243f_6a88_85a3_08d3, 0xb7e1_5162_8aed_2a6b];

/// The high and low halves of the full product, xored.
#[inline]
fn fold(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    // The truncations are the point: the two halves of the product.
    #[allow(clippy::cast_possible_truncation)]
    let (low, high) = (product as u64, (product >> 64) as u64);
    low ^ high
}

impl WordHasher {
    #[inline]
    fn word(&mut self, word: u64) {
        self.state = fold(self.state ^ word, MULTIPLIERS[0]);
    }
}

impl Hasher for WordHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut buffer = [0u8; 8];
            buffer.copy_from_slice(word);
            self.word(u64::from_le_bytes(buffer));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut buffer = [0u8; 8];
            if let Some(head) = buffer.get_mut(..rest.len()) {
                head.copy_from_slice(rest);
            }
            // The length in the top byte keeps "a" and "a\0" apart.
            self.word(u64::from_le_bytes(buffer) ^ ((rest.len() as u64) << 56));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.word(u64::from(n));
    }

    #[inline]
    fn write_u16(&mut self, n: u16) {
        self.word(u64::from(n));
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.word(u64::from(n));
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.word(n);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.word(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        fold(self.state, MULTIPLIERS[1])
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn hash(bytes: &[u8]) -> u64 {
        WordHash::default().hash_one(bytes)
    }

    #[test]
    fn equal_inputs_hash_equal_and_near_ones_apart() {
        assert_eq!(
            hash(b"https://app.example.com"),
            hash(b"https://app.example.com")
        );
        let near = [
            &b""[..],
            b"a",
            b"a\0",
            b"b",
            b"https://app.example.com",
            b"https://app.example.con",
            b"https://app.example.com:1",
            b"ttps://app.example.com",
        ];
        let hashes: HashSet<u64> = near.iter().map(|bytes| hash(bytes)).collect();
        assert_eq!(hashes.len(), near.len());
    }

    /// Origins that differ in one byte land in well-spread buckets: over
    /// 4,096 of them, the low 8 bits (256 buckets) and the top 7 bits (the
    /// tag) take every value, and no bucket holds more than three times
    /// its share.
    #[test]
    fn similar_keys_spread_over_buckets_and_tags() {
        let mut buckets = [0u32; 256];
        let mut tags = [0u32; 128];
        for n in 0..4096u32 {
            let h = hash(format!("https://tenant-{n}.example.com").as_bytes());
            buckets[(h & 0xff) as usize] += 1;
            tags[(h >> 57) as usize] += 1;
        }
        assert!(
            buckets.iter().all(|&count| (1..=48).contains(&count)),
            "{buckets:?}"
        );
        assert!(
            tags.iter().all(|&count| (1..=96).contains(&count)),
            "{tags:?}"
        );
    }
}
