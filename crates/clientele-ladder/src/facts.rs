//! What the ladder knows of one contact — its orders, interactions, survey answers, converted
//! referrals and flags — and its metrics as of any moment, with the moments at which time
//! alone could change them.

use crate::metrics::Metrics;
use crate::rules::RuleSet;

/// Microseconds since the Unix epoch.
pub type Micros = i64;

/// Microseconds per day.
pub const DAY: Micros = 86_400_000_000;

/// Engagement points halve every 30 days.
pub const HALF_LIFE: Micros = 30 * DAY;

/// Interactions that show buying intent for 90 days.
pub const HIGH_INTENT: [&str; 3] = ["form_submit", "demo_request", "reply"];

/// One order as the ladder sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderFact {
    /// When it was paid.
    pub paid_at: Micros,
    /// When it stopped counting (cancelled or refunded in full), if it did.
    pub unpaid_at: Option<Micros>,
    /// Net revenue, minor units.
    pub revenue: i64,
}

impl OrderFact {
    fn counts_at(&self, t: Micros) -> bool {
        self.paid_at <= t && self.unpaid_at.is_none_or(|u| u > t)
    }
}

/// Everything the ladder reads about one contact.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Facts {
    /// Orders (for a company: the orders on its account).
    pub orders: Vec<OrderFact>,
    /// Interactions: when, and their kind.
    pub interactions: Vec<(Micros, String)>,
    /// NPS answers: when, and the score.
    pub nps: Vec<(Micros, i64)>,
    /// When each referral converted.
    pub referrals: Vec<Micros>,
    /// Whether a contract is running (current value).
    pub contract_active: bool,
    /// Whether the contact is an ambassador (current value).
    pub ambassador: bool,
    /// P(alive) from the latest lifetime-value fit, and when that fit was made: it speaks
    /// from then on, not for the past.
    pub p_alive: Option<(Micros, f64)>,
}

/// Paid-order times of the orders that count at `t`, ascending.
fn paid_times(f: &Facts, t: Micros) -> Vec<Micros> {
    let mut times: Vec<Micros> = f
        .orders
        .iter()
        .filter(|o| o.counts_at(t))
        .map(|o| o.paid_at)
        .collect();
    times.sort_unstable();
    times
}

/// Decayed engagement points at `t` from interactions up to `t`.
pub fn engagement_at(f: &Facts, rules: &RuleSet, t: Micros) -> f64 {
    f.interactions
        .iter()
        .filter(|(at, _)| *at <= t)
        .map(|(at, kind)| {
            let points = rules.engagement_points.get(kind).copied().unwrap_or(0.0);
            points * (-((t - at) as f64) / HALF_LIFE as f64 * std::f64::consts::LN_2).exp()
        })
        .sum()
}

/// The metrics as of `t`: only what happened at or before `t` counts.
pub fn metrics_at(f: &Facts, rules: &RuleSet, t: Micros) -> Metrics {
    let times = paid_times(f, t);
    let revenue: i64 = f
        .orders
        .iter()
        .filter(|o| o.counts_at(t))
        .map(|o| o.revenue)
        .sum();
    let paid = times.len() as i64;
    Metrics {
        paid_orders: paid,
        revenue,
        tenure_days: times.first().map(|first| (t - first) / DAY),
        orders_365d: times.iter().filter(|p| **p > t - 365 * DAY).count() as i64,
        avg_order_value: (paid > 0).then(|| revenue / paid),
        engagement_score: engagement_at(f, rules, t),
        nps_last: f
            .nps
            .iter()
            .filter(|(at, _)| *at <= t)
            .max_by_key(|(at, _)| *at)
            .map(|(_, s)| *s),
        referrals_converted: f.referrals.iter().filter(|at| **at <= t).count() as i64,
        contract_active: f.contract_active,
        ambassador: f.ambassador,
        high_intent_90d: f.interactions.iter().any(|(at, kind)| {
            *at <= t && *at > t - 90 * DAY && HIGH_INTENT.contains(&kind.as_str())
        }),
        days_since_last_order: times.last().map(|last| (t - last) / DAY),
    }
}

/// Whole-day counters (tenure, days since the last order) cross threshold `v` when the
/// count reaches ⌈v⌉ or ⌊v⌋ + 1 (covers >=, >, <=, < alike).
fn day_crossings(origin: Micros, v: f64) -> [Micros; 2] {
    let days = |d: f64| origin + (d.max(0.0) as i64) * DAY;
    [days(v.ceil()), days(v.floor() + 1.0)]
}

/// Moments after `now` at which time alone could change the metrics the rules read or the
/// status, given what is known at `now`: an order leaving the 365-day window, tenure or days
/// since the last order reaching a threshold, engagement decaying below one, a high-intent
/// interaction turning 90 days old, and the lapse and at-risk thresholds. Sorted, distinct.
pub fn time_changes(f: &Facts, rules: &RuleSet, now: Micros) -> Vec<Micros> {
    let times = paid_times(f, now);
    let mut out = Vec::new();
    for p in &times {
        out.push(p + 365 * DAY);
    }
    if let Some(first) = times.first() {
        for v in &rules.time_thresholds.tenure_days {
            out.extend(day_crossings(*first, *v));
        }
    }
    if let Some(last) = times.last() {
        for v in &rules.time_thresholds.days_since_last_order {
            out.extend(day_crossings(*last, *v));
        }
        out.extend(status_changes(&times, *last));
    }
    let score = engagement_at(f, rules, now);
    for v in rules.time_thresholds.engagement_score.iter().copied() {
        if v > 0.0 && score >= v {
            // score · 2^(−Δ/half-life) = v  ⇒  Δ = half-life · log2(score / v); the
            // instants around it absorb rounding.
            let delta = (HALF_LIFE as f64 * (score / v).log2()) as i64;
            out.extend([now + delta - 1, now + delta, now + delta + 1]);
        }
    }
    for (at, kind) in &f.interactions {
        if *at <= now && HIGH_INTENT.contains(&kind.as_str()) {
            out.push(at + 90 * DAY);
        }
    }
    if let Some((since, _)) = f.p_alive {
        out.push(since);
    }
    out.retain(|t| *t > now);
    out.sort_unstable();
    out.dedup();
    out
}

/// When the status thresholds pass: at risk just after max(90 days, 2 × the mean gap) since
/// the last order, lapsed at 365 days.
fn status_changes(times: &[Micros], last: Micros) -> [Micros; 2] {
    [last + at_risk_after(times) + 1, last + 365 * DAY]
}

/// Time since the last order after which a paying contact is at risk.
pub fn at_risk_after(times: &[Micros]) -> Micros {
    let gap = match (times.first(), times.last()) {
        (Some(first), Some(last)) if times.len() >= 2 => (last - first) / (times.len() as i64 - 1),
        _ => 0,
    };
    (90 * DAY).max(2 * gap)
}

/// The status as of `t`.
pub fn status_at(f: &Facts, t: Micros) -> crate::rung::Status {
    use crate::rung::Status;
    let times = paid_times(f, t);
    let Some(last) = times.last() else {
        return Status::Active;
    };
    let quiet = t - last;
    if quiet >= 365 * DAY {
        Status::Lapsed
    } else if quiet > at_risk_after(&times)
        || f.p_alive.is_some_and(|(since, p)| t >= since && p < 0.5)
    {
        Status::AtRisk
    } else {
        Status::Active
    }
}
