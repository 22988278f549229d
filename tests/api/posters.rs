//! Posters: the text passes WeChat's content check first; the PNG has its template's size and a QR code that a
//! decoder independent of ours reads back; making a card pays its chance once a day; bad input changes nothing.

use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{json, Value};
use wxcampaign::entities::posters;

use crate::helpers::{error_code, spawn_app, TestApp};

const SPRING: &str = "q1-2026-spring";
const AUTUMN: &str = "q3-2026-autumn";

/// WeChat as the poster path needs it: tokens, the content check's verdict, and QR tickets.
async fn wechat_answers(app: &TestApp, verdict: &str) {
    app.wechat.issues_token("POSTER_TOKEN").await;
    app.wechat
        .answers(
            "POST",
            "/wxa/msg_sec_check",
            json!({ "errcode": 0, "errmsg": "ok", "result": { "suggest": verdict, "label": 100 } }),
        )
        .await;
    app.wechat
        .answers(
            "POST",
            "/cgi-bin/qrcode/create",
            json!({ "ticket": "gQposter", "expire_seconds": 2_592_000, "url": "http://weixin.qq.com/q/edu-invite" }),
        )
        .await;
}

async fn make(
    app: &TestApp,
    token: &str,
    campaign: &str,
    activity: &str,
    text: &str,
    key: &str,
) -> reqwest::Response {
    app.api
        .post(app.url(&format!("/api/v1/campaigns/{campaign}/posters/{activity}")))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&json!({ "text": text }))
        .send()
        .await
        .unwrap()
}

