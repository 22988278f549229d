//! The yearly calendar: campaigns and their activities, the lifecycle by time, the pause switch, and the
//! calendar file operators plan the year in.

pub mod calendar;
pub mod lifecycle;
pub mod model;
pub mod routes;
pub mod service;
