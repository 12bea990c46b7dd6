//! The classifier itself: the default rules over 1 000 000 contacts' stored metrics on one
//! core (target ≥ 5 M contacts/s), and a whole-history replay of a typical contact.

use clientele_ladder::{DAY, Facts, Metrics, OrderFact, RuleSet, replay, rung_by_rules};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// A spread of contacts over every rung, deterministic.
fn metrics(n: usize) -> Vec<Metrics> {
    (0..n)
        .map(|i| {
            let paid = (i % 7) as i64;
            Metrics {
                paid_orders: paid,
                revenue: paid * 2500,
                tenure_days: (paid > 0).then_some((i % 400) as i64),
                orders_365d: paid.min((i % 5) as i64),
                avg_order_value: (paid > 0).then_some(2500),
                engagement_score: (i % 23) as f64,
                nps_last: (i % 3 == 0).then_some((i % 11) as i64),
                referrals_converted: (i % 97 == 0) as i64,
                contract_active: i % 101 == 0,
                ambassador: i % 1009 == 0,
                high_intent_90d: i % 13 == 0,
                days_since_last_order: (paid > 0).then_some((i % 500) as i64),
            }
        })
        .collect()
}

fn classify(c: &mut Criterion) {
    let rules = RuleSet::default_rules();
    let all = metrics(1_000_000);
    let mut g = c.benchmark_group("ladder");
    g.throughput(Throughput::Elements(all.len() as u64));
    g.sample_size(20);
    g.bench_function("rung_by_rules_1m", |b| {
        b.iter(|| {
            all.iter()
                .map(|m| rung_by_rules(&rules, m) as usize)
                .sum::<usize>()
        })
    });
    g.finish();

    // A contact with eight orders over two years and a few interactions, replayed to now.
    let facts = Facts {
        orders: (0..8)
            .map(|k| OrderFact {
                paid_at: k * 90 * DAY,
                unpaid_at: None,
                revenue: 2500,
            })
            .collect(),
        interactions: (0..5)
            .map(|k| (k * 40 * DAY, "email_click".to_owned()))
            .collect(),
        ..Facts::default()
    };
    c.bench_function("ladder/replay_one_contact", |b| {
        b.iter(|| replay(&facts, &rules, 1000 * DAY))
    });
}

criterion_group!(benches, classify);
criterion_main!(benches);
