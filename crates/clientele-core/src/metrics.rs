//! Per-contact metrics (DESIGN §2): the stored part, kept in the same transaction as each
//! append, and the view as of a moment, which adds what depends on the clock.

use serde::Serialize;

use crate::order::OrderState;
use crate::time::{DAY, Micros, format_instant};

/// Metrics stored per contact and rebuilt by replay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredMetrics {
    /// Orders paid and not cancelled or refunded in full.
    pub paid_orders: i64,
    /// Net revenue in minor units of the base currency.
    pub revenue: i64,
    /// First counting order's payment time.
    pub first_order_at: Option<Micros>,
    /// Last counting order's payment time.
    pub last_order_at: Option<Micros>,
    /// Last interaction.
    pub last_engaged_at: Option<Micros>,
    /// Number of interactions.
    pub interactions: i64,
}

impl StoredMetrics {
    /// Recompute the order-derived part from all of the contact's orders, keeping the
    /// interaction part.
    pub fn refresh_orders<'a>(&mut self, orders: impl IntoIterator<Item = &'a OrderState>) {
        self.paid_orders = 0;
        self.revenue = 0;
        self.first_order_at = None;
        self.last_order_at = None;
        for o in orders.into_iter().filter(|o| o.counts()) {
            let Some(at) = o.paid_at else { continue };
            self.paid_orders += 1;
            self.revenue = self.revenue.saturating_add(o.net_revenue());
            self.first_order_at = Some(self.first_order_at.map_or(at, |f| f.min(at)));
            self.last_order_at = Some(self.last_order_at.map_or(at, |l| l.max(at)));
        }
    }

    /// Account for one order going from `before` (`None`: not stored yet) to `after`, when
    /// `before` did not count or still counts at the same payment time; other changes need
    /// [`StoredMetrics::refresh_orders`] over all of the contact's orders.
    pub fn apply_order_change(&mut self, before: Option<&OrderState>, after: &OrderState) {
        let was = before.filter(|b| b.counts());
        match (was, after.counts(), after.paid_at) {
            (Some(b), true, _) => {
                self.revenue = self
                    .revenue
                    .saturating_add(after.net_revenue() - b.net_revenue())
            }
            (None, true, Some(at)) => {
                self.paid_orders += 1;
                self.revenue = self.revenue.saturating_add(after.net_revenue());
                self.first_order_at = Some(self.first_order_at.map_or(at, |f| f.min(at)));
                self.last_order_at = Some(self.last_order_at.map_or(at, |l| l.max(at)));
            }
            _ => {}
        }
    }

    /// Fold one interaction in (order-insensitive).
    pub fn add_interaction(&mut self, at: Micros) {
        self.interactions += 1;
        self.last_engaged_at = Some(self.last_engaged_at.map_or(at, |l| l.max(at)));
    }

    /// Fold another contact's interaction part in (used by merge).
    pub fn absorb_interactions(&mut self, other: &StoredMetrics) {
        self.interactions += other.interactions;
        self.last_engaged_at = match (self.last_engaged_at, other.last_engaged_at) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
}

/// The metrics of one contact as of a moment, as the API shows them.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MetricsView {
    /// Orders paid and not cancelled or refunded in full.
    pub paid_orders: i64,
    /// Net revenue, minor units of `currency`.
    pub revenue: i64,
    /// Base currency of the workspace.
    pub currency: String,
    /// First paid order.
    pub first_order_at: Option<String>,
    /// Last paid order.
    pub last_order_at: Option<String>,
    /// Whole days since the first paid order.
    pub tenure_days: Option<i64>,
    /// Paid orders with `as_of − 365 days < t <= as_of`.
    pub orders_365d: i64,
    /// Revenue per paid order, minor units.
    pub avg_order_value: Option<i64>,
    /// Last interaction.
    pub last_engaged_at: Option<String>,
    /// Number of interactions.
    pub interactions: i64,
    /// The moment these values hold for.
    pub as_of: String,
}

impl MetricsView {
    /// Build the view as of `now` from the stored metrics and the payment times of the
    /// contact's counting orders.
    pub fn new(stored: &StoredMetrics, paid_times: &[Micros], now: Micros, currency: &str) -> Self {
        let window_start = now - 365 * DAY;
        Self {
            paid_orders: stored.paid_orders,
            revenue: stored.revenue,
            currency: currency.to_owned(),
            first_order_at: stored.first_order_at.map(format_instant),
            last_order_at: stored.last_order_at.map(format_instant),
            tenure_days: stored
                .first_order_at
                .filter(|f| *f <= now)
                .map(|f| (now - f) / DAY),
            orders_365d: paid_times
                .iter()
                .filter(|t| **t > window_start && **t <= now)
                .count() as i64,
            avg_order_value: (stored.paid_orders > 0).then(|| stored.revenue / stored.paid_orders),
            last_engaged_at: stored.last_engaged_at.map(format_instant),
            interactions: stored.interactions,
            as_of: format_instant(now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ContactId;
    use crate::event::EventKind;
    use crate::order::ProjectionInput;

    fn order(id: &str, paid_at: Micros, total: i64) -> OrderState {
        let mut o = OrderState::new(id.into(), ContactId(1));
        o.apply(&ProjectionInput {
            kind: EventKind::OrderPaid,
            occurred_at: paid_at,
            contact_id: ContactId(1),
            recipient_id: None,
            account_id: None,
            order_id: Some(id.into()),
            amount: Some(total),
            detail: None,
        });
        o
    }

    #[test]
    fn metrics_sum_counting_orders_only() {
        let mut cancelled = order("c", 5 * DAY, 999);
        cancelled.cancelled_at = Some(6 * DAY);
        let orders = [order("a", DAY, 1000), order("b", 3 * DAY, 500), cancelled];
        let mut m = StoredMetrics::default();
        m.refresh_orders(&orders);
        assert_eq!((m.paid_orders, m.revenue), (2, 1500));
        assert_eq!(
            (m.first_order_at, m.last_order_at),
            (Some(DAY), Some(3 * DAY))
        );
    }

    #[test]
    fn the_365_day_window_is_half_open() {
        let now = 1000 * DAY;
        let m = StoredMetrics {
            paid_orders: 3,
            revenue: 30,
            first_order_at: Some(now - 365 * DAY),
            ..Default::default()
        };
        let times = [now - 365 * DAY, now - 364 * DAY, now];
        let v = MetricsView::new(&m, &times, now, "USD");
        assert_eq!(v.orders_365d, 2);
        assert_eq!(v.tenure_days, Some(365));
        assert_eq!(v.avg_order_value, Some(10));
    }
}
