//! The loyalty ladder in the product: the facts of each contact read from the log inside the
//! write transaction, its stored position brought up to date, every change recorded.

use std::collections::{HashMap, HashSet};

use clientele_core::ContactId;
use clientele_core::time::{DAY, Micros};
use clientele_ladder::{
    Change, Facts, LadderState, OrderFact, Position, RuleSet, Rung, Status, advance,
};
use clientele_store::{
    LadderChangeRow, LadderEventRow, LadderRow, LadderSubject, RulesRow, StoreResult, WriteTx,
};

/// Contacts classified per round trip when many are re-evaluated.
pub const BATCH: usize = 2_000;

/// The active rule set and its version, installing the shipped default as version 1 in a
/// workspace that has none yet.
pub async fn active_rules(tx: &mut dyn WriteTx, now: Micros) -> StoreResult<(i64, RuleSet)> {
    if let Some(row) = tx.active_rules().await? {
        let json: serde_json::Value = serde_json::from_str(&row.body)
            .map_err(|e| clientele_store::StoreError::Other(e.into()))?;
        let rules = RuleSet::from_json(&json).map_err(|e| {
            clientele_store::StoreError::Other(anyhow::anyhow!("stored rules: {e}"))
        })?;
        return Ok((row.version, rules));
    }
    let rules = RuleSet::default_rules();
    tx.insert_rules(&RulesRow {
        version: 1,
        body: rules.to_json().to_string(),
        created_at: now,
    })
    .await?;
    Ok((1, rules))
}

/// The facts of one contact from its events: `rows` are its own events and, for a company,
/// every event of the orders placed on its account.
pub fn facts_of(subject: &LadderSubject, rows: &[LadderEventRow]) -> Facts {
    let me = subject.contact_id;
    let order_ids: HashSet<&str> = rows
        .iter()
        .filter(|r| r.kind == "order.placed" || r.kind == "order.paid")
        .filter_map(|r| r.order_id.as_deref())
        .collect();
    #[derive(Default)]
    struct Order {
        paid_at: Option<Micros>,
        total: i64,
        refunds: Vec<(Micros, Option<i64>)>,
        cancelled_at: Option<Micros>,
    }
    let mut orders: HashMap<&str, Order> = HashMap::new();
    let mut facts = Facts {
        contract_active: subject.contract_active,
        ambassador: subject.ambassador,
        p_alive: subject
            .p_alive
            .zip(subject.p_alive_since)
            .map(|(p, since)| (since, p)),
        ..Facts::default()
    };
    for r in rows {
        let t = r.occurred_at;
        if let Some(id) = r.order_id.as_deref().filter(|id| order_ids.contains(id)) {
            let o = orders.entry(id).or_default();
            match r.kind.as_str() {
                "order.paid" => {
                    o.paid_at = Some(o.paid_at.map_or(t, |p| p.min(t)));
                    o.total = r.amount.unwrap_or(o.total);
                }
                "order.placed" => o.total = r.amount.unwrap_or(o.total),
                "order.refunded" => o.refunds.push((t, r.amount)),
                "order.cancelled" => o.cancelled_at = Some(o.cancelled_at.map_or(t, |c| c.min(t))),
                _ => {}
            }
            continue;
        }
        if r.contact_id != me {
            continue;
        }
        match r.kind.as_str() {
            "interaction" => facts
                .interactions
                .push((t, r.detail.clone().unwrap_or_default())),
            "survey.answered" if r.detail.as_deref() == Some("nps") => {
                facts.nps.push((t, r.amount.unwrap_or(0)))
            }
            "referral.converted" => facts.referrals.push(t),
            _ => {}
        }
    }
    for o in orders.into_values() {
        let Some(paid_at) = o.paid_at else { continue };
        let mut refunds = o.refunds;
        refunds.sort_by_key(|(t, _)| *t);
        // It stops counting when cancelled, refunded in full, or refunded up to its total.
        let mut unpaid_at = o.cancelled_at;
        let mut refunded = 0i64;
        for (t, amount) in &refunds {
            let full = match amount {
                None => true,
                Some(a) => {
                    refunded = refunded.saturating_add(*a);
                    o.total > 0 && refunded >= o.total
                }
            };
            if full {
                unpaid_at = Some(unpaid_at.map_or(*t, |u| u.min(*t)));
                break;
            }
        }
        facts.orders.push(OrderFact {
            paid_at,
            unpaid_at,
            revenue: o.total - refunded.min(o.total),
        });
    }
    facts.orders.sort_by_key(|o| o.paid_at);
    facts
}

