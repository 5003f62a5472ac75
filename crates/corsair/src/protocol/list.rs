//! Bounded parsing of comma-separated token lists such as
//! `Access-Control-Request-Headers`.
//!
//! The grammar is `#token` of RFC 9110: elements separated by commas, each
//! with optional spaces or tabs around it; empty elements are ignored, as
//! Fetch's "extract header list values" does. A list may span several header
//! lines; the limits apply to all of them together. Parsing is one pass over
//! the bytes, never allocates, and stops at the first limit crossed, so a
//! megabyte of commas or spaces is refused after reading its length.

use std::fmt;

use super::token::is_tchar;

/// Bounds on a header list. Anything beyond them is refused, not truncated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListLimits {
    /// The most bytes, over all the lines of the list.
    pub max_bytes: usize,
    /// The most elements, empty ones included.
    pub max_elements: usize,
    /// The most bytes of spaces and tabs around the elements.
    pub max_whitespace: usize,
}

impl ListLimits {
    /// The limits corsair applies to `Access-Control-Request-Headers`:
    /// 4096 bytes, 64 elements, 128 bytes of whitespace. Browsers send the
    /// list without any whitespace, and no real page sends 64 custom headers.
    pub const REQUEST_HEADERS: ListLimits = ListLimits {
        max_bytes: 4096,
        max_elements: 64,
        max_whitespace: 128,
    };
}

/// Why a header list was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListError {
    /// The list is longer than [`ListLimits::max_bytes`].
    TooLong {
        /// The limit crossed.
        max: usize,
    },
    /// The list has more elements than [`ListLimits::max_elements`].
    TooManyElements {
        /// The limit crossed.
        max: usize,
    },
    /// The list has more whitespace than [`ListLimits::max_whitespace`].
    TooMuchWhitespace {
        /// The limit crossed.
        max: usize,
    },
    /// An element is not an RFC 9110 token (it holds a space, a `/`, a
    /// quote, a non-ASCII byte...).
    NotAToken {
        /// Zero-based position of the element in the whole list.
        index: usize,
    },
}

impl fmt::Display for ListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListError::TooLong { max } => write!(f, "the list is longer than {max} bytes"),
            ListError::TooManyElements { max } => {
                write!(f, "the list has more than {max} elements")
            }
            ListError::TooMuchWhitespace { max } => {
                write!(f, "the list has more than {max} bytes of whitespace")
            }
            ListError::NotAToken { index } => write!(f, "element {index} is not a token"),
        }
    }
}

impl std::error::Error for ListError {}

/// A bounded parser for a token list that may span several header lines.
///
/// ```
/// use corsair::protocol::{ListLimits, TokenList};
///
/// let mut list = TokenList::new(ListLimits::REQUEST_HEADERS);
/// let names: Result<Vec<&str>, _> = list.line(b"content-type, X-Api-Key,,").unwrap().collect();
/// assert_eq!(names.unwrap(), ["content-type", "X-Api-Key"]);
///
/// let mut list = TokenList::new(ListLimits::REQUEST_HEADERS);
/// let huge = vec![b','; 1 << 20];
/// assert!(list.line(&huge).is_err()); // refused from its length alone
/// ```
#[derive(Clone, Debug)]
pub struct TokenList {
    limits: ListLimits,
    bytes: usize,
    elements: usize,
    whitespace: usize,
}

impl TokenList {
    /// A parser with nothing read yet.
    #[must_use]
    pub const fn new(limits: ListLimits) -> Self {
        TokenList {
            limits,
            bytes: 0,
            elements: 0,
            whitespace: 0,
        }
    }

    /// Starts reading one more line of the list, refusing it at once when the
    /// lines read so far and this one exceed [`ListLimits::max_bytes`].
    ///
    /// # Errors
    /// [`ListError::TooLong`] when the list is now too long.
    pub fn line<'a>(&mut self, line: &'a [u8]) -> Result<Elements<'a, '_>, ListError> {
        self.bytes = self.bytes.saturating_add(line.len());
        if self.bytes > self.limits.max_bytes {
            return Err(ListError::TooLong {
                max: self.limits.max_bytes,
            });
        }
        Ok(Elements {
            rest: Some(line),
            list: self,
        })
    }
}

/// The elements of one line of a [`TokenList`], as `&str`; after the first
/// error, the iterator ends.
#[derive(Debug)]
pub struct Elements<'a, 'p> {
    rest: Option<&'a [u8]>,
    list: &'p mut TokenList,
}

impl<'a> Elements<'a, '_> {
    fn fail(&mut self, error: ListError) -> Option<Result<&'a [u8], ListError>> {
        self.rest = None;
        Some(Err(error))
    }
}

