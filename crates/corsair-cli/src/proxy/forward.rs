//! What changes between the client's request and the upstream's, and back:
//! hop-by-hop headers removed, `Forwarded` and `X-Forwarded-*` added.

use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use http::header::{self, Entry, HeaderMap, HeaderName, HeaderValue};

use super::file::Forwarding;

/// The headers that concern one connection only (RFC 9110 §7.6.1), plus the
/// legacy ones proxies still see. A `static`, not a `const`: a `const` is a
/// new array at every use, built and dropped for each header looked at.
static HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHORIZATION,
];

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Whether a request asks to switch protocols (`Connection: upgrade` with an
/// `Upgrade` header), as a WebSocket handshake does.
#[must_use]
pub(crate) fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE) && connection_lists(headers, "upgrade")
}

/// Whether `Connection` lists `token`.
fn connection_lists(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|element| element.trim().eq_ignore_ascii_case(token))
}

/// Removes hop-by-hop headers and those `Connection` names. With
/// `upgrade`, the `Upgrade` header and `Connection: upgrade` stay, so that
/// the next hop can switch protocols too.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap, upgrade: bool) {
    // Most messages carry none of them (and without `Connection`, name no
    // others): one look at each name settles it, where removing each kind
    // would hash eight names.
    if !headers.keys().any(is_hop_by_hop) {
        return;
    }
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|element| HeaderName::from_bytes(element.trim().as_bytes()).ok())
        .collect();
    let upgrade_value = if upgrade {
        headers.get(header::UPGRADE).cloned()
    } else {
        None
    };
    for name in named.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
    if let Some(value) = upgrade_value {
        headers.insert(header::UPGRADE, value);
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    }
}

/// Whether `name` is one of [`HOP_BY_HOP`]. A match on the name's text
/// rather than comparisons with each `HeaderName`: it dispatches on the
/// length first, where eight comparisons each look at the representation.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "proxy-authorization"
    )
}

/// Who the client of a connection is, formatted once for every request on
/// it.
#[derive(Debug)]
pub(crate) struct Downstream {
    /// The client's address.
    pub(crate) addr: SocketAddr,
    /// `https` when the proxy terminated TLS, else `http`.
    pub(crate) proto: &'static str,
    /// The client's IP address, as `X-Forwarded-For` lists it.
    ip: HeaderValue,
    /// The start of this hop's `Forwarded` element: `for=…;proto=…`.
    forwarded: String,
    /// The last `Forwarded` element made, and the host it names: the
    /// requests on a connection nearly always ask for one host, so the
    /// element is made (formatted, checked, copied) once, not per request.
    last_forwarded: Mutex<Option<(HeaderValue, HeaderValue)>>,
}

impl Downstream {
    /// The client at `addr`, which connected over `proto`.
    pub(crate) fn new(addr: SocketAddr, proto: &'static str) -> Downstream {
        let ip = addr.ip().to_canonical();
        let ip_text = ip.to_string();
        let mut forwarded = String::with_capacity(64);
        forwarded.push_str("for=");
        match ip {
            IpAddr::V4(_) => forwarded.push_str(&ip_text),
            IpAddr::V6(_) => {
                forwarded.push_str("\"[");
                forwarded.push_str(&ip_text);
                forwarded.push_str("]\"");
            }
        }
        forwarded.push_str(";proto=");
        forwarded.push_str(proto);
        Downstream {
            addr,
            proto,
            // An IP address is always a valid header value.
            ip: HeaderValue::from_str(&ip_text).unwrap_or(HeaderValue::from_static("unknown")),
            forwarded,
            last_forwarded: Mutex::new(None),
        }
    }

    /// This hop's `Forwarded` element for a request that asked for `host`.
    fn forwarded(&self, host: Option<&HeaderValue>) -> Option<HeaderValue> {
        let Some(host) = host else {
            return HeaderValue::from_str(&self.forwarded).ok();
        };
        // Only the connection's own requests take the lock, one at a time
        // over HTTP/1.1: it is hardly ever contended.
        let mut last = self.last_forwarded.lock().ok();
        if let Some(Some((seen, element))) = last.as_deref()
            && seen == host
        {
            return Some(element.clone());
        }
        let element = self.forwarded_for(host)?;
        if let Some(last) = last.as_deref_mut() {
            *last = Some((host.clone(), element.clone()));
        }
        Some(element)
    }

    /// This hop's `Forwarded` element naming `host`, made anew. A host that
    /// would need escaping inside a quoted string is left out rather than
    /// passed on half-quoted.
    fn forwarded_for(&self, host: &HeaderValue) -> Option<HeaderValue> {
        let value = match host.to_str() {
            Ok(host) if !host.contains(['"', '\\']) => {
                let mut element = String::with_capacity(self.forwarded.len() + host.len() + 8);
                element.push_str(&self.forwarded);
                element.push_str(";host=\"");
                element.push_str(host);
                element.push('"');
                HeaderValue::from_str(&element)
            }
            _ => HeaderValue::from_str(&self.forwarded),
        };
        value.ok()
    }
}

