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
use super::console::Console;
use super::cookies::{Context, CookieReport};
use super::engine::Engine;
use super::error::{Blocked, CorsFailure};
use super::harness::Browser;
use super::plan::{Page, Plan};
use super::profile::Profile;
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

    /// The `Host` header the request goes with: the URL's host and port (no
    /// default port, no user name), as an HTTP client writes it. A
    /// transport that builds requests itself adds it.
    #[must_use]
    pub fn host(&self) -> String {
        let host = self.url.host_str().unwrap_or_default();
        match self.url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    /// [`Outgoing::headers`] with [`Outgoing::host`] in `Host`: the request
    /// as it reaches a server.
    #[must_use]
    pub fn headers_with_host(&self) -> HeaderMap {
        let mut headers = self.headers.clone();
        if let Ok(host) = HeaderValue::from_str(&self.host()) {
            headers.insert(http::header::HOST, host);
        }
        headers
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
/// assert!(transcript.hops[0].preflight.is_none());
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
        /// Whether no CORS check applied: every request of the chain went
        /// to the page's own origin.
        same_origin: bool,
        /// The response headers the script may read.
        readable: HeaderMap,
    },
    /// The browser refuses: before sending anything, at a preflight, on a
    /// response, or at a redirect it will not follow.
    Blocked(Blocked),
    /// The request needs something this model does not cover.
    Unsupported(&'static str),
}

/// One request of a script's call: the first, or one the browser made to
/// follow a redirect. Each may have had a preflight of its own.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Hop {
    /// What the browser planned for this request.
    pub plan: Plan,
    /// The preflight, when one was sent.
    pub preflight: Option<Exchange>,
    /// Whether the preflight cache covered a preflight this request needed,
    /// so that none was sent.
    pub preflight_cached: bool,
    /// The request itself, when it was sent.
    pub actual: Option<Exchange>,
}

/// A script's call played through: every exchange, what became of the
/// cookies, and the verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transcript {
    /// The engine whose rules were played.
    pub engine: Engine,
    /// The page's origin.
    pub origin: String,
    /// The method as the script wrote it.
    pub method: String,
    /// The URL called: resolved, once the request could be planned.
    pub url: String,
    /// Which API the script used.
    pub client: Client,
    /// The requests made, in order: the first, then one per redirect
    /// followed. Empty when the request could not be made at all.
    pub hops: Vec<Hop>,
    /// What became of each cookie the responses set, in order, when the
    /// request was credentialed (cookies of other requests are ignored).
    pub cookies: Vec<CookieReport>,
    /// The outcome.
    pub verdict: Verdict,
}

impl Transcript {
    /// Whether the script reads the response.
    #[must_use]
    pub fn allowed(&self) -> bool {
        matches!(self.verdict, Verdict::Allowed { .. })
    }

    /// The plan of the script's request (the first hop), when it could be
    /// made at all.
    #[must_use]
    pub fn plan(&self) -> Option<&Plan> {
        self.hops.first().map(|hop| &hop.plan)
    }

    /// The last request made: the one the verdict is about.
    #[must_use]
    pub fn last_hop(&self) -> Option<&Hop> {
        self.hops.last()
    }

    /// The URLs of the redirects followed, oldest first, ending with the
    /// last request's.
    #[must_use]
    pub fn redirect_chain(&self) -> Vec<&str> {
        self.hops.iter().map(|hop| hop.plan.url.as_str()).collect()
    }

    /// Why the server refused, when a transport said so.
    #[must_use]
    pub fn refusal(&self) -> Option<&str> {
        let hop = self.last_hop()?;
        [&hop.actual, &hop.preflight]
            .into_iter()
            .flatten()
            .find_map(|exchange| exchange.response.refusal.as_deref())
    }

