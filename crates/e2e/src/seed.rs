//! The API under test: the seed example's API (log in, who am I, items),
//! behind corsair's tower layer, with a [`RequestLog`] on each side of it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use anyhow::{Context as _, Result};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use corsair::{Config, Cors};
use serde_json::{Value, json};

use crate::record::RequestLog;

/// The value of the `x-internal` header that every API response carries
/// and that no policy of [`SeedApi::config`] exposes.
pub const INTERNAL_HEADER_VALUE: &str = "do-not-read";

/// The API of the seed example, to be served behind corsair:
///
/// | route | answer |
/// |---|---|
/// | `POST /login` `{"user": NAME}` | `{"user": NAME}`, and `Set-Cookie: session=TOKEN; Path=/; SameSite=None; Secure; HttpOnly` |
/// | `GET /me` | `{"user": NAME}` for the session cookie's owner, or `401 {"error": ...}` |
/// | `PUT /items/{id}` (JSON object) | `201` (new) or `200` with the item and `"id"`, `"by"` (the user) |
/// | `PATCH /items/{id}` (JSON object) | `200`, the item with the fields merged, or `404` |
/// | `GET /items/{id}` | `200`, the item, or `404` |
/// | `DELETE /items/{id}` | `200 {"deleted": id, "by": NAME}`, or `404` |
/// | anything else | `404 {"error": "no such route"}` |
///
/// `/items` answers `401` without a session. Every response carries
/// `x-request-id: N` (1, 2, ... per API) and `x-internal:`
/// [`INTERNAL_HEADER_VALUE`].
///
/// [`SeedApi::wire`] records every request as it arrives, outside corsair
/// (preflights included, with corsair's answers); [`SeedApi::app`]
/// records the requests that reached the application, inside corsair.
#[derive(Clone, Debug, Default)]
pub struct SeedApi {
    /// Everything the browser sent, and what the server answered.
    pub wire: RequestLog,
    /// What corsair let through to the application.
    pub app: RequestLog,
    store: Arc<Store>,
}

#[derive(Debug, Default)]
struct Store {
    sessions: Mutex<HashMap<String, String>>,
    items: Mutex<HashMap<u64, serde_json::Map<String, Value>>>,
    next_token: AtomicU64,
    next_request_id: AtomicU64,
}

impl SeedApi {
    /// A new API with empty logs, no sessions and no items.
    pub fn new() -> Self {
        Self::default()
    }

    /// The seed policy for a page on `page_origin`: that origin only, with
    /// credentials; methods `GET`, `POST`, `PUT`, `PATCH`, `DELETE`;
    /// request headers `accept` and `content-type`; `x-request-id` exposed;
    /// preflights cached for `max_age` seconds.
    pub fn config(page_origin: &str, max_age: Option<u64>) -> Config {
        Config {
            allow_origins: vec![page_origin.to_owned()],
            allow_credentials: true,
            allow_methods: ["GET", "POST", "PUT", "PATCH", "DELETE"]
                .map(String::from)
                .to_vec(),
            allow_headers: vec!["accept".into(), "content-type".into()],
            expose_headers: vec!["x-request-id".into()],
            max_age,
            ..Config::default()
        }
    }

    /// The API's router behind `Cors::new(config)`, with [`SeedApi::app`]
    /// inside corsair's layer and [`SeedApi::wire`] outside it.
    ///
    /// # Errors
    /// When corsair refuses the configuration.
    pub fn router(&self, config: Config) -> Result<Router> {
        let cors = Cors::new(config).context("corsair refused the configuration")?;
        Ok(Router::new()
            .route("/login", post(login))
            .route("/me", get(me))
            .route("/items/{id}", get(item).put(item).patch(item).delete(item))
            .fallback(|| async {
                (
                    StatusCode::NOT_FOUND,
                    Json(json!({"error": "no such route"})),
                )
            })
            .layer(self.app.clone())
            .layer(middleware::map_response_with_state(
                Arc::clone(&self.store),
                add_headers,
            ))
            .layer(cors)
            .layer(self.wire.clone())
            .with_state(Arc::clone(&self.store)))
    }

    /// The session token most recently given to `user` by `POST /login`.
    pub fn token_of(&self, user: &str) -> Option<String> {
        lock(&self.store.sessions)
            .iter()
            .filter(|(_, owner)| owner.as_str() == user)
            .map(|(token, _)| token.clone())
            .max_by_key(|token| token_number(token))
    }
}

/// The counter inside a token, for ordering.
fn token_number(token: &str) -> u64 {
    token
        .trim_start_matches("token-")
        .parse()
        .unwrap_or_default()
}

/// Locks a map; data left by a handler that panicked is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn problem(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({ "error": error }))).into_response()
}

/// The user whose session cookie the request carries.
fn current_user(store: &Store, headers: &HeaderMap) -> Option<String> {
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| pair.trim().strip_prefix("session="))?;
    lock(&store.sessions).get(token).cloned()
}

async fn login(State(store): State<Arc<Store>>, body: Bytes) -> Response {
    let user = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|login| login.get("user")?.as_str().map(str::to_owned));
    let Some(user) = user.filter(|user| !user.is_empty()) else {
        return problem(StatusCode::BAD_REQUEST, "send {\"user\": NAME}");
    };
    let number = store.next_token.fetch_add(1, Ordering::Relaxed) + 1;
    let token = format!("token-{number}");
    lock(&store.sessions).insert(token.clone(), user.clone());
    let cookie = format!("session={token}; Path=/; SameSite=None; Secure; HttpOnly");
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
    let mut items = lock(&store.items);
    let answer = |status: StatusCode, item: &serde_json::Map<String, Value>| {
        let mut item = item.clone();
        item.insert("id".into(), json!(id));
        item.insert("by".into(), json!(user));
        (status, Json(Value::Object(item))).into_response()
    };
    match method {
        Method::PUT => match fields() {
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
            None => not_an_object(),
        },
        Method::PATCH => match (fields(), items.get_mut(&id)) {
            (None, _) => not_an_object(),
            (Some(_), None) => problem(StatusCode::NOT_FOUND, "no such item"),
            (Some(changes), Some(item)) => {
                item.extend(changes);
                answer(StatusCode::OK, item)
            }
        },
        Method::DELETE => match items.remove(&id) {
            Some(_) => Json(json!({ "deleted": id, "by": user })).into_response(),
            None => problem(StatusCode::NOT_FOUND, "no such item"),
        },
        _ => match items.get(&id) {
            Some(item) => answer(StatusCode::OK, item),
            None => problem(StatusCode::NOT_FOUND, "no such item"),
        },
    }
}

/// `x-request-id` (exposed by the seed policy) and `x-internal` (not).
async fn add_headers(State(store): State<Arc<Store>>, mut response: Response) -> Response {
    let id = store.next_request_id.fetch_add(1, Ordering::Relaxed) + 1;
    let headers = response.headers_mut();
    headers.insert(
        HeaderName::from_static("x-request-id"),
        HeaderValue::from(id),
    );
    headers.insert(
        HeaderName::from_static("x-internal"),
        HeaderValue::from_static(INTERNAL_HEADER_VALUE),
    );
    response
}
