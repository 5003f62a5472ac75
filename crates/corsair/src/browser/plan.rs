//! Request planning (Fetch §Main fetch, §HTTP fetch, §CORS-preflight
//! fetch): is the request cross-origin, does it need a preflight, and what
//! exactly does the browser send.

use http::header::{
    ACCEPT, ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, AUTHORIZATION,
    CONTENT_ENCODING, CONTENT_LANGUAGE, CONTENT_LOCATION, CONTENT_TYPE, HeaderName, HeaderValue,
    ORIGIN, USER_AGENT,
};
use http::{HeaderMap, Method, StatusCode};
use url::Url;

use super::error::Blocked;
use super::profile::{Profile, RedirectPreflight};
use super::request::{CorsRequest, Credentials};
use crate::protocol::{
    cors_unsafe_request_header_names, is_forbidden_method, is_forbidden_request_header_pair,
    is_safelisted_method, is_token, normalize_method,
};

/// The page a script runs on: its origin decides what is cross-origin and
/// what `Origin` says.
///
/// ```
/// use corsair::browser::{CorsRequest, Credentials, Page, Profile};
///
/// let page = Page::new("https://app.example.com/settings")?;
/// let plan = page.plan(
///     &CorsRequest::new("PUT", "https://api.example.com/items/1")
///         .header("Content-Type", "application/json")
///         .credentials(Credentials::Include),
///     &Profile::default(),
/// )?;
/// assert!(plan.cross_origin);
/// let preflight = plan.preflight.as_ref().expect("PUT with JSON needs a preflight");
/// assert_eq!(preflight.method, "PUT");
/// assert_eq!(preflight.headers, ["content-type"]);
/// # Ok::<(), corsair::browser::Blocked>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    origin: String,
    base: Option<Url>,
}

impl Page {
    /// A page at `url` (any URL of the page's origin will do).
    ///
    /// # Errors
    /// [`Blocked::InvalidUrl`] when `url` does not parse.
    pub fn new(url: &str) -> Result<Self, Blocked> {
        let base = Url::parse(url).map_err(|_| Blocked::InvalidUrl {
            url: url.to_owned(),
        })?;
        Ok(Page {
            origin: base.origin().ascii_serialization(),
            base: Some(base),
        })
    }

    /// A page with an opaque origin, whose requests say `Origin: null`: a
    /// sandboxed iframe, a `data:` or `file:` document.
    #[must_use]
    pub fn opaque() -> Self {
        Page {
            origin: "null".to_owned(),
            base: None,
        }
    }

    /// The serialised origin, as the `Origin` header carries it.
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Plans `request` as a browser would, without sending anything.
    ///
    /// # Errors
    /// The `TypeError` a script would get: an invalid URL, method or header,
    /// a forbidden method, credentials in the URL, a body on `GET`.
    pub fn plan(&self, request: &CorsRequest, profile: &Profile) -> Result<Plan, Blocked> {
        let url = match &self.base {
            Some(base) => base.join(&request.url),
            None => Url::parse(&request.url),
        }
        .map_err(|_| Blocked::InvalidUrl {
            url: request.url.clone(),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Blocked::UnsupportedScheme {
                scheme: url.scheme().to_owned(),
            });
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Blocked::CredentialsInUrl);
        }

        if !is_token(request.method.as_bytes()) {
            return Err(Blocked::InvalidMethod {
                method: request.method.clone(),
            });
        }
        if is_forbidden_method(&request.method) {
            return Err(Blocked::ForbiddenMethod {
                method: request.method.clone(),
            });
        }
        let method = normalize_method(&request.method).to_owned();
        if matches!(method.as_str(), "GET" | "HEAD") && !request.body.is_empty() {
            return Err(Blocked::BodyWithGetOrHead);
        }

