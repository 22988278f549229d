//! Referrals: a first follow through an inviter's QR code, or a new customer's first login through a shared
//! path, credits the inviter once, ever; the open activity's milestone pays once, at its threshold; everything
//! else (retries, re-follows, followers scanning, self-invites, unknown codes, forged callbacks) credits nothing.

use futures::future::join_all;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{json, Value};
use wxcampaign::entities::referrals;
use wxcampaign::wechat::crypto::MessageCipher;

use crate::helpers::TestApp;
use crate::wechat_sim::{fixtures, WeChatSim, GH};

const Q3: &str = "q3-2026-autumn";
const BOX: &str = "mid-autumn-box-2026";

/// The demo year in the Mid-Autumn invite window, with WeChat's callbacks in safe mode, and WeChat knowing no
/// follower's unionid unless a test says so.
async fn mid_autumn() -> WeChatSim {
    let sim = WeChatSim::start("safe", false).await;
    sim.app.demo_year_at("2026-09-15 10:00").await;
    sim.app.wechat.issues_token("OA_TOKEN_REFERRALS").await;
    sim.app.wechat.knows_followers(&[]).await;
    sim
}

/// The referrals job's pass: the queued follows asked of WeChat and credited.
async fn resolve(app: &TestApp) -> wxcampaign::referrals::service::Resolved {
    wxcampaign::referrals::service::resolve_follows(app.state.context(), &app.state.wechat)
        .await
        .unwrap()
}

