//! Earn rules per workspace: versioned documents, the default installed on first use.

use clientele_core::WorkspaceId;
use clientele_core::time::Micros;
use clientele_loyalty::EarnRules;
use clientele_store::{Store, StoreError, StoreResult, WriteTx};

/// The active earn rules and their version; installs the default as version 1 when the
/// workspace has none yet.
pub async fn active_rules(tx: &mut dyn WriteTx, now: Micros) -> StoreResult<(i64, EarnRules)> {
    if let Some(row) = tx.loyalty_rules().await? {
        let json: serde_json::Value =
            serde_json::from_str(&row.body).map_err(|e| StoreError::Other(e.into()))?;
        let rules = EarnRules::from_json(&json)
            .map_err(|e| StoreError::Other(anyhow::anyhow!("stored earn rules: {e}")))?;
        return Ok((row.version, rules));
    }
    let rules = EarnRules::default();
    let version = tx
        .insert_loyalty_rules(&rules.to_json().to_string(), now)
        .await?;
    Ok((version, rules))
}

/// The active earn rules, read in their own transaction.
pub async fn current_rules(
    store: &dyn Store,
    ws: WorkspaceId,
    now: Micros,
) -> StoreResult<(i64, EarnRules)> {
    let mut tx = store.begin_write(ws).await?;
    let active = active_rules(&mut *tx, now).await?;
    tx.commit().await?;
    Ok(active)
}

/// Store checked rules as the next version; points already earned do not change.
pub async fn set_rules(
    store: &dyn Store,
    ws: WorkspaceId,
    rules: &EarnRules,
    now: Micros,
) -> StoreResult<i64> {
    let mut tx = store.begin_write(ws).await?;
    // Make sure the default is version 1 even when the first edit comes before any order.
    active_rules(&mut *tx, now).await?;
    let version = tx
        .insert_loyalty_rules(&rules.to_json().to_string(), now)
        .await?;
    tx.commit().await?;
    Ok(version)
}
