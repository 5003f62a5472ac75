//! `RequestOrigin::parse` on arbitrary bytes: what it accepts is exactly
//! what was sent, in the form browsers write, and the configuration accepts
//! an accepted origin as an exact entry only byte for byte.

#![no_main]

use corsair::origin::{OriginPattern, RequestOrigin};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = RequestOrigin::parse(data);
    if data.len() > 512 {
        assert!(parsed.is_err(), "an origin over 512 bytes was accepted");
    }
    let origin = match parsed {
        Err(error) => {
            // Every refusal renders a message.
            assert!(!error.to_string().is_empty());
            return;
        }
        Ok(RequestOrigin::Null) => {
            assert_eq!(data, b"null");
            return;
        }
        Ok(RequestOrigin::Tuple(origin)) => origin,
    };

    // A parsed origin re-serialises to the input, whichever way it is read.
    assert_eq!(origin.as_str().as_bytes(), data);
    assert_eq!(origin.to_string().as_bytes(), data);
    let (scheme, host, port) = (origin.scheme(), origin.host(), origin.port());
    let without_port = format!("{scheme}://{host}");
    assert_eq!(origin.without_port(), without_port);
    let rebuilt = match port {
        Some(port) => format!("{without_port}:{port}"),
        None => without_port,
    };
    assert_eq!(rebuilt.as_bytes(), data, "parts do not rebuild the origin");

    // The form browsers write: lowercase visible ASCII, a scheme, a host,
    // never the scheme's default port, nothing after the host and port.
    assert!(
        data.iter()
            .all(|b| b.is_ascii_graphic() && !b.is_ascii_uppercase()),
        "accepted a byte browsers never send"
    );
    assert!(!scheme.is_empty() && !host.is_empty());
    assert!(!host.contains(['/', '@', ',', '?', '#', '*', '%', '\\']));
    if !host.starts_with('[') {
        assert!(
            !host.starts_with('.') && !host.contains(".."),
            "an empty label"
        );
    }
    let default = match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    };
    assert!(port.is_none() || port != default, "a default port was kept");

    // When the configuration accepts the same text as an exact origin, it
    // keeps it byte for byte: otherwise that entry could never match.
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(OriginPattern::Exact { origin: exact, .. }) = OriginPattern::parse(text)
    {
        assert_eq!(exact, text, "the configuration rewrote an origin");
    }
});
