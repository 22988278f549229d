//! Share posters (分享海报): a customer makes a card of a poster activity (a wish, a plan), whose text passes
//! WeChat's content check; the PNG is drawn server-side with the bundled font and a QR code (the card's own
//! share page, or the maker's official-account invite code), once per content. Making a card may pay a reward
//! once a day; sharing it never does.

mod make;
mod model;
pub mod render;
pub mod routes;
pub mod service;
mod view;
