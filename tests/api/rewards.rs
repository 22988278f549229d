//! The one grant door, a test per reward kind: on the caller's transaction, once per source reference, within
//! limits, and the store told only after the commit.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use wxcampaign::auth::Role;
use wxcampaign::clock::Clock;
use wxcampaign::entities::{chance_grants, points_ledger, prize_pools, user_coupons};
use wxcampaign::rewards::{Chances, Grant, Granted, Reward, RewardError, Rewards};

use crate::helpers::{error_code, spawn_app, TestApp};

/// Grants `reward` in one write transaction, committed (`commit`) or rolled back, then tells the store.
async fn grant_once(
    app: &TestApp,
    user_id: i64,
    source_ref: &str,
    reward: Reward<'_>,
    now: DateTime<Utc>,
    commit: bool,
) -> Result<Granted, RewardError> {
    let txn = wxcampaign::db::begin_write(&app.db).await.unwrap();
    let mut rewards = Rewards::new(now);
    let grant = Grant {
        user_id,
        source_ref,
        reward,
    };
    let granted = rewards.grant(&txn, &grant).await;
    if commit && granted.is_ok() {
        txn.commit().await.unwrap();
        rewards.after_commit(app.state.store()).await;
    } else {
        txn.rollback().await.unwrap();
    }
    granted
}

#[tokio::test]
async fn points_are_multiplied_by_a_live_points_week_once_and_granted_once_per_source() {
    let app = spawn_app().await;
    let (user_id, token) = app.customer("oRewardsUser01").await;
    let operator = app.staff_token("olivia", Role::Operator).await;
    let start = app.clock.now() + Duration::hours(2);
    let at = |d: Duration| wxcampaign::calendar::shanghai(start + d);
    let campaign = json!({
        "slug": "rewards-test", "name": "积分季", "theme": "积分", "year": 2026, "quarter": 4,
        "preheat_at": at(-Duration::hours(1)), "starts_at": at(Duration::zero()), "ends_at": at(Duration::days(30)),
        "rules_text": "规则",
        "activities": [{ "slug": "carnival", "kind": "points_week", "name": "积分狂欢周",
                         "starts_at": at(Duration::days(1)), "ends_at": at(Duration::days(8)), "config": { "factor_percent": 300 } }]
    });
    let created = app
        .post_json("/admin/v1/campaigns", Some(&operator), &campaign)
        .await;
    assert_eq!(created.status(), 201);
    let points = || Reward::Points {
        amount: 10,
        reason: "quiz_passed",
        campaign: Some("rewards-test"),
    };
    let in_week = start + Duration::days(2);

    let rolled_back = grant_once(&app, user_id, "quiz:1", points(), in_week, false).await;
    assert!(matches!(rolled_back, Ok(Granted::Points { new: true, .. })));
    assert_eq!(
        app.points_balance(&token).await,
        0,
        "a rollback grants nothing"
    );

    let first = grant_once(&app, user_id, "quiz:1", points(), in_week, true).await;
    let Ok(Granted::Points { entry, new: true }) = first else {
        panic!("a first grant: {first:?}");
    };
    assert_eq!((entry.delta, entry.factor_percent), (30, 300));
    let repeat = grant_once(&app, user_id, "quiz:1", points(), in_week, true).await;
    assert!(
        matches!(repeat, Ok(Granted::Points { ref entry, new: false }) if entry.delta == 30),
        "{repeat:?}"
    );
    let after_week = start + Duration::days(9);
    let plain = grant_once(&app, user_id, "quiz:2", points(), after_week, true).await;
    assert!(matches!(plain, Ok(Granted::Points { ref entry, .. }) if entry.factor_percent == 100));
    assert_eq!(app.points_balance(&token).await, 40);
    let rows = points_ledger::Entity::find()
        .filter(points_ledger::Column::UserId.eq(user_id))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(rows, 2, "one ledger row per source reference");
}