        let (headers, dropped_headers) = author_headers(request, profile)?;
        let cross_origin = !self.same_origin(&url);
        Ok(self.hop(
            Target {
                url,
                method,
                headers,
                cors: cross_origin,
                tainted_origin: false,
            },
            request.credentials,
            request.force_preflight,
            dropped_headers,
            profile,
        ))
    }

    /// The plan of the request a browser makes when the answer to `plan`'s
    /// request is a redirect (`status`, with `Location: location`), as
    /// Fetch's HTTP-redirect fetch and main fetch make it: the new URL
    /// resolved against the old, `POST` turned into `GET` where the status
    /// says so (dropping the body's headers), `Authorization` dropped on a
    /// hop to another origin, `Origin: null` once the chain has gone from one
    /// origin to another that is not the page's, and a preflight of its own
    /// where the new request needs one.
    ///
    /// ```
    /// use corsair::browser::{CorsRequest, Page, Profile};
    /// use http::StatusCode;
    ///
    /// let page = Page::new("https://app.example.com")?;
    /// let profile = Profile::default();
    /// let first = page.plan(&CorsRequest::get("https://api.example.com/a"), &profile)?;
    /// let second = page.follow(&first, StatusCode::FOUND, "https://cdn.example.net/a", &profile)?;
    /// assert_eq!(second.url.as_str(), "https://cdn.example.net/a");
    /// assert!(second.tainted_origin);
    /// assert_eq!(second.origin, "null"); // a hop from one foreign origin to another
    /// # Ok::<(), corsair::browser::Blocked>(())
    /// ```
    ///
    /// # Errors
    /// The network error the script gets: a `Location` that does not parse
    /// or is not `http(s)`, or one that holds a user name or password where
    /// CORS applies.
    pub fn follow(
        &self,
        plan: &Plan,
        status: StatusCode,
        location: &str,
        profile: &Profile,
    ) -> Result<Plan, Blocked> {
        let invalid = || Blocked::InvalidRedirect {
            location: location.to_owned(),
        };
        let mut url = plan.url.join(location).map_err(|_| invalid())?;
        if url.fragment().is_none() {
            url.set_fragment(plan.url.fragment());
        }
        if !matches!(url.scheme(), "http" | "https") {
            return Err(if plan.cross_origin {
                Blocked::RedirectScheme {
                    location: url.to_string(),
                }
            } else {
                invalid()
            });
        }
        let has_credentials = !url.username().is_empty() || url.password().is_some();
        let refused =
            plan.cross_origin || !self.same_origin(&url) || profile.refuses_any_userinfo_redirect;
        if has_credentials && refused {
            return Err(Blocked::RedirectCredentials {
                location: url.to_string(),
            });
        }
        let mut method = plan.method.clone();
        let mut headers = plan.headers.clone();
        let to_get = match status.as_u16() {
            301 | 302 => method == "POST",
            303 => !matches!(method.as_str(), "GET" | "HEAD"),
            _ => false,
        };
        if to_get {
            method = "GET".to_owned();
            for name in [
                CONTENT_ENCODING,
                CONTENT_LANGUAGE,
                CONTENT_LOCATION,
                CONTENT_TYPE,
            ] {
                headers.remove(name);
            }
        }
        let from = plan.url.origin();
        let to = url.origin();
        let before_stripping = headers.clone();
        if from != to {
            headers.remove(AUTHORIZATION);
        }
        let page_to_from = self.base.as_ref().is_some_and(|base| base.origin() == from);
        let tainted_origin = plan.tainted_origin || (from != to && !page_to_from);
        let cors = plan.cross_origin || !self.same_origin(&url);
        let mut next = self.hop(
            Target {
                url,
                method,
                headers,
                cors,
                tainted_origin,
            },
            plan.credentials_mode,
            plan.forced_preflight,
            plan.dropped_headers.clone(),
            profile,
        );
        if !next.cross_origin {
            return Ok(next);
        }
        // How each engine preflights the new request, where it departs
        // from Fetch (the e2e suite's redirect scenarios show each case).
        let preflight = |origin: &str, names: Vec<String>| PreflightRequest {
            url: next.url.clone(),
            origin: origin.to_owned(),
            method: next.method.clone(),
            headers: names,
        };
        match profile.redirect_preflight {
            RedirectPreflight::Fetch => {}
            RedirectPreflight::PageOrigin => {
                if next.preflight.is_some() || plan.preflight.is_some() {
                    next.preflight = Some(preflight(&self.origin, next.unsafe_headers.clone()));
                }
            }
            RedirectPreflight::NamesStrippedHeaders => {
                let names = cors_unsafe_request_header_names(
                    before_stripping
                        .iter()
                        .map(|(name, value)| (name.as_str(), value.as_bytes())),
                    profile.safelist,
                );
                if names != next.unsafe_headers && (!names.is_empty() || next.preflight.is_some()) {
                    next.preflight = Some(preflight(&next.origin, names));
                }
            }
        }
        Ok(next)
    }

    /// Whether `url` is on the page's origin (never, for an opaque page).
    fn same_origin(&self, url: &Url) -> bool {
        self.base.is_some() && url.origin().ascii_serialization() == self.origin
    }

    /// The plan of one request of a chain: the first, or one after a
    /// redirect.
    fn hop(
        &self,
        target: Target,
        credentials_mode: Credentials,
        force_preflight: bool,
        dropped_headers: Vec<String>,
        profile: &Profile,
    ) -> Plan {
        let Target {
            url,
            method,
            headers,
            cors,
            tainted_origin,
        } = target;
        // Fetch: credentials go with `include`, and with `same-origin` while
        // no hop has needed CORS.
        let credentials = match credentials_mode {
            Credentials::Include => true,
            Credentials::SameOrigin => !cors,
            Credentials::Omit => false,
        };
        let unsafe_headers = cors_unsafe_request_header_names(
            headers
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_bytes())),
            profile.safelist,
        );
        let origin = if tainted_origin {
            "null".to_owned()
        } else {
            self.origin.clone()
        };
        let needs_preflight = cors
            && (force_preflight || !is_safelisted_method(&method) || !unsafe_headers.is_empty());
        let preflight = needs_preflight.then(|| PreflightRequest {
            url: url.clone(),
            origin: origin.clone(),
            method: method.clone(),
            headers: unsafe_headers.clone(),
        });
        Plan {
            url,
            origin,
            tainted_origin,
            method,
            headers,
            dropped_headers,
            cross_origin: cors,
            credentials_mode,
            credentials,
            unsafe_headers,
            preflight,
            forced_preflight: force_preflight,
        }
    }
}

