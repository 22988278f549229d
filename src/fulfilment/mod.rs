//! Won prizes after the draw: "my prizes" with each prize's fulfilment state, the delivery address a winner of
//! a physical prize submits once (stored encrypted), and the fulfilment staff's list, export and shipping.
//! One use case a file; `service` gathers what the routes call.

mod address;
mod mine;
mod model;
pub mod routes;
pub mod service;
mod shipping;
