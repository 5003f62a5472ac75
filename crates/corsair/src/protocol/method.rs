//! Methods: the safelisted ones, the forbidden ones and Fetch's normalisation.

/// Whether `method` is a CORS-safelisted method (`GET`, `HEAD`, `POST`),
/// compared byte for byte as Fetch does.
///
/// ```
/// use corsair::protocol::is_safelisted_method;
/// assert!(is_safelisted_method("POST"));
/// assert!(!is_safelisted_method("post")); // a browser normalises before asking
/// assert!(!is_safelisted_method("PUT"));
/// ```
#[must_use]
pub fn is_safelisted_method(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "POST")
}

/// Whether `method` is forbidden by Fetch (`CONNECT`, `TRACE`, `TRACK`, in
/// any case). Scripts cannot send these, and corsair refuses to allow them.
///
/// ```
/// use corsair::protocol::is_forbidden_method;
/// assert!(is_forbidden_method("TRACE") && is_forbidden_method("connect"));
/// assert!(!is_forbidden_method("DELETE"));
/// ```
#[must_use]
pub fn is_forbidden_method(method: &str) -> bool {
    ["CONNECT", "TRACE", "TRACK"]
        .iter()
        .any(|forbidden| method.eq_ignore_ascii_case(forbidden))
}

/// Fetch's method normalisation: a case-insensitive match of `DELETE`, `GET`,
/// `HEAD`, `OPTIONS`, `POST` or `PUT` becomes its uppercase form; every other
/// method is returned unchanged, so `patch` stays `patch`.
///
/// ```
/// use corsair::protocol::normalize_method;
/// assert_eq!(normalize_method("get"), "GET");
/// assert_eq!(normalize_method("Options"), "OPTIONS");
/// assert_eq!(normalize_method("patch"), "patch");
/// assert_eq!(normalize_method("PATCH"), "PATCH");
/// ```
#[must_use]
pub fn normalize_method(method: &str) -> &str {
    const NORMALISED: [&str; 6] = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];
    NORMALISED
        .into_iter()
        .find(|candidate| method.eq_ignore_ascii_case(candidate))
        .unwrap_or(method)
}
