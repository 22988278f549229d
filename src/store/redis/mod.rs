//! The Redis backend: each operation is one command or one Lua script, so it is atomic across every instance.

mod credentials;
mod draws;
mod health;
mod idempotency;
mod locks;
mod pause;
mod quizzes;
mod rate_limits;
mod teams;
mod work_queues;

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{AsyncCommands, Cmd, Pipeline, RedisFuture, Script, Value};

use super::lottery::{self, DrawOutcome, DrawSpec, Won};
use super::quiz::{
    AnswerOutcome, AnswerRecord, AnswerSpec, Answered, AttemptView, BoardEntry, BoardPage,
    NewAttempt,
};
use super::teams::{JoinOutcome, JoinSpec, TeamSeats};
use super::{
    Credentials, Health, Idempotency, Locks, LotteryStore, PauseFlags, QuizStore, RateLimits,
    TeamStore,
};
use super::{IdempotencyBegin, Keys, LockToken, RateDecision, StoreError};
use crate::config::RateLimitRule;

struct Scripts {
    rate_limit: Script,
    compare_and_delete: Script,
    idempotency_begin: Script,
    idempotency_complete: Script,
    idempotency_abandon: Script,
    draw: Script,
    undo_draw: Script,
    raise_counters: Script,
    hydrate: Script,
    add_chances: Script,
    quiz_answer: Script,
    quiz_view: Script,
    board_submit: Script,
    board_page: Script,
    join_team: Script,
    hydrate_team: Script,
    forget_team: Script,
}

impl Scripts {
    fn load() -> Self {
        Self {
            rate_limit: Script::new(include_str!("rate_limit.lua")),
            compare_and_delete: Script::new(include_str!("compare_and_delete.lua")),
            idempotency_begin: Script::new(include_str!("idempotency_begin.lua")),
            idempotency_complete: Script::new(include_str!("idempotency_complete.lua")),
            idempotency_abandon: Script::new(include_str!("idempotency_abandon.lua")),
            draw: Script::new(include_str!("draw.lua")),
            undo_draw: Script::new(include_str!("undo_draw.lua")),
            raise_counters: Script::new(include_str!("raise_counters.lua")),
            hydrate: Script::new(include_str!("hydrate.lua")),
            add_chances: Script::new(include_str!("add_chances.lua")),
            quiz_answer: Script::new(include_str!("quiz_answer.lua")),
            quiz_view: Script::new(include_str!("quiz_view.lua")),
            board_submit: Script::new(include_str!("board_submit.lua")),
            board_page: Script::new(include_str!("board_page.lua")),
            join_team: Script::new(include_str!("join_team.lua")),
            hydrate_team: Script::new(include_str!("hydrate_team.lua")),
            forget_team: Script::new(include_str!("forget_team.lua")),
        }
    }
}

pub struct RedisStore {
    keys: Keys,
    connection: Connection,
    scripts: Scripts,
}

/// One Redis server, or a Redis Cluster. Every command and script runs unchanged on either: the keys each one
/// uses together share a hash slot (`Keys`), so a cluster routes it whole to one node.
#[derive(Clone)]
enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(connection) => connection.req_packed_command(cmd),
            Self::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(connection) => connection.req_packed_commands(pipeline, offset, count),
            Self::Cluster(connection) => connection.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(connection) => connection.get_db(),
            Self::Cluster(connection) => connection.get_db(),
        }
    }
}

/// `redis+cluster://[user:password@]host:port[,host:port...]` names a cluster by some of its nodes (the client
/// learns the rest); each becomes a `redis://` node address with the same credentials. `None` for any other URL.
fn cluster_nodes(url: &str) -> Option<Vec<String>> {
    let rest = url.strip_prefix("redis+cluster://")?;
    let rest = rest.trim_end_matches('/');
    let (credentials, hosts) = match rest.rsplit_once('@') {
        Some((credentials, hosts)) => (format!("{credentials}@"), hosts),
        None => (String::new(), rest),
    };
    let nodes: Vec<String> = hosts
        .split(',')
        .map(str::trim)
        .filter(|host| !host.is_empty())
        .map(|host| format!("redis://{credentials}{host}"))
        .collect();
    Some(nodes)
}

fn unavailable(error: redis::RedisError) -> StoreError {
    StoreError::Unavailable(error.into())
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// How long Redis may take before a request gives up on it (`store.*` in the configuration).
#[derive(Debug, Clone, Copy)]
pub struct RedisTimeouts {
    pub connect: Duration,
    pub response: Duration,
    pub retries: usize,
}

impl Default for RedisTimeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(2),
            response: Duration::from_secs(2),
            retries: 2,
        }
    }
}

impl RedisStore {
    pub async fn connect(url: &str, key_prefix: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, key_prefix, RedisTimeouts::default()).await
    }

    pub async fn connect_with(
        url: &str,
        key_prefix: &str,
        timeouts: RedisTimeouts,
    ) -> Result<Self, StoreError> {
        let connection = match cluster_nodes(url) {
            Some(nodes) => Connection::Cluster(connect_cluster(nodes, timeouts).await?),
            None => Connection::Single(connect_single(url, timeouts).await?),
        };
        Ok(Self {
            keys: Keys::new(key_prefix),
            connection,
            scripts: Scripts::load(),
        })
    }

    fn conn(&self) -> Connection {
        self.connection.clone()
    }
}

async fn connect_single(
    url: &str,
    timeouts: RedisTimeouts,
) -> Result<ConnectionManager, StoreError> {
    let client = redis::Client::open(url).map_err(unavailable)?;
    // Fail fast: a request must not hang for the manager's default ten seconds of reconnect attempts.
    let config = ConnectionManagerConfig::new()
        .set_number_of_retries(timeouts.retries)
        .set_max_delay(Duration::from_millis(500))
        .set_connection_timeout(Some(timeouts.connect))
        .set_response_timeout(Some(timeouts.response));
    ConnectionManager::new_with_config(client, config)
        .await
        .map_err(unavailable)
}

async fn connect_cluster(
    nodes: Vec<String>,
    timeouts: RedisTimeouts,
) -> Result<ClusterConnection, StoreError> {
    if nodes.is_empty() {
        return Err(StoreError::Protocol(
            "redis+cluster:// names no node".into(),
        ));
    }
    // The same fail-fast bounds as one server: each attempt and the whole request (redirects included).
    let client = ClusterClientBuilder::new(nodes)
        .retries(u32::try_from(timeouts.retries).unwrap_or(u32::MAX))
        .max_retry_wait(500)
        .connection_timeout(timeouts.connect)
        .response_timeout(timeouts.response)
        .build()
        .map_err(unavailable)?;
    client.get_async_connection().await.map_err(unavailable)
}

#[cfg(test)]
mod tests {
    use super::cluster_nodes;

    #[test]
    fn a_cluster_url_lists_its_nodes_with_their_credentials() {
        assert_eq!(
            cluster_nodes("redis+cluster://127.0.0.1:7001,127.0.0.1:7002/"),
            Some(vec![
                "redis://127.0.0.1:7001".to_owned(),
                "redis://127.0.0.1:7002".to_owned()
            ])
        );
        assert_eq!(
            cluster_nodes("redis+cluster://app:s3cret@10.0.0.1:6379"),
            Some(vec!["redis://app:s3cret@10.0.0.1:6379".to_owned()])
        );
        assert_eq!(cluster_nodes("redis+cluster://"), Some(vec![]));
        assert_eq!(cluster_nodes("redis://127.0.0.1:6379"), None);
    }
}
