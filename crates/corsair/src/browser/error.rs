//! Why a browser refuses a request, in the words of its console, with what
//! to change.

use std::fmt;

use http::StatusCode;

/// Why the CORS check (Fetch §CORS check) failed on a response.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CorsFailure {
    /// No `Access-Control-Allow-Origin`.
    MissingAllowOrigin,
    /// Several origins (several header lines, or a list in one).
    MultipleAllowOrigin {
        /// The combined value.
        value: String,
    },
    /// A value that is not an origin, `null` or `*`.
    InvalidAllowOrigin {
        /// The value.
        value: String,
    },
    /// An origin other than the page's.
    AllowOriginMismatch {
        /// The value.
        value: String,
    },
    /// `*` on a credentialed request.
    WildcardWithCredentials,
    /// A credentialed request without `Access-Control-Allow-Credentials: true`.
    CredentialsNotTrue {
        /// The value sent, empty when absent.
        value: String,
    },
}

impl fmt::Display for CorsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CorsFailure::MissingAllowOrigin => f.write_str(
                "No 'Access-Control-Allow-Origin' header is present on the requested resource.",
            ),
            CorsFailure::MultipleAllowOrigin { value } => write!(
                f,
                "The 'Access-Control-Allow-Origin' header contains multiple values '{value}', but only one \
                 is allowed. Have the server send the header with a valid value."
            ),
            CorsFailure::InvalidAllowOrigin { value } => write!(
                f,
                "The 'Access-Control-Allow-Origin' header contains the invalid value '{value}'. Have the \
                 server send the header with a valid value."
            ),
            CorsFailure::AllowOriginMismatch { value } => write!(
                f,
                "The 'Access-Control-Allow-Origin' header has a value '{value}' that is not equal to the \
                 supplied origin. Have the server send the header with a valid value."
            ),
            CorsFailure::WildcardWithCredentials => f.write_str(
                "The value of the 'Access-Control-Allow-Origin' header in the response must not be the \
                 wildcard '*' when the request's credentials mode is 'include'.",
            ),
            CorsFailure::CredentialsNotTrue { value } => write!(
                f,
                "The value of the 'Access-Control-Allow-Credentials' header in the response is '{value}' \
                 which must be 'true' when the request's credentials mode is 'include'."
            ),
        }
    }
}

impl CorsFailure {
    /// What to change on the server.
    #[must_use]
    pub fn fix(&self) -> String {
        match self {
            CorsFailure::MissingAllowOrigin => "answer with `Access-Control-Allow-Origin: <the page's origin>` \
                 (in corsair: add the origin to allow_origins; a refused origin gets no CORS headers)"
                .to_owned(),
            CorsFailure::MultipleAllowOrigin { .. } => {
                "send exactly one origin: echo the request's Origin when it is allowed, never a list \
                 (check that a proxy and the application do not both add the header)"
                    .to_owned()
            }
            CorsFailure::InvalidAllowOrigin { .. } => {
                "send the page's origin exactly as its Origin header reads (scheme://host[:port], no path \
                 or trailing slash), or `*`"
                    .to_owned()
            }
            CorsFailure::AllowOriginMismatch { .. } => {
                "echo the request's own Origin when it is allowed, byte for byte, instead of a fixed origin"
                    .to_owned()
            }
            CorsFailure::WildcardWithCredentials => {
                "with credentials, echo the request's exact origin instead of `*` (in corsair: list the \
                 origins in allow_origins with allow_credentials = true)"
                    .to_owned()
            }
            CorsFailure::CredentialsNotTrue { .. } => {
                "send `Access-Control-Allow-Credentials: true` (exactly `true`, lowercase, once) on the \
                 preflight and the actual response (in corsair: allow_credentials = true)"
                    .to_owned()
            }
        }
    }
}

