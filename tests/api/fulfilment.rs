//! Won prizes after the draw: "my prizes", the delivery address of a physical prize (once, the winner's own,
//! encrypted, masked to staff), the fulfilment role's export and shipping, and coupon prizes as real coupons.

use futures::future::join_all;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};
use wxcampaign::auth::Role;
use wxcampaign::entities::{audit_log, coupon_templates, prize_deliveries, prizes};
use wxcampaign::users::phone::PhoneCipher;

use crate::helpers::{error_code, spawn_app, TestApp};

const CAMPAIGN: &str = "lottery-test";
const POOL: &str = "year-end";
const PHONE: &str = "13912345678";
const ADDRESS: &str = "广东省深圳市南山区科技园科苑路88号";

/// Every draw wins a desk calendar (physical, stock 5, one each); one free chance a day.
fn physical_pool() -> Value {
    json!({
        "slug": POOL, "name": "年历抽奖", "kind": "lottery", "daily_free_chances": 1,
        "prizes": [{ "slug": "calendar", "name": "定制2027年历", "tier": 1, "kind": "physical", "value_fen": 3000, "weight_bp": 10000, "stock": 5, "per_user_total": 1 }]
    })
}

fn address(recipient: &str, phone: &str, address: &str) -> Value {
    json!({ "recipient": recipient, "phone": phone, "address": address })
}

impl TestApp {
    async fn my_prizes(&self, token: &str) -> Vec<Value> {
        let response = self.get("/api/v1/me/prizes", Some(token)).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        body["prizes"].as_array().unwrap().clone()
    }

    async fn submit_address(&self, token: &str, draw_id: i64, body: &Value) -> reqwest::Response {
        self.post_json(
            &format!("/api/v1/me/prizes/{draw_id}/address"),
            Some(token),
            body,
        )
        .await
    }

    async fn ship(&self, staff: &str, delivery_id: i64, body: &Value) -> reqwest::Response {
        self.post_json(
            &format!("/admin/v1/deliveries/{delivery_id}/ship"),
            Some(staff),
            body,
        )
        .await
    }

    /// A customer's one draw, answered 200: its draw id.
    async fn won(&self, token: &str, key: &str) -> i64 {
        let (status, body) = self.draw_answered(token, CAMPAIGN, POOL, key).await;
        assert_eq!(status, 200, "{body}");
        body["draw_id"].as_i64().unwrap()
    }

    async fn deliveries(&self) -> u64 {
        prize_deliveries::Entity::find()
            .count(&self.db)
            .await
            .unwrap()
    }

