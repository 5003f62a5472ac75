//! `corsair audit` against servers that get CORS wrong on purpose, one
//! misconfiguration class each (`tests/audit_servers`), and against
//! corsair's own layer and proxy, which must yield no finding.
//!
//! Each server's findings are asserted exactly: the set of (kind,
//! severity), so that a finding that goes missing, a false positive, a
//! suppression that stops working and a severity that drifts all fail.
//! The binary is run too (exit codes, JSON, SARIF), and the human report is
//! snapshotted (`tests/snapshots/`), with the server's port replaced by
//! `PORT`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod audit_servers;

use std::time::Duration;

use assert_cmd::Command;
use audit_servers::{AllowOrigin, List, Rules, Server, TRUSTED};
use corsair_cli::audit::{AuditOptions, Kind, Report, Severity, report, scan};
use serde_json::Value;
use tower_http::cors::{AllowOrigin as TowerAllowOrigin, CorsLayer};

use Kind::*;
use Severity::*;

/// The most requests one scan may send (the bound).
const MAX_REQUESTS: usize = 300;

/// Options for a scan trusting `trusted`: fast, bounded.
fn options(trusted: &[&str]) -> AuditOptions {
    AuditOptions {
        trusted: trusted.iter().map(|origin| (*origin).to_owned()).collect(),
        timeout: Duration::from_secs(5),
        rate: 5000.0,
        max_requests: 400,
    }
}

/// Scans `url` trusting `trusted`; every request must have been answered
/// and the scan bounded.
async fn audit_url(url: &str, trusted: &[&str]) -> Report {
    let report = scan(url, &options(trusted))
        .await
        .unwrap_or_else(|error| panic!("the audit of {url} could not run: {error}"));
    assert_eq!(report.failed_requests, 0, "{}", report::human(&report));
    assert!(
        report.requests <= MAX_REQUESTS,
        "{} requests sent",
        report.requests
    );
    report
}

/// Scans `server` trusting [`TRUSTED`].
async fn audit(server: &Server) -> Report {
    audit_url(&server.url(), &[TRUSTED]).await
}

/// The findings as (kind, severity), sorted by kind.
fn found(report: &Report) -> Vec<(Kind, Severity)> {
    let mut found: Vec<(Kind, Severity)> = report
        .findings
        .iter()
        .map(|finding| (finding.kind, finding.severity))
        .collect();
    found.sort();
    found
}

/// Asserts the findings are exactly `expected`, with the human report in
/// the message when they are not.
#[track_caller]
fn assert_found(report: &Report, expected: &[(Kind, Severity)]) {
    let mut expected = expected.to_vec();
    expected.sort();
    assert_eq!(found(report), expected, "\n{}", report::human(report));
    // One finding per kind.
    assert_eq!(report.kinds().len(), report.findings.len());
}

/// The finding of `kind`.
#[track_caller]
fn finding(report: &Report, kind: Kind) -> &corsair_cli::audit::Finding {
    report
        .findings
        .iter()
        .find(|finding| finding.kind == kind)
        .unwrap_or_else(|| panic!("no {kind}:\n{}", report::human(report)))
}

/// Whether one of `lines` is `expected`, header names compared without
/// case.
fn has_line(lines: &[String], expected: &str) -> bool {
    lines.iter().any(|line| line.eq_ignore_ascii_case(expected))
}

// ---------------------------------------------------------------------------
// Sound servers: no finding
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_sound_hyper_baseline_has_no_finding() {
    // Every misconfigured server below is this one with one field changed:
    // what they report is that field's doing.
    let server = Rules::SOUND.serve().await;
    let report = audit(&server).await;
    assert_found(&report, &[]);
    assert_eq!(report.worst(), None);
    // The baseline, one GET per origin and four preflights at most.
    assert!(report.requests > 60, "{} requests", report.requests);
}

#[tokio::test]
async fn corsairs_tower_layer_under_a_sound_policy_has_no_finding() {
    let server = audit_servers::corsair_layer().await;
    assert_found(&audit(&server).await, &[]);
}

