//! What each engine's console prints for a blocked request: the words a
//! developer searches for, so the model's must be the engine's own.

use http::StatusCode;

use super::engine::Engine;
use super::error::{Blocked, CorsFailure};
use super::request::Client;
use crate::protocol::is_token;

/// Where a blocked request stood: what an engine's console line names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Console<'a> {
    /// The engine that prints the line.
    pub engine: Engine,
    /// The script API.
    pub client: Client,
    /// The method of the blocked request.
    pub method: &'a str,
    /// The page's origin.
    pub origin: &'a str,
    /// The origin the failed request carried: the page's, or `null` once a
    /// redirect chain has tainted it (WebKit names this one).
    pub request_origin: &'a str,
    /// The URL of the blocked request (after redirects).
    pub url: &'a str,
    /// The URL the script called, when redirects led elsewhere.
    pub redirected_from: Option<&'a str>,
    /// The status of the response that failed, when there was one.
    pub status: Option<StatusCode>,
    /// Where the failed response redirected to, when the response that
    /// failed the CORS check was a redirect.
    pub redirect_to: Option<&'a str>,
}

impl<'a> Console<'a> {
    /// A request from `origin` to `url` by `client`, in `engine`, with no
    /// redirect and no status known.
    #[must_use]
    pub fn new(engine: Engine, client: Client, origin: &'a str, url: &'a str) -> Self {
        Console {
            engine,
            client,
            method: "GET",
            origin,
            request_origin: origin,
            url,
            redirected_from: None,
            status: None,
            redirect_to: None,
        }
    }
}

impl Blocked {
    /// The lines the engine's console prints for this refusal, joined by
    /// newlines: for Chromium `Access to fetch at 'https://api.example.com/me'
    /// from origin 'https://app.example.com' has been blocked by CORS
    /// policy: ...`.
    ///
    /// ```
    /// use corsair::browser::{Blocked, Client, Console, CorsFailure, Engine};
    ///
    /// let blocked = Blocked::Cors(CorsFailure::MissingAllowOrigin);
    /// let at = Console::new(Engine::Chromium, Client::Fetch, "https://app.example.com", "https://api.example.com/me");
    /// assert!(blocked.console(&at).ends_with(
    ///     "has been blocked by CORS policy: No 'Access-Control-Allow-Origin' header is present on the requested resource."
    /// ));
    /// ```
    #[must_use]
    pub fn console(&self, at: &Console<'_>) -> String {
        match at.engine {
            Engine::Chromium => chromium(self, at),
            Engine::Firefox => firefox(self, at),
            Engine::WebKit => webkit(self, at),
        }
    }

    /// Chromium's console line for a request from `origin` to `url` by
    /// `client`: [`Blocked::console`] without redirects or status.
    #[must_use]
    pub fn console_message(&self, url: &str, origin: &str, client: Client) -> String {
        self.console(&Console::new(Engine::Chromium, client, origin, url))
    }
}

fn api_name(client: Client) -> &'static str {
    match client {
        Client::Fetch => "fetch",
        Client::XmlHttpRequest => "XMLHttpRequest",
    }
}

fn about_credentials(blocked: &Blocked) -> bool {
    matches!(
        blocked,
        Blocked::Cors(
            CorsFailure::WildcardWithCredentials | CorsFailure::CredentialsNotTrue { .. }
        ) | Blocked::Preflight(
            CorsFailure::WildcardWithCredentials | CorsFailure::CredentialsNotTrue { .. }
        )
    )
}

fn chromium(blocked: &Blocked, at: &Console<'_>) -> String {
    if blocked.is_type_error() {
        return match at.client {
            Client::Fetch => format!(
                "TypeError: Failed to execute 'fetch' on 'Window': {}",
                blocked.reason()
            ),
            Client::XmlHttpRequest => format!("TypeError: {}", blocked.reason()),
        };
    }
    if matches!(
        blocked,
        Blocked::InvalidRedirect { .. } | Blocked::TooManyRedirects
    ) {
        return format!("{} {} {}", at.method, at.url, blocked.reason());
    }
    let redirected = at
        .redirected_from
        .map(|from| format!(" (redirected from '{from}')"))
        .unwrap_or_default();
    let mut message = format!(
        "Access to {} at '{}'{redirected} from origin '{}' has been blocked by CORS policy: {}",
        api_name(at.client),
        at.url,
        at.origin,
        blocked.reason()
    );
    if at.client == Client::XmlHttpRequest && about_credentials(blocked) {
        message.push_str(
            " The credentials mode of requests initiated by the XMLHttpRequest is controlled by \
             the withCredentials attribute.",
        );
    }
    message
}

