//! Customers: one row per person across the mini-program and the official account.

pub mod attributes;
pub mod crm;
pub mod login;
pub mod phone;
pub mod routes;
pub mod service;
