//! The bounded token-list parser behind `Access-Control-Request-Headers`.
//!
//! Input: the header's lines, separated by `\n`, read with corsair's limits
//! for the header; or, when the input starts with `~`, three bytes of small
//! limits (bytes, elements, whitespace) and then the lines, so that every
//! limit is crossed often. The parser's output must equal a plain reading of
//! the grammar (the reference below), never yield more elements than the
//! limit, and stop at its first error.

#![no_main]

use corsair::protocol::{ListError, ListLimits, TokenList, is_token};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (limits, rest) = match data {
        [b'~', bytes, elements, whitespace, rest @ ..] => (
            ListLimits {
                max_bytes: usize::from(*bytes),
                max_elements: usize::from(*elements % 32),
                max_whitespace: usize::from(*whitespace % 32),
            },
            rest,
        ),
        _ => (ListLimits::REQUEST_HEADERS, data),
    };
    let lines: Vec<&[u8]> = rest.split(|&b| b == b'\n').collect();
    assert_eq!(parse(&lines, limits), reference(&lines, limits));
});

/// What corsair's parser yields, up to and including its first error.
fn parse(lines: &[&[u8]], limits: ListLimits) -> Vec<Result<Vec<u8>, ListError>> {
    let mut list = TokenList::new(limits);
    let mut out = Vec::new();
    let mut yielded = 0usize;
    for line in lines {
        let mut elements = match list.line(line) {
            Ok(elements) => elements,
            Err(error) => {
                out.push(Err(error));
                return out;
            }
        };
        for element in elements.by_ref() {
            match element {
                Ok(name) => {
                    yielded += 1;
                    assert!(
                        yielded <= limits.max_elements,
                        "more elements than the limit"
                    );
                    assert!(is_token(name.as_bytes()));
                    out.push(Ok(name.as_bytes().to_vec()));
                }
                Err(error) => {
                    out.push(Err(error));
                    // After an error the iterator is done.
                    assert!(elements.next().is_none(), "elements after an error");
                    return out;
                }
            }
        }
    }
    out
}

/// The grammar read literally: every line's bytes count toward the length,
/// every comma-separated element (empty ones too) toward the element count,
/// the spaces and tabs around an element toward the whitespace; an empty
/// element is skipped, anything else must be a token.
fn reference(lines: &[&[u8]], limits: ListLimits) -> Vec<Result<Vec<u8>, ListError>> {
    let mut out = Vec::new();
    let (mut bytes, mut elements, mut whitespace) = (0usize, 0usize, 0usize);
    for line in lines {
        bytes += line.len();
        if bytes > limits.max_bytes {
            out.push(Err(ListError::TooLong {
                max: limits.max_bytes,
            }));
            return out;
        }
        for element in line.split(|&b| b == b',') {
            let index = elements;
            elements += 1;
            if elements > limits.max_elements {
                out.push(Err(ListError::TooManyElements {
                    max: limits.max_elements,
                }));
                return out;
            }
            let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
            let start = element.iter().position(|b| !is_ows(b));
            let trimmed = match start {
                None => &element[..0],
                Some(start) => {
                    let end = element.iter().rposition(|b| !is_ows(b)).unwrap_or(start);
                    &element[start..=end]
                }
            };
            whitespace += element.len() - trimmed.len();
            if whitespace > limits.max_whitespace {
                out.push(Err(ListError::TooMuchWhitespace {
                    max: limits.max_whitespace,
                }));
                return out;
            }
            if trimmed.is_empty() {
                continue;
            }
            let token = trimmed
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !token {
                out.push(Err(ListError::NotAToken { index }));
                return out;
            }
            out.push(Ok(trimmed.to_vec()));
        }
    }
    out
}
