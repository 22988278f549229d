use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Asia::Shanghai;
use futures_util::future::BoxFuture;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::campaigns::{lifecycle, service as campaigns};
use crate::entities::job_runs;
use crate::state::AppState;

/// A firing lock outlives any job body; the database row is what finally decides.
const FIRING_LOCK_TTL: Duration = Duration::from_secs(300);
/// At most this many missed firings of one job are caught up per pass; the rest follow on the next passes.
const CATCH_UP_PER_PASS: usize = 100;

type JobBody = for<'a> fn(&'a AppState, DateTime<Utc>) -> BoxFuture<'a, anyhow::Result<()>>;

/// A job on a cron schedule (with a seconds field), read in Asia/Shanghai.
struct CronJob {
    name: &'static str,
    schedule: &'static str,
    run: JobBody,
}

fn sync_pause_flags(state: &AppState, _: DateTime<Utc>) -> BoxFuture<'_, anyhow::Result<()>> {
    Box::pin(async move {
        campaigns::sync_pause_flags(&state.db, state.store.as_ref()).await?;
        Ok(())
    })
}

fn reconcile_lottery(state: &AppState, at: DateTime<Utc>) -> BoxFuture<'_, anyhow::Result<()>> {
    Box::pin(async move {
        crate::lottery::service::reconcile_all(&state.db, state.store.as_ref(), at)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(())
    })
}

fn expire_coupons(state: &AppState, at: DateTime<Utc>) -> BoxFuture<'_, anyhow::Result<()>> {
    Box::pin(async move {
        crate::coupons::service::expire(&state.db, at)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(())
    })
}

fn settle_teams(state: &AppState, at: DateTime<Utc>) -> BoxFuture<'_, anyhow::Result<()>> {
    Box::pin(async move {
        let cx = crate::state::Context {
            now: at,
            ..state.context()
        };
        let settled = crate::teams::service::settle_teams(cx)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if settled != Default::default() {
            tracing::info!(?settled, "teams settled");
        }
        Ok(())
    })
}

fn resolve_referrals(state: &AppState, at: DateTime<Utc>) -> BoxFuture<'_, anyhow::Result<()>> {
    Box::pin(async move {
        let cx = crate::state::Context {
            now: at,
            ..state.context()
        };
        let resolved = crate::referrals::service::resolve_follows(cx, &state.wechat)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if resolved != Default::default() {
            tracing::info!(?resolved, "invite follows resolved");
        }
        Ok(())
    })
}

fn settle_tasks(state: &AppState, at: DateTime<Utc>) -> BoxFuture<'_, anyhow::Result<()>> {
    Box::pin(async move {
        let cx = crate::state::Context {
            now: at,
            ..state.context()
        };
        let settled = crate::tasks::service::settle_pending(cx)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if settled != Default::default() {
            tracing::info!(?settled, "tasks settled");
        }
        Ok(())
    })
}

fn purge_behaviour(state: &AppState, at: DateTime<Utc>) -> BoxFuture<'_, anyhow::Result<()>> {
    Box::pin(async move {
        let purged = crate::behaviour::purge(&state.db, &state.settings.behaviour, at).await?;
        if purged > 0 {
            tracing::info!(purged, "behaviour events past their retention deleted");
        }
        Ok(())
    })
}

/// What the push jobs deliver with, at the firing's time.
fn delivering(state: &AppState, at: DateTime<Utc>) -> crate::push::Delivering<'_> {
    crate::push::Delivering {
        db: &state.db,
        store: state.store.as_ref(),
        wechat: &state.wechat,
        settings: &state.settings.push,
        now: at,
    }
}

fn release_pushes(state: &AppState, at: DateTime<Utc>) -> BoxFuture<'_, anyhow::Result<()>> {
    Box::pin(async move {
        let cx = delivering(state, at);
        let released = crate::push::release(cx, &state.settings)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if released != Default::default() {
            tracing::info!(?released, "push deliveries released");
        }
        Ok(())
    })
}

fn run_journeys(state: &AppState, at: DateTime<Utc>) -> BoxFuture<'_, anyhow::Result<()>> {
    Box::pin(async move {
        let cx = delivering(state, at);
        let ran = crate::journeys::run(cx, &state.settings)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if ran.fired > 0 {
            tracing::info!(?ran, "journeys fired");
        }
        Ok(())
    })
}

/// The periodic jobs. Later domains add theirs here (triggered pushes).
const CRON_JOBS: &[CronJob] = &[
    CronJob {
        name: "campaigns.sync_pause_flags",
        // Every minute: a flushed or restarted store gets its circuit breakers back from the database.
        schedule: "0 * * * * *",
        run: sync_pause_flags,
    },
    CronJob {
        name: "lottery.reconcile",
        // Every five minutes: stock, chance and quota counters rebuilt from the draw records.
        schedule: "0 */5 * * * *",
        run: reconcile_lottery,
    },
    CronJob {
        name: "coupons.expire",
        // Every hour, on the hour (Asia/Shanghai).
        schedule: "0 0 * * * *",
        run: expire_coupons,
    },
    CronJob {
        name: "referrals.resolve",
        // Every ten seconds: a follow through an invite code is credited seconds after it, to the person.
        schedule: "*/10 * * * * *",
        run: resolve_referrals,
    },
    CronJob {
        name: "teams.settle",
        // Every minute: full teams whose members have all played complete, and teams past their window expire.
        schedule: "30 * * * * *",
        run: settle_teams,
    },
    CronJob {
        name: "tasks.settle",
        // Every ten seconds: what other domains record (a level passed, a coupon used) pays its tasks seconds
        // later, on whichever instance fires.
        schedule: "5/10 * * * * *",
        run: settle_tasks,
    },
    CronJob {
        name: "behaviour.purge",
        // Daily at 03:30 (Asia/Shanghai), a quiet hour: page views past `behaviour.retention_days` go.
        schedule: "0 30 3 * * *",
        run: purge_behaviour,
    },
    CronJob {
        name: "push.release",
        // Every five seconds: held deliveries whose time came, scheduled pushes due, pushes done.
        schedule: "*/5 * * * * *",
        run: release_pushes,
    },
    CronJob {
        name: "journeys.run",
        // Every minute: each journey that is on finds who its trigger reaches now.
        schedule: "15 * * * * *",
        run: run_journeys,
    },
];

