//! NPS answer links: an e-mail asking "how likely are you to recommend us?" carries one
//! signed link per score, `{public_url}/s/{workspace}.{contact}.{step}.{signature}?score=N`.
//! Answering records a `survey.answered` event through the ordinary ingest — so the ladder
//! (`nps_last`), loyalty bonuses and rules on the event follow — once per question asked:
//! the event's id names the step that asked.

use clientele_core::time::{Micros, format_instant};
use clientele_core::{ContactId, WorkspaceId};
use clientele_store::{Store, StoreResult, WriteTx};
use serde_json::{Value, json};

use super::signed;

/// Whose key signs these links.
const PURPOSE: &str = "survey";
/// What a signature says the link does.
const LABEL: &str = "survey:nps";

/// The workspace's key for answer links, made now if it has none.
pub async fn key(tx: &mut dyn WriteTx, now: Micros) -> StoreResult<Vec<u8>> {
    signed::key(tx, PURPOSE, now).await
}

/// The token of the question step `step` asked `contact`.
pub fn token(key: &[u8], ws: WorkspaceId, contact: ContactId, step: i64) -> String {
    signed::sign(key, LABEL, &[ws.0, contact.0, step])
}

/// What templates see: `survey.url` (the answer page) and `survey.scores`, the eleven
/// one-click links `{score, url}` from 0 to 10.
pub fn context(public_url: &str, token: &str) -> Value {
    let url = format!("{}/s/{token}", public_url.trim_end_matches('/'));
    let scores: Vec<Value> = (0..=10)
        .map(|n| json!({"score": n, "url": format!("{url}?score={n}")}))
        .collect();
    json!({"url": url, "scores": scores})
}

/// Whom a token names and which step asked, before its signature is checked.
pub fn parse(token: &str) -> Option<(WorkspaceId, ContactId, i64)> {
    let ids = signed::ids(token, 3)?;
    Some((WorkspaceId(ids[0]), ContactId(ids[1]), ids[2]))
}

/// What answering came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Recorded now.
    Recorded,
    /// This question was answered before; the first answer stands.
    Already,
    /// Not a link this server signed, or a score outside 0–10.
    Invalid,
}

/// The event id of the answer to the question step `step` asked.
fn event_id(step: i64) -> String {
    format!("nps-answer-{step}")
}

/// Record `score` for the question `token` names.
pub async fn answer(
    store: &dyn Store,
    token: &str,
    score: i64,
    now: Micros,
) -> StoreResult<Answer> {
    let Some((ws_id, contact, step)) = parse(token) else {
        return Ok(Answer::Invalid);
    };
    if !(0..=10).contains(&score) {
        return Ok(Answer::Invalid);
    }
    let Some(ws) = store.workspace(ws_id).await? else {
        return Ok(Answer::Invalid);
    };
    let mut tx = store.begin_write(ws_id).await?;
    let key = key(&mut *tx, now).await?;
    if !signed::verify(&key, LABEL, token, 3) || tx.contact_kind(contact).await?.is_none() {
        return Ok(Answer::Invalid);
    }
    let answered = !tx.existing_events(&[event_id(step)]).await?.is_empty();
    tx.commit().await?;
    if answered {
        return Ok(Answer::Already);
    }
    let event = json!({
        "id": event_id(step),
        "kind": "survey.answered",
        "occurred_at": format_instant(now),
        "contact": {"id": contact.0},
        "data": {"survey": "nps", "score": score},
    });
    let results = crate::ingest::ingest(store, &ws, &[event]).await?;
    Ok(match results.first().map(|r| r.status) {
        Some(crate::ingest::ItemStatus::Created) => Answer::Recorded,
        // Two clicks at once: the other one recorded first.
        Some(crate::ingest::ItemStatus::Duplicate | crate::ingest::ItemStatus::Conflict) => {
            Answer::Already
        }
        _ => Answer::Invalid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_question_and_links_carry_each_score() {
        let key = [9u8; 32];
        let t = token(&key, WorkspaceId(2), ContactId(7), 51);
        assert!(signed::verify(&key, LABEL, &t, 3));
        assert_eq!(parse(&t), Some((WorkspaceId(2), ContactId(7), 51)));
        let forged = t.replacen(".51.", ".52.", 1);
        assert!(!signed::verify(&key, LABEL, &forged, 3));
        // An unsubscribe signature is not an answer link.
        let other = signed::sign(&key, "unsubscribe:email", &[2, 7, 51]);
        assert!(!signed::verify(&key, LABEL, &other, 3));
        let ctx = context("https://crm.shop.vn/", &t);
        assert_eq!(ctx["scores"].as_array().unwrap().len(), 11);
        assert_eq!(
            ctx["scores"][9]["url"],
            format!("https://crm.shop.vn/s/{t}?score=9")
        );
    }
}
