//! Who is asking: our JWTs for customers and staff, the extractors that check them (and the account's standing),
//! staff roles, the actor of an audited change, and the rate limits keyed by caller. Below every domain.

mod actor;
mod error;
mod extractors;
mod jwt;
pub mod rate_limit;
mod role;
mod standing;

pub use actor::Actor;
pub use error::AuthError;
pub(crate) use extractors::{bearer_token, VerifiedClaims};
pub use extractors::{Customer, Staff, SESSION_COOKIE};
pub use jwt::{Claims, IssuedToken, JwtKeys, TokenKind};
pub use rate_limit::{address_of, enforce, limit_customers, limit_h5, limit_staff, spend};
pub use role::Role;
pub use standing::{standing, Standing, StandingCache, ACTIVE_STANDING_TTL};
