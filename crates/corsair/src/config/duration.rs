//! Durations in configuration files, as people write them (`"500ms"`,
//! `"10s"`, `"1m 30s"`), for `#[serde(with = "corsair::config::duration")]`:
//! read with an error that shows the form, written back the same way. The
//! `corsair` proxy's limits and a policy's `[origin_source]` read through
//! it.
//!
//! ```
//! use std::time::Duration;
//!
//! #[derive(serde::Deserialize)]
//! struct Limits {
//!     #[serde(with = "corsair::config::duration")]
//!     timeout: Duration,
//! }
//!
//! let limits: Limits = serde_json::from_str(r#"{"timeout": "1m 30s"}"#)?;
//! assert_eq!(limits.timeout, Duration::from_secs(90));
//! let error = serde_json::from_str::<Limits>(r#"{"timeout": "ten seconds"}"#).err().map(|e| e.to_string());
//! assert!(error.is_some_and(|e| e.starts_with("\"ten seconds\" is not a duration: write it like \"10s\"")));
//! # Ok::<(), serde_json::Error>(())
//! ```

use std::time::Duration;

use serde::{Deserialize as _, Deserializer, Serializer};

/// Writes `value` as `humantime` does (`"1m 30s"`).
///
/// # Errors
/// The serializer's.
pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&humantime::format_duration(*value))
}

/// Reads a duration written as text.
///
/// # Errors
/// A value that is not text, or text that is not a duration, with what to
/// write instead.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    humantime::parse_duration(&text).map_err(|error| {
        // The parser's own words name byte offsets; say what a person can
        // act on.
        let why = match error {
            humantime::DurationError::UnknownUnit { unit, .. } => {
                format!(" ({unit:?} is not a unit: use ms, s, m, h or d)")
            }
            humantime::DurationError::NumberOverflow => " (it is too long)".to_owned(),
            humantime::DurationError::Empty => " (it is empty)".to_owned(),
            _ => String::new(),
        };
        serde::de::Error::custom(format!(
            "{text:?} is not a duration{why}: write it like \"10s\", \"500ms\" or \"1m 30s\""
        ))
    })
}
