//! Replay: delete every projection row of a workspace and fold the whole log again.

use clientele_core::WorkspaceId;
use clientele_store::{Store, StoreResult, now_micros};

use crate::projection::Projection;

/// Events read per round trip during a replay.
const PAGE: i64 = 50_000;

/// Rebuild the projections of `ws` from its log in one transaction, then re-evaluate every
/// contact's ladder position from the rebuilt state; returns the number of events replayed.
/// The ladder's history is kept (it records what the live system showed, under the rule
/// version of the day); a position the rebuild corrects is recorded as a new change.
pub async fn rebuild(store: &dyn Store, ws: WorkspaceId) -> StoreResult<u64> {
    let started = std::time::Instant::now();
    let mut tx = store.begin_write(ws).await?;
    tx.clear_projections().await?;
    let mut projection = Projection::default();
    let (mut after, mut count) = (0i64, 0u64);
    loop {
        let page = tx.events_after(after, PAGE).await?;
        let Some((last, _)) = page.last() else { break };
        after = *last;
        count += page.len() as u64;
        for (_, input) in &page {
            projection.apply(input);
        }
    }
    let folded = started.elapsed();
    let (orders, metrics) = projection.finish();
    let finished = started.elapsed();
    tx.save_orders(&orders).await?;
    let saved_orders = started.elapsed();
    tx.save_metrics(&metrics).await?;
    let (_, corrected) = crate::ladder::reclassify_everyone(&mut *tx, now_micros()).await?;
    tx.commit().await?;
    tracing::debug!(
        events = count,
        read_and_fold_ms = folded.as_millis() as u64,
        finish_ms = finished.as_millis() as u64,
        orders_saved_ms = saved_orders.as_millis() as u64,
        ladder_corrections = corrected,
        total_ms = started.elapsed().as_millis() as u64,
        "rebuilt"
    );
    Ok(count)
}
