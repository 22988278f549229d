//! Planning's service functions, gathered for the routes, the CLI and startup.

pub use super::edit::{create, replace, schedule};
pub use super::upsert::{import, Change};
