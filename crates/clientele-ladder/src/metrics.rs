//! The metrics rules read, their names and types, and their values for one contact at one
//! moment.

use serde::Serialize;

/// A metric a rule may test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Orders paid and not cancelled or refunded in full.
    PaidOrders,
    /// Net revenue, minor units.
    Revenue,
    /// Whole days since the first paid order.
    TenureDays,
    /// Paid orders with `now − 365 days < t <= now`.
    Orders365d,
    /// Revenue per paid order, minor units.
    AvgOrderValue,
    /// Interaction points, each halving every 30 days.
    EngagementScore,
    /// The last NPS answer, 0–10.
    NpsLast,
    /// Referred contacts who went on to pay.
    ReferralsConverted,
    /// Whether a contract is running.
    ContractActive,
    /// Whether the contact is an ambassador.
    Ambassador,
    /// A form submitted, demo requested or reply in the last 90 days.
    HighIntent90d,
    /// Whole days since the last paid order.
    DaysSinceLastOrder,
}

/// Whether a metric is a number or a yes/no flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Compared with numbers.
    Number,
    /// Compared with `true`/`false`.
    Flag,
}

impl Metric {
    /// Every metric.
    pub const ALL: [Metric; 12] = [
        Metric::PaidOrders,
        Metric::Revenue,
        Metric::TenureDays,
        Metric::Orders365d,
        Metric::AvgOrderValue,
        Metric::EngagementScore,
        Metric::NpsLast,
        Metric::ReferralsConverted,
        Metric::ContractActive,
        Metric::Ambassador,
        Metric::HighIntent90d,
        Metric::DaysSinceLastOrder,
    ];

    /// The rule-file spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::PaidOrders => "paid_orders",
            Self::Revenue => "revenue",
            Self::TenureDays => "tenure_days",
            Self::Orders365d => "orders_365d",
            Self::AvgOrderValue => "avg_order_value",
            Self::EngagementScore => "engagement_score",
            Self::NpsLast => "nps_last",
            Self::ReferralsConverted => "referrals_converted",
            Self::ContractActive => "contract_active",
            Self::Ambassador => "ambassador",
            Self::HighIntent90d => "high_intent_90d",
            Self::DaysSinceLastOrder => "days_since_last_order",
        }
    }

    /// Parse the rule-file spelling.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Number or flag.
    pub fn kind(self) -> Kind {
        match self {
            Self::ContractActive | Self::Ambassador | Self::HighIntent90d => Kind::Flag,
            _ => Kind::Number,
        }
    }
}

/// A metric's value; `Missing` when it is undefined (no paid order yet, no NPS answer), and
/// then every comparison with it fails.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// A number.
    Number(f64),
    /// A flag.
    Flag(bool),
    /// Undefined.
    Missing,
}

/// Every metric of one contact at one moment.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Metrics {
    /// Orders paid and not cancelled or refunded in full.
    pub paid_orders: i64,
    /// Net revenue, minor units.
    pub revenue: i64,
    /// Whole days since the first paid order.
    pub tenure_days: Option<i64>,
    /// Paid orders in the last 365 days.
    pub orders_365d: i64,
    /// Revenue per paid order, minor units.
    pub avg_order_value: Option<i64>,
    /// Decayed interaction points.
    pub engagement_score: f64,
    /// The last NPS answer.
    pub nps_last: Option<i64>,
    /// Referred contacts who went on to pay.
    pub referrals_converted: i64,
    /// Whether a contract is running.
    pub contract_active: bool,
    /// Whether the contact is an ambassador.
    pub ambassador: bool,
    /// A high-intent interaction in the last 90 days.
    pub high_intent_90d: bool,
    /// Whole days since the last paid order.
    pub days_since_last_order: Option<i64>,
}

impl Metrics {
    /// The value of one metric.
    pub fn value(&self, m: Metric) -> Value {
        let number = |v: Option<i64>| v.map_or(Value::Missing, |v| Value::Number(v as f64));
        match m {
            Metric::PaidOrders => Value::Number(self.paid_orders as f64),
            Metric::Revenue => Value::Number(self.revenue as f64),
            Metric::TenureDays => number(self.tenure_days),
            Metric::Orders365d => Value::Number(self.orders_365d as f64),
            Metric::AvgOrderValue => number(self.avg_order_value),
            Metric::EngagementScore => Value::Number(self.engagement_score),
            Metric::NpsLast => number(self.nps_last),
            Metric::ReferralsConverted => Value::Number(self.referrals_converted as f64),
            Metric::ContractActive => Value::Flag(self.contract_active),
            Metric::Ambassador => Value::Flag(self.ambassador),
            Metric::HighIntent90d => Value::Flag(self.high_intent_90d),
            Metric::DaysSinceLastOrder => number(self.days_since_last_order),
        }
    }
}
