//! The loyalty ladder, pure: rule sets as data, the metrics they read, classification with
//! its explanation, the status of a paying relationship, and the time-driven part — when a
//! contact's rung or status could next change without a new event, and demotion after a
//! grace period — so that the live system and a from-scratch replay agree.

pub mod classify;
pub mod facts;
pub mod metrics;
pub mod rules;
pub mod rung;
pub mod timeline;

pub use classify::{Explanation, explain, rung_by_rules};
pub use facts::{DAY, Facts, Micros, OrderFact, metrics_at, status_at, time_changes};
pub use metrics::{Metric, Metrics};
pub use rules::{Condition, Demotion, RuleError, RuleSet};
pub use rung::{Rung, Status};
pub use timeline::{Change, LadderState, Position, Reason, advance, catch_up, evaluate, replay};
