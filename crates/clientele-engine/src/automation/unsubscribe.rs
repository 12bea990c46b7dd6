//! One-click unsubscribe links: `{public_url}/u/{workspace}.{contact}.{signature}`, signed
//! with HMAC-SHA256 under a key the workspace keeps (made on first use), so a link cannot
//! be forged for another contact and stays valid as long as the key. Using one records a
//! withdrawal of e-mail consent, which the runner reads at send time.

use clientele_core::time::Micros;
use clientele_core::{ContactId, WorkspaceId};
use clientele_store::{Store, StoreResult, WriteTx};
use hmac::{KeyInit, Mac};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// What the key signs.
const PURPOSE: &str = "unsubscribe";
/// Signature bytes kept in the link: 128 bits.
const SIGNATURE_BYTES: usize = 16;

/// The workspace's signing key, made now if it has none.
pub async fn key(tx: &mut dyn WriteTx, now: Micros) -> StoreResult<Vec<u8>> {
    let fresh: [u8; 32] = rand::random();
    tx.signing_key(PURPOSE, &fresh, now).await
}

fn mac(key: &[u8], ws: WorkspaceId, contact: ContactId) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(format!("{PURPOSE}:email:{}:{}", ws.0, contact.0).as_bytes());
    mac
}

/// The token of a contact's link.
pub fn token(key: &[u8], ws: WorkspaceId, contact: ContactId) -> String {
    let signature = mac(key, ws, contact).finalize().into_bytes();
    format!(
        "{}.{}.{}",
        ws.0,
        contact.0,
        hex::encode(&signature[..SIGNATURE_BYTES])
    )
}

/// The link itself.
pub fn link(public_url: &str, key: &[u8], ws: WorkspaceId, contact: ContactId) -> String {
    format!(
        "{}/u/{}",
        public_url.trim_end_matches('/'),
        token(key, ws, contact)
    )
}

/// Whom a token names, before its signature is checked.
pub fn parse(token: &str) -> Option<(WorkspaceId, ContactId)> {
    let mut parts = token.split('.');
    let ws = parts.next()?.parse().ok()?;
    let contact = parts.next()?.parse().ok()?;
    let signature = parts.next()?;
    (parts.next().is_none() && signature.len() == 2 * SIGNATURE_BYTES)
        .then_some((WorkspaceId(ws), ContactId(contact)))
}

/// Whether `token` is this key's signature for the contact it names (compared in constant
/// time).
pub fn verify(key: &[u8], token: &str) -> bool {
    let Some((ws, contact)) = parse(token) else {
        return false;
    };
    let Some(Ok(signature)) = token.rsplit('.').next().map(hex::decode) else {
        return false;
    };
    mac(key, ws, contact)
        .verify_truncated_left(&signature)
        .is_ok()
}

/// What using a link came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsubscribed {
    /// Consent withdrawn now (or again: using a link twice is harmless).
    Done(WorkspaceId, ContactId),
    /// Not a link this server signed.
    Invalid,
}

/// Use a link: check it, and record the withdrawal of e-mail consent.
pub async fn unsubscribe(store: &dyn Store, token: &str, now: Micros) -> StoreResult<Unsubscribed> {
    let Some((ws, contact)) = parse(token) else {
        return Ok(Unsubscribed::Invalid);
    };
    if store.workspace(ws).await?.is_none() {
        return Ok(Unsubscribed::Invalid);
    }
    let mut tx = store.begin_write(ws).await?;
    let key = key(&mut *tx, now).await?;
    if !verify(&key, token) || tx.contact_kind(contact).await?.is_none() {
        return Ok(Unsubscribed::Invalid);
    }
    tx.add_consent(contact, "email", false, "unsubscribe link", now)
        .await?;
    tx.commit().await?;
    Ok(Unsubscribed::Done(ws, contact))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_under_its_key_only_and_names_its_contact() {
        let key = [7u8; 32];
        let t = token(&key, WorkspaceId(3), ContactId(42));
        assert!(verify(&key, &t));
        assert_eq!(parse(&t), Some((WorkspaceId(3), ContactId(42))));
        assert!(!verify(&[8u8; 32], &t), "another key");
        // Another contact with the same signature.
        let forged = t.replacen(".42.", ".43.", 1);
        assert!(!verify(&key, &forged));
        for bad in [
            "",
            "3.42",
            "3.42.zz",
            "x.42.00",
            &format!("{t}.1"),
            &t[..t.len() - 1],
        ] {
            assert!(!verify(&key, bad), "{bad:?}");
        }
        assert_eq!(
            link("https://crm.shop.vn/", &key, WorkspaceId(3), ContactId(42)),
            format!("https://crm.shop.vn/u/{t}")
        );
    }
}
