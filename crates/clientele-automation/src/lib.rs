//! Automated customer care, pure: rules as data (a trigger, conditions, actions in
//! sequence) with the shipped playbook per rung, and the rendering of their bilingual
//! templates. The engine decides when rules fire and carries their steps out through a
//! durable outbox; nothing here does I/O.

pub mod action;
pub mod condition;
pub mod document;
pub mod rules;
pub mod template;
pub mod trigger;

pub use action::{Action, Op, Purpose, TICKET_KINDS, program, resolve};
pub use condition::{Condition, Subject};
pub use rules::{Limits, Rule, RuleError, RuleSet};
pub use template::{Rendered, render, render_line};
pub use trigger::{DateField, Trigger};
