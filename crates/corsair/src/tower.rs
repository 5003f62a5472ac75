//! The tower adapter: `Cors` is a [`Layer`], and [`CorsService`] wraps any
//! service of `http` requests and responses (axum, hyper, tonic...).
//!
//! The adapter holds no CORS rule: it takes one policy snapshot per request,
//! calls [`Policy::check`], answers preflights with
//! [`Policy::preflight_response`] (and requests that cross-origin protection
//! refuses with [`Policy::forbidden_response`]) without calling the inner
//! service, and passes actual responses through [`Policy::apply`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::adapter::complete_host;
use crate::cors::{Cors, PolicyCache};
use crate::policy::{Actual, Decision, Policy};

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
/// `Default` (the empty body of a preflight answer).
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
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let (policy, ()) = self.policy.load();
        if policy.cross_origin_protection() {
            let uri = request.uri().clone();
            complete_host(&uri, request.headers_mut());
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
        };
        ResponseFuture { state }
    }
}

pin_project! {
    /// The future of a [`CorsService`] response: either a preflight answered
    /// on the spot, or the inner service's response with CORS headers applied.
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProjection]
    enum State<F> {
        // A preflight, or a request cross-origin protection refused:
        // answered here, without the inner service.
        Answered {
            response: Option<Response<()>>,
        },
        Actual {
            #[pin]
            future: F,
            policy: Arc<Policy>,
            actual: Actual<'static>,
        },
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Default,
{
    type Output = Result<Response<B>, E>;

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
        }
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
