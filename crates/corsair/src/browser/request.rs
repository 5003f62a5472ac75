//! What a script asks for: the request, its credentials mode, and the
//! browser settings that change the verdict.

use std::time::Duration;

use bytes::Bytes;

use crate::protocol::{CHROMIUM_MAX_AGE, FIREFOX_MAX_AGE, Safelist};

/// A request's credentials mode (`fetch`'s `credentials` option; for
/// `XMLHttpRequest`, `withCredentials = true` is `Include` and `false` is
/// `SameOrigin`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Credentials {
    /// Never send cookies or HTTP authentication.
    Omit,
    /// Send them to the page's own origin only (the default of `fetch`).
    #[default]
    SameOrigin,
    /// Send them everywhere, cross-origin included: what a credentialed
    /// cross-origin call needs.
    Include,
}

impl Credentials {
    /// The name scripts and consoles use: `omit`, `same-origin`, `include`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Credentials::Omit => "omit",
            Credentials::SameOrigin => "same-origin",
            Credentials::Include => "include",
        }
    }
}

/// The script API that made the request. It only changes the wording of
/// console messages ("Access to fetch at ..." or "Access to XMLHttpRequest
/// at ...").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Client {
    /// `fetch()`.
    #[default]
    Fetch,
    /// `XMLHttpRequest`.
    XmlHttpRequest,
}

/// The browser settings that change verdicts. [`Options::default`] is
/// Chromium's.
///
/// ```
/// use corsair::browser::Options;
/// use std::time::Duration;
///
/// assert_eq!(Options::default().max_age_cap, Duration::from_secs(7200));
/// assert_eq!(Options::firefox().max_age_cap, Duration::from_secs(86_400));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Which request headers are safelisted: Chromium's extras (`DPR`,
    /// `Save-Data`...) by default.
    pub safelist: Safelist,
    /// The longest a preflight answer is cached, whatever
    /// `Access-Control-Max-Age` says: 7200 s in Chromium, 86400 s in
    /// Firefox, 600 s in WebKit.
    pub max_age_cap: Duration,
    /// Whether `Access-Control-Allow-Headers: *` also covers
    /// `Authorization`. Fetch says it never does; Chromium and Firefox let it
    /// by default, so `true` here.
    pub wildcard_covers_authorization: bool,
    /// Whether a cross-site response may set, and a cross-site request
    /// carry, cookies. `false` by default: Safari blocks them, Firefox
    /// partitions them, Chrome blocks them in Incognito and in headless
    /// sessions driven by WebDriver. An API that needs them works for some of
    /// its users only; set `true` to model a default Chrome profile.
    pub third_party_cookies: bool,
}

impl Options {
    /// Chromium's behaviour (the default).
    #[must_use]
    pub const fn chromium() -> Self {
        Options {
            safelist: Safelist::Chromium,
            max_age_cap: CHROMIUM_MAX_AGE,
            wildcard_covers_authorization: true,
            third_party_cookies: false,
        }
    }

    /// Firefox's behaviour: the Fetch safelist and a one-day cap.
    #[must_use]
    pub const fn firefox() -> Self {
        Options {
            safelist: Safelist::Fetch,
            max_age_cap: FIREFOX_MAX_AGE,
            wildcard_covers_authorization: true,
            third_party_cookies: false,
        }
    }

    /// The Fetch standard to the letter: its safelist, and `*` never covers
    /// `Authorization` (the cap is Chromium's).
    #[must_use]
    pub const fn fetch_standard() -> Self {
        Options {
            safelist: Safelist::Fetch,
            max_age_cap: CHROMIUM_MAX_AGE,
            wildcard_covers_authorization: false,
            third_party_cookies: false,
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options::chromium()
    }
}

/// A request as a script writes it: `fetch(url, { method, headers, body,
/// credentials })`. Nothing is checked when it is built; as in a browser,
/// an invalid method, header or URL is refused when the request is planned.
///
/// ```
/// use corsair::browser::{CorsRequest, Credentials};
///
/// let request = CorsRequest::new("PUT", "https://api.example.com/items/1")
///     .header("content-type", "application/json")
///     .body(r#"{"done":true}"#)
///     .credentials(Credentials::Include);
/// assert_eq!(request.method(), "PUT");
/// ```
#[derive(Clone, Debug)]
pub struct CorsRequest {
    pub(crate) url: String,
    pub(crate) method: String,
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    pub(crate) body: Bytes,
    pub(crate) credentials: Credentials,
    pub(crate) client: Client,
    pub(crate) force_preflight: bool,
}

impl CorsRequest {
    /// A request with the method as written (`patch` stays `patch`) and an
    /// absolute URL, or a path resolved against the page.
    #[must_use]
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        CorsRequest {
            url: url.into(),
            method: method.into(),
            headers: Vec::new(),
            body: Bytes::new(),
            credentials: Credentials::default(),
            client: Client::default(),
            force_preflight: false,
        }
    }

    /// A `GET` request.
    #[must_use]
    pub fn get(url: impl Into<String>) -> Self {
        CorsRequest::new("GET", url)
    }

    /// Adds a header, as `headers.append(name, value)` does.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    #[must_use]
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets the credentials mode.
    #[must_use]
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// Says which script API sends the request (for console wording).
    #[must_use]
    pub fn client(mut self, client: Client) -> Self {
        self.client = client;
        self
    }

    /// Sets Fetch's use-CORS-preflight flag, which forces a preflight even
    /// for a simple request: an `XMLHttpRequest` upload with progress
    /// listeners, or a `ReadableStream` body.
    #[must_use]
    pub fn force_preflight(mut self) -> Self {
        self.force_preflight = true;
        self
    }

    /// The method as written.
    #[must_use]
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The URL as written.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }
}
