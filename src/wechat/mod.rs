//! Everything that speaks WeChat's protocols: message crypto, XML, the official-account callback, the handlers
//! inbound messages are dispatched to, and operator-configured auto-replies.

mod api_error;
pub mod auto_reply;
pub mod callback;
pub mod client;
pub mod crypto;
pub mod dispatch;
pub mod jssdk;
pub mod message;
pub mod mini_program;
pub mod oauth;
pub mod official_account;
pub mod routes;
pub mod xml;
