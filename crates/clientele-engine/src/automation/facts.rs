//! What a message to a contact needs from the store, read at send time (consent, quiet
//! hours in the contact's time zone, the frequency cap), and what keeps a marketing
//! message from going now.

use clientele_automation::{Purpose, RuleSet};
use clientele_core::ContactId;
use clientele_core::time::Micros;
use clientele_store::{Store, StoreResult, Workspace, WriteTx};
use serde_json::Value;

use super::settle::Outcome;

/// What a message to the contact needs from the store.
pub(super) struct Facts {
    pub(super) email: Option<String>,
    pub(super) phone: Option<String>,
    pub(super) name: Option<String>,
    pub(super) language: &'static str,
    /// E-mail consent, as of now.
    pub(super) consented: bool,
    /// SMS consent, as of now.
    pub(super) sms_consented: bool,
    pub(super) rung: Option<String>,
    pub(super) balance: i64,
    pub(super) external_id: Option<String>,
    /// Minutes after midnight now, in the contact's time zone (else the workspace's).
    pub(super) local_minute: u32,
    /// Instants of the end of quiet hours after now, in order of preference: today's or
    /// tomorrow's local end time.
    pub(super) quiet_ends_at: Option<Micros>,
    /// When the frequency cap has room again, if it is full now.
    pub(super) cap_frees_at: Option<Micros>,
    /// The contact's one-click unsubscribe link, when the server has a public URL.
    pub(super) unsubscribe: Option<String>,
    /// What else the message's template reads (`survey`, `referral`), by name.
    pub(super) extra: Vec<(&'static str, Value)>,
}

pub(super) async fn message_facts(
    tx: &mut dyn WriteTx,
    store: &dyn Store,
    ws: &Workspace,
    contact: ContactId,
    set: &RuleSet,
    now: Micros,
) -> StoreResult<Facts> {
    let fields = tx.contact_fields(contact).await?.unwrap_or_default();
    let zone = fields.time_zone.as_deref().unwrap_or(&ws.time_zone);
    let (local_minute, quiet_ends_at) = local_clock(now, zone, set.limits.quiet_hours);
    let cap_frees_at = match set.limits.cap {
        None => None,
        Some((messages, days)) => {
            let window = i64::from(days) * clientele_core::time::DAY;
            // The window is the last `days` up to now: a message exactly `days` ago has
            // left it (else a deferral to that instant would find the cap still full).
            let sent = tx.marketing_sent_since(contact, now - window + 1).await?;
            // Full: room again when the oldest message in the window leaves it.
            (sent.len() >= messages as usize).then(|| sent[sent.len() - messages as usize] + window)
        }
    };
    let rung = tx
        .ladder_rows(&[contact])
        .await?
        .first()
        .map(|r| r.rung.clone());
    let balance = store
        .loyalty_account(ws.id, contact)
        .await?
        .map_or(0, |a| a.balance);
    // Consent is read at send time: a withdrawal since the trigger counts.
    let consents = store.consents(ws.id, contact).await?;
    let latest = |channel: &str| {
        consents
            .iter()
            .rev()
            .find(|c| c.channel == channel)
            .is_some_and(|c| c.granted)
    };
    let (consented, sms_consented) = (latest("email"), latest("sms"));
    let language = match fields.locale.as_deref() {
        Some(l) if l.starts_with("en") => "en",
        _ => "vi",
    };
    Ok(Facts {
        email: fields.email,
        phone: fields.phone,
        name: fields.name,
        language,
        consented,
        sms_consented,
        rung,
        balance,
        external_id: fields.external_id,
        local_minute,
        quiet_ends_at,
        cap_frees_at,
        unsubscribe: None,
        extra: Vec::new(),
    })
}

/// The minute of the day at `now` in `zone`, and when the next end of quiet hours falls.
fn local_clock(now: Micros, zone: &str, quiet: Option<(u32, u32)>) -> (u32, Option<Micros>) {
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let Ok(ts) = jiff::Timestamp::from_microsecond(now) else {
        return (0, None);
    };
    let local = ts.to_zoned(tz);
    let minute = local.hour() as u32 * 60 + local.minute() as u32;
    let ends = quiet.and_then(|(_, end)| {
        let at = |day: jiff::civil::Date| {
            day.at((end / 60) as i8, (end % 60) as i8, 0, 0)
                .to_zoned(local.time_zone().clone())
                .ok()
                .map(|z| z.timestamp().as_microsecond())
        };
        let today = at(local.date())?;
        if today > now {
            Some(today)
        } else {
            at(local.date().tomorrow().ok()?)
        }
    });
    (minute, ends)
}

/// What keeps a marketing message from going now: no consent on its channel (skipped),
/// quiet hours or a full frequency cap (deferred). Service messages go regardless.
pub(super) fn held_back(
    set: &RuleSet,
    purpose: Purpose,
    facts: &Facts,
    consented: bool,
    channel: &str,
    context: &Value,
) -> Option<Outcome> {
    if purpose == Purpose::Service {
        return None;
    }
    if !consented {
        let why = format!("no {channel} consent");
        return Some(Outcome::Skipped {
            context: context.clone(),
            why,
        });
    }
    if set.limits.is_quiet(facts.local_minute)
        && let Some(until) = facts.quiet_ends_at
    {
        let why = "deferred: quiet hours in the contact's time zone".into();
        return Some(Outcome::Deferred { until, why });
    }
    if let Some(until) = facts.cap_frees_at {
        let why = "deferred: frequency cap reached".into();
        return Some(Outcome::Deferred { until, why });
    }
    None
}