fn parse_state(row: &LadderRow) -> LadderState {
    LadderState {
        rung: Rung::parse(&row.rung).unwrap_or(Rung::Suspect),
        status: Status::ALL
            .into_iter()
            .find(|s| s.name() == row.status)
            .unwrap_or(Status::Active),
        failing_since: row.failing_since,
        due_at: row.due_at,
    }
}

fn change_row(contact_id: ContactId, version: i64, c: &Change) -> LadderChangeRow {
    let (kind, from, to) = match (c.from, c.to) {
        (Position::Rung(a), Position::Rung(b)) => ("rung", a.name(), b.name()),
        (Position::Status(a), Position::Status(b)) => ("status", a.name(), b.name()),
        (a, b) => unreachable!("a change stays on one axis: {a:?} → {b:?}"),
    };
    LadderChangeRow {
        contact_id,
        at: c.at,
        kind: kind.to_owned(),
        from: from.to_owned(),
        to: to.to_owned(),
        reason: serde_json::to_value(c.reason)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        rule_version: version,
        metrics: serde_json::to_string(&c.metrics).unwrap_or_default(),
    }
}

/// Each contact's rows: its own events and, for a company, those of the orders placed on
/// its account.
fn group_by_contact(
    subjects: &[LadderSubject],
    events: &[LadderEventRow],
) -> HashMap<ContactId, Vec<LadderEventRow>> {
    let companies: HashSet<ContactId> = subjects
        .iter()
        .filter(|s| s.is_company)
        .map(|s| s.contact_id)
        .collect();
    let mut account_orders: HashMap<&str, ContactId> = HashMap::new();
    for r in events {
        if let (Some(a), Some(o)) = (r.account_id, r.order_id.as_deref())
            && companies.contains(&a)
        {
            account_orders.insert(o, a);
        }
    }
    let mut by_contact: HashMap<ContactId, Vec<LadderEventRow>> = HashMap::new();
    for r in events {
        by_contact.entry(r.contact_id).or_default().push(r.clone());
        let account = r.account_id.or_else(|| {
            r.order_id
                .as_deref()
                .and_then(|o| account_orders.get(o).copied())
        });
        if let Some(a) = account.filter(|a| *a != r.contact_id && companies.contains(a)) {
            by_contact.entry(a).or_default().push(r.clone());
        }
    }
    by_contact
}

/// Bring the ladder positions of `contacts` up to `now` inside the transaction: their facts
/// from the log, every event and due moment since their last evaluation in time order, and
/// an evaluation at `now`. Returns how many changes were recorded.
pub async fn reclassify(
    tx: &mut dyn WriteTx,
    contacts: &[ContactId],
    now: Micros,
) -> StoreResult<usize> {
    if contacts.is_empty() {
        return Ok(0);
    }
    let (version, rules) = active_rules(tx, now).await?;
    // Rules that start when a score crosses a threshold watch every contact re-evaluated.
    // The automation rules, read once for the score watch and the runs changes start.
    let care = crate::automation::active_rules_cached(tx, now).await?;
    let mut scores = crate::automation::ScoreWatch::new(&care);
    let mut changes = 0;
    for chunk in contacts.chunks(BATCH) {
        let subjects = tx.ladder_subjects(chunk).await?;
        let ids: Vec<ContactId> = subjects.iter().map(|s| s.contact_id).collect();
        let events = tx.ladder_events(&ids).await?;
        let stored: HashMap<ContactId, LadderRow> = tx
            .ladder_rows(&ids)
            .await?
            .into_iter()
            .map(|r| (r.contact_id, r))
            .collect();
        let by_contact = group_by_contact(&subjects, &events);
        let mut rows = Vec::with_capacity(subjects.len());
        let mut history = Vec::new();
        for s in &subjects {
            let facts = facts_of(s, by_contact.get(&s.contact_id).map_or(&[], Vec::as_slice));
            let previous = stored.get(&s.contact_id);
            let state = previous.map(parse_state).unwrap_or_default();
            let since = previous.map(|p| p.evaluated_at);
            let (next, recorded) = advance(&state, since, &facts, &rules, now);
            if let Some(w) = scores.as_mut() {
                // What was known before this transaction's events (which may be dated
                // before the last evaluation) against what is known now.
                let rows = by_contact.get(&s.contact_id).map_or(&[][..], Vec::as_slice);
                let known: Vec<LadderEventRow> = rows
                    .iter()
                    .filter(|r| r.received_at < now)
                    .cloned()
                    .collect();
                let before = facts_of(s, &known);
                w.observe(s.contact_id, &before, &facts, &rules, since, now);
            }
            history.extend(
                recorded
                    .iter()
                    .map(|c| change_row(s.contact_id, version, c)),
            );
            rows.push(LadderRow {
                contact_id: s.contact_id,
                rung: next.rung.name().to_owned(),
                status: next.status.name().to_owned(),
                rule_version: version,
                failing_since: next.failing_since,
                due_at: next.due_at,
                evaluated_at: now.max(since.unwrap_or(now)),
            });
        }
        changes += history.len();
        tx.save_ladder(&rows, &history).await?;
        // Care starts with the change, in its transaction; after it is saved, so rules'
        // conditions see the new rung and status.
        crate::automation::on_ladder_changes(tx, &history, &care, now).await?;
    }
    if let Some(w) = scores {
        w.enqueue(tx, now).await?;
    }
    Ok(changes)
}

