//! Signed links sent to contacts: a token of ids and an HMAC-SHA256 signature over them
//! and what the link does (`{id}.{id}….{hex}`), under a key the workspace keeps per purpose
//! (made on first use, kept so old e-mails' links still work). A token cannot be changed to
//! name another contact, nor used for another purpose.

use clientele_core::time::Micros;
use clientele_store::{StoreResult, WriteTx};
use hmac::{KeyInit, Mac};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Signature bytes kept in a link: 128 bits.
const SIGNATURE_BYTES: usize = 16;

/// The workspace's key for `purpose`, made now if it has none.
pub(crate) async fn key(tx: &mut dyn WriteTx, purpose: &str, now: Micros) -> StoreResult<Vec<u8>> {
    let fresh: [u8; 32] = rand::random();
    tx.signing_key(purpose, &fresh, now).await
}

fn mac(key: &[u8], label: &str, ids: &[i64]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    mac.update(format!("{label}:{}", ids.join(":")).as_bytes());
    mac
}

/// The token for `ids` under `key`, for what `label` names.
pub(crate) fn sign(key: &[u8], label: &str, ids: &[i64]) -> String {
    let signature = mac(key, label, ids).finalize().into_bytes();
    let mut out: Vec<String> = ids.iter().map(i64::to_string).collect();
    out.push(hex::encode(&signature[..SIGNATURE_BYTES]));
    out.join(".")
}

/// The `n` ids a token names, before its signature is checked.
pub(crate) fn ids(token: &str, n: usize) -> Option<Vec<i64>> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != n + 1 || parts[n].len() != 2 * SIGNATURE_BYTES {
        return None;
    }
    parts[..n].iter().map(|p| p.parse().ok()).collect()
}

/// Whether `token` is this key's signature of the `n` ids it names, for `label` (compared
/// in constant time).
pub(crate) fn verify(key: &[u8], label: &str, token: &str, n: usize) -> bool {
    let Some(ids) = ids(token, n) else {
        return false;
    };
    let Some(Ok(signature)) = token.rsplit('.').next().map(hex::decode) else {
        return false;
    };
    mac(key, label, &ids)
        .verify_truncated_left(&signature)
        .is_ok()
}
