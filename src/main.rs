use std::io::BufRead;

use anyhow::Context;
use clap::{Parser, Subcommand};
use secrecy::SecretString;

use wxcampaign::audit::Actor;
use wxcampaign::auth::Role;
use wxcampaign::config::{ConfigSource, Settings};
use wxcampaign::planning::{self, import};
use wxcampaign::staff::{self, NewStaff};
use wxcampaign::startup::Application;
use wxcampaign::{db, telemetry};

#[derive(Parser)]
#[command(
    name = "wxcampaign",
    version,
    about = "A bank's WeChat marketing calendar backend"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Staff account administration.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// The yearly calendar file.
    Calendar {
        #[command(subcommand)]
        command: CalendarCommand,
    },
    /// Lottery maintenance.
    Lottery {
        #[command(subcommand)]
        command: LotteryCommand,
    },
    /// Quiz question banks.
    Quiz {
        #[command(subcommand)]
        command: QuizCommand,
    },
    /// Pushes to segments.
    Push {
        #[command(subcommand)]
        command: PushCommand,
    },
    /// Customer records.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
}

#[derive(Subcommand)]
enum PushCommand {
    /// Send a draft or scheduled push now and deliver it here (beside any serving instance's workers),
    /// with a progress bar, until nothing is left to send now; prints its counts.
    Send {
        slug: String,
        /// Send during the quiet hours: each customer then gets the push's rule (held until they end, or dropped).
        #[arg(long)]
        override_quiet_hours: bool,
    },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Import the CRM's asset tiers (and labels) from CSV: a key column (user_id, unionid or openid), then
    /// asset_tier and optionally tags (separated by `|`). Every row is checked first; any problem imports nothing.
    ImportTiers { file: std::path::PathBuf },
}

#[derive(Subcommand)]
enum QuizCommand {
    /// Check a CSV or JSON file of questions and add them all to a bank (created if new), or none.
    Import {
        file: std::path::PathBuf,
        #[arg(long)]
        bank: String,
    },
}

#[derive(Subcommand)]
enum LotteryCommand {
    /// Rebuild the store's stock, chance and quota counters from the draw records (after a store flush).
    Reconcile,
}