/// What changes from one request of a redirect chain to the next.
struct Target {
    url: Url,
    method: String,
    headers: HeaderMap,
    /// Whether CORS applies (the response tainting is `cors`).
    cors: bool,
    tainted_origin: bool,
}

/// The headers a script set, as the `Headers` object keeps them: invalid
/// ones refused, forbidden ones silently dropped (and reported here).
fn author_headers(
    request: &CorsRequest,
    profile: &Profile,
) -> Result<(HeaderMap, Vec<String>), Blocked> {
    let mut headers = HeaderMap::new();
    let mut dropped = Vec::new();
    for (name, value) in &request.headers {
        let invalid = || Blocked::InvalidHeader { name: name.clone() };
        // The Headers API strips leading and trailing HTTP whitespace.
        let value = value.trim_ascii();
        let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
        let header_value = HeaderValue::from_bytes(value).map_err(|_| invalid())?;
        // Chromium also keeps `User-Agent` for itself, which Fetch no
        // longer does (crbug.com/571722).
        let kept_by_engine = profile.forbids_user_agent && header_name == USER_AGENT;
        if kept_by_engine || is_forbidden_request_header_pair(name, value) {
            dropped.push(header_name.as_str().to_owned());
            continue;
        }
        headers.append(header_name, header_value);
    }
    Ok((headers, dropped))
}