pub struct Scheduler {
    state: AppState,
    instance: String,
}

impl Scheduler {
    pub fn new(state: AppState) -> Self {
        Self {
            state,
            instance: format!(
                "{}-{}",
                std::process::id(),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
        }
    }

    /// Fires everything due at the clock's now that nobody has fired yet; returns the firings this instance ran.
    pub async fn run_due(&self) -> anyhow::Result<Vec<String>> {
        let now = self.state.clock.now();
        let mut fired = Vec::new();
        for transition in lifecycle::due_transitions(&self.state.db, now).await? {
            let name = transition.job_name();
            let db = &self.state.db;
            if self
                .fire(&name, transition.at, || {
                    Box::pin(lifecycle::apply(db, &transition))
                })
                .await?
            {
                fired.push(format!("{name}@{}", transition.at.to_rfc3339()));
            }
        }
        for job in CRON_JOBS {
            for at in self.due_firings(job, now).await? {
                let state = &self.state;
                if self.fire(job.name, at, || (job.run)(state, at)).await? {
                    fired.push(format!("{}@{}", job.name, at.to_rfc3339()));
                }
            }
        }
        Ok(fired)
    }

    /// The job's firings from its last recorded one up to now (only the latest, for a job that never ran).
    async fn due_firings(
        &self,
        job: &CronJob,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<DateTime<Utc>>> {
        let schedule = cron::Schedule::from_str(job.schedule)?;
        let last = job_runs::Entity::find()
            .filter(job_runs::Column::Job.eq(job.name))
            .order_by_desc(job_runs::Column::ScheduledFor)
            .one(&self.state.db)
            .await?
            .map(|run| run.scheduled_for);
        let Some(last) = last else {
            let latest = schedule
                .after(&(now - chrono::Duration::days(7)).with_timezone(&Shanghai))
                .take_while(|t| t.with_timezone(&Utc) <= now)
                .last();
            return Ok(latest.map(|t| t.with_timezone(&Utc)).into_iter().collect());
        };
        Ok(schedule
            .after(&last.with_timezone(&Shanghai))
            .map(|t| t.with_timezone(&Utc))
            .take_while(|t| *t <= now)
            .take(CATCH_UP_PER_PASS)
            .collect())
    }

    /// Runs `body` for (`job`, `at`) unless another instance holds or has recorded that firing.
    async fn fire<'a, F>(&self, job: &str, at: DateTime<Utc>, body: F) -> anyhow::Result<bool>
    where
        F: FnOnce() -> BoxFuture<'a, anyhow::Result<()>>,
    {
        let lock_name = format!("job:{job}:{}", at.timestamp());
        let Some(lock) = self.state.store.lock(&lock_name, FIRING_LOCK_TTL).await? else {
            return Ok(false);
        };
        let outcome = self.record_and_run(job, at, body).await;
        self.state.store.unlock(&lock_name, &lock).await?;
        outcome
    }

    async fn record_and_run<'a, F>(
        &self,
        job: &str,
        at: DateTime<Utc>,
        body: F,
    ) -> anyhow::Result<bool>
    where
        F: FnOnce() -> BoxFuture<'a, anyhow::Result<()>>,
    {
        let row = job_runs::ActiveModel {
            job: Set(job.to_owned()),
            scheduled_for: Set(at),
            status: Set("running".into()),
            instance: Set(self.instance.clone()),
            started_at: Set(Utc::now()),
            ..Default::default()
        };
        let inserted = job_runs::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([job_runs::Column::Job, job_runs::Column::ScheduledFor])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&self.state.db)
            .await?;
        if inserted == 0 {
            return Ok(false);
        }
        let result = body().await;
        let run = job_runs::Entity::find()
            .filter(job_runs::Column::Job.eq(job))
            .filter(job_runs::Column::ScheduledFor.eq(at))
            .one(&self.state.db)
            .await?
            .ok_or_else(|| anyhow::anyhow!("job run vanished"))?;
        let mut run: job_runs::ActiveModel = run.into();
        run.finished_at = Set(Some(Utc::now()));
        match &result {
            Ok(()) => run.status = Set("succeeded".into()),
            Err(error) => {
                tracing::error!(job, ?error, "scheduled job failed");
                run.status = Set("failed".into());
                run.error = Set(Some(format!("{error:#}")));
            }
        }
        run.update(&self.state.db).await?;
        Ok(true)
    }
}

/// Runs the scheduler on this instance: a pass every second, for as long as the process lives.
pub fn spawn(state: AppState) {
    let scheduler = Scheduler::new(state);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            match scheduler.run_due().await {
                Ok(fired) if !fired.is_empty() => tracing::info!(?fired, "scheduled jobs fired"),
                Ok(_) => {}
                Err(error) => tracing::error!(?error, "scheduler pass failed"),
            }
        }
    });
}