    /// The line the engine's console prints for a blocked request; `None`
    /// when it was not blocked.
    #[must_use]
    pub fn console_message(&self) -> Option<String> {
        let Verdict::Blocked(blocked) = &self.verdict else {
            return None;
        };
        let (url, redirected_from) = match self.hops.as_slice() {
            [first, .., last] => (last.plan.url.as_str(), Some(first.plan.url.as_str())),
            _ => (self.url.as_str(), None),
        };
        let last = self.last_hop();
        let exchange = last.and_then(|hop| {
            if blocked.is_preflight() {
                hop.preflight.as_ref()
            } else {
                hop.actual.as_ref()
            }
        });
        let method = last.map_or(self.method.as_str(), |hop| hop.plan.method.as_str());
        // Where a redirect that failed the CORS check was going.
        let redirect_to = exchange
            .filter(|exchange| is_redirect(exchange.response.status, &exchange.response.headers))
            .and_then(|exchange| {
                let location = exchange.response.headers.get(LOCATION)?.to_str().ok()?;
                exchange.request.url.join(location).ok()
            })
            .map(String::from);
        let request_origin = last.map_or(self.origin.as_str(), |hop| hop.plan.origin.as_str());
        Some(blocked.console(&Console {
            engine: self.engine,
            client: self.client,
            method,
            origin: &self.origin,
            request_origin,
            url,
            redirected_from,
            status: exchange.map(|exchange| exchange.response.status),
            redirect_to: redirect_to.as_deref(),
        }))
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
        match self.last_hop().and_then(|hop| hop.preflight.as_ref()) {
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
                     policy, or the corsair-refusal header of a server in debug mode, says which one \
                     is refused",
                    asked(&ORIGIN),
                    asked(&http::header::ACCESS_CONTROL_REQUEST_METHOD),
                    asked(&http::header::ACCESS_CONTROL_REQUEST_HEADERS),
                ))
            }
            _ => Some(blocked.fix()),
        }
    }
}

/// The most redirects a browser follows for one call (Fetch's limit, which
/// the three engines keep).
const MAX_REDIRECTS: usize = 20;

/// How one hop ended.
enum Ended {
    /// With a verdict.
    Verdict(Verdict),
    /// With a redirect to follow.
    Redirect {
        status: StatusCode,
        location: String,
    },
}

impl Browser {
    /// Plays a script's `request` as a browser does: plans it, sends the
    /// preflight when Fetch requires one and the preflight cache does not
    /// cover it, sends the request with or without cookies, follows
    /// redirects (up to 20, each request with its own preflight where it
    /// needs one, `Origin: null` once the chain has tainted it), and judges
    /// every answer with the engine's rules. Each exchange goes through
    /// `transport`; the browser's preflight cache and cookie jar are kept
    /// across calls, and credentialed `Set-Cookie` answers come into the
    /// jar as the engine would keep them.
    ///
    /// # Errors
    /// The transport's error.
    pub async fn play<T: Transport>(
        &mut self,
        transport: &mut T,
        request: &CorsRequest,
    ) -> Result<Transcript, T::Error> {
        let mut transcript = Transcript {
            engine: self.profile.engine,
            origin: self.page.origin().to_owned(),
            method: request.method.clone(),
            url: request.url.clone(),
            client: request.client,
            hops: Vec::new(),
            cookies: Vec::new(),
            verdict: Verdict::Unsupported("a request that was never planned"),
        };
        let mut plan = match self.page.plan(request, &self.profile) {
            Ok(plan) => plan,
            Err(blocked) => {
                transcript.verdict = Verdict::Blocked(blocked);
                return Ok(transcript);
            }
        };
        transcript.url = plan.url.to_string();
        let mut body = request.body.clone();
        loop {
            let mut hop = Hop {
                plan,
                preflight: None,
                preflight_cached: false,
                actual: None,
            };
            let ended = self
                .hop(transport, &mut hop, &body, &mut transcript.cookies)
                .await?;
            let next = match ended {
                Ended::Verdict(verdict) => Err(verdict),
                Ended::Redirect { .. } if transcript.hops.len() >= MAX_REDIRECTS => {
                    Err(Verdict::Blocked(Blocked::TooManyRedirects))
                }
                Ended::Redirect { status, location } => self
                    .page
                    .follow(&hop.plan, status, &location, &self.profile)
                    .map_err(Verdict::Blocked),
            };
            let method = hop.plan.method.clone();
            transcript.hops.push(hop);
            match next {
                Ok(next) => {
                    if next.method != method {
                        body = Bytes::new();
                    }
                    plan = next;
                }
                Err(verdict) => {
                    transcript.verdict = verdict;
                    return Ok(transcript);
                }
            }
        }
    }