#[tokio::test]
async fn corsairs_proxy_under_a_sound_policy_has_no_finding() {
    let server = audit_servers::corsair_proxy().await;
    assert_found(&audit(&server).await, &[]);
}

#[tokio::test]
async fn a_public_api_is_info_only() {
    let server = Rules {
        trusts: audit_servers::anything,
        preflight_trusts: audit_servers::anything,
        allow_origin: AllowOrigin::Star,
        credentials: None,
        vary: false,
        ..Rules::SOUND
    }
    .serve()
    .await;
    let report = audit(&server).await;
    assert_found(&report, &[(PublicApi, Info)]);
    assert_eq!(report.worst(), Some(Info));
}

#[tokio::test]
async fn tower_https_permissive_mode_is_a_public_api() {
    // `CorsLayer::permissive()`: `*` for origins, methods and headers,
    // without credentials. The issue: "A public API that answers `*`
    // without credentials is sound (at most info)".
    let server = audit_servers::tower_http(CorsLayer::permissive()).await;
    let report = audit(&server).await;
    assert_eq!(report.worst(), Some(Info), "\n{}", report::human(&report));
    assert!(report.kinds().contains(&PublicApi));
}

// ---------------------------------------------------------------------------
// Origin checks that trust too much
// ---------------------------------------------------------------------------

#[tokio::test]
async fn reflecting_any_origin_with_credentials_is_critical() {
    // A plain reflector echoes `null` too, which is reported on its own;
    // every look-alike it also echoes is implied and left out.
    let server = Rules::trusting(audit_servers::anything).serve().await;
    let report = audit(&server).await;
    assert_found(
        &report,
        &[(ReflectsAnyOrigin, Critical), (AllowsNullOrigin, High)],
    );
    let reflected = finding(&report, ReflectsAnyOrigin);
    let origin = reflected.origin.as_deref().unwrap();
    assert_eq!(origin, "https://corsair-attacker.com");
    assert!(has_line(
        &reflected.evidence.request,
        &format!("origin: {origin}")
    ));
    assert!(has_line(
        &reflected.evidence.response,
        &format!("access-control-allow-origin: {origin}")
    ));
    assert!(has_line(
        &reflected.evidence.response,
        "access-control-allow-credentials: true"
    ));
    assert!(reflected.evidence.request[0].starts_with("GET /api/data"));
    assert!(!reflected.fix.is_empty() && !reflected.why.is_empty());
    assert_eq!(report.findings[0].kind, ReflectsAnyOrigin, "worst first");
}

#[tokio::test]
async fn reflecting_without_credentials_is_low() {
    let server = Rules {
        credentials: None,
        ..Rules::trusting(audit_servers::anything)
    }
    .serve()
    .await;
    assert_found(
        &audit(&server).await,
        &[(ReflectsAnyOrigin, Low), (AllowsNullOrigin, Low)],
    );
}

#[tokio::test]
async fn tower_https_mirror_request_with_credentials_is_critical() {
    let layer = CorsLayer::new()
        .allow_origin(TowerAllowOrigin::mirror_request())
        .allow_credentials(true);
    let server = audit_servers::tower_http(layer).await;
    // No methods or headers are allowed on preflights: not permissive.
    assert_found(
        &audit(&server).await,
        &[(ReflectsAnyOrigin, Critical), (AllowsNullOrigin, High)],
    );
}

#[tokio::test]
async fn tower_https_very_permissive_mode_is_critical_and_its_preflights_too() {
    let server = audit_servers::tower_http(CorsLayer::very_permissive()).await;
    let report = audit(&server).await;
    assert_found(
        &report,
        &[
            (ReflectsAnyOrigin, Critical),
            (AllowsNullOrigin, High),
            (PermissivePreflight, High),
        ],
    );
    let preflight = finding(&report, PermissivePreflight);
    assert!(preflight.evidence.request[0].starts_with("OPTIONS "));
}

#[tokio::test]
async fn null_with_credentials_is_high() {
    let server = Rules::trusting(audit_servers::trusted_or_null)
        .serve()
        .await;
    let report = audit(&server).await;
    assert_found(&report, &[(AllowsNullOrigin, High)]);
    assert_eq!(
        finding(&report, AllowsNullOrigin).origin.as_deref(),
        Some("null")
    );
}

