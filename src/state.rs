use std::sync::Arc;

use ipnet::IpNet;
use sea_orm::DatabaseConnection;

use crate::clock::SharedClock;
use crate::config::Settings;
use crate::store::SharedStore;
use crate::wechat::client::WeChatClient;

/// What every handler can reach, all of it from below the domains (so any domain may use it). Cheap to clone:
/// everything inside is shared. What only one area needs (token keys, the phone cipher, the official account's
/// callback keys, metrics) is registered beside it on its own and extracted where used.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub store: SharedStore,
    pub settings: Arc<Settings>,
    pub trusted_proxies: Arc<Vec<IpNet>>,
    pub wechat: Arc<WeChatClient>,
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