/// The first element of a comma-separated header value that is not a
/// token: what Firefox names in "invalid token".
fn first_invalid_token(value: &str) -> &str {
    value
        .split(',')
        .map(|element| element.trim_matches([' ', '\t']))
        .find(|element| !element.is_empty() && !is_token(element.as_bytes()))
        .unwrap_or(value)
}

fn status_text(status: Option<StatusCode>) -> String {
    status.map_or_else(|| "(null)".to_owned(), |status| status.as_u16().to_string())
}

/// Firefox's lines (`security.properties`): the reason, then, for a
/// failure that ends the request before its response (a preflight, a
/// redirect, a network error), `CORS request did not succeed` with a
/// status of `(null)`.
fn firefox(blocked: &Blocked, at: &Console<'_>) -> String {
    const BLOCKED: &str = "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at";
    if blocked.is_type_error() {
        return format!("TypeError: {}", firefox_type_error(blocked, at));
    }
    let url = at.url;
    let status = status_text(at.status);
    let failure = |failure: &CorsFailure| match failure {
        CorsFailure::MissingAllowOrigin => format!(
            "{BLOCKED} {url}. (Reason: CORS header \u{2018}Access-Control-Allow-Origin\u{2019} missing). \
             Status code: {status}."
        ),
        // Firefox 153 joins several lines as Fetch does and reports the
        // result as a mismatch; its "Multiple CORS header" reason is never
        // printed (crates/e2e/tests/console.rs).
        CorsFailure::MultipleAllowOrigin { value }
        | CorsFailure::InvalidAllowOrigin { value }
        | CorsFailure::AllowOriginMismatch { value } => format!(
            "{BLOCKED} {url}. (Reason: CORS header \u{2018}Access-Control-Allow-Origin\u{2019} does not \
             match \u{2018}{value}\u{2019})."
        ),
        CorsFailure::WildcardWithCredentials => format!(
            "{BLOCKED} \u{2018}{url}\u{2019}. (Reason: Credential is not supported if the CORS header \
             \u{2018}Access-Control-Allow-Origin\u{2019} is \u{2018}*\u{2019})."
        ),
        CorsFailure::CredentialsNotTrue { .. } => format!(
            "{BLOCKED} {url}. (Reason: expected \u{2018}true\u{2019} in CORS header \
             \u{2018}Access-Control-Allow-Credentials\u{2019})."
        ),
    };
    let first = match blocked {
        Blocked::Cors(cors) | Blocked::Preflight(cors) => Some(failure(cors)),
        Blocked::PreflightStatus { .. } => Some(format!(
            "{BLOCKED} {url}. (Reason: CORS preflight response did not succeed). Status code: {status}."
        )),
        Blocked::PreflightRedirect { .. } => Some(format!(
            "{BLOCKED} {url}. (Reason: CORS request external redirect not allowed)."
        )),
        Blocked::InvalidAllowMethods { value } => Some(format!(
            "{BLOCKED} {url}. (Reason: invalid token \u{2018}{}\u{2019} in CORS header \
             \u{2018}Access-Control-Allow-Methods\u{2019}).",
            first_invalid_token(value)
        )),
        Blocked::InvalidAllowHeaders { value } => Some(format!(
            "{BLOCKED} {url}. (Reason: invalid token \u{2018}{}\u{2019} in CORS header \
             \u{2018}Access-Control-Allow-Headers\u{2019}).",
            first_invalid_token(value)
        )),
        Blocked::MethodNotAllowed { .. } => Some(format!(
            "{BLOCKED} {url}. (Reason: Did not find method in CORS header \
             \u{2018}Access-Control-Allow-Methods\u{2019})."
        )),
        Blocked::HeaderNotAllowed { name } => Some(format!(
            "{BLOCKED} {url}. (Reason: header \u{2018}{name}\u{2019} is not allowed according to header \
             \u{2018}Access-Control-Allow-Headers\u{2019} from CORS preflight response)."
        )),
        Blocked::RedirectScheme { .. } => {
            Some(format!("{BLOCKED} {url}. (Reason: CORS request not http)."))
        }
        _ => None,
    };
    // The actual response's own failure ends the story; anything that ended
    // the request before it is followed by the generic line.
    let ends_here = matches!(blocked, Blocked::Cors(_)) && at.redirect_to.is_none();
    let did_not_succeed =
        format!("{BLOCKED} {url}. (Reason: CORS request did not succeed). Status code: (null).");
    match first {
        Some(first) if ends_here => first,
        Some(first) => format!("{first}\n{did_not_succeed}"),
        None => did_not_succeed,
    }
}

