//! The seven rungs of the loyalty ladder and the status of a paying relationship.

use serde::Serialize;

/// A rung, ordered from the bottom (`Suspect`) to the top (`RavingFan`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rung {
    /// Known, in the target market, not engaged.
    Suspect,
    /// Has shown interest and left details.
    Prospect,
    /// Has bought once.
    Shopper,
    /// Has bought a second time.
    Customer,
    /// Long-term, regular, trusted relationship.
    Client,
    /// Recommends the business.
    Advocate,
    /// Actively sells for the business.
    RavingFan,
}

impl Rung {
    /// Every rung, bottom to top.
    pub const ALL: [Rung; 7] = [
        Rung::Suspect,
        Rung::Prospect,
        Rung::Shopper,
        Rung::Customer,
        Rung::Client,
        Rung::Advocate,
        Rung::RavingFan,
    ];

    /// The API and file spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::Suspect => "suspect",
            Self::Prospect => "prospect",
            Self::Shopper => "shopper",
            Self::Customer => "customer",
            Self::Client => "client",
            Self::Advocate => "advocate",
            Self::RavingFan => "raving_fan",
        }
    }

    /// Parse the API spelling.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }
}

impl std::fmt::Display for Rung {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a paying relationship is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Buying as usual, or never paid.
    Active,
    /// Quiet for longer than usual, or unlikely to be alive by the CLV model.
    AtRisk,
    /// A year without a paid order.
    Lapsed,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 3] = [Status::Active, Status::AtRisk, Status::Lapsed];

    /// The API spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::AtRisk => "at_risk",
            Self::Lapsed => "lapsed",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
