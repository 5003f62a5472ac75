//! The scan: send each candidate origin (and a few preflights), read the
//! answers, and turn what they show into findings.

use std::collections::BTreeSet;
use std::time::Duration;

use corsair::browser::{
    CookieFate, CookieReport, CorsFailure, Engine, Incoming, Page, Profile, allow_origin,
    allows_credentials, cors_check, header_list, header_value, max_age,
};
use corsair::protocol::{
    ACCESS_CONTROL_ALLOW_PRIVATE_NETWORK, CHROMIUM_MAX_AGE, FIREFOX_MAX_AGE, WEBKIT_MAX_AGE,
    is_cors_header,
};
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, HeaderMap, HeaderName,
    HeaderValue, ORIGIN, SET_COOKIE, VARY,
};
use url::Url;

use super::findings::{Evidence, Finding, Kind, Severity};
use super::origins::{Candidate, Class, INJECTED_HEADER, candidates};
use crate::probe::{ExchangeError, HttpServer};

/// The method a probing preflight asks for: no API allows it on purpose.
pub const ODD_METHOD: &str = "CORSAIRPROBE";
/// The header a probing preflight asks for.
pub const ODD_HEADER: &str = "x-corsair-audit";

/// How a scan runs.
#[derive(Clone, Debug)]
pub struct AuditOptions {
    /// Origins the API is meant to trust (`--trusted-origin`).
    pub trusted: Vec<String>,
    /// How long each request may take.
    pub timeout: Duration,
    /// The most requests per second.
    pub rate: f64,
    /// The most requests in all; origins beyond it are not sent.
    pub max_requests: usize,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            trusted: Vec::new(),
            timeout: Duration::from_secs(10),
            rate: 20.0,
            max_requests: 300,
        }
    }
}

/// Why a scan could not run.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The URL or a trusted origin does not read.
    #[error("{0}")]
    Usage(String),
    /// The first request failed: the server cannot be reached.
    #[error("cannot reach the server: {0}")]
    Unreachable(#[from] ExchangeError),
    /// The HTTP client could not be set up.
    #[error("{0}")]
    Client(String),
}

/// What a scan found.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    /// The URL scanned.
    pub url: String,
    /// The trusted origins.
    pub trusted: Vec<String>,
    /// The requests sent.
    pub requests: usize,
    /// The requests that failed (timeouts, resets), not counted as findings.
    pub failed_requests: usize,
    /// The status of the first request, a `GET` without `Origin`: a 404
    /// says the URL is no resource, whose CORS answers say little.
    pub status: u16,
    /// The findings, worst first.
    pub findings: Vec<Finding>,
}

impl Report {
    /// The kinds found.
    #[must_use]
    pub fn kinds(&self) -> BTreeSet<Kind> {
        self.findings.iter().map(|finding| finding.kind).collect()
    }

    /// The worst severity found.
    #[must_use]
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|finding| finding.severity).max()
    }
}

/// Something to report about a request, before deduplication.
#[derive(Debug)]
struct Observation {
    kind: Kind,
    severity: Severity,
    origin: Option<String>,
    evidence: Evidence,
    why: String,
}

