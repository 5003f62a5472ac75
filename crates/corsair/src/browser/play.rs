//! The browser's request loop, written once: [`Browser::play`] plans a
//! script's request, sends the preflight when Fetch requires one and the
//! preflight cache does not cover it, sends the actual request with or
//! without cookies, and judges each answer. How an exchange is carried is
//! the [`Transport`]'s business: a tower service in a unit test
//! ([`Browser::fetch`]), an HTTP client for `corsair probe`, a compiled
//! policy in memory for `corsair explain`.

use std::future::Future;

use bytes::Bytes;
use http::header::{COOKIE, HeaderValue, LOCATION, ORIGIN, SET_COOKIE};
use http::{HeaderMap, StatusCode};
use url::Url;

use super::check::{check_preflight, check_response, is_redirect};
use super::cookies::site;
use super::error::{Blocked, CorsFailure};
use super::harness::Browser;
use super::plan::Plan;
use super::request::{Client, CorsRequest};

/// A request as it leaves the browser.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Outgoing {
    /// The method, as Fetch normalised it.
    pub method: String,
    /// The URL.
    pub url: Url,
    /// The headers the browser adds or lets through: the script's,
    /// `Origin`, `Cookie`, and a preflight's `Access-Control-Request-*`.
    /// (`Host` is the transport's to write.)
    pub headers: HeaderMap,
    /// The body; always empty for a preflight.
    pub body: Bytes,
}

impl Outgoing {
    /// The request target: the URL's path and query, as the request line
    /// carries it.
    #[must_use]
    pub fn target(&self) -> String {
        match self.url.query() {
            Some(query) => format!("{}?{query}", self.url.path()),
            None => self.url.path().to_owned(),
        }
    }
}

/// A response as it reaches the browser.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Incoming {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body (a transport that only looks at headers leaves it empty).
    pub body: Bytes,
    /// Why the server refused, when the transport can say: a policy in
    /// memory can, a live server cannot.
    pub refusal: Option<String>,
}

impl Incoming {
    /// A response with `status` and `headers`, no body, no refusal.
    #[must_use]
    pub fn new(status: StatusCode, headers: HeaderMap) -> Self {
        Incoming {
            status,
            headers,
            body: Bytes::new(),
            refusal: None,
        }
    }

    /// The same response with `body`.
    #[must_use]
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// The same response with the reason the server refused.
    #[must_use]
    pub fn with_refusal(mut self, refusal: impl Into<String>) -> Self {
        self.refusal = Some(refusal.into());
        self
    }
}

/// One request and its response.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Exchange {
    /// What the browser sent.
    pub request: Outgoing,
    /// What came back, with header values trimmed as the browser's HTTP
    /// parser trims them.
    pub response: Incoming,
}

/// How the browser's requests reach a server.
///
/// ```
/// use std::convert::Infallible;
/// use corsair::browser::{Browser, CorsRequest, Incoming, Outgoing, Transport, Verdict};
/// use http::{HeaderMap, HeaderValue, StatusCode};
///
/// /// A server that allows every origin, without credentials.
/// struct Public;
///
/// impl Transport for Public {
///     type Error = Infallible;
///     async fn exchange(&mut self, _: &Outgoing) -> Result<Incoming, Infallible> {
///         let mut headers = HeaderMap::new();
///         headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
///         Ok(Incoming::new(StatusCode::OK, headers))
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut browser = Browser::new("https://app.example.com")?;
/// let transcript = browser
///     .play(&mut Public, &CorsRequest::get("https://api.example.com/"))
///     .await?;
/// assert!(matches!(transcript.verdict, Verdict::Allowed { .. }));
/// assert!(transcript.preflight.is_none());
/// # Ok(())
/// # }
/// ```
pub trait Transport {
    /// Why an exchange could not happen (no connection, for instance).
    type Error;

    /// Sends one request and returns the response.
    fn exchange(
        &mut self,
        request: &Outgoing,
    ) -> impl Future<Output = Result<Incoming, Self::Error>>;
}