    /// Plays one request of a chain: its preflight (or the cache), then the
    /// request, judged.
    async fn hop<T: Transport>(
        &mut self,
        transport: &mut T,
        hop: &mut Hop,
        body: &Bytes,
        cookies: &mut Vec<CookieReport>,
    ) -> Result<Ended, T::Error> {
        let plan = &hop.plan;
        if let Some(preflight) = &plan.preflight {
            if self.cache.covers(plan, self.now, &self.profile) {
                hop.preflight_cached = true;
            } else {
                let Ok(headers) = preflight.http_headers() else {
                    return Ok(Ended::Verdict(Verdict::Unsupported(
                        "a preflight header that is not a header value",
                    )));
                };
                let outgoing = Outgoing {
                    method: "OPTIONS".to_owned(),
                    url: preflight.url.clone(),
                    headers,
                    body: Bytes::new(),
                };
                let response = received(transport.exchange(&outgoing).await?, &self.profile);
                self.preflights += 1;
                let checked =
                    check_preflight(plan, response.status, &response.headers, &self.profile);
                hop.preflight = Some(Exchange {
                    request: outgoing,
                    response,
                });
                match checked {
                    Ok(result) => self.cache.store(plan, result, self.now),
                    Err(blocked) => {
                        self.cache.forget(plan);
                        return Ok(Ended::Verdict(Verdict::Blocked(blocked)));
                    }
                }
            }
        }

        let context = Context {
            page_site: &self.page_site,
            url: &plan.url,
            rules: &self.profile.cookies,
        };
        let mut headers = plan.headers.clone();
        // Fetch's "append a request `Origin` header": every CORS request,
        // and same-origin ones whose method is neither GET nor HEAD.
        if plan.cross_origin || !matches!(plan.method.as_str(), "GET" | "HEAD") {
            let Ok(origin) = HeaderValue::from_str(&plan.origin) else {
                return Ok(Ended::Verdict(Verdict::Unsupported(
                    "an origin that is not a header value",
                )));
            };
            headers.insert(ORIGIN, origin);
        }
        if plan.credentials
            && let Some(cookies) = self.jar.header(&context, self.now)
            && let Ok(value) = HeaderValue::from_str(&cookies)
        {
            headers.insert(COOKIE, value);
        }
        let outgoing = Outgoing {
            method: plan.method.clone(),
            url: plan.url.clone(),
            headers,
            body: body.clone(),
        };
        let mut response = received(transport.exchange(&outgoing).await?, &self.profile);
        if plan.credentials {
            for line in response.headers.get_all(SET_COOKIE) {
                let line = String::from_utf8_lossy(line.as_bytes());
                cookies.push(self.jar.store(&line, &context, self.now, &self.profile));
            }
        }
        if has_null_body(&plan.method, response.status, &self.profile) {
            response.body = Bytes::new();
        }
        // Fetch's HTTP fetch runs the CORS check before it looks at a
        // redirect: a redirect without the right headers is blocked.
        let ended = match check_response(plan, &response.headers) {
            Err(blocked) => Ended::Verdict(Verdict::Blocked(blocked)),
            Ok(_) if is_redirect(response.status, &response.headers) => Ended::Redirect {
                status: response.status,
                location: response
                    .headers
                    .get(LOCATION)
                    .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
                    .unwrap_or_default(),
            },
            Ok(readable) => Ended::Verdict(Verdict::Allowed {
                same_origin: !plan.cross_origin,
                readable,
            }),
        };
        hop.actual = Some(Exchange {
            request: outgoing,
            response,
        });
        Ok(ended)
    }
}

