//! Store errors. `NotFound` and `Conflict` are decisions the caller maps (a handler turns
//! `NotFound` into 404 only where that means "absent"); `Other` is a failure to log.

/// What can go wrong in a store call.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row the call needed does not exist (in this workspace).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was violated; `constraint` names it.
    #[error("conflict on {constraint}")]
    Conflict {
        /// Constraint or field name.
        constraint: String,
    },
    /// Anything else: I/O, database down, a bug.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}
