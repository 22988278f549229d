use std::collections::HashMap;

use wxcampaign::config::{ConfigSource, Environment, Settings};

use crate::helpers::config_dir;

fn load(environment: Environment, overrides: &[(&str, &str)]) -> Result<Settings, String> {
    Settings::load(&ConfigSource {
        config_dir: config_dir(),
        environment,
        overrides: overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<HashMap<_, _>>(),
    })
    .map_err(|e| e.to_string())
}

/// Real secrets (and a shared store), as an operator would set them in production.
const PRODUCTION_SECRETS: [(&str, &str); 7] = [
    ("APP__STORE__URL", "redis://127.0.0.1:6379/0"),
    (
        "APP__AUTH__PHONE_ENCRYPTION_SECRET",
        "c1a8f0e2b7d94f6a8e3c5b1d9f7a2e4c6b8d0f1a",
    ),
    ("APP__WECHAT__OFFICIAL_ACCOUNT__TOKEN", "Zp3kR8vN2qW6"),
    (
        "APP__WECHAT__OFFICIAL_ACCOUNT__ENCODING_AES_KEY",
        "Ib27Mxy85v0eqHp2ERuLGQZx3NAcZCf0jCmhQdY7Ez1",
    ),
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
];

#[test]
fn the_shipped_layers_load_for_local_and_test() {
    let local = load(Environment::Local, &[]).unwrap();
    assert!(local.auth.dev_login);
    assert_eq!(local.application.port, 8080);
    assert!(load(Environment::Test, &[]).is_ok());
}

#[test]
fn production_starts_with_real_secrets() {
    let settings = load(Environment::Production, &PRODUCTION_SECRETS).unwrap();
    assert!(!settings.auth.dev_login);
}

#[test]
fn production_refuses_dev_login() {
    let mut overrides = PRODUCTION_SECRETS.to_vec();
    overrides.push(("APP__AUTH__DEV_LOGIN", "true"));
    let error = load(Environment::Production, &overrides).unwrap_err();
    assert!(error.contains("auth.dev_login"), "{error}");
}

#[test]
fn production_refuses_a_session_cookie_without_secure() {
    let mut overrides = PRODUCTION_SECRETS.to_vec();
    overrides.push(("APP__AUTH__SESSION_COOKIE_SECURE", "false"));
    let error = load(Environment::Production, &overrides).unwrap_err();
    assert!(error.contains("auth.session_cookie_secure"), "{error}");
}

#[test]
fn production_refuses_the_memory_store_unless_told_one_instance_runs() {
    let mut overrides: Vec<_> = PRODUCTION_SECRETS
        .iter()
        .filter(|(k, _)| *k != "APP__STORE__URL")
        .copied()
        .collect();
    let error = load(Environment::Production, &overrides).unwrap_err();
    assert!(error.contains("store.url"), "{error}");
    overrides.push(("APP__STORE__SINGLE_INSTANCE", "true"));
    assert!(load(Environment::Production, &overrides).is_ok());
}

#[test]
fn production_refuses_demo_data() {
    let mut overrides = PRODUCTION_SECRETS.to_vec();
    overrides.push(("APP__DEMO__SEED", "true"));
    let error = load(Environment::Production, &overrides).unwrap_err();
    assert!(error.contains("demo.seed"), "{error}");
}

#[test]
fn production_refuses_each_default_secret() {
    for (key, name) in [
        ("APP__AUTH__JWT_SECRET", "auth.jwt_secret"),
        (
            "APP__AUTH__PHONE_ENCRYPTION_SECRET",
            "auth.phone_encryption_secret",
        ),
        (
            "APP__WECHAT__OFFICIAL_ACCOUNT__APP_SECRET",
            "wechat.official_account.app_secret",
        ),
        (
            "APP__WECHAT__MINI_PROGRAM__APP_SECRET",
            "wechat.mini_program.app_secret",
        ),
        (
            "APP__WECHAT__OFFICIAL_ACCOUNT__TOKEN",
            "wechat.official_account.token",
        ),
        (
            "APP__WECHAT__OFFICIAL_ACCOUNT__ENCODING_AES_KEY",
            "wechat.official_account.encoding_aes_key",
        ),
    ] {
        let overrides: Vec<_> = PRODUCTION_SECRETS
            .iter()
            .filter(|(k, _)| *k != key)
            .copied()
            .collect();
        let error = load(Environment::Production, &overrides).unwrap_err();
        assert!(error.contains(name), "{name}: {error}");
    }
}

#[test]
fn unknown_keys_and_wrong_types_name_the_key() {
    let unknown = load(Environment::Test, &[("APP__APPLICATION__PROT", "8080")]).unwrap_err();
    assert!(unknown.contains("prot"), "{unknown}");

    let wrong_type = load(Environment::Test, &[("APP__APPLICATION__PORT", "eighty")]).unwrap_err();
    assert!(wrong_type.contains("application.port"), "{wrong_type}");

    let bad_key = load(
        Environment::Test,
        &[(
            "APP__WECHAT__OFFICIAL_ACCOUNT__ENCODING_AES_KEY",
            "too-short",
        )],
    )
    .unwrap_err();
    assert!(
        bad_key.contains("wechat.official_account.encoding_aes_key"),
        "{bad_key}"
    );

    let bad_value = load(Environment::Test, &[("APP__STORE__URL", "mongodb://x")]).unwrap_err();
    assert!(bad_value.contains("store.url"), "{bad_value}");
    let cluster = load(
        Environment::Test,
        &[(
            "APP__STORE__URL",
            "redis+cluster://10.0.0.1:6379,10.0.0.2:6379",
        )],
    );
    assert!(cluster.is_ok(), "a cluster URL is a store URL: {cluster:?}");
    let no_nodes = load(
        Environment::Test,
        &[("APP__STORE__URL", "redis+cluster://")],
    )
    .unwrap_err();
    assert!(no_nodes.contains("store.url"), "{no_nodes}");

    let forever = load(
        Environment::Test,
        &[("APP__APPLICATION__KEEP_ALIVE_SECS", "0")],
    )
    .unwrap_err();
    assert!(forever.contains("application.keep_alive_secs"), "{forever}");

    let bad_proxy = load(
        Environment::Test,
        &[("APP__APPLICATION__TRUSTED_PROXIES", "10.0.0.0/8,nonsense")],
    )
    .unwrap_err();
    assert!(
        bad_proxy.contains("application.trusted_proxies") && bad_proxy.contains("nonsense"),
        "{bad_proxy}"
    );
}