/// Plays a script's `request` from `page` once per engine, each in a fresh
/// browser, and returns the transcripts in the order of `engines`. Each
/// distinct request reaches `transport` once: engines that send the same
/// request get the same answer, so a live server sees one `DELETE`, not
/// three.
///
/// ```
/// use std::convert::Infallible;
/// use corsair::browser::{CorsRequest, Engine, Incoming, Outgoing, Page, Transport, play_in_each};
/// use http::{HeaderMap, HeaderValue, StatusCode};
///
/// /// Answers preflights with 403 and counts what it is sent.
/// struct RefusesPreflights(usize);
///
/// impl Transport for RefusesPreflights {
///     type Error = Infallible;
///     async fn exchange(&mut self, request: &Outgoing) -> Result<Incoming, Infallible> {
///         self.0 += 1;
///         let mut headers = HeaderMap::new();
///         headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
///         let status = if request.method == "OPTIONS" { StatusCode::FORBIDDEN } else { StatusCode::OK };
///         Ok(Incoming::new(status, headers))
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let page = Page::new("https://app.example.com")?;
/// // A client hint: safelisted in Chromium only.
/// let request = CorsRequest::get("https://api.example.com/").header("DPR", "2");
/// let mut server = RefusesPreflights(0);
/// let transcripts = play_in_each(&Engine::ALL, &page, &request, &mut server).await?;
/// let allowed: Vec<bool> = transcripts.iter().map(|t| t.allowed()).collect();
/// assert_eq!(allowed, [true, false, false]);
/// assert_eq!(server.0, 2); // the GET once, the preflight once
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// The transport's first error.
pub async fn play_in_each<T: Transport>(
    engines: &[Engine],
    page: &Page,
    request: &CorsRequest,
    transport: &mut T,
) -> Result<Vec<Transcript>, T::Error> {
    let mut shared = Shared {
        transport,
        answered: Vec::new(),
        sent: Vec::new(),
    };
    let mut transcripts = Vec::with_capacity(engines.len());
    for engine in engines {
        shared.sent.clear();
        let mut browser = Browser::on(page.clone()).with_engine(*engine);
        transcripts.push(browser.play(&mut shared, request).await?);
    }
    Ok(transcripts)
}

/// A transport shared by the engines of [`play_in_each`]: the n-th time an
/// engine sends a request, it gets the answer to the n-th time any engine
/// sent it, which only the first engine to get that far makes the server
/// give. A server whose answers change (a redirect to the same URL until
/// something is ready) is thus asked as often as one browser would ask it.
struct Shared<'t, T> {
    transport: &'t mut T,
    /// Each distinct request, and its answers in the order they came.
    answered: Vec<(Outgoing, Vec<Incoming>)>,
    /// How many times the current engine has sent each request.
    sent: Vec<(Outgoing, usize)>,
}

impl<T: Transport> Transport for Shared<'_, T> {
    type Error = T::Error;

    async fn exchange(&mut self, request: &Outgoing) -> Result<Incoming, T::Error> {
        let nth = match self.sent.iter_mut().find(|(sent, _)| sent == request) {
            Some((_, count)) => {
                *count += 1;
                *count - 1
            }
            None => {
                self.sent.push((request.clone(), 1));
                0
            }
        };
        let known = self.answered.iter().position(|(sent, _)| sent == request);
        if let Some(answer) = known
            .and_then(|index| self.answered.get(index))
            .and_then(|(_, answers)| answers.get(nth))
        {
            return Ok(answer.clone());
        }
        let incoming = self.transport.exchange(request).await?;
        match known.and_then(|index| self.answered.get_mut(index)) {
            Some((_, answers)) => answers.push(incoming.clone()),
            None => self
                .answered
                .push((request.clone(), vec![incoming.clone()])),
        }
        Ok(incoming)
    }
}

/// A response as Fetch sees it after the engine's HTTP parser: values
/// trimmed, and for Firefox the empty lines of a header that has others
/// left out.
fn received(mut response: Incoming, profile: &Profile) -> Incoming {
    strip_whitespace(&mut response.headers);
    if profile.skips_empty_header_lines {
        skip_empty_lines(&mut response.headers);
    }
    response
}

/// Whether the script gets no body whatever the server returned: Fetch
/// (§Main fetch) nulls the body of a response to `HEAD` or `CONNECT` and
/// of one with a null body status (101, 103, 204, 205, 304). Over HTTP/1.1
/// hyper does not even send a body for `HEAD`, 204 and 304; it does send
/// one for 205, and Chromium 156 and Firefox read `""` all the same, where
/// WebKit hands the script what came.
fn has_null_body(method: &str, status: StatusCode, profile: &Profile) -> bool {
    let status = status.as_u16();
    matches!(method, "HEAD" | "CONNECT")
        || matches!(status, 101 | 103 | 204 | 304)
        || (status == 205 && !profile.reads_205_body)
}

