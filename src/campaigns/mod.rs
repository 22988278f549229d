//! The yearly calendar: campaigns and their activities, the lifecycle by time, the pause switch, and the
//! calendar file operators plan the year in.

pub mod gate;
pub mod import;
pub mod lifecycle;
pub mod routes;
pub mod service;
