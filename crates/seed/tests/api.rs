//! What the seed API promises, request by request, without a browser and
//! without a CORS layer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use corsair_seed::{
    EXPOSED_HEADER, INTERNAL_HEADER, INTERNAL_HEADER_VALUE, MAX_ITEM_BYTES, MAX_ITEMS,
    MAX_SESSIONS, MAX_USER, SeedApi, policy,
};
use serde_json::{Value, json};
use tower::ServiceExt as _;

/// One answer: status, headers, and the body as JSON (`Null` when empty).
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }
}

async fn send(api: &SeedApi, request: Request<Body>) -> Answer {
    let response = api.routes().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

fn request(method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        builder = builder.header("cookie", format!("theme=dark; session={token}"));
    }
    let body = match body {
        Some(body) => {
            builder = builder.header("content-type", "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    builder.body(body).unwrap()
}

async fn login(api: &SeedApi, user: &str) -> Answer {
    send(
        api,
        request("POST", "/login", None, Some(json!({ "user": user }))),
    )
    .await
}

/// Logs `user` in and returns the session token from `Set-Cookie`.
async fn token(api: &SeedApi, user: &str) -> String {
    let answer = login(api, user).await;
    assert_eq!(answer.status, StatusCode::OK);
    let cookie = answer.header("set-cookie").unwrap();
    let token = cookie
        .strip_prefix("session=")
        .and_then(|rest| rest.split(';').next())
        .unwrap();
    token.to_owned()
}

#[test]
fn the_policy_names_the_page_and_the_seed_rules() {
    let config = policy("http://localhost:8080", None);
    assert_eq!(config.allow_origins, ["http://localhost:8080"]);
    assert!(config.allow_credentials);
    assert_eq!(
        config.allow_methods,
        ["GET", "POST", "PUT", "PATCH", "DELETE"]
    );
    assert_eq!(config.allow_headers, ["accept", "content-type"]);
    assert_eq!(config.expose_headers, ["x-request-id"]);
    assert_eq!(config.max_age, None);
    assert_eq!(
        policy("http://localhost:8080", Some(600)).max_age,
        Some(600)
    );
    assert!(corsair::Cors::new(config).is_ok());
}

#[tokio::test]
async fn login_sets_the_session_cookie() {
    let api = SeedApi::new();
    let answer = login(&api, "  ada ").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, json!({"user": "ada"}), "the name is trimmed");
    let cookie = answer.header("set-cookie").unwrap();
    let token = api.token_of("ada").unwrap();
    assert_eq!(
        cookie,
        format!("session={token}; Path=/; HttpOnly; SameSite=Lax")
    );
    assert_eq!(token.len(), 32);
    assert!(token.chars().all(|c| c.is_ascii_hexdigit()), "{token}");
    assert_eq!(api.token_of("grace"), None);

    let me = send(&api, request("GET", "/me", Some(&token), None)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body, json!({"user": "ada"}));
    // A cross-site API sets the attributes a third-party cookie needs.
    let cross_site = SeedApi::new().with_cookie(corsair_seed::CROSS_SITE_COOKIE);
    let other = login(&cross_site, "ada").await;
    let other_token = cross_site.token_of("ada").unwrap();
    assert_eq!(
        other.header("set-cookie").unwrap(),
        format!("session={other_token}; Path=/; HttpOnly; SameSite=None; Secure")
    );
}

#[tokio::test]
async fn login_refuses_missing_empty_and_long_names() {
    let api = SeedApi::new();
    let long = "a".repeat(MAX_USER + 1);
    for body in [
        json!({}),
        json!({"user": ""}),
        json!({"user": "   "}),
        json!({"user": 7}),
        json!({ "user": long }),
    ] {
        let answer = send(&api, request("POST", "/login", None, Some(body.clone()))).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            answer.body,
            json!({"error": "send {\"user\": NAME}, NAME of 1 to 64 bytes"})
        );
        assert_eq!(answer.header("set-cookie"), None);
    }
    let not_json = Request::post("/login")
        .body(Body::from("user=ada"))
        .unwrap();
    assert_eq!(send(&api, not_json).await.status, StatusCode::BAD_REQUEST);

    let longest = "a".repeat(MAX_USER);
    assert_eq!(login(&api, &longest).await.status, StatusCode::OK);
    assert!(api.token_of(&longest).is_some());
}

#[tokio::test]
async fn me_is_401_without_a_known_session() {
    let api = SeedApi::new();
    token(&api, "ada").await;
    for token in [None, Some("0123456789abcdef0123456789abcdef")] {
        let me = send(&api, request("GET", "/me", token, None)).await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(me.body, json!({"error": "not logged in"}));
    }
    // A cookie whose name only ends in "session" is not the session.
    let real = api.token_of("ada").unwrap();
    let other = Request::get("/me")
        .header("cookie", format!("xsession={real}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&api, other).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn items_are_401_without_a_session() {
    let api = SeedApi::new();
    for method in ["GET", "PUT", "PATCH", "DELETE"] {
        let answer = send(
            &api,
            request(method, "/items/1", None, Some(json!({"name": "x"}))),
        )
        .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{method}");
        assert_eq!(answer.body, json!({"error": "log in first"}));
    }
    // Nothing was stored by the refused PUT.
    let token = token(&api, "ada").await;
    let get = send(&api, request("GET", "/items/1", Some(&token), None)).await;
    assert_eq!(get.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn items_are_put_read_patched_and_deleted() {
    let api = SeedApi::new();
    let token = token(&api, "ada").await;
    let call = |method: &'static str, body: Option<Value>| {
        let (api, token) = (api.clone(), token.clone());
        async move { send(&api, request(method, "/items/1", Some(&token), body)).await }
    };

    let put = call("PUT", Some(json!({"name": "buy milk", "done": false}))).await;
    assert_eq!(put.status, StatusCode::CREATED);
    assert_eq!(
        put.body,
        json!({"id": 1, "name": "buy milk", "done": false, "by": "ada"})
    );
    let again = call("PUT", Some(json!({"name": "buy milk", "done": false}))).await;
    assert_eq!(again.status, StatusCode::OK, "replacing is not creating");

    let get = call("GET", None).await;
    assert_eq!(get.status, StatusCode::OK);
    assert_eq!(get.body, put.body);

    let patch = call("PATCH", Some(json!({"done": true}))).await;
    assert_eq!(patch.status, StatusCode::OK);
    assert_eq!(
        patch.body,
        json!({"id": 1, "name": "buy milk", "done": true, "by": "ada"})
    );

    for not_an_object in [json!([1, 2]), json!("text")] {
        for method in ["PUT", "PATCH"] {
            let answer = call(method, Some(not_an_object.clone())).await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{method}");
            assert_eq!(answer.body, json!({"error": "send a JSON object"}));
        }
    }

    let delete = call("DELETE", None).await;
    assert_eq!(delete.status, StatusCode::OK);
    assert_eq!(delete.body, json!({"deleted": 1, "by": "ada"}));
    for method in ["GET", "DELETE"] {
        let gone = call(method, None).await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND, "{method}");
        assert_eq!(gone.body, json!({"error": "no such item"}));
    }
    let patch_gone = call("PATCH", Some(json!({"done": false}))).await;
    assert_eq!(patch_gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_answer_carries_a_numbered_request_id_and_the_internal_header() {
    let api = SeedApi::new();
    let answers = [
        login(&api, "ada").await,
        send(&api, request("GET", "/me", None, None)).await,
        send(&api, request("GET", "/nowhere", None, None)).await,
    ];
    let ids: Vec<Option<&str>> = answers
        .iter()
        .map(|answer| answer.header(EXPOSED_HEADER))
        .collect();
    assert_eq!(ids, [Some("1"), Some("2"), Some("3")]);
    for answer in &answers {
        assert_eq!(answer.header(INTERNAL_HEADER), Some(INTERNAL_HEADER_VALUE));
        // No CORS layer: the routes answer no CORS header of their own.
        assert!(
            answer
                .headers
                .keys()
                .all(|name| !name.as_str().starts_with("access-control-")),
            "{:?}",
            answer.headers
        );
    }
    assert_eq!(answers[2].status, StatusCode::NOT_FOUND);
    assert_eq!(answers[2].body, json!({"error": "no such route"}));

    // A clone shares the counter (and the store), a new API does not.
    let clone = api.clone();
    let next = send(&clone, request("GET", "/me", None, None)).await;
    assert_eq!(next.header(EXPOSED_HEADER), Some("4"));
    let fresh = send(&SeedApi::new(), request("GET", "/me", None, None)).await;
    assert_eq!(fresh.header(EXPOSED_HEADER), Some("1"));
}

#[tokio::test]
async fn token_of_is_the_newest_session_of_the_user() {
    let api = SeedApi::new();
    let first = token(&api, "ada").await;
    let grace = token(&api, "grace").await;
    let second = token(&api, "ada").await;
    assert_ne!(first, second);
    assert_eq!(api.token_of("ada"), Some(second.clone()));
    assert_eq!(api.token_of("grace"), Some(grace));
    // The older session still works.
    let me = send(&api, request("GET", "/me", Some(&first), None)).await;
    assert_eq!(me.body, json!({"user": "ada"}));
}

#[tokio::test]
async fn sessions_are_bounded_and_the_oldest_is_forgotten() {
    let api = SeedApi::new();
    let oldest = token(&api, "user-0").await;
    let second = token(&api, "user-1").await;
    for n in 2..MAX_SESSIONS {
        login(&api, &format!("user-{n}")).await;
    }
    // Full: every session is remembered.
    let me = send(&api, request("GET", "/me", Some(&oldest), None)).await;
    assert_eq!(me.body, json!({"user": "user-0"}));

    let newest = token(&api, "newest").await;
    let me = send(&api, request("GET", "/me", Some(&oldest), None)).await;
    assert_eq!(
        me.status,
        StatusCode::UNAUTHORIZED,
        "the oldest is forgotten"
    );
    assert_eq!(api.token_of("user-0"), None);
    for (token, user) in [(&second, "user-1"), (&newest, "newest")] {
        let me = send(&api, request("GET", "/me", Some(token), None)).await;
        assert_eq!(me.body, json!({ "user": user }));
    }
}

#[tokio::test]
async fn items_are_bounded_in_number() {
    let api = SeedApi::new();
    let token = token(&api, "ada").await;
    let put = |id: usize| {
        request(
            "PUT",
            &format!("/items/{id}"),
            Some(&token),
            Some(json!({})),
        )
    };
    for id in 0..MAX_ITEMS {
        assert_eq!(send(&api, put(id)).await.status, StatusCode::CREATED);
    }
    let refused = send(&api, put(MAX_ITEMS)).await;
    assert_eq!(refused.status, StatusCode::INSUFFICIENT_STORAGE);
    assert_eq!(refused.body, json!({"error": "too many items"}));
    // Replacing a stored item is still allowed, and deleting makes room.
    assert_eq!(send(&api, put(0)).await.status, StatusCode::OK);
    let delete = request("DELETE", "/items/0", Some(&token), None);
    assert_eq!(send(&api, delete).await.status, StatusCode::OK);
    assert_eq!(send(&api, put(MAX_ITEMS)).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn items_are_bounded_in_size_for_put_and_patch() {
    let api = SeedApi::new();
    let token = token(&api, "ada").await;
    // `{"name":"…"}` is 11 bytes of JSON around the name.
    let fits = json!({ "name": "a".repeat(MAX_ITEM_BYTES - 11) });
    let too_big = json!({ "name": "a".repeat(MAX_ITEM_BYTES - 10) });
    let call =
        |method: &str, body: &Value| request(method, "/items/1", Some(&token), Some(body.clone()));

    let refused = send(&api, call("PUT", &too_big)).await;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        refused.body,
        json!({"error": "an item may take up to 4096 bytes of JSON"})
    );
    assert_eq!(
        send(&api, call("PUT", &fits)).await.status,
        StatusCode::CREATED
    );

    // A PATCH may not grow the item past the limit either, and a refused
    // PATCH leaves the item as it was.
    let refused = send(&api, call("PATCH", &json!({"done": true}))).await;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    let get = send(&api, request("GET", "/items/1", Some(&token), None)).await;
    assert_eq!(get.body["done"], Value::Null);
    assert_eq!(get.body["name"], fits["name"]);
    // Shrinking is allowed.
    let shrink = send(&api, call("PATCH", &json!({"name": "short", "done": true}))).await;
    assert_eq!(shrink.status, StatusCode::OK);
    assert_eq!(
        shrink.body,
        json!({"id": 1, "name": "short", "done": true, "by": "ada"})
    );
}