/// Where a request stopped, or what the script gets.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// The script reads the response.
    Allowed {
        /// Whether the request was same-origin (no CORS check at all).
        same_origin: bool,
        /// The response headers the script may read.
        readable: HeaderMap,
    },
    /// The browser refuses: before sending anything, at the preflight, or
    /// on the actual response.
    Blocked(Blocked),
    /// The response is a redirect that passed the CORS check; the browser
    /// would follow it to `location`, and the script reads what comes from
    /// there, never this response. This model does not follow redirects.
    Redirected {
        /// The redirect's status.
        status: StatusCode,
        /// Its `Location`, as sent.
        location: String,
    },
    /// The request needs something this model does not cover.
    Unsupported(&'static str),
}

/// A request played through: each exchange and the verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transcript {
    /// The page's origin.
    pub origin: String,
    /// The method as the script wrote it.
    pub method: String,
    /// The URL called: resolved, once the request could be planned.
    pub url: String,
    /// Which API the script used.
    pub client: Client,
    /// The plan, when the request could be made at all.
    pub plan: Option<Plan>,
    /// The preflight, when one was sent.
    pub preflight: Option<Exchange>,
    /// Whether the preflight cache covered a preflight the request needed,
    /// so that none was sent.
    pub preflight_cached: bool,
    /// The actual request, when it was sent.
    pub actual: Option<Exchange>,
    /// The outcome.
    pub verdict: Verdict,
}

impl Transcript {
    /// Whether the script reads the response.
    #[must_use]
    pub fn allowed(&self) -> bool {
        matches!(self.verdict, Verdict::Allowed { .. })
    }

    /// Why the server refused, when a transport said so.
    #[must_use]
    pub fn refusal(&self) -> Option<&str> {
        [&self.actual, &self.preflight]
            .into_iter()
            .flatten()
            .find_map(|exchange| exchange.response.refusal.as_deref())
    }

    /// What to change for the request to go through, when it is blocked.
    ///
    /// A preflight refused with no CORS headers and no stated reason (a
    /// bare `403`, as corsair and most CORS layers answer it) may have
    /// been refused for its origin, its method or one of its headers, and
    /// the answer does not say which: the fix then lists what the
    /// preflight asked for and where to learn which one is refused, rather
    /// than guess. Otherwise it is [`Blocked::fix`].
    #[must_use]
    pub fn fix(&self) -> Option<String> {
        let Verdict::Blocked(blocked) = &self.verdict else {
            return None;
        };
        let unexplained = matches!(
            blocked,
            Blocked::Preflight(CorsFailure::MissingAllowOrigin) | Blocked::PreflightStatus { .. }
        );
        match &self.preflight {
            Some(preflight) if unexplained && self.refusal().is_none() => {
                let asked = |name: &http::HeaderName| -> String {
                    preflight
                        .request
                        .headers
                        .get(name)
                        .and_then(|value| value.to_str().ok())
                        .unwrap_or("(none)")
                        .to_owned()
                };
                Some(format!(
                    "the server refused the preflight without saying why. It asked for origin {}, \
                     method {}, headers {}: the server must allow all of them (in corsair: \
                     allow_origins, allow_methods, allow_headers). `corsair explain` against the \
                     policy, or the corsair-refusal header of a server in debug mode, says which \
                     one is refused",
                    asked(&http::header::ORIGIN),
                    asked(&http::header::ACCESS_CONTROL_REQUEST_METHOD),
                    asked(&http::header::ACCESS_CONTROL_REQUEST_HEADERS),
                ))
            }
            _ => Some(blocked.fix()),
        }
    }
}

impl Browser {
    /// Plays `request` against `transport` as a browser would and returns
    /// every exchange and the verdict. A refusal is a [`Verdict`], not an
    /// error: the error is the transport's, when an exchange could not
    /// happen at all.
    ///
    /// The browser's state moves as a browser's does: a preflight answer
    /// is cached, or forgotten when it fails; with credentials, cookies go
    /// out from the jar and `Set-Cookie` answers come into it.
    ///
    /// # Errors
    /// The transport's error.
    pub async fn play<T: Transport>(
        &mut self,
        transport: &mut T,
        request: &CorsRequest,
    ) -> Result<Transcript, T::Error> {
        let mut transcript = Transcript {
            origin: self.page.origin().to_owned(),
            method: request.method.clone(),
            url: request.url.clone(),
            client: request.client,
            plan: None,
            preflight: None,
            preflight_cached: false,
            actual: None,
            verdict: Verdict::Unsupported("a request that was never planned"),
        };
        let plan = match self.page.plan(request, &self.options) {
            Ok(plan) => plan,
            Err(blocked) => {
                transcript.verdict = Verdict::Blocked(blocked);
                return Ok(transcript);
            }
        };
        transcript.url = plan.url.to_string();
        let verdict = self.play_planned(transport, &plan, request, &mut transcript);
        transcript.verdict = verdict.await?;
        transcript.plan = Some(plan);
        Ok(transcript)
    }

