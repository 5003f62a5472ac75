//! The actix-web adapter: `Cors` is a [`Transform`], so
//! `App::new().wrap(cors.clone())` puts a policy in front of an app.
//!
//! The adapter holds no CORS rule: it takes one policy snapshot per request,
//! calls [`Policy::check_request`] on actix-web's own header map, answers
//! preflights with [`Policy::write_preflight_headers`] without calling the
//! app, and passes every other response through [`Policy::apply`]. When a
//! policy with an origin source must ask it ([`Decision::Lookup`]), the
//! app is called at once if it may run whatever the answer, else after it.
//!
//! An error returned by the app (or an inner middleware) stays an error for
//! the middleware outside, but the response actix-web renders from it
//! carries the CORS headers an allowed origin needs, so the page's script
//! can read it instead of an opaque network error.

use std::cell::RefCell;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::error::InternalError;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::{Error, HttpResponse};
use pin_project_lite::pin_project;

use crate::adapter::{RequestHeader, RequestHeaders, ResponseHeaders, ResponseValue};
use crate::cors::{Cors, PolicyCache};
use crate::policy::{Actual, Decision, OriginLookup, Policy, Preflight, Refusal};

impl RequestHeaders for HeaderMap {
    type Value = HeaderValue;

    fn values_of(&self, header: RequestHeader) -> impl Iterator<Item = &HeaderValue> {
        let name = match header {
            RequestHeader::Origin => header::ORIGIN,
            RequestHeader::RequestMethod => header::ACCESS_CONTROL_REQUEST_METHOD,
            RequestHeader::RequestHeaders => header::ACCESS_CONTROL_REQUEST_HEADERS,
            RequestHeader::SecFetchSite => header::HeaderName::from_static("sec-fetch-site"),
            RequestHeader::Host => header::HOST,
            RequestHeader::Upgrade => header::UPGRADE,
        };
        self.get_all(name)
    }

    fn bytes(value: &HeaderValue) -> &[u8] {
        value.as_bytes()
    }
}

/// The response headers the policy writes, as `http` 1 and actix-web's
/// `http` 0.2 spell them: the same names, other types. Matching the
/// constants costs a comparison each, where parsing the name costs a lookup
/// in the standard header table.
const NAMES: [(http::HeaderName, HeaderName); 7] = [
    (
        http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
    ),
    (
        http::header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
    ),
    (http::header::VARY, header::VARY),
    (
        http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
    ),
    (
        http::header::ACCESS_CONTROL_ALLOW_METHODS,
        header::ACCESS_CONTROL_ALLOW_METHODS,
    ),
    (
        http::header::ACCESS_CONTROL_ALLOW_HEADERS,
        header::ACCESS_CONTROL_ALLOW_HEADERS,
    ),
    (
        http::header::ACCESS_CONTROL_MAX_AGE,
        header::ACCESS_CONTROL_MAX_AGE,
    ),
];

fn name(name: &http::HeaderName) -> Option<HeaderName> {
    match NAMES.iter().find(|(http, _)| http == name) {
        Some((_, actix)) => Some(actix.clone()),
        None => HeaderName::from_bytes(name.as_str().as_bytes()).ok(),
    }
}

/// Any actix-web map, written value by value: each rendered value is copied
/// into a new actix-web value. The middleware writes through its own map
/// instead, which converts every value once per policy.
impl ResponseHeaders<HeaderValue> for HeaderMap {
    fn has_access_control(&self) -> bool {
        has_access_control(self)
    }

    fn remove(&mut self, header: &http::HeaderName) {
        Writer::plain(self).remove(header);
    }

    fn insert(&mut self, header: &http::HeaderName, content: ResponseValue<'_, HeaderValue>) {
        Writer::plain(self).insert(header, content);
    }

    fn append(&mut self, header: &http::HeaderName, content: ResponseValue<'_, HeaderValue>) {
        Writer::plain(self).append(header, content);
    }

    fn any_value(&self, header: &http::HeaderName, test: impl FnMut(&[u8]) -> bool) -> bool {
        any_value(self, header, test)
    }
}

fn has_access_control(map: &HeaderMap) -> bool {
    map.keys()
        .any(|name| name.as_str().starts_with("access-control-"))
}

