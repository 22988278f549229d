//! Quiz games (闯关答题): question banks and their import (`bank`), levels (`levels`), and play: attempts,
//! server-timed answers, rewards and the campaign leaderboard (`service`).

pub mod bank;
pub mod levels;
pub mod routes;
pub mod service;
