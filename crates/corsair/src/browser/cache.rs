//! The CORS-preflight cache, as Chromium keeps it.

use std::collections::HashMap;
use std::time::Duration;

use super::check::PreflightResult;
use super::plan::Plan;
use super::profile::Profile;

/// Chromium does not cache preflights for URLs this long or longer.
const MAX_URL_LEN: usize = 1024;

/// Chromium's preflight cache: one answer per (origin, URL), replaced by the
/// newest preflight, expiring after its max age. An answer to a credentialed
/// preflight also serves uncredentialed requests, not the other way round.
/// Time is a `Duration` since an arbitrary start, so tests can move it.
///
/// ```
/// use corsair::browser::{check_preflight, CorsRequest, Page, PreflightCache, Profile};
/// use http::{HeaderMap, HeaderValue, StatusCode};
/// use std::time::Duration;
///
/// let profile = Profile::default();
/// let plan = Page::new("https://app.example.com")?
///     .plan(&CorsRequest::new("PUT", "https://api.example.com/items/1"), &profile)?;
/// let mut answer = HeaderMap::new();
/// answer.insert("access-control-allow-origin", HeaderValue::from_static("https://app.example.com"));
/// answer.insert("access-control-allow-methods", HeaderValue::from_static("PUT"));
/// answer.insert("access-control-max-age", HeaderValue::from_static("600"));
/// let result = check_preflight(&plan, StatusCode::NO_CONTENT, &answer, &profile)?;
///
/// let mut cache = PreflightCache::default();
/// cache.store(&plan, result, Duration::ZERO);
/// assert!(cache.covers(&plan, Duration::from_secs(599), &profile));
/// assert!(!cache.covers(&plan, Duration::from_secs(600), &profile));
/// # Ok::<(), corsair::browser::Blocked>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct PreflightCache {
    entries: HashMap<(String, String), Entry>,
}

#[derive(Clone, Debug)]
struct Entry {
    result: PreflightResult,
    expires: Duration,
}

/// The origin the preflight was sent and judged with (Firefox's after a
/// redirect is the page's, not `null`), and the URL.
fn key(plan: &Plan) -> (String, String) {
    let origin = plan
        .preflight
        .as_ref()
        .map_or(&plan.origin, |preflight| &preflight.origin);
    (origin.clone(), plan.url.as_str().to_owned())
}

impl PreflightCache {
    /// Whether a cached answer, still fresh at `now`, covers the request of
    /// `plan` (its credentials, its method and every CORS-unsafe header), so
    /// that no preflight is sent.
    #[must_use]
    pub fn covers(&self, plan: &Plan, now: Duration, profile: &Profile) -> bool {
        self.entries.get(&key(plan)).is_some_and(|entry| {
            now < entry.expires
                && (entry.result.credentials || !plan.includes_credentials())
                && entry.result.allows_method(&plan.method)
                && entry
                    .result
                    .first_disallowed_header(&plan.unsafe_headers, profile)
                    .is_none()
        })
    }

    /// Keeps the answer to the preflight of `plan`, received at `now`,
    /// replacing any earlier one for the same origin and URL. A zero max age,
    /// or a URL of 1024 characters or more, leaves nothing cached.
    pub fn store(&mut self, plan: &Plan, result: PreflightResult, now: Duration) {
        let key = key(plan);
        if result.max_age.is_zero() || key.1.len() >= MAX_URL_LEN {
            self.entries.remove(&key);
            return;
        }
        let expires = now.saturating_add(result.max_age);
        self.entries.insert(key, Entry { result, expires });
    }

    /// Forgets the answer for the origin and URL of `plan`, as browsers do
    /// when a preflighted request ends in a network error.
    pub fn forget(&mut self, plan: &Plan) {
        self.entries.remove(&key(plan));
    }

