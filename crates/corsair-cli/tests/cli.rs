//! `corsair proxy` startup errors, through the built binary: each is a
//! non-zero exit and one clear message on stderr starting with `corsair:`
//! (a file with several problems lists every one under it), never a panic
//! or a backtrace, even with `RUST_BACKTRACE=1`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use tempfile::TempDir;

/// A valid file but for what the test changes.
const VALID: &str = r#"listen = "127.0.0.1:0"
upstream = "http://127.0.0.1:3000"

[cors]
allow_origins = ["https://app.example.com"]
allow_credentials = true
cross_origin_protection = true
"#;

/// A directory holding `proxy.toml` with `text`.
fn file(text: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("proxy.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// Runs `corsair proxy -c PATH ARGS...`, which must fail at startup, and
/// returns its stderr after checking what every startup error shares.
fn fails(path: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_corsair"))
        .arg("proxy")
        .arg("-c")
        .arg(path)
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .env_remove("RUST_LOG")
        .timeout(Duration::from_secs(10))
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        !output.status.success() && output.status.code().is_some_and(|code| code != 0),
        "expected a startup error, got {:?}\n{stderr}",
        output.status
    );
    assert!(
        stderr.starts_with("corsair: "),
        "stderr does not start with `corsair: `:\n{stderr}"
    );
    let lower = stderr.to_lowercase();
    for word in ["panicked", "backtrace", "stack backtrace", "rust_backtrace"] {
        assert!(!lower.contains(word), "{word} in stderr:\n{stderr}");
    }
    assert!(stderr.ends_with('\n'));
    assert!(output.stdout.is_empty(), "stdout: {:?}", output.stdout);
    stderr
}

/// [`fails`], for an error that is one line.
fn fails_in_one_line(path: &Path, args: &[&str]) -> String {
    let stderr = fails(path, args);
    assert_eq!(stderr.lines().count(), 1, "one line expected:\n{stderr}");
    stderr
}

#[test]
fn a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nowhere.toml");
    let stderr = fails_in_one_line(&path, &[]);
    assert!(
        stderr.starts_with(&format!("corsair: cannot read {}: ", path.display())),
        "{stderr}"
    );
    assert!(stderr.contains("No such file"), "{stderr}");
}

#[test]
fn an_unreadable_file() {
    let dir = tempfile::tempdir().unwrap();
    let stderr = fails_in_one_line(dir.path(), &[]);
    assert!(stderr.contains("cannot read "), "{stderr}");
    // The cause once, not twice.
    assert_eq!(stderr.matches("os error").count(), 1, "{stderr}");

    let (_dir, path) = file("");
    std::fs::write(&path, [0xff, 0xfe, b'\n']).unwrap();
    let stderr = fails_in_one_line(&path, &[]);
    assert!(stderr.contains("cannot read "), "{stderr}");
    assert!(stderr.contains("UTF-8"), "{stderr}");
}

#[test]
fn invalid_toml_names_line_and_column() {
    let (_dir, path) =
        file("listen = \"127.0.0.1:0\"\nupstream = \"http://127.0.0.1:3000\"\n[cors\n");
    let stderr = fails_in_one_line(&path, &[]);
    assert!(
        stderr.starts_with(&format!("corsair: {}:3:6: ", path.display())),
        "{stderr}"
    );

    let (_dir, path) = file(&VALID.replace("allow_credentials", "allow_credential"));
    let stderr = fails_in_one_line(&path, &[]);
    assert!(
        stderr.starts_with(&format!("corsair: {}:6:1: ", path.display())),
        "{stderr}"
    );
    assert!(stderr.contains("allow_credential"), "{stderr}");

    let (_dir, path) = file(&format!("{VALID}[limits]\nupstream_timeout = \"soon\"\n"));
    let stderr = fails_in_one_line(&path, &[]);
    assert!(stderr.contains(":9:"), "{stderr}");
    assert!(stderr.contains("limits.upstream_timeout"), "{stderr}");
}

