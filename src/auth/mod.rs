//! Authentication: our JWTs for customers and staff, the extractors that check them, and staff accounts.

mod error;
mod extractors;
mod jwt;
pub mod login;
pub mod routes;
pub mod staff;

pub use error::AuthError;
pub(crate) use extractors::{bearer_token, VerifiedClaims};
pub use extractors::{Customer, Staff, SESSION_COOKIE};
pub use jwt::{Claims, IssuedToken, JwtKeys, TokenKind};
pub use staff::Role;