async fn invite_code(app: &TestApp, token: &str) -> Value {
    let response = app.get("/api/v1/me/referrals", Some(token)).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// A follow event from `openid` at `create_time`, through the QR scene `scene` if any, encrypted as WeChat does.
fn follow(openid: &str, create_time: u64, event: &str, scene: Option<&str>) -> String {
    let f = fixtures();
    let cipher =
        MessageCipher::from_encoding_aes_key(f["encoding_aes_key"].as_str().unwrap()).unwrap();
    let key = match (event, scene) {
        ("subscribe", Some(scene)) => format!(
            "<EventKey><![CDATA[qrscene_{scene}]]></EventKey><Ticket><![CDATA[gQticket]]></Ticket>"
        ),
        ("SCAN", Some(scene)) => {
            format!("<EventKey><![CDATA[{scene}]]></EventKey><Ticket><![CDATA[gQticket]]></Ticket>")
        }
        _ => String::new(),
    };
    let xml = format!(
        "<xml><ToUserName><![CDATA[{GH}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>\
         <CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>\
         <Event><![CDATA[{event}]]></Event>{key}</xml>"
    );
    cipher.encrypt(&xml, f["app_id"].as_str().unwrap())
}

async fn credited(app: &TestApp) -> u64 {
    referrals::Entity::find().count(&app.db).await.unwrap()
}

async fn box_chances(app: &TestApp, token: &str) -> u64 {
    let response = app
        .get(
            &format!("/api/v1/campaigns/{Q3}/lottery/{BOX}/chances"),
            Some(token),
        )
        .await;
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["left"]
        .as_u64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_first_follow_by_an_inviters_qr_code_is_credited_once_under_retried_callbacks() {
    let sim = mid_autumn().await;
    let inviter = sim.app.customer_token("oInviter00000001").await;
    let code = invite_code(&sim.app, &inviter).await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let scene = format!("inv_{code}");
    let subscribe = follow(
        "oFriendFollower0000000000001",
        1_780_000_000,
        "subscribe",
        Some(&scene),
    );
    // WeChat retries a callback it got no answer for: the same message, five times at once.
    let answers = join_all((0..5).map(|_| sim.send_encrypted(&subscribe))).await;
    assert!(answers.iter().all(|a| a.status() == 200));
    assert_eq!(
        credited(&sim.app).await,
        0,
        "queued until WeChat names the follower"
    );
    // The referrals job, as the scheduler runs it.
    sim.app.clock.advance(chrono::Duration::seconds(10));
    wxcampaign::jobs::Scheduler::new(sim.app.state.clone())
        .run_due()
        .await
        .unwrap();
    assert_eq!(credited(&sim.app).await, 1);
    assert_eq!(
        resolve(&sim.app).await,
        Default::default(),
        "nothing left to credit"
    );
    let progress = invite_code(&sim.app, &inviter).await;
    assert_eq!(progress["credited_total"], json!(1));
    assert_eq!(progress["activity"]["activity"], json!("mid-autumn-invite"));
    assert_eq!(progress["activity"]["credited"], json!(1));
    assert_eq!(progress["activity"]["reached"], json!(false));
    // A forged copy (wrong signature) from another new follower credits nothing.
    let forged = follow(
        "oFriendFollower0000000000002",
        1_780_000_001,
        "subscribe",
        Some(&scene),
    );
    let query = sim.encrypted_query(
        &crate::wechat_sim::now(),
        &crate::wechat_sim::fresh_nonce(),
        "tampered",
    );
    let refused = sim.post(&query, crate::wechat_sim::envelope(&forged)).await;
    assert_eq!(refused.status(), 401);
    assert_eq!(credited(&sim.app).await, 1);
}

#[tokio::test]
async fn the_milestone_pays_at_the_third_credited_friend_only() {
    let sim = mid_autumn().await;
    let inviter = sim.app.customer_token("oInviter00000002").await;
    let code = invite_code(&sim.app, &inviter).await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let scene = format!("inv_{code}");
    let free_today = box_chances(&sim.app, &inviter).await;
    for friend in 1..=4u64 {
        let openid = format!("oMilestoneFriend000000000{friend:03}");
        let subscribe = follow(&openid, 1_780_000_000 + friend, "subscribe", Some(&scene));
        assert_eq!(sim.send_encrypted(&subscribe).await.status(), 200);
        assert_eq!(resolve(&sim.app).await.credited, 1);
        let expected = if friend >= 3 {
            free_today + 1
        } else {
            free_today
        };
        assert_eq!(
            box_chances(&sim.app, &inviter).await,
            expected,
            "after friend {friend}"
        );
    }
    let progress = invite_code(&sim.app, &inviter).await;
    assert_eq!(progress["activity"]["credited"], json!(4));
    assert_eq!(sim.app.count_events("referral_credited").await, 4);
    assert_eq!(progress["activity"]["reached"], json!(true));
    // The unlocked chance opens the blind box.
    let (status, opened) = sim
        .app
        .draw_answered(&inviter, Q3, BOX, "milestone-box-1")
        .await;
    assert_eq!(status, 200, "{opened}");
}

#[tokio::test]
async fn refollows_scans_unknown_codes_and_self_invites_credit_nothing() {
    let sim = mid_autumn().await;
    let inviter = sim.app.customer_token("oInviter00000003").await;
    let code = invite_code(&sim.app, &inviter).await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let scene = format!("inv_{code}");
    // Followed before, unfollowed, then follows again through the code: a re-follow, not a new customer.
    let returning = "oReturningFollower0000000001";
    for (at, event, scene) in [
        (1_780_000_010, "subscribe", None),
        (1_780_000_020, "unsubscribe", None),
        (1_780_000_030, "subscribe", Some(scene.as_str())),
    ] {
        assert_eq!(
            sim.send_encrypted(&follow(returning, at, event, scene))
                .await
                .status(),
            200
        );
    }
    // A follower already scanning the code (SCAN), and a first follow through a code nobody holds.
    let follower = "oExistingFollower00000000001";
    assert_eq!(
        sim.send_encrypted(&follow(follower, 1_780_000_040, "subscribe", None))
            .await
            .status(),
        200
    );
    assert_eq!(
        sim.send_encrypted(&follow(follower, 1_780_000_050, "SCAN", Some(&scene)))
            .await
            .status(),
        200
    );
    let stranger = follow(
        "oStrangerFollower00000000001",
        1_780_000_060,
        "subscribe",
        Some("inv_ZZZZZZZZ"),
    );
    assert_eq!(sim.send_encrypted(&stranger).await.status(), 200);
    // The mini-program way: an existing customer's login, and a new one with an unknown code.
    let again = sim
        .app
        .post_json(
            "/api/v1/auth/dev-login",
            None,
            &json!({ "openid": "oInviter00000003", "inviter": code }),
        )
        .await;
    assert_eq!(
        again.status(),
        200,
        "a self-invite is no error, and no credit"
    );
    let unknown = sim
        .app
        .post_json(
            "/api/v1/auth/dev-login",
            None,
            &json!({ "openid": "oNewCustomer0000001", "inviter": "ZZZZZZZZ" }),
        )
        .await;
    assert_eq!(unknown.status(), 200);
    assert_eq!(credited(&sim.app).await, 0);
    assert_eq!(
        invite_code(&sim.app, &inviter).await["credited_total"],
        json!(0)
    );
}

#[tokio::test]
async fn a_new_customers_first_login_through_a_shared_path_credits_its_inviter_once() {
    let sim = mid_autumn().await;
    let inviter = sim.app.customer_token("oInviter00000004").await;
    let progress = invite_code(&sim.app, &inviter).await;
    let code = progress["code"].as_str().unwrap().to_owned();
    assert_eq!(
        progress["share_path"],
        json!(format!("/pages/home/index?inviter={code}"))
    );
    let login = json!({ "openid": "oSharedPathFriend01", "inviter": code });
    for _ in 0..3 {
        let response = sim
            .app
            .post_json("/api/v1/auth/dev-login", None, &login)
            .await;
        assert_eq!(response.status(), 200);
    }
    assert_eq!(credited(&sim.app).await, 1, "the first login only");
    // The friend cannot credit the inviter back (a loop), nor a second inviter later.
    let friend = sim.app.customer_token("oSharedPathFriend01").await;
    let friends_code = invite_code(&sim.app, &friend).await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let back = sim
        .app
        .post_json(
            "/api/v1/auth/dev-login",
            None,
            &json!({ "openid": "oInviter00000004", "inviter": friends_code }),
        )
        .await;
    assert_eq!(back.status(), 200);
    assert_eq!(credited(&sim.app).await, 1);
    assert_eq!(
        invite_code(&sim.app, &inviter).await["activity"]["credited"],
        json!(1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_invite_qr_code_is_asked_of_wechat_once_even_by_concurrent_first_asks() {
    let sim = mid_autumn().await;
    sim.app.wechat.issues_token("OA_TOKEN_REFERRALS").await;
    sim.app
        .wechat
        .answers(
            "POST",
            "/cgi-bin/qrcode/create",
            json!({ "ticket": "gQticket", "expire_seconds": 2_592_000, "url": "http://weixin.qq.com/q/referral" }),
        )
        .await;
    let inviter = sim.app.customer_token("oInviter00000005").await;
    let code = invite_code(&sim.app, &inviter).await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    // Ten first asks at once (a double tap, a poster made at the same moment), then one more later.
    let asks =
        join_all((0..10).map(|_| sim.app.get("/api/v1/me/referrals/qr", Some(&inviter)))).await;
    let later = sim.app.get("/api/v1/me/referrals/qr", Some(&inviter)).await;
    for response in asks.into_iter().chain([later]) {
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.json::<Value>().await.unwrap()["url"],
            json!("http://weixin.qq.com/q/referral")
        );
    }
    let asked = sim.app.wechat.requests("/cgi-bin/qrcode/create").await;
    assert_eq!(asked.len(), 1);
    let body: Value = serde_json::from_slice(&asked[0].body).unwrap();
    assert_eq!(body["action_name"], json!("QR_STR_SCENE"));
    assert_eq!(
        body["action_info"]["scene"]["scene_str"],
        json!(format!("inv_{code}"))
    );
}

#[tokio::test]
async fn one_person_counts_once_whichever_identity_and_inviter_they_come_in_by() {
    use wxcampaign::users::service::{link_user, Channel};
    let sim = mid_autumn().await;
    let first = sim.app.customer_token("oInviter00000006").await;
    let second = sim.app.customer_token("oInviter00000007").await;
    let first_code = invite_code(&sim.app, &first).await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let second_code = invite_code(&sim.app, &second).await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    // The person comes into the mini-program through the first inviter's shared path (WeChat names their unionid).
    let person = link_user(
        &sim.app.db,
        Channel::MiniProgram,
        "oPersonMiniProgram01",
        Some("uPersonUnion0000001"),
        sim.app.state.context().now,
    )
    .await
    .unwrap();
    let credited_first = wxcampaign::referrals::service::credit_first_login(
        sim.app.state.context(),
        person.id,
        &first_code,
    )
    .await
    .unwrap();
    assert!(credited_first.is_some());
    // Then follows the official account through the second inviter's QR code, as another openid.
    sim.app
        .wechat
        .knows_followers(&[("oPersonOfficialAccount000001", Some("uPersonUnion0000001"))])
        .await;
    let subscribe = follow(
        "oPersonOfficialAccount000001",
        1_780_000_100,
        "subscribe",
        Some(&format!("inv_{second_code}")),
    );
    assert_eq!(sim.send_encrypted(&subscribe).await.status(), 200);
    assert_eq!(
        resolve(&sim.app).await.refused,
        1,
        "the same person, already counted"
    );
    assert_eq!(credited(&sim.app).await, 1);
    assert_eq!(
        invite_code(&sim.app, &second).await["credited_total"],
        json!(0)
    );
    assert_eq!(
        invite_code(&sim.app, &first).await["credited_total"],
        json!(1)
    );
}