/// What a browser does for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Plan {
    /// The resolved URL.
    pub url: Url,
    /// The request's origin as `Origin` carries it: the page's, or `null`
    /// once a redirect chain has tainted it.
    pub origin: String,
    /// Whether a redirect chain went from one origin to another that is not
    /// the page's, so that the browser sends `Origin: null` from then on
    /// and a server must answer `Access-Control-Allow-Origin: null` (or
    /// `*`).
    pub tainted_origin: bool,
    /// The method after Fetch's normalisation.
    pub method: String,
    /// The headers the script set that are sent.
    pub headers: HeaderMap,
    /// The headers the script set that the browser silently dropped
    /// (forbidden request headers such as `Cookie` or `Origin`).
    pub dropped_headers: Vec<String>,
    /// Whether CORS applies: the URL's origin differs from the page's, or
    /// an earlier request of the redirect chain went to another origin
    /// (Fetch's response tainting `cors`).
    pub cross_origin: bool,
    /// The credentials mode.
    pub credentials_mode: Credentials,
    /// Whether cookies and HTTP authentication are sent.
    pub credentials: bool,
    /// The CORS-unsafe request-header names: lowercase, sorted, unique.
    pub unsafe_headers: Vec<String>,
    /// The preflight, when the request needs one (before consulting the
    /// preflight cache).
    pub preflight: Option<PreflightRequest>,
    /// Whether the script forced a preflight (Fetch's use-CORS-preflight
    /// flag); a preflight answer without `Access-Control-Allow-Methods` then
    /// allows the request's own method.
    pub forced_preflight: bool,
}

impl Plan {
    /// Whether the credentials mode is `include`, which is what the CORS
    /// checks depend on (not whether credentials are sent).
    #[must_use]
    pub fn includes_credentials(&self) -> bool {
        self.credentials_mode == Credentials::Include
    }

    /// Why this request needs a preflight, one sentence per reason; empty
    /// when it needs none.
    ///
    /// ```
    /// use corsair::browser::{CorsRequest, Page, Profile};
    ///
    /// let page = Page::new("https://app.example.com")?;
    /// let request = CorsRequest::new("PUT", "https://api.example.com/items/1")
    ///     .header("x-trace", "1");
    /// let plan = page.plan(&request, &Profile::default())?;
    /// assert_eq!(
    ///     plan.preflight_reasons(),
    ///     [
    ///         "PUT is not a simple method (GET, HEAD, POST)",
    ///         "the header x-trace: 1 is not CORS-safelisted",
    ///     ]
    /// );
    /// # Ok::<(), corsair::browser::Blocked>(())
    /// ```
    #[must_use]
    pub fn preflight_reasons(&self) -> Vec<String> {
        let mut reasons = Vec::new();
        if self.preflight.is_none() {
            return reasons;
        }
        if self.forced_preflight {
            reasons.push("the request uploads with progress listeners".to_owned());
        }
        if !is_safelisted_method(&self.method) {
            reasons.push(format!(
                "{} is not a simple method (GET, HEAD, POST)",
                self.method
            ));
        }
        for name in &self.unsafe_headers {
            let value = self
                .headers
                .get(name.as_str())
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
                .unwrap_or_default();
            reasons.push(format!("the header {name}: {value} is not CORS-safelisted"));
        }
        reasons
    }

    /// The method as an [`http::Method`].
    ///
    /// # Errors
    /// Never for a method that planning accepted (it is a token).
    pub fn http_method(&self) -> Result<Method, http::method::InvalidMethod> {
        Method::from_bytes(self.method.as_bytes())
    }
}

/// The preflight request a browser sends: `OPTIONS` to the same URL, with no
/// credentials, no body and none of the script's headers.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PreflightRequest {
    /// The URL.
    pub url: Url,
    /// `Origin`.
    pub origin: String,
    /// `Access-Control-Request-Method`, always sent.
    pub method: String,
    /// The names in `Access-Control-Request-Headers` (lowercase, sorted,
    /// unique); the header is sent only when there is at least one.
    pub headers: Vec<String>,
}

impl PreflightRequest {
    /// The value of `Access-Control-Request-Headers`: the names joined by
    /// `,` without spaces, as browsers send them; `None` when there are no
    /// names.
    #[must_use]
    pub fn access_control_request_headers(&self) -> Option<String> {
        (!self.headers.is_empty()).then(|| self.headers.join(","))
    }

