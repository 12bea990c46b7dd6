//! Automated customer care, pure: rules as data (a trigger, conditions, actions in
//! sequence) with the shipped playbook per rung, and the rendering of their bilingual
//! templates. The engine decides when rules fire and carries their steps out through a
//! durable outbox; nothing here does I/O.

pub mod rules;
pub mod template;

pub use rules::{Action, Condition, Limits, Purpose, Rule, RuleError, RuleSet, Trigger};
pub use template::{Rendered, render};
