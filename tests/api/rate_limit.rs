use futures::future::join_all;

use crate::helpers::{error_code, spawn_app_with};

const FIVE_PER_MINUTE: [(&str, &str); 2] = [
    ("APP__RATE_LIMIT__CUSTOMER_PER_USER__LIMIT", "5"),
    ("APP__RATE_LIMIT__CUSTOMER_PER_USER__WINDOW_SECS", "60"),
];

#[tokio::test]
async fn a_customer_gets_429_with_retry_after_past_the_limit() {
    let app = spawn_app_with(&FIVE_PER_MINUTE).await;
    let token = app.customer_token("oLimitedUser1").await;
    for _ in 0..5 {
        assert_eq!(app.get("/api/v1/me", Some(&token)).await.status(), 200);
    }
    let limited = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=12).contains(&retry_after),
        "one request frees up every 12 s: {retry_after}"
    );
    assert!(limited.headers().contains_key("x-request-id"));
    assert_eq!(error_code(limited).await, "rate_limited");

    // Another customer has a budget of their own.
    let other = app.customer_token("oOtherUser001").await;
    assert_eq!(app.get("/api/v1/me", Some(&other)).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_per_user_limit_holds_across_two_instances_under_concurrency() {
    let first = spawn_app_with(&FIVE_PER_MINUTE).await;
    let second = first.second_instance().await;
    let token = first.customer_token("oSharedUser01").await;

    let requests = (0..40).map(|i| {
        let instance = if i % 2 == 0 { &first } else { &second };
        instance.get("/api/v1/me", Some(&token))
    });
    let statuses: Vec<u16> = join_all(requests)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        35,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn per_ip_limits_believe_forwarded_for_only_from_trusted_proxies() {
    let limits = [
        ("APP__RATE_LIMIT__CUSTOMER_PER_IP__LIMIT", "2"),
        ("APP__RATE_LIMIT__CUSTOMER_PER_IP__WINDOW_SECS", "60"),
    ];
    let get_as = |app: &crate::helpers::TestApp, forwarded: &'static str| {
        app.api
            .get(app.url("/api/v1/me"))
            .header("x-forwarded-for", forwarded)
            .send()
    };

    // Behind a trusted proxy (the test client's 127.0.0.1), each forwarded client has its own budget.
    let mut trusted = limits.to_vec();
    trusted.push(("APP__APPLICATION__TRUSTED_PROXIES", "127.0.0.1"));
    let app = spawn_app_with(&trusted).await;
    for forwarded in [
        "198.51.100.1",
        "198.51.100.1",
        "198.51.100.2",
        "198.51.100.2",
    ] {
        assert_eq!(
            get_as(&app, forwarded).await.unwrap().status(),
            401,
            "{forwarded}: within budget"
        );
    }
    assert_eq!(get_as(&app, "198.51.100.1").await.unwrap().status(), 429);
    // A client cannot pick a fresh bucket by writing its own address to the left.
    assert_eq!(
        get_as(&app, "10.9.9.9, 198.51.100.1")
            .await
            .unwrap()
            .status(),
        429
    );

    // Nobody trusted: the header is ignored and every request counts against the peer address.
    let app = spawn_app_with(&limits).await;
    assert_eq!(get_as(&app, "198.51.100.1").await.unwrap().status(), 401);
    assert_eq!(get_as(&app, "198.51.100.2").await.unwrap().status(), 401);
    assert_eq!(get_as(&app, "198.51.100.3").await.unwrap().status(), 429);
}