    /// How many answers are cached (expired ones included until replaced).
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is cached.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, HeaderValue, StatusCode};

    use super::*;
    use crate::browser::{CorsRequest, Credentials, Page, check_preflight};

    fn answer(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn plan(request: CorsRequest) -> Plan {
        Page::new("https://app.example.com")
            .unwrap()
            .plan(&request, &Profile::default())
            .unwrap()
    }

    const ORIGIN: (&str, &str) = ("access-control-allow-origin", "https://app.example.com");
    const CREDENTIALS: (&str, &str) = ("access-control-allow-credentials", "true");

    #[test]
    fn credentialed_answers_serve_both_modes_and_not_the_reverse() {
        let profile = Profile::default();
        let credentialed = plan(
            CorsRequest::new("PUT", "https://api.example.com/a").credentials(Credentials::Include),
        );
        let anonymous = plan(
            CorsRequest::new("PUT", "https://api.example.com/a").credentials(Credentials::Omit),
        );
        let headers = answer(&[
            ORIGIN,
            CREDENTIALS,
            ("access-control-allow-methods", "PUT"),
            ("access-control-max-age", "60"),
        ]);

        let mut cache = PreflightCache::default();
        let result =
            check_preflight(&credentialed, StatusCode::NO_CONTENT, &headers, &profile).unwrap();
        cache.store(&credentialed, result, Duration::ZERO);
        assert!(cache.covers(&credentialed, Duration::ZERO, &profile));
        assert!(cache.covers(&anonymous, Duration::ZERO, &profile));

        let mut cache = PreflightCache::default();
        let result =
            check_preflight(&anonymous, StatusCode::NO_CONTENT, &headers, &profile).unwrap();
        cache.store(&anonymous, result, Duration::ZERO);
        assert!(cache.covers(&anonymous, Duration::ZERO, &profile));
        assert!(!cache.covers(&credentialed, Duration::ZERO, &profile));
    }

    #[test]
    fn one_answer_per_url_replaced_by_the_newest() {
        let profile = Profile::default();
        let put = plan(CorsRequest::new("PUT", "https://api.example.com/a"));
        let delete = plan(CorsRequest::new("DELETE", "https://api.example.com/a"));
        let other_url = plan(CorsRequest::new("PUT", "https://api.example.com/b"));
        let mut cache = PreflightCache::default();
        let allow = |method: &'static str| {
            answer(&[
                ORIGIN,
                ("access-control-allow-methods", method),
                ("access-control-max-age", "60"),
            ])
        };

        cache.store(
            &put,
            check_preflight(&put, StatusCode::OK, &allow("PUT"), &profile).unwrap(),
            Duration::ZERO,
        );
        assert!(cache.covers(&put, Duration::ZERO, &profile));
        assert!(
            !cache.covers(&delete, Duration::ZERO, &profile),
            "not the method it allowed"
        );
        assert!(
            !cache.covers(&other_url, Duration::ZERO, &profile),
            "keyed by the full URL"
        );

        cache.store(
            &delete,
            check_preflight(&delete, StatusCode::OK, &allow("DELETE"), &profile).unwrap(),
            Duration::ZERO,
        );
        assert!(cache.covers(&delete, Duration::ZERO, &profile));
        assert!(
            !cache.covers(&put, Duration::ZERO, &profile),
            "replaced, not merged"
        );
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn zero_max_age_long_urls_and_failures_leave_nothing() {
        let profile = Profile::default();
        let zero = answer(&[
            ORIGIN,
            ("access-control-allow-methods", "PUT"),
            ("access-control-max-age", "0"),
        ]);
        let put = plan(CorsRequest::new("PUT", "https://api.example.com/a"));
        let mut cache = PreflightCache::default();
        cache.store(
            &put,
            check_preflight(&put, StatusCode::OK, &zero, &profile).unwrap(),
            Duration::ZERO,
        );
        assert!(cache.is_empty());

        let long_url = format!("https://api.example.com/{}", "a".repeat(1024));
        let long = plan(CorsRequest::new("PUT", long_url));
        let fresh = answer(&[
            ORIGIN,
            ("access-control-allow-methods", "PUT"),
            ("access-control-max-age", "60"),
        ]);
        cache.store(
            &long,
            check_preflight(&long, StatusCode::OK, &fresh, &profile).unwrap(),
            Duration::ZERO,
        );
        assert!(cache.is_empty());

        cache.store(
            &put,
            check_preflight(&put, StatusCode::OK, &fresh, &profile).unwrap(),
            Duration::ZERO,
        );
        cache.forget(&put);
        assert!(cache.is_empty());
    }

    #[test]
    fn default_max_age_is_five_seconds() {
        let profile = Profile::default();
        let put = plan(CorsRequest::new("PUT", "https://api.example.com/a"));
        let headers = answer(&[ORIGIN, ("access-control-allow-methods", "PUT")]);
        let mut cache = PreflightCache::default();
        cache.store(
            &put,
            check_preflight(&put, StatusCode::OK, &headers, &profile).unwrap(),
            Duration::ZERO,
        );
        assert!(cache.covers(&put, Duration::from_millis(4999), &profile));
        assert!(!cache.covers(&put, Duration::from_secs(5), &profile));
    }
}