    /// The headers of the preflight: `Accept: */*`, `Origin`,
    /// `Access-Control-Request-Method` and `Access-Control-Request-Headers`.
    ///
    /// # Errors
    /// When the origin or the method cannot be a header value, which does
    /// not happen for a planned request.
    pub fn http_headers(&self) -> Result<HeaderMap, http::header::InvalidHeaderValue> {
        let mut headers = HeaderMap::with_capacity(4);
        headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
        headers.insert(ORIGIN, HeaderValue::from_str(&self.origin)?);
        headers.insert(
            ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_str(&self.method)?,
        );
        if let Some(names) = self.access_control_request_headers() {
            headers.insert(
                ACCESS_CONTROL_REQUEST_HEADERS,
                HeaderValue::from_str(&names)?,
            );
        }
        Ok(headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(page: &str, request: CorsRequest) -> Result<Plan, Blocked> {
        Page::new(page).unwrap().plan(&request, &Profile::default())
    }

    #[test]
    fn same_origin_requests_never_preflight() {
        let plan = plan(
            "https://app.example.com/",
            CorsRequest::new("DELETE", "/items/1").header("x-api-key", "k"),
        )
        .unwrap();
        assert!(!plan.cross_origin);
        assert!(plan.preflight.is_none());
        assert!(plan.credentials, "same-origin sends credentials by default");
    }

    #[test]
    fn simple_cross_origin_requests_do_not_preflight() {
        for request in [
            CorsRequest::get("https://api.example.com/me"),
            CorsRequest::new("POST", "https://api.example.com/form")
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body("a=1"),
            CorsRequest::new("post", "https://api.example.com/")
                .header("content-type", "text/plain;charset=UTF-8"),
            CorsRequest::new("HEAD", "https://api.example.com/")
                .header("Accept-Language", "fr-CH, en;q=0.5"),
        ] {
            let plan = plan("https://app.example.com", request).unwrap();
            assert!(plan.cross_origin);
            assert_eq!(plan.preflight, None, "{}", plan.method);
        }
    }

    #[test]
    fn the_preflight_carries_sorted_lowercase_unique_names_without_spaces() {
        let plan = plan(
            "https://app.example.com",
            CorsRequest::new("patch", "https://api.example.com/items/1")
                .header("X-Trace", "1")
                .header("Content-Type", "application/json")
                .header("x-trace", "2")
                .header("Accept", "application/json"),
        )
        .unwrap();
        let preflight = plan.preflight.unwrap();
        assert_eq!(preflight.method, "patch", "patch is not normalised");
        assert_eq!(preflight.headers, ["content-type", "x-trace"]);
        assert_eq!(
            preflight.access_control_request_headers().as_deref(),
            Some("content-type,x-trace")
        );
        let headers = preflight.http_headers().unwrap();
        assert_eq!(headers["origin"], "https://app.example.com");
        assert_eq!(headers["access-control-request-method"], "patch");
        assert_eq!(
            headers["access-control-request-headers"],
            "content-type,x-trace"
        );
        assert_eq!(headers["accept"], "*/*");
    }

    #[test]
    fn a_safelisted_method_with_unsafe_headers_still_names_the_method() {
        let plan = plan(
            "https://app.example.com",
            CorsRequest::get("https://api.example.com/").header("Authorization", "Bearer t"),
        )
        .unwrap();
        let preflight = plan.preflight.unwrap();
        assert_eq!(preflight.method, "GET");
        assert_eq!(preflight.headers, ["authorization"]);
        let headers = preflight.http_headers().unwrap();
        assert_eq!(headers["access-control-request-method"], "GET");
    }

    #[test]
    fn the_preflight_flag_forces_a_preflight() {
        let plan = plan(
            "https://app.example.com",
            CorsRequest::new("POST", "https://api.example.com/upload").force_preflight(),
        )
        .unwrap();
        let preflight = plan.preflight.unwrap();
        assert!(preflight.headers.is_empty());
        assert!(
            !preflight
                .http_headers()
                .unwrap()
                .contains_key("access-control-request-headers")
        );
    }

    #[test]
    fn methods_are_normalised_as_fetch_does() {
        for (written, sent) in [
            ("get", "GET"),
            ("Delete", "DELETE"),
            ("options", "OPTIONS"),
            ("patch", "patch"),
        ] {
            let plan = plan(
                "https://a.example",
                CorsRequest::new(written, "https://b.example/"),
            )
            .unwrap();
            assert_eq!(plan.method, sent);
        }
    }

    #[test]
    fn forbidden_headers_are_dropped_silently() {
        let plan = plan(
            "https://app.example.com",
            CorsRequest::get("https://api.example.com/")
                .header("Cookie", "a=b")
                .header("Origin", "https://evil.example")
                .header("Sec-Fetch-Site", "none")
                .header("X-HTTP-Method-Override", "TRACE"),
        )
        .unwrap();
        assert!(plan.headers.is_empty());
        assert_eq!(
            plan.dropped_headers,
            [
                "cookie",
                "origin",
                "sec-fetch-site",
                "x-http-method-override"
            ]
        );
        assert_eq!(plan.preflight, None);
    }

    #[test]
    fn type_errors() {
        let page = "https://app.example.com";
        let cases = [
            (CorsRequest::get("http://[::1"), "InvalidUrl"),
            (
                CorsRequest::get("ftp://files.example.com/a"),
                "UnsupportedScheme",
            ),
            (
                CorsRequest::get("https://me:pw@api.example.com/"),
                "CredentialsInUrl",
            ),
            (
                CorsRequest::new("PUT IT", "https://api.example.com/"),
                "InvalidMethod",
            ),
            (
                CorsRequest::new("trace", "https://api.example.com/"),
                "ForbiddenMethod",
            ),
            (
                CorsRequest::get("https://api.example.com/").header("x y", "1"),
                "InvalidHeader",
            ),
            (
                CorsRequest::get("https://api.example.com/").header("x", "a\nb"),
                "InvalidHeader",
            ),
            (
                CorsRequest::get("https://api.example.com/").body("x"),
                "BodyWithGetOrHead",
            ),
        ];
        for (request, expected) in cases {
            let error = plan(page, request).unwrap_err();
            assert!(error.is_type_error());
            assert!(format!("{error:?}").starts_with(expected), "{error:?}");
        }
    }

    #[test]
    fn opaque_pages_are_cross_origin_to_everything_and_say_null() {
        let plan = Page::opaque()
            .plan(
                &CorsRequest::get("https://api.example.com/"),
                &Profile::default(),
            )
            .unwrap();
        assert!(plan.cross_origin);
        assert_eq!(plan.origin, "null");
    }

    #[test]
    fn default_ports_and_case_do_not_make_an_origin_different() {
        let plan = plan(
            "https://app.example.com",
            CorsRequest::new("PUT", "HTTPS://APP.example.com:443/x"),
        )
        .unwrap();
        assert!(!plan.cross_origin);
    }

    #[test]
    fn credentials_follow_the_mode() {
        let cross = |mode| {
            plan(
                "https://app.example.com",
                CorsRequest::get("https://api.example.com/").credentials(mode),
            )
            .unwrap()
            .credentials
        };
        assert!(!cross(Credentials::Omit));
        assert!(!cross(Credentials::SameOrigin));
        assert!(cross(Credentials::Include));
    }

    #[test]
    fn chromium_extras_are_an_option() {
        let request = CorsRequest::get("https://api.example.com/").header("DPR", "2.0");
        let page = Page::new("https://app.example.com").unwrap();
        assert!(
            page.plan(&request, &Profile::chromium())
                .unwrap()
                .preflight
                .is_none()
        );
        assert_eq!(
            page.plan(&request, &Profile::firefox())
                .unwrap()
                .unsafe_headers,
            ["dpr"]
        );
    }
}