/// Scans `url` and reports what is wrong with its CORS answers. `progress`
/// is called after each request with (done, planned).
///
/// # Errors
/// When the arguments do not read or the server cannot be reached at all.
pub async fn scan_with_progress(
    url: &str,
    options: &AuditOptions,
    mut progress: impl FnMut(usize, usize),
) -> Result<Report, AuditError> {
    let target = crate::target::url(url, None).map_err(AuditError::Usage)?;
    let mut trusted = Vec::new();
    for origin in &options.trusted {
        let origin =
            crate::target::origin("--trusted-origin", origin).map_err(AuditError::Usage)?;
        let parsed = Url::parse(&origin)
            .map_err(|error| AuditError::Usage(format!("--trusted-origin {origin:?}: {error}")))?;
        trusted.push(parsed);
    }
    let server = HttpServer::new(options.timeout)
        .map_err(|error| AuditError::Client(crate::cli::error_line(&error)))?;
    let candidates = candidates(&target, &trusted);
    // One GET per origin, then preflights from the trusted origins, the
    // arbitrary one and `null`.
    let mut requests: Vec<(&'static str, &Candidate, HeaderMap)> = Vec::new();
    for candidate in &candidates {
        if let Ok(origin) = HeaderValue::from_str(&candidate.origin) {
            let mut headers = HeaderMap::new();
            headers.insert(ORIGIN, origin);
            requests.push(("GET", candidate, headers));
        }
    }
    for candidate in &candidates {
        if !matches!(
            candidate.class,
            Class::Trusted | Class::Arbitrary | Class::Null
        ) {
            continue;
        }
        let Ok(origin) = HeaderValue::from_str(&candidate.origin) else {
            continue;
        };
        let mut headers = HeaderMap::new();
        headers.insert(ORIGIN, origin);
        if candidate.class == Class::Trusted {
            // What any API allows its own pages: the answer shows the
            // policy's settings (max age, wildcards) without refusal.
            headers.insert(
                ACCESS_CONTROL_REQUEST_METHOD,
                HeaderValue::from_static("GET"),
            );
        } else {
            // What no API means to allow: granted, it shows a preflight
            // that allows anything.
            headers.insert(
                ACCESS_CONTROL_REQUEST_METHOD,
                HeaderValue::from_static(ODD_METHOD),
            );
            headers.insert(
                ACCESS_CONTROL_REQUEST_HEADERS,
                HeaderValue::from_static(ODD_HEADER),
            );
        }
        requests.push(("OPTIONS", candidate, headers));
    }
    let planned = (1 + requests.len()).min(options.max_requests);
    let pause = if options.rate > 0.0 {
        Duration::from_secs_f64(1.0 / options.rate)
    } else {
        Duration::ZERO
    };
    let mut ticker = tokio::time::interval(pause.max(Duration::from_micros(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    let mut sent = 0usize;
    let mut failed = 0usize;
    let mut observations = Vec::new();

    // The baseline, without Origin: if it fails, nothing else can work.
    ticker.tick().await;
    let status = server
        .send("GET", url, &HeaderMap::new(), bytes::Bytes::new())
        .await?
        .status
        .as_u16();
    sent += 1;
    progress(sent, planned);

    for (method, candidate, headers) in &requests {
        if sent >= options.max_requests {
            break;
        }
        ticker.tick().await;
        let answer = server.send(method, url, headers, bytes::Bytes::new()).await;
        sent += 1;
        progress(sent, planned);
        let Ok(answer) = answer else {
            failed += 1;
            continue;
        };
        let exchange = Sent {
            method,
            url,
            candidate,
            headers,
        };
        if *method == "OPTIONS" {
            observe_preflight(&exchange, &answer, &mut observations);
        } else {
            observe_actual(&exchange, &answer, &mut observations);
        }
    }

    Ok(Report {
        url: url.to_owned(),
        trusted: trusted
            .iter()
            .map(|url| url.origin().ascii_serialization())
            .collect(),
        requests: sent,
        failed_requests: failed,
        status,
        findings: conclude(observations),
    })
}

/// [`scan_with_progress`] without progress reports.
///
/// # Errors
/// When the arguments do not read or the server cannot be reached at all.
pub async fn scan(url: &str, options: &AuditOptions) -> Result<Report, AuditError> {
    scan_with_progress(url, options, |_, _| {}).await
}

/// Whether the list header `name` holds `token` (case-insensitively), as
/// the browser parses the list; an unparseable list holds nothing.
fn list_contains(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    header_list(headers, name)
        .unwrap_or_default()
        .iter()
        .any(|element| element.eq_ignore_ascii_case(token))
}

/// A request the scan sent.
struct Sent<'a> {
    method: &'static str,
    url: &'a str,
    candidate: &'a Candidate,
    headers: &'a HeaderMap,
}

impl Sent<'_> {
    /// An observation about this request and its `answer`.
    fn observation(
        &self,
        answer: &Incoming,
        kind: Kind,
        severity: Severity,
        why: String,
    ) -> Observation {
        Observation {
            kind,
            severity,
            origin: Some(self.candidate.origin.clone()),
            evidence: evidence(self.method, self.url, self.headers, answer),
            why,
        }
    }
}

/// The evidence lines of an exchange: the request line and its CORS
/// headers, the status line and the CORS-related response headers.
fn evidence(method: &str, url: &str, request: &HeaderMap, answer: &Incoming) -> Evidence {
    let target = Url::parse(url)
        .map(|u| match u.query() {
            Some(query) => format!("{}?{query}", u.path()),
            None => u.path().to_owned(),
        })
        .unwrap_or_else(|_| url.to_owned());
    let mut request_lines = vec![format!("{method} {target} HTTP/1.1")];
    for (name, value) in request {
        request_lines.push(format!(
            "{}: {}",
            name,
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    let mut response_lines = vec![format!("HTTP/1.1 {}", answer.status)];
    for (name, value) in &answer.headers {
        let relevant = is_cors_header(name.as_str())
            || *name == VARY
            || *name == SET_COOKIE
            || name.as_str() == INJECTED_HEADER;
        if relevant {
            response_lines.push(format!(
                "{}: {}",
                name,
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
    }
    Evidence {
        request: request_lines,
        response: response_lines,
    }
}

/// The severity of a trusted-origin bypass, by class and credentials.
fn bypass_severity(class: Class, credentials: bool) -> Severity {
    if !credentials {
        return Severity::Low;
    }
    match class {
        Class::Arbitrary | Class::Crlf => Severity::Critical,
        Class::Null | Class::Prefix | Class::Suffix | Class::UnescapedDot | Class::ThirdParty => {
            Severity::High
        }
        Class::Special | Class::Subdomain | Class::InsecureScheme => Severity::Medium,
        Class::OtherPort | Class::Trusted => Severity::Low,
    }
}

fn observe_actual(sent: &Sent<'_>, answer: &Incoming, out: &mut Vec<Observation>) {
    let candidate = sent.candidate;
    let headers = &answer.headers;
    let mut note = |kind, severity, why| out.push(sent.observation(answer, kind, severity, why));
    if headers.contains_key(INJECTED_HEADER) {
        note(
            Kind::CrlfInjection,
            Severity::High,
            "the percent-encoded CR/LF in Origin came back as a header of its own".to_owned(),
        );
    }
    // The browser's own reading: a comma in an echoed origin is a
    // reflection (a special-character look-alike), not a list.
    if let Err(CorsFailure::MultipleAllowOrigin { value, .. }) =
        cors_check(headers, &candidate.origin, false)
    {
        note(
            Kind::MultipleAllowOrigin,
            Severity::Low,
            format!(
                "the answer carries {value} as Access-Control-Allow-Origin; browsers refuse it, \
                 so even allowed pages are blocked"
            ),
        );
    }
    let Some(allowed) = allow_origin(headers) else {
        return;
    };
    let credentials = allows_credentials(headers);
    if let Some(value) = header_value(headers, &ACCESS_CONTROL_ALLOW_CREDENTIALS)
        && !credentials
    {
        note(
            Kind::CredentialsNotTrue,
            Severity::Low,
            format!(
                "Access-Control-Allow-Credentials is {value:?}; only `true` makes credentialed \
                 requests work"
            ),
        );
    }
    if allowed == "*" {
        if credentials {
            note(
                Kind::WildcardWithCredentials,
                Severity::Low,
                "browsers refuse `*` for credentialed requests, so logged-in calls fail; it \
                 exposes nothing"
                    .to_owned(),
            );
        } else {
            note(
                Kind::PublicApi,
                Severity::Info,
                "any page can read this response, without cookies: sound for public data"
                    .to_owned(),
            );
        }
        return;
    }
    if allowed != candidate.origin {
        return;
    }
    if candidate.class == Class::Trusted && credentials {
        observe_cookies(sent, answer, out);
    }
    let mut note = |kind, severity, why| out.push(sent.observation(answer, kind, severity, why));
    // The server echoed this origin: it allows it.
    if !list_contains(headers, &VARY, "origin") && !list_contains(headers, &VARY, "*") {
        note(
            Kind::MissingVaryOrigin,
            Severity::Medium,
            format!(
                "the answer names {} but `Vary` does not include Origin, so a shared cache may \
                 serve it to other origins",
                candidate.origin
            ),
        );
    }
    if let Some(kind) = candidate.class.kind() {
        let severity = bypass_severity(candidate.class, credentials);
        let why = if candidate.class == Class::Null {
            format!(
                "any site can send `Origin: null` from a sandboxed iframe and read this API's \
                 responses{}",
                if credentials {
                    " with the visitor's cookies (Access-Control-Allow-Credentials: true)"
                } else {
                    ", without cookies"
                }
            )
        } else if credentials {
            format!(
                "a page on {} can read this API's responses with the visitor's cookies \
                 (Access-Control-Allow-Credentials: true)",
                candidate.origin
            )
        } else {
            format!(
                "a page on {} can read this API's responses, without cookies: it matters when \
                 the API trusts the caller's network (intranet, VPN) rather than a login",
                candidate.origin
            )
        };
        note(kind, severity, why);
    }
}

/// The cookies a credentialed answer to a trusted page sets, as each
/// engine would keep them for a script on that page: a cookie some engine
/// refuses breaks credentialed calls for the users of that engine.
fn observe_cookies(sent: &Sent<'_>, answer: &Incoming, out: &mut Vec<Observation>) {
    let (Ok(page), Ok(url)) = (Page::new(&sent.candidate.origin), Url::parse(sent.url)) else {
        return;
    };
    for line in answer.headers.get_all(SET_COOKIE) {
        let line = String::from_utf8_lossy(line.as_bytes());
        let reports: Vec<CookieReport> = Engine::ALL
            .iter()
            .map(|engine| CookieReport::judge(&engine.profile(), &page, &url, &line))
            .collect();
        let Some(name) = reports.first().map(|report| report.name.clone()) else {
            continue;
        };
        // A cookie that expires one (a logout) is no refusal.
        let refused: Vec<&CookieReport> = reports
            .iter()
            .filter(|report| matches!(report.fate, CookieFate::Refused(_)))
            .collect();
        if refused.is_empty() {
            continue;
        }
        let scope = if refused.len() == reports.len() {
            "every engine".to_owned()
        } else {
            let names: Vec<&str> = refused.iter().map(|r| r.engine.product()).collect();
            names.join(" and ")
        };
        // Every engine's fate: the refusals, and how the others keep it.
        let fates: Vec<&str> = reports.iter().map(|report| report.why.as_str()).collect();
        out.push(sent.observation(
            answer,
            Kind::CookieRefused,
            Severity::Low,
            format!(
                "the cookie {name} is refused by {scope}, so a page on {} loses its session \
                 there. {}",
                sent.candidate.origin,
                fates.join(". ")
            ),
        ));
    }
}

fn observe_preflight(sent: &Sent<'_>, answer: &Incoming, out: &mut Vec<Observation>) {
    let candidate = sent.candidate;
    let headers = &answer.headers;
    let mut note = |kind, severity, why| out.push(sent.observation(answer, kind, severity, why));
    if headers.contains_key(&ACCESS_CONTROL_ALLOW_PRIVATE_NETWORK) {
        note(
            Kind::UnrequestedPrivateNetwork,
            Severity::Medium,
            "the preflight did not send Access-Control-Request-Private-Network, yet the answer \
             grants private-network access"
                .to_owned(),
        );
    }
    let allowed = allow_origin(headers);
    let origin_allowed = allowed
        .as_deref()
        .is_some_and(|value| value == candidate.origin || value == "*");
    if !origin_allowed {
        return;
    }
    let credentials = allows_credentials(headers);
    // The value as a browser without a cap would read it, against the
    // caps browsers do apply.
    let mut uncapped = Profile::chromium();
    uncapped.max_age_cap = std::time::Duration::MAX;
    let asked = max_age(headers, &uncapped);
    if asked > CHROMIUM_MAX_AGE {
        note(
            Kind::MaxAgeAboveCap,
            Severity::Info,
            format!(
                "Access-Control-Max-Age is {}; Chromium caches preflights for at most {} s and \
                 Firefox for {} s (WebKit already stops at {} s)",
                asked.as_secs(),
                CHROMIUM_MAX_AGE.as_secs(),
                FIREFOX_MAX_AGE.as_secs(),
                WEBKIT_MAX_AGE.as_secs()
            ),
        );
    }
    if credentials && list_contains(headers, &ACCESS_CONTROL_ALLOW_METHODS, "*") {
        note(
            Kind::WildcardMethodsWithCredentials,
            Severity::Low,
            "with credentials, `*` allows only a method literally named `*`: other methods \
             are refused"
                .to_owned(),
        );
    }
    if credentials && list_contains(headers, &ACCESS_CONTROL_ALLOW_HEADERS, "*") {
        note(
            Kind::WildcardHeadersWithCredentials,
            Severity::Low,
            "with credentials, `*` allows only a header literally named `*`: other headers \
             are refused"
                .to_owned(),
        );
    }
    if candidate.class != Class::Trusted {
        let any_method = list_contains(headers, &ACCESS_CONTROL_ALLOW_METHODS, ODD_METHOD)
            || (!credentials && list_contains(headers, &ACCESS_CONTROL_ALLOW_METHODS, "*"));
        let any_header = list_contains(headers, &ACCESS_CONTROL_ALLOW_HEADERS, ODD_HEADER)
            || (!credentials && list_contains(headers, &ACCESS_CONTROL_ALLOW_HEADERS, "*"));
        if any_method && any_header {
            // `*` without credentials is a public API's answer
            // (`tower_http::cors::CorsLayer::permissive()`): sound, info only.
            let public = !credentials && allowed.as_deref() == Some("*");
            note(
                Kind::PermissivePreflight,
                if credentials {
                    Severity::High
                } else if public {
                    Severity::Info
                } else {
                    Severity::Low
                },
                format!(
                    "the preflight from {} was granted the method {ODD_METHOD} and the header \
                     {ODD_HEADER}, which no API means to allow: any method and header passes{}",
                    candidate.origin,
                    if public {
                        "; with `*` and no credentials, that is a public API's choice"
                    } else {
                        ""
                    }
                ),
            );
        }
    }
}

/// The kinds a reflect-anything server shows as a matter of course.
const IMPLIED_BY_REFLECTION: [Kind; 8] = [
    Kind::PrefixMatch,
    Kind::SuffixMatch,
    Kind::UnescapedDot,
    Kind::SpecialCharacterBypass,
    Kind::AnySubdomain,
    Kind::InsecureSchemeAllowed,
    Kind::ThirdPartyHostAllowed,
    Kind::OtherPortAllowed,
];

/// One finding per kind, the worst observation's evidence, more origins
/// counted in the text; implied kinds dropped; worst first.
fn conclude(observations: Vec<Observation>) -> Vec<Finding> {
    let mut findings: Vec<(Finding, usize)> = Vec::new();
    for observation in observations {
        match findings
            .iter_mut()
            .find(|(finding, _)| finding.kind == observation.kind)
        {
            Some((finding, count)) => {
                *count += 1;
                if observation.severity > finding.severity {
                    finding.severity = observation.severity;
                    finding.origin = observation.origin;
                    finding.evidence = observation.evidence;
                    finding.why = observation.why;
                }
            }
            None => findings.push((
                Finding {
                    kind: observation.kind,
                    severity: observation.severity,
                    origin: observation.origin,
                    evidence: observation.evidence,
                    why: observation.why,
                    fix: observation.kind.fix().to_owned(),
                },
                1,
            )),
        }
    }
    let kinds: BTreeSet<Kind> = findings.iter().map(|(finding, _)| finding.kind).collect();
    let mut suppressed: BTreeSet<Kind> = BTreeSet::new();
    if kinds.contains(&Kind::ReflectsAnyOrigin) {
        suppressed.extend(IMPLIED_BY_REFLECTION);
    }
    // A prefix check accepts `example.com_.attacker.com` and
    // `example.com:8443` as it accepts `example.com.attacker.com`: one
    // mistake, one finding.
    if kinds.contains(&Kind::PrefixMatch) {
        suppressed.insert(Kind::SpecialCharacterBypass);
        suppressed.insert(Kind::OtherPortAllowed);
    }
    // A suffix check accepts `appxexample.com` as it accepts
    // `corsairattackerexample.com`: no unescaped dot is needed to explain it.
    if kinds.contains(&Kind::SuffixMatch) {
        suppressed.insert(Kind::UnescapedDot);
    }
    let mut out: Vec<Finding> = findings
        .into_iter()
        .filter(|(finding, _)| !suppressed.contains(&finding.kind))
        .map(|(mut finding, count)| {
            if count > 1 {
                finding.why.push_str(&format!(
                    " ({} more request{} showed the same)",
                    count - 1,
                    if count == 2 { "" } else { "s" }
                ));
            }
            finding
        })
        .collect();
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.kind.cmp(&b.kind)));
    out
}