/// Why a browser refuses a request: before sending it (a `TypeError` in the
/// script), at the preflight, or on the actual response. The `Display` is
/// the reason Chromium's console gives, followed by what to change.
///
/// ```
/// use corsair::browser::Blocked;
///
/// let blocked = Blocked::HeaderNotAllowed { name: "x-api-key".into() };
/// assert!(blocked.to_string().starts_with(
///     "Request header field x-api-key is not allowed by Access-Control-Allow-Headers in preflight response."
/// ));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Blocked {
    /// The URL does not parse.
    InvalidUrl {
        /// The URL as written.
        url: String,
    },
    /// The URL's scheme is not `http` or `https`.
    UnsupportedScheme {
        /// The scheme.
        scheme: String,
    },
    /// The URL holds a user name or password.
    CredentialsInUrl,
    /// The method is not a token.
    InvalidMethod {
        /// The method as written.
        method: String,
    },
    /// `CONNECT`, `TRACE` or `TRACK`.
    ForbiddenMethod {
        /// The method as written.
        method: String,
    },
    /// A header name or value a script cannot send.
    InvalidHeader {
        /// The header name as written.
        name: String,
    },
    /// A body on a `GET` or `HEAD` request.
    BodyWithGetOrHead,
    /// The preflight answer failed the CORS check.
    Preflight(CorsFailure),
    /// The preflight answer's status is not 2xx.
    PreflightStatus {
        /// The status.
        status: StatusCode,
    },
    /// The preflight answer is a redirect.
    PreflightRedirect {
        /// The status.
        status: StatusCode,
    },
    /// `Access-Control-Allow-Methods` is not a list of tokens.
    InvalidAllowMethods {
        /// The combined value.
        value: String,
    },
    /// `Access-Control-Allow-Headers` is not a list of tokens.
    InvalidAllowHeaders {
        /// The combined value.
        value: String,
    },
    /// The method is not in `Access-Control-Allow-Methods`.
    MethodNotAllowed {
        /// The (normalised) method.
        method: String,
    },
    /// A header is not in `Access-Control-Allow-Headers`.
    HeaderNotAllowed {
        /// The header name, lowercase.
        name: String,
    },
    /// The actual response, or a redirect on the way to it, failed the
    /// CORS check.
    Cors(CorsFailure),
    /// A redirect whose `Location` does not parse, or leads to a scheme
    /// other than `http(s)` on a same-origin request: a network error.
    InvalidRedirect {
        /// The `Location`, as sent.
        location: String,
    },
    /// A redirect of a CORS request to a scheme other than `http(s)`.
    RedirectScheme {
        /// The resolved `Location`.
        location: String,
    },
    /// A redirect of a CORS request to a URL holding a user name or
    /// password.
    RedirectCredentials {
        /// The resolved `Location`.
        location: String,
    },
    /// More than 20 redirects.
    TooManyRedirects,
}

impl Blocked {
    /// Whether the script sees a `TypeError` before anything is sent.
    #[must_use]
    pub fn is_type_error(&self) -> bool {
        matches!(
            self,
            Blocked::InvalidUrl { .. }
                | Blocked::UnsupportedScheme { .. }
                | Blocked::CredentialsInUrl
                | Blocked::InvalidMethod { .. }
                | Blocked::ForbiddenMethod { .. }
                | Blocked::InvalidHeader { .. }
                | Blocked::BodyWithGetOrHead
        )
    }

    /// Whether the browser refused to follow a redirect (the request and
    /// the redirect were sent; nothing more).
    #[must_use]
    pub fn is_redirect(&self) -> bool {
        matches!(
            self,
            Blocked::InvalidRedirect { .. }
                | Blocked::RedirectScheme { .. }
                | Blocked::RedirectCredentials { .. }
                | Blocked::TooManyRedirects
        )
    }

    /// Whether the browser refused at the preflight (the actual request was
    /// never sent).
    #[must_use]
    pub fn is_preflight(&self) -> bool {
        matches!(
            self,
            Blocked::Preflight(_)
                | Blocked::PreflightStatus { .. }
                | Blocked::PreflightRedirect { .. }
                | Blocked::InvalidAllowMethods { .. }
                | Blocked::InvalidAllowHeaders { .. }
                | Blocked::MethodNotAllowed { .. }
                | Blocked::HeaderNotAllowed { .. }
        )
    }

    /// The reason as Chromium's console words it (without the "Access to
    /// fetch at ..." preamble: see [`Blocked::console_message`]).
    #[must_use]
    pub fn reason(&self) -> String {
        const PREFLIGHT: &str = "Response to preflight request doesn't pass access control check:";
        match self {
            Blocked::InvalidUrl { url } => format!("Failed to parse URL from {url}"),
            Blocked::UnsupportedScheme { scheme } => {
                format!("URL scheme \"{scheme}\" is not supported.")
            }
            Blocked::CredentialsInUrl => {
                "Request cannot be constructed from a URL that includes credentials".to_owned()
            }
            Blocked::InvalidMethod { method } => format!("'{method}' is not a valid HTTP method."),
            Blocked::ForbiddenMethod { method } => format!("'{method}' HTTP method is unsupported."),
            Blocked::InvalidHeader { name } => {
                format!("'{name}' is not a valid HTTP header field name or value.")
            }
            Blocked::BodyWithGetOrHead => "Request with GET/HEAD method cannot have body.".to_owned(),
            Blocked::Preflight(failure) => format!("{PREFLIGHT} {failure}"),
            Blocked::PreflightStatus { .. } => format!("{PREFLIGHT} It does not have HTTP ok status."),
            Blocked::PreflightRedirect { .. } => {
                format!("{PREFLIGHT} Redirect is not allowed for a preflight request.")
            }
            Blocked::InvalidAllowMethods { .. } => {
                "Cannot parse Access-Control-Allow-Methods response header field in preflight response."
                    .to_owned()
            }
            Blocked::InvalidAllowHeaders { .. } => {
                "Cannot parse Access-Control-Allow-Headers response header field in preflight response."
                    .to_owned()
            }
            Blocked::MethodNotAllowed { method } => format!(
                "Method {method} is not allowed by Access-Control-Allow-Methods in preflight response."
            ),
            Blocked::HeaderNotAllowed { name } => format!(
                "Request header field {name} is not allowed by Access-Control-Allow-Headers in preflight response."
            ),
            Blocked::Cors(failure) => failure.to_string(),
            Blocked::InvalidRedirect { .. } => "net::ERR_INVALID_REDIRECT".to_owned(),
            Blocked::RedirectScheme { location } => format!(
                "Redirect location '{location}' has a disallowed scheme for cross-origin requests."
            ),
            Blocked::RedirectCredentials { location } => format!(
                "Redirect location '{location}' contains a username and password, which is disallowed for \
                 cross-origin requests."
            ),
            Blocked::TooManyRedirects => "net::ERR_TOO_MANY_REDIRECTS".to_owned(),
        }
    }