fn any_value(
    map: &HeaderMap,
    header: &http::HeaderName,
    mut test: impl FnMut(&[u8]) -> bool,
) -> bool {
    name(header).is_some_and(|header| map.get_all(header).any(|content| test(content.as_bytes())))
}

/// A policy with actix-web copies of every value it renders, made once when
/// the middleware first meets the policy, so that writing a response
/// allocates no header value.
struct Rendered {
    policy: Arc<Policy>,
    values: Vec<(http::HeaderValue, HeaderValue)>,
}

impl Rendered {
    fn new(policy: Arc<Policy>) -> Self {
        let mut values: Vec<(http::HeaderValue, HeaderValue)> = Vec::new();
        for rendered in policy.rendered_values() {
            // Kept by buffer, as `get` finds them: two equal texts in two
            // buffers (possible past the interning budget) are both kept.
            if values.iter().any(|(known, _)| same_buffer(known, rendered)) {
                continue;
            }
            // The interned text's own `'static` bytes when there is one
            // (a clone then touches no reference count), a copy otherwise.
            let bytes = std::str::from_utf8(rendered.as_bytes())
                .ok()
                .and_then(crate::policy::interned::text)
                .map_or_else(
                    || bytes::Bytes::copy_from_slice(rendered.as_bytes()),
                    |text| bytes::Bytes::from_static(text.as_bytes()),
                );
            if let Ok(actix) = HeaderValue::from_maybe_shared(bytes) {
                values.push((rendered.clone(), actix));
            }
        }
        Rendered { policy, values }
    }

    /// The actix-web copy of `rendered`. The values the policy writes share
    /// the buffers of those it was built with, so comparing addresses finds
    /// them; anything else (the debug reason) is copied.
    fn get(&self, rendered: &http::HeaderValue) -> Option<HeaderValue> {
        self.values
            .iter()
            .find(|(known, _)| same_buffer(known, rendered))
            .map(|(_, actix)| actix.clone())
            .or_else(|| HeaderValue::from_bytes(rendered.as_bytes()).ok())
    }
}

/// Whether two values are the very same bytes in memory.
fn same_buffer(one: &http::HeaderValue, other: &http::HeaderValue) -> bool {
    let (one, other) = (one.as_bytes(), other.as_bytes());
    std::ptr::eq(one.as_ptr(), other.as_ptr()) && one.len() == other.len()
}

/// An actix-web response map, written with the values of a [`Rendered`]
/// when there is one, or with fresh copies of the rendered values.
struct Writer<'a> {
    map: &'a mut HeaderMap,
    rendered: Option<&'a Rendered>,
}

impl<'a> Writer<'a> {
    fn plain(map: &'a mut HeaderMap) -> Self {
        Writer {
            map,
            rendered: None,
        }
    }

    fn value(&self, content: ResponseValue<'_, HeaderValue>) -> Option<HeaderValue> {
        match (content, self.rendered) {
            (ResponseValue::Rendered(rendered), Some(known)) => known.get(rendered),
            (ResponseValue::Rendered(rendered), None) => {
                HeaderValue::from_bytes(rendered.as_bytes()).ok()
            }
            (ResponseValue::Echo(echoed), _) => Some(echoed.clone()),
        }
    }
}

impl ResponseHeaders<HeaderValue> for Writer<'_> {
    fn has_access_control(&self) -> bool {
        has_access_control(self.map)
    }

    fn remove(&mut self, header: &http::HeaderName) {
        if let Some(header) = name(header) {
            self.map.remove(header);
        }
    }

    fn insert(&mut self, header: &http::HeaderName, content: ResponseValue<'_, HeaderValue>) {
        if let (Some(header), Some(content)) = (name(header), self.value(content)) {
            self.map.insert(header, content);
        }
    }

    fn append(&mut self, header: &http::HeaderName, content: ResponseValue<'_, HeaderValue>) {
        if let (Some(header), Some(content)) = (name(header), self.value(content)) {
            self.map.append(header, content);
        }
    }

    fn any_value(&self, header: &http::HeaderName, test: impl FnMut(&[u8]) -> bool) -> bool {
        any_value(self.map, header, test)
    }

    fn append_unless(
        &mut self,
        header: &http::HeaderName,
        content: ResponseValue<'_, HeaderValue>,
        mut present: impl FnMut(&[u8]) -> bool,
    ) {
        let Some(header) = name(header) else { return };
        if self
            .map
            .get_all(&header)
            .any(|line| present(line.as_bytes()))
        {
            return;
        }
        if let Some(content) = self.value(content) {
            self.map.append(header, content);
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for Cors
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = CorsMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(CorsMiddleware {
            service: Rc::new(service),
            cors: self.clone(),
            last: RefCell::new(self.reader(|policy| Rc::new(Rendered::new(Arc::clone(policy))))),
        }))
    }
}