#[tokio::test]
async fn a_prefix_check_is_high() {
    // `origin.starts_with("https://app.example.com")` also accepts the
    // special-character look-alikes (implied, left out) and other ports
    // (`https://app.example.com:8443`, reported on its own).
    let server = Rules::trusting(audit_servers::prefix).serve().await;
    let report = audit(&server).await;
    assert_found(&report, &[(PrefixMatch, High)]);
    assert_eq!(
        finding(&report, PrefixMatch).origin.as_deref(),
        Some("https://app.example.com.corsair-attacker.com")
    );
}

#[tokio::test]
async fn special_characters_after_the_trusted_host_are_medium() {
    let server = Rules::trusting(audit_servers::prefix_without_dot)
        .serve()
        .await;
    let report = audit(&server).await;
    assert_found(&report, &[(SpecialCharacterBypass, Medium)]);
    assert_eq!(
        finding(&report, SpecialCharacterBypass).origin.as_deref(),
        Some("https://app.example.com_.corsair-attacker.com")
    );
}

#[tokio::test]
async fn a_suffix_check_without_a_dot_is_high() {
    // `host.ends_with("example.com")`: `corsairattackerexample.com`, and
    // every subdomain, which is what the check meant to allow. It accepts
    // `appxexample.com` too, which is no unescaped dot's doing (implied).
    let server = Rules::trusting(audit_servers::suffix).serve().await;
    let report = audit(&server).await;
    assert_found(&report, &[(SuffixMatch, High), (AnySubdomain, Medium)]);
    assert_eq!(
        finding(&report, SuffixMatch).origin.as_deref(),
        Some("https://corsairattackerexample.com")
    );
}

#[tokio::test]
async fn an_unescaped_dot_is_high() {
    let server = Rules::trusting(audit_servers::unescaped_dot).serve().await;
    let report = audit(&server).await;
    assert_found(&report, &[(UnescapedDot, High)]);
}

#[tokio::test]
async fn any_subdomain_is_medium() {
    let server = Rules::trusting(audit_servers::any_subdomain).serve().await;
    let report = audit(&server).await;
    assert_found(&report, &[(AnySubdomain, Medium)]);
    assert!(
        finding(&report, AnySubdomain)
            .origin
            .as_deref()
            .unwrap()
            .starts_with("https://corsair-audit.")
    );
}

#[tokio::test]
async fn an_http_downgrade_is_medium() {
    let server = Rules::trusting(audit_servers::either_scheme).serve().await;
    let report = audit(&server).await;
    assert_found(&report, &[(InsecureSchemeAllowed, Medium)]);
    assert_eq!(
        finding(&report, InsecureSchemeAllowed).origin.as_deref(),
        Some("http://app.example.com")
    );
}

#[tokio::test]
async fn a_third_party_hosting_domain_is_high() {
    let server = Rules::trusting(audit_servers::github_pages).serve().await;
    let report = audit(&server).await;
    assert_found(&report, &[(ThirdPartyHostAllowed, High)]);
    assert_eq!(
        finding(&report, ThirdPartyHostAllowed).origin.as_deref(),
        Some("https://corsair-audit.github.io")
    );
}

#[tokio::test]
async fn a_port_agnostic_check_is_low() {
    let server = Rules::trusting(audit_servers::any_port).serve().await;
    let report = audit(&server).await;
    assert_found(&report, &[(OtherPortAllowed, Low)]);
    assert_eq!(
        finding(&report, OtherPortAllowed).origin.as_deref(),
        Some("https://app.example.com:8443")
    );
}

#[tokio::test]
async fn look_alikes_are_derived_from_every_trusted_origin() {
    // Sound for the first trusted origin; the second is also allowed over
    // http.
    fn second_downgraded(origin: &str) -> bool {
        matches!(
            origin,
            TRUSTED | "https://admin.example.org" | "http://admin.example.org"
        )
    }
    let server = Rules::trusting(second_downgraded).serve().await;
    let report = audit_url(&server.url(), &[TRUSTED, "https://admin.example.org"]).await;
    assert_found(&report, &[(InsecureSchemeAllowed, Medium)]);
    assert_eq!(
        finding(&report, InsecureSchemeAllowed).origin.as_deref(),
        Some("http://admin.example.org")
    );
    // Without it as a trusted origin, nothing points the audit at it.
    assert_found(&audit(&server).await, &[]);
}

