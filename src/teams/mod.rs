//! Team-ups: a customer makes a team of a team activity and shares its code; friends join until every seat is
//! taken; when every member has also done what the activity asks (a quiz level), each is rewarded once. An
//! unfilled team expires with its consolation. Seats are one atomic store step, and the database refuses a
//! seat beyond capacity whatever the store says.

mod create;
mod join;
mod model;
pub mod routes;
mod seats;
pub mod service;
mod settle;
mod view;
