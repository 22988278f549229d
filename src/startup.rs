use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use sea_orm::DatabaseConnection;

use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::{JwtKeys, StandingCache};
use crate::clock::{SharedClock, SystemClock};
use crate::config::Settings;
use crate::http::{self, Metrics};
use crate::official_account::callback::OfficialAccount;
use crate::official_account::inbox::InboxWriter;
use crate::state::AppState;
use crate::store::{self, SharedStore};
use crate::users::phone::PhoneCipher;
use crate::wechat::client::WeChatClient;
use crate::{
    audit, auth, behaviour, calculator, campaigns, coupons, db, fulfilment, jobs, journeys,
    lottery, official_account, planning, points, posters, push, quiz, referrals, segments, staff,
    tasks, teams, users,
};

pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
}

/// What only some handlers need, registered beside `AppState`.
#[derive(Clone)]
struct Registered {
    jwt: web::Data<JwtKeys>,
    metrics: web::Data<Metrics>,
    phone_cipher: web::Data<PhoneCipher>,
    official_account: web::Data<OfficialAccount>,
    inbox: web::Data<InboxWriter>,
    standing: web::Data<StandingCache>,
    live_pools: web::Data<lottery::service::LivePools>,
    invited_logins: web::Data<dyn users::service::InvitedLogins>,
    segment_users: web::Data<dyn segments::saved::SegmentUsers>,
}

impl Application {
    /// Connects the database (running migrations) and the store named in `settings`, then binds.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = db::connect(&settings.database).await?;
        db::migrate(&db).await?;
        let store = store::connect(&settings.store)
            .await
            .context("connecting to the state store (store.url)")?;
        if settings.demo.seed {
            seed_demo(&db, &settings).await?;
        }
        // The store may have been flushed while we were down: the circuit breakers come back from the database.
        campaigns::service::sync_pause_flags(&db, store.as_ref())
            .await
            .map_err(|e| anyhow::anyhow!("restoring pause flags: {e}"))?;
        let jobs_enabled = settings.jobs.enabled;
        let app = Self::build_with(settings, db, store, Arc::new(SystemClock)).await?;
        if jobs_enabled {
            jobs::spawn(app.state.clone());
        }
        push::worker::spawn(app.state.clone());
        Ok(app)
    }

    /// Binds on already-open connections: tests use it to run several instances on one database and store.
    pub async fn build_with(
        settings: Settings,
        db: DatabaseConnection,
        store: SharedStore,
        clock: SharedClock,
    ) -> anyhow::Result<Self> {
        let address = format!(
            "{}:{}",
            settings.application.host, settings.application.port
        );
        let listener = TcpListener::bind(&address).with_context(|| format!("binding {address}"))?;
        let port = listener.local_addr()?.port();
        let wechat = WeChatClient::new(&settings.wechat, store.clone()).context("wechat client")?;
        let registered = Registered {
            jwt: web::Data::new(JwtKeys::new(&settings.auth)),
            metrics: web::Data::new(Metrics::new()),
            phone_cipher: web::Data::new(PhoneCipher::new(&settings.auth.phone_encryption_secret)),
            official_account: web::Data::new(
                OfficialAccount::from_settings(&settings.wechat.official_account)
                    .context("wechat.official_account")?,
            ),
            inbox: web::Data::new(InboxWriter::spawn(
                db.clone(),
                settings.database.max_connections,
                clock.clone(),
                // Domains above the callback that read what WeChat reports.
                vec![Arc::new(push::reports::PushReports)],
            )),
            standing: web::Data::new(StandingCache::default()),
            live_pools: web::Data::new(lottery::service::LivePools::default()),
            invited_logins: web::Data::from(Arc::new(referrals::service::CreditInvitedLogins)
                as Arc<dyn users::service::InvitedLogins>),
            segment_users: web::Data::from(
                Arc::new(journeys::SegmentUse) as Arc<dyn segments::saved::SegmentUsers>
            ),
        };
        let state = AppState {
            db,
            store,
            wechat: Arc::new(wechat),
            clock,
            trusted_proxies: Arc::new(settings.trusted_proxies()?),
            settings: Arc::new(settings),
        };
        let server = run(listener, state.clone(), registered)?;
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGTERM/SIGINT, then lets in-flight requests finish (`application.shutdown_timeout_secs`).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    /// A handle to stop this instance from the outside (tests stopping one of several instances).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }
}

