//! One-click unsubscribe links: `{public_url}/u/{workspace}.{contact}.{signature}`, signed
//! with HMAC-SHA256 under a key the workspace keeps (made on first use), so a link cannot
//! be forged for another contact and stays valid as long as the key. Using one records a
//! withdrawal of e-mail consent, which the runner reads at send time.

use clientele_core::time::Micros;
use clientele_core::{ContactId, WorkspaceId};
use clientele_store::{Store, StoreResult, WriteTx};

use super::signed;

/// Whose key signs these links.
const PURPOSE: &str = "unsubscribe";
/// What a signature says the link does.
const LABEL: &str = "unsubscribe:email";

/// The workspace's signing key, made now if it has none.
pub async fn key(tx: &mut dyn WriteTx, now: Micros) -> StoreResult<Vec<u8>> {
    signed::key(tx, PURPOSE, now).await
}

/// The token of a contact's link.
pub fn token(key: &[u8], ws: WorkspaceId, contact: ContactId) -> String {
    signed::sign(key, LABEL, &[ws.0, contact.0])
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
    let ids = signed::ids(token, 2)?;
    Some((WorkspaceId(ids[0]), ContactId(ids[1])))
}

/// Whether `token` is this key's signature for the contact it names.
pub fn verify(key: &[u8], token: &str) -> bool {
    signed::verify(key, LABEL, token, 2)
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
