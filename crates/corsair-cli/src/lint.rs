//! Warnings: choices a valid file may make that deserve a second look.
//! `corsair check` prints them; the proxy logs them when it starts and
//! when it reloads.

use corsair::Config;
use corsair::config::Diagnostic;
use corsair::origin::OriginPattern;
use corsair::protocol::{CHROMIUM_MAX_AGE, FIREFOX_MAX_AGE};

use crate::proxy::ProxyFile;

/// Warnings for a policy at `field` (`cors`, `routes[0].cors`, or empty for
/// a bare policy). `production` says the file looks like it serves real
/// users (TLS, public origins), which makes loopback origins suspicious.
#[must_use]
pub fn policy_warnings(field: &str, config: &Config, production: bool) -> Vec<Diagnostic> {
    let at = |name: &str| {
        if field.is_empty() {
            name.to_owned()
        } else {
            format!("{field}.{name}")
        }
    };
    let mut out = Vec::new();
    let chromium = CHROMIUM_MAX_AGE.as_secs();
    if let Some(max_age) = config.max_age
        && max_age > chromium
    {
        out.push(Diagnostic::warning(
            "max-age-above-chromium-cap",
            at("max_age"),
            format!(
                "Chromium caches preflights for at most {chromium} s, so {max_age} acts as \
                 {chromium} there (Firefox: at most {})",
                FIREFOX_MAX_AGE.as_secs()
            ),
        ));
    }
    if config.mode == corsair::config::Mode::ReportOnly {
        out.push(Diagnostic::warning(
            "report-only",
            at("mode"),
            "report-only: this policy answers nothing; the application's own CORS answers are \
             served as they are, and where a browser would treat them differently from this \
             policy's is logged (target corsair::report; the proxy also counts it in \
             corsair_report_differences_total); set mode = \"enforce\" once the only \
             differences left are the application's mistakes",
        ));
    }
    if config.allow_credentials && !config.cross_origin_protection {
        out.push(Diagnostic::warning(
            "credentials-without-cross-origin-protection",
            at("allow_credentials"),
            "a credentialed policy without cross_origin_protection: CORS keeps other sites from \
             reading the answers, not from sending requests, so a cross-site form POST still \
             reaches the application with the user's cookies (CSRF); set \
             cross_origin_protection = true to refuse unsafe-method requests from sites the \
             policy does not allow"
                .to_owned(),
        ));
    }
    if config.allow_credentials {
        if let Some(index) = config.allow_headers.iter().position(|h| h == "*") {
            out.push(Diagnostic::warning(
                "any-header-with-credentials",
                at(&format!("allow_headers[{index}]")),
                "every request header is allowed on credentialed calls (corsair echoes \
                          the names the browser asks for, since browsers read `*` literally \
                          with credentials): list the headers your scripts send"
                    .to_owned(),
            ));
        }
        if let Some(index) = config.allow_methods.iter().position(|m| m == "*") {
            out.push(Diagnostic::warning(
                "any-method-with-credentials",
                at(&format!("allow_methods[{index}]")),
                "every method is allowed on credentialed calls (corsair echoes the \
                          method the browser asks for): list the methods your API accepts"
                    .to_owned(),
            ));
        }
    }
    for (index, origin) in config.allow_origins.iter().enumerate() {
        // An entry that does not parse is an error, reported elsewhere.
        let Ok(pattern) = OriginPattern::parse(origin) else {
            continue;
        };
        if matches!(pattern, OriginPattern::Subdomains { .. }) {
            out.push(Diagnostic::warning(
                "wildcard-subdomains",
                at(&format!("allow_origins[{index}]")),
                if config.allow_credentials {
                    format!(
                        "{origin} lets every subdomain call with the user's cookies: one \
                         subdomain with an XSS, user content or a dangling DNS record is enough \
                         to read this API as the user; list the subdomains if you can"
                    )
                } else {
                    format!(
                        "{origin} lets every subdomain read the responses; list the subdomains \
                         if you can"
                    )
                },
            ));
        }
        if production && pattern.is_loopback() {
            out.push(Diagnostic::warning(
                "loopback-origin",
                at(&format!("allow_origins[{index}]")),
                format!(
                    "{origin} is a development origin in what looks like a production file: \
                     any program on a visitor's machine can serve that origin"
                ),
            ));
        }
    }
    if config.dangerously_allow_insecure_origins {
        out.push(Diagnostic::warning(
            "dangerous-option",
            at("dangerously_allow_insecure_origins"),
            "http:// origins may call with credentials: anyone on the network path of \
                      such a page can inject a script into it and read this API as the user"
                .to_owned(),
        ));
    }
    if config.dangerously_allow_public_suffix_wildcards {
        out.push(Diagnostic::warning(
            "dangerous-option",
            at("dangerously_allow_public_suffix_wildcards"),
            "patterns such as https://*.github.io let anyone who can publish a page \
                      under that suffix call this API"
                .to_owned(),
        ));
    }
    out
}

/// Whether a set of policies looks like it serves real users: it allows
/// an `https://` origin that is not loopback.
#[must_use]
pub fn looks_like_production<'a>(configs: impl IntoIterator<Item = &'a Config>) -> bool {
    configs.into_iter().any(|config| {
        config
            .allow_origins
            .iter()
            .filter_map(|origin| OriginPattern::parse(origin).ok())
            .any(|pattern| pattern.scheme() == Some("https") && !pattern.is_loopback())
    })
}

