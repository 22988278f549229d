//! Quiz games (闯关答题). So far: question banks and their import. Levels, attempts and leaderboards follow.

pub mod bank;
pub mod routes;