/// A contact's ladder metrics at `now`, read inside the transaction (`None`: no such live
/// contact).
pub(crate) async fn metrics_now(
    tx: &mut dyn WriteTx,
    contact: ContactId,
    now: Micros,
) -> StoreResult<Option<clientele_ladder::Metrics>> {
    let (_, rules) = active_rules(tx, now).await?;
    let subjects = tx.ladder_subjects(&[contact]).await?;
    let Some(subject) = subjects.first() else {
        return Ok(None);
    };
    let events = tx.ladder_events(&[contact]).await?;
    let by_contact = group_by_contact(&subjects, &events);
    let facts = facts_of(subject, by_contact.get(&contact).map_or(&[], Vec::as_slice));
    Ok(Some(clientele_ladder::metrics_at(&facts, &rules, now)))
}

/// Re-evaluate up to `limit` contacts of the workspace that are due by `now`, in one
/// transaction; returns how many were due.
pub async fn run_due(
    store: &dyn clientele_store::Store,
    ws: clientele_core::WorkspaceId,
    now: Micros,
    limit: i64,
) -> StoreResult<usize> {
    let mut tx = store.begin_write(ws).await?;
    let due = tx.due_contacts(now, limit).await?;
    reclassify(&mut *tx, &due, now).await?;
    tx.commit().await?;
    Ok(due.len())
}

/// The active rule set of a workspace and its version (the shipped default, version 1,
/// before the first classification stores it).
pub async fn current_rules(
    store: &dyn clientele_store::Store,
    ws: clientele_core::WorkspaceId,
) -> StoreResult<(i64, RuleSet)> {
    match store.rules_version(ws, None).await? {
        Some(row) => Ok((row.version, parse_rules(&row.body)?)),
        None => Ok((1, RuleSet::default_rules())),
    }
}

/// A stored rule set.
pub fn parse_rules(body: &str) -> StoreResult<RuleSet> {
    let json: serde_json::Value =
        serde_json::from_str(body).map_err(|e| clientele_store::StoreError::Other(e.into()))?;
    RuleSet::from_json(&json)
        .map_err(|e| clientele_store::StoreError::Other(anyhow::anyhow!("stored rules: {e}")))
}

/// One contact's position as of a moment, computed from its history.
#[derive(Debug, Clone, PartialEq)]
pub struct Classified {
    /// The contact.
    pub contact_id: ContactId,
    /// Its external id.
    pub external_id: Option<String>,
    /// Rung.
    pub rung: Rung,
    /// Status.
    pub status: Status,
    /// Net revenue as of the moment, minor units.
    pub revenue: i64,
    /// Paid orders as of the moment.
    pub paid_orders: i64,
    /// Whole days since the last paid order.
    pub days_since_last_order: Option<i64>,
}

/// Every live contact of the workspace classified from scratch with `rules` as of `as_of`:
/// what the live system would have shown then (or would show with other rules). Reads in
/// pages, classifies each page on all cores; writes nothing. Sorted by contact id.
pub async fn classify_all(
    store: &dyn clientele_store::Store,
    ws: clientele_core::WorkspaceId,
    rules: &RuleSet,
    as_of: Micros,
) -> StoreResult<Vec<Classified>> {
    let mut by_rules = classify_all_with(store, ws, &[rules], as_of).await?;
    Ok(by_rules.pop().unwrap_or_default())
}

