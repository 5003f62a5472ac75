//! The header values policies render, kept for the life of the process.
//!
//! A value rendered at runtime (the allowed methods, headers, exposed
//! headers, `max_age`) would otherwise be a reference-counted buffer: every
//! response that carries it increments and then decrements a shared atomic
//! counter, one cache line contended by every thread answering requests. A
//! value with a `'static` buffer is copied without touching any counter. So
//! a policy's rendered values are kept for good, each distinct text once,
//! within a fixed budget for the whole process: a configuration reloaded a
//! thousand times adds nothing, and a program that builds policies from
//! endless distinct lists stops interning once the budget is spent and gets
//! reference-counted values from then on. Either way the values are
//! byte-for-byte the same; only the cost of copying them differs.

use std::collections::BTreeSet;
use std::sync::Mutex;

use http::HeaderValue;

/// The most bytes of text interned in one process.
pub(crate) const BUDGET: usize = 64 * 1024;

struct Table {
    texts: BTreeSet<&'static str>,
    bytes: usize,
}

static TABLE: Mutex<Table> = Mutex::new(Table {
    texts: BTreeSet::new(),
    bytes: 0,
});

/// `text` as a header value: a static one when `text` is printable ASCII
/// and the budget allows, a reference-counted one otherwise; `None` when
/// `text` is not a valid header value at all.
pub(crate) fn value(text: String) -> Option<HeaderValue> {
    // `HeaderValue::from_static` accepts exactly printable ASCII; anything
    // else takes the checked, counted path.
    if !text.bytes().all(|byte| (b' '..=b'~').contains(&byte)) {
        return HeaderValue::from_str(&text).ok().map(shared);
    }
    let Ok(mut table) = TABLE.lock() else {
        return HeaderValue::from_str(&text).ok().map(shared);
    };
    if let Some(&kept) = table.texts.get(text.as_str()) {
        return Some(HeaderValue::from_static(kept));
    }
    if table.bytes + text.len() > BUDGET {
        drop(table);
        return HeaderValue::from_str(&text).ok().map(shared);
    }
    table.bytes += text.len();
    let kept: &'static str = Box::leak(text.into_boxed_str());
    table.texts.insert(kept);
    Some(HeaderValue::from_static(kept))
}

/// The interned copy of `text`, if it is one (or can still become one
/// within the budget): for adapters whose own header type can then hold the
/// same `'static` bytes, copied without a reference count.
#[cfg(feature = "actix")]
pub(crate) fn text(text: &str) -> Option<&'static str> {
    value(text.to_owned())?;
    let table = TABLE.lock().ok()?;
    table.texts.get(text).copied()
}

/// A counted value holds a buffer that allocates on its first clone, when
/// it becomes shared; clone it once here, while the policy is built, so that
/// no request ever pays that allocation.
fn shared(value: HeaderValue) -> HeaderValue {
    drop(value.clone());
    value
}

/// The bytes interned so far.
#[cfg(test)]
pub(crate) fn interned_bytes() -> usize {
    TABLE.lock().map_or(0, |table| table.bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One test, in order, because the table is the process's: spending the
    /// budget must come last.
    #[test]
    fn texts_are_kept_once_within_the_budget_and_values_never_change() {
        // The same text twice: kept once, one buffer.
        let text = "GET, X-INTERNED-ONCE-7f3a";
        let first = value(text.to_owned()).unwrap();
        let before = interned_bytes();
        let second = value(text.to_owned()).unwrap();
        assert_eq!(interned_bytes(), before, "a known text adds nothing");
        assert_eq!(first.as_bytes(), text.as_bytes());
        assert!(std::ptr::eq(first.as_bytes(), second.as_bytes()));

        // Not printable ASCII: refused, or counted, never interned.
        assert!(value("a\nb".to_owned()).is_none());
        assert_eq!(value("a\tb".to_owned()).unwrap().as_bytes(), b"a\tb");
        assert_eq!(interned_bytes(), before);

        // Spend the budget: a new text is then counted, still the same bytes.
        let mut n = 0;
        while interned_bytes() + 1024 <= BUDGET {
            assert!(value(format!("{n:01024}")).is_some());
            n += 1;
        }
        let spent = interned_bytes();
        let text = format!("x-late-{}", "a".repeat(1024));
        let late = value(text.clone()).unwrap();
        assert_eq!(late.as_bytes(), text.as_bytes());
        assert_eq!(interned_bytes(), spent);
        assert!(spent <= BUDGET);
    }
}