/// Warnings for a proxy file: its policies, its routes and its admin
/// listener.
#[must_use]
pub fn proxy_warnings(file: &ProxyFile) -> Vec<Diagnostic> {
    let production = file.tls.is_some()
        || looks_like_production(
            std::iter::once(&file.cors).chain(file.routes.iter().map(|route| &route.cors)),
        );
    let mut out = policy_warnings("cors", &file.cors, production);
    out.extend(source_without_url("cors", &file.cors));
    for (index, route) in file.routes.iter().enumerate() {
        let field = format!("routes[{index}].cors");
        out.extend(policy_warnings(&field, &route.cors, production));
        out.extend(source_without_url(&field, &route.cors));
        if let Some(prefix) = &route.path_prefix
            && prefix.len() > 1
            && !prefix.ends_with('/')
        {
            out.push(Diagnostic::warning(
                "prefix-without-slash",
                format!("routes[{index}].path_prefix"),
                format!(
                    "{prefix:?} also matches {prefix}-old and {prefix}2: write \"{prefix}/\" to \
                     mean the directory"
                ),
            ));
        }
    }
    if let Some(admin) = &file.admin
        && !admin.listen.ip().is_loopback()
    {
        out.push(Diagnostic::warning(
            "admin-not-loopback",
            "admin.listen".to_owned(),
            format!(
                "the admin listener on {} serves /config and /metrics to anyone who can reach \
                 it: keep it on 127.0.0.1 or a private network",
                admin.listen
            ),
        ));
    }
    out
}

/// In a proxy file, an `[origin_source]` without `url`: the proxy has
/// nothing to ask (a library attaches its source in code, so a bare
/// policy is not warned).
fn source_without_url(field: &str, config: &Config) -> Option<Diagnostic> {
    config
        .origin_source
        .as_ref()
        .filter(|source| source.url.is_none())
        .map(|_| {
            Diagnostic::warning(
                "origin-source-without-url",
                format!("{field}.origin_source"),
                "the proxy asks an origin source at its url, and this one has none: origins the \
                 lists do not name are refused; set url = \"http://HOST/PATH/{origin}\", or \
                 remove the table"
                    .to_owned(),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(origins: &[&str]) -> Config {
        Config {
            allow_origins: origins.iter().map(|o| (*o).to_owned()).collect(),
            ..Config::default()
        }
    }

    #[test]
    fn a_proxy_origin_source_needs_a_url() {
        let codes = |text: &str| -> Vec<(&'static str, String)> {
            let file: ProxyFile = toml::from_str(text).unwrap();
            proxy_warnings(&file)
                .into_iter()
                .filter(|w| w.code == "origin-source-without-url")
                .map(|w| (w.code, w.field.unwrap_or_default()))
                .collect()
        };
        let policy = "allow_origins = [\"https://app.example.com\"]\n";
        assert_eq!(
            codes(&format!(
                "[cors]\n{policy}[cors.origin_source]\nttl = \"1m\"\n"
            )),
            [("origin-source-without-url", "cors.origin_source".to_owned())]
        );
        let with_url = "[cors.origin_source]\nurl = \"http://tenants.internal/{origin}\"\n";
        assert!(codes(&format!("[cors]\n{policy}{with_url}")).is_empty());
        assert_eq!(
            codes(&format!(
                "[cors]\n{policy}[[routes]]\npath_prefix = \"/a/\"\n[routes.cors]\n{policy}\
                 [routes.cors.origin_source]\n"
            )),
            [(
                "origin-source-without-url",
                "routes[0].cors.origin_source".to_owned()
            )]
        );
    }

    #[test]
    fn questionable_choices_are_named() {
        let mut risky = config(&[
            "https://app.example.com",
            "https://*.example.com",
            "http://localhost:3000",
        ]);
        risky.allow_credentials = true;
        risky.allow_headers = vec!["*".into()];
        risky.allow_methods = vec!["*".into()];
        risky.max_age = Some(86_400);
        let codes: Vec<_> = policy_warnings("cors", &risky, true)
            .into_iter()
            .map(|w| (w.code, w.field.unwrap_or_default()))
            .collect();
        assert_eq!(
            codes,
            [
                ("max-age-above-chromium-cap", "cors.max_age".to_owned()),
                (
                    "credentials-without-cross-origin-protection",
                    "cors.allow_credentials".to_owned()
                ),
                (
                    "any-header-with-credentials",
                    "cors.allow_headers[0]".to_owned()
                ),
                (
                    "any-method-with-credentials",
                    "cors.allow_methods[0]".to_owned()
                ),
                ("wildcard-subdomains", "cors.allow_origins[1]".to_owned()),
                ("loopback-origin", "cors.allow_origins[2]".to_owned()),
            ]
        );
    }

    #[test]
    fn a_sound_policy_has_no_warning() {
        let mut sound = config(&["https://app.example.com"]);
        sound.allow_credentials = true;
        sound.cross_origin_protection = true;
        sound.allow_methods = vec!["PUT".into()];
        sound.max_age = Some(600);
        assert!(policy_warnings("", &sound, true).is_empty());
        // Loopback origins are fine in a development file.
        let dev = config(&["http://localhost:*"]);
        assert!(!looks_like_production([&dev]));
        assert!(policy_warnings("", &dev, false).is_empty());
    }
}
