//! WeChat's protocols, below every domain: message crypto, XML and message types, and the client of WeChat's
//! APIs (tokens, mini-program and official-account calls). What our customers do with them lives above.

mod api_error;
pub mod client;
pub mod crypto;
pub mod message;
pub mod mini_program;
pub mod official_account;
pub mod xml;