    async fn audited(&self, action: &str) -> Vec<audit_log::Model> {
        audit_log::Entity::find()
            .filter(audit_log::Column::Action.eq(action))
            .all(&self.db)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_physical_prize_goes_once_to_the_address_its_winner_gave_and_staff_ship_it() {
    let app = spawn_app().await;
    let operator = app.live_campaign(&physical_pool()).await;
    let fulfilment = app.staff_token("fiona", Role::Fulfilment).await;
    let (_, winner) = app.customer("oWinner0001").await;
    let (_, other) = app.customer("oOther00001").await;

    let draw_id = app.won(&winner, "prize-draw-0001").await;
    let prizes = app.my_prizes(&winner).await;
    assert_eq!(prizes.len(), 1);
    assert_eq!(prizes[0]["draw_id"], draw_id);
    assert_eq!(prizes[0]["prize"]["kind"], "physical");
    assert_eq!(prizes[0]["campaign"], CAMPAIGN);
    assert_eq!(prizes[0]["fulfilment"]["state"], "awaiting_address");
    assert!(
        app.my_prizes(&other).await.is_empty(),
        "another's win is not theirs"
    );

    // Refused, each with its code, and nothing stored.
    let refusals = [
        (
            &other,
            draw_id,
            address("李四", PHONE, ADDRESS),
            404,
            "prize_not_found",
        ),
        (
            &winner,
            draw_id + 1000,
            address("张三", PHONE, ADDRESS),
            404,
            "prize_not_found",
        ),
        (
            &winner,
            draw_id,
            address("张三", "12345678901", ADDRESS),
            400,
            "invalid_address",
        ),
        (
            &winner,
            draw_id,
            address("", PHONE, ADDRESS),
            400,
            "invalid_address",
        ),
        (
            &winner,
            draw_id,
            address("张三", PHONE, "深圳"),
            400,
            "invalid_address",
        ),
    ];
    for (token, draw, body, status, code) in refusals {
        let response = app.submit_address(token, draw, &body).await;
        assert_eq!(response.status(), status, "{body}");
        assert_eq!(error_code(response).await, code, "{body}");
    }
    let unknown_field = app
        .submit_address(
            &winner,
            draw_id,
            &json!({ "recipient": "张三", "phone": PHONE, "address": ADDRESS, "note": "x" }),
        )
        .await;
    assert_eq!(unknown_field.status(), 400);
    assert_eq!(app.deliveries().await, 0, "refusals store nothing");

    let submitted = app
        .submit_address(&winner, draw_id, &address(" 张三 ", PHONE, ADDRESS))
        .await;
    assert_eq!(submitted.status(), 201);
    let submitted: Value = submitted.json().await.unwrap();
    assert_eq!(submitted["state"], "address_submitted");
    assert_eq!(submitted["delivery"]["recipient"], "张三");
    assert_eq!(submitted["delivery"]["address"], ADDRESS);
    assert_eq!(
        submitted["delivery"]["phone"], "139****5678",
        "masked even to its owner"
    );
    let again = app
        .submit_address(
            &winner,
            draw_id,
            &address("王五", "13800001111", "北京市朝阳区建国路1号"),
        )
        .await;
    assert_eq!(again.status(), 409);
    assert_eq!(error_code(again).await, "address_already_submitted");

    // At rest: encrypted under the phone key, readable only with it.
    let stored = prize_deliveries::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(stored.len(), 1, "the second submission changed nothing");
    let cipher = PhoneCipher::new(&app.settings.auth.phone_encryption_secret);
    let sealed = [
        (&stored[0].recipient_enc, "张三"),
        (&stored[0].phone_enc, PHONE),
        (&stored[0].address_enc, ADDRESS),
    ];
    for (sealed, plain) in sealed {
        assert_ne!(sealed, plain);
        assert_eq!(cipher.decrypt(sealed).unwrap(), plain);
    }
    let delivery_id = stored[0].id;

    // Staff see it masked; only the fulfilment role exports it in full.
    let listed = app.get("/admin/v1/deliveries", Some(&operator)).await;
    assert_eq!(listed.status(), 200);
    let listed = listed.text().await.unwrap();
    assert!(
        !listed.contains(PHONE) && !listed.contains(ADDRESS) && !listed.contains("张三"),
        "{listed}"
    );
    let listed: Value = serde_json::from_str(&listed).unwrap();
    let entry = &listed["deliveries"][0];
    assert_eq!(entry["state"], "address_submitted");
    assert_eq!(entry["delivery"]["recipient"], "张*");
    assert_eq!(entry["delivery"]["phone"], "139****5678");
    assert_eq!(entry["delivery"]["address"], "广东省深圳市****");
    let waiting = app
        .get(
            "/admin/v1/deliveries?state=awaiting_address",
            Some(&fulfilment),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(waiting["deliveries"].as_array().unwrap().len(), 0);
    let submitted = app
        .get(
            "/admin/v1/deliveries?state=address_submitted&limit=1",
            Some(&fulfilment),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(submitted["deliveries"][0]["draw_id"], draw_id);
    assert_eq!(
        submitted["next_after"], draw_id,
        "a full page says where the next starts"
    );

    let refused = app
        .get("/admin/v1/deliveries/export", Some(&operator))
        .await;
    assert_eq!(refused.status(), 403);
    assert!(app.audited("delivery.export").await.is_empty());
    let export = app
        .get("/admin/v1/deliveries/export", Some(&fulfilment))
        .await;
    assert_eq!(export.status(), 200);
    assert!(export.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = export.text().await.unwrap();
    let rows: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(rows.len(), 2, "{csv}");
    assert!(rows[0].starts_with("delivery_id,draw_id,campaign,prize,recipient,phone,address"));
    assert!(
        rows[1].contains("张三") && rows[1].contains(PHONE) && rows[1].contains(ADDRESS),
        "{csv}"
    );
    let exports = app.audited("delivery.export").await;
    assert_eq!(exports.len(), 1, "every export is audited");
    assert_eq!(exports[0].actor, "fiona");

    // Shipping: the fulfilment role, a checked tracking number, once, audited without the address.
    let by_operator = app
        .ship(
            &operator,
            delivery_id,
            &json!({ "carrier": "顺丰速运", "tracking_number": "SF1234567890" }),
        )
        .await;
    assert_eq!(by_operator.status(), 403);
    let bad = app
        .ship(
            &fulfilment,
            delivery_id,
            &json!({ "carrier": "顺丰速运", "tracking_number": "=cmd|x" }),
        )
        .await;
    assert_eq!(bad.status(), 400);
    assert_eq!(error_code(bad).await, "invalid_shipment");
    let missing = app
        .ship(
            &fulfilment,
            delivery_id + 99,
            &json!({ "carrier": "顺丰速运", "tracking_number": "SF1234567890" }),
        )
        .await;
    assert_eq!(missing.status(), 404);
    assert_eq!(error_code(missing).await, "delivery_not_found");
    let shipped = app
        .ship(
            &fulfilment,
            delivery_id,
            &json!({ "carrier": "顺丰速运", "tracking_number": "SF1234567890" }),
        )
        .await;
    assert_eq!(shipped.status(), 200);
    let twice = app
        .ship(
            &fulfilment,
            delivery_id,
            &json!({ "carrier": "中通快递", "tracking_number": "ZT0000000001" }),
        )
        .await;
    assert_eq!(twice.status(), 409);
    assert_eq!(error_code(twice).await, "already_shipped");
    let ships = app.audited("delivery.ship").await;
    assert_eq!(ships.len(), 1);
    let trail = serde_json::to_string(&ships[0]).unwrap();
    assert!(
        trail.contains("SF1234567890") && !trail.contains(PHONE) && !trail.contains("深圳"),
        "{trail}"
    );

    let seen = app.my_prizes(&winner).await;
    assert_eq!(seen[0]["fulfilment"]["state"], "shipped");
    assert_eq!(seen[0]["fulfilment"]["delivery"]["carrier"], "顺丰速运");
    assert_eq!(
        seen[0]["fulfilment"]["delivery"]["tracking_number"],
        "SF1234567890"
    );
    let after = app
        .get("/admin/v1/deliveries/export", Some(&fulfilment))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        after.trim_start_matches('\u{feff}').lines().count(),
        1,
        "shipped: nothing left to export"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_address_submissions_for_one_prize_store_exactly_one() {
    let app = spawn_app().await;
    app.live_campaign(&physical_pool()).await;
    let (_, winner) = app.customer("oWinner0002").await;
    let draw_id = app.won(&winner, "prize-draw-0002").await;
    let submissions = (0..20).map(|i| {
        let (app, winner) = (&app, &winner);
        async move {
            let body = address("张三", PHONE, &format!("{ADDRESS}{i}室"));
            let response = app.submit_address(winner, draw_id, &body).await;
            let status = response.status().as_u16();
            (status, error_code_or_none(response).await)
        }
    });
    let answers = join_all(submissions).await;
    assert_eq!(
        answers.iter().filter(|(s, _)| *s == 201).count(),
        1,
        "{answers:?}"
    );
    assert_eq!(
        answers
            .iter()
            .filter(|(s, c)| *s == 409 && c == "address_already_submitted")
            .count(),
        19,
        "{answers:?}"
    );
    assert_eq!(app.deliveries().await, 1);
}

async fn error_code_or_none(response: reqwest::Response) -> String {
    let body: Value = response.json().await.unwrap_or(Value::Null);
    body["code"].as_str().unwrap_or("").to_owned()
}

#[tokio::test]
async fn a_coupon_prize_is_a_coupon_in_my_coupons_and_needs_no_address() {
    let app = spawn_app().await;
    let templates = app.staff_token("otto", Role::Operator).await;
    let template =
        json!({ "slug": "cash-50", "name": "50元立减金", "value_fen": 5000, "valid_days": 30 });
    let created = app
        .post_json("/admin/v1/coupon-templates", Some(&templates), &template)
        .await;
    assert_eq!(created.status(), 201);
    app.live_campaign(&json!({
        "slug": POOL, "name": "立减金抽奖", "kind": "lottery", "daily_free_chances": 2,
        "prizes": [
            { "slug": "cash-50", "name": "50元立减金", "tier": 1, "kind": "coupon", "value_fen": 5000, "weight_bp": 10000, "per_user_total": 1, "coupon_template": "cash-50" },
            { "slug": "thanks", "name": "谢谢参与", "tier": 9, "kind": "thanks", "weight_bp": 0 }
        ],
        "consolation": "thanks"
    }))
    .await;
    let (_, customer) = app.customer("oCoupon0001").await;
    let draw_id = app.won(&customer, "coupon-draw-0001").await;
    // The second draw: the coupon is one per customer, so the consolation "thanks", which is no prize.
    let (status, second) = app
        .draw_answered(&customer, CAMPAIGN, POOL, "coupon-draw-0002")
        .await;
    assert_eq!(status, 200);
    assert_eq!(second["prize"]["kind"], "thanks");

    let prizes = app.my_prizes(&customer).await;
    assert_eq!(prizes.len(), 1, "a thanks is not a prize: {prizes:?}");
    assert_eq!(prizes[0]["fulfilment"]["state"], "issued");
    assert_eq!(prizes[0]["prize"]["issues_coupon"], true);
    let coupons: Value = app
        .get("/api/v1/me/coupons", Some(&customer))
        .await
        .json()
        .await
        .unwrap();
    let coupons = coupons["coupons"].as_array().unwrap();
    assert_eq!(coupons.len(), 1);
    assert_eq!(coupons[0]["name"], "50元立减金");

    let refused = app
        .submit_address(&customer, draw_id, &address("张三", PHONE, ADDRESS))
        .await;
    assert_eq!(refused.status(), 409);
    assert_eq!(error_code(refused).await, "prize_not_physical");
    let thanks = app
        .submit_address(
            &customer,
            second["draw_id"].as_i64().unwrap(),
            &address("张三", PHONE, ADDRESS),
        )
        .await;
    assert_eq!(thanks.status(), 404, "a thanks is no prize to deliver");
    assert_eq!(app.deliveries().await, 0);
}

/// The demo calendar's coupon prizes name templates it creates, so a demo "立减金" lands in "my coupons".
#[tokio::test]
async fn every_demo_coupon_prize_issues_a_coupon_from_a_template_that_covers_its_stock() {
    let app = spawn_app().await;
    app.demo_year_at("2026-12-10 12:00").await;
    let coupon_prizes = prizes::Entity::find()
        .filter(prizes::Column::Kind.eq("coupon"))
        .all(&app.db)
        .await
        .unwrap();
    assert!(coupon_prizes.len() >= 4);
    for prize in coupon_prizes {
        let slug = prize
            .coupon_template
            .clone()
            .unwrap_or_else(|| panic!("{} has no template", prize.slug));
        let template = coupon_templates::Entity::find()
            .filter(coupon_templates::Column::Slug.eq(slug.as_str()))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("template {slug} missing"));
        assert_eq!(template.value_fen, prize.value_fen, "{slug}");
        let covers = template
            .total_limit
            .is_none_or(|coupons| prize.stock_total.is_some_and(|stock| coupons >= stock));
        assert!(covers, "{slug}: fewer coupons than prizes");
    }
}
