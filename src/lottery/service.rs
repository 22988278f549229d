//! The lottery's public service functions, gathered from their use-case files for the other domains and routes.

pub use super::chances::{buy_chances, chances_left, grant_chances, ChancesLeft};
pub use super::draw::{draw, draws, DrawResult};
pub use super::model::{
    validate, GuaranteeInput, LotteryError, PoolInput, PoolKind, PrizeInput, PrizeKind,
};
pub use super::pools::{create_pool, insert_pool, odds, LivePools, PoolOdds, PublishedPrize};
pub use super::reconcile::{reconcile_all, reconcile_pool};
pub use super::wins::{physical_wins, win, wins, wins_by_id, Win, WonPrize};
