//! The tower adapter: `Cors` is a [`Layer`], and [`CorsService`] wraps any
//! service of `http` requests and responses (axum, hyper, tonic...).
//!
//! The adapter holds no CORS rule: it takes one policy snapshot per request,
//! calls [`Policy::check`], answers preflights with
//! [`Policy::preflight_response`] (and requests that cross-origin protection
//! refuses with [`Policy::forbidden_response`]) without calling the inner
//! service, and passes actual responses through [`Policy::apply`].
//!
//! A policy with an origin source may decide [`Decision::Lookup`] for an
//! origin its lists do not name. Then, for an actual request the
//! application may serve whatever the answer, the inner service is called
//! at once and the answer awaited beside it; otherwise (a preflight, or a
//! request cross-origin protection may refuse) the answer is awaited first,
//! with the request and a clone of the inner service (the ready one goes
//! with the request, as tower's readiness contract asks).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::adapter::complete_host;
use crate::cors::{Cors, PolicyCache};
use crate::policy::{Actual, Decision, OriginLookup, OriginRefusal, Policy, Refusal, Resolving};

impl<S> Layer<S> for Cors {
    type Service = CorsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CorsService {
            inner,
            policy: self.reader(|_| ()),
        }
    }
}

/// A service with a CORS policy in front of it. Made by layering [`Cors`].
///
/// It accepts any request body, and any response body that implements
/// `Default` (the empty body of a preflight answer). The inner service is
/// cloned only when an origin source must answer before it may run (as
/// axum, hyper and tonic services all are `Clone`).
///
/// ```
/// use corsair::{Config, Cors};
/// use http::{Request, Response, StatusCode};
/// use std::convert::Infallible;
/// use tower::{Layer, ServiceExt, service_fn};
///
/// # tokio_test();
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn tokio_test() {
/// let cors = Cors::new(Config {
///     allow_origins: vec!["https://app.example.com".into()],
///     allow_methods: vec!["PUT".into()],
///     ..Config::default()
/// }).unwrap();
/// let app = service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(String::from("hi"))) });
/// let service = cors.layer(app);
///
/// let preflight = Request::options("/items/1")
///     .header("origin", "https://app.example.com")
///     .header("access-control-request-method", "PUT")
///     .body(())
///     .unwrap();
/// let response = service.oneshot(preflight).await.unwrap();
/// assert_eq!(response.status(), StatusCode::NO_CONTENT);
/// assert_eq!(response.headers()["access-control-allow-methods"], "PUT");
/// # }
/// ```
///
/// Each service keeps the policy it last used, and checks on every request,
/// by one pointer comparison, whether [`Cors::reconfigure`] replaced it. A
/// replaced policy is freed once no service holds it: a clone that serves no
/// request (an idle connection) keeps it until its next request or its end.
#[derive(Clone, Debug)]
pub struct CorsService<S> {
    inner: S,
    policy: PolicyCache,
}

impl<S> CorsService<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The wrapped service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CorsService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let (policy, ()) = self.policy.load();
        if policy.reads_host(request.method() == http::Method::CONNECT) {
            let uri = request.uri().clone();
            complete_host(&uri, request.headers_mut());
        }
        #[cfg(feature = "browser")]
        if policy.report_only() {
            return ResponseFuture {
                state: State::Lookup {
                    future: report_only(&mut self.inner, policy, request),
                },
            };
        }
        let state = match policy.check(request.method(), request.headers()) {
            Decision::Preflight(preflight) => State::Answered {
                response: Some(policy.preflight_response::<()>(&preflight)),
            },
            Decision::Forbidden(refusal) => State::Answered {
                response: Some(policy.forbidden_response::<()>(&refusal)),
            },
            Decision::Actual(actual) => {
                let actual = actual.into_owned();
                let policy = Arc::clone(policy);
                State::Actual {
                    future: self.inner.call(request),
                    policy,
                    actual,
                }
            }
            Decision::Lookup(lookup) => {
                let detached = Detached::new(lookup);
                State::Lookup {
                    future: wait_for_source(&mut self.inner, policy, request, detached),
                }
            }
        };
        ResponseFuture { state }
    }
}