#[tokio::test]
async fn chances_are_granted_within_the_caps_and_counted_by_the_store_after_the_commit() {
    let app = spawn_app().await;
    app.live_campaign(&json!({
        "slug": "year-end", "name": "限次奖池", "kind": "lottery", "daily_free_chances": 0,
        "chance_daily_cap": 3, "chance_total_cap": 5,
        "prizes": [{ "slug": "only", "name": "积分", "tier": 1, "kind": "points", "points": 1, "weight_bp": 10000 }]
    }))
    .await;
    let pool_id = prize_pools::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let (user_id, token) = app.customer("oRewardsUser02").await;
    let chances = |amount, all_or_none| {
        Reward::Chances(Chances {
            campaign: "lottery-test",
            pool_id,
            amount,
            source: "quiz",
            all_or_none,
        })
    };
    let now = app.clock.now();

    let rolled_back = grant_once(&app, user_id, "quiz:1", chances(2, false), now, false).await;
    assert!(matches!(rolled_back, Ok(Granted::Chances(2))));
    let draw = app
        .draw(&token, "lottery-test", "year-end", "draw-0001")
        .await;
    assert_eq!(
        error_code(draw).await,
        "no_chance",
        "a rollback tells the store nothing"
    );

    let capped = grant_once(&app, user_id, "quiz:1", chances(5, false), now, true).await;
    assert!(
        matches!(capped, Ok(Granted::Chances(3))),
        "the daily cap of 3: {capped:?}"
    );
    let repeat = grant_once(&app, user_id, "quiz:1", chances(5, false), now, true).await;
    assert!(matches!(repeat, Ok(Granted::Chances(0))), "{repeat:?}");
    let whole = grant_once(&app, user_id, "buy:1", chances(1, true), now, true).await;
    assert!(
        matches!(whole, Err(RewardError::ChanceCapReached)),
        "{whole:?}"
    );

    for key in ["draw-1001", "draw-1002", "draw-1003"] {
        let draw = app.draw(&token, "lottery-test", "year-end", key).await;
        assert_eq!(draw.status(), 200, "the store counted the committed grant");
    }
    let draw = app
        .draw(&token, "lottery-test", "year-end", "draw-1004")
        .await;
    assert_eq!(error_code(draw).await, "no_chance");
    let rows = chance_grants::Entity::find()
        .filter(chance_grants::Column::UserId.eq(user_id))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(rows, 1);
}

#[tokio::test]
async fn a_coupon_is_issued_once_per_source_and_never_past_its_limit() {
    let app = spawn_app().await;
    let operator = app.staff_token("olivia", Role::Operator).await;
    let template = json!({ "slug": "just-one", "name": "限一张", "value_fen": 500, "valid_days": 7, "total_limit": 1 });
    let created = app
        .post_json("/admin/v1/coupon-templates", Some(&operator), &template)
        .await;
    assert_eq!(created.status(), 201);
    let (alice, _) = app.customer("oRewardsUser03").await;
    let (bob, _) = app.customer("oRewardsUser04").await;
    let coupon = || Reward::Coupon {
        template: "just-one",
    };
    let now = app.clock.now();

    let rolled_back = grant_once(&app, alice, "draw:a", coupon(), now, false).await;
    assert!(matches!(rolled_back, Ok(Granted::Coupon(_))));
    let Ok(Granted::Coupon(first)) = grant_once(&app, alice, "draw:a", coupon(), now, true).await
    else {
        panic!("the rolled-back coupon did not count against the limit");
    };
    let Ok(Granted::Coupon(repeat)) = grant_once(&app, alice, "draw:a", coupon(), now, true).await
    else {
        panic!("a repeat finds the coupon");
    };
    assert_eq!(first.code, repeat.code);
    let sold_out = grant_once(&app, bob, "draw:b", coupon(), now, true).await;
    assert!(
        matches!(sold_out, Err(RewardError::CouponsSoldOut)),
        "{sold_out:?}"
    );
    let missing = Reward::Coupon { template: "nope" };
    let missing = grant_once(&app, bob, "draw:c", missing, now, true).await;
    assert!(matches!(missing, Err(RewardError::CouponTemplateNotFound)));
    assert_eq!(
        user_coupons::Entity::find().count(&app.db).await.unwrap(),
        1
    );
}