fn run(listener: TcpListener, state: AppState, registered: Registered) -> anyhow::Result<Server> {
    let shutdown_timeout = state.settings.application.shutdown_timeout_secs;
    let keep_alive = std::time::Duration::from_secs(state.settings.application.keep_alive_secs);
    let data = web::Data::new(state);
    let contract = crate::openapi::ApiDoc::openapi();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(registered.jwt.clone())
            .app_data(registered.metrics.clone())
            .app_data(registered.phone_cipher.clone())
            .app_data(registered.official_account.clone())
            .app_data(registered.inbox.clone())
            .app_data(registered.standing.clone())
            .app_data(registered.live_pools.clone())
            .app_data(registered.invited_logins.clone())
            .app_data(registered.segment_users.clone())
            .configure(http::extractor_configs)
            .configure(http::configure)
            .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", contract.clone()))
            .service(
                web::scope("/api/v1")
                    .wrap(from_fn(auth::limit_customers))
                    .configure(users::routes::configure)
                    .configure(official_account::routes::configure_customer)
                    .configure(campaigns::routes::configure_customer)
                    .configure(points::routes::configure_customer)
                    .configure(lottery::routes::configure_customer)
                    .configure(fulfilment::routes::configure_customer)
                    .configure(coupons::routes::configure_customer)
                    .configure(quiz::routes::configure_customer)
                    .configure(teams::routes::configure_customer)
                    .configure(referrals::routes::configure_customer)
                    .configure(calculator::routes::configure_customer)
                    .configure(posters::routes::configure_customer)
                    .configure(tasks::routes::configure_customer)
                    .configure(behaviour::routes::configure_customer)
                    .configure(push::routes::configure_customer),
            )
            .service(
                web::scope("/admin/v1")
                    .wrap(from_fn(auth::limit_staff))
                    .configure(staff::routes::configure)
                    .configure(audit::routes::configure)
                    .configure(users::routes::configure_staff)
                    .configure(official_account::routes::configure_admin)
                    .configure(campaigns::routes::configure_staff)
                    .configure(planning::routes::configure_staff)
                    .configure(points::routes::configure_staff)
                    .configure(lottery::routes::configure_staff)
                    .configure(fulfilment::routes::configure_staff)
                    .configure(coupons::routes::configure_staff)
                    .configure(quiz::routes::configure_staff)
                    .configure(tasks::routes::configure_staff)
                    .configure(segments::routes::configure_staff)
                    .configure(push::routes::configure_staff)
                    .configure(journeys::routes::configure_staff),
            )
            .service(web::scope("/wechat").configure(official_account::routes::configure_callback))
            .service(
                web::scope("/h5")
                    .wrap(from_fn(auth::limit_h5))
                    .configure(official_account::routes::configure_h5)
                    .configure(http::h5::configure),
            )
            .default_service(web::to(http::not_found))
            // Registered last, so it is the outermost layer and sees every request and response.
            .wrap(from_fn(http::observe))
    })
    .keep_alive(keep_alive)
    .listen(listener)?
    .shutdown_timeout(shutdown_timeout)
    .run();
    Ok(server)
}

