//! Referrals' public service functions, for the routes, the logins and the official account's callback.

pub use super::codes::{invite_qr, InviteQr};
pub use super::credit::{credit, Credited};
pub use super::first_login::{credit_first_login, CreditInvitedLogins};
pub use super::model::{Channel, ReferralConfig, ReferralError, SCENE_PREFIX};
pub use super::progress::{progress, ActivityProgress, ReferralProgress};
pub use super::resolve::{queue_follow, resolve_follows, Resolved};