/// What Firefox's `fetch` throws before sending anything (`Errors.msg`).
fn firefox_type_error(blocked: &Blocked, at: &Console<'_>) -> String {
    let api = match at.client {
        Client::Fetch => "Window.fetch: ",
        Client::XmlHttpRequest => "",
    };
    let what = match blocked {
        Blocked::InvalidUrl { url } => format!("{url} is not a valid URL."),
        Blocked::UnsupportedScheme { .. } => {
            return "NetworkError when attempting to fetch resource.".to_owned();
        }
        Blocked::CredentialsInUrl => format!("{} is an url with embedded credentials.", at.url),
        Blocked::InvalidMethod { method } | Blocked::ForbiddenMethod { method } => {
            format!("Invalid request method {method}.")
        }
        Blocked::InvalidHeader { name } => format!("{name} is an invalid header name."),
        Blocked::BodyWithGetOrHead => "HEAD or GET Request cannot have a body.".to_owned(),
        _ => blocked.reason(),
    };
    format!("{api}{what}")
}

/// WebKit's two lines: the reason (`CrossOriginAccessControl.cpp`,
/// `NetworkLoadChecker.cpp`), then `Fetch API cannot load URL due to access
/// control checks.` (`ThreadableLoader::logError`).
fn webkit(blocked: &Blocked, at: &Console<'_>) -> String {
    if blocked.is_type_error() {
        return format!("TypeError: {}", webkit_type_error(blocked));
    }
    let origin = at.request_origin;
    let status = status_text(at.status);
    let failure = |failure: &CorsFailure| match failure {
        CorsFailure::WildcardWithCredentials => {
            "Cannot use wildcard in Access-Control-Allow-Origin when credentials flag is true."
                .to_owned()
        }
        CorsFailure::MultipleAllowOrigin { value, .. } if value.contains(',') => {
            "Access-Control-Allow-Origin cannot contain more than one origin.".to_owned()
        }
        CorsFailure::CredentialsNotTrue { .. } => {
            "Credentials flag is true, but Access-Control-Allow-Credentials is not \"true\"."
                .to_owned()
        }
        CorsFailure::MissingAllowOrigin
        | CorsFailure::MultipleAllowOrigin { .. }
        | CorsFailure::InvalidAllowOrigin { .. }
        | CorsFailure::AllowOriginMismatch { .. } => format!(
            "Origin {origin} is not allowed by Access-Control-Allow-Origin. Status code: {status}"
        ),
    };
    let reason = match blocked {
        Blocked::Cors(cors) | Blocked::Preflight(cors) => failure(cors),
        Blocked::PreflightStatus { .. } => {
            format!("Preflight response is not successful. Status code: {status}")
        }
        Blocked::PreflightRedirect { .. } => "Preflight response is not successful".to_owned(),
        Blocked::InvalidAllowMethods { value } => {
            format!("Header Access-Control-Allow-Methods has an invalid value: {value}")
        }
        Blocked::InvalidAllowHeaders { value } => {
            format!("Header Access-Control-Allow-Headers has an invalid value: {value}")
        }
        Blocked::MethodNotAllowed { method } => {
            format!("Method {method} is not allowed by Access-Control-Allow-Methods.")
        }
        Blocked::HeaderNotAllowed { name } => {
            format!("Request header field {name} is not allowed by Access-Control-Allow-Headers.")
        }
        Blocked::RedirectScheme { location } => format!(
            "Cross-origin redirection to {location} denied by Cross-Origin Resource Sharing policy: \
             not allowed to follow a cross-origin CORS redirection with non CORS scheme"
        ),
        Blocked::RedirectCredentials { location } => format!(
            "Cross-origin redirection to {location} denied by Cross-Origin Resource Sharing policy: \
             redirection URL {location} has credentials"
        ),
        Blocked::TooManyRedirects => "Load cannot follow more than 20 redirections".to_owned(),
        _ => blocked.reason(),
    };
    let reason = match (blocked, at.redirect_to) {
        (Blocked::Cors(_), Some(location)) => format!(
            "Cross-origin redirection to {location} denied by Cross-Origin Resource Sharing policy: {reason}"
        ),
        _ => reason,
    };
    let api = match at.client {
        Client::Fetch => "Fetch API",
        Client::XmlHttpRequest => "XMLHttpRequest",
    };
    let access_control = !matches!(
        blocked,
        Blocked::TooManyRedirects | Blocked::InvalidRedirect { .. }
    );
    let ending = if access_control {
        " due to access control checks."
    } else {
        "."
    };
    format!("{reason}\n{api} cannot load {}{ending}", at.url)
}