/// What a request waiting for the origin source keeps of its
/// [`Decision::Lookup`], which borrows the request.
struct Detached {
    origin: HeaderValue,
    before_application: bool,
    resolving: Resolving,
}

impl Detached {
    // Out of line, as all the lookup's code: requests the lists decide
    // keep the code they ran before origin sources existed.
    #[cold]
    #[inline(never)]
    fn new(lookup: OriginLookup<'_>) -> Self {
        Detached {
            origin: lookup.origin().clone(),
            before_application: lookup.before_application(),
            resolving: lookup.resolve(),
        }
    }
}

/// The future of a request whose verdict waits for the origin source, made
/// with the service made ready for it. Out of line and boxed, so that
/// requests the lists decide neither carry nor execute any of it.
#[cold]
#[inline(never)]
fn wait_for_source<S, ReqBody>(
    inner: &mut S,
    policy: &Arc<Policy>,
    request: Request<ReqBody>,
    lookup: Detached,
) -> Pin<Box<LookupFuture<S, ReqBody>>>
where
    S: Service<Request<ReqBody>> + Clone,
{
    let state = if lookup.before_application {
        // The ready service goes with the request; a clone waits for
        // the next `poll_ready`.
        let clone = inner.clone();
        let inner = std::mem::replace(inner, clone);
        LookupState::Before {
            resolving: lookup.resolving,
            request: Some(request),
            inner,
        }
    } else {
        LookupState::Beside {
            future: inner.call(request),
            resolving: lookup.resolving,
            origin: lookup.origin,
            response: None,
        }
    };
    Box::pin(LookupFuture {
        state,
        policy: Arc::clone(policy),
    })
}

/// The future of a request on a policy in report-only mode: served as it
/// came, its response compared with the policy's answer. Out of line, as
/// the lookups' code.
#[cfg(feature = "browser")]
#[cold]
#[inline(never)]
fn report_only<S, ReqBody>(
    inner: &mut S,
    policy: &Arc<Policy>,
    request: Request<ReqBody>,
) -> Pin<Box<LookupFuture<S, ReqBody>>>
where
    S: Service<Request<ReqBody>>,
{
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let headers = request.headers().clone();
    Box::pin(LookupFuture {
        state: LookupState::Report {
            future: inner.call(request),
            request: Box::new((method, path, headers)),
        },
        policy: Arc::clone(policy),
    })
}

pin_project! {
    /// The future of a [`CorsService`] response: a preflight answered on
    /// the spot, or the inner service's response with CORS headers applied
    /// (after the origin source's answer, when the policy has to ask it).
    pub struct ResponseFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        state: State<S, ReqBody>,
    }
}

pin_project! {
    #[project = StateProjection]
    enum State<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        // A preflight, or a request cross-origin protection refused:
        // answered here, without the inner service.
        Answered {
            response: Option<Response<()>>,
        },
        Actual {
            #[pin]
            future: S::Future,
            policy: Arc<Policy>,
            actual: Actual<'static>,
        },
        // Waiting for the origin source.
        Lookup {
            future: Pin<Box<LookupFuture<S, ReqBody>>>,
        },
    }
}

impl<S, ReqBody, B> Future for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>, Response = Response<B>>,
    B: Default,
{
    type Output = Result<Response<B>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProjection::Answered { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response.map(|()| B::default()))),
                // Polled again after completion: answer with an empty
                // response rather than panic, as the future contract allows.
                None => Poll::Ready(Ok(Response::new(B::default()))),
            },
            StateProjection::Actual {
                future,
                policy,
                actual,
            } => {
                let mut response = std::task::ready!(future.poll(cx))?;
                policy.apply(actual, response.headers_mut());
                Poll::Ready(Ok(response))
            }
            StateProjection::Lookup { future } => future.as_mut().poll(cx),
        }
    }
}

