//! Date triggers: once per day of the workspace's calendar, the contacts whose birthday or
//! first-order anniversary falls that day start the rules on it. The day is claimed in the
//! store (so one sweep per day whatever the servers) and every run's key names the year,
//! so nothing is started twice.

use clientele_automation::trigger::{falls_on, month_day};
use clientele_automation::{DateField, Trigger};
use clientele_core::ContactId;
use clientele_core::time::Micros;
use clientele_store::{Store, StoreResult, Workspace, WriteTx};
use jiff::tz::TimeZone;
use serde_json::json;

use super::active_rules_cached;
use super::subject::conditions_hold;
use super::triggers::first_step;

/// Sweep today's dates for `ws` unless already done; returns how many runs started.
pub(super) async fn sweep(store: &dyn Store, ws: &Workspace, now: Micros) -> StoreResult<usize> {
    let Some((tz, today)) = self::today(ws, now) else {
        return Ok(0);
    };
    let day = today.to_string();
    if swept_here(store, ws, &day) {
        return Ok(0);
    }
    let mut tx = store.begin_write(ws.id).await?;
    if !tx.claim_sweep(&day, now).await? {
        tx.commit().await?;
        remember(store, ws, &day);
        return Ok(0);
    }
    let (version, set) = active_rules_cached(&mut *tx, now).await?;
    let on = |field: DateField| {
        set.rules
            .iter()
            .filter(move |r| r.enabled && r.trigger == Trigger::Anniversary(field))
    };
    let mut starts: Vec<(&clientele_automation::Rule, ContactId, DateField)> = Vec::new();
    for field in [DateField::Birthday, DateField::FirstOrder] {
        if on(field).next().is_none() {
            continue;
        }
        for contact in falling_on(&mut *tx, &tz, today, field).await? {
            starts.extend(on(field).map(|r| (r, contact, field)));
        }
    }
    let mut steps = Vec::new();
    for (rule, contact, field) in starts {
        if !conditions_hold(&mut *tx, &rule.conditions, contact, now).await? {
            continue;
        }
        let occurrence = format!("anniversary:{}:{}", field.name(), today.year());
        let context = json!({"anniversary": {"field": field.name(), "day": day}});
        steps.push(first_step(
            rule, version, contact, occurrence, context, now, now,
        ));
    }
    tx.enqueue(&steps).await?;
    tx.commit().await?;
    remember(store, ws, &day);
    Ok(steps.len())
}

/// The live contacts whose `field` has its anniversary on `today` (in `tz`): a birthday
/// on its day (29 February on 28 February in other years), a first order on the same day of
/// a later year.
pub(super) async fn falling_on(
    tx: &mut dyn WriteTx,
    tz: &TimeZone,
    today: jiff::civil::Date,
    field: DateField,
) -> StoreResult<Vec<ContactId>> {
    let md = (today.month() as u8, today.day() as u8);
    let leap = today.in_leap_year();
    Ok(match field {
        DateField::Birthday => tx
            .birthdays()
            .await?
            .into_iter()
            .filter(|(_, text)| month_day(text).is_some_and(|d| falls_on(d, md, leap)))
            .map(|(c, _)| c)
            .collect(),
        DateField::FirstOrder => tx
            .first_orders()
            .await?
            .into_iter()
            .filter(|(_, at)| {
                jiff::Timestamp::from_microsecond(*at).is_ok_and(|t| {
                    let first = t.to_zoned(tz.clone()).date();
                    let d = (first.month() as u8, first.day() as u8);
                    first.year() < today.year() && falls_on(d, md, leap)
                })
            })
            .map(|(c, _)| c)
            .collect(),
    })
}

/// The workspace's calendar day at `now`.
pub(super) fn today(ws: &Workspace, now: Micros) -> Option<(TimeZone, jiff::civil::Date)> {
    let tz = TimeZone::get(&ws.time_zone).unwrap_or(TimeZone::UTC);
    let ts = jiff::Timestamp::from_microsecond(now).ok()?;
    Some((tz.clone(), ts.to_zoned(tz).date()))
}

/// Days already swept by this process, per store and workspace: spares a write
/// transaction per workspace on every pass of the runner.
type Swept = std::sync::Mutex<std::collections::HashMap<(usize, i64), String>>;

fn swept() -> &'static Swept {
    static SWEPT: std::sync::OnceLock<Swept> = std::sync::OnceLock::new();
    SWEPT.get_or_init(Default::default)
}

fn store_id(store: &dyn Store) -> usize {
    std::ptr::from_ref(store).cast::<()>() as usize
}

fn swept_here(store: &dyn Store, ws: &Workspace, day: &str) -> bool {
    swept()
        .lock()
        .expect("sweep memo")
        .get(&(store_id(store), ws.id.0))
        .is_some_and(|d| d == day)
}

fn remember(store: &dyn Store, ws: &Workspace, day: &str) {
    swept()
        .lock()
        .expect("sweep memo")
        .insert((store_id(store), ws.id.0), day.to_owned());
}
