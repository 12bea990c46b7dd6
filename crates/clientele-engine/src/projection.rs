//! Folding projection input into order rows and contact metrics. Live ingest and replay
//! both go through [`Projection`], which is what makes a rebuild byte-identical.
//!
//! Metrics are updated by deltas when an order starts counting (the common case: a new paid
//! order), and recomputed from all of the contact's orders only when an order that already
//! counted changes (refund in full, cancellation, new payment time), so ingest cost does not
//! grow with a contact's history.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use clientele_core::ContactId;
use clientele_core::event::EventKind;
use clientele_core::metrics::StoredMetrics;
use clientele_core::order::{OrderState, ProjectionInput};

/// Orders and metrics in memory, with what changed.
#[derive(Debug, Default)]
pub struct Projection {
    orders: HashMap<String, OrderState>,
    /// Stored state of every order seeded before folding, to compute deltas against.
    before: HashMap<String, OrderState>,
    metrics: HashMap<ContactId, StoredMetrics>,
    touched_orders: HashSet<String>,
    touched_contacts: HashSet<ContactId>,
}

impl Projection {
    /// Seed with the stored rows of the orders the coming events name, and the stored
    /// metrics of the contacts they may touch.
    pub fn seed(&mut self, orders: Vec<OrderState>, metrics: Vec<(ContactId, StoredMetrics)>) {
        for o in orders {
            self.before.insert(o.order_id.clone(), o.clone());
            self.orders.insert(o.order_id.clone(), o);
        }
        self.metrics.extend(metrics);
    }

    /// Fold one event in.
    pub fn apply(&mut self, input: &ProjectionInput) {
        if input.kind == EventKind::Interaction {
            self.metrics
                .entry(input.contact_id)
                .or_default()
                .add_interaction(input.occurred_at);
            self.touched_contacts.insert(input.contact_id);
            return;
        }
        let Some(order_id) = &input.order_id else {
            return;
        };
        let order = self
            .orders
            .entry(order_id.clone())
            .or_insert_with(|| OrderState::new(order_id.clone(), input.contact_id));
        order.apply(input);
        self.touched_contacts.insert(order.contact_id);
        self.touched_orders.insert(order_id.clone());
    }

    /// Contacts whose metrics cannot be updated by deltas: an order of theirs that already
    /// counted changed. Their other orders must be added with [`Projection::add_history`].
    pub fn needs_history(&self) -> Vec<ContactId> {
        let mut out: HashSet<ContactId> = HashSet::default();
        for id in &self.touched_orders {
            if let (Some(before), Some(after)) = (self.before.get(id), self.orders.get(id))
                && before.counts()
                && (!after.counts() || after.paid_at != before.paid_at)
            {
                out.insert(after.contact_id);
            }
        }
        out.into_iter().collect()
    }

    /// Add stored orders of contacts that need a full recompute (already-known orders keep
    /// their folded state).
    pub fn add_history(&mut self, orders: Vec<OrderState>) {
        for o in orders {
            self.orders.entry(o.order_id.clone()).or_insert(o);
        }
    }

    /// The changed orders and the updated metrics of every touched contact.
    pub fn finish(mut self) -> (Vec<OrderState>, Vec<(ContactId, StoredMetrics)>) {
        let full: HashSet<ContactId> = self.needs_history().into_iter().collect();
        let mut by_contact: HashMap<ContactId, Vec<&OrderState>> = HashMap::default();
        for o in self.orders.values() {
            let relevant = if full.contains(&o.contact_id) {
                self.touched_contacts.contains(&o.contact_id)
            } else {
                self.touched_orders.contains(&o.order_id)
            };
            if relevant {
                by_contact.entry(o.contact_id).or_default().push(o);
            }
        }
        let mut metrics = Vec::with_capacity(self.touched_contacts.len());
        for c in &self.touched_contacts {
            let mut m = self.metrics.remove(c).unwrap_or_default();
            let orders = by_contact.get(c).map(Vec::as_slice).unwrap_or_default();
            if full.contains(c) {
                m.refresh_orders(orders.iter().copied());
            } else {
                for o in orders {
                    m.apply_order_change(self.before.get(&o.order_id), o);
                }
            }
            metrics.push((*c, m));
        }
        let orders = self
            .touched_orders
            .iter()
            .filter_map(|id| self.orders.get(id).cloned())
            .collect();
        (orders, metrics)
    }
}
