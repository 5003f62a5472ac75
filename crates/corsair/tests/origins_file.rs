//! `allow_origins_file`: origins read from a file, one per line, with the
//! rules of `allow_origins`, errors that give their line, paths relative to
//! the configuration that names them, and reloading when the file changes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use corsair::config::{Document, MAX_REPORTED_LINES};
use corsair::origin::OriginError;
use corsair::policy::{Actual, Decision, Policy};
use corsair::{Config, ConfigProblem, Cors, Format, OriginsFileProblem};
use http::{HeaderMap, HeaderValue, Method};

/// A file named `name` in a new directory, holding `text`.
fn file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// Replaces the file at `path` at once, as deployments do.
fn replace(path: &Path, text: &str) {
    let next = path.with_extension("next");
    std::fs::write(&next, text).unwrap();
    std::fs::rename(&next, path).unwrap();
}

fn from_file(path: &Path, credentials: bool) -> Config {
    Config {
        allow_origins_file: Some(path.to_owned()),
        allow_credentials: credentials,
        ..Config::default()
    }
}

fn allows(policy: &Policy, origin: &str) -> bool {
    let mut headers = HeaderMap::new();
    headers.insert("origin", HeaderValue::from_str(origin).unwrap());
    matches!(
        policy.check(&Method::GET, &headers),
        Decision::Actual(Actual::Allowed(_))
    )
}

#[test]
fn a_file_lists_origins_and_patterns_with_comments() {
    let (_dir, path) = file(
        "tenants.txt",
        "# tenants, one per line\n\
         https://app.example.com\n\
         \n\
         \t https://*.tenant-a.example   # every subdomain\r\n\
         http://localhost:*\n\
         https://shop.tenant-b.example#no space before the comment\n",
    );
    let policy = Policy::new(Config {
        allow_origins: vec!["https://admin.example.com".into()],
        ..from_file(&path, false)
    })
    .unwrap();
    for origin in [
        "https://admin.example.com",
        "https://app.example.com",
        "https://x.tenant-a.example",
        "https://a.b.tenant-a.example",
        "http://localhost:5173",
        "https://shop.tenant-b.example",
    ] {
        assert!(allows(&policy, origin), "{origin}");
    }
    for origin in [
        "https://tenant-a.example",
        "https://app.example.com.evil.example",
        "https://evil.example",
        "null",
    ] {
        assert!(!allows(&policy, origin), "{origin}");
    }
    // The configuration keeps the path, not a million strings.
    assert!(policy.config().allow_origins.len() == 1);
}

#[test]
fn an_empty_file_is_a_list_of_no_origins() {
    let (_dir, path) = file("tenants.txt", "# nobody yet\n\n");
    let policy = Policy::new(from_file(&path, true)).unwrap();
    assert!(!allows(&policy, "https://app.example.com"));
}

#[test]
fn refused_lines_are_reported_with_their_number_and_the_rules_of_allow_origins() {
    let (_dir, path) = file(
        "tenants.txt",
        "https://ok.example\n\
         https://app.example.com/\n\
         # a comment\n\
         *\n\
         http://plain.example\n\
         https://*.github.io\n\
         https://\u{e9}.example\n",
    );
    let error = Policy::new(from_file(&path, true)).unwrap_err();
    let problems: Vec<(usize, &str, &OriginsFileProblem)> = error
        .problems()
        .iter()
        .map(|problem| match problem {
            ConfigProblem::OriginsFileLine {
                line,
                value,
                problem,
                path: named,
            } => {
                assert_eq!(named, &path);
                (*line, value.as_str(), problem)
            }
            other => panic!("{other}"),
        })
        .collect();
    assert_eq!(problems.len(), 5, "{error}");
    assert!(matches!(
        problems[0],
        (
            2,
            "https://app.example.com/",
            OriginsFileProblem::Origin(OriginError::Path { .. })
        )
    ));
    assert!(matches!(problems[1], (4, "*", OriginsFileProblem::Any)));
    assert!(matches!(
        problems[2],
        (
            5,
            "http://plain.example",
            OriginsFileProblem::InsecureWithCredentials
        )
    ));
    assert!(matches!(
        problems[3],
        (6, "https://*.github.io", OriginsFileProblem::PublicSuffixWildcardWithCredentials { suffix })
            if suffix == "github.io"
    ));
    assert!(matches!(problems[4], (7, _, OriginsFileProblem::Origin(_))));
    // Each message is `file:line: "entry": why`, in the words of
    // allow_origins.
    let text = error.to_string();
    let at = |line: usize| format!("{}:{line}: ", path.display());
    assert!(text.contains(&format!(
        "{}\"https://app.example.com/\": an origin has no path",
        at(2)
    )));
    assert!(text.contains(&format!("{}\"*\": an origins file lists origins", at(4))));
    assert!(text.contains("anyone on the network path can inject script"));
    assert!(text.contains("`github.io` is a public suffix"));
    assert_eq!(error.problems()[0].field(), "allow_origins_file");

    // Without credentials, plain http and public-suffix wildcards pass,
    // as in allow_origins; `*` never does.
    let error = Policy::new(from_file(&path, false)).unwrap_err();
    assert_eq!(error.problems().len(), 3, "{error}");

    // The dangerously_ flags let them through with credentials too.
    let error = Policy::new(Config {
        dangerously_allow_insecure_origins: true,
        dangerously_allow_public_suffix_wildcards: true,
        ..from_file(&path, true)
    })
    .unwrap_err();
    assert_eq!(error.problems().len(), 3, "{error}");
}

