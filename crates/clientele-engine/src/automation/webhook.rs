//! Outgoing webhooks: a step POSTed as JSON, signed with HMAC-SHA256 over the timestamp and
//! the body under the workspace's webhook key (`Clientele-Signature: t=UNIX,v1=HEX`, as
//! receivers of Stripe-style webhooks check it), with the step's key as an idempotency key
//! (a retry after a lost answer carries the same one). A target whose name resolves to a
//! loopback, private, link-local (where cloud metadata services live), shared or otherwise
//! special address is refused unless the server allows private targets — rules are data
//! anyone with an API token can write, and must not reach into the server's network.

use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;
use std::time::Duration;

use clientele_core::time::{Micros, SECOND};
use clientele_store::{StoreResult, WriteTx};
use hmac::{KeyInit, Mac};

/// What the workspace's webhook key signs.
const PURPOSE: &str = "webhook";
/// The bound on one call.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The workspace's webhook signing key, made now if it has none.
pub async fn key(tx: &mut dyn WriteTx, now: Micros) -> StoreResult<Vec<u8>> {
    let fresh: [u8; 32] = rand::random();
    tx.signing_key(PURPOSE, &fresh, now).await
}

/// The `Clientele-Signature` header for `body` sent at `now`.
pub fn signature(key: &[u8], now: Micros, body: &[u8]) -> String {
    let t = now / SECOND;
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Why an address may not be called (without allowing private targets), if it may not.
pub fn forbidden(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            if v4.is_loopback() {
                Some("a loopback address")
            } else if v4.is_private() {
                Some("a private address")
            } else if v4.is_link_local() {
                Some("a link-local address (cloud metadata services live there)")
            } else if a == 100 && (64..128).contains(&b) {
                Some("a shared (carrier-grade NAT) address")
            } else if v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() || a == 0 {
                Some("not a unicast address")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("a loopback address")
            } else if first & 0xfe00 == 0xfc00 {
                Some("a private (unique local) address")
            } else if first & 0xffc0 == 0xfe80 {
                Some("a link-local address")
            } else if v6.is_unspecified() || v6.is_multicast() {
                Some("not a unicast address")
            } else {
                None
            }
        }
    }
}

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(TIMEOUT)
            // A redirect could lead anywhere, past the address check.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("the HTTP client builds")
    })
}

/// POST `body` to `url`; an error says why it did not get a 2xx answer.
pub async fn post(
    url: &str,
    key: &[u8],
    body: String,
    idempotency_key: &str,
    allow_private: bool,
    now: Micros,
) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
    let host = parsed.host_str().ok_or_else(|| format!("{url}: no host"))?;
    let port = parsed.port_or_known_default().unwrap_or(443);
    let host_for_lookup = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host_for_lookup, port))
        .await
        .map_err(|e| format!("{host}: {e}"))?
        .collect();
    let Some(first) = addrs.first().copied() else {
        return Err(format!("{host}: no address"));
    };
    if !allow_private {
        for a in &addrs {
            if let Some(why) = forbidden(a.ip()) {
                return Err(format!(
                    "refused: {host} resolves to {} — {why} (start the server with \
                     --webhooks-allow-private to allow it)",
                    a.ip()
                ));
            }
        }
    }
    // The request goes to the address just checked, not to a second lookup's answer.
    let client = if host.parse::<IpAddr>().is_ok() || host.starts_with('[') {
        client().clone()
    } else {
        reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .resolve(host, first)
            .build()
            .map_err(|e| e.to_string())?
    };
    let signature = signature(key, now, body.as_bytes());
    let answer = client
        .post(parsed)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("Clientele-Signature", signature)
        .header("Clientele-Idempotency-Key", idempotency_key)
        .body(body)
        .send()
        .await
        .map_err(|e| format!("webhook: {e}"))?;
    if answer.status().is_success() {
        Ok(())
    } else {
        Err(format!("webhook answered {}", answer.status()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_and_special_addresses_are_forbidden_and_public_ones_not() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::",
        ] {
            assert!(forbidden(bad.parse().unwrap()).is_some(), "{bad}");
        }
        for good in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "100.128.0.1"] {
            assert_eq!(forbidden(good.parse().unwrap()), None, "{good}");
        }
    }

    #[test]
    fn the_signature_covers_time_and_body() {
        let key = [1u8; 32];
        let s = signature(&key, 1_700_000_000 * SECOND, b"{}");
        assert!(s.starts_with("t=1700000000,v1="), "{s}");
        assert_eq!(s.len(), "t=1700000000,v1=".len() + 64);
        assert_ne!(s, signature(&key, 1_700_000_001 * SECOND, b"{}"));
        assert_ne!(s, signature(&key, 1_700_000_000 * SECOND, b"{ }"));
        assert_ne!(s, signature(&[2u8; 32], 1_700_000_000 * SECOND, b"{}"));
    }
}
