//! What a script asks for: the request and its credentials mode.

use bytes::Bytes;

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
