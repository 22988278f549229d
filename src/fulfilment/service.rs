//! The fulfilment domain's public service functions, gathered from their use-case files.

pub use super::address::submit_address;
pub use super::mine::{my_prizes, MyPrize, MyPrizes};
pub use super::model::{
    AddressInput, DeliveryView, Fulfilment, FulfilmentError, FulfilmentState, ShipmentInput,
};
pub use super::shipping::{
    export_csv, list_deliveries, ship, DeliveryPage, DeliveryQuery, StaffDelivery,
};
