//! # corsair-seed: the seed API and the seed policy, written once
//!
//! The scenario of "Cross-Origin Resource Sharing in Practice": a page on
//! one origin calls an API on another, with a session cookie. corsair's
//! demo (`corsair demo`), its examples and its browser tests all serve this
//! API behind this policy; this crate holds both so that they agree.
//!
//! - [`policy`]: the seed policy, a [`corsair::Config`] for one page origin.
//! - [`SeedApi`]: the API's routes and response headers, without any CORS
//!   layer. Each user stacks its own layers on [`SeedApi::routes`]
//!   (corsair's `Cors`, request logs, markers).
//!
//! ```
//! let api = corsair_seed::SeedApi::new();
//! let config = corsair_seed::policy("http://localhost:8080", Some(600));
//! assert_eq!(config.expose_headers, [corsair_seed::EXPOSED_HEADER]);
//! let router: axum::Router = api.routes(); // add `.layer(cors)` to serve it
//! # drop(router);
//! ```
//!
//! The API keeps its sessions and items in memory, within fixed bounds
//! ([`MAX_SESSIONS`], [`MAX_ITEMS`], [`MAX_ITEM_BYTES`], [`MAX_USER`]), so
//! no sequence of requests grows its memory without limit. It is a test
//! fixture and a demonstration, not a model of authentication: anyone may
//! log in under any name.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher as _, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use corsair::Config;
use serde_json::{Map, Value, json};

/// The response header the seed policy exposes to scripts: every answer
/// of the API carries it, numbered 1, 2, ... per [`SeedApi`].
pub const EXPOSED_HEADER: &str = "x-request-id";

/// A response header every answer of the API carries and the seed policy
/// does not expose: a cross-origin script cannot read it.
pub const INTERNAL_HEADER: &str = "x-internal";

/// The value of [`INTERNAL_HEADER`].
pub const INTERNAL_HEADER_VALUE: &str = "do-not-read";

/// The name of the session cookie set by `POST /login`.
pub const SESSION_COOKIE: &str = "session";

/// The attributes of the session cookie by default: `SameSite=Lax`, for an
/// API on the page's own site (`api.example.com` for `app.example.com`,
/// another port of `localhost`).
///
/// It is the one choice that Chromium, Firefox and WebKit all keep and
/// send back over `https` and over `http://localhost`, and the safest: no
/// request from another site carries it. It leaves `Secure` out because
/// WebKit keeps no `Secure` cookie from an `http://` URL, not even from
/// `localhost`; an API served over `https` should add it.
pub const SAME_SITE_COOKIE: &str = "Path=/; HttpOnly; SameSite=Lax";

/// The attributes a session cookie needs to go with requests from another
/// site: `SameSite=None; Secure`. Even then it is a third-party cookie,
/// which WebKit and Chromium's Incognito block and Firefox keeps apart per
/// site ([`SeedApi::with_cookie`]).
pub const CROSS_SITE_COOKIE: &str = "Path=/; HttpOnly; SameSite=None; Secure";

/// How many sessions the API remembers; when a login would exceed it, the
/// oldest session is forgotten.
pub const MAX_SESSIONS: usize = 1000;

/// How many items the API keeps; a `PUT` of a new item beyond it is
/// refused with `507`.
pub const MAX_ITEMS: usize = 1000;

/// The largest item, in bytes of its JSON text as the API would write it;
/// a `PUT` or `PATCH` that would store a larger one is refused with `413`.
pub const MAX_ITEM_BYTES: usize = 4096;

/// The longest user name `POST /login` accepts, in bytes (after trimming
/// white space).
pub const MAX_USER: usize = 64;

/// The seed policy for a page on `page_origin`: that origin and no other,
/// with credentials; methods `GET`, `POST`, `PUT`, `PATCH` and `DELETE`;
/// request headers `accept` and `content-type`; [`EXPOSED_HEADER`]
/// exposed; preflight answers cacheable for `max_age` seconds (`None`
/// sends no `Access-Control-Max-Age`); cross-origin protection on, so that
/// no other site's form `POST` reaches the API with the user's cookie.
///
/// ```
/// let config = corsair_seed::policy("http://localhost:8080", Some(600));
/// assert_eq!(config.allow_origins, ["http://localhost:8080"]);
/// assert!(config.allow_credentials);
/// assert_eq!(config.max_age, Some(600));
/// ```
pub fn policy(page_origin: &str, max_age: Option<u64>) -> Config {
    Config {
        allow_origins: vec![page_origin.to_owned()],
        allow_credentials: true,
        allow_methods: ["GET", "POST", "PUT", "PATCH", "DELETE"]
            .map(String::from)
            .to_vec(),
        allow_headers: vec!["accept".into(), "content-type".into()],
        expose_headers: vec![EXPOSED_HEADER.into()],
        max_age,
        cross_origin_protection: true,
        ..Config::default()
    }
}