#[tokio::test]
async fn look_alikes_are_derived_from_the_urls_host() {
    // No trusted origin: a "local development" check on the host, reached
    // as `localhost`, lets `localhost.corsair-attacker.com` in.
    let server = Rules::trusting(audit_servers::localhost_prefix)
        .serve()
        .await;
    let url = format!("http://localhost:{}/api/data", server.port());
    let report = audit_url(&url, &[]).await;
    assert_found(&report, &[(PrefixMatch, High)]);
    assert_eq!(
        finding(&report, PrefixMatch).origin.as_deref(),
        Some("https://localhost.corsair-attacker.com")
    );
}

// ---------------------------------------------------------------------------
// Headers that are wrong whoever asks
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_wildcard_with_credentials_is_low() {
    let server = Rules {
        allow_origin: AllowOrigin::Star,
        ..Rules::trusting(audit_servers::anything)
    }
    .serve()
    .await;
    assert_found(&audit(&server).await, &[(WildcardWithCredentials, Low)]);
}

/// Issue 16: a cookie that some engine refuses breaks the credentialed
/// calls of that engine's users. From `https://app.example.com` the API on
/// `http://127.0.0.1` is another site: `SameSite=None` without `Secure` is
/// refused everywhere (Chromium and Firefox refuse the attribute pair,
/// WebKit the third-party cookie), `SameSite=None; Secure` by Chromium (its
/// stock profile blocks third-party cookies) and WebKit (no `Secure` over
/// `http://`), while Firefox keeps it in the page's partition.
#[tokio::test]
async fn cookies_some_engine_refuses_are_low() {
    for (cookie, scope, engines) in [
        (
            "session=1; Path=/; SameSite=None",
            "every engine",
            &[
                "Chromium refuses SameSite=None without Secure",
                "WebKit blocks third-party cookies",
            ][..],
        ),
        (
            "session=1; Path=/; SameSite=None; Secure",
            "Chromium and WebKit",
            &[
                "Chromium blocks third-party cookies in this profile",
                "Firefox keeps third-party cookies in the jar of the page's site",
                "WebKit keeps no Secure cookie from an http:// URL",
            ][..],
        ),
    ] {
        let server = Rules {
            set_cookie: Some(cookie),
            ..Rules::SOUND
        }
        .serve()
        .await;
        let report = audit(&server).await;
        assert_found(&report, &[(CookieRefused, Low)]);
        let found = finding(&report, CookieRefused);
        assert_eq!(found.origin.as_deref(), Some(TRUSTED));
        assert!(
            found.why.contains(&format!("is refused by {scope}")),
            "{cookie}: {}",
            found.why
        );
        for reason in engines {
            assert!(
                found.why.contains(reason),
                "{cookie}: {reason}: {}",
                found.why
            );
        }
        assert!(
            has_line(&found.evidence.response, &format!("set-cookie: {cookie}")),
            "{:?}",
            found.evidence.response
        );
    }
    // A cookie every engine keeps from a same-site page is no finding: the
    // page on another port of 127.0.0.1 is on the API's site.
    let server = Rules {
        set_cookie: Some("session=1; Path=/; SameSite=Lax"),
        ..Rules::trusting(audit_servers::anything)
    }
    .serve()
    .await;
    let same_site = format!("http://127.0.0.1:{}", server.port() ^ 1);
    let report = audit_url(&server.url(), &[&same_site]).await;
    assert!(!report.kinds().contains(&CookieRefused), "{report:?}");
}

#[tokio::test]
async fn a_missing_vary_is_medium() {
    let server = Rules {
        vary: false,
        ..Rules::SOUND
    }
    .serve()
    .await;
    let report = audit(&server).await;
    assert_found(&report, &[(MissingVaryOrigin, Medium)]);
    assert_eq!(
        finding(&report, MissingVaryOrigin).origin.as_deref(),
        Some(TRUSTED)
    );
}

