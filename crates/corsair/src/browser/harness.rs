//! [`Browser`]: a browser tab on one page, and [`Browser::fetch`], which
//! plays requests through any tower `Service` exactly as a browser would
//! and returns what the page's script could read.

use std::fmt;
use std::future::poll_fn;
use std::marker::PhantomData;
use std::time::Duration;

use bytes::Bytes;

use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tower_service::Service;

use super::cache::PreflightCache;
use super::cookies::{CookieJar, CookieReport, Site};
use super::engine::Engine;
use super::error::Blocked;
use super::plan::Page;
use super::play::{Incoming, Outgoing, Transport, Verdict};
use super::profile::Profile;
use super::request::{Client, CorsRequest};

/// A browser tab on one page: it plans each request, sends the preflight
/// when Fetch requires one and the preflight cache does not cover it, then
/// the actual request with or without cookies, and returns what the page's
/// script could read, or why the browser blocked it.
///
/// Time is virtual: it starts at zero and moves only with
/// [`Browser::advance`], so preflight-cache and cookie expiry are
/// deterministic in tests.
///
/// Prove your single-page app can call your API:
///
/// ```
/// use axum::{Router, routing::get};
/// use corsair::browser::{Browser, CorsRequest, Credentials};
/// use corsair::{Config, Cors};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let cors = Cors::new(Config {
///     allow_origins: vec!["https://app.example.com".into()],
///     allow_credentials: true,
///     allow_methods: vec!["PUT".into()],
///     allow_headers: vec!["content-type".into()],
///     ..Config::default()
/// })?;
/// let mut api = Router::new()
///     .route("/items/1", get(|| async { "{}" }).put(|| async { "saved" }))
///     .layer(cors);
///
/// let mut browser = Browser::new("https://app.example.com")?;
/// let response = browser
///     .fetch(
///         &mut api,
///         CorsRequest::new("PUT", "https://api.example.com/items/1")
///             .header("content-type", "application/json")
///             .body("{}")
///             .credentials(Credentials::Include),
///     )
///     .await?;
/// assert_eq!(response.text(), "saved");
/// assert_eq!(browser.preflights_sent(), 1);
///
/// // Another page is refused, as a browser would refuse it.
/// let mut evil = Browser::new("https://evil.example")?;
/// let blocked = evil.fetch(&mut api, CorsRequest::get("https://api.example.com/items/1")).await;
/// assert!(blocked.is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Browser {
    pub(super) page: Page,
    /// The page's site, which keys partitioned cookies.
    pub(super) page_site: Site,
    pub(super) profile: Profile,
    pub(super) cache: PreflightCache,
    pub(super) jar: CookieJar,
    pub(super) now: Duration,
    pub(super) preflights: usize,
}

/// What the page's script can read of a response.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ScriptResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers the script may read (safelisted and exposed ones).
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// What the engine did with each cookie the responses set (the script
    /// cannot see these; a test can).
    pub cookies: Vec<CookieReport>,
}

impl ScriptResponse {
    /// The body as text (invalid UTF-8 replaced).
    #[must_use]
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header as the script reads it (`response.headers.get(name)`), or
    /// `None` when absent or not exposed.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// A blocked request, with what the engine's console prints and what to
/// change.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BlockedRequest {
    /// Why.
    pub reason: Blocked,
    /// The engine that blocked it.
    pub engine: Engine,
    /// The request's URL (the last one, after redirects).
    pub url: String,
    /// The page's origin.
    pub origin: String,
    /// The script API used.
    pub client: Client,
    /// What the engine's console prints.
    pub console: String,
    /// What to change.
    pub fix: String,
}

impl fmt::Display for BlockedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\nfix: {}", self.console, self.fix)
    }
}

