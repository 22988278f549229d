//! "My prizes": the caller's wins, newest first, each with where it stands.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::Serialize;

use super::model::{state_of, view, Fulfilment, FulfilmentError, Reader};
use crate::entities::prize_deliveries;
use crate::lottery::service::{self as lottery, Win};
use crate::users::phone::PhoneCipher;

/// A won prize and its fulfilment.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MyPrize {
    #[serde(flatten)]
    pub win: Win,
    pub fulfilment: Fulfilment,
}

/// "My prizes", newest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MyPrizes {
    pub prizes: Vec<MyPrize>,
}

/// The most prizes "my prizes" lists: a year of campaigns for a keen customer.
const MY_PRIZES_LIMIT: u64 = 200;

pub async fn my_prizes(
    db: &DatabaseConnection,
    cipher: &PhoneCipher,
    user_id: i64,
) -> Result<MyPrizes, FulfilmentError> {
    let wins = lottery::wins(db, user_id, MY_PRIZES_LIMIT).await?;
    let deliveries = deliveries_of(db, &wins).await?;
    let prizes = wins
        .into_iter()
        .map(|win| {
            let delivery = deliveries.get(&win.draw_id);
            Ok(MyPrize {
                fulfilment: Fulfilment {
                    state: state_of(&win, delivery),
                    delivery: delivery
                        .map(|d| view(cipher, d, Reader::Winner))
                        .transpose()?,
                },
                win,
            })
        })
        .collect::<Result<_, FulfilmentError>>()?;
    Ok(MyPrizes { prizes })
}

/// The delivery rows of these wins, by draw id.
pub(super) async fn deliveries_of(
    db: &DatabaseConnection,
    wins: &[Win],
) -> Result<HashMap<i64, prize_deliveries::Model>, FulfilmentError> {
    if wins.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(prize_deliveries::Entity::find()
        .filter(prize_deliveries::Column::DrawId.is_in(wins.iter().map(|w| w.draw_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|d| (d.draw_id, d))
        .collect())
}
