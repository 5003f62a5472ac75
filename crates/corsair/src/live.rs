//! A value in force that is replaced while it is read, and the cache each
//! reader keeps of it: written once, used by [`Cors`](crate::Cors) for its
//! policy, by the tower and actix-web services, and by the `corsair` proxy
//! for its configuration.
//!
//! A reader that loads the value on every request from a [`Live`] would
//! make every core add to and take from one reference count, a cache line
//! the cores pull back and forth. A [`Reader`] holds the value itself and
//! sees a replacement by one comparison of pointers on its next load. It
//! also keeps what it derives from the value (the actix adapter's values
//! converted for actix-web, the proxy's per-worker hold) and derives it
//! again only when the value was replaced.
//!
//! ```
//! use std::sync::Arc;
//! use corsair::live::Live;
//!
//! let live = Live::new(String::from("first"));
//! let mut reader = live.reader(|value: &Arc<String>| value.len());
//! assert_eq!(reader.load(), (&Arc::new("first".to_owned()), &5));
//! live.store(Arc::new("second!".to_owned()));
//! let (value, length) = reader.load();
//! assert_eq!((value.as_str(), *length), ("second!", 7));
//! ```

use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;

/// A value shared by every clone, replaced as a whole: a reader sees the
/// old value or the new one, never a mix.
pub struct Live<T> {
    value: Arc<ArcSwap<T>>,
}

impl<T> Clone for Live<T> {
    fn clone(&self) -> Self {
        Live {
            value: Arc::clone(&self.value),
        }
    }
}

impl<T> Live<T> {
    /// A live `value`.
    #[must_use]
    pub fn new(value: T) -> Self {
        Live {
            value: Arc::new(ArcSwap::from_pointee(value)),
        }
    }

    /// The value in force now.
    #[must_use]
    pub fn load(&self) -> Arc<T> {
        self.value.load_full()
    }

    /// Puts `value` in force.
    pub fn store(&self, value: Arc<T>) {
        self.value.store(value);
    }

    /// Puts `new` in force if `current` is still in force; whether it did.
    /// For a change computed from the current value that must not lose a
    /// concurrent one: load, compute, and try again when this says `false`.
    pub fn replace(&self, current: &Arc<T>, new: Arc<T>) -> bool {
        let previous = self.value.compare_and_swap(current, new);
        Arc::ptr_eq(&previous, current)
    }

    /// Replaces the value with `change` of it, retried (with a fresh value)
    /// until no concurrent change came in between.
    pub fn update(&self, mut change: impl FnMut(&T) -> T) {
        self.value.rcu(|current| change(current));
    }

    /// A reader of the value that keeps it, with what `derive` makes of it.
    #[must_use]
    pub fn reader<D>(&self, derive: fn(&Arc<T>) -> D) -> Reader<T, D> {
        let mut cache = arc_swap::Cache::new(Arc::clone(&self.value));
        let seen = Arc::clone(cache.load());
        Reader {
            derived: derive(&seen),
            cache,
            seen,
            derive,
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Live<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Live").field(&*self.value.load()).finish()
    }
}

/// One reader's cache of a [`Live`] value and of what it derives from it.
/// Clones are independent readers.
pub struct Reader<T, D = ()> {
    cache: arc_swap::Cache<Arc<ArcSwap<T>>, Arc<T>>,
    /// The value `derived` was made from.
    seen: Arc<T>,
    derived: D,
    derive: fn(&Arc<T>) -> D,
}

impl<T, D: Clone> Clone for Reader<T, D> {
    fn clone(&self) -> Self {
        Reader {
            cache: self.cache.clone(),
            seen: Arc::clone(&self.seen),
            derived: self.derived.clone(),
            derive: self.derive,
        }
    }
}

impl<T, D> Reader<T, D> {
    /// The value in force and what this reader derived from it: one
    /// comparison of pointers when it is the value of the last load.
    pub fn load(&mut self) -> (&Arc<T>, &D) {
        let current = self.cache.load();
        if !Arc::ptr_eq(current, &self.seen) {
            self.seen = Arc::clone(current);
            self.derived = (self.derive)(&self.seen);
        }
        (&self.seen, &self.derived)
    }
}

impl<T: fmt::Debug, D> fmt::Debug for Reader<T, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader")
            .field("seen", &self.seen)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    static DERIVED: AtomicUsize = AtomicUsize::new(0);

    fn count(value: &Arc<u32>) -> u32 {
        DERIVED.fetch_add(1, Ordering::SeqCst);
        **value * 2
    }

    #[test]
    fn a_reader_derives_again_only_after_a_replacement() {
        let live = Live::new(1_u32);
        let mut reader = live.reader(count);
        let before = DERIVED.load(Ordering::SeqCst);
        for _ in 0..10 {
            assert_eq!(*reader.load().1, 2);
        }
        assert_eq!(DERIVED.load(Ordering::SeqCst), before);
        live.store(Arc::new(5));
        assert_eq!(*reader.load().1, 10);
        assert_eq!(*reader.load().1, 10);
        assert_eq!(DERIVED.load(Ordering::SeqCst), before + 1);
    }

    #[test]
    fn replace_fails_when_another_change_came_first() {
        let live = Live::new(1_u32);
        let current = live.load();
        live.update(|value| value + 1);
        assert!(!live.replace(&current, Arc::new(10)));
        assert_eq!(*live.load(), 2);
        let current = live.load();
        assert!(live.replace(&current, Arc::new(10)));
        assert_eq!(*live.load(), 10);
    }
}