/// Leaves out the empty lines of every header that has a line with a
/// value, as Firefox's header parser does when it merges lines.
fn skip_empty_lines(headers: &mut HeaderMap) {
    let names: Vec<http::HeaderName> = headers.keys().cloned().collect();
    for name in names {
        let lines: Vec<HeaderValue> = headers.get_all(&name).iter().cloned().collect();
        if lines.len() < 2 || lines.iter().all(|line| !line.is_empty()) {
            continue;
        }
        let kept: Vec<HeaderValue> = lines.into_iter().filter(|line| !line.is_empty()).collect();
        if kept.is_empty() {
            continue;
        }
        headers.remove(&name);
        for line in kept {
            headers.append(name.clone(), line);
        }
    }
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
    use crate::browser::{Credentials, Engine};

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

    /// Header lines, in order.
    type Lines = &'static [(&'static str, &'static str)];

    /// A server that answers each URL with its own status and headers
    /// (404 for the others), and records what it was sent.
    struct Routes {
        routes: Vec<(&'static str, u16, Lines)>,
        sent: Vec<Outgoing>,
    }

    impl Routes {
        fn new(routes: &[(&'static str, u16, Lines)]) -> Self {
            Routes {
                routes: routes.to_vec(),
                sent: Vec::new(),
            }
        }

        fn origins_sent(&self) -> Vec<String> {
            self.sent
                .iter()
                .map(|sent| {
                    let origin = sent
                        .headers
                        .get(ORIGIN)
                        .map_or("-", |value| value.to_str().unwrap());
                    format!("{} {} {origin}", sent.method, sent.url)
                })
                .collect()
        }
    }

    impl Transport for Routes {
        type Error = Infallible;

        async fn exchange(&mut self, request: &Outgoing) -> Result<Incoming, Infallible> {
            self.sent.push(request.clone());
            // "OPTIONS https://..." answers preflights; a bare URL the rest.
            let with_method = format!("{} {}", request.method, request.url);
            let route = self
                .routes
                .iter()
                .find(|(key, _, _)| *key == with_method)
                .or_else(|| {
                    self.routes
                        .iter()
                        .find(|(key, _, _)| *key == request.url.as_str())
                });
            let Some((_, status, lines)) = route else {
                return Ok(Incoming::new(StatusCode::NOT_FOUND, HeaderMap::new()));
            };
            let mut headers = HeaderMap::new();
            for (name, value) in lines.iter() {
                headers.append(*name, HeaderValue::from_static(value));
            }
            Ok(Incoming::new(StatusCode::from_u16(*status).unwrap(), headers).with_body("body"))
        }
    }

    /// A redirect that passes the CORS check is followed: the script gets
    /// what the new URL answers. The hop from one foreign origin to
    /// another taints the origin, so the last request says `Origin: null`
    /// and needs `Access-Control-Allow-Origin: null` (or `*`).
    #[tokio::test]
    async fn redirects_are_followed_and_a_foreign_hop_taints_the_origin() {
        let mut server = Routes::new(&[
            (
                "https://api.example.com/a",
                302,
                &[
                    ("access-control-allow-origin", "https://app.example.com"),
                    ("location", "https://cdn.example.net/a"),
                ],
            ),
            (
                "https://cdn.example.net/a",
                200,
                &[("access-control-allow-origin", "https://app.example.com")],
            ),
        ]);
        let mut browser = Browser::new("https://app.example.com").unwrap();
        let transcript = browser
            .play(&mut server, &CorsRequest::get("https://api.example.com/a"))
            .await
            .unwrap();
        assert_eq!(
            server.origins_sent(),
            [
                "GET https://api.example.com/a https://app.example.com",
                "GET https://cdn.example.net/a null"
            ]
        );
        assert_eq!(
            transcript.verdict,
            Verdict::Blocked(Blocked::Cors(CorsFailure::AllowOriginMismatch {
                value: "https://app.example.com".into()
            }))
        );
        assert_eq!(transcript.hops.len(), 2);
        assert!(
            transcript.console_message().unwrap().starts_with(
                "Access to fetch at 'https://cdn.example.net/a' (redirected from \
                     'https://api.example.com/a') from origin 'https://app.example.com' has been \
                     blocked by CORS policy: The 'Access-Control-Allow-Origin' header has a value \
                     'https://app.example.com' that is not equal to the supplied origin."
            ),
            "{:?}",
            transcript.console_message()
        );

        // The same chain where the second server answers `*` is allowed.
        let mut open = Routes::new(&[
            (
                "https://api.example.com/a",
                307,
                &[
                    ("access-control-allow-origin", "*"),
                    ("location", "https://cdn.example.net/a"),
                ],
            ),
            (
                "https://cdn.example.net/a",
                200,
                &[("access-control-allow-origin", "*")],
            ),
        ]);
        let transcript = browser
            .play(&mut open, &CorsRequest::get("https://api.example.com/a"))
            .await
            .unwrap();
        assert!(transcript.allowed(), "{:?}", transcript.verdict);
        assert_eq!(
            transcript.redirect_chain(),
            ["https://api.example.com/a", "https://cdn.example.net/a"]
        );
    }

    /// A same-origin request redirected to another origin becomes a CORS
    /// request there, with the page's own origin (not tainted: the hop
    /// leaves the page's origin); a `POST` turned into `GET` by a 302
    /// loses its body; `Authorization` does not cross origins.
    #[tokio::test]
    async fn a_same_origin_post_redirected_away_becomes_a_cors_get() {
        let mut server = Routes::new(&[
            (
                "https://app.example.com/form",
                302,
                &[("location", "https://api.example.com/done")],
            ),
            (
                "https://api.example.com/done",
                200,
                &[("access-control-allow-origin", "https://app.example.com")],
            ),
        ]);
        let mut browser = Browser::new("https://app.example.com").unwrap();
        let request = CorsRequest::new("POST", "/form")
            .header("content-type", "text/plain")
            .header("authorization", "Bearer t")
            .body("x=1");
        let transcript = browser.play(&mut server, &request).await.unwrap();
        assert!(transcript.allowed(), "{:?}", transcript.verdict);
        assert_eq!(
            server.origins_sent(),
            [
                "POST https://app.example.com/form https://app.example.com",
                "GET https://api.example.com/done https://app.example.com"
            ]
        );
        let second = &server.sent[1];
        assert!(second.body.is_empty());
        assert!(!second.headers.contains_key("content-type"));
        assert!(!second.headers.contains_key("authorization"));
        assert_eq!(transcript.plan().map(|plan| plan.cross_origin), Some(false));
        assert!(transcript.last_hop().unwrap().plan.cross_origin);
    }

    /// A redirected request that needs a preflight gets one at its new
    /// URL; a `307` keeps the method and body.
    #[tokio::test]
    async fn the_new_url_of_a_preflighted_request_is_preflighted_again() {
        const ALLOW: Lines = &[
            ("access-control-allow-origin", "https://app.example.com"),
            ("access-control-allow-methods", "PUT"),
        ];
        let mut server = Routes::new(&[
            ("OPTIONS https://api.example.com/a", 204, ALLOW),
            (
                "https://api.example.com/a",
                307,
                &[
                    ("access-control-allow-origin", "https://app.example.com"),
                    ("location", "/b"),
                ],
            ),
            ("https://api.example.com/b", 200, ALLOW),
        ]);
        let mut browser = Browser::new("https://app.example.com").unwrap();
        let request = CorsRequest::new("PUT", "https://api.example.com/a").body("{}");
        let transcript = browser.play(&mut server, &request).await.unwrap();
        assert!(transcript.allowed(), "{:?}", transcript.verdict);
        let methods: Vec<String> = server
            .sent
            .iter()
            .map(|sent| format!("{} {}", sent.method, sent.url.path()))
            .collect();
        assert_eq!(methods, ["OPTIONS /a", "PUT /a", "OPTIONS /b", "PUT /b"]);
        assert_eq!(server.sent[3].body, "{}");
    }

    /// Each engine's preflight after a redirect, as the e2e suite's
    /// redirect scenarios show it: a preflighted `PUT` sent from one
    /// foreign origin to another is preflighted again with `Origin: null`,
    /// but by Firefox with the page's origin; a `GET` whose `Authorization`
    /// the hop stripped needs no preflight in Chromium, one without
    /// `Access-Control-Request-Headers` in Firefox, and one still naming
    /// `authorization` in WebKit.
    #[tokio::test]
    async fn each_engine_preflights_after_a_redirect_in_its_own_way() {
        const ECHO: Lines = &[
            ("access-control-allow-origin", "*"),
            ("access-control-allow-methods", "PUT, GET"),
            ("access-control-allow-headers", "x-custom, authorization"),
        ];
        let routes = || {
            Routes::new(&[
                ("OPTIONS https://a.example.net/r", 204, ECHO),
                (
                    "https://a.example.net/r",
                    307,
                    &[
                        ("access-control-allow-origin", "*"),
                        ("location", "https://b.example.org/final"),
                    ],
                ),
                ("https://b.example.org/final", 200, ECHO),
            ])
        };
        let put = CorsRequest::new("PUT", "https://a.example.net/r").header("x-custom", "1");
        let auth = CorsRequest::get("https://a.example.net/r").header("authorization", "Bearer t");
        for (engine, put_wire, auth_wire) in [
            (Engine::Chromium, "OPTIONS b null x-custom", "GET b null -"),
            (
                Engine::Firefox,
                "OPTIONS b https://app.example.com x-custom",
                "OPTIONS b https://app.example.com -",
            ),
            (
                Engine::WebKit,
                "OPTIONS b null x-custom",
                "OPTIONS b null authorization",
            ),
        ] {
            for (request, expected) in [(&put, put_wire), (&auth, auth_wire)] {
                let mut server = routes();
                let mut browser = Browser::new("https://app.example.com")
                    .unwrap()
                    .with_engine(engine);
                let transcript = browser.play(&mut server, request).await.unwrap();
                assert!(transcript.allowed(), "{engine}: {:?}", transcript.verdict);
                let at_b: Vec<String> = server
                    .sent
                    .iter()
                    .filter(|sent| sent.url.host_str() == Some("b.example.org"))
                    .map(|sent| {
                        let header = |name: &str| {
                            sent.headers
                                .get(name)
                                .map_or("-", |value| value.to_str().unwrap())
                                .to_owned()
                        };
                        format!(
                            "{} b {} {}",
                            sent.method,
                            header("origin"),
                            header("access-control-request-headers")
                        )
                    })
                    .collect();
                assert_eq!(at_b[0], expected, "{engine} {}", request.method());
                let last = server.sent.last().unwrap();
                assert_eq!(last.headers.get(ORIGIN).unwrap(), "null", "{engine}");
                assert!(!last.headers.contains_key("authorization"), "{engine}");
            }
        }
    }

    /// A redirect to the page's own origin with a user name in the URL:
    /// Chromium refuses it, Firefox and WebKit follow it.
    #[tokio::test]
    async fn only_chromium_refuses_a_same_origin_redirect_to_userinfo() {
        for (engine, followed) in [
            (Engine::Chromium, false),
            (Engine::Firefox, true),
            (Engine::WebKit, true),
        ] {
            let mut server = Routes::new(&[
                (
                    "https://app.example.com/r",
                    302,
                    &[("location", "https://user:pw@app.example.com/final")],
                ),
                ("https://user:pw@app.example.com/final", 200, &[]),
            ]);
            let mut browser = Browser::new("https://app.example.com")
                .unwrap()
                .with_engine(engine);
            let transcript = browser
                .play(&mut server, &CorsRequest::get("/r"))
                .await
                .unwrap();
            assert_eq!(transcript.allowed(), followed, "{engine}");
            assert_eq!(server.sent.len(), if followed { 2 } else { 1 }, "{engine}");
        }
    }

    /// Firefox leaves an empty header line out when it combines lines;
    /// Chromium and WebKit read `, <origin>` and refuse. WebKit hands the
    /// script a 205's body.
    #[tokio::test]
    async fn empty_lines_and_205_bodies_per_engine() {
        for (engine, allowed) in [
            (Engine::Chromium, false),
            (Engine::Firefox, true),
            (Engine::WebKit, false),
        ] {
            let mut server = Fixed::new(
                200,
                &[
                    ("access-control-allow-origin", ""),
                    ("access-control-allow-origin", "https://app.example.com"),
                ],
            );
            let mut browser = Browser::new("https://app.example.com")
                .unwrap()
                .with_engine(engine);
            let transcript = browser
                .play(&mut server, &CorsRequest::get("https://api.example.com/"))
                .await
                .unwrap();
            assert_eq!(transcript.allowed(), allowed, "{engine}");
        }
        for (engine, body) in [
            (Engine::Chromium, ""),
            (Engine::Firefox, ""),
            (Engine::WebKit, "body"),
        ] {
            let mut server = Fixed::new(205, &[("access-control-allow-origin", "*")]);
            let mut browser = Browser::new("https://app.example.com")
                .unwrap()
                .with_engine(engine);
            let transcript = browser
                .play(&mut server, &CorsRequest::get("https://api.example.com/"))
                .await
                .unwrap();
            let actual = transcript.hops[0].actual.as_ref().unwrap();
            assert_eq!(actual.response.body, body, "{engine}");
        }
    }

    /// More than 20 redirects is a network error.
    #[tokio::test]
    async fn a_redirect_loop_ends_after_twenty() {
        let mut server = Routes::new(&[(
            "https://api.example.com/loop",
            302,
            &[("access-control-allow-origin", "*"), ("location", "/loop")],
        )]);
        let mut browser = Browser::new("https://app.example.com").unwrap();
        let transcript = browser
            .play(
                &mut server,
                &CorsRequest::get("https://api.example.com/loop"),
            )
            .await
            .unwrap();
        assert_eq!(
            transcript.verdict,
            Verdict::Blocked(Blocked::TooManyRedirects)
        );
        assert_eq!(server.sent.len(), 21);
        assert_eq!(transcript.hops.len(), 21);
    }

    /// `play_in_each` shares answers across engines, never within one
    /// engine's chain: a redirect to the same URL reaches the server each
    /// time, as it would from one browser, and the other engines replay
    /// those answers.
    #[tokio::test]
    async fn engines_share_answers_but_each_chain_is_asked_in_full() {
        let mut server = Routes::new(&[(
            "https://api.example.com/loop",
            302,
            &[("access-control-allow-origin", "*"), ("location", "/loop")],
        )]);
        let page = Page::new("https://app.example.com").unwrap();
        let transcripts = play_in_each(
            &Engine::ALL,
            &page,
            &CorsRequest::get("https://api.example.com/loop"),
            &mut server,
        )
        .await
        .unwrap();
        assert_eq!(server.sent.len(), 21, "one browser's worth of requests");
        for transcript in &transcripts {
            assert_eq!(
                transcript.verdict,
                Verdict::Blocked(Blocked::TooManyRedirects)
            );
            assert_eq!(transcript.hops.len(), 21);
        }
    }

    /// A CORS request redirected to a URL with a user name is refused.
    #[tokio::test]
    async fn a_redirect_to_credentials_is_refused() {
        let mut server = Routes::new(&[(
            "https://api.example.com/a",
            302,
            &[
                ("access-control-allow-origin", "*"),
                ("location", "https://user:pw@cdn.example.net/a"),
            ],
        )]);
        let mut browser = Browser::new("https://app.example.com").unwrap();
        let transcript = browser
            .play(&mut server, &CorsRequest::get("https://api.example.com/a"))
            .await
            .unwrap();
        assert!(matches!(
            transcript.verdict,
            Verdict::Blocked(Blocked::RedirectCredentials { .. })
        ));
        assert_eq!(server.sent.len(), 1);
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
        let (first, second) = (&first.hops[0], &second.hops[0]);
        assert!(first.preflight.is_some() && !first.preflight_cached);
        assert!(second.preflight.is_none() && second.preflight_cached);
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
        assert!(transcript.plan().is_none() && server.sent.is_empty());
    }
}
