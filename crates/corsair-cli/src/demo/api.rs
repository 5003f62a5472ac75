//! The demo's API: log in, who am I, and one kind of resource, behind a
//! credentialed corsair policy, with the [`ExchangeLog`] outside it.
//!
//! | route | answer |
//! |---|---|
//! | `POST /login` `{"user": NAME}` | `{"user": NAME}` and `Set-Cookie: session=TOKEN; Path=/; HttpOnly; SameSite=None; Secure` |
//! | `GET /me` | `{"user": NAME}` for the session's owner, or `401` |
//! | `PUT /items/{id}` (JSON object) | `201` (new) or `200`, the item |
//! | `GET /items/{id}` | `200`, the item, or `404` |
//! | `PATCH /items/{id}` (JSON object) | `200`, the item with the fields merged, or `404` |
//! | `DELETE /items/{id}` | `204`, or `404` |
//!
//! `/items` answers `401` without a session. Every response carries
//! `x-request-id` (exposed by the policy, so scripts may read it) and
//! `x-backend` (not exposed: the page shows that scripts cannot read it).

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
use corsair::Cors;
use serde_json::{Map, Value, json};

use super::exchanges::{self, ExchangeLog};

/// How many sessions the API remembers; the oldest is forgotten first.
const MAX_SESSIONS: usize = 1000;
/// How many items the API keeps.
const MAX_ITEMS: usize = 1000;
/// The longest user name accepted.
const MAX_USER: usize = 64;

/// The API's memory.
#[derive(Debug, Default)]
struct Store {
    sessions: Mutex<Sessions>,
    items: Mutex<HashMap<u64, Map<String, Value>>>,
    next_request_id: AtomicU64,
    next_token: AtomicU64,
}

/// Session tokens and their users, oldest first.
#[derive(Debug, Default)]
struct Sessions {
    by_token: HashMap<String, String>,
    order: VecDeque<String>,
}

impl Sessions {
    fn insert(&mut self, token: String, user: String) {
        while self.order.len() >= MAX_SESSIONS {
            if let Some(oldest) = self.order.pop_front() {
                self.by_token.remove(&oldest);
            }
        }
        self.order.push_back(token.clone());
        self.by_token.insert(token, user);
    }
}

/// The API's router: the routes, `x-request-id` and `x-backend`, the
/// marker of responses made by the application, `cors`, and outside
/// everything the exchange log.
pub(crate) fn router(cors: Cors, log: ExchangeLog) -> Router {
    let store = Arc::new(Store::default());
    Router::new()
        .route("/login", post(login))
        .route("/me", get(me))
        .route("/items/{id}", get(item).put(item).patch(item).delete(item))
        .fallback(|| async { problem(StatusCode::NOT_FOUND, "no such route") })
        .layer(middleware::map_response_with_state(
            Arc::clone(&store),
            add_headers,
        ))
        .layer(middleware::map_response(exchanges::mark_reached_app))
        .layer(cors)
        .layer(middleware::from_fn_with_state(log, exchanges::record))
        .with_state(store)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn problem(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({ "error": error }))).into_response()
}

/// A session token that is hard enough to guess for a demo on loopback.
/// A real service wants a cryptographic random generator.
fn new_token(store: &Store) -> String {
    let n = store.next_token.fetch_add(1, Ordering::Relaxed);
    let high = RandomState::new().hash_one(n);
    let low = RandomState::new().hash_one((n, SystemTime::now()));
    format!("{high:016x}{low:016x}")
}

fn current_user(store: &Store, headers: &HeaderMap) -> Option<String> {
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| pair.trim().strip_prefix("session="))?;
    lock(&store.sessions).by_token.get(token).cloned()
}

async fn login(State(store): State<Arc<Store>>, body: Bytes) -> Response {
    let user = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|login| {
            login
                .get("user")?
                .as_str()
                .map(|user| user.trim().to_owned())
        });
    let Some(user) = user.filter(|user| !user.is_empty() && user.len() <= MAX_USER) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "send {\"user\": NAME}, NAME of 1 to 64 bytes",
        );
    };
    let token = new_token(&store);
    lock(&store.sessions).insert(token.clone(), user.clone());
    // `SameSite=None; Secure` is what a cookie needs to go with cross-origin
    // requests; browsers accept `Secure` over plain http on localhost.
    let cookie = format!("session={token}; Path=/; HttpOnly; SameSite=None; Secure");
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

/// `GET`, `PUT`, `PATCH` and `DELETE /items/{id}`, for logged-in users.
async fn item(
    State(store): State<Arc<Store>>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<u64>,
    body: Bytes,
) -> Response {
    if current_user(&store, &headers).is_none() {
        return problem(StatusCode::UNAUTHORIZED, "log in first");
    }
    let fields = || match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(fields)) => Some(fields),
        _ => None,
    };
    let not_an_object = || problem(StatusCode::BAD_REQUEST, "send a JSON object");
    let not_found = || problem(StatusCode::NOT_FOUND, "no such item");
    let mut items = lock(&store.items);
    match method {
        Method::PUT => match fields() {
            None => not_an_object(),
            Some(_) if !items.contains_key(&id) && items.len() >= MAX_ITEMS => {
                problem(StatusCode::INSUFFICIENT_STORAGE, "too many items")
            }
            Some(fields) => {
                let status = match items.insert(id, fields.clone()) {
                    Some(_) => StatusCode::OK,
                    None => StatusCode::CREATED,
                };
                (status, Json(Value::Object(fields))).into_response()
            }
        },
        Method::PATCH => match (fields(), items.get_mut(&id)) {
            (None, _) => not_an_object(),
            (Some(_), None) => not_found(),
            (Some(changes), Some(item)) => {
                item.extend(changes);
                Json(Value::Object(item.clone())).into_response()
            }
        },
        Method::DELETE => match items.remove(&id) {
            Some(_) => StatusCode::NO_CONTENT.into_response(),
            None => not_found(),
        },
        _ => match items.get(&id) {
            Some(item) => Json(Value::Object(item.clone())).into_response(),
            None => not_found(),
        },
    }
}

/// `x-request-id` (exposed by the policy) and `x-backend` (not).
async fn add_headers(State(store): State<Arc<Store>>, mut response: Response) -> Response {
    let id = store.next_request_id.fetch_add(1, Ordering::Relaxed) + 1;
    let headers = response.headers_mut();
    headers.insert(
        HeaderName::from_static("x-request-id"),
        HeaderValue::from(id),
    );
    headers.insert(
        HeaderName::from_static("x-backend"),
        HeaderValue::from_static("corsair-demo"),
    );
    response
}
