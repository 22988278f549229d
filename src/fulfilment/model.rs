//! What a delivery is made of, its checks, its states, how staff see it masked, and the domain's errors.

use chrono::{DateTime, Utc};
use sea_orm::DbErr;
use serde::{Deserialize, Serialize};

use crate::entities::prize_deliveries;
use crate::error::{AppError, ErrorCode};
use crate::lottery::service::{LotteryError, PrizeKind, Win};
use crate::users::phone::{PhoneCipher, PhoneDecryptError};

#[derive(Debug, thiserror::Error)]
pub enum FulfilmentError {
    #[error("no such prize of yours")]
    PrizeNotFound,
    #[error("this prize is not delivered by post: it needs no address")]
    NotPhysical,
    #[error("{message}")]
    InvalidAddress {
        field: &'static str,
        message: &'static str,
    },
    #[error("the address for this prize has been submitted already")]
    AddressAlreadySubmitted,
    #[error("no delivery with this id")]
    DeliveryNotFound,
    #[error("{0}")]
    InvalidShipment(&'static str),
    #[error("this delivery has been shipped already")]
    AlreadyShipped,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<DbErr> for FulfilmentError {
    fn from(error: DbErr) -> Self {
        FulfilmentError::Unexpected(error.into())
    }
}

impl From<LotteryError> for FulfilmentError {
    fn from(error: LotteryError) -> Self {
        FulfilmentError::Unexpected(error.into())
    }
}

impl From<PhoneDecryptError> for FulfilmentError {
    fn from(error: PhoneDecryptError) -> Self {
        FulfilmentError::Unexpected(error.into())
    }
}

impl From<FulfilmentError> for AppError {
    fn from(error: FulfilmentError) -> Self {
        let message = error.to_string();
        match error {
            FulfilmentError::PrizeNotFound => AppError::new(ErrorCode::PrizeNotFound, message),
            FulfilmentError::NotPhysical => AppError::new(ErrorCode::PrizeNotPhysical, message),
            FulfilmentError::InvalidAddress { field, .. } => {
                AppError::new(ErrorCode::InvalidAddress, message).with_field(field)
            }
            FulfilmentError::AddressAlreadySubmitted => {
                AppError::new(ErrorCode::AddressAlreadySubmitted, message)
            }
            FulfilmentError::DeliveryNotFound => {
                AppError::new(ErrorCode::DeliveryNotFound, message)
            }
            FulfilmentError::InvalidShipment(_) => {
                AppError::new(ErrorCode::InvalidShipment, message)
            }
            FulfilmentError::AlreadyShipped => AppError::new(ErrorCode::AlreadyShipped, message),
            FulfilmentError::Unexpected(e) => AppError::unexpected(e),
        }
    }
}

/// Where a won physical prize goes.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    /// The recipient's name.
    pub recipient: String,
    /// A mainland mobile number, 11 digits.
    pub phone: String,
    /// Province, city, district, street and house number, in one line.
    pub address: String,
}

/// An address with its fields trimmed and checked.
pub(super) struct CheckedAddress {
    pub recipient: String,
    pub phone: String,
    pub address: String,
}

impl AddressInput {
    pub(super) fn checked(&self) -> Result<CheckedAddress, FulfilmentError> {
        let invalid = |field, message| Err(FulfilmentError::InvalidAddress { field, message });
        let recipient = self.recipient.trim();
        if !(1..=30).contains(&recipient.chars().count()) || has_control(recipient) {
            return invalid("recipient", "recipient: 1 to 30 characters");
        }
        let phone = self.phone.trim();
        let mobile = phone.len() == 11
            && phone.starts_with('1')
            && phone.bytes().all(|b| b.is_ascii_digit())
            && !matches!(phone.as_bytes()[1], b'0'..=b'2');
        if !mobile {
            return invalid("phone", "phone: a mainland mobile number of 11 digits");
        }
        let address = self.address.trim();
        if !(5..=200).contains(&address.chars().count()) || has_control(address) {
            return invalid("address", "address: 5 to 200 characters on one line");
        }
        Ok(CheckedAddress {
            recipient: recipient.to_owned(),
            phone: phone.to_owned(),
            address: address.to_owned(),
        })
    }
}

/// Control characters, and the invisible ones that reorder or hide text on staff screens and in the export
/// (bidirectional overrides and isolates, zero-width characters, the byte-order mark).
fn has_control(text: &str) -> bool {
    text.chars().any(|c| {
        c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
    })
}

/// A shipment as fulfilment staff record it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipmentInput {
    /// The carrier, e.g. 顺丰速运.
    pub carrier: String,
    pub tracking_number: String,
}

impl ShipmentInput {
    pub(super) fn checked(&self) -> Result<(String, String), FulfilmentError> {
        let carrier = self.carrier.trim();
        if !(1..=32).contains(&carrier.chars().count()) || has_control(carrier) {
            return Err(FulfilmentError::InvalidShipment(
                "carrier: 1 to 32 characters",
            ));
        }
        let tracking = self.tracking_number.trim();
        let tracking_ok = (6..=40).contains(&tracking.len())
            && tracking
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !tracking_ok {
            return Err(FulfilmentError::InvalidShipment(
                "tracking_number: 6 to 40 letters, digits or '-'",
            ));
        }
        Ok((carrier.to_owned(), tracking.to_owned()))
    }
}