#[test]
fn a_file_of_mistakes_reports_the_first_ones_and_counts_the_rest() {
    let lines: String = (0..50).map(|n| format!("https://{n}.example/\n")).collect();
    let (_dir, path) = file("tenants.txt", &lines);
    let error = Policy::new(from_file(&path, false)).unwrap_err();
    assert_eq!(error.problems().len(), MAX_REPORTED_LINES + 1);
    assert!(matches!(
        error.problems().last(),
        Some(ConfigProblem::OriginsFileMoreLines { more: 30, .. })
    ));
    assert!(error.to_string().ends_with(": 30 more lines are refused"));
}

#[test]
fn a_file_that_cannot_be_read_is_a_problem_among_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.txt");
    let error = Policy::new(Config {
        allow_origins: vec!["https://app.example.com/".into()],
        max_age: Some(1_000_000),
        ..from_file(&missing, false)
    })
    .unwrap_err();
    let problems = error.problems();
    assert_eq!(problems.len(), 3, "{error}");
    assert!(matches!(
        problems[0],
        ConfigProblem::Origin { index: 0, .. }
    ));
    assert!(
        matches!(&problems[1], ConfigProblem::OriginsFileUnreadable { path, .. } if *path == missing)
    );
    assert!(matches!(problems[2], ConfigProblem::MaxAgeTooLarge { .. }));

    let error = Policy::new(from_file(dir.path(), false)).unwrap_err();
    assert!(error.to_string().contains("it is a directory"), "{error}");
}

#[test]
fn a_line_that_is_not_text_is_refused_and_the_rest_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tenants.txt");
    std::fs::write(&path, b"https://ok.example\nhttps://\xff.example\n").unwrap();
    let error = Policy::new(from_file(&path, false)).unwrap_err();
    assert!(matches!(
        error.problems(),
        [ConfigProblem::OriginsFileLine {
            line: 2,
            problem: OriginsFileProblem::NotText,
            ..
        }]
    ));
}

#[test]
fn a_configuration_file_names_its_origins_file_relative_to_itself() {
    let (dir, _) = file(
        "tenants.txt",
        "https://tenant.example\nhttps://bad.example/\n",
    );
    let config = dir.path().join("cors.toml");
    let text =
        "allow_origins = [\"https://app.example.com\"]\nallow_origins_file = \"tenants.txt\"\n";
    std::fs::write(&config, text).unwrap();
    let document = Document::read(&config).unwrap();
    let error = document.policy().unwrap_err();
    let [diagnostic] = error.diagnostics() else {
        panic!("{error}")
    };
    // Located at the field that names the file, and naming the line.
    assert_eq!(diagnostic.field.as_deref(), Some("allow_origins_file"));
    assert_eq!(diagnostic.location.as_ref().map(|at| at.line), Some(2));
    let tenants = dir.path().join("tenants.txt");
    assert!(
        diagnostic.message.starts_with(&format!(
            "{}:2: \"https://bad.example/\"",
            tenants.display()
        )),
        "{diagnostic}"
    );

    replace(&tenants, "https://tenant.example\n");
    let policy = document.policy().unwrap();
    assert!(allows(&policy, "https://tenant.example"));
    assert_eq!(
        policy.config().allow_origins_file.as_deref(),
        Some(&*tenants)
    );
    // The same through Config::from_file, and from a document with no file
    // (relative to the working directory).
    let read = Config::from_file(&config).unwrap();
    assert_eq!(read.allow_origins_file.as_deref(), Some(&*tenants));
    let unnamed = Config::from_str_as(text, Format::Toml).unwrap();
    assert_eq!(
        unnamed.allow_origins_file.as_deref(),
        Some(Path::new("tenants.txt"))
    );
}

