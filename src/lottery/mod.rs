//! Lotteries and blind boxes: prize pools with published odds, draw chances, and the draw (one atomic store
//! step, then the durable record and its grant in one transaction, compensated in the store if that fails).

pub mod routes;
pub mod service;