/// The demo year: its question banks (each once), into an empty database its calendar, and its segments and
/// journeys (each once, journeys off).
pub async fn seed_demo(db: &DatabaseConnection, settings: &Settings) -> anyhow::Result<()> {
    let demo = &settings.demo;
    seed_demo_banks(db, &demo.quiz_banks_file).await?;
    seed_demo_calendar(db, &demo.calendar_file).await?;
    seed_demo_pushes(db, settings, &demo.pushes_file).await
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoPushes {
    segments: Vec<segments::SegmentInput>,
    journeys: Vec<journeys::JourneyInput>,
}

/// Saves each demo segment and journey the database does not have yet.
async fn seed_demo_pushes(
    db: &DatabaseConnection,
    settings: &Settings,
    file: &str,
) -> anyhow::Result<()> {
    let path = demo_file(file);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("demo segments and journeys: {}", path.display()))?;
    let demo: DemoPushes = toml::from_str(&text)
        .with_context(|| format!("demo segments and journeys: {}", path.display()))?;
    let actor = crate::audit::Actor {
        staff_id: None,
        label: "demo-seed".into(),
        request_id: None,
    };
    let now = chrono::Utc::now();
    let rules = segments::RuleContext::new(settings, now);
    // One that names what another calendar does not have (its campaign) is left out with a warning: the demo
    // still starts.
    for segment in &demo.segments {
        if segments::saved::find(db, &segment.slug).await.is_ok() {
            continue;
        }
        if let Err(error) = segments::saved::create(db, &actor, segment, &rules).await {
            tracing::warn!(segment = segment.slug, %error, "demo segment left out");
        }
    }
    for journey in &demo.journeys {
        if journeys::saved::find(db, &journey.slug).await.is_ok() {
            continue;
        }
        if let Err(error) = journeys::saved::create(db, settings, &actor, journey, now).await {
            tracing::warn!(journey = journey.slug, %error, "demo journey left out");
        }
    }
    Ok(())
}

/// A demo file, relative to the working directory or else to the crate (when run by cargo from elsewhere).
fn demo_file(file: &str) -> std::path::PathBuf {
    let path = std::path::PathBuf::from(file);
    if path.exists() {
        path
    } else {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file)
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoBanks {
    banks: Vec<DemoBank>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoBank {
    slug: String,
    name: String,
    /// A CSV file, relative to the list.
    file: String,
}

/// Imports each demo question bank the database does not have yet, so the demo quizzes can be played.
async fn seed_demo_banks(db: &DatabaseConnection, list_file: &str) -> anyhow::Result<()> {
    use crate::quiz::bank;
    let path = demo_file(list_file);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("demo question banks: {}", path.display()))?;
    let list: DemoBanks = toml::from_str(&text)
        .with_context(|| format!("demo question banks: {}", path.display()))?;
    let actor = crate::audit::Actor {
        staff_id: None,
        label: "demo-seed".into(),
        request_id: None,
    };
    for demo in list.banks {
        if bank::summary(db, &demo.slug).await.is_ok() {
            continue;
        }
        let file = path
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .join(&demo.file);
        let bytes = std::fs::read(&file).with_context(|| format!("{}", file.display()))?;
        bank::create_bank(db, &actor, &demo.slug, &demo.name)
            .await
            .map_err(|e| anyhow::anyhow!("demo bank {}: {e}", demo.slug))?;
        let imported = bank::import(
            db,
            &actor,
            &demo.slug,
            bank::Format::Csv,
            &bytes,
            &|_, _| {},
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo bank {}: {e}", file.display()))?;
        tracing::info!(bank = %demo.slug, imported, "demo question bank loaded");
    }
    Ok(())
}

/// Imports the demo calendar into an empty database, so a newcomer's `cargo run` shows a live year.
async fn seed_demo_calendar(db: &DatabaseConnection, calendar_file: &str) -> anyhow::Result<()> {
    use sea_orm::{EntityTrait, PaginatorTrait};
    if crate::entities::campaigns::Entity::find().count(db).await? > 0 {
        return Ok(());
    }
    let path = demo_file(calendar_file);
    let calendar =
        planning::import::read(&path).map_err(|errors| anyhow::anyhow!(errors.join("\n")))?;
    let actor = crate::audit::Actor {
        staff_id: None,
        label: "demo-seed".into(),
        request_id: None,
    };
    let changes = planning::service::import(db, &actor, &calendar, true, chrono::Utc::now())
        .await
        .map_err(|e| anyhow::anyhow!("demo calendar: {e}"))?;
    tracing::info!(changes = changes.len(), file = %path.display(), "demo calendar loaded");
    Ok(())
}