#[tokio::test]
async fn two_allow_origin_lines_are_low() {
    let server = Rules {
        allow_origin: AllowOrigin::TwoLines("https://admin.example.com"),
        ..Rules::SOUND
    }
    .serve()
    .await;
    let report = audit(&server).await;
    assert_found(&report, &[(MultipleAllowOrigin, Low)]);
    let evidence = &finding(&report, MultipleAllowOrigin).evidence.response;
    assert!(has_line(
        evidence,
        "access-control-allow-origin: https://admin.example.com"
    ));
}

#[tokio::test]
async fn an_allow_origin_list_is_low() {
    let server = Rules {
        allow_origin: AllowOrigin::CommaList("https://admin.example.com"),
        ..Rules::SOUND
    }
    .serve()
    .await;
    assert_found(&audit(&server).await, &[(MultipleAllowOrigin, Low)]);
}

#[tokio::test]
async fn credentials_that_are_not_exactly_true_are_low() {
    let server = Rules {
        credentials: Some("True"),
        ..Rules::SOUND
    }
    .serve()
    .await;
    assert_found(&audit(&server).await, &[(CredentialsNotTrue, Low)]);
}

#[tokio::test]
async fn preflights_that_allow_everyone_everything_are_high_with_credentials() {
    // Actual requests are checked soundly; preflights echo whatever they
    // are asked, for any origin (`null` included: a preflight grant is not
    // a read, so no origin-trust finding comes of it).
    let server = Rules {
        preflight_trusts: audit_servers::anything,
        methods: List::Mirror,
        headers: List::Mirror,
        ..Rules::SOUND
    }
    .serve()
    .await;
    let report = audit(&server).await;
    assert_found(&report, &[(PermissivePreflight, High)]);
    assert_eq!(
        finding(&report, PermissivePreflight).origin.as_deref(),
        Some("https://corsair-attacker.com")
    );
}

#[tokio::test]
async fn permissive_preflights_without_credentials_are_low() {
    let server = Rules {
        preflight_trusts: audit_servers::anything,
        methods: List::Mirror,
        headers: List::Mirror,
        credentials: None,
        ..Rules::SOUND
    }
    .serve()
    .await;
    assert_found(&audit(&server).await, &[(PermissivePreflight, Low)]);
}

#[tokio::test]
async fn trusted_preflights_may_allow_anything() {
    // Echoing the asked method and headers to the trusted origin only is a
    // choice, not a finding.
    let server = Rules {
        methods: List::Mirror,
        headers: List::Mirror,
        ..Rules::SOUND
    }
    .serve()
    .await;
    assert_found(&audit(&server).await, &[]);
}

#[tokio::test]
async fn an_unrequested_private_network_grant_is_medium() {
    let server = Rules {
        private_network: true,
        ..Rules::SOUND
    }
    .serve()
    .await;
    assert_found(
        &audit(&server).await,
        &[(UnrequestedPrivateNetwork, Medium)],
    );
}

#[tokio::test]
async fn a_max_age_above_the_caps_is_info() {
    let server = Rules {
        max_age: Some(86_400),
        ..Rules::SOUND
    }
    .serve()
    .await;
    let report = audit(&server).await;
    assert_found(&report, &[(MaxAgeAboveCap, Info)]);
    assert_eq!(report.worst(), Some(Info));
}

#[tokio::test]
async fn a_max_age_at_the_cap_is_fine() {
    let server = Rules {
        max_age: Some(7200),
        ..Rules::SOUND
    }
    .serve()
    .await;
    assert_found(&audit(&server).await, &[]);
}

#[tokio::test]
async fn wildcard_methods_with_credentials_are_low() {
    let server = Rules {
        methods: List::Star,
        ..Rules::SOUND
    }
    .serve()
    .await;
    assert_found(
        &audit(&server).await,
        &[(WildcardMethodsWithCredentials, Low)],
    );
}

