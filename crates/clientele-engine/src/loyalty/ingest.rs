//! Points moved by accepted events, in the ingest transaction: a paid order earns once (on
//! the rules of that moment), a refund or cancellation takes back its share exactly once,
//! survey answers and reviews earn their bonuses. Lots past their expiry go first. With
//! the programme switched off (`enabled = false`) nothing is earned, but refunds still take
//! back what was.

use std::collections::{HashMap, HashSet};

use clientele_core::ContactId;
use clientele_core::money::Currency;
use clientele_core::order::OrderState;
use clientele_core::time::{DAY, Micros, local_epoch_day};
use clientele_ladder::Rung;
use clientele_loyalty::earn::{PaidHistory, order_points, reversal_target, under_day_cap};
use clientele_loyalty::{Bonus, Cause, EarnRules, EntryKind};
use clientele_store::{LoyaltyOrderRow, NewEvent, StoreResult, Workspace, WriteTx};

use super::accounts::Books;
use super::{active_rules, expiry_of};

/// Apply the loyalty effects of `events` (just appended) at `now`; `projected` are the
/// orders they touched, as the projection saved them, and `new_orders` those it stored for
/// the first time (which cannot have earned yet).
pub async fn on_events(
    tx: &mut dyn WriteTx,
    ws: &Workspace,
    events: &[NewEvent],
    projected: &[OrderState],
    new_orders: &HashSet<String>,
    now: Micros,
) -> StoreResult<()> {
    let order_ids: Vec<String> = events
        .iter()
        .filter(|e| matches!(e.kind, "order.paid" | "order.refunded" | "order.cancelled"))
        .filter_map(|e| e.order_id.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let bonus_events: Vec<(&NewEvent, Bonus)> = events
        .iter()
        .filter_map(|e| match (e.kind, e.detail.as_deref()) {
            ("survey.answered", _) => Some((e, Bonus::SurveyAnswered)),
            ("interaction", Some("review")) => Some((e, Bonus::ReviewWritten)),
            _ => None,
        })
        .collect();
    if order_ids.is_empty() && bonus_events.is_empty() {
        return Ok(());
    }
    let (_, rules) = active_rules(tx, now).await?;
    // Switched off: nothing is earned, but what was earned is still taken back on refund.
    let bonus_events = if rules.enabled {
        bonus_events
    } else {
        Vec::new()
    };
    let wanted: HashSet<&str> = order_ids.iter().map(String::as_str).collect();
    let mut orders: Vec<OrderState> = projected
        .iter()
        .filter(|o| wanted.contains(o.order_id.as_str()))
        .cloned()
        .collect();
    // Only an order stored before this batch can have earned: new orders skip the lookup.
    let stored: Vec<String> = order_ids
        .iter()
        .filter(|id| !new_orders.contains(*id))
        .cloned()
        .collect();
    let known: HashMap<String, LoyaltyOrderRow> = if stored.is_empty() {
        HashMap::new()
    } else {
        tx.loyalty_orders(&stored)
            .await?
            .into_iter()
            .map(|o| (o.order_id.clone(), o))
            .collect()
    };
    if !rules.enabled {
        orders.retain(|o| known.contains_key(&o.order_id));
    }
    let mut contacts: Vec<ContactId> = orders.iter().map(|o| o.contact_id).collect();
    contacts.extend(bonus_events.iter().map(|(e, _)| e.contact_id));
    contacts.sort_unstable();
    contacts.dedup();
    // Refunds take points back from lots; payments and bonuses only add one.
    let reversing: Vec<ContactId> = orders
        .iter()
        .filter_map(|o| known.get(&o.order_id).map(|r| r.contact_id))
        .collect();
    let mut books = Books::load_for_earning(tx, &contacts, &reversing, now).await?;
    let earner = Earner::new(tx, ws, &rules, &orders, &known).await?;
    let mut order_rows = Vec::new();
    let mut day_totals: HashMap<(ContactId, i64), i64> = HashMap::new();

    for order in &orders {
        let cause = |reason: &str| Cause::new(reason, "order", order.order_id.clone());
        match known.get(&order.order_id) {
            None => {
                let Some(paid_at) = order.paid_at.filter(|_| order.counts()) else {
                    continue;
                };
                let mut points = earner.points(order, paid_at);
                points = earner
                    .under_day_cap(tx, &mut day_totals, order.contact_id, paid_at, points)
                    .await?;
                let expires = expiry_of(paid_at, rules.expiry_months, &ws.time_zone);
                let a = books.account(order.contact_id);
                if let Some(e) = a.earn(
                    EntryKind::Earn,
                    points,
                    paid_at,
                    expires,
                    cause("order"),
                    Some(order.order_id.clone()),
                ) {
                    books.record(order.contact_id, e);
                }
                order_rows.push(LoyaltyOrderRow {
                    order_id: order.order_id.clone(),
                    contact_id: order.contact_id,
                    earned: points.max(0),
                    paid_total: order.total,
                    kept: points.max(0),
                    stored: false,
                });
            }
            Some(row) => {
                let net = order.total - order.refunded.min(order.total);
                let target = reversal_target(row.earned, row.paid_total, net, !order.counts());
                let back = row.kept - target;
                if back <= 0 {
                    continue;
                }
                let reason = if order.cancelled_at.is_some() {
                    "order cancelled"
                } else {
                    "order refunded"
                };
                let at = now.min(order.cancelled_at.unwrap_or(now));
                let a = books.account(row.contact_id);
                if let Some(e) = a.reverse(back, at, cause(reason), &order.order_id) {
                    books.record(row.contact_id, e);
                }
                order_rows.push(LoyaltyOrderRow {
                    kept: target,
                    ..row.clone()
                });
            }
        }
    }
    for (event, bonus) in bonus_events {
        let mut points = bonus.points(&rules);
        points = earner
            .under_day_cap(
                tx,
                &mut day_totals,
                event.contact_id,
                event.occurred_at,
                points,
            )
            .await?;
        let expires = expiry_of(event.occurred_at, rules.expiry_months, &ws.time_zone);
        let cause = Cause::new(bonus.reason(), "event", event.client_id.clone());
        let a = books.account(event.contact_id);
        if let Some(e) = a.earn(
            EntryKind::Earn,
            points,
            event.occurred_at,
            expires,
            cause,
            None,
        ) {
            books.record(event.contact_id, e);
        }
    }
    for id in contacts {
        for e in books.account(id).expire(now) {
            books.record(id, e);
        }
    }
    books.save(tx).await?;
    tx.save_loyalty_orders(&order_rows).await
}

/// What the rules need to price an order: the currency's unit, buyers' rungs and, when a
/// first- or second-order bonus is configured, their paying histories.
struct Earner<'a> {
    rules: &'a EarnRules,
    tz: jiff::tz::TimeZone,
    minor_per_major: i64,
    rungs: HashMap<ContactId, Rung>,
    /// Payment times of each buyer's counting orders, ascending.
    paid: HashMap<ContactId, Vec<Micros>>,
}

