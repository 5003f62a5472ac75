//! MIME types, parsed as WHATWG MIME Sniffing's "parse a MIME type" does.
//!
//! Fetch decides whether a `Content-Type` request header forces a preflight
//! by parsing it with this algorithm (and deliberately not with the more
//! forgiving "extract a MIME type"), so corsair implements it byte for byte.
//! The input is a header value: bytes, isomorphic-decoded, so a byte
//! `0x80..=0xFF` stands for the code point of the same number.

use super::token::{is_tchar, is_token};

/// A MIME type parsed by WHATWG MIME Sniffing's "parse a MIME type".
///
/// The type and subtype are lowercase tokens; parameter names are lowercase
/// tokens; parameter values keep their case, with quotes and escapes
/// resolved. Parameters that the algorithm drops (an invalid name or value,
/// an empty unquoted value, a repeated name) are simply absent.
///
/// ```
/// use corsair::protocol::MimeType;
///
/// let mime = MimeType::parse(b" Text/Plain ; charset=\"UTF-8\" ; charset=latin1").unwrap();
/// assert_eq!(mime.essence(), "text/plain");
/// assert_eq!(mime.parameter("charset"), Some("UTF-8")); // the first one wins
/// assert!(MimeType::parse(b"text/plain,application/json").is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MimeType {
    type_: String,
    subtype: String,
    /// In input order, names unique and lowercase.
    parameters: Vec<(String, String)>,
}

impl MimeType {
    /// Runs "parse a MIME type" on `input` (a header value, isomorphic-decoded).
    /// `None` is the algorithm's failure: an empty or non-token type, no `/`,
    /// an empty or non-token subtype. Parameters never cause a failure.
    ///
    /// ```
    /// use corsair::protocol::MimeType;
    ///
    /// assert!(MimeType::parse(b"multipart/form-data; boundary=something").is_some());
    /// assert!(MimeType::parse(b"text/plain;").is_some());
    /// assert!(MimeType::parse(b"/plain").is_none());
    /// assert!(MimeType::parse(b"text").is_none());
    /// assert!(MimeType::parse(b"text/").is_none());
    /// assert!(MimeType::parse(b"text /plain").is_none());
    /// ```
    #[must_use]
    pub fn parse(input: &[u8]) -> Option<MimeType> {
        let mut cursor = Cursor::new(trim_http_whitespace(input));

        let type_ = cursor.collect(|b| b != b'/');
        if !is_token(type_) || cursor.at_end() {
            return None;
        }
        cursor.advance(); // the `/`

        let subtype = trim_end_http_whitespace(cursor.collect(|b| b != b';'));
        if !is_token(subtype) {
            return None;
        }

        let mut mime = MimeType {
            type_: ascii_lowercase(type_),
            subtype: ascii_lowercase(subtype),
            parameters: Vec::new(),
        };
        while !cursor.at_end() {
            cursor.advance(); // the `;`
            cursor.collect(is_http_whitespace);
            let name = cursor.collect(|b| b != b';' && b != b'=');
            match cursor.peek() {
                Some(b';') => continue,
                Some(_) => cursor.advance(), // the `=`
                None => {}
            }
            if cursor.at_end() {
                break;
            }

            let value = if cursor.peek() == Some(b'"') {
                let (value, used) = collect_http_quoted_string(cursor.rest());
                cursor.skip(used);
                cursor.collect(|b| b != b';');
                value
            } else {
                let value = trim_end_http_whitespace(cursor.collect(|b| b != b';'));
                if value.is_empty() {
                    continue;
                }
                value.to_vec()
            };

            if is_token(name) && value.iter().all(|&b| is_quoted_string_token_byte(b)) {
                let name = ascii_lowercase(name);
                if mime.parameter(&name).is_none() {
                    mime.parameters.push((name, isomorphic_decode(&value)));
                }
            }
        }
        Some(mime)
    }