/// Tells the upstream who the client is, as `forwarding` asks. `host` is
/// the authority the client asked for.
pub(crate) fn add_forwarding(
    headers: &mut HeaderMap,
    forwarding: Forwarding,
    client: &Downstream,
    host: Option<&HeaderValue>,
) {
    if forwarding.x_forwarded {
        // One lookup for reading and writing: these names are not standard
        // ones, so every lookup hashes all their bytes.
        match headers.entry(X_FORWARDED_FOR.clone()) {
            Entry::Vacant(vacant) => {
                vacant.insert(client.ip.clone());
            }
            Entry::Occupied(mut occupied) => {
                let chain = match occupied.get().to_str() {
                    Ok(earlier) if !earlier.trim().is_empty() => {
                        let ip = client.ip.to_str().unwrap_or_default();
                        HeaderValue::from_str(&format!("{earlier}, {ip}")).ok()
                    }
                    _ => Some(client.ip.clone()),
                };
                // `insert` replaces every earlier line of the header.
                match chain {
                    Some(value) => {
                        occupied.insert(value);
                    }
                    None => {
                        occupied.remove_entry_mult();
                    }
                }
            }
        }
        headers.insert(
            X_FORWARDED_PROTO.clone(),
            HeaderValue::from_static(client.proto),
        );
        match host {
            Some(host) => {
                headers.insert(X_FORWARDED_HOST.clone(), host.clone());
            }
            None => {
                headers.remove(&X_FORWARDED_HOST);
            }
        }
    }
    if forwarding.forwarded
        && let Some(value) = client.forwarded(host)
    {
        headers.append(header::FORWARDED, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_go() {
        let mut headers = map(&[
            ("connection", "keep-alive, x-secret"),
            ("keep-alive", "timeout=5"),
            ("x-secret", "1"),
            ("te", "trailers"),
            ("transfer-encoding", "chunked"),
            ("proxy-authorization", "Basic x"),
            ("accept", "*/*"),
        ]);
        strip_hop_by_hop(&mut headers, false);
        assert_eq!(headers.len(), 1);
        assert_eq!(headers["accept"], "*/*");
    }

    #[test]
    fn the_quick_check_knows_every_hop_by_hop_name() {
        for name in &HOP_BY_HOP {
            assert!(is_hop_by_hop(name), "{name}");
        }
        assert!(!is_hop_by_hop(&header::ACCEPT));
        assert!(!is_hop_by_hop(&HeaderName::from_static("x-connection")));
    }

    #[test]
    fn an_upgrade_keeps_what_the_next_hop_needs() {
        let mut headers = map(&[
            ("connection", "Upgrade, keep-alive"),
            ("upgrade", "websocket"),
            ("sec-websocket-key", "abc"),
        ]);
        assert!(is_upgrade(&headers));
        strip_hop_by_hop(&mut headers, true);
        assert_eq!(headers["connection"], "upgrade");
        assert_eq!(headers["upgrade"], "websocket");
        assert_eq!(headers["sec-websocket-key"], "abc");
        assert!(!is_upgrade(&map(&[("upgrade", "websocket")])));
    }

    #[test]
    fn forwarding_headers_extend_the_chain() {
        let mut headers = map(&[
            ("x-forwarded-for", "203.0.113.7"),
            ("forwarded", "for=203.0.113.7"),
        ]);
        let host = HeaderValue::from_static("api.example.com");
        add_forwarding(
            &mut headers,
            Forwarding::default(),
            &Downstream::new("[::ffff:10.0.0.5]:4000".parse().unwrap(), "https"),
            Some(&host),
        );
        assert_eq!(headers["x-forwarded-for"], "203.0.113.7, 10.0.0.5");
        assert_eq!(headers["x-forwarded-proto"], "https");
        assert_eq!(headers["x-forwarded-host"], "api.example.com");
        let forwarded: Vec<_> = headers.get_all("forwarded").iter().collect();
        assert_eq!(forwarded.len(), 2);
        assert_eq!(
            forwarded[1],
            "for=10.0.0.5;proto=https;host=\"api.example.com\""
        );

        let mut headers = HeaderMap::new();
        add_forwarding(
            &mut headers,
            Forwarding {
                forwarded: true,
                x_forwarded: false,
                preserve_host: true,
            },
            &Downstream::new("[2001:db8::1]:4000".parse().unwrap(), "http"),
            None,
        );
        assert_eq!(headers.len(), 1);
        assert_eq!(headers["forwarded"], "for=\"[2001:db8::1]\";proto=http");
    }

    #[test]
    fn the_forwarded_element_follows_the_host_of_each_request() {
        let client = Downstream::new("10.0.0.5:4000".parse().unwrap(), "http");
        let only = Forwarding {
            forwarded: true,
            x_forwarded: false,
            preserve_host: true,
        };
        for (host, expected) in [
            (
                Some("a.example"),
                "for=10.0.0.5;proto=http;host=\"a.example\"",
            ),
            (
                Some("a.example"),
                "for=10.0.0.5;proto=http;host=\"a.example\"",
            ),
            (
                Some("b.example"),
                "for=10.0.0.5;proto=http;host=\"b.example\"",
            ),
            (None, "for=10.0.0.5;proto=http"),
            (Some("b\"x"), "for=10.0.0.5;proto=http"),
            (
                Some("a.example"),
                "for=10.0.0.5;proto=http;host=\"a.example\"",
            ),
        ] {
            let mut headers = HeaderMap::new();
            let host = host.map(|host| HeaderValue::from_str(host).unwrap());
            add_forwarding(&mut headers, only, &client, host.as_ref());
            assert_eq!(headers["forwarded"], expected, "{host:?}");
        }
    }
}