#[test]
fn environment_variables_name_the_file_and_the_newer_settings() {
    let config = Config::from_env_vars(
        "CORS_",
        [
            ("CORS_ALLOW_ORIGINS_FILE", "/etc/corsair/tenants.txt"),
            ("CORS_PREFLIGHT_STATUS", "200"),
            ("CORS_CROSS_ORIGIN_PROTECTION", "true"),
            ("CORS_TIMING_ALLOW_ORIGIN", "true"),
            ("CORS_WEBSOCKET_ORIGINS", "pass"),
            ("CORS_MODE", "report-only"),
        ],
    )
    .unwrap();
    assert_eq!(
        config.websocket_origins,
        corsair::config::WebSocketOrigins::Pass
    );
    assert_eq!(config.mode, corsair::config::Mode::ReportOnly);
    let error = Config::from_env_vars("CORS_", [("CORS_MODE", "shadow")]).unwrap_err();
    assert!(
        error.to_string().contains("write enforce or report-only"),
        "{error}"
    );
    assert_eq!(
        config.allow_origins_file.as_deref(),
        Some(Path::new("/etc/corsair/tenants.txt"))
    );
    assert_eq!(config.preflight_status, Some(200));
    assert!(config.cross_origin_protection && config.timing_allow_origin);
    let error = Config::from_env_vars("CORS_", [("CORS_PREFLIGHT_STATUS", "ok")]).unwrap_err();
    assert!(error.to_string().contains("write 204 or 200"), "{error}");
}

#[test]
fn reload_reads_the_file_only_when_it_changed_and_keeps_the_list_on_a_mistake() {
    let (_dir, path) = file("tenants.txt", "https://a.example\n");
    let cors = Cors::new(from_file(&path, true)).unwrap();
    cors.set_debug(true);
    let first = cors.policy();
    assert!(!cors.reload_origins_file().unwrap());
    assert!(
        std::sync::Arc::ptr_eq(&first, &cors.policy()),
        "nothing read"
    );

    replace(&path, "https://a.example\nhttps://b.example\n");
    assert!(first.origins_file_changed());
    assert!(cors.reload_origins_file().unwrap());
    let second = cors.policy();
    assert!(allows(&second, "https://b.example"));
    assert!(second.debug(), "debug mode carries over");
    assert!(!second.origins_file_changed());

    replace(&path, "https://b.example\nhttp://plain.example\n");
    let error = cors.reload_origins_file().unwrap_err();
    assert!(matches!(
        error.problems(),
        [ConfigProblem::OriginsFileLine { line: 2, .. }]
    ));
    assert!(
        allows(&cors.policy(), "https://a.example"),
        "the list in force stays"
    );

    // A file gone for a moment is no change.
    std::fs::remove_file(&path).unwrap();
    assert!(!cors.policy().origins_file_changed());
    assert!(!cors.reload_origins_file().unwrap());
}

#[test]
fn the_watch_follows_the_file_and_stops_when_dropped() {
    let (_dir, path) = file("tenants.txt", "https://a.example\n");
    let cors = Cors::new(from_file(&path, false)).unwrap();
    let watch = cors.watch_origins_file(Duration::from_millis(20));
    assert!(watch.is_running());
    replace(&path, "https://b.example\n");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !allows(&cors.policy(), "https://b.example") {
        assert!(Instant::now() < deadline, "not reloaded within 5s");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!allows(&cors.policy(), "https://a.example"));
    drop(watch);
    // Stopped: a change is no longer applied.
    replace(&path, "https://c.example\n");
    std::thread::sleep(Duration::from_millis(100));
    assert!(!allows(&cors.policy(), "https://c.example"));
}
