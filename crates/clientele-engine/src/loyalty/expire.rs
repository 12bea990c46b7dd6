//! Expiry at the right instant: each account stores when its next lot expires, and the
//! scheduler reads only the accounts that are due (a partial index), never all of them.

use clientele_core::WorkspaceId;
use clientele_core::time::Micros;
use clientele_store::{Store, StoreResult};

use super::accounts::Books;

/// Accounts handled per transaction.
const BATCH: i64 = 1000;

/// Expire every lot of `ws` due by `now`; returns the number of accounts that had one.
pub async fn expire_due(store: &dyn Store, ws: WorkspaceId, now: Micros) -> StoreResult<usize> {
    let mut done = 0;
    loop {
        let mut tx = store.begin_write(ws).await?;
        let due = tx.loyalty_due(now, BATCH).await?;
        if due.is_empty() {
            return Ok(done);
        }
        let mut books = Books::load(&mut *tx, &due).await?;
        for &id in &due {
            books.rewrite(id);
            for e in books.account(id).expire(now) {
                books.record(id, e);
            }
        }
        books.save(&mut *tx).await?;
        tx.commit().await?;
        done += due.len();
    }
}

/// [`expire_due`] for every workspace; returns the number of accounts per workspace.
pub async fn expire_everyone_due(store: &dyn Store, now: Micros) -> StoreResult<usize> {
    let mut done = 0;
    for ws in store.workspaces().await? {
        done += expire_due(store, ws.id, now).await?;
    }
    Ok(done)
}
