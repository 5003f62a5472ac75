//! What a command line names: the page's origin (`--origin`,
//! `--trusted-origin`) and the URL called. Origins are read by the
//! library's [`OriginPattern`], so a flag accepts exactly what a policy file
//! accepts and suggests the same fixes.
//!
//! A URL must be absolute `http://` or `https://`: `corsair probe
//! api.example.com/items` is refused with the two spellings to choose from,
//! rather than guessed (curl would guess `http://`, and the page's origin
//! would otherwise resolve it as a path on the page's own host). Where the
//! command has a default address, `explain` with a proxy file or a bare
//! policy, a URL that starts with `/` is a path on that address.

use corsair::origin::OriginPattern;
use url::Url;

/// Reads the origin given to `flag`: one origin as browsers serialise it
/// (`https://app.example.com`, `http://localhost:3000`), with a trailing
/// `/` tolerated. `null` is for the caller to handle.
///
/// # Errors
/// A sentence naming the flag, the problem and what to write.
pub fn origin(flag: &str, text: &str) -> Result<String, String> {
    let bare = text.strip_suffix('/').unwrap_or(text);
    match OriginPattern::parse(bare) {
        Ok(OriginPattern::Exact { origin, .. }) => Ok(origin),
        Ok(_) => Err(format!(
            "{flag} {text:?} is a pattern: give the one origin a page has, like https://app.example.com"
        )),
        Err(error) => Err(format!("{flag} {text:?}: {error}")),
    }
}

/// Reads the URL a command calls: absolute `http(s)`, or, when the command
/// has a `base` address, a path on it.
///
/// # Errors
/// A sentence saying what to write.
pub fn url(text: &str, base: Option<&Url>) -> Result<Url, String> {
    if let (Some(base), true) = (base, text.starts_with('/')) {
        return base
            .join(text)
            .map_err(|error| format!("{text:?} is not a path: {error}"));
    }
    let parsed = Url::parse(text).ok().filter(|url| {
        matches!(url.scheme(), "http" | "https") && url.host_str().is_some_and(|h| !h.is_empty())
    });
    match parsed {
        Some(url) => Ok(url),
        None if !text.contains("://") => Err(format!(
            "{text:?} has no scheme: write http://{text} or https://{text}{}",
            if base.is_some() {
                ", or a path starting with /"
            } else {
                ""
            }
        )),
        None => Err(format!(
            "{text:?} is not an http(s) URL: write http://host[:port]/path or https://host[:port]/path"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 15: a URL without a scheme is refused, never resolved against
    /// the page's origin or guessed.
    #[test]
    fn a_url_without_a_scheme_is_refused_with_both_spellings() {
        for text in [
            "127.0.0.1:47050/reflect",
            "api.example.com/items",
            "localhost:8080/x",
        ] {
            let error = url(text, None).unwrap_err();
            assert!(
                error.contains(&format!("write http://{text} or https://{text}")),
                "{error}"
            );
        }
        assert!(url("ftp://example.com/", None).is_err());
        assert!(url("/items", None).is_err());
        assert_eq!(
            url("https://api.example.com/a?b", None).unwrap().as_str(),
            "https://api.example.com/a?b"
        );
    }

    /// A path is a path on the command's own address.
    #[test]
    fn a_path_is_on_the_base_address() {
        let base = Url::parse("http://127.0.0.1:8080/").unwrap();
        assert_eq!(
            url("/public/a.js", Some(&base)).unwrap().as_str(),
            "http://127.0.0.1:8080/public/a.js"
        );
        assert!(
            url("public/a.js", Some(&base))
                .unwrap_err()
                .contains("or a path starting with /")
        );
    }

    #[test]
    fn origins_read_as_policy_files_read_them() {
        assert_eq!(
            origin("--origin", "https://app.example.com/").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(
            origin("--origin", "http://localhost:3000").unwrap(),
            "http://localhost:3000"
        );
        let error = origin("--origin", "https://app.example.com:443").unwrap_err();
        assert!(error.contains("write https://app.example.com"), "{error}");
        assert!(origin("--origin", "https://*.example.com").is_err());
        assert!(origin("--origin", "app.example.com").is_err());
    }
}