/// An actix-web service with a CORS policy in front of it. Made by
/// `App::new().wrap(cors)`.
///
/// ```
/// use actix_web::{App, HttpResponse, test, web};
/// use corsair::{Config, Cors};
///
/// # actix_web::rt::System::new().block_on(async {
/// let cors = Cors::new(Config {
///     allow_origins: vec!["https://app.example.com".into()],
///     allow_credentials: true,
///     allow_methods: vec!["PUT".into()],
///     ..Config::default()
/// })
/// .unwrap();
/// let app = test::init_service(
///     App::new().wrap(cors).route("/items/1", web::put().to(HttpResponse::Ok)),
/// )
/// .await;
///
/// let preflight = test::TestRequest::default()
///     .method(actix_web::http::Method::OPTIONS)
///     .uri("/items/1")
///     .insert_header(("origin", "https://app.example.com"))
///     .insert_header(("access-control-request-method", "PUT"))
///     .to_request();
/// let response = test::call_service(&app, preflight).await;
/// assert_eq!(response.status(), 204);
/// assert_eq!(
///     response.headers().get("access-control-allow-origin").unwrap(),
///     "https://app.example.com"
/// );
/// # });
/// ```
pub struct CorsMiddleware<S> {
    /// Shared with the futures of requests that wait for an origin source
    /// before the app may see them.
    service: Rc<S>,
    cors: Cors,
    /// The policy last used, with its values converted for actix-web;
    /// replaced when [`Cors::reconfigure`] replaces the policy.
    last: RefCell<Last>,
}

/// What a middleware keeps from one request to the next: the policy, with
/// its values converted for actix-web, converted again only when
/// [`Cors::reconfigure`] replaced it.
type Last = PolicyCache<Rc<Rendered>>;

impl<S> std::fmt::Debug for CorsMiddleware<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CorsMiddleware")
            .field("cors", &self.cors)
            .finish_non_exhaustive()
    }
}

impl<S> CorsMiddleware<S> {
    /// The policy in force, with its converted values: the last one's when
    /// it is still in force (no reference count taken), a new one's
    /// otherwise.
    fn rendered(&self) -> Rc<Rendered> {
        match self.last.try_borrow_mut() {
            Ok(mut last) => Rc::clone(last.load().1),
            // Only a reentrant call could find it borrowed; it does without.
            Err(_) => Rc::new(Rendered::new(self.cors.policy())),
        }
    }
}