    /// The essence: `type/subtype`, lowercase, without parameters.
    ///
    /// ```
    /// use corsair::protocol::MimeType;
    /// let mime = MimeType::parse(b"TEXT/PLAIN;charset=utf-8").unwrap();
    /// assert_eq!(mime.essence(), "text/plain");
    /// ```
    #[must_use]
    pub fn essence(&self) -> String {
        format!("{}/{}", self.type_, self.subtype)
    }

    /// The type, lowercase (`text` in `text/plain`).
    ///
    /// ```
    /// use corsair::protocol::MimeType;
    /// assert_eq!(MimeType::parse(b"Text/Plain").unwrap().type_(), "text");
    /// ```
    #[must_use]
    pub fn type_(&self) -> &str {
        &self.type_
    }

    /// The subtype, lowercase (`plain` in `text/plain`).
    ///
    /// ```
    /// use corsair::protocol::MimeType;
    /// assert_eq!(MimeType::parse(b"Text/Plain").unwrap().subtype(), "plain");
    /// ```
    #[must_use]
    pub fn subtype(&self) -> &str {
        &self.subtype
    }

    /// The value of the parameter `name` (compared ASCII case-insensitively),
    /// with quotes and escapes resolved and case kept. Bytes `0x80..=0xFF` of
    /// the input appear as the code points `U+0080..=U+00FF`.
    ///
    /// ```
    /// use corsair::protocol::MimeType;
    /// let mime = MimeType::parse(br#"multipart/form-data; Boundary="a\"b""#).unwrap();
    /// assert_eq!(mime.parameter("boundary"), Some(r#"a"b"#));
    /// assert_eq!(mime.parameter("BOUNDARY"), Some(r#"a"b"#));
    /// assert_eq!(mime.parameter("charset"), None);
    /// ```
    #[must_use]
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Fetch's "collect an HTTP quoted string" with the extract-value flag, on
/// `input` starting at its opening `"`: the value with the quotes removed
/// and each `\x` replaced by `x`, and how many bytes of `input` were used
/// (through the closing quote, or all of them when it is missing; a `\` at
/// the very end stays a `\`).
pub(super) fn collect_http_quoted_string(input: &[u8]) -> (Vec<u8>, usize) {
    let mut cursor = Cursor::new(input);
    let mut value = Vec::new();
    cursor.advance(); // the opening `"`
    loop {
        value.extend_from_slice(cursor.collect(|b| b != b'"' && b != b'\\'));
        let Some(quote_or_backslash) = cursor.peek() else {
            break;
        };
        cursor.advance();
        if quote_or_backslash != b'\\' {
            break; // the closing `"`
        }
        match cursor.peek() {
            Some(escaped) => {
                value.push(escaped);
                cursor.advance();
            }
            None => {
                value.push(b'\\');
                break;
            }
        }
    }
    (value, cursor.position)
}

/// A position in a byte string, as the WHATWG algorithms use it. It never
/// moves past the end, so every read is in bounds.
struct Cursor<'a> {
    input: &'a [u8],
    position: usize,
}

impl<'a> Cursor<'a> {
    const fn new(input: &'a [u8]) -> Self {
        Cursor { input, position: 0 }
    }

    fn rest(&self) -> &'a [u8] {
        self.input.get(self.position..).unwrap_or_default()
    }

    fn at_end(&self) -> bool {
        self.rest().is_empty()
    }

    fn peek(&self) -> Option<u8> {
        self.rest().first().copied()
    }

    fn advance(&mut self) {
        self.skip(1);
    }

    fn skip(&mut self, count: usize) {
        self.position = self.position.saturating_add(count).min(self.input.len());
    }

    /// "Collect a sequence of code points" that satisfy `keep`.
    fn collect(&mut self, keep: impl Fn(u8) -> bool) -> &'a [u8] {
        let rest = self.rest();
        let length = rest.iter().position(|&b| !keep(b)).unwrap_or(rest.len());
        self.skip(length);
        rest.get(..length).unwrap_or_default()
    }
}

