//! Staff roles: what each may do.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Operator,
    CommunityManager,
    Auditor,
    /// Delivers physical prizes: the role that sees winners' full addresses (in the export; admin holds every role).
    Fulfilment,
    Admin,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::CommunityManager => "community_manager",
            Role::Auditor => "auditor",
            Role::Fulfilment => "fulfilment",
            Role::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            Role::Operator,
            Role::CommunityManager,
            Role::Auditor,
            Role::Fulfilment,
            Role::Admin,
        ]
        .into_iter()
        .find(|role| role.as_str() == value)
    }

    /// Admin may do what every role may; the others only their own.
    pub fn allows(&self, required: Role) -> bool {
        *self == Role::Admin || *self == required
    }
}