#[test]
fn an_invalid_policy_lists_every_problem() {
    let (_dir, path) = file(
        r#"upstream = "http://127.0.0.1:3000"
[cors]
allow_origins = ["*"]
allow_credentials = true
[[routes]]
path_prefix = "public/"
[routes.cors]
allow_origins = ["https://example.com/path"]
[limits]
max_connections = 0
"#,
    );
    let stderr = fails(&path, &[]);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines[0],
        format!("corsair: {}: 4 problems:", path.display()),
        "{stderr}"
    );
    let fields: Vec<&str> = lines[1..]
        .iter()
        .map(|line| {
            line.strip_prefix("  - ")
                .and_then(|problem| problem.split(": ").nth(1))
                .unwrap_or_else(|| panic!("not a problem line: {line:?}\n{stderr}"))
        })
        .collect();
    assert_eq!(
        fields,
        [
            "cors.allow_origins[0]",
            "routes[0].path_prefix",
            "routes[0].cors.allow_origins[0]",
            "limits.max_connections"
        ],
        "{stderr}"
    );
}

#[test]
fn an_invalid_upstream_url() {
    for (url, says) in [
        ("https://api.internal", "plain http"),
        ("127.0.0.1:3000", "http://"),
        ("http://api/v1", "no path"),
        ("http://user:pw@api", "user name"),
        ("not a url", "not a URL"),
    ] {
        let (_dir, path) = file(&VALID.replace("http://127.0.0.1:3000", url));
        let stderr = fails_in_one_line(&path, &[]);
        assert!(
            stderr.contains(&format!("upstream: upstream {url:?}")) && stderr.contains(says),
            "{url}: {stderr}"
        );
        // The same from the command line.
        let (_dir, path) = file(VALID);
        let stderr = fails_in_one_line(&path, &["--upstream", url]);
        assert!(stderr.contains(says), "--upstream {url}: {stderr}");
    }

    let (_dir, path) = file(&VALID.replace("upstream = \"http://127.0.0.1:3000\"\n", ""));
    let stderr = fails_in_one_line(&path, &[]);
    assert!(stderr.contains("upstream: missing"), "{stderr}");
    assert!(stderr.contains("--upstream"), "{stderr}");
}

#[test]
fn a_port_that_is_taken() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();

    let (_dir, path) = file(VALID);
    let stderr = fails_in_one_line(&path, &["--listen", &addr]);
    assert!(
        stderr.starts_with(&format!("corsair: cannot listen on {addr} (proxy): ")),
        "{stderr}"
    );
    assert!(stderr.contains("in use"), "{stderr}");

    let (_dir, path) = file(&format!("{VALID}[admin]\nlisten = \"{addr}\"\n"));
    let stderr = fails_in_one_line(&path, &[]);
    assert!(
        stderr.starts_with(&format!("corsair: cannot listen on {addr} (admin): ")),
        "{stderr}"
    );
    drop(taken);
}

#[test]
fn unusable_tls_files() {
    let (dir, path) = file(&format!(
        "{VALID}[tls]\ncert = \"cert.pem\"\nkey = \"key.pem\"\n"
    ));
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");

    // Neither file exists.
    let stderr = fails_in_one_line(&path, &[]);
    assert!(
        stderr.contains(&format!(":9:8: tls.cert: cannot read {}: ", cert.display())),
        "{stderr}"
    );

    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    // The key is missing.
    let stderr = fails_in_one_line(&path, &[]);
    assert!(
        stderr.contains(&format!(": tls.key: cannot read {}: ", key.display())),
        "{stderr}"
    );

    // A key file with no key in it.
    std::fs::write(&key, "not a key\n").unwrap();
    let stderr = fails_in_one_line(&path, &[]);
    assert!(stderr.contains("no PEM private key"), "{stderr}");

    // A key that does not go with the certificate.
    let other = rcgen::KeyPair::generate().unwrap();
    std::fs::write(&key, other.serialize_pem()).unwrap();
    let stderr = fails_in_one_line(&path, &[]);
    assert!(
        stderr.contains("do not make a usable certificate"),
        "{stderr}"
    );

    // A certificate file with no certificate in it.
    std::fs::write(&cert, "hello\n").unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let stderr = fails_in_one_line(&path, &[]);
    assert!(stderr.contains("no PEM certificate"), "{stderr}");
}

#[test]
fn a_bad_log_filter() {
    let (_dir, path) = file(VALID);
    let output = Command::new(env!("CARGO_BIN_EXE_corsair"))
        .args(["--log-level", "corsair=loud", "proxy", "-c"])
        .arg(&path)
        .env("RUST_BACKTRACE", "1")
        .timeout(Duration::from_secs(10))
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!output.status.success());
    assert!(stderr.starts_with("corsair: --log-level"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
