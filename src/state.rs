use std::sync::Arc;

use ipnet::IpNet;
use sea_orm::DatabaseConnection;

use crate::auth::JwtKeys;
use crate::config::Settings;
use crate::http::Metrics;
use crate::jobs::clock::SharedClock;
use crate::store::SharedStore;
use crate::users::phone::PhoneCipher;
use crate::wechat::callback::OfficialAccount;
use crate::wechat::client::WeChatClient;

/// What every handler can reach. Cheap to clone: everything inside is shared.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub store: SharedStore,
    pub settings: Arc<Settings>,
    pub jwt: Arc<JwtKeys>,
    pub metrics: Arc<Metrics>,
    pub trusted_proxies: Arc<Vec<IpNet>>,
    pub official_account: Arc<OfficialAccount>,
    pub wechat: Arc<WeChatClient>,
    pub phone_cipher: PhoneCipher,
    /// The calendar's and the scheduler's time.
    pub clock: SharedClock,
}