impl<S, B> Service<ServiceRequest> for CorsMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = ResponseFuture<S::Future, B>;

    forward_ready!(service);

    fn call(&self, mut request: ServiceRequest) -> Self::Future {
        let rendered = self.rendered();
        let policy = &rendered.policy;
        // As `adapter::complete_host`, for actix-web's types: HTTP/2 keeps
        // the host in the URI, and the policy may read `Host`.
        if policy.reads_host(request.method() == actix_web::http::Method::CONNECT)
            && !request.headers().contains_key(header::HOST)
            && let Some(host) = request
                .uri()
                .authority()
                .and_then(|authority| HeaderValue::from_str(authority.as_str()).ok())
        {
            request.headers_mut().insert(header::HOST, host);
        }
        #[cfg(feature = "browser")]
        if policy.report_only() {
            return report_only(request, &self.service, rendered);
        }
        let decision = policy.check_request(request.method().as_str(), request.headers());
        let response = match decision {
            Decision::Actual(actual) => {
                return ResponseFuture {
                    state: State::Actual {
                        actual: actual.into_owned(),
                        future: self.service.call(request),
                        rendered,
                    },
                };
            }
            Decision::Preflight(preflight) => preflight_answer(&preflight, &rendered),
            Decision::Forbidden(refusal) => forbidden_answer(&refusal, &rendered),
            Decision::Lookup(lookup) => {
                let lookup = lookup_owned(&lookup);
                return wait_for_source(lookup, request, &self.service, rendered);
            }
        };
        ResponseFuture {
            state: State::Answered {
                response: Some(request.into_response(response).map_into_right_body()),
            },
        }
    }
}
/// The answer to a preflight, in actix-web's terms. Inlined into each
/// caller, so that requests the lists decide run the code they ran before
/// origin sources existed.
#[inline(always)]
fn preflight_answer(preflight: &Preflight<'_, HeaderMap>, rendered: &Rendered) -> HttpResponse {
    let policy = &rendered.policy;
    let status = StatusCode::from_u16(policy.preflight_status(preflight).as_u16())
        .unwrap_or(StatusCode::FORBIDDEN);
    let mut response = HttpResponse::new(status);
    policy.write_preflight_headers(
        preflight,
        &mut Writer {
            map: response.headers_mut(),
            rendered: Some(rendered),
        },
    );
    // A refused preflight's reason goes in its body too (a `204` has none).
    let refused = matches!(preflight, Preflight::Refused(_));
    match policy.debug_reason(preflight).filter(|_| refused) {
        Some(reason) => {
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            response.set_body(BoxBody::new(reason))
        }
        None => response,
    }
}

/// The answer to a request cross-origin protection refused (inlined, as
/// [`preflight_answer`]).
#[inline(always)]
fn forbidden_answer(refusal: &Refusal<'_>, rendered: &Rendered) -> HttpResponse {
    let mut response = HttpResponse::new(StatusCode::FORBIDDEN);
    rendered.policy.write_forbidden_headers(
        refusal,
        &mut Writer {
            map: response.headers_mut(),
            rendered: Some(rendered),
        },
    );
    response
}

/// What the future of a waiting request keeps of its lookup: whether the
/// app may run meanwhile, the origin, and the answer to come.
struct LookupOwned {
    before_application: bool,
    origin: HeaderValue,
    resolving: crate::policy::Resolving,
}

// Without the `origin-source` feature no lookup exists, and this is never
// reached.
#[cfg_attr(not(feature = "origin-source"), allow(unreachable_code))]
#[cold]
#[inline(never)]
fn lookup_owned(lookup: &OriginLookup<'_, HeaderValue>) -> LookupOwned {
    LookupOwned {
        before_application: lookup.before_application(),
        origin: lookup.origin().clone(),
        resolving: lookup.clone().resolve(),
    }
}

/// The future of a request whose verdict waits for the origin source. Out
/// of line, as all the lookup's code.
#[cold]
#[inline(never)]
fn wait_for_source<S, B>(
    lookup: LookupOwned,
    request: ServiceRequest,
    service: &Rc<S>,
    rendered: Rc<Rendered>,
) -> ResponseFuture<S::Future, B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    ResponseFuture {
        state: State::Resolving {
            future: Box::pin(resolve(lookup, request, Rc::clone(service), rendered)),
        },
    }
}

/// A request on a policy in report-only mode: served as it came, its
/// response compared with the policy's answer (in `http`'s types, which
/// the comparison reads). Out of line, as the lookups' code.
#[cfg(feature = "browser")]
#[cold]
#[inline(never)]
fn report_only<S, B>(
    request: ServiceRequest,
    service: &Rc<S>,
    rendered: Rc<Rendered>,
) -> ResponseFuture<S::Future, B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    let method = request.method().as_str().to_owned();
    let path = request.path().to_owned();
    let headers = to_http(request.headers());
    let served = service.call(request);
    ResponseFuture {
        state: State::Resolving {
            future: Box::pin(async move {
                let response = served.await?;
                let status = http::StatusCode::from_u16(response.status().as_u16())
                    .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
                let answer = to_http(response.headers());
                let _ = crate::browser::report_and_log(
                    &rendered.policy,
                    &method,
                    &path,
                    &headers,
                    status,
                    &answer,
                );
                Ok(response.map_into_left_body())
            }),
        },
    }
}