async fn made(
    app: &TestApp,
    token: &str,
    campaign: &str,
    activity: &str,
    text: &str,
    key: &str,
) -> Value {
    let response = make(app, token, campaign, activity, text, key).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

/// The poster's PNG, decoded: its size and what its QR code says (read by rqrr, not by our drawing code).
async fn image_of(app: &TestApp, poster: &Value) -> ((u32, u32), String, Vec<u8>) {
    let response = app.get(poster["image_url"].as_str().unwrap(), None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    let png = response.bytes().await.unwrap().to_vec();
    let image = image::load_from_memory(&png).expect("a PNG").to_luma8();
    let (width, height) = image.dimensions();
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(width as usize, height as usize, |x, y| {
            image.get_pixel(x as u32, y as u32).0[0]
        });
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the poster");
    let (_, content) = grids[0].decode().expect("the QR code decodes");
    ((width, height), content, png)
}

async fn spring_chances(app: &TestApp, token: &str) -> u64 {
    let response = app
        .get(
            &format!("/api/v1/campaigns/{SPRING}/lottery/spring-lottery-2026/chances"),
            Some(token),
        )
        .await;
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["left"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn the_education_poster_is_a_png_of_its_size_whose_qr_code_is_the_makers_invite_code() {
    let app = spawn_app().await;
    app.demo_year_at("2026-08-01 10:00").await;
    wechat_answers(&app, "pass").await;
    let token = app.customer_token("oPosterParent01").await;
    let poster = made(
        &app,
        &token,
        AUTUMN,
        "edu-poster",
        "每月存2064元，12年后备足孩子的大学费用",
        "edu-poster-1",
    )
    .await;
    let ((width, height), content, png) = image_of(&app, &poster).await;
    assert_eq!((width, height), (750, 1200), "the template's default size");
    assert_eq!(content, "http://weixin.qq.com/q/edu-invite");
    // The QR code WeChat made carries this customer's invite scene.
    let code = app
        .get("/api/v1/me/referrals", Some(&token))
        .await
        .json::<Value>()
        .await
        .unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let asked = app.wechat.requests("/cgi-bin/qrcode/create").await;
    assert_eq!(asked.len(), 1);
    let body: Value = serde_json::from_slice(&asked[0].body).unwrap();
    assert_eq!(
        body["action_info"]["scene"]["scene_str"],
        json!(format!("inv_{code}"))
    );
    // The text was checked with the maker's openid before anything was drawn.
    let checked = app.wechat.requests("/wxa/msg_sec_check").await;
    let check: Value = serde_json::from_slice(&checked[0].body).unwrap();
    assert_eq!(
        (check["openid"].clone(), check["version"].clone()),
        (json!("oPosterParent01"), json!(2))
    );
    // A retry of the same request is the same poster; the image is served as stored.
    let again = made(
        &app,
        &token,
        AUTUMN,
        "edu-poster",
        "每月存2064元，12年后备足孩子的大学费用",
        "edu-poster-1",
    )
    .await;
    assert_eq!(again["code"], poster["code"]);
    assert_eq!(image_of(&app, &again).await.2, png);
    assert_eq!(posters::Entity::find().count(&app.db).await.unwrap(), 1);
    assert_eq!(app.wechat.requests("/wxa/msg_sec_check").await.len(), 1);
    // The share page's data, for anyone.
    let shown: Value = app
        .get(
            &format!("/api/v1/posters/{}", poster["code"].as_str().unwrap()),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["activity_name"], json!("教育金规划海报"));
}

#[tokio::test]
async fn a_wish_card_pays_its_chance_once_a_day_and_its_qr_code_opens_its_share_page() {
    let app = spawn_app().await;
    app.demo_year_at("2026-02-01 10:00").await;
    wechat_answers(&app, "pass").await;
    let token = app.customer_token("oPosterWisher01").await;
    let before = spring_chances(&app, &token).await;
    let card = made(
        &app,
        &token,
        SPRING,
        "year-bill-poster",
        "新年愿望：全家健康，存款翻倍🎉",
        "wish-card-1",
    )
    .await;
    assert_eq!(card["reward"]["chances"], json!(1));
    assert_eq!(card["text"], json!("新年愿望：全家健康，存款翻倍🎉"));
    assert_eq!(spring_chances(&app, &token).await, before + 1);
    let (_, content, _) = image_of(&app, &card).await;
    let base = app.settings.application.base_url.trim_end_matches('/');
    assert_eq!(
        content,
        format!("{base}/h5/posters/{}", card["code"].as_str().unwrap())
    );
    // A second card the same day pays nothing more; the next day's does.
    let second = made(
        &app,
        &token,
        SPRING,
        "year-bill-poster",
        "第二张心愿卡",
        "wish-card-2",
    )
    .await;
    assert_eq!(second["reward"], Value::Null);
    assert_eq!(spring_chances(&app, &token).await, before + 1);
    app.clock.advance(chrono::Duration::days(1));
    let next_day = made(
        &app,
        &token,
        SPRING,
        "year-bill-poster",
        "第三张心愿卡",
        "wish-card-3",
    )
    .await;
    assert_eq!(next_day["reward"]["chances"], json!(1));
    assert_eq!(app.count_events("poster_made").await, 3);
}

#[tokio::test]
async fn text_that_fails_the_check_bad_text_and_a_paused_campaign_make_no_poster_and_pay_nothing() {
    let app = spawn_app().await;
    app.demo_year_at("2026-02-01 10:00").await;
    wechat_answers(&app, "risky").await;
    let token = app.customer_token("oPosterRisky001").await;
    let before = spring_chances(&app, &token).await;
    let rejected = make(
        &app,
        &token,
        SPRING,
        "year-bill-poster",
        "不当内容",
        "risky-card-1",
    )
    .await;
    assert_eq!(rejected.status(), 422);
    assert_eq!(error_code(rejected).await, "content_rejected");
    let too_long = make(
        &app,
        &token,
        SPRING,
        "year-bill-poster",
        &"长".repeat(61),
        "long-card-1",
    )
    .await;
    assert_eq!(too_long.status(), 400);
    assert_eq!(
        too_long.json::<Value>().await.unwrap()["field"],
        json!("text")
    );
    let two_lines = make(
        &app,
        &token,
        SPRING,
        "year-bill-poster",
        "第一行\n第二行",
        "lines-card-1",
    )
    .await;
    assert_eq!(two_lines.status(), 400);
    let not_a_poster = make(
        &app,
        &token,
        SPRING,
        "spring-lottery",
        "心愿",
        "kind-card-1",
    )
    .await;
    assert_eq!(error_code(not_a_poster).await, "activity_not_found");
    app.store.set_paused(SPRING, true).await.unwrap();
    let paused = make(
        &app,
        &token,
        SPRING,
        "year-bill-poster",
        "心愿",
        "paused-card-1",
    )
    .await;
    assert_eq!(error_code(paused).await, "campaign_paused");
    app.store.set_paused(SPRING, false).await.unwrap();
    assert_eq!(posters::Entity::find().count(&app.db).await.unwrap(), 0);
    assert_eq!(spring_chances(&app, &token).await, before);
    let missing = app.get("/api/v1/posters/ZZZZZZZZ/image", None).await;
    assert_eq!(error_code(missing).await, "poster_not_found");
}
