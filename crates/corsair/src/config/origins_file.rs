//! `allow_origins_file`: the allowed origins of a policy kept in a file of
//! their own, one per line, for lists too long or too changeable for the
//! configuration (a multi-tenant API's custom domains).
//!
//! ```text
//! # tenants.txt: one origin or pattern per line, as in allow_origins
//! https://app.example.com
//! https://*.tenant-a.example       # every subdomain of a tenant's domain
//! https://shop.tenant-b.example
//! ```
//!
//! - A line holds one entry, written as in `allow_origins` (see
//!   [`OriginPattern`]); spaces around it are ignored.
//! - `#` starts a comment, on a line of its own or after an entry: no
//!   origin contains `#`.
//! - Blank lines are ignored; a file with no entries allows nothing more
//!   than `allow_origins` does.
//! - `*` is refused: a file lists origins, and allowing every one is a
//!   decision for `allow_origins = ["*"]`, where a reviewer sees it.
//! - Every entry obeys the rules of `allow_origins`: with credentials,
//!   only secure origins and no wildcard directly under a public suffix,
//!   unless the `dangerously_` flags say otherwise.
//! - A refused line is reported with its number (once for each rule it
//!   breaks); the first [`MAX_REPORTED_LINES`] are, and the rest are
//!   counted.
//!
//! The file is read when the policy is compiled. [`Policy::origins_file_changed`]
//! says whether it changed since, [`Cors::reload_origins_file`] reads it
//! again, and [`Cors::watch_origins_file`] does that on a timer; the
//! `corsair` proxy watches it with its configuration.
//!
//! [`Policy::origins_file_changed`]: crate::policy::Policy::origins_file_changed
//! [`Cors::reload_origins_file`]: crate::Cors::reload_origins_file
//! [`Cors::watch_origins_file`]: crate::Cors::watch_origins_file

use std::fs::File;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::time::SystemTime;

use super::Config;
use crate::error::{ConfigProblem, OriginsFileProblem};
use crate::origin::{OriginMatcher, OriginPattern};

/// The largest origins file read, in bytes: room for ten million origins
/// of the usual length. A larger file is refused unread.
pub const MAX_ORIGINS_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// How many refused lines of an origins file are reported one by one; the
/// rest are counted in one last problem.
pub const MAX_REPORTED_LINES: usize = 20;

/// What identifies the contents of a file without reading it: its length,
/// its modification time and (on Unix) its inode and change time, as the
/// file system reports them. A file replaced by a rename, rewritten in
/// place or touched gets another stamp.
///
/// ```
/// use corsair::config::origins_file::FileStamp;
///
/// let path = std::env::temp_dir().join(format!("corsair-stamp-{}.txt", std::process::id()));
/// std::fs::write(&path, "https://a.example\n")?;
/// let before = FileStamp::now(&path);
/// assert!(before.is_some());
/// std::fs::write(&path, "https://a.example\nhttps://b.example\n")?;
/// assert_ne!(FileStamp::now(&path), before);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    inode: (u64, u64, i64, i64),
}

impl FileStamp {
    fn of(metadata: &std::fs::Metadata) -> FileStamp {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt as _;
        FileStamp {
            len: metadata.len(),
            modified: metadata.modified().ok(),
            #[cfg(unix)]
            inode: (
                metadata.dev(),
                metadata.ino(),
                metadata.ctime(),
                metadata.ctime_nsec(),
            ),
        }
    }

    /// The stamp of the file at `path` now, `None` when it cannot be read
    /// (gone for a moment while it is replaced, for instance).
    #[must_use]
    pub fn now(path: &Path) -> Option<FileStamp> {
        std::fs::metadata(path)
            .ok()
            .map(|metadata| FileStamp::of(&metadata))
    }
}

