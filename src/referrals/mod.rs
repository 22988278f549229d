//! Referrals (老带新): each customer has an invite code; a new customer who first logs in through a shared
//! mini-program path, or first follows the official account through the inviter's QR code, counts for that
//! inviter once, ever (a follow is credited to the person behind it, once WeChat named its unionid). Friends credited while a referral activity is open count toward its milestone, which pays
//! the inviter once (the Q3 blind box's chances).

mod codes;
mod credit;
mod first_login;
mod model;
mod progress;
mod resolve;
pub mod routes;
pub mod service;