impl<'a> Earner<'a> {
    async fn new(
        tx: &mut dyn WriteTx,
        ws: &'a Workspace,
        rules: &'a EarnRules,
        orders: &[OrderState],
        known: &HashMap<String, LoyaltyOrderRow>,
    ) -> StoreResult<Earner<'a>> {
        let mut buyers: Vec<ContactId> = orders
            .iter()
            .filter(|o| !known.contains_key(&o.order_id))
            .map(|o| o.contact_id)
            .collect();
        buyers.sort_unstable();
        buyers.dedup();
        let rungs = if rules.multipliers.is_empty() || buyers.is_empty() {
            HashMap::new()
        } else {
            tx.ladder_rows(&buyers)
                .await?
                .into_iter()
                .filter_map(|r| Some((r.contact_id, Rung::parse(&r.rung)?)))
                .collect()
        };
        let b = &rules.bonuses;
        let mut paid: HashMap<ContactId, Vec<Micros>> = HashMap::new();
        if (b.first_order > 0 || b.second_order_within_30_days > 0) && !buyers.is_empty() {
            for o in tx.load_orders_of(&buyers).await? {
                if let Some(at) = o.paid_at.filter(|_| o.counts()) {
                    paid.entry(o.contact_id).or_default().push(at);
                }
            }
            paid.values_mut().for_each(|v| v.sort_unstable());
        }
        let minor_per_major = Currency::parse(&ws.currency).map_or(1, |c| c.minor_per_major());
        Ok(Self {
            rules,
            tz: jiff::tz::TimeZone::get(&ws.time_zone).unwrap_or(jiff::tz::TimeZone::UTC),
            minor_per_major,
            rungs,
            paid,
        })
    }

    /// Points the order earns (base × rung multiplier + bonuses, capped per order).
    fn points(&self, order: &OrderState, paid_at: Micros) -> i64 {
        let rung = self
            .rungs
            .get(&order.contact_id)
            .copied()
            .unwrap_or(Rung::Shopper);
        let times = self.paid.get(&order.contact_id);
        let history = PaidHistory {
            nth: times.map_or(0, |t| t.iter().filter(|&&x| x <= paid_at).count() as u32),
            first_paid_at: times.and_then(|t| t.first().copied()).unwrap_or(paid_at),
            paid_at,
        };
        order_points(self.rules, order.total, self.minor_per_major, rung, history).total
    }

    /// `points` reduced to what the per-day cap still allows `contact` on the day of `at`.
    async fn under_day_cap(
        &self,
        tx: &mut dyn WriteTx,
        totals: &mut HashMap<(ContactId, i64), i64>,
        contact: ContactId,
        at: Micros,
        points: i64,
    ) -> StoreResult<i64> {
        if self.rules.caps.per_day.is_none() || points <= 0 {
            return Ok(points);
        }
        let day = local_epoch_day(at, &self.tz).map_or(at.div_euclid(DAY), i64::from);
        let key = (contact, day);
        let so_far = match totals.get(&key) {
            Some(&n) => n,
            None => tx
                .earned_between(
                    &[contact],
                    day_start(day, &self.tz),
                    day_start(day + 1, &self.tz),
                )
                .await?
                .first()
                .map_or(0, |(_, p)| *p),
        };
        let allowed = under_day_cap(self.rules, points, so_far);
        totals.insert(key, so_far + allowed);
        Ok(allowed)
    }
}

/// The first instant of local day `day` (days since 1970-01-01 in `tz`).
fn day_start(day: i64, tz: &jiff::tz::TimeZone) -> Micros {
    let local = || -> Option<Micros> {
        let date = jiff::civil::date(1970, 1, 1)
            .checked_add(jiff::Span::new().days(day))
            .ok()?;
        Some(date.to_zoned(tz.clone()).ok()?.timestamp().as_microsecond())
    };
    local().unwrap_or(day * DAY)
}
