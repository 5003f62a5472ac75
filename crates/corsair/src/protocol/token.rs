//! RFC 9110 `token`: the grammar of method names and header field names.

/// Whether `byte` is a `tchar` of RFC 9110 §5.6.2:
/// `!#$%&'*+-.^_`|~`, a digit or an ASCII letter.
///
/// ```
/// use corsair::protocol::is_tchar;
/// assert!(is_tchar(b'x') && is_tchar(b'-') && is_tchar(b'*'));
/// assert!(!is_tchar(b' ') && !is_tchar(b',') && !is_tchar(b'/'));
/// ```
#[must_use]
#[inline]
#[allow(clippy::indexing_slicing, reason = "a byte indexes a 256-entry table")]
pub const fn is_tchar(byte: u8) -> bool {
    TCHAR[byte as usize]
}

/// [`is_tchar`] as a table: one load per byte where the range tests cost a
/// dozen instructions, on the path every preflight's header list takes.
#[allow(clippy::indexing_slicing, reason = "the loop stays below 256")]
static TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = matches!(byte as u8,
            b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.'
            | b'^' | b'_' | b'`' | b'|' | b'~'
            | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z');
        byte += 1;
    }
    table
};

/// Whether `bytes` is a non-empty RFC 9110 `token` (`1*tchar`).
///
/// ```
/// use corsair::protocol::is_token;
/// assert!(is_token(b"x-request-id"));
/// assert!(is_token(b"PATCH"));
/// assert!(!is_token(b""));
/// assert!(!is_token(b"x request"));
/// assert!(!is_token("caf\u{e9}".as_bytes()));
/// ```
#[must_use]
pub fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|&b| is_tchar(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tchar_matches_the_rfc_9110_set_exactly() {
        let rfc: Vec<u8> =
            b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                .to_vec();
        for byte in 0..=255u8 {
            assert_eq!(is_tchar(byte), rfc.contains(&byte), "byte {byte:#04x}");
        }
    }
}