#[tokio::test]
async fn wildcard_headers_with_credentials_are_low() {
    let server = Rules {
        headers: List::Star,
        ..Rules::SOUND
    }
    .serve()
    .await;
    assert_found(
        &audit(&server).await,
        &[(WildcardHeadersWithCredentials, Low)],
    );
}

#[tokio::test]
async fn crlf_from_the_origin_in_the_answer_is_high() {
    let server = audit_servers::crlf().await;
    let report = audit(&server).await;
    assert_found(&report, &[(CrlfInjection, High)]);
    let injected = finding(&report, CrlfInjection);
    assert!(injected.origin.as_deref().unwrap().contains("%0d%0a"));
    assert!(has_line(
        &injected.evidence.response,
        "x-corsair-injected: yes"
    ));
}

// ---------------------------------------------------------------------------
// Bounds
// ---------------------------------------------------------------------------

#[tokio::test]
async fn max_requests_caps_the_scan() {
    let server = Rules::SOUND.serve().await;
    let report = scan(
        &server.url(),
        &AuditOptions {
            max_requests: 10,
            ..options(&[TRUSTED])
        },
    )
    .await
    .unwrap();
    assert_eq!(report.requests, 10);
}

#[tokio::test]
async fn the_rate_is_respected() {
    // 21 requests at 40 a second: 20 pauses of 25 ms.
    let server = Rules::SOUND.serve().await;
    let started = std::time::Instant::now();
    let report = scan(
        &server.url(),
        &AuditOptions {
            rate: 40.0,
            max_requests: 21,
            ..options(&[TRUSTED])
        },
    )
    .await
    .unwrap();
    assert_eq!(report.requests, 21);
    assert!(
        started.elapsed() >= Duration::from_millis(450),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_unreachable_server_is_an_error() {
    let port = audit_servers::closed_port().await;
    let url = format!("http://127.0.0.1:{port}/api/data");
    assert!(scan(&url, &options(&[TRUSTED])).await.is_err());
    assert!(scan("ftp://example.com/", &options(&[])).await.is_err());
    assert!(
        scan("http://127.0.0.1:1/", &options(&["not an origin"]))
            .await
            .is_err()
    );
}

// ---------------------------------------------------------------------------
// Reports
// ---------------------------------------------------------------------------

/// The human report with the port replaced by `PORT`.
fn human(report: &Report, server: &Server) -> String {
    report::human(report).replace(&format!("127.0.0.1:{}", server.port()), "127.0.0.1:PORT")
}

#[tokio::test]
async fn human_report_of_a_reflecting_server() {
    let server = Rules::trusting(audit_servers::anything).serve().await;
    let text = human(&audit(&server).await, &server);
    insta::assert_snapshot!("human_reflecting", text);
}

#[tokio::test]
async fn human_report_of_several_header_mistakes() {
    let server = Rules {
        vary: false,
        max_age: Some(86_400),
        private_network: true,
        ..Rules::SOUND
    }
    .serve()
    .await;
    let report = audit(&server).await;
    assert_found(
        &report,
        &[
            (MissingVaryOrigin, Medium),
            (UnrequestedPrivateNetwork, Medium),
            (MaxAgeAboveCap, Info),
        ],
    );
    insta::assert_snapshot!("human_header_mistakes", human(&report, &server));
}

#[tokio::test]
async fn human_report_of_a_sound_server() {
    let server = audit_servers::corsair_layer().await;
    let text = human(&audit(&server).await, &server);
    insta::assert_snapshot!("human_sound", text);
}

#[tokio::test]
async fn json_has_every_field_of_every_finding() {
    let server = Rules::trusting(audit_servers::prefix).serve().await;
    let report = audit(&server).await;
    let json = report::json(&report);
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(findings.len(), report.findings.len());
    for (value, finding) in findings.iter().zip(&report.findings) {
        assert_eq!(value["kind"], finding.kind.id());
        assert_eq!(value["severity"], finding.severity.as_str());
        assert_eq!(value["origin"].as_str(), finding.origin.as_deref());
        assert!(value["evidence"]["request"].is_array());
        assert!(value["evidence"]["response"].is_array());
        assert!(!value["fix"].as_str().unwrap().is_empty());
        assert!(!value["why"].as_str().unwrap().is_empty());
    }
}

#[tokio::test]
async fn sarif_has_one_result_per_finding() {
    let server = Rules::trusting(audit_servers::anything).serve().await;
    let report = audit(&server).await;
    let sarif = report::sarif(&report);
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), report.findings.len());
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    for (result, finding) in results.iter().zip(&report.findings) {
        assert_eq!(result["ruleId"], finding.kind.id());
        let index = usize::try_from(result["ruleIndex"].as_u64().unwrap()).unwrap();
        assert_eq!(rules[index]["id"], finding.kind.id());
    }
    assert_eq!(results[0]["level"], "error");
}