    async fn play_planned<T: Transport>(
        &mut self,
        transport: &mut T,
        plan: &Plan,
        request: &CorsRequest,
        transcript: &mut Transcript,
    ) -> Result<Verdict, T::Error> {
        if let Some(preflight) = &plan.preflight {
            if self.cache.covers(plan, self.now, &self.options) {
                transcript.preflight_cached = true;
            } else {
                let Ok(headers) = preflight.http_headers() else {
                    return Ok(Verdict::Unsupported(
                        "a preflight header that is not a header value",
                    ));
                };
                let outgoing = Outgoing {
                    method: "OPTIONS".to_owned(),
                    url: preflight.url.clone(),
                    headers,
                    body: Bytes::new(),
                };
                let response = received(transport.exchange(&outgoing).await?);
                self.preflights += 1;
                let checked =
                    check_preflight(plan, response.status, &response.headers, &self.options);
                transcript.preflight = Some(Exchange {
                    request: outgoing,
                    response,
                });
                match checked {
                    Ok(result) => self.cache.store(plan, result, self.now),
                    Err(blocked) => {
                        self.cache.forget(plan);
                        return Ok(Verdict::Blocked(blocked));
                    }
                }
            }
        }

        let cross_site = site(&plan.url) != self.page_site();
        let mut headers = plan.headers.clone();
        // Fetch's "append a request `Origin` header": every CORS request,
        // and same-origin ones whose method is neither GET nor HEAD.
        if plan.cross_origin || !matches!(plan.method.as_str(), "GET" | "HEAD") {
            let Ok(origin) = HeaderValue::from_str(&plan.origin) else {
                return Ok(Verdict::Unsupported("an origin that is not a header value"));
            };
            headers.insert(ORIGIN, origin);
        }
        if plan.credentials
            && let Some(cookies) = self
                .jar
                .header(&plan.url, cross_site, self.now, &self.options)
            && let Ok(value) = HeaderValue::from_str(&cookies)
        {
            headers.insert(COOKIE, value);
        }
        let outgoing = Outgoing {
            method: plan.method.clone(),
            url: plan.url.clone(),
            headers,
            body: request.body.clone(),
        };
        let mut response = received(transport.exchange(&outgoing).await?);
        if plan.credentials {
            for line in response.headers.get_all(SET_COOKIE) {
                if let Ok(line) = line.to_str() {
                    // A refused cookie is simply not stored, as in a browser.
                    let _ = self
                        .jar
                        .store(line, &plan.url, cross_site, self.now, &self.options);
                }
            }
        }
        if has_null_body(&plan.method, response.status) {
            response.body = Bytes::new();
        }
        // Fetch's HTTP fetch runs the CORS check before it looks at a
        // redirect: a redirect without the right headers is blocked.
        let verdict = match check_response(plan, &response.headers) {
            Err(blocked) => Verdict::Blocked(blocked),
            Ok(_) if is_redirect(response.status, &response.headers) => Verdict::Redirected {
                status: response.status,
                location: response
                    .headers
                    .get(LOCATION)
                    .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
                    .unwrap_or_default(),
            },
            Ok(readable) => Verdict::Allowed {
                same_origin: !plan.cross_origin,
                readable,
            },
        };
        transcript.actual = Some(Exchange {
            request: outgoing,
            response,
        });
        Ok(verdict)
    }

    fn page_site(&self) -> (String, String) {
        match Url::parse(self.page.origin()) {
            Ok(url) => site(&url),
            // An opaque origin is cross-site to everything.
            Err(_) => (String::new(), String::new()),
        }
    }
}

/// A response as Fetch sees it after the browser's HTTP parser.
fn received(mut response: Incoming) -> Incoming {
    strip_whitespace(&mut response.headers);
    response
}

