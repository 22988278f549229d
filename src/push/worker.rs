//! The delivery workers of one instance: each takes queue messages (first any a stopped worker left), delivers
//! them and acks them, for as long as the process lives.

use std::time::Duration;

use super::deliver::{work, Delivering};
use crate::state::AppState;

/// Queue messages a worker takes at a time.
const MESSAGES_PER_PASS: usize = 5;

/// Starts `push.workers` workers on this instance.
pub fn spawn(state: AppState) {
    let instance = &uuid::Uuid::new_v4().simple().to_string()[..8];
    for n in 0..state.settings.push.workers {
        let state = state.clone();
        let consumer = format!("{}-{instance}-{n}", std::process::id());
        tokio::spawn(async move {
            loop {
                let cx = Delivering {
                    db: &state.db,
                    store: state.store.as_ref(),
                    wechat: &state.wechat,
                    settings: &state.settings.push,
                    now: state.clock.now(),
                };
                match work(cx, &consumer, MESSAGES_PER_PASS, None).await {
                    Ok(pass) if pass.messages > 0 => continue,
                    Ok(_) => tokio::time::sleep(Duration::from_millis(500)).await,
                    Err(error) => {
                        tracing::error!(?error, consumer, "push delivery pass failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
    }
}