impl<'a> Elements<'a, '_> {
    /// The next element as bytes: what [`Iterator::next`] yields, without
    /// the conversion to `&str` (a token is ASCII, so that conversion can
    /// wait until a caller needs text, as when it names a refused header).
    pub(crate) fn next_bytes(&mut self) -> Option<Result<&'a [u8], ListError>> {
        loop {
            let rest = self.rest?;
            let index = self.list.elements;
            self.list.elements += 1;
            if self.list.elements > self.list.limits.max_elements {
                let max = self.list.limits.max_elements;
                return self.fail(ListError::TooManyElements { max });
            }

            // One pass over the usual shape, `OWS token OWS` then a comma or
            // the end. Anything else (a byte that is neither) goes to
            // `irregular`, which reads the element as the grammar says.
            let leading = count_ows(rest);
            let after_leading = rest.get(leading..).unwrap_or_default();
            let length = after_leading.iter().take_while(|&&b| is_tchar(b)).count();
            let (token, after_token) = after_leading.split_at_checked(length).unwrap_or_default();
            let trailing = count_ows(after_token);
            let after = after_token.get(trailing..).unwrap_or_default();
            self.rest = match after.split_first() {
                None => None,
                Some((b',', tail)) => Some(tail),
                Some(_) => return self.irregular(rest, index),
            };

            self.list.whitespace += leading + trailing;
            if self.list.whitespace > self.list.limits.max_whitespace {
                let max = self.list.limits.max_whitespace;
                return self.fail(ListError::TooMuchWhitespace { max });
            }
            if !token.is_empty() {
                return Some(Ok(token));
            }
        }
    }

    /// An element holding a byte that is neither a `tchar` nor whitespace
    /// (already counted): the whitespace around it still counts against its
    /// limit first, then it is refused as not a token.
    fn irregular(&mut self, rest: &'a [u8], index: usize) -> Option<Result<&'a [u8], ListError>> {
        let element = match rest.iter().position(|&b| b == b',') {
            Some(comma) => rest.get(..comma).unwrap_or(rest),
            None => rest,
        };
        let trimmed = trim_ows(element);
        self.list.whitespace += element.len() - trimmed.len();
        if self.list.whitespace > self.list.limits.max_whitespace {
            let max = self.list.limits.max_whitespace;
            return self.fail(ListError::TooMuchWhitespace { max });
        }
        self.fail(ListError::NotAToken { index })
    }
}

impl<'a> Iterator for Elements<'a, '_> {
    type Item = Result<&'a str, ListError>;

    fn next(&mut self) -> Option<Self::Item> {
        let index = self.list.elements;
        Some(self.next_bytes()?.and_then(|token| {
            // Every `tchar` is ASCII, so this never fails.
            std::str::from_utf8(token).map_err(|_| ListError::NotAToken { index })
        }))
    }
}

/// The number of spaces and tabs (RFC 9110 `OWS`) `bytes` starts with.
fn count_ows(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count()
}

/// `bytes` without the spaces and tabs (RFC 9110 `OWS`) at either end.
fn trim_ows(bytes: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    bytes.get(start..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(lines: &[&[u8]], limits: ListLimits) -> Result<Vec<String>, ListError> {
        let mut list = TokenList::new(limits);
        let mut out = Vec::new();
        for line in lines {
            for element in list.line(line)? {
                out.push(element?.to_owned());
            }
        }
        Ok(out)
    }

    fn request_headers(lines: &[&[u8]]) -> Result<Vec<String>, ListError> {
        parse(lines, ListLimits::REQUEST_HEADERS)
    }

    #[test]
    fn browser_form_and_optional_whitespace() {
        assert_eq!(
            request_headers(&[b"content-type,x-api-key"]).unwrap(),
            ["content-type", "x-api-key"]
        );
        assert_eq!(
            request_headers(&[b" content-type ,\tx-api-key\t"]).unwrap(),
            ["content-type", "x-api-key"]
        );
    }

    #[test]
    fn empty_elements_and_lines_are_ignored() {
        assert_eq!(request_headers(&[b""]).unwrap(), Vec::<String>::new());
        assert_eq!(request_headers(&[b",,a,,"]).unwrap(), ["a"]);
        assert_eq!(request_headers(&[b"a", b"", b"b"]).unwrap(), ["a", "b"]);
    }

    #[test]
    fn elements_must_be_tokens() {
        assert_eq!(
            request_headers(&[b"a, b c"]),
            Err(ListError::NotAToken { index: 1 })
        );
        assert_eq!(
            request_headers(&[b"x-\xc3\xa9"]),
            Err(ListError::NotAToken { index: 0 })
        );
        assert_eq!(
            request_headers(&[b"a", b"b/c"]),
            Err(ListError::NotAToken { index: 1 })
        );
    }

    #[test]
    fn limits_hold_across_lines() {
        let limits = ListLimits {
            max_bytes: 8,
            max_elements: 3,
            max_whitespace: 2,
        };
        assert!(parse(&[b"abcd", b"efgh"], limits).is_ok());
        assert_eq!(
            parse(&[b"abcd", b"efghi"], limits),
            Err(ListError::TooLong { max: 8 })
        );
        assert_eq!(
            parse(&[b"a,b", b"c,d"], limits),
            Err(ListError::TooManyElements { max: 3 })
        );
        assert_eq!(
            parse(&[b"a ", b" b ,c"], limits),
            Err(ListError::TooMuchWhitespace { max: 2 })
        );
    }

    #[test]
    fn a_megabyte_of_commas_or_spaces_is_refused_by_its_length() {
        for filler in [b',', b' '] {
            let huge = vec![filler; 1 << 20];
            let mut list = TokenList::new(ListLimits::REQUEST_HEADERS);
            assert_eq!(
                list.line(&huge).err(),
                Some(ListError::TooLong { max: 4096 })
            );
        }
    }

    #[test]
    fn commas_and_spaces_within_the_length_hit_the_other_limits() {
        assert_eq!(
            request_headers(&[&[b','; 4000]]),
            Err(ListError::TooManyElements { max: 64 })
        );
        assert_eq!(
            request_headers(&[&[b' '; 4000]]),
            Err(ListError::TooMuchWhitespace { max: 128 })
        );
    }
}