#[derive(Subcommand)]
enum CalendarCommand {
    /// Check a calendar file and print what importing it would change; with --apply, upsert it by slug.
    Import {
        file: std::path::PathBuf,
        #[arg(long)]
        apply: bool,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a staff account. The password is read from WXCAMPAIGN_ADMIN_PASSWORD or, if unset, from stdin.
    CreateUser {
        #[arg(long)]
        username: String,
        /// operator, community_manager, auditor, fulfilment or admin
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
}

fn parse_role(value: &str) -> Result<Role, String> {
    Role::parse(value).ok_or_else(|| {
        format!("`{value}` is not one of operator, community_manager, auditor, fulfilment, admin")
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let source = ConfigSource::from_process()?;
    let settings = Settings::load(&source)?;
    telemetry::init(&settings.telemetry);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings).await?;
            tracing::info!(
                port = app.port(),
                environment = source.environment.as_str(),
                "serving"
            );
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            let db = db::connect(&settings.database).await?;
            db::migrate(&db).await?;
            println!("migrations applied");
        }
        Command::Admin {
            command: AdminCommand::CreateUser { username, role },
        } => {
            let password = read_password()?;
            let db = db::connect(&settings.database).await?;
            db::migrate(&db).await?;
            let created = staff::create_staff(
                &db,
                &Actor::cli(),
                NewStaff {
                    username,
                    role,
                    password,
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "created staff account {} ({})",
                created.username,
                created.role.as_str()
            );
        }
        Command::Quiz {
            command: QuizCommand::Import { file, bank },
        } => {
            use wxcampaign::quiz::bank::{self as quiz_bank, Format};
            let format = match file.extension().and_then(|e| e.to_str()) {
                Some("csv") => Format::Csv,
                Some("json") => Format::Json,
                _ => anyhow::bail!("{}: the file must end in .csv or .json", file.display()),
            };
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let db = db::connect(&settings.database).await?;
            db::migrate(&db).await?;
            if quiz_bank::summary(&db, &bank).await.is_err() {
                quiz_bank::create_bank(&db, &Actor::cli(), &bank, &bank)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            let bar = indicatif::ProgressBar::new(0);
            let progress = |done: usize, total: usize| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            };
            match quiz_bank::import(&db, &Actor::cli(), &bank, format, &bytes, &progress).await {
                Ok(count) => {
                    bar.finish_and_clear();
                    println!("imported {count} questions into {bank}");
                }
                Err(quiz_bank::BankError::Rows(problems)) => {
                    bar.finish_and_clear();
                    for problem in &problems {
                        eprintln!("{}: {problem}", file.display());
                    }
                    anyhow::bail!("{} problem(s); nothing imported", problems.len());
                }
                Err(error) => anyhow::bail!("{error}"),
            }
        }
        Command::Push {
            command:
                PushCommand::Send {
                    slug,
                    override_quiet_hours,
                },
        } => {
            use wxcampaign::push::{self, fanout, saved, Delivering};
            let db = db::connect(&settings.database).await?;
            db::migrate(&db).await?;
            let store = wxcampaign::store::connect(&settings.store).await?;
            let wechat =
                wxcampaign::wechat::client::WeChatClient::new(&settings.wechat, store.clone())?;
            let now = chrono::Utc::now();
            fanout::send(
                &db,
                store.as_ref(),
                &settings,
                &Actor::cli(),
                &slug,
                override_quiet_hours,
                now,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            let push_id = saved::find(&db, &slug)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .id;
            let bar = indicatif::ProgressBar::new(0);
            let consumer = format!("cli-{}", std::process::id());
            let counts = loop {
                let cx = Delivering {
                    db: &db,
                    store: store.as_ref(),
                    wechat: &wechat,
                    settings: &settings.push,
                    now: chrono::Utc::now(),
                };
                let pass = push::work(cx, &consumer, 10, None)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                if pass.messages == 0 {
                    push::release(cx, &settings)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                }
                let counts = push::counts::of(&db, push_id).await?;
                bar.set_length(counts.total);
                bar.set_position(counts.total - counts.queued - counts.sending);
                if counts.settled() {
                    break counts;
                }
                if pass.messages == 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
            };
            bar.finish_and_clear();
            println!("{}", serde_json::to_string_pretty(&counts)?);
        }
        Command::Users {
            command: UsersCommand::ImportTiers { file },
        } => {
            use wxcampaign::users::crm::{self, CrmImportError};
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let db = db::connect(&settings.database).await?;
            db::migrate(&db).await?;
            let bar = indicatif::ProgressBar::new(0);
            let progress = |done: usize, total: usize| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            };
            let tiers = &settings.segments.asset_tiers;
            let now = chrono::Utc::now();
            match crm::import_tiers(&db, &Actor::cli(), &bytes, tiers, now, &progress).await {
                Ok(done) => {
                    bar.finish_and_clear();
                    println!(
                        "{} rows: {} customers updated, {} not known here (skipped)",
                        done.rows, done.updated, done.unmatched
                    );
                }
                Err(CrmImportError::Rows(problems)) => {
                    bar.finish_and_clear();
                    for problem in &problems {
                        eprintln!("{}: {problem}", file.display());
                    }
                    anyhow::bail!("{} problem(s); nothing imported", problems.len());
                }
                Err(error) => anyhow::bail!("{error}"),
            }
        }
        Command::Lottery {
            command: LotteryCommand::Reconcile,
        } => {
            let db = db::connect(&settings.database).await?;
            db::migrate(&db).await?;
            let store = wxcampaign::store::connect(&settings.store).await?;
            let counters = wxcampaign::lottery::service::reconcile_all(
                &db,
                store.as_ref(),
                chrono::Utc::now(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("reconciled {counters} counters");
        }
        Command::Calendar {
            command: CalendarCommand::Import { file, apply },
        } => {
            let calendar = match import::read(&file) {
                Ok(calendar) => calendar,
                Err(errors) => {
                    for error in &errors {
                        eprintln!("{error}");
                    }
                    anyhow::bail!(
                        "{} problem(s) in {}; nothing applied",
                        errors.len(),
                        file.display()
                    );
                }
            };
            for warning in calendar
                .campaigns
                .iter()
                .flat_map(import::compliance_warnings)
            {
                eprintln!("warning: {warning}");
            }
            let db = db::connect(&settings.database).await?;
            db::migrate(&db).await?;
            let changes =
                planning::service::import(&db, &Actor::cli(), &calendar, apply, chrono::Utc::now())
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}: nothing applied"))?;
            for change in &changes {
                println!("{change}");
            }
            println!(
                "{}",
                if apply {
                    "applied"
                } else {
                    "dry run: nothing applied (add --apply)"
                }
            );
        }
    }
    Ok(())
}

fn read_password() -> anyhow::Result<SecretString> {
    if let Ok(password) = std::env::var("WXCAMPAIGN_ADMIN_PASSWORD") {
        return Ok(password.into());
    }
    eprintln!("password (one line on stdin):");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned().into())
}
