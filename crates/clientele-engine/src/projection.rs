//! Folding projection input into order rows and contact metrics. Live ingest and replay
//! both go through [`Projection`], which is what makes a rebuild byte-identical.

use std::collections::{HashMap, HashSet};

use clientele_core::ContactId;
use clientele_core::event::EventKind;
use clientele_core::metrics::StoredMetrics;
use clientele_core::order::{OrderState, ProjectionInput};

/// Orders and metrics in memory, with what changed.
#[derive(Debug, Default)]
pub struct Projection {
    orders: HashMap<String, OrderState>,
    metrics: HashMap<ContactId, StoredMetrics>,
    touched_orders: HashSet<String>,
    touched_contacts: HashSet<ContactId>,
}

impl Projection {
    /// Seed with stored rows (orders must include every order of every contact whose
    /// metrics will be recomputed).
    pub fn seed(&mut self, orders: Vec<OrderState>, metrics: Vec<(ContactId, StoredMetrics)>) {
        for o in orders {
            self.orders.entry(o.order_id.clone()).or_insert(o);
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

    /// The changed orders and the recomputed metrics of every touched contact.
    pub fn finish(mut self) -> (Vec<OrderState>, Vec<(ContactId, StoredMetrics)>) {
        let mut by_contact: HashMap<ContactId, Vec<&OrderState>> = HashMap::new();
        for o in self.orders.values() {
            if self.touched_contacts.contains(&o.contact_id) {
                by_contact.entry(o.contact_id).or_default().push(o);
            }
        }
        let mut metrics = Vec::with_capacity(self.touched_contacts.len());
        for c in &self.touched_contacts {
            let mut m = self.metrics.remove(c).unwrap_or_default();
            m.refresh_orders(by_contact.get(c).into_iter().flatten().copied());
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
