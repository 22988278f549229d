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

/// What a use case reads and writes, and the time it happens at: a service takes this, not the whole state.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub db: &'a DatabaseConnection,
    pub store: &'a dyn crate::store::StateStore,
    pub now: chrono::DateTime<chrono::Utc>,
}

impl AppState {
    /// The database, the store and the clock's time now.
    pub fn context(&self) -> Context<'_> {
        Context {
            db: &self.db,
            store: self.store.as_ref(),
            now: self.clock.now(),
        }
    }

    pub fn store(&self) -> &dyn crate::store::StateStore {
        self.store.as_ref()
    }

    /// The time of the calendar and the scheduler (the injected clock).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}