/// Where a prize stands after the draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FulfilmentState {
    /// Points: already in the customer's balance.
    Credited,
    /// A coupon: already in "my coupons".
    Issued,
    /// A coupon prize without a template: staff deliver it.
    Pending,
    /// A physical prize waiting for its winner's address.
    AwaitingAddress,
    /// The address is in; not shipped yet.
    AddressSubmitted,
    Shipped,
}

pub(super) const SUBMITTED: &str = "submitted";
pub(super) const SHIPPED: &str = "shipped";

/// A prize's state, from its kind and its delivery row (physical prizes only).
pub(super) fn state_of(win: &Win, delivery: Option<&prize_deliveries::Model>) -> FulfilmentState {
    if win.prize.kind == PrizeKind::Points.as_str() {
        return FulfilmentState::Credited;
    }
    if win.prize.kind == PrizeKind::Coupon.as_str() {
        return match win.prize.issues_coupon {
            true => FulfilmentState::Issued,
            false => FulfilmentState::Pending,
        };
    }
    match delivery.map(|d| d.status.as_str()) {
        None => FulfilmentState::AwaitingAddress,
        Some(SHIPPED) => FulfilmentState::Shipped,
        Some(_) => FulfilmentState::AddressSubmitted,
    }
}

/// A prize's fulfilment as its winner sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Fulfilment {
    pub state: FulfilmentState,
    /// For a physical prize with an address: where it goes and how it travels.
    pub delivery: Option<DeliveryView>,
}

/// A delivery: for its winner with the phone masked, masked throughout for staff (`recipient` 张*, `phone` 138****5678, `address` cut).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    pub delivery_id: i64,
    pub recipient: String,
    pub phone: String,
    pub address: String,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub submitted_at: DateTime<Utc>,
    pub shipped_at: Option<DateTime<Utc>>,
}

/// Who reads a delivery, and so how much of it they see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reader {
    /// The winner: their own name and address, the phone masked (it is on screens others may see).
    Winner,
    /// Staff listing deliveries: masked throughout.
    Staff,
    /// The fulfilment role's export, to print labels: in full.
    Fulfilment,
}

pub(super) fn view(
    cipher: &PhoneCipher,
    delivery: &prize_deliveries::Model,
    reader: Reader,
) -> Result<DeliveryView, FulfilmentError> {
    let recipient = cipher.decrypt(&delivery.recipient_enc)?;
    let phone = cipher.decrypt(&delivery.phone_enc)?;
    let address = cipher.decrypt(&delivery.address_enc)?;
    let (recipient, phone, address) = match reader {
        Reader::Fulfilment => (recipient, phone, address),
        Reader::Winner => (recipient, crate::telemetry::mask_phone(&phone), address),
        Reader::Staff => (
            mask_name(&recipient),
            crate::telemetry::mask_phone(&phone),
            mask_address(&address),
        ),
    };
    Ok(DeliveryView {
        delivery_id: delivery.id,
        recipient,
        phone,
        address,
        carrier: delivery.carrier.clone(),
        tracking_number: delivery.tracking_number.clone(),
        submitted_at: delivery.submitted_at,
        shipped_at: delivery.shipped_at,
    })
}

/// `张*`: the family name, for telling deliveries apart, not people.
pub(super) fn mask_name(name: &str) -> String {
    let first: String = name.chars().take(1).collect();
    format!("{first}*")
}

/// The first six characters (about province and city), and never more than half of a short address, then `****`.
pub(super) fn mask_address(address: &str) -> String {
    let shown = (address.chars().count() / 2).min(6);
    let head: String = address.chars().take(shown).collect();
    format!("{head}****")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(recipient: &str, phone: &str, address: &str) -> AddressInput {
        AddressInput {
            recipient: recipient.into(),
            phone: phone.into(),
            address: address.into(),
        }
    }

    #[test]
    fn an_address_is_trimmed_and_each_bad_field_is_named() {
        let good = address(" 张三 ", "13812345678", " 广东省深圳市南山区科技园路1号 ")
            .checked()
            .unwrap();
        assert_eq!(good.recipient, "张三");
        assert_eq!(good.address, "广东省深圳市南山区科技园路1号");
        let field = |input: AddressInput| match input.checked() {
            Err(FulfilmentError::InvalidAddress { field, .. }) => field,
            _ => "accepted",
        };
        assert_eq!(
            field(address("", "13812345678", "广东省深圳市南山区")),
            "recipient"
        );
        assert_eq!(
            field(address("张三", "12812345678", "广东省深圳市南山区")),
            "phone"
        );
        assert_eq!(
            field(address("张三", "1381234567", "广东省深圳市南山区")),
            "phone"
        );
        assert_eq!(field(address("张三", "13812345678", "深圳")), "address");
        assert_eq!(
            field(address("张三", "13812345678", "广东省\n深圳市南山区")),
            "address"
        );
        assert_eq!(
            field(address("张\u{202E}三", "13812345678", "广东省深圳市南山区")),
            "recipient",
            "an invisible reordering character"
        );
    }

    #[test]
    fn staff_see_names_and_addresses_cut() {
        assert_eq!(mask_name("张三丰"), "张*");
        assert_eq!(
            mask_address("广东省深圳市南山区科技园路1号"),
            "广东省深圳市****"
        );
        assert_eq!(mask_address("北京市朝阳区"), "北京市****", "at most half");
    }
}
