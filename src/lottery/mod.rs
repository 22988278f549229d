//! Lotteries and blind boxes: prize pools with published odds, draw chances, and the draw (one atomic store
//! step, then the durable record and its grant in one transaction, compensated in the store if that fails).
//! One use case a file; `service` gathers what other domains and the routes call.

mod chances;
mod draw;
mod guard;
mod model;
mod pools;
mod rebuild;
mod reconcile;
pub mod routes;
pub mod service;
mod wins;
