//! Work the server does on a clock: refitting every workspace's lifetime-value models,
//! and moving contacts whose rung is due (the automation runner is the engine's `run_forever`).

use std::sync::Arc;
use std::time::Duration;

use clientele_engine::clv::{self, ClvSettings};
use clientele_store::{Store, Workspace, now_micros};

/// Refit every workspace every `every`, the first time right away. Each workspace keeps the
/// settings of its latest fit (model, horizon, discount), or the defaults before its first.
pub async fn refit_clv_forever(store: Arc<dyn Store>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let workspaces = match store.workspaces().await {
            Ok(all) => all,
            Err(e) => {
                tracing::error!(error = %e, "scheduled CLV refit: cannot list workspaces");
                continue;
            }
        };
        for ws in workspaces {
            refit_one(store.as_ref(), &ws).await;
        }
    }
}

async fn refit_one(store: &dyn Store, ws: &Workspace) {
    let settings = match store.clv_fit(ws.id).await {
        Ok(Some(record)) => previous_settings(&record.report),
        Ok(None) => ClvSettings::default(),
        Err(e) => {
            tracing::error!(workspace = %ws.name, error = %e, "scheduled CLV refit");
            return;
        }
    };
    let started = std::time::Instant::now();
    match clv::refit(store, ws, settings, now_micros()).await {
        Ok(outcome) => tracing::info!(
            workspace = %ws.name,
            contacts = outcome.contacts,
            ms = started.elapsed().as_millis() as u64,
            "scheduled CLV refit"
        ),
        // A workspace without enough buyers yet is normal, not an incident.
        Err(e) => tracing::info!(workspace = %ws.name, reason = %e, "scheduled CLV refit skipped"),
    }
}

/// Contacts re-evaluated per scheduler transaction.
const DUE_BATCH: i64 = 5_000;

/// Every `every`, re-evaluate the contacts of every workspace whose rung or status is due to
/// change (only those: `contact_ladder.due_at` says who), in batches until none is left, and
/// expire the loyalty lots that are due (`loyalty_accounts.next_expiry` says whose).
pub async fn ladder_forever(store: Arc<dyn Store>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let workspaces = match store.workspaces().await {
            Ok(all) => all,
            Err(e) => {
                tracing::error!(error = %e, "ladder scheduler: cannot list workspaces");
                continue;
            }
        };
        for ws in workspaces {
            let started = std::time::Instant::now();
            let mut total = 0;
            loop {
                match clientele_engine::ladder::run_due(
                    store.as_ref(),
                    ws.id,
                    now_micros(),
                    DUE_BATCH,
                )
                .await
                {
                    Ok(n) => {
                        total += n;
                        if (n as i64) < DUE_BATCH {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::error!(workspace = %ws.name, error = %e, "ladder scheduler");
                        break;
                    }
                }
            }
            if total > 0 {
                tracing::info!(workspace = %ws.name, contacts = total, ms = started.elapsed().as_millis() as u64, "ladder: due contacts re-evaluated");
            }
            // Points lots due to expire, on the same tick: only accounts that are due.
            match clientele_engine::loyalty::expire_due(store.as_ref(), ws.id, now_micros()).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(workspace = %ws.name, accounts = n, "loyalty: lots expired")
                }
                Err(e) => tracing::error!(workspace = %ws.name, error = %e, "loyalty expiry"),
            }
        }
    }
}

fn previous_settings(report: &str) -> ClvSettings {
    let defaults = ClvSettings::default();
    let Ok(v) = serde_json::from_str::<serde_json::Value>(report) else {
        return defaults;
    };
    ClvSettings {
        model: v["fit"]["model"]
            .as_str()
            .and_then(|m| m.parse().ok())
            .unwrap_or(defaults.model),
        horizon_weeks: v["horizon_weeks"]
            .as_u64()
            .and_then(|h| u32::try_from(h).ok())
            .unwrap_or(defaults.horizon_weeks),
        annual_discount_rate: v["annual_discount_rate"]
            .as_f64()
            .unwrap_or(defaults.annual_discount_rate),
        calibration_end: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clientele_clv::ModelKind;

    #[test]
    fn a_refit_keeps_the_settings_of_the_previous_fit() {
        let s = previous_settings(
            r#"{"horizon_weeks": 26, "annual_discount_rate": 0.05, "fit": {"model": "pareto"}}"#,
        );
        assert_eq!(
            s,
            ClvSettings {
                model: ModelKind::Pareto,
                horizon_weeks: 26,
                annual_discount_rate: 0.05,
                calibration_end: None,
            }
        );
        assert_eq!(previous_settings("not json"), ClvSettings::default());
    }
}