/// What WebKit's `fetch` throws before sending anything.
fn webkit_type_error(blocked: &Blocked) -> String {
    match blocked {
        Blocked::InvalidUrl { .. } | Blocked::UnsupportedScheme { .. } => "Load failed".to_owned(),
        Blocked::CredentialsInUrl => "URL is not valid or contains user credentials.".to_owned(),
        Blocked::InvalidMethod { .. } => "Method is not a valid HTTP token.".to_owned(),
        Blocked::ForbiddenMethod { .. } => "Method is forbidden.".to_owned(),
        Blocked::InvalidHeader { .. } => "Invalid header name.".to_owned(),
        Blocked::BodyWithGetOrHead => "Request has method 'GET' and cannot have a body".to_owned(),
        _ => blocked.reason(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://api.example.com/me";
    const ORIGIN: &str = "https://app.example.com";

    fn at(engine: Engine) -> Console<'static> {
        Console::new(engine, Client::Fetch, ORIGIN, URL)
    }

    #[test]
    fn console_lines_read_as_chromiums() {
        let mismatch = Blocked::Cors(CorsFailure::AllowOriginMismatch {
            value: "https://app.example.com/".into(),
        });
        assert_eq!(
            mismatch.console_message(URL, ORIGIN, Client::Fetch),
            "Access to fetch at 'https://api.example.com/me' from origin 'https://app.example.com' has \
             been blocked by CORS policy: The 'Access-Control-Allow-Origin' header has a value \
             'https://app.example.com/' that is not equal to the supplied origin. Have the server send \
             the header with a valid value."
        );
        let wildcard = Blocked::Cors(CorsFailure::WildcardWithCredentials);
        let xhr = wildcard.console_message(URL, ORIGIN, Client::XmlHttpRequest);
        assert!(xhr.starts_with("Access to XMLHttpRequest at"));
        assert!(xhr.ends_with("is controlled by the withCredentials attribute."));
        assert!(
            !wildcard
                .console_message(URL, ORIGIN, Client::Fetch)
                .contains("withCredentials")
        );
        assert_eq!(
            Blocked::BodyWithGetOrHead.console_message(URL, ORIGIN, Client::Fetch),
            "TypeError: Failed to execute 'fetch' on 'Window': Request with GET/HEAD method cannot have body."
        );
        let redirected = Console {
            redirected_from: Some("https://api.example.com/old"),
            ..at(Engine::Chromium)
        };
        assert!(
            Blocked::Cors(CorsFailure::MissingAllowOrigin)
                .console(&redirected)
                .starts_with(
                    "Access to fetch at 'https://api.example.com/me' (redirected from \
                     'https://api.example.com/old') from origin"
                )
        );
    }

    #[test]
    fn firefox_words_each_reason_and_adds_a_line_when_the_request_did_not_succeed() {
        let with_status = Console {
            status: Some(StatusCode::OK),
            ..at(Engine::Firefox)
        };
        assert_eq!(
            Blocked::Cors(CorsFailure::MissingAllowOrigin).console(&with_status),
            "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource \
             at https://api.example.com/me. (Reason: CORS header \u{2018}Access-Control-Allow-Origin\u{2019} \
             missing). Status code: 200."
        );
        let two = Blocked::Cors(CorsFailure::MultipleAllowOrigin {
            value: "a, b".into(),
        });
        assert!(
            two.console(&with_status)
                .contains("does not match \u{2018}a, b\u{2019}")
        );
        let header = Blocked::HeaderNotAllowed {
            name: "x-api-key".into(),
        }
        .console(&at(Engine::Firefox));
        let lines: Vec<&str> = header.lines().collect();
        assert_eq!(lines.len(), 2, "{header}");
        assert!(lines[0].contains("(Reason: header \u{2018}x-api-key\u{2019} is not allowed"));
        assert!(lines[1].ends_with("(Reason: CORS request did not succeed). Status code: (null)."));
        assert!(
            Blocked::InvalidAllowMethods {
                value: "GET, PUT POST".into()
            }
            .console(&at(Engine::Firefox))
            .contains("invalid token \u{2018}PUT POST\u{2019}")
        );
    }

    #[test]
    fn webkit_prints_the_reason_then_what_could_not_load() {
        let with_status = Console {
            status: Some(StatusCode::NOT_FOUND),
            ..at(Engine::WebKit)
        };
        assert_eq!(
            Blocked::Cors(CorsFailure::MissingAllowOrigin).console(&with_status),
            "Origin https://app.example.com is not allowed by Access-Control-Allow-Origin. Status code: 404\n\
             Fetch API cannot load https://api.example.com/me due to access control checks."
        );
        assert!(
            Blocked::PreflightStatus {
                status: StatusCode::NOT_FOUND
            }
            .console(&with_status)
            .starts_with("Preflight response is not successful. Status code: 404\n")
        );
        let redirect = Console {
            redirect_to: Some("https://cdn.example.net/a"),
            ..with_status
        };
        assert!(
            Blocked::Cors(CorsFailure::CredentialsNotTrue {
                value: String::new()
            })
            .console(&redirect)
            .starts_with(
                "Cross-origin redirection to https://cdn.example.net/a denied by Cross-Origin Resource \
                 Sharing policy: Credentials flag is true"
            )
        );
    }
}