// ---------------------------------------------------------------------------
// The binary
// ---------------------------------------------------------------------------

/// Runs `corsair audit ARGS...` off the runtime (the servers keep
/// serving); (exit code, stdout).
async fn corsair_audit(args: &[&str]) -> (i32, String) {
    let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    let output = tokio::task::spawn_blocking(move || {
        Command::cargo_bin("corsair")
            .unwrap()
            .arg("audit")
            .args(&args)
            .args(["--rate", "5000", "--timeout", "5s"])
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_exits_1_on_a_critical_finding_with_json() {
    let server = audit_servers::tower_http(
        CorsLayer::new()
            .allow_origin(TowerAllowOrigin::mirror_request())
            .allow_credentials(true),
    )
    .await;
    let url = server.url();
    let (code, stdout) =
        corsair_audit(&[&url, "--trusted-origin", TRUSTED, "--format", "json"]).await;
    assert_eq!(code, 1, "{stdout}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    let findings = json["findings"].as_array().unwrap();
    let kinds: Vec<&str> = findings
        .iter()
        .map(|finding| finding["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["reflects-any-origin", "allows-null-origin"]);
    assert_eq!(findings[0]["severity"], "critical");
    for finding in findings {
        assert!(finding["origin"].is_string(), "{finding}");
        assert!(
            !finding["evidence"]["request"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        assert!(
            !finding["evidence"]["response"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        assert!(finding["fix"].is_string());
        assert!(finding["severity"].is_string());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_exits_0_on_a_public_api() {
    let server = Rules {
        trusts: audit_servers::anything,
        preflight_trusts: audit_servers::anything,
        allow_origin: AllowOrigin::Star,
        credentials: None,
        vary: false,
        ..Rules::SOUND
    }
    .serve()
    .await;
    let (code, stdout) = corsair_audit(&[&server.url()]).await;
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("public-api"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_exits_2_when_nothing_listens() {
    let port = audit_servers::closed_port().await;
    let (code, stdout) = corsair_audit(&[&format!("http://127.0.0.1:{port}/api/data")]).await;
    assert_eq!(code, 2, "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_writes_sarif() {
    let server = Rules {
        credentials: Some("True"),
        ..Rules::SOUND
    }
    .serve()
    .await;
    let (code, stdout) = corsair_audit(&[
        &server.url(),
        "--trusted-origin",
        TRUSTED,
        "--format",
        "sarif",
    ])
    .await;
    assert_eq!(code, 1, "{stdout}");
    let sarif: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["ruleId"], "credentials-not-true");
}

/// Issue 15: a scan of a path that answers 404, without a trusted origin,
/// says both: its answers are error answers, and what `--trusted-origin`
/// would have added.
#[tokio::test]
async fn a_404_without_trusted_origins_says_what_the_scan_missed() {
    let server = audit_servers::serve(|_| {
        http::Response::builder()
            .status(404)
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .unwrap()
    })
    .await;
    let report = audit_url(&server.url(), &[]).await;
    assert_eq!(report.status, 404);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    let text = report::human(&report);
    assert!(text.contains("answered 404 without Origin"), "{text}");
    assert!(
        text.contains("No finding, from error answers only."),
        "{text}"
    );
    assert!(text.contains("no --trusted-origin"), "{text}");
    assert!(!text.contains("look sound"), "{text}");
    assert_eq!(report::json(&report)["status"], 404);
}
