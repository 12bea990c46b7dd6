//! The order projection: what the log says about one order, folded event by event.
//!
//! Folding is order-insensitive for everything but the total (the latest event's total
//! wins), and events are always applied in log order, so a replay of the log rebuilds
//! exactly the rows that live ingest wrote.

use crate::ContactId;
use crate::event::EventKind;
use crate::time::Micros;

/// The part of an event the projections read; what ingest and replay both feed in.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectionInput {
    /// Event kind.
    pub kind: EventKind,
    /// When it happened.
    pub occurred_at: Micros,
    /// Buyer or interacting contact.
    pub contact_id: ContactId,
    /// Gift recipient.
    pub recipient_id: Option<ContactId>,
    /// Company account.
    pub account_id: Option<ContactId>,
    /// Order id for order events.
    pub order_id: Option<String>,
    /// Total, or refunded amount (`None` = full refund).
    pub amount: Option<i64>,
    /// Interaction type.
    pub detail: Option<String>,
}

/// One order as the log describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderState {
    /// The business's order id.
    pub order_id: String,
    /// Buyer: the first event naming the order decides it.
    pub contact_id: ContactId,
    /// Consumer, when it was a gift.
    pub recipient_id: Option<ContactId>,
    /// Company account it was placed on.
    pub account_id: Option<ContactId>,
    /// Total in minor units of the base currency.
    pub total: i64,
    /// Sum of partial refunds (may exceed the total; it is capped when read).
    pub refunded: i64,
    /// A refund without an amount was recorded.
    pub fully_refunded: bool,
    /// First `order.placed`.
    pub placed_at: Option<Micros>,
    /// First `order.paid`.
    pub paid_at: Option<Micros>,
    /// First `order.cancelled`.
    pub cancelled_at: Option<Micros>,
}

impl OrderState {
    /// A new, empty order for the contact of its first event.
    pub fn new(order_id: String, contact_id: ContactId) -> Self {
        Self {
            order_id,
            contact_id,
            recipient_id: None,
            account_id: None,
            total: 0,
            refunded: 0,
            fully_refunded: false,
            placed_at: None,
            paid_at: None,
            cancelled_at: None,
        }
    }

    /// Fold one order event in.
    pub fn apply(&mut self, input: &ProjectionInput) {
        let t = input.occurred_at;
        let earliest = |slot: &mut Option<Micros>| *slot = Some(slot.map_or(t, |s| s.min(t)));
        match input.kind {
            EventKind::OrderPlaced | EventKind::OrderPaid => {
                if input.kind == EventKind::OrderPlaced {
                    earliest(&mut self.placed_at);
                } else {
                    earliest(&mut self.paid_at);
                }
                if let Some(total) = input.amount {
                    self.total = total;
                }
                if input.recipient_id.is_some() {
                    self.recipient_id = input.recipient_id;
                }
                if input.account_id.is_some() {
                    self.account_id = input.account_id;
                }
            }
            EventKind::OrderRefunded => match input.amount {
                Some(a) => self.refunded = self.refunded.saturating_add(a),
                None => self.fully_refunded = true,
            },
            EventKind::OrderCancelled => earliest(&mut self.cancelled_at),
            EventKind::Interaction | EventKind::SurveyAnswered | EventKind::ReferralConverted => {}
        }
    }

    /// Whether the order is a purchase: paid, not cancelled, not refunded in full. The
    /// stores ask the same in SQL with [`crate::counting_order_sql!`]; keep the two together.
    pub fn counts(&self) -> bool {
        self.paid_at.is_some()
            && self.cancelled_at.is_none()
            && !self.fully_refunded
            && !(self.total > 0 && self.refunded >= self.total)
    }

    /// Revenue it contributes, net of partial refunds.
    pub fn net_revenue(&self) -> i64 {
        if self.counts() {
            self.total - self.refunded.min(self.total)
        } else {
            0
        }
    }
}

/// [`OrderState::counts`] as an SQL condition on an `orders` row named `o`, in SQL that
/// SQLite and PostgreSQL both speak; [`crate::net_revenue_sql!`] is [`OrderState::net_revenue`]
/// for the rows it admits. Macros, so the stores can `concat!` them into `&'static str`s.
#[macro_export]
macro_rules! counting_order_sql {
    () => {
        "o.paid_at IS NOT NULL AND o.cancelled_at IS NULL AND NOT o.fully_refunded AND NOT (o.total > 0 AND o.refunded >= o.total)"
    };
}

/// The revenue of a counting order `o`, net of partial refunds (see [`counting_order_sql!`]).
#[macro_export]
macro_rules! net_revenue_sql {
    () => {
        "CASE WHEN o.refunded < o.total THEN o.total - o.refunded ELSE 0 END"
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn ev(kind: EventKind, t: Micros, amount: Option<i64>) -> ProjectionInput {
        ProjectionInput {
            kind,
            occurred_at: t,
            contact_id: ContactId(1),
            recipient_id: None,
            account_id: None,
            order_id: Some("o".into()),
            amount,
            detail: None,
        }
    }

    fn fold(events: &[ProjectionInput]) -> OrderState {
        let mut o = OrderState::new("o".into(), ContactId(1));
        events.iter().for_each(|e| o.apply(e));
        o
    }

    #[rstest]
    #[case::placed_only(vec![ev(EventKind::OrderPlaced, 1, Some(100))], false, 0)]
    #[case::paid(vec![ev(EventKind::OrderPaid, 1, Some(100))], true, 100)]
    #[case::partial_refund(vec![ev(EventKind::OrderPaid, 1, Some(100)), ev(EventKind::OrderRefunded, 2, Some(30))], true, 70)]
    #[case::partials_adding_to_full(vec![ev(EventKind::OrderPaid, 1, Some(100)), ev(EventKind::OrderRefunded, 2, Some(60)), ev(EventKind::OrderRefunded, 3, Some(40))], false, 0)]
    #[case::full_refund(vec![ev(EventKind::OrderPaid, 1, Some(100)), ev(EventKind::OrderRefunded, 2, None)], false, 0)]
    #[case::cancelled(vec![ev(EventKind::OrderPaid, 1, Some(100)), ev(EventKind::OrderCancelled, 2, None)], false, 0)]
    #[case::zero_value(vec![ev(EventKind::OrderPaid, 1, Some(0))], true, 0)]
    #[case::zero_value_refunded(vec![ev(EventKind::OrderPaid, 1, Some(0)), ev(EventKind::OrderRefunded, 2, None)], false, 0)]
    fn an_order_counts_once_paid_until_cancelled_or_refunded_in_full(
        #[case] events: Vec<ProjectionInput>,
        #[case] counts: bool,
        #[case] revenue: i64,
    ) {
        let o = fold(&events);
        assert_eq!(o.counts(), counts);
        assert_eq!(o.net_revenue(), revenue);
    }

    #[test]
    fn the_earliest_payment_time_is_kept_whatever_the_order() {
        let o = fold(&[
            ev(EventKind::OrderPaid, 50, Some(1)),
            ev(EventKind::OrderPaid, 10, Some(1)),
        ]);
        assert_eq!(o.paid_at, Some(10));
    }
}