/// The seed API: log in, who am I, and one kind of resource.
///
/// | route | answer |
/// |---|---|
/// | `POST /login` `{"user": NAME}` | `200 {"user": NAME}` and `Set-Cookie: session=TOKEN; Path=/; HttpOnly; SameSite=Lax` (the attributes are [`SeedApi::with_cookie`]'s); `400` for a missing or empty NAME or one longer than [`MAX_USER`] |
/// | `GET /me` | `200 {"user": NAME}` for the session's owner, or `401` |
/// | `PUT /items/{id}` (a JSON object) | `201` (new) or `200` (replaced), the item |
/// | `GET /items/{id}` | `200`, the item, or `404` |
/// | `PATCH /items/{id}` (a JSON object) | `200`, the item with the fields merged in, or `404` |
/// | `DELETE /items/{id}` | `200 {"deleted": ID, "by": NAME}`, or `404` |
/// | anything else | `404 {"error": "no such route"}` |
///
/// `/items` answers `401` without a session. An item is answered as its
/// stored fields plus `"id"` (its number) and `"by"` (the user whose
/// session made the request). Errors are `{"error": TEXT}`. `PUT` and
/// `PATCH` answer `400` to a body that is not a JSON object, `413` when
/// the item would exceed [`MAX_ITEM_BYTES`]; `PUT` answers `507` to a new
/// item when [`MAX_ITEMS`] are stored.
///
/// Every response carries [`EXPOSED_HEADER`] (`1`, `2`, ... per API) and
/// [`INTERNAL_HEADER`]`: `[`INTERNAL_HEADER_VALUE`].
///
/// Session tokens are 32 hexadecimal digits from std's randomly keyed
/// hasher: hard to guess for a demonstration on loopback, not a
/// cryptographic secret. Clones share the same sessions, items and
/// request counter.
#[derive(Clone, Debug)]
pub struct SeedApi {
    store: Arc<Store>,
    /// The session cookie's attributes.
    cookie: &'static str,
}

impl Default for SeedApi {
    fn default() -> Self {
        SeedApi {
            store: Arc::default(),
            cookie: SAME_SITE_COOKIE,
        }
    }
}

/// The API's memory.
#[derive(Debug, Default)]
struct Store {
    sessions: Mutex<Sessions>,
    items: Mutex<HashMap<u64, Map<String, Value>>>,
    next_request_id: AtomicU64,
    next_token: AtomicU64,
}

/// Session tokens and their users, with the tokens oldest first.
#[derive(Debug, Default)]
struct Sessions {
    by_token: HashMap<String, String>,
    order: VecDeque<String>,
}

impl Sessions {
    /// Remembers `token` for `user`, forgetting the oldest sessions beyond
    /// [`MAX_SESSIONS`].
    fn insert(&mut self, token: String, user: String) {
        while self.order.len() >= MAX_SESSIONS {
            if let Some(oldest) = self.order.pop_front() {
                self.by_token.remove(&oldest);
            }
        }
        self.order.push_back(token.clone());
        self.by_token.insert(token, user);
    }

    /// The newest token of `user`.
    fn newest_of(&self, user: &str) -> Option<&String> {
        self.order
            .iter()
            .rev()
            .find(|token| self.by_token.get(*token).is_some_and(|owner| owner == user))
    }
}

impl SeedApi {
    /// A new API: no sessions, no items, the request counter at zero, and
    /// a [`SAME_SITE_COOKIE`] session cookie.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same API with other attributes on its session cookie, such as
    /// [`CROSS_SITE_COOKIE`] for pages on another site.
    ///
    /// ```
    /// let api = corsair_seed::SeedApi::new().with_cookie(corsair_seed::CROSS_SITE_COOKIE);
    /// assert_eq!(api.cookie(), "Path=/; HttpOnly; SameSite=None; Secure");
    /// ```
    #[must_use]
    pub fn with_cookie(mut self, attributes: &'static str) -> Self {
        self.cookie = attributes;
        self
    }

    /// The attributes of the session cookie `POST /login` sets.
    pub fn cookie(&self) -> &'static str {
        self.cookie
    }

    /// The API's routes with its response headers ([`EXPOSED_HEADER`] and
    /// [`INTERNAL_HEADER`]) and no CORS layer: put corsair's `Cors`, and
    /// anything else, on top of it.
    ///
    /// Each call returns a router over the same store.
    pub fn routes(&self) -> Router {
        Router::new()
            .route(
                "/login",
                post({
                    let cookie = self.cookie;
                    move |state, body| login(state, body, cookie)
                }),
            )
            .route("/me", get(me))
            .route("/items/{id}", get(item).put(item).patch(item).delete(item))
            .fallback(|| async { problem(StatusCode::NOT_FOUND, "no such route") })
            .layer(middleware::map_response_with_state(
                Arc::clone(&self.store),
                add_headers,
            ))
            .with_state(Arc::clone(&self.store))
    }

    /// The session token most recently given to `user` by `POST /login`
    /// and still remembered, for tests that compare it with the cookie a
    /// browser sent.
    pub fn token_of(&self, user: &str) -> Option<String> {
        lock(&self.store.sessions).newest_of(user).cloned()
    }
}

/// Locks a mutex; data left by a handler that panicked while holding it is
/// still consistent here (every change is made whole), so it is used
/// instead of panicking in turn.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A JSON error answer: `{"error": TEXT}`.
fn problem(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({ "error": error }))).into_response()
}