/// [`classify_all`] under several rule sets from one read of the log (what-if compares
/// two): one list per rule set, each sorted by contact id.
pub async fn classify_all_with(
    store: &dyn clientele_store::Store,
    ws: clientele_core::WorkspaceId,
    rule_sets: &[&RuleSet],
    as_of: Micros,
) -> StoreResult<Vec<Vec<Classified>>> {
    use rayon::prelude::*;
    let mut out: Vec<Vec<Classified>> = vec![Vec::new(); rule_sets.len()];
    let mut after = ContactId(0);
    loop {
        let ids = store.contact_ids_page(ws, after, BATCH as i64).await?;
        let Some(last) = ids.last() else { break };
        after = *last;
        let (subjects, events) = store.ladder_inputs(ws, &ids).await?;
        let by_contact = group_by_contact(&subjects, &events);
        let page: Vec<Vec<Classified>> = subjects
            .par_iter()
            .map(|s| {
                let facts = facts_of(s, by_contact.get(&s.contact_id).map_or(&[], Vec::as_slice));
                rule_sets
                    .iter()
                    .map(|rules| {
                        let (state, _) = clientele_ladder::replay(&facts, rules, as_of);
                        let m = clientele_ladder::metrics_at(&facts, rules, as_of);
                        Classified {
                            contact_id: s.contact_id,
                            external_id: s.external_id.clone(),
                            rung: state.rung,
                            status: state.status,
                            revenue: m.revenue,
                            paid_orders: m.paid_orders,
                            days_since_last_order: m.days_since_last_order,
                        }
                    })
                    .collect()
            })
            .collect();
        for per_contact in page {
            for (list, c) in out.iter_mut().zip(per_contact) {
                list.push(c);
            }
        }
    }
    for list in &mut out {
        list.sort_by_key(|c| c.contact_id);
    }
    Ok(out)
}

/// A contact's ladder as the API shows it — position, the metrics and the rules' reasons,
/// and its history — now or as of a past moment; `None` for an unknown or merged contact.
pub async fn view(
    store: &dyn clientele_store::Store,
    ws: clientele_core::WorkspaceId,
    id: ContactId,
    as_of: Option<Micros>,
    now: Micros,
) -> StoreResult<Option<serde_json::Value>> {
    use clientele_core::time::format_instant;
    let (subjects, events) = store.ladder_inputs(ws, &[id]).await?;
    let Some(subject) = subjects.iter().find(|s| s.contact_id == id) else {
        return Ok(None);
    };
    let row = store.ladder_row(ws, id).await?;
    let history = store.ladder_history(ws, id).await?;
    let (current_version, _) = current_rules(store, ws).await?;
    let t = as_of.unwrap_or(now);
    let upto: Vec<&LadderChangeRow> = history.iter().filter(|c| c.at <= t).collect();
    let last = |kind: &str| {
        upto.iter()
            .rev()
            .find(|c| c.kind == kind)
            .map(|c| c.to.clone())
    };
    let (rung, status, version) = match (as_of, &row) {
        (None, Some(r)) => (r.rung.clone(), r.status.clone(), r.rule_version),
        _ => (
            last("rung").unwrap_or_else(|| Rung::Suspect.name().to_owned()),
            last("status").unwrap_or_else(|| Status::Active.name().to_owned()),
            upto.last()
                .map(|c| c.rule_version)
                .or(row.as_ref().map(|r| r.rule_version))
                .unwrap_or(current_version),
        ),
    };
    let rules = match store.rules_version(ws, Some(version)).await? {
        Some(r) => parse_rules(&r.body)?,
        None => RuleSet::default_rules(),
    };
    let by_contact = group_by_contact(&subjects, &events);
    let facts = facts_of(subject, by_contact.get(&id).map_or(&[], Vec::as_slice));
    let metrics = clientele_ladder::metrics_at(&facts, &rules, t);
    let explanation = clientele_ladder::explain(&rules, &metrics);
    let live = row.as_ref().filter(|_| as_of.is_none());
    let grace_until = live
        .and_then(|r| r.failing_since)
        .and_then(|since| match rules.demotion {
            clientele_ladder::Demotion::Grace { days } => {
                Some(format_instant(since + i64::from(days) * DAY))
            }
            _ => None,
        });
    Ok(Some(serde_json::json!({
        "rung": rung,
        "status": status,
        "rule_version": version,
        "as_of": format_instant(t),
        "metrics": metrics,
        "explanation": explanation,
        "grace_until": grace_until,
        "next_review_at": live.and_then(|r| r.due_at).map(format_instant),
        "history": upto.iter().map(|c| serde_json::json!({
            "at": format_instant(c.at),
            "kind": c.kind,
            "from": c.from,
            "to": c.to,
            "reason": c.reason,
            "rule_version": c.rule_version,
            "metrics": serde_json::from_str::<serde_json::Value>(&c.metrics).unwrap_or_default(),
        })).collect::<Vec<_>>(),
    })))
}

