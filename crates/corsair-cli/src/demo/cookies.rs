//! What the pages say about the session cookie: the attributes the API
//! chose, and what each engine does with them, and with the attributes a
//! cross-site API would need. Every sentence comes from the library's
//! cookie model ([`CookieReport::judge`]), the one the e2e suite holds to
//! the real engines, so the page cannot tell a story the model does not.

use std::fmt::Write as _;

use corsair::browser::{CookieReport, Page, Profile, ThirdPartyCookies};
use corsair_seed::{CROSS_SITE_COOKIE, SESSION_COOKIE};
use url::Url;

use super::Origins;
use super::pages::escape;

/// The profiles the table shows: each engine as it ships, and desktop
/// Chrome, whose users allow third-party cookies by default.
fn profiles() -> [(&'static str, Profile); 4] {
    [
        ("Chromium (headless, Incognito)", Profile::chromium()),
        (
            "Chrome, third-party cookies allowed",
            Profile::chromium().with_third_party_cookies(ThirdPartyCookies::Allowed),
        ),
        ("Firefox", Profile::firefox()),
        ("WebKit (Safari)", Profile::webkit()),
    ]
}

/// The HTML section on the session cookie, for the pages of `origins`,
/// whose API sets its session cookie with `attributes`.
pub(crate) fn section(origins: &Origins, attributes: &str) -> String {
    let chosen = format!("{SESSION_COOKIE}=…; {attributes}");
    let cross_site = format!("{SESSION_COOKIE}=…; {CROSS_SITE_COOKIE}");
    let (Ok(page), Ok(attacker), Ok(login)) = (
        Page::new(&origins.page),
        Page::new(&origins.attacker),
        Url::parse(&format!("{}/login", origins.api)),
    ) else {
        return String::new();
    };
    let mut rows = String::new();
    for (name, profile) in profiles() {
        let here = CookieReport::judge(&profile, &page, &login, &chosen);
        let there = CookieReport::judge(&profile, &attacker, &login, &cross_site);
        let cell = |report: &CookieReport| {
            let (class, verdict) = if report.sent_back() {
                ("readable", "sent back")
            } else {
                ("hidden", "lost")
            };
            format!(
                "<span class=\"{class}\">{verdict}</span>: {}",
                escape(&report.why)
            )
        };
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(name),
            cell(&here),
            cell(&there)
        );
    }
    format!(
        "<section class=\"cookies\" id=\"cookies\">\
         <h2>The session cookie</h2>\
         <p>The API logs the user in with <code>Set-Cookie: {chosen}</code>. \
         <code>SameSite=Lax</code> because the API is on the page's site: \
         <code>{page}</code> and <code>{api}</code> differ in port only, and ports do not \
         make sites, so the cookie is first-party. It is the one choice that every engine keeps \
         and sends back, over <code>http://localhost</code> as over https, and no request from \
         another site carries it. There is no <code>Secure</code>: WebKit keeps no \
         <code>Secure</code> cookie from an <code>http://</code> URL, not even from localhost; \
         an API served over https should add it.</p>\
         <p>A page on another site, such as <code>{attacker}</code>, would need the API to send \
         <code>{cross}</code> instead, and then each engine decides:</p>\
         <table><tr><th>engine</th><th>this page, <code>SameSite=Lax</code></th>\
         <th>a page on <code>{attacker}</code>, <code>SameSite=None; Secure</code></th></tr>\
         {rows}</table></section>",
        chosen = escape(&chosen),
        page = escape(&origins.page),
        api = escape(&origins.api),
        attacker = escape(&origins.attacker),
        cross = escape(&cross_site),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins() -> Origins {
        Origins {
            api: "http://localhost:3000".into(),
            page: "http://localhost:8080".into(),
            attacker: "http://127.0.0.1:8081".into(),
        }
    }

    /// The chosen cookie goes back in every engine, and the page says what
    /// each engine does with a cross-site one, in the model's words.
    #[test]
    fn the_section_says_what_each_engine_does() {
        let html = section(&origins(), corsair_seed::SAME_SITE_COOKIE);
        assert_eq!(
            html.matches("<span class=\"readable\">sent back</span>")
                .count(),
            4 + 2,
            "Lax everywhere; None; Secure cross-site in desktop Chrome and Firefox: {html}"
        );
        for said in [
            "Set-Cookie: session=…; Path=/; HttpOnly; SameSite=Lax",
            "WebKit keeps no Secure cookie from an http:// URL",
            "Chromium blocks third-party cookies in this profile",
            "Total Cookie Protection",
        ] {
            assert!(html.contains(said), "{said}: {html}");
        }
    }
}
