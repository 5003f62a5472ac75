//! The two page servers: the trusted page and the attacker's page. Each
//! serves its HTML, the shared script and style sheet, and the API's
//! exchange log for its own calls (`/exchanges?call=ID`), so that a script
//! can show what the API saw without asking the API.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::Origins;
use super::exchanges::{ExchangeLog, is_call_id};

const PAGE_HTML: &str = include_str!("assets/page.html");
const ATTACKER_HTML: &str = include_str!("assets/attacker.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

/// Which of the two pages a server serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// The page the policy trusts.
    Page,
    /// A page on another site, which the policy does not list.
    Attacker,
}

impl Role {
    /// The prefix of the call ids this page makes (`page-...`,
    /// `attacker-...`), set in the HTML as `data-role`.
    fn name(self) -> &'static str {
        match self {
            Self::Page => "page",
            Self::Attacker => "attacker",
        }
    }
}

#[derive(Clone, Debug)]
struct PageState {
    role: Role,
    html: String,
    csp: HeaderValue,
    log: ExchangeLog,
}

/// The router of one page server. `cookies` is the HTML section on the
/// session cookie (see [`super::cookies::section`]).
pub(crate) fn router(
    role: Role,
    origins: &Origins,
    policy: &str,
    cookies: &str,
    log: ExchangeLog,
) -> Router {
    let template = match role {
        Role::Page => PAGE_HTML,
        Role::Attacker => ATTACKER_HTML,
    };
    let html = template
        .replace("__API__", &escape(&origins.api))
        .replace("__PAGE__", &escape(&origins.page))
        .replace("__ATTACKER__", &escape(&origins.attacker))
        .replace("__POLICY__", &escape(policy))
        .replace("__COOKIES__", cookies);
    // Nothing but this server's files, and calls to the API: the demo
    // loads no external resource, and this header proves it.
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src data:; \
         connect-src 'self' {}; base-uri 'none'; form-action 'none'",
        origins.api
    );
    let csp = HeaderValue::from_str(&csp)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
    let state = PageState {
        role,
        html,
        csp,
        log,
    };
    Router::new()
        .route("/", get(index))
        .route(
            "/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE_CSS) }),
        )
        .route("/exchanges", get(exchanges))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .with_state(state)
}

async fn index(State(state): State<PageState>) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::CONTENT_SECURITY_POLICY, state.csp.clone()),
        ],
        state.html,
    )
        .into_response()
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

#[derive(Deserialize)]
struct ExchangesQuery {
    call: Option<String>,
}

/// `GET /exchanges?call=ID`: what the API saw of one call of this page's
/// (a JSON array, oldest first). A page sees only its own calls.
async fn exchanges(
    State(state): State<PageState>,
    Query(query): Query<ExchangesQuery>,
) -> Response {
    let Some(call) = query.call.filter(|call| is_call_id(call)) else {
        return (StatusCode::BAD_REQUEST, "ask for /exchanges?call=ID\n").into_response();
    };
    let own = call
        .strip_prefix(state.role.name())
        .is_some_and(|rest| rest.starts_with('-'));
    let exchanges = if own {
        state.log.of_call(&call)
    } else {
        Vec::new()
    };
    ([(header::CACHE_CONTROL, "no-store")], axum::Json(exchanges)).into_response()
}

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn the_pages_load_nothing_from_elsewhere() {
        for html in [PAGE_HTML, ATTACKER_HTML] {
            assert!(!html.contains("//"), "a URL in a page: {html}");
        }
        assert!(!APP_JS.contains("https://"), "an absolute URL in app.js");
        assert!(
            !STYLE_CSS.contains("url("),
            "an external resource in style.css"
        );
    }
}
