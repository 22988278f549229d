//! Tasks, check-ins and plans (the monthly light interactions and the 7-day new-customer plan): a task
//! activity lists typed tasks (check in, pass a quiz level, read content, make a poster, complete a team, bring
//! in a friend, bind a phone, use a coupon, fill in a form, upload an image for review); progress is counted
//! from the outbox of what customers did, and each finished task, activity and plan pays once through
//! `rewards`.

mod check_in;
mod content;
mod forms;
mod lookup;
mod model;
mod progress;
mod reminders;
pub mod routes;
pub mod service;
mod settle;
mod uploads;
mod view;