/// HTTP whitespace: LF, CR, HT and SP.
const fn is_http_whitespace(byte: u8) -> bool {
    matches!(byte, b'\n' | b'\r' | b'\t' | b' ')
}

/// An HTTP quoted-string token code point: HT, `0x20..=0x7E`, `0x80..=0xFF`.
const fn is_quoted_string_token_byte(byte: u8) -> bool {
    matches!(byte, b'\t' | 0x20..=0x7E | 0x80..=0xFF)
}

fn trim_http_whitespace(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| !is_http_whitespace(b))
        .unwrap_or(bytes.len());
    trim_end_http_whitespace(bytes.get(start..).unwrap_or_default())
}

fn trim_end_http_whitespace(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|&b| !is_http_whitespace(b))
        .map_or(0, |last| last + 1);
    bytes.get(..end).unwrap_or_default()
}

/// Lowercases a token (ASCII by construction).
fn ascii_lowercase(token: &[u8]) -> String {
    debug_assert!(token.iter().all(|&b| is_tchar(b)));
    isomorphic_decode(token).to_ascii_lowercase()
}

/// Infra's "isomorphic decode": each byte becomes the code point of the
/// same number.
fn isomorphic_decode(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &str) -> Option<MimeType> {
        MimeType::parse(input.as_bytes())
    }

    /// The parsed type serialised back to a comparable string, parameters
    /// in order, so each test shows the whole record.
    fn record(input: &[u8]) -> Option<String> {
        MimeType::parse(input).map(|mime| {
            let mut out = mime.essence();
            for (name, value) in &mime.parameters {
                out.push_str(&format!(";{name}={value:?}"));
            }
            out
        })
    }

    #[test]
    fn type_and_subtype_are_lowercased_tokens() {
        assert_eq!(record(b"text/plain").as_deref(), Some("text/plain"));
        assert_eq!(record(b"TEXT/PLAIN").as_deref(), Some("text/plain"));
        assert_eq!(
            record(b"Application/X-WWW-Form-URLencoded").as_deref(),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(record(b"*/*").as_deref(), Some("*/*"));
        assert_eq!(
            record(b"a!#$%&'*+-.^_`|~/z").as_deref(),
            Some("a!#$%&'*+-.^_`|~/z")
        );
        let mime = parse("Image/SVG+XML").unwrap();
        assert_eq!((mime.type_(), mime.subtype()), ("image", "svg+xml"));
    }

    #[test]
    fn surrounding_http_whitespace_is_removed() {
        assert_eq!(record(b" text/plain ").as_deref(), Some("text/plain"));
        assert_eq!(
            record(b"\r\n\t text/plain\t\r\n ").as_deref(),
            Some("text/plain")
        );
        assert_eq!(
            record(b"text/plain \t;a=b").as_deref(),
            Some("text/plain;a=\"b\"")
        );
        // Form feed and vertical tab are not HTTP whitespace.
        assert_eq!(record(b"\x0ctext/plain"), None);
        assert_eq!(record(b"text/plain\x0b"), None);
    }

    #[test]
    fn malformed_essences_fail() {
        for input in [
            "",
            " ",
            "/",
            "text",
            "text/",
            "/plain",
            "text /plain",
            "text/ plain",
            "text/pl ain",
            "te\"xt/plain",
            "text/plain/x",
            "text/plain,application/json",
            "text/plain, application/json",
            "text/(plain)",
            "text/plain@",
            "\u{e9}/plain",
            ";text/plain",
            "text;/plain",
            " /plain",
            "text/ ;charset=utf-8",
        ] {
            assert_eq!(parse(input), None, "{input:?}");
        }
        assert_eq!(MimeType::parse(b"text/pl\xe9in"), None);
    }

    #[test]
    fn unquoted_parameters() {
        assert_eq!(
            record(b"text/plain;charset=utf-8").as_deref(),
            Some("text/plain;charset=\"utf-8\"")
        );
        assert_eq!(
            record(b"text/plain; CharSet=UTF-8").as_deref(),
            Some("text/plain;charset=\"UTF-8\"")
        );
        assert_eq!(
            record(b"multipart/form-data; boundary=something").as_deref(),
            Some("multipart/form-data;boundary=\"something\"")
        );
        // Trailing whitespace of a value is removed, inner whitespace kept.
        assert_eq!(
            record(b"a/b;x=1 2 \t;y=3").as_deref(),
            Some("a/b;x=\"1 2\";y=\"3\"")
        );
        // `=` inside an unquoted value is part of it.
        assert_eq!(record(b"a/b;x=1=2").as_deref(), Some("a/b;x=\"1=2\""));
    }

    #[test]
    fn empty_and_valueless_parameters_are_skipped() {
        for input in [
            "text/plain;",
            "text/plain;;;",
            "text/plain; ",
            "text/plain;charset",
            "text/plain;charset=",
            "text/plain;charset= ",
            "text/plain;charset=;",
            "text/plain;=utf-8",
            "text/plain; =utf-8",
        ] {
            assert_eq!(
                record(input.as_bytes()).as_deref(),
                Some("text/plain"),
                "{input:?}"
            );
        }
        assert_eq!(
            record(b"text/plain;charset;a=b").as_deref(),
            Some("text/plain;a=\"b\"")
        );
    }

    #[test]
    fn invalid_names_and_values_are_dropped_not_fatal() {
        // A name with a space (not trimmed before `=`), a `/`, a non-ASCII byte.
        assert_eq!(record(b"a/b;x =1;y=2").as_deref(), Some("a/b;y=\"2\""));
        assert_eq!(record(b"a/b;x/y=1").as_deref(), Some("a/b"));
        assert_eq!(record(b"a/b;\xe9=1").as_deref(), Some("a/b"));
        // A value with a control byte; DEL is not a quoted-string code point.
        assert_eq!(record(b"a/b;x=1\x01;y=2").as_deref(), Some("a/b;y=\"2\""));
        assert_eq!(record(b"a/b;x=1\x7f").as_deref(), Some("a/b"));
        // Non-ASCII bytes are fine in values (isomorphic decoding).
        let mime = MimeType::parse(b"a/b;x=caf\xe9").unwrap();
        assert_eq!(mime.parameter("x"), Some("caf\u{e9}"));
    }

    #[test]
    fn the_first_of_duplicate_parameters_wins() {
        assert_eq!(
            record(b"text/plain;charset=a;CHARSET=b;charset=\"c\"").as_deref(),
            Some("text/plain;charset=\"a\"")
        );
        // A dropped first occurrence does not count as present.
        assert_eq!(
            record(b"text/plain;charset=;charset=b").as_deref(),
            Some("text/plain;charset=\"b\"")
        );
        assert_eq!(
            record(b"text/plain;charset=\x01;charset=b").as_deref(),
            Some("text/plain;charset=\"b\"")
        );
    }

    #[test]
    fn quoted_values() {
        assert_eq!(
            record(br#"text/plain; charset="utf-8""#).as_deref(),
            Some("text/plain;charset=\"utf-8\"")
        );
        assert_eq!(
            record(br#"multipart/form-data; boundary="x""#).as_deref(),
            Some("multipart/form-data;boundary=\"x\"")
        );
        // Escapes resolve to the escaped byte.
        assert_eq!(
            parse(r#"a/b;x="\"q\" \\ \a""#).unwrap().parameter("x"),
            Some(r#""q" \ a"#)
        );
        // An empty quoted value is kept (unlike an empty unquoted one).
        assert_eq!(parse(r#"a/b;x="""#).unwrap().parameter("x"), Some(""));
        // `;` inside quotes belongs to the value.
        assert_eq!(
            record(br#"a/b;x="1;2";y=3"#).as_deref(),
            Some("a/b;x=\"1;2\";y=\"3\"")
        );
        // Whitespace inside quotes is kept.
        assert_eq!(parse(r#"a/b;x=" 1 ""#).unwrap().parameter("x"), Some(" 1 "));
    }

    #[test]
    fn quoted_values_at_the_edges() {
        // Garbage after the closing quote is skipped up to the next `;`.
        assert_eq!(
            record(br#"text/html;charset="shift_jis"iso-2022-jp"#).as_deref(),
            Some("text/html;charset=\"shift_jis\"")
        );
        // No closing quote: the value runs to the end.
        assert_eq!(parse(r#"a/b;x="abc"#).unwrap().parameter("x"), Some("abc"));
        assert_eq!(parse(r#"a/b;x="abc;y=1"#).unwrap().parameter("y"), None);
        // A backslash at the very end stays a backslash.
        assert_eq!(
            parse(r#"a/b;x="abc\"#).unwrap().parameter("x"),
            Some("abc\\")
        );
        assert_eq!(parse(r#"a/b;x=""#).unwrap().parameter("x"), Some(""));
        // An escaped control byte makes the value invalid.
        assert_eq!(record(b"a/b;x=\"\\\x00\"").as_deref(), Some("a/b"));
        // A quote in the middle of an unquoted value is an ordinary byte.
        assert_eq!(
            parse(r#"a/b;x=1"2""#).unwrap().parameter("x"),
            Some(r#"1"2""#)
        );
    }

    #[test]
    fn quoted_string_collection_reports_what_it_used() {
        assert_eq!(
            collect_http_quoted_string(br#""ab"cd"#),
            (b"ab".to_vec(), 4)
        );
        assert_eq!(
            collect_http_quoted_string(br#""a\"b","#),
            (br#"a"b"#.to_vec(), 6)
        );
        assert_eq!(
            collect_http_quoted_string(br#""open"#),
            (b"open".to_vec(), 5)
        );
        assert_eq!(collect_http_quoted_string(br#""\"#), (b"\\".to_vec(), 2));
        assert_eq!(collect_http_quoted_string(b"\""), (Vec::new(), 1));
    }

    #[test]
    fn essence_and_accessors() {
        let mime = parse("Multipart/Form-Data; Boundary=AbC").unwrap();
        assert_eq!(mime.essence(), "multipart/form-data");
        assert_eq!(mime.type_(), "multipart");
        assert_eq!(mime.subtype(), "form-data");
        assert_eq!(mime.parameter("boundary"), Some("AbC"));
        assert_eq!(mime.parameter("Boundary"), Some("AbC"));
        assert_eq!(mime, parse("multipart/form-data;boundary=AbC").unwrap());
    }

    #[test]
    fn never_panics_on_short_inputs() {
        const ALPHABET: &[u8] = b"a/;=\" \\\t,\x00\xff\r";
        let mut inputs: Vec<Vec<u8>> = vec![Vec::new()];
        let mut last: Vec<Vec<u8>> = vec![Vec::new()];
        for _ in 0..3 {
            let next: Vec<Vec<u8>> = last
                .iter()
                .flat_map(|prefix| {
                    ALPHABET.iter().map(move |&b| {
                        let mut longer = prefix.clone();
                        longer.push(b);
                        longer
                    })
                })
                .collect();
            inputs.extend(next.iter().cloned());
            last = next;
        }
        let n = ALPHABET.len();
        assert_eq!(inputs.len(), 1 + n + n * n + n * n * n);
        for input in &inputs {
            if let Some(mime) = MimeType::parse(input) {
                // Whatever parses has token type and subtype.
                assert!(is_token(mime.type_().as_bytes()), "{input:?}");
                assert!(is_token(mime.subtype().as_bytes()), "{input:?}");
            }
            let _ = collect_http_quoted_string(input);
        }
    }
}
