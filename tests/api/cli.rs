//! The real binary, as an operator runs it.

use std::process::{Command, Output};

use secrecy::ExposeSecret;
use serde_json::Value;

use crate::helpers::{config_dir, fresh_database_url, spawn_app_with};

fn wxcampaign(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wxcampaign"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("APP_CONFIG_DIR", config_dir())
        .env("APP_ENVIRONMENT", "test");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run wxcampaign")
}

#[tokio::test]
async fn production_with_dev_login_on_refuses_to_start() {
    let output = wxcampaign(
        &["serve"],
        &[
            ("APP_ENVIRONMENT", "production"),
            (
                "APP__AUTH__JWT_SECRET",
                "5a0e8f3c9b7d41e2a6c8f0b3d5e7a9c1b3d5f7e9",
            ),
            (
                "APP__WECHAT__OFFICIAL_ACCOUNT__APP_SECRET",
                "3f1c0a9e8d7b6a5f4e3d2c1b0a998877",
            ),
            (
                "APP__WECHAT__MINI_PROGRAM__APP_SECRET",
                "9e8d7c6b5a4f3e2d1c0b9a8877665544",
            ),
            ("APP__AUTH__DEV_LOGIN", "true"),
        ],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("auth.dev_login"), "{stderr}");
}

#[tokio::test]
async fn admin_create_user_makes_an_account_that_can_log_in() {
    let database_url = fresh_database_url().await;
    let create_root_admin = || {
        wxcampaign(
            &[
                "admin",
                "create-user",
                "--username",
                "root.admin",
                "--role",
                "admin",
            ],
            &[
                ("APP__DATABASE__URL", &database_url),
                ("WXCAMPAIGN_ADMIN_PASSWORD", "a long enough password"),
            ],
        )
    };
    let output = create_root_admin();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let app = spawn_app_with(&[("APP__DATABASE__URL", &database_url)]).await;
    let login = app
        .staff_login("root.admin", "a long enough password")
        .await;
    assert_eq!(login.status(), 200);
    let body: Value = login.json().await.unwrap();
    assert_eq!(body["staff"]["role"], "admin");

    let entries: Vec<_> = wxcampaign::audit::list(
        &app.db,
        &wxcampaign::audit::AuditQuery {
            before_id: None,
            limit: None,
            target_type: None,
            target_id: None,
        },
    )
    .await
    .unwrap();
    assert!(entries
        .iter()
        .any(|e| e.actor == "cli" && e.action == "staff.create"));

    let again = create_root_admin();
    assert!(
        !again.status.success(),
        "a second account with the same name is refused"
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("taken"));
}

#[test]
fn an_unknown_role_is_refused_by_the_cli() {
    let output = wxcampaign(
        &[
            "admin",
            "create-user",
            "--username",
            "x.y",
            "--role",
            "root",
        ],
        &[],
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("root"));
}

#[tokio::test]
async fn the_crm_export_imports_every_row_or_none() {
    use sea_orm::EntityTrait;
    use wxcampaign::entities::users;

    let app = crate::helpers::spawn_app().await;
    let gold = app.customer_id("oCrmGold000001").await;
    let private = app.customer_id("oCrmPrivate001").await;
    let database_url = app.settings.database.url.expose_secret().to_owned();
    let dir = std::env::temp_dir().join(format!("wxc-crm-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let tier_of = |id: i64| {
        let db = app.db.clone();
        async move {
            users::Entity::find_by_id(id)
                .one(&db)
                .await
                .unwrap()
                .unwrap()
                .asset_tier
        }
    };

    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        "openid,asset_tier,tags\noCrmGold000001,gold,房贷客户\noCrmPrivate001,silver,\n!!,gold,\n",
    )
    .unwrap();
    let path = bad.to_str().unwrap();
    let refused = wxcampaign(
        &["users", "import-tiers", path],
        &[("APP__DATABASE__URL", &database_url)],
    );
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("line 3") && stderr.contains("silver"),
        "{stderr}"
    );
    assert!(stderr.contains("line 4"), "{stderr}");
    assert!(stderr.contains("nothing imported"), "{stderr}");
    assert_eq!(
        tier_of(gold).await,
        None,
        "a file with a problem changes nothing"
    );

    let good = dir.join("good.csv");
    std::fs::write(
        &good,
        "openid,asset_tier,tags\noCrmGold000001,gold,房贷客户\noCrmPrivate001,private,\noCrmStranger01,gold,\n",
    )
    .unwrap();
    let imported = wxcampaign(
        &["users", "import-tiers", good.to_str().unwrap()],
        &[("APP__DATABASE__URL", &database_url)],
    );
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let stdout = String::from_utf8_lossy(&imported.stdout);
    assert!(
        stdout.contains("3 rows: 2 customers updated, 1 not known here"),
        "{stdout}"
    );
    assert_eq!(tier_of(gold).await.as_deref(), Some("gold"));
    assert_eq!(tier_of(private).await.as_deref(), Some("private"));
    std::fs::remove_dir_all(&dir).ok();
}
