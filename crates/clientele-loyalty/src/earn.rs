//! What an order earns: base points on its total, the rung's multiplier, bonuses, the
//! per-order cap — and how much of it a refund takes back.

use clientele_ladder::Rung;

use crate::Micros;
use crate::rules::{EarnRules, Rate};

/// Why bonus points were given; the spelling is the ledger entry's reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bonus {
    /// The contact's first paid order.
    FirstOrder,
    /// A second paid order within 30 days of the first.
    SecondOrderWithin30Days,
    /// The contact's birthday.
    Birthday,
    /// A survey answer.
    SurveyAnswered,
    /// A review.
    ReviewWritten,
}

impl Bonus {
    /// The reason recorded on the ledger entry.
    pub fn reason(self) -> &'static str {
        match self {
            Self::FirstOrder => "bonus:first_order",
            Self::SecondOrderWithin30Days => "bonus:second_order_within_30_days",
            Self::Birthday => "bonus:birthday",
            Self::SurveyAnswered => "bonus:survey_answered",
            Self::ReviewWritten => "bonus:review_written",
        }
    }

    /// Points the rules give for it.
    pub fn points(self, rules: &EarnRules) -> i64 {
        let b = &rules.bonuses;
        match self {
            Self::FirstOrder => b.first_order,
            Self::SecondOrderWithin30Days => b.second_order_within_30_days,
            Self::Birthday => b.birthday,
            Self::SurveyAnswered => b.survey_answered,
            Self::ReviewWritten => b.review_written,
        }
    }
}

/// The points one paid order earns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderEarning {
    /// Points on the total, multiplier applied.
    pub base: i64,
    /// The rung's multiplier.
    pub multiplier: Rate,
    /// Bonuses that apply.
    pub bonuses: Vec<(Bonus, i64)>,
    /// All together, after the per-order cap.
    pub total: i64,
}

/// The paying history an order's bonuses depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaidHistory {
    /// This order's place among the contact's paid orders (1 = first).
    pub nth: u32,
    /// When the contact's first paid order was paid.
    pub first_paid_at: Micros,
    /// When this one was.
    pub paid_at: Micros,
}

const DAY: Micros = 86_400_000_000;

/// Points for a paid order of `total` minor units of a currency with `minor_per_major`
/// minor units per unit, by a contact on `rung`: whole units (rounded down) × points per
/// unit × the rung's multiplier, rounded down, plus bonuses, capped per order.
pub fn order_points(
    rules: &EarnRules,
    total: i64,
    minor_per_major: i64,
    rung: Rung,
    history: PaidHistory,
) -> OrderEarning {
    let units = i128::from(total.max(0) / minor_per_major.max(1));
    let multiplier = rules.multiplier(rung);
    let base = units * i128::from(rules.points_per_unit.0) * i128::from(multiplier.0) / 1_000_000;
    let base = base.min(i128::from(i64::MAX / 4)) as i64;
    let mut bonuses = Vec::new();
    let mut bonus = |b: Bonus| {
        let p = b.points(rules);
        if p > 0 {
            bonuses.push((b, p));
        }
    };
    if history.nth == 1 {
        bonus(Bonus::FirstOrder);
    }
    if history.nth == 2 && history.paid_at - history.first_paid_at <= 30 * DAY {
        bonus(Bonus::SecondOrderWithin30Days);
    }
    let uncapped = base.saturating_add(bonuses.iter().map(|(_, p)| p).sum::<i64>());
    let total = rules
        .caps
        .per_order
        .map_or(uncapped, |cap| uncapped.min(cap));
    OrderEarning {
        base,
        multiplier,
        bonuses,
        total,
    }
}

/// Points an order that earned `earned` on a paid total of `paid_total` keeps once its net
/// paid amount is `net`: nothing once it is un-paid (cancelled or refunded in full), else
/// the share still paid for, rounded down (a zero-value order keeps its bonuses).
pub fn reversal_target(earned: i64, paid_total: i64, net: i64, unpaid: bool) -> i64 {
    if earned <= 0 || unpaid {
        return 0;
    }
    if paid_total <= 0 {
        return earned;
    }
    let net = net.clamp(0, paid_total);
    (i128::from(earned) * i128::from(net) / i128::from(paid_total)) as i64
}

/// The points left under a per-day cap once `earned_today` were earned.
pub fn under_day_cap(rules: &EarnRules, points: i64, earned_today: i64) -> i64 {
    match rules.caps.per_day {
        None => points,
        Some(cap) => points.min((cap - earned_today).max(0)),
    }
}
