//! The proxy's origin source: `[cors.origin_source] url = "..."`, an HTTP
//! endpoint asked `GET` about each origin the policy's lists do not name.
//! `2xx` allows it, `404` and `403` refuse it, anything else (or no answer
//! within `timeout`) is a failure, logged, which refuses it for
//! `corsair::config::FAILURE_TTL`. The caching, single flight and timeout
//! are the library's (`corsair::origin::source`).

use std::sync::Arc;

use corsair::origin::source::{Lookup, OriginSource, SourceError};
use reqwest::StatusCode;

/// Where `url` takes the origin.
const PLACEHOLDER: &str = "{origin}";

/// An HTTP endpoint that says whether an origin is allowed.
#[derive(Clone, Debug)]
pub struct HttpSource {
    client: reqwest::Client,
    /// The URL, with [`PLACEHOLDER`] where the origin goes.
    template: String,
}

impl HttpSource {
    /// A source asking `template` (an `http://` or `https://` URL with
    /// `{origin}` once, where the origin goes percent-encoded).
    ///
    /// # Errors
    /// What is wrong with the URL, and what to write instead.
    pub fn new(template: &str) -> Result<Arc<Self>, String> {
        let example = "write it like \"http://tenants.internal:8080/cors/{origin}\"";
        if template.matches(PLACEHOLDER).count() != 1 {
            return Err(format!(
                "{template:?} must hold {PLACEHOLDER} once, where the origin goes; {example}"
            ));
        }
        let url = url::Url::parse(&template.replace(PLACEHOLDER, "x"))
            .map_err(|error| format!("{template:?} is not a URL ({error}); {example}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(format!(
                "{template:?} is not an http:// or https:// URL; {example}"
            ));
        }
        let client = reqwest::Client::builder()
            // A redirect would be a misconfiguration; its status says so.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| format!("{template:?}: no HTTP client: {error}"))?;
        Ok(Arc::new(HttpSource {
            client,
            template: template.to_owned(),
        }))
    }

    /// The URL asked about `origin`.
    fn url(&self, origin: &str) -> String {
        let encoded: String = url::form_urlencoded::byte_serialize(origin.as_bytes()).collect();
        self.template.replace(PLACEHOLDER, &encoded)
    }
}

impl OriginSource for HttpSource {
    fn lookup(&self, origin: &str) -> Lookup {
        let url = self.url(origin);
        let request = self.client.get(url.clone());
        Lookup::Pending(Box::pin(async move {
            let response = request.send().await.map_err(SourceError::new)?;
            match response.status() {
                status if status.is_success() => Ok(true),
                StatusCode::NOT_FOUND | StatusCode::FORBIDDEN => Ok(false),
                status => Err(SourceError::new(format!(
                    "{url} answered {status}: expected 2xx (allowed), 404 or 403 (refused)"
                ))),
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_goes_where_the_placeholder_is_percent_encoded() {
        let source = HttpSource::new("http://tenants.internal:8080/cors/{origin}?v=1").unwrap();
        assert_eq!(
            source.url("https://shop.tenant.example:8443"),
            "http://tenants.internal:8080/cors/https%3A%2F%2Fshop.tenant.example%3A8443?v=1"
        );
    }

    #[test]
    fn urls_without_a_placeholder_or_scheme_are_refused() {
        for url in [
            "http://tenants.internal/cors",
            "http://tenants.internal/{origin}/{origin}",
            "tenants.internal/{origin}",
            "ftp://tenants.internal/{origin}",
        ] {
            let error = HttpSource::new(url).unwrap_err();
            assert!(error.contains("write it like"), "{url}: {error}");
        }
    }
}