/// Make `rules` the active set (the next version) and re-evaluate every contact under it
/// in the same transaction, recording the changes. Returns (version, contacts, changes).
pub async fn apply_rules(
    store: &dyn clientele_store::Store,
    ws: clientele_core::WorkspaceId,
    rules: &RuleSet,
    now: Micros,
) -> StoreResult<(i64, usize, usize)> {
    let mut tx = store.begin_write(ws).await?;
    let (version, _) = active_rules(&mut *tx, now).await?;
    let version = version + 1;
    tx.insert_rules(&RulesRow {
        version,
        body: rules.to_json().to_string(),
        created_at: now,
    })
    .await?;
    let (contacts, changes) = reclassify_everyone(&mut *tx, now).await?;
    tx.commit().await?;
    Ok((version, contacts, changes))
}

/// Reclassify every live contact inside the transaction, in pages; returns (contacts,
/// changes).
pub async fn reclassify_everyone(tx: &mut dyn WriteTx, now: Micros) -> StoreResult<(usize, usize)> {
    let (mut contacts, mut changes) = (0, 0);
    let mut after = ContactId(0);
    loop {
        let ids = tx.contact_ids_after(after, BATCH as i64).await?;
        let Some(last) = ids.last() else { break };
        after = *last;
        contacts += ids.len();
        changes += reclassify(tx, &ids, now).await?;
    }
    Ok((contacts, changes))
}

/// What a candidate rule set would do now, changing nothing: contacts and their revenue
/// per (current rung, candidate rung).
pub async fn what_if(
    store: &dyn clientele_store::Store,
    ws: clientele_core::WorkspaceId,
    candidate: &RuleSet,
    now: Micros,
) -> StoreResult<serde_json::Value> {
    let (version, active) = current_rules(store, ws).await?;
    // One read of the log serves both rule sets.
    let mut both = classify_all_with(store, ws, &[&active, candidate], now).await?;
    let after = both.pop().unwrap_or_default();
    let before = both.pop().unwrap_or_default();
    let mut cells: std::collections::BTreeMap<(Rung, Rung), (usize, i64)> = Default::default();
    for (b, a) in before.iter().zip(&after) {
        let cell = cells.entry((b.rung, a.rung)).or_default();
        cell.0 += 1;
        cell.1 += b.revenue;
    }
    let moved: usize = cells
        .iter()
        .filter(|((f, t), _)| f != t)
        .map(|(_, (n, _))| n)
        .sum();
    Ok(serde_json::json!({
        "active_version": version,
        "contacts": before.len(),
        "moved": moved,
        "moves": cells.iter().rev().map(|((from, to), (n, revenue))| serde_json::json!({
            "from": from, "to": to, "contacts": n, "revenue": revenue,
        })).collect::<Vec<_>>(),
    }))
}

/// RFM scores of every paying contact as of `as_of`: recency (fewest days since the last
/// order scores 5), frequency (paid orders) and monetary value (net revenue), each a
/// quintile 1–5 over the paying contacts, ties broken by contact id. Sorted by contact id.
pub async fn rfm(
    store: &dyn clientele_store::Store,
    ws: clientele_core::WorkspaceId,
    as_of: Micros,
) -> StoreResult<Vec<(ContactId, clientele_clv::rfm::Rfm)>> {
    use clientele_clv::rfm::{Rfm, quintiles_of};
    let (_, rules) = current_rules(store, ws).await?;
    let paying: Vec<Classified> = classify_all(store, ws, &rules, as_of)
        .await?
        .into_iter()
        .filter(|c| c.paid_orders > 0)
        .collect();
    let r = quintiles_of(
        &paying
            .iter()
            .map(|c| -(c.days_since_last_order.unwrap_or(0) as f64))
            .collect::<Vec<_>>(),
    );
    let f = quintiles_of(
        &paying
            .iter()
            .map(|c| c.paid_orders as f64)
            .collect::<Vec<_>>(),
    );
    let m = quintiles_of(&paying.iter().map(|c| c.revenue as f64).collect::<Vec<_>>());
    Ok(paying
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                c.contact_id,
                Rfm {
                    recency: r[i],
                    frequency: f[i],
                    monetary: m[i],
                },
            )
        })
        .collect())
}