/// Why [`Browser::fetch`] did not return a response.
#[derive(Debug)]
#[non_exhaustive]
pub enum FetchError<E> {
    /// The browser blocked the request (the script sees a `TypeError`).
    Blocked(BlockedRequest),
    /// The service failed.
    Service(E),
    /// The response body could not be read.
    Body(String),
    /// Something this model does not cover.
    Unsupported(&'static str),
}

impl<E> FetchError<E> {
    /// The reason, when the browser blocked the request.
    #[must_use]
    pub fn blocked(&self) -> Option<&Blocked> {
        match self {
            FetchError::Blocked(blocked) => Some(&blocked.reason),
            _ => None,
        }
    }
}

impl<E: fmt::Display> fmt::Display for FetchError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Blocked(blocked) => blocked.fmt(f),
            FetchError::Service(error) => write!(f, "the service failed: {error}"),
            FetchError::Body(error) => write!(f, "the response body could not be read: {error}"),
            FetchError::Unsupported(what) => write!(f, "not modelled by corsair::browser: {what}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for FetchError<E> {}

impl Browser {
    /// A browser on the page at `page_url` (an origin will do), behaving as
    /// Chromium does by default ([`Browser::with_engine`] picks another
    /// engine).
    ///
    /// # Errors
    /// [`Blocked::InvalidUrl`] when `page_url` does not parse.
    pub fn new(page_url: &str) -> Result<Self, Blocked> {
        Ok(Browser::on(Page::new(page_url)?))
    }

    /// A browser on `page` (for instance [`Page::opaque`], a sandboxed
    /// iframe).
    #[must_use]
    pub fn on(page: Page) -> Self {
        Browser {
            page_site: Site::of_page(&page, &Profile::default().cookies),
            page,
            profile: Profile::default(),
            cache: PreflightCache::default(),
            jar: CookieJar::default(),
            now: Duration::ZERO,
            preflights: 0,
        }
    }

    /// The same browser as `engine` ships it: its safelist, its preflight
    /// cache, its cookie rules, its console's words.
    ///
    /// ```
    /// use corsair::browser::{Browser, Engine};
    ///
    /// let safari = Browser::new("https://app.example.com")?.with_engine(Engine::WebKit);
    /// assert_eq!(safari.profile().engine, Engine::WebKit);
    /// # Ok::<(), corsair::browser::Blocked>(())
    /// ```
    #[must_use]
    pub fn with_engine(self, engine: Engine) -> Self {
        self.with_profile(engine.profile())
    }

    /// The same browser with another profile: an engine's, with a setting
    /// changed (see [`Profile::with_third_party_cookies`]).
    #[must_use]
    pub fn with_profile(mut self, profile: Profile) -> Self {
        self.page_site = Site::of_page(&self.page, &profile.cookies);
        self.profile = profile;
        self
    }

    /// The profile of the engine this browser plays.
    #[must_use]
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The page.
    #[must_use]
    pub fn page(&self) -> &Page {
        &self.page
    }

    /// Opens another page in the same browser: its cookies and preflight
    /// cache stay, as when a user logs in on one site and then visits
    /// another.
    ///
    /// # Errors
    /// [`Blocked::InvalidUrl`] when `page_url` does not parse.
    pub fn navigate(&mut self, page_url: &str) -> Result<(), Blocked> {
        let page = Page::new(page_url)?;
        self.page_site = Site::of_page(&page, &self.profile.cookies);
        self.page = page;
        Ok(())
    }

    /// Moves the browser's clock forward.
    pub fn advance(&mut self, by: Duration) {
        self.now = self.now.saturating_add(by);
    }

    /// How many preflights this browser has sent.
    #[must_use]
    pub fn preflights_sent(&self) -> usize {
        self.preflights
    }

    /// The preflight cache.
    #[must_use]
    pub fn preflight_cache(&self) -> &PreflightCache {
        &self.cache
    }

    /// Sends `request` through `service` as a browser would and returns what
    /// the script could read. Requests carry a [`Full`] body, which an axum
    /// `Router` and most services accept; for a service that wants another
    /// request body type, use [`Browser::fetch_as`].
    ///
    /// # Errors
    /// [`FetchError::Blocked`] when the browser refuses the request or hides
    /// its response, [`FetchError::Service`] or [`FetchError::Body`] when the
    /// service fails, [`FetchError::Unsupported`] for what the model does
    /// not cover.
    pub async fn fetch<S, ResBody>(
        &mut self,
        service: &mut S,
        request: CorsRequest,
    ) -> Result<ScriptResponse, FetchError<S::Error>>
    where
        S: Service<Request<Full<Bytes>>, Response = Response<ResBody>>,
        ResBody: http_body::Body,
        ResBody::Error: fmt::Display,
    {
        self.fetch_as::<S, Full<Bytes>, ResBody>(service, request)
            .await
    }

    /// [`Browser::fetch`] for a service whose request body type is
    /// `ReqBody` (for instance `axum::body::Body`):
    /// `browser.fetch_as::<_, Body, _>(&mut service, request)`.
    ///
    /// # Errors
    /// As [`Browser::fetch`].
    pub async fn fetch_as<S, ReqBody, ResBody>(
        &mut self,
        service: &mut S,
        request: CorsRequest,
    ) -> Result<ScriptResponse, FetchError<S::Error>>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>>,
        ReqBody: From<Bytes>,
        ResBody: http_body::Body,
        ResBody::Error: fmt::Display,
    {
        let mut transport = ServiceTransport {
            service,
            body: PhantomData::<fn() -> ReqBody>,
        };
        let transcript = self.play(&mut transport, &request).await?;
        let console = transcript.console_message().unwrap_or_default();
        let fix = transcript.fix().unwrap_or_default();
        let url = transcript
            .last_hop()
            .map_or_else(|| transcript.url.clone(), |hop| hop.plan.url.to_string());
        let actual = transcript
            .hops
            .last()
            .and_then(|hop| hop.actual.as_ref())
            .map(|actual| actual.response.clone());
        match transcript.verdict {
            Verdict::Allowed { readable, .. } => match actual {
                Some(response) => Ok(ScriptResponse {
                    status: response.status,
                    headers: readable,
                    body: response.body,
                    cookies: transcript.cookies,
                }),
                None => Err(FetchError::Unsupported(
                    "an allowed request with no response",
                )),
            },
            Verdict::Blocked(reason) => Err(FetchError::Blocked(BlockedRequest {
                reason,
                engine: transcript.engine,
                url,
                origin: transcript.origin,
                client: transcript.client,
                console,
                fix,
            })),
            Verdict::Unsupported(what) => Err(FetchError::Unsupported(what)),
        }
    }
}

/// A tower service as the browser's [`Transport`]: each [`Outgoing`]
/// becomes a `Request<ReqBody>` with its `Host`, and the response body is
/// read whole.
struct ServiceTransport<'s, S, ReqBody> {
    service: &'s mut S,
    body: PhantomData<fn() -> ReqBody>,
}

impl<S, ReqBody, ResBody> Transport for ServiceTransport<'_, S, ReqBody>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ReqBody: From<Bytes>,
    ResBody: http_body::Body,
    ResBody::Error: fmt::Display,
{
    type Error = FetchError<S::Error>;

    async fn exchange(&mut self, outgoing: &Outgoing) -> Result<Incoming, Self::Error> {
        let method = Method::from_bytes(outgoing.method.as_bytes())
            .map_err(|_| FetchError::Unsupported("a method that is not a token"))?;
        let headers = outgoing.headers_with_host();
        let mut request = Request::builder()
            .method(method)
            .uri(outgoing.target())
            .body(ReqBody::from(outgoing.body.clone()))
            .map_err(|_| FetchError::Unsupported("a URL that is not a request target"))?;
        *request.headers_mut() = headers;
        poll_fn(|cx| self.service.poll_ready(cx))
            .await
            .map_err(FetchError::Service)?;
        let response = self
            .service
            .call(request)
            .await
            .map_err(FetchError::Service)?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|error| FetchError::Body(error.to_string()))?
            .to_bytes();
        Ok(Incoming::new(parts.status, parts.headers).with_body(body))
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;
    use std::convert::Infallible;

    use super::*;
    use crate::browser::Credentials;

    /// A service whose header values carry the spaces a hand-written server
    /// may put there; over HTTP the browser never sees them (Chromium 156
    /// allows this request and its script reads `x-a` as `v`: see
    /// `crates/e2e/tests/differential.rs`).
    #[tokio::test]
    async fn header_values_are_read_without_surrounding_whitespace() {
        let mut service = tower::service_fn(|_: Request<Full<Bytes>>| async {
            let mut response = Response::new(Full::new(Bytes::from_static(b"ok")));
            let headers = response.headers_mut();
            for (name, value) in [
                ("access-control-allow-origin", " https://app.example.com\t"),
                ("access-control-allow-credentials", "true "),
                ("access-control-expose-headers", "x-a"),
                ("x-a", "  v  "),
            ] {
                headers.append(name, HeaderValue::from_static(value));
            }
            Ok::<_, Infallible>(response)
        });
        let mut browser = Browser::new("https://app.example.com").unwrap();
        let response = browser
            .fetch(
                &mut service,
                CorsRequest::get("https://api.example.com/").credentials(Credentials::Include),
            )
            .await
            .unwrap();
        assert_eq!(response.header("x-a"), Some("v"));
        assert_eq!(response.text(), "ok");
    }

    /// Only what the browser would follow (a redirect status with
    /// `Location`) is followed; a 300 or 304 with `Location`, or a 302
    /// without, is an ordinary response that the script reads (Chromium 156
    /// returns a 300 with `Location` to the script: see
    /// `crates/e2e/tests/differential.rs`).
    #[tokio::test]
    async fn only_redirect_statuses_with_location_are_followed() {
        let mut service = tower::service_fn(|request: Request<Full<Bytes>>| async move {
            let path = request.uri().path().trim_start_matches('/').to_owned();
            let (status, location) = path.split_once('-').unwrap_or((&path, ""));
            let mut response = Response::new(Full::new(Bytes::from(path.clone())));
            *response.status_mut() = match status.parse() {
                Ok(status) => StatusCode::from_u16(status).unwrap(),
                Err(_) => StatusCode::OK,
            };
            let headers = response.headers_mut();
            headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
            if location == "location" {
                headers.insert("location", HeaderValue::from_static("/elsewhere"));
            }
            Ok::<_, Infallible>(response)
        });
        let mut browser = Browser::new("https://app.example.com").unwrap();
        for (path, followed) in [
            ("302-location", true),
            ("307-location", true),
            ("302", false),
            ("300-location", false),
            ("304-location", false),
        ] {
            let response = browser
                .fetch(
                    &mut service,
                    CorsRequest::get(format!("https://api.example.com/{path}")),
                )
                .await
                .unwrap();
            if followed {
                assert_eq!(response.status, StatusCode::OK, "{path}");
                assert_eq!(response.text(), "elsewhere", "{path}");
            } else {
                let status = path.split('-').next().unwrap();
                assert_eq!(response.status.as_str(), status, "{path}");
            }
        }
    }

    /// Fetch nulls the body of a response to `HEAD` and of a 204, 205 or
    /// 304, even when the service wrote one (Chromium 156 reads `""` for a
    /// 204 and for a 205 whose body hyper sent: see
    /// `crates/e2e/tests/differential.rs`).
    #[tokio::test]
    async fn null_body_statuses_and_head_have_no_body() {
        let mut service = tower::service_fn(|request: Request<Full<Bytes>>| async move {
            let status = request
                .uri()
                .path()
                .trim_start_matches('/')
                .parse::<u16>()
                .unwrap();
            let mut response = Response::new(Full::new(Bytes::from_static(b"content")));
            *response.status_mut() = StatusCode::from_u16(status).unwrap();
            response
                .headers_mut()
                .insert("access-control-allow-origin", HeaderValue::from_static("*"));
            Ok::<_, Infallible>(response)
        });
        let mut browser = Browser::new("https://app.example.com").unwrap();
        for (method, status, body) in [
            ("GET", 200, "content"),
            ("GET", 204, ""),
            ("GET", 205, ""),
            ("GET", 206, "content"),
            ("HEAD", 200, ""),
        ] {
            let response = browser
                .fetch(
                    &mut service,
                    CorsRequest::new(method, format!("https://api.example.com/{status}")),
                )
                .await
                .unwrap();
            assert_eq!(response.status.as_u16(), status);
            assert_eq!(response.text(), body, "{method} {status}");
        }
    }
}
