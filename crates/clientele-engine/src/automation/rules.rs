//! Automation rule sets per workspace: versioned documents, the shipped playbooks installed
//! as version 1 on first use.

use std::sync::Arc;

use clientele_automation::RuleSet;
use clientele_core::WorkspaceId;
use clientele_core::time::Micros;
use clientele_store::{RulesRow, Store, StoreError, StoreResult, WriteTx};

fn parse(row: &RulesRow) -> StoreResult<RuleSet> {
    let json: serde_json::Value =
        serde_json::from_str(&row.body).map_err(|e| StoreError::Other(e.into()))?;
    RuleSet::from_json(&json)
        .map_err(|e| StoreError::Other(anyhow::anyhow!("stored automation rules: {e}")))
}

/// The active rule set and its version; installs the playbooks as version 1 when the
/// workspace has none yet.
pub async fn active_rules(tx: &mut dyn WriteTx, now: Micros) -> StoreResult<(i64, RuleSet)> {
    if let Some(row) = tx.automation_rules().await? {
        return Ok((row.version, parse(&row)?));
    }
    let set = RuleSet::default();
    let version = tx
        .insert_automation_rules(&set.to_json().to_string(), now)
        .await?;
    Ok((version, set))
}

/// Parsed rule sets by the hash of their stored text: triggers read the active set in
/// every ingest transaction, and parsing it (templates compiled) costs more than reading it.
type ParsedCache = std::sync::Mutex<std::collections::HashMap<u64, Arc<RuleSet>>>;

/// [`active_rules`], parsed once per distinct text.
pub(crate) async fn active_rules_cached(
    tx: &mut dyn WriteTx,
    now: Micros,
) -> StoreResult<(i64, Arc<RuleSet>)> {
    static CACHE: std::sync::OnceLock<ParsedCache> = std::sync::OnceLock::new();
    let Some(row) = tx.automation_rules().await? else {
        let (version, set) = active_rules(tx, now).await?;
        return Ok((version, Arc::new(set)));
    };
    let hash = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        row.body.hash(&mut h);
        h.finish()
    };
    let cache = CACHE.get_or_init(Default::default);
    if let Some(set) = cache.lock().expect("rules cache").get(&hash) {
        return Ok((row.version, set.clone()));
    }
    let set = Arc::new(parse(&row)?);
    let mut cached = cache.lock().expect("rules cache");
    // Old versions are rarely read again: a bound, not an eviction policy.
    if cached.len() >= 256 {
        cached.clear();
    }
    cached.insert(hash, set.clone());
    Ok((row.version, set))
}

/// One version of the rule set (a run keeps the version it started on).
pub async fn rules_of_version(tx: &mut dyn WriteTx, version: i64) -> StoreResult<Option<RuleSet>> {
    tx.automation_rules_version(version)
        .await?
        .map(|row| parse(&row))
        .transpose()
}

/// The active rule set, read in its own transaction.
pub async fn current_rules(
    store: &dyn Store,
    ws: WorkspaceId,
    now: Micros,
) -> StoreResult<(i64, RuleSet)> {
    let mut tx = store.begin_write(ws).await?;
    let active = active_rules(&mut *tx, now).await?;
    tx.commit().await?;
    Ok(active)
}

/// Store a checked rule set as the next version; runs already started keep theirs.
pub async fn set_rules(
    store: &dyn Store,
    ws: WorkspaceId,
    set: &RuleSet,
    now: Micros,
) -> StoreResult<i64> {
    let mut tx = store.begin_write(ws).await?;
    active_rules(&mut *tx, now).await?;
    let version = tx
        .insert_automation_rules(&set.to_json().to_string(), now)
        .await?;
    tx.commit().await?;
    Ok(version)
}

/// Switch one rule of the active set on or off, as the next version (runs already started
/// keep theirs); `None` when the set has no rule by that name.
pub async fn set_enabled(
    store: &dyn Store,
    ws: WorkspaceId,
    name: &str,
    enabled: bool,
    now: Micros,
) -> StoreResult<Option<i64>> {
    let mut tx = store.begin_write(ws).await?;
    let (_, mut set) = active_rules(&mut *tx, now).await?;
    let Some(rule) = set.rules.iter_mut().find(|r| r.name == name) else {
        return Ok(None);
    };
    rule.enabled = enabled;
    let version = tx
        .insert_automation_rules(&set.to_json().to_string(), now)
        .await?;
    tx.commit().await?;
    Ok(Some(version))
}
