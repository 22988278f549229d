//! What the official account's followers touch: the callback (verified, deduplicated, recorded, then dispatched
//! to handlers and operator-configured auto-replies), the H5 pages' OAuth login and their JS-SDK signature.

pub mod auto_reply;
pub mod callback;
pub mod dispatch;
pub mod inbox;
pub mod jssdk;
pub mod oauth;
pub mod routes;