pin_project! {
    /// A request whose verdict waits for the origin source.
    struct LookupFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        state: LookupState<S, ReqBody>,
        policy: Arc<Policy>,
    }
}

pin_project! {
    #[project = LookupProjection]
    enum LookupState<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        // The answer comes first (a preflight, or a request cross-origin
        // protection may refuse): the request waits with the service made
        // ready for it.
        Before {
            resolving: Resolving,
            request: Option<Request<ReqBody>>,
            inner: S,
        },
        // An actual request the application may serve whatever the answer:
        // it runs while the source is asked, and its response waits.
        Beside {
            #[pin]
            future: S::Future,
            resolving: Resolving,
            origin: HeaderValue,
            response: Option<S::Response>,
        },
        // Decided again with the answer, and served.
        After {
            #[pin]
            future: S::Future,
            actual: Actual<'static>,
        },
        // Report-only mode: served as it came, the response compared with
        // the policy's answer to the request (its method, path and
        // headers).
        Report {
            #[pin]
            future: S::Future,
            request: Box<(http::Method, String, http::HeaderMap)>,
        },
    }
}

impl<S, ReqBody, B> Future for LookupFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>, Response = Response<B>>,
    B: Default,
{
    type Output = Result<Response<B>, S::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.as_mut().project();
        let policy = &**this.policy;
        let after = match this.state.project() {
            LookupProjection::Before {
                resolving,
                request,
                inner,
            } => {
                let resolved = std::task::ready!(Pin::new(resolving).poll(cx));
                let Some(request) = request.take() else {
                    return Poll::Ready(Ok(Response::new(B::default())));
                };
                match policy.check_request_resolved(
                    request.method().as_str(),
                    request.headers(),
                    &resolved,
                ) {
                    Decision::Preflight(preflight) => {
                        return Poll::Ready(Ok(policy.preflight_response(&preflight)));
                    }
                    Decision::Forbidden(refusal) => {
                        return Poll::Ready(Ok(policy.forbidden_response(&refusal)));
                    }
                    Decision::Actual(actual) => {
                        let actual = actual.into_owned();
                        LookupState::After {
                            future: inner.call(request),
                            actual,
                        }
                    }
                    // The answer stands for this origin, so it is never
                    // asked again; refused, should it be.
                    Decision::Lookup(_) => {
                        let refusal = Refusal::Origin(OriginRefusal::NotAllowed);
                        return Poll::Ready(Ok(policy.forbidden_response(&refusal)));
                    }
                }
            }
            LookupProjection::Beside {
                future,
                resolving,
                origin,
                response,
            } => {
                if response.is_none() {
                    *response = Some(std::task::ready!(future.poll(cx))?);
                }
                let resolved = std::task::ready!(Pin::new(resolving).poll(cx));
                let Some(mut response) = response.take() else {
                    return Poll::Ready(Ok(Response::new(B::default())));
                };
                let actual = policy.resolved_actual(&resolved, origin.clone());
                policy.apply(&actual, response.headers_mut());
                return Poll::Ready(Ok(response));
            }
            LookupProjection::After { future, actual } => {
                let mut response = std::task::ready!(future.poll(cx))?;
                policy.apply(actual, response.headers_mut());
                return Poll::Ready(Ok(response));
            }
            LookupProjection::Report { future, request } => {
                let response = std::task::ready!(future.poll(cx))?;
                #[cfg(feature = "browser")]
                {
                    let (method, path, headers) = &**request;
                    let (status, answer) = (response.status(), response.headers());
                    let _ = crate::browser::report_and_log(
                        policy,
                        method.as_str(),
                        path,
                        headers,
                        status,
                        answer,
                    );
                }
                #[cfg(not(feature = "browser"))]
                let _ = request;
                return Poll::Ready(Ok(response));
            }
        };
        self.as_mut().project().state.set(after);
        // The inner service's future has not been polled yet.
        self.poll(cx)
    }
}

impl<S, ReqBody> std::fmt::Debug for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