/// An actix-web header map in `http`'s types.
#[cfg(feature = "browser")]
fn to_http(headers: &HeaderMap) -> http::HeaderMap {
    headers
        .iter()
        .filter_map(|(name, value)| {
            Some((
                http::HeaderName::from_bytes(name.as_str().as_bytes()).ok()?,
                http::HeaderValue::from_bytes(value.as_bytes()).ok()?,
            ))
        })
        .collect()
}

/// A request whose verdict waits for the origin source: the app runs after
/// the answer when it must, beside it when it may.
async fn resolve<S, B>(
    lookup: LookupOwned,
    request: ServiceRequest,
    service: Rc<S>,
    rendered: Rc<Rendered>,
) -> Result<ServiceResponse<EitherBody<B>>, Error>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    let policy = &rendered.policy;
    if !lookup.before_application {
        let served = service.call(request).await;
        let resolved = lookup.resolving.await;
        let actual = policy.resolved_actual(&resolved, lookup.origin);
        return with_cors(served, &rendered, &actual);
    }
    let resolved = lookup.resolving.await;
    let decision =
        policy.check_request_resolved(request.method().as_str(), request.headers(), &resolved);
    let response = match decision {
        Decision::Actual(actual) => {
            let actual = actual.into_owned();
            let served = service.call(request).await;
            return with_cors(served, &rendered, &actual);
        }
        Decision::Preflight(preflight) => preflight_answer(&preflight, &rendered),
        Decision::Forbidden(refusal) => forbidden_answer(&refusal, &rendered),
        // Asked again with the source's answer, the policy never asks
        // twice; refused, should it be.
        Decision::Lookup(_) => {
            let refusal = Refusal::Origin(crate::policy::OriginRefusal::NotAllowed);
            forbidden_answer(&refusal, &rendered)
        }
    };
    Ok(request.into_response(response).map_into_right_body())
}

/// The app's response (or the response of its error) with the CORS headers
/// of `actual` (inlined, as [`preflight_answer`]).
#[inline(always)]
fn with_cors<B: MessageBody>(
    served: Result<ServiceResponse<B>, Error>,
    rendered: &Rendered,
    actual: &Actual<'static, HeaderValue>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    match served {
        Ok(mut response) => {
            let writer = &mut Writer {
                map: response.headers_mut(),
                rendered: Some(rendered),
            };
            rendered.policy.apply(actual, writer);
            Ok(response.map_into_left_body())
        }
        Err(error) => {
            // The error stays an error for outer middleware, but the
            // response actix-web will render from it carries the CORS
            // headers, so an allowed page can read it.
            let mut response = error.error_response();
            let writer = &mut Writer {
                map: response.headers_mut(),
                rendered: Some(rendered),
            };
            rendered.policy.apply(actual, writer);
            Err(InternalError::from_response(error, response).into())
        }
    }
}

pin_project! {
    /// The future of a [`CorsMiddleware`] response: a preflight answered on
    /// the spot, or the app's response (or error) with CORS headers applied.
    pub struct ResponseFuture<F, B> {
        #[pin]
        state: State<F, B>,
    }
}

pin_project! {
    #[project = StateProjection]
    enum State<F, B> {
        Answered {
            response: Option<ServiceResponse<EitherBody<B>>>,
        },
        Actual {
            #[pin]
            future: F,
            rendered: Rc<Rendered>,
            actual: Actual<'static, HeaderValue>,
        },
        // Boxed: the common states stay as small as without a source.
        Resolving {
            future: Pin<Box<dyn Future<Output = Result<ServiceResponse<EitherBody<B>>, Error>>>>,
        },
    }
}

impl<F, B> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
    B: MessageBody,
{
    type Output = Result<ServiceResponse<EitherBody<B>>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProjection::Answered { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => Poll::Ready(Err(actix_web::error::ErrorInternalServerError(
                    "corsair: response future polled after completion",
                ))),
            },
            StateProjection::Actual {
                future,
                rendered,
                actual,
            } => Poll::Ready(with_cors(
                std::task::ready!(future.poll(cx)),
                rendered,
                actual,
            )),
            StateProjection::Resolving { future } => future.as_mut().poll(cx),
        }
    }
}

impl<F, B> std::fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
