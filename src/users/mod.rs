//! Customers: one row per person across the mini-program and the official account.

mod activity;
pub mod attributes;
pub mod crm;
pub mod login;
pub mod phone;
mod reach;
pub mod routes;
pub mod service;
