//! The campaign's leaderboard, rebuilt from the database when the store has lost it.

use std::collections::{BTreeMap, HashMap};

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;

use super::model::{load, status, QuizError, MAX_BOARD_TOP, REBUILD_LOCK_TTL};
use crate::audit::{self, Actor};
use crate::entities::{quiz_attempts, users};
use crate::store::quiz::{board_parts, board_value, BoardEntry};
use crate::store::StateStore;

/// Each user's leaderboard value from the database: the sum over levels of their best unflagged attempt (most
/// correct answers, then least time). For one user, or everyone in the campaign (a rebuild).
pub(super) async fn standings(
    db: &DatabaseConnection,
    campaign_id: i64,
    user_id: Option<i64>,
) -> Result<Vec<BoardEntry>, QuizError> {
    let mut query = quiz_attempts::Entity::find()
        .select_only()
        .column(quiz_attempts::Column::UserId)
        .column(quiz_attempts::Column::Level)
        .column(quiz_attempts::Column::Score)
        .column(quiz_attempts::Column::TotalMs)
        .filter(quiz_attempts::Column::CampaignId.eq(campaign_id))
        .filter(quiz_attempts::Column::Status.is_in([status::PASSED, status::FAILED]))
        .filter(quiz_attempts::Column::Flagged.eq(false));
    if let Some(user_id) = user_id {
        query = query.filter(quiz_attempts::Column::UserId.eq(user_id));
    }
    let rows: Vec<(i64, i32, Option<i32>, Option<i64>)> = query.into_tuple().all(db).await?;
    let mut best: BTreeMap<(i64, i32), (i64, i64)> = BTreeMap::new();
    for (user, level, score, total_ms) in rows {
        let candidate = (i64::from(score.unwrap_or(0)), total_ms.unwrap_or(0));
        best.entry((user, level))
            .and_modify(|b| {
                if (candidate.0, -candidate.1) > (b.0, -b.1) {
                    *b = candidate;
                }
            })
            .or_insert(candidate);
    }
    let mut totals: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for ((user, _), (score, ms)) in best {
        let total = totals.entry(user).or_default();
        total.0 += score;
        total.1 += ms;
    }
    Ok(totals
        .into_iter()
        .map(|(user_id, (score, ms))| BoardEntry {
            user_id,
            value: board_value(score, ms),
        })
        .collect())
}

/// Rebuilds a campaign's leaderboard in the store from the database.
/// Puts every standing of the campaign back into the store's board, marked complete.
async fn rebuild(
    db: &DatabaseConnection,
    store: &dyn StateStore,
    campaign_slug: &str,
) -> Result<usize, QuizError> {
    let quiz = load(db, campaign_slug).await?;
    let entries = standings(db, quiz.campaign.id, None).await?;
    store
        .board_submit(&quiz.campaign.slug, &entries, true)
        .await?;
    Ok(entries.len())
}

/// An operator's rebuild of the board from the database, audited.
pub async fn rebuild_board(
    db: &DatabaseConnection,
    store: &dyn StateStore,
    actor: &Actor,
    campaign_slug: &str,
) -> Result<usize, QuizError> {
    let entries = rebuild(db, store, campaign_slug).await?;
    let entry = audit::Entry::new(
        "quiz_leaderboard.rebuild",
        "campaign",
        campaign_slug.to_owned(),
    )
    .after(&serde_json::json!({ "entries": entries }));
    audit::record(db, actor, entry).await?;
    Ok(entries)
}

#[derive(Debug, Clone, Serialize)]
pub struct BoardRow {
    pub rank: u64,
    /// A masked phone number, or 微信用户 when none is bound.
    pub player: String,
    pub score: i64,
    pub total_ms: i64,
    pub you: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Leaderboard {
    pub top: Vec<BoardRow>,
    pub you: Option<BoardRow>,
}

pub async fn leaderboard(
    db: &DatabaseConnection,
    store: &dyn StateStore,
    user_id: i64,
    campaign_slug: &str,
    top: u32,
) -> Result<Leaderboard, QuizError> {
    let top = top.clamp(1, MAX_BOARD_TOP);
    let quiz = load(db, campaign_slug).await?;
    let mut page = store.board_page(&quiz.campaign.slug, top, user_id).await?;
    // One instance rebuilds a lost board; readers meanwhile see what the finishers have put back so far.
    let rebuild_lock = format!("quiz-board-rebuild:{}", quiz.campaign.slug);
    let lock = match page.built {
        true => None,
        false => store.lock(&rebuild_lock, REBUILD_LOCK_TTL).await?,
    };
    if let Some(token) = lock {
        let rebuilt = rebuild(db, store, &quiz.campaign.slug).await;
        store.unlock(&rebuild_lock, &token).await?;
        rebuilt?;
        page = store.board_page(&quiz.campaign.slug, top, user_id).await?;
    }
    let ids: Vec<i64> = page.top.iter().map(|e| e.user_id).collect();
    let players: HashMap<i64, Option<String>> = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .column(users::Column::PhoneMasked)
        .filter(users::Column::Id.is_in(ids))
        .into_tuple()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let row = |rank: u64, user: i64, value: i64, player: Option<String>| {
        let (score, total_ms) = board_parts(value);
        BoardRow {
            rank,
            player: player.unwrap_or_else(|| "微信用户".into()),
            score,
            total_ms,
            you: user == user_id,
        }
    };
    let you = page.mine.map(|(rank, value)| {
        let mine = players.get(&user_id).cloned().flatten();
        row(rank, user_id, value, mine)
    });
    Ok(Leaderboard {
        top: page
            .top
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let player = players.get(&e.user_id).cloned().flatten();
                row(i as u64 + 1, e.user_id, e.value, player)
            })
            .collect(),
        you,
    })
}