/// A new session token (see [`SeedApi`] for how hard it is to guess).
/// A real service wants a cryptographic random generator here.
fn new_token(store: &Store) -> String {
    let n = store.next_token.fetch_add(1, Ordering::Relaxed);
    let high = RandomState::new().hash_one(n);
    let low = RandomState::new().hash_one((n, SystemTime::now()));
    format!("{high:016x}{low:016x}")
}

/// The user whose session cookie the request carries, if any.
fn current_user(store: &Store, headers: &HeaderMap) -> Option<String> {
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == SESSION_COOKIE).then_some(value)
        })?;
    lock(&store.sessions).by_token.get(token).cloned()
}

async fn login(State(store): State<Arc<Store>>, body: Bytes, attributes: &str) -> Response {
    let user = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|login| {
            login
                .get("user")?
                .as_str()
                .map(|user| user.trim().to_owned())
        });
    let Some(user) = user.filter(|user| !user.is_empty() && user.len() <= MAX_USER) else {
        let error = format!("send {{\"user\": NAME}}, NAME of 1 to {MAX_USER} bytes");
        return problem(StatusCode::BAD_REQUEST, &error);
    };
    let token = new_token(&store);
    lock(&store.sessions).insert(token.clone(), user.clone());
    let cookie = format!("{SESSION_COOKIE}={token}; {attributes}");
    (
        [(header::SET_COOKIE, cookie)],
        Json(json!({ "user": user })),
    )
        .into_response()
}

async fn me(State(store): State<Arc<Store>>, headers: HeaderMap) -> Response {
    match current_user(&store, &headers) {
        Some(user) => Json(json!({ "user": user })).into_response(),
        None => problem(StatusCode::UNAUTHORIZED, "not logged in"),
    }
}

/// The length of `fields` as JSON text.
fn json_len(fields: &Map<String, Value>) -> usize {
    // Serializing a map of JSON values cannot fail; were it to, the item
    // counts as too large.
    serde_json::to_vec(fields).map_or(usize::MAX, |text| text.len())
}

/// `GET`, `PUT`, `PATCH` and `DELETE /items/{id}`, for logged-in users.
async fn item(
    State(store): State<Arc<Store>>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<u64>,
    body: Bytes,
) -> Response {
    let Some(user) = current_user(&store, &headers) else {
        return problem(StatusCode::UNAUTHORIZED, "log in first");
    };
    let fields = || match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(fields)) => Some(fields),
        _ => None,
    };
    let not_an_object = || problem(StatusCode::BAD_REQUEST, "send a JSON object");
    let not_found = || problem(StatusCode::NOT_FOUND, "no such item");
    let too_large = || {
        let error = format!("an item may take up to {MAX_ITEM_BYTES} bytes of JSON");
        problem(StatusCode::PAYLOAD_TOO_LARGE, &error)
    };
    let answer = |status: StatusCode, item: &Map<String, Value>| {
        let mut item = item.clone();
        item.insert("id".into(), json!(id));
        item.insert("by".into(), json!(user));
        (status, Json(Value::Object(item))).into_response()
    };
    let mut items = lock(&store.items);
    match method {
        Method::PUT => match fields() {
            None => not_an_object(),
            Some(fields) if json_len(&fields) > MAX_ITEM_BYTES => too_large(),
            Some(_) if !items.contains_key(&id) && items.len() >= MAX_ITEMS => {
                problem(StatusCode::INSUFFICIENT_STORAGE, "too many items")
            }
            Some(fields) => {
                let status = if items.contains_key(&id) {
                    StatusCode::OK
                } else {
                    StatusCode::CREATED
                };
                let response = answer(status, &fields);
                items.insert(id, fields);
                response
            }
        },
        Method::PATCH => match (fields(), items.get_mut(&id)) {
            (None, _) => not_an_object(),
            (Some(_), None) => not_found(),
            (Some(changes), Some(item)) => {
                let mut merged = item.clone();
                merged.extend(changes);
                if json_len(&merged) > MAX_ITEM_BYTES {
                    return too_large();
                }
                *item = merged;
                answer(StatusCode::OK, item)
            }
        },
        Method::DELETE => match items.remove(&id) {
            Some(_) => Json(json!({ "deleted": id, "by": user })).into_response(),
            None => not_found(),
        },
        _ => match items.get(&id) {
            Some(item) => answer(StatusCode::OK, item),
            None => not_found(),
        },
    }
}

/// Adds [`EXPOSED_HEADER`] (the request's number) and [`INTERNAL_HEADER`].
async fn add_headers(State(store): State<Arc<Store>>, mut response: Response) -> Response {
    let id = store.next_request_id.fetch_add(1, Ordering::Relaxed) + 1;
    let headers = response.headers_mut();
    headers.insert(
        HeaderName::from_static(EXPOSED_HEADER),
        HeaderValue::from(id),
    );
    headers.insert(
        HeaderName::from_static(INTERNAL_HEADER),
        HeaderValue::from_static(INTERNAL_HEADER_VALUE),
    );
    response
}
