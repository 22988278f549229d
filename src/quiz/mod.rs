//! Quiz games (闯关答题): question banks and their import (`bank`), levels (`levels`), and play, one use case a
//! file: attempts, server-timed answers, finishing with rewards, progress and the campaign leaderboard
//! (`service` gathers them for the routes).

mod answers;
mod attempts;
pub mod bank;
mod board;
mod finish;
pub mod levels;
mod model;
mod progress;
pub mod routes;
pub mod service;