    /// What to change, on the server or in the script.
    #[must_use]
    pub fn fix(&self) -> String {
        match self {
            Blocked::InvalidUrl { .. } => "use an absolute http(s) URL, or a path".to_owned(),
            Blocked::UnsupportedScheme { .. } => "call the API over http or https".to_owned(),
            Blocked::CredentialsInUrl => {
                "send credentials in an Authorization header or a cookie, not in the URL".to_owned()
            }
            Blocked::InvalidMethod { .. } => "use a method name made of letters".to_owned(),
            Blocked::ForbiddenMethod { .. } => {
                "browsers never send CONNECT, TRACE or TRACK; use another method".to_owned()
            }
            Blocked::InvalidHeader { .. } => {
                "header names are tokens and values have no CR, LF or NUL".to_owned()
            }
            Blocked::BodyWithGetOrHead => "send the data with POST, PUT or PATCH".to_owned(),
            Blocked::Preflight(failure) | Blocked::Cors(failure) => failure.fix(),
            Blocked::PreflightStatus { status } => format!(
                "answer the OPTIONS preflight with a 2xx status, not {status}: let the CORS layer answer \
                 it before authentication or routing reject it (corsair answers 204)"
            ),
            Blocked::PreflightRedirect { status } => format!(
                "answer the OPTIONS preflight itself instead of redirecting it ({status}); call the final \
                 URL from the page"
            ),
            Blocked::InvalidAllowMethods { value } => format!(
                "list methods as comma-separated tokens in Access-Control-Allow-Methods (got '{value}')"
            ),
            Blocked::InvalidAllowHeaders { value } => format!(
                "list header names as comma-separated tokens in Access-Control-Allow-Headers (got '{value}')"
            ),
            Blocked::MethodNotAllowed { method } => format!(
                "add {method} to Access-Control-Allow-Methods, spelt exactly as the script sends it \
                 (in corsair: allow_methods)"
            ),
            Blocked::HeaderNotAllowed { name } => format!(
                "add {name} to Access-Control-Allow-Headers (in corsair: allow_headers), or stop sending it"
            ),
            Blocked::InvalidRedirect { location } => {
                format!("send an absolute or relative http(s) URL in Location (got '{location}')")
            }
            Blocked::RedirectScheme { .. } => {
                "redirect cross-origin requests to http or https URLs only".to_owned()
            }
            Blocked::RedirectCredentials { .. } => {
                "take the user name and password out of the Location URL".to_owned()
            }
            Blocked::TooManyRedirects => {
                "the redirects loop or chain more than 20 times: point the page at the final URL"
                    .to_owned()
            }
        }
    }
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} Fix: {}.", self.reason(), self.fix())
    }
}

impl std::error::Error for Blocked {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_a_fix_and_a_class() {
        let status = StatusCode::NOT_FOUND;
        let all = [
            Blocked::InvalidUrl { url: "x".into() },
            Blocked::UnsupportedScheme {
                scheme: "ftp".into(),
            },
            Blocked::CredentialsInUrl,
            Blocked::InvalidMethod {
                method: "A B".into(),
            },
            Blocked::ForbiddenMethod {
                method: "TRACE".into(),
            },
            Blocked::InvalidHeader { name: "x y".into() },
            Blocked::BodyWithGetOrHead,
            Blocked::Preflight(CorsFailure::MissingAllowOrigin),
            Blocked::PreflightStatus { status },
            Blocked::PreflightRedirect { status },
            Blocked::InvalidAllowMethods {
                value: "a b".into(),
            },
            Blocked::InvalidAllowHeaders {
                value: "a b".into(),
            },
            Blocked::MethodNotAllowed {
                method: "PUT".into(),
            },
            Blocked::HeaderNotAllowed { name: "x-a".into() },
            Blocked::Cors(CorsFailure::MissingAllowOrigin),
            Blocked::InvalidRedirect {
                location: "http://[".into(),
            },
            Blocked::RedirectScheme {
                location: "data:,".into(),
            },
            Blocked::RedirectCredentials {
                location: "https://u:p@b.example/".into(),
            },
            Blocked::TooManyRedirects,
        ];
        for blocked in all {
            assert!(!blocked.fix().is_empty());
            let classes = [
                blocked.is_type_error(),
                blocked.is_preflight(),
                blocked.is_redirect(),
                matches!(blocked, Blocked::Cors(_)),
            ];
            assert_eq!(classes.iter().filter(|c| **c).count(), 1, "{blocked:?}");
            assert!(blocked.to_string().contains(" Fix: "), "{blocked}");
        }
    }
}
