//! A winner submits where their physical prize goes: once, for their own win, stored encrypted.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, DatabaseConnection, Set, SqlErr};

use super::model::{state_of, view, AddressInput, Fulfilment, FulfilmentError, Reader, SUBMITTED};
use crate::entities::prize_deliveries;
use crate::lottery::service::{self as lottery, PrizeKind};
use crate::users::phone::PhoneCipher;

/// Records the address of the caller's physical prize won in `draw_id`. A second submission, another
/// customer's win or a prize that is not physical is refused and changes nothing.
pub async fn submit_address(
    db: &DatabaseConnection,
    cipher: &PhoneCipher,
    user_id: i64,
    draw_id: i64,
    input: &AddressInput,
    now: DateTime<Utc>,
) -> Result<Fulfilment, FulfilmentError> {
    let address = input.checked()?;
    let txn = crate::db::begin_write(db).await?;
    // Another customer's win answers as no win at all: ids reveal nothing.
    let win = lottery::win(&txn, draw_id, Some(user_id))
        .await?
        .ok_or(FulfilmentError::PrizeNotFound)?;
    if win.prize.kind != PrizeKind::Physical.as_str() {
        return Err(FulfilmentError::NotPhysical);
    }
    let inserted = prize_deliveries::ActiveModel {
        draw_id: Set(draw_id),
        user_id: Set(user_id),
        recipient_enc: Set(cipher.encrypt(&address.recipient)),
        phone_enc: Set(cipher.encrypt(&address.phone)),
        address_enc: Set(cipher.encrypt(&address.address)),
        status: Set(SUBMITTED.to_owned()),
        submitted_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let delivery = match inserted {
        Ok(delivery) => delivery,
        // The unique draw id: a second submission, however it raced the first.
        Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(FulfilmentError::AddressAlreadySubmitted)
        }
        Err(error) => return Err(error.into()),
    };
    txn.commit().await?;
    Ok(Fulfilment {
        state: state_of(&win, Some(&delivery)),
        delivery: Some(view(cipher, &delivery, Reader::Winner)?),
    })
}