/// Reads the origins file at `path` into `matcher`, checking each entry by
/// `config`'s rules and adding a problem for each refused line (or for a
/// file that cannot be read). Returns the stamp of the file as read.
pub(crate) fn read_into(
    path: &Path,
    config: &Config,
    matcher: &mut OriginMatcher,
    problems: &mut Vec<ConfigProblem>,
) -> Option<FileStamp> {
    let unreadable = |reason: String| ConfigProblem::OriginsFileUnreadable {
        path: path.to_owned(),
        reason,
    };
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) => {
            problems.push(unreadable(error.to_string()));
            return None;
        }
    };
    // The stamp of the very file opened, taken before reading: a change
    // made while it is read gets a later stamp, so it is read again.
    let stamp = match file.metadata() {
        Ok(metadata) if metadata.is_dir() => {
            problems.push(unreadable("it is a directory".to_owned()));
            return None;
        }
        Ok(metadata) if metadata.len() > MAX_ORIGINS_FILE_BYTES => {
            problems.push(unreadable(format!(
                "it has {} bytes, more than the {MAX_ORIGINS_FILE_BYTES} an origins file may hold",
                metadata.len()
            )));
            return None;
        }
        Ok(metadata) => FileStamp::of(&metadata),
        Err(error) => {
            problems.push(unreadable(error.to_string()));
            return None;
        }
    };
    let mut reader = BufReader::with_capacity(64 * 1024, file.take(MAX_ORIGINS_FILE_BYTES + 1));
    let mut line = Vec::new();
    let mut number = 0;
    let mut read = 0_u64;
    let mut refused = 0;
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(length) => read += length as u64,
            Err(error) => {
                problems.push(unreadable(format!("after line {number}: {error}")));
                return None;
            }
        }
        if read > MAX_ORIGINS_FILE_BYTES {
            problems.push(unreadable(format!(
                "it grew past the {MAX_ORIGINS_FILE_BYTES} bytes an origins file may hold while it was read"
            )));
            return None;
        }
        number += 1;
        let (value, refusals) = match entry(&line) {
            Ok(None) => continue,
            Ok(Some(text)) => match OriginPattern::parse(text) {
                Ok(pattern) => {
                    let refusals = check(&pattern, config);
                    if refusals.is_empty() {
                        matcher.insert(&pattern);
                        continue;
                    }
                    (text.to_owned(), refusals)
                }
                Err(error) => (text.to_owned(), vec![OriginsFileProblem::Origin(error)]),
            },
            Err(text) => (text, vec![OriginsFileProblem::NotText]),
        };
        refused += 1;
        if refused <= MAX_REPORTED_LINES {
            for problem in refusals {
                problems.push(ConfigProblem::OriginsFileLine {
                    path: path.to_owned(),
                    line: number,
                    value: value.clone(),
                    problem,
                });
            }
        }
    }
    if refused > MAX_REPORTED_LINES {
        problems.push(ConfigProblem::OriginsFileMoreLines {
            path: path.to_owned(),
            more: refused - MAX_REPORTED_LINES,
        });
    }
    Some(stamp)
}

/// The entry of one line: `None` for a blank line or a comment, `Err` with
/// the line as far as it reads for one that is not UTF-8.
fn entry(line: &[u8]) -> Result<Option<&str>, String> {
    let content = match line.iter().position(|&byte| byte == b'#') {
        Some(hash) => line.get(..hash).unwrap_or_default(),
        None => line,
    };
    let text = std::str::from_utf8(content)
        .map_err(|_| String::from_utf8_lossy(content).trim().to_owned())?
        .trim();
    Ok((!text.is_empty()).then_some(text))
}

/// The rules of `config` that `pattern`, read from a file, breaks: those
/// of `allow_origins`, and `*` refused.
fn check(pattern: &OriginPattern, config: &Config) -> Vec<OriginsFileProblem> {
    if *pattern == OriginPattern::Any {
        return vec![OriginsFileProblem::Any];
    }
    let rules = config.credential_rules(pattern);
    let mut refusals = Vec::new();
    if rules.insecure {
        refusals.push(OriginsFileProblem::InsecureWithCredentials);
    }
    if let Some(suffix) = rules.public_suffix {
        refusals.push(OriginsFileProblem::PublicSuffixWildcardWithCredentials {
            suffix: suffix.to_owned(),
        });
    }
    refusals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_lose_comments_and_spaces() {
        assert_eq!(entry(b"https://a.example\n"), Ok(Some("https://a.example")));
        assert_eq!(
            entry(b"  https://a.example   # tenant 7\r\n"),
            Ok(Some("https://a.example"))
        );
        assert_eq!(entry(b"# a comment\n"), Ok(None));
        assert_eq!(entry(b"   \t\r\n"), Ok(None));
        assert_eq!(entry(b""), Ok(None));
        assert_eq!(
            entry(b"https://\xffa.example\n"),
            Err("https://\u{fffd}a.example".to_owned())
        );
    }
}