/// Whether the script gets no body whatever the server returned: Fetch
/// (§Main fetch) nulls the body of a response to `HEAD` or `CONNECT` and
/// of one with a null body status (101, 103, 204, 205, 304). Over HTTP/1.1
/// hyper does not even send a body for `HEAD`, 204 and 304; it does send
/// one for 205, and Chromium 156 reads `""` all the same.
fn has_null_body(method: &str, status: StatusCode) -> bool {
    matches!(method, "HEAD" | "CONNECT") || matches!(status.as_u16(), 101 | 103 | 204 | 205 | 304)
}

/// Removes leading and trailing spaces and tabs from every header value, as
/// the browser's HTTP parser does before Fetch sees the headers (RFC 9112
/// §5: the whitespace around a field value is not part of it; Fetch: a
/// header value has no leading or trailing HTTP tab or space bytes). A
/// service may put such whitespace in a `HeaderValue`, and hyper sends it
/// as it is; Chromium then reads `Access-Control-Allow-Origin: <origin> `
/// as `<origin>`, and a script reads the trimmed value.
fn strip_whitespace(headers: &mut HeaderMap) {
    for value in headers.values_mut() {
        let trimmed = value.as_bytes().trim_ascii();
        if trimmed.len() != value.len()
            && let Ok(trimmed) = HeaderValue::from_bytes(trimmed)
        {
            *value = trimmed;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use super::*;
    use crate::browser::Credentials;

    /// A server that answers every request with `status` and `headers`, and
    /// records what it was sent.
    struct Fixed {
        status: StatusCode,
        headers: Vec<(&'static str, &'static str)>,
        sent: Vec<Outgoing>,
    }

    impl Fixed {
        fn new(status: u16, headers: &[(&'static str, &'static str)]) -> Self {
            Fixed {
                status: StatusCode::from_u16(status).unwrap(),
                headers: headers.to_vec(),
                sent: Vec::new(),
            }
        }
    }

    impl Transport for Fixed {
        type Error = Infallible;

        async fn exchange(&mut self, request: &Outgoing) -> Result<Incoming, Infallible> {
            self.sent.push(request.clone());
            let mut headers = HeaderMap::new();
            for (name, value) in &self.headers {
                headers.append(*name, HeaderValue::from_static(value));
            }
            Ok(Incoming::new(self.status, headers).with_body("body"))
        }
    }

    /// Issue 15: a 302 that carries the right CORS headers is not the
    /// response the script gets; the verdict says it was redirected, never
    /// allowed.
    #[tokio::test]
    async fn a_redirect_that_passes_the_cors_check_is_not_allowed() {
        let mut server = Fixed::new(
            302,
            &[
                ("access-control-allow-origin", "https://app.example.com"),
                ("location", "https://cdn.example.net/a"),
            ],
        );
        let mut browser = Browser::new("https://app.example.com").unwrap();
        let transcript = browser
            .play(&mut server, &CorsRequest::get("https://api.example.com/a"))
            .await
            .unwrap();
        assert_eq!(
            transcript.verdict,
            Verdict::Redirected {
                status: StatusCode::FOUND,
                location: "https://cdn.example.net/a".to_owned()
            }
        );
        assert!(!transcript.allowed());
    }

    /// Issue 15: a bare 403 to a preflight does not say whether the
    /// origin, the method or a header was refused; the fix lists what the
    /// preflight asked for instead of blaming the origin.
    #[tokio::test]
    async fn a_bare_refused_preflight_names_what_it_asked_for() {
        let mut server = Fixed::new(403, &[]);
        let mut browser = Browser::new("https://app.example.com").unwrap();
        let request = CorsRequest::new("PUT", "https://api.example.com/a").header("x-api-key", "1");
        let transcript = browser.play(&mut server, &request).await.unwrap();
        let fix = transcript.fix().unwrap();
        for asked in [
            "origin https://app.example.com",
            "method PUT",
            "headers x-api-key",
        ] {
            assert!(fix.contains(asked), "{asked}: {fix}");
        }
        assert!(fix.contains("corsair explain"), "{fix}");
        // A request that is allowed needs no fix.
        let mut open = Fixed::new(200, &[("access-control-allow-origin", "*")]);
        let allowed = browser
            .play(&mut open, &CorsRequest::get("https://api.example.com/a"))
            .await
            .unwrap();
        assert_eq!(allowed.fix(), None);
    }

    /// A redirect without the CORS headers is blocked before it is
    /// followed, as in Fetch's HTTP fetch.
    #[tokio::test]
    async fn a_redirect_without_cors_headers_is_blocked() {
        let mut server = Fixed::new(307, &[("location", "/b")]);
        let mut browser = Browser::new("https://app.example.com").unwrap();
        let transcript = browser
            .play(&mut server, &CorsRequest::get("https://api.example.com/a"))
            .await
            .unwrap();
        assert!(matches!(transcript.verdict, Verdict::Blocked(_)));
    }

    /// `Origin` goes on every cross-origin request and on same-origin ones
    /// other than GET and HEAD; a same-origin GET carries none.
    #[tokio::test]
    async fn origin_is_sent_as_fetch_says() {
        let mut server = Fixed::new(200, &[("access-control-allow-origin", "*")]);
        let mut browser = Browser::new("https://app.example.com").unwrap();
        for (method, url, sends_origin) in [
            ("GET", "https://app.example.com/a", false),
            ("HEAD", "https://app.example.com/a", false),
            ("POST", "https://app.example.com/a", true),
            ("GET", "https://api.example.com/a", true),
        ] {
            browser
                .play(&mut server, &CorsRequest::new(method, url))
                .await
                .unwrap();
            let sent = server.sent.last().unwrap();
            assert_eq!(
                sent.headers.contains_key(ORIGIN),
                sends_origin,
                "{method} {url}"
            );
        }
    }

    /// The second identical request is covered by the preflight cache: the
    /// transcript says so, and the server sees no second `OPTIONS`.
    #[tokio::test]
    async fn a_cached_preflight_is_not_sent_again() {
        let mut server = Fixed::new(
            200,
            &[
                ("access-control-allow-origin", "https://app.example.com"),
                ("access-control-allow-methods", "PUT"),
                ("access-control-max-age", "60"),
            ],
        );
        let mut browser = Browser::new("https://app.example.com").unwrap();
        let request = CorsRequest::new("PUT", "https://api.example.com/a");
        let first = browser.play(&mut server, &request).await.unwrap();
        let second = browser.play(&mut server, &request).await.unwrap();
        assert!(first.preflight.is_some() && !first.preflight_cached);
        assert!(second.preflight.is_none() && second.preflight_cached);
        assert!(second.allowed());
        let methods: Vec<&str> = server.sent.iter().map(|s| s.method.as_str()).collect();
        assert_eq!(methods, ["OPTIONS", "PUT", "PUT"]);
        assert_eq!(browser.preflights_sent(), 1);
    }

    /// A cookie set by a credentialed response goes back on the next
    /// credentialed request to the same site, and never on one without
    /// credentials.
    #[tokio::test]
    async fn cookies_go_out_only_with_credentials() {
        let mut server = Fixed::new(
            200,
            &[
                ("access-control-allow-origin", "https://app.example.com"),
                ("access-control-allow-credentials", "true"),
                ("set-cookie", "sid=1; Path=/; Secure; SameSite=Lax"),
            ],
        );
        let mut browser = Browser::new("https://app.example.com").unwrap();
        let with = CorsRequest::get("https://api.example.com/a").credentials(Credentials::Include);
        browser.play(&mut server, &with).await.unwrap();
        browser.play(&mut server, &with).await.unwrap();
        assert_eq!(
            server.sent[1].headers.get(COOKIE).unwrap(),
            "sid=1",
            "the jar sends the cookie back"
        );
        let without = CorsRequest::get("https://api.example.com/a").credentials(Credentials::Omit);
        browser.play(&mut server, &without).await.unwrap();
        assert!(!server.sent[2].headers.contains_key(COOKIE));
    }

    /// A request the page cannot make is blocked before anything is sent.
    #[tokio::test]
    async fn an_unplannable_request_sends_nothing() {
        let mut server = Fixed::new(200, &[]);
        let mut browser = Browser::new("https://app.example.com").unwrap();
        let transcript = browser
            .play(
                &mut server,
                &CorsRequest::new("CONNECT", "https://api.example.com/"),
            )
            .await
            .unwrap();
        assert!(matches!(transcript.verdict, Verdict::Blocked(_)));
        assert!(transcript.plan.is_none() && server.sent.is_empty());
    }
}
