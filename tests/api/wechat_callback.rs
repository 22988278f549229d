use futures::future::join_all;
use serde_json::json;
use wxcampaign::auth::Role;
use wxcampaign::wechat::message::{Event, Inbound, InboundKind};

use crate::helpers::error_code;
use crate::wechat_sim::{
    envelope, fixture, fixtures, fresh_nonce, now, sign, WeChatSim, GH, OPENID,
};

#[tokio::test]
async fn get_verification_echoes_echostr_only_for_a_valid_signature() {
    let sim = WeChatSim::start("safe", false).await;
    let (timestamp, nonce) = (now(), fresh_nonce());
    let good = sign(&[&sim.token, &timestamp, &nonce]);
    let url = |signature: &str| {
        sim.app.url(&format!(
            "/wechat/callback?signature={signature}&timestamp={timestamp}&nonce={nonce}&echostr=4567890123"
        ))
    };

    let ok = sim.app.api.get(url(&good)).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(
        ok.text().await.unwrap(),
        "4567890123",
        "the raw echostr, no quotes, no JSON"
    );

    let bad = sim.app.api.get(url(&"0".repeat(40))).send().await.unwrap();
    assert_eq!(bad.status(), 401);
    assert_eq!(error_code(bad).await, "invalid_signature");

    let missing = sim
        .app
        .api
        .get(sim.app.url("/wechat/callback?echostr=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400);
}

#[test]
fn the_signature_matches_the_independent_example() {
    let f = fixtures();
    let e = &f["signature_example"];
    let token = f["token"].as_str().unwrap();
    let (ts, nonce, encrypt) = (
        e["timestamp"].as_str().unwrap(),
        e["nonce"].as_str().unwrap(),
        e["encrypt"].as_str().unwrap(),
    );
    assert_eq!(
        wxcampaign::wechat::crypto::sha1_signature(&[token, ts, nonce]),
        e["signature"].as_str().unwrap()
    );
    assert_eq!(
        wxcampaign::wechat::crypto::sha1_signature(&[token, ts, nonce, encrypt]),
        e["msg_signature"].as_str().unwrap()
    );
}

#[test]
fn independent_ciphertexts_decrypt_to_their_messages() {
    let f = fixtures();
    let cipher = wxcampaign::wechat::crypto::MessageCipher::from_encoding_aes_key(
        f["encoding_aes_key"].as_str().unwrap(),
    )
    .expect("a key with non-zero trailing bits decodes");
    let app_id = f["app_id"].as_str().unwrap();
    for (name, message) in f["messages"].as_object().unwrap() {
        let decrypted = cipher
            .decrypt(message["encrypt"].as_str().unwrap(), app_id)
            .unwrap();
        assert_eq!(decrypted, message["xml"].as_str().unwrap(), "{name}");
    }
}

#[test]
fn every_message_and_event_type_parses() {
    let parse = |name: &str| Inbound::parse(&fixture(name).0).unwrap();
    let text = parse("text");
    assert_eq!(
        (
            text.to_user.as_str(),
            text.from_user.as_str(),
            text.create_time
        ),
        (GH, OPENID, 1700000001)
    );
    assert_eq!(
        text.kind,
        InboundKind::Text {
            msg_id: "24001".into(),
            content: "你好 理财".into()
        }
    );
    assert!(
        matches!(parse("image").kind, InboundKind::Image { media_id, .. } if media_id == "media_img")
    );
    assert!(
        matches!(parse("voice").kind, InboundKind::Voice { recognition: Some(r), .. } if r == "查询积分")
    );
    assert!(
        matches!(parse("video").kind, InboundKind::Video { thumb_media_id, .. } if thumb_media_id == "thumb_v")
    );
    assert!(
        matches!(parse("shortvideo").kind, InboundKind::ShortVideo { media_id, .. } if media_id == "media_sv")
    );
    assert!(
        matches!(parse("location").kind, InboundKind::Location { scale: 15, label, .. } if label == "上海市")
    );
    assert!(
        matches!(parse("link").kind, InboundKind::Link { url, .. } if url == "https://example.com/a")
    );
    let event = |name: &str| match parse(name).kind {
        InboundKind::Event(event) => event,
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(
        event("subscribe"),
        Event::Subscribe {
            scene: None,
            ticket: None
        }
    );
    assert_eq!(
        event("subscribe_qrscene"),
        Event::Subscribe {
            scene: Some("inv_42".into()),
            ticket: Some("TICKET42".into())
        }
    );
    assert_eq!(event("unsubscribe"), Event::Unsubscribe);
    assert_eq!(
        event("scan"),
        Event::Scan {
            scene: "inv_42".into(),
            ticket: Some("TICKET42".into())
        }
    );
    assert_eq!(
        event("click"),
        Event::Click {
            key: "MENU_POINTS".into()
        }
    );
    assert_eq!(
        event("view"),
        Event::View {
            url: "https://bank.example/h5".into()
        }
    );
    assert!(
        matches!(event("location_event"), Event::Location { latitude, .. } if (latitude - 23.137466).abs() < 1e-9)
    );
    assert_eq!(
        event("template_finish"),
        Event::TemplateSendJobFinish {
            msg_id: "200163836".into(),
            status: "success".into()
        }
    );
    assert!(matches!(
        event("mass_finish"),
        Event::MassSendJobFinish {
            total_count: 100,
            sent_count: 75,
            error_count: 5,
            ..
        }
    ));
    assert!(
        matches!(event("subscribe_msg_popup_one"), Event::SubscribeMsgPopup { items } if items.len() == 1 && items[0].status == "accept")
    );
    assert!(
        matches!(event("subscribe_msg_popup_many"), Event::SubscribeMsgPopup { items }
        if items.len() == 2 && items[1].template_id == "tpl_B" && items[1].status == "reject")
    );
    assert!(
        matches!(event("subscribe_msg_change"), Event::SubscribeMsgChange { items } if items[0].status == "reject")
    );
    assert!(
        matches!(event("subscribe_msg_sent"), Event::SubscribeMsgSent { items }
        if items[0].msg_id == "1700827132819554304" && items[0].error_code == 0)
    );
    assert_eq!(
        parse("unknown_type").kind,
        InboundKind::Unknown {
            msg_type: "miniprogrampage".into()
        }
    );
    assert!(
        matches!(event("unknown_event"), Event::Unknown { event, .. } if event == "some_future_event")
    );
}

#[tokio::test]
async fn every_fixture_is_accepted_in_safe_mode_and_recorded_once() {
    let sim = WeChatSim::start("safe", false).await;
    let f = fixtures();
    let messages = f["messages"].as_object().unwrap();
    for (name, message) in messages {
        let response = sim
            .send_encrypted(message["encrypt"].as_str().unwrap())
            .await;
        assert_eq!(response.status(), 200, "{name}");
        assert_eq!(
            response.text().await.unwrap(),
            "success",
            "{name}: nothing configured to say"
        );
    }
    let inbox = sim.inbox().await;
    assert_eq!(inbox.len(), messages.len());
    let click = inbox
        .iter()
        .find(|r| r.event.as_deref() == Some("CLICK"))
        .unwrap();
    assert_eq!(click.event_key.as_deref(), Some("MENU_POINTS"));
    let finish = inbox
        .iter()
        .find(|r| r.event.as_deref() == Some("TEMPLATESENDJOBFINISH"))
        .unwrap();
    assert_eq!(finish.msg_id.as_deref(), Some("200163836"));
    let unknown = inbox
        .iter()
        .find(|r| r.msg_type == "miniprogrampage")
        .unwrap();
    assert_eq!(unknown.openid, OPENID);
}

async fn follow_state(sim: &WeChatSim) -> (bool, bool, bool) {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use wxcampaign::entities::users;
    let user = users::Entity::find()
        .filter(users::Column::OaOpenid.eq(OPENID))
        .one(&sim.app.db)
        .await
        .unwrap()
        .expect("the follower has a user row");
    (
        user.oa_following,
        user.followed_at.is_some(),
        user.unfollowed_at.is_some(),
    )
}

#[tokio::test]
async fn subscribe_and_unsubscribe_keep_the_follow_state_and_ignore_older_events() {
    let sim = WeChatSim::start("safe", false).await;
    assert_eq!(
        sim.send_encrypted(&fixture("subscribe").1).await.status(),
        200
    );
    assert_eq!(follow_state(&sim).await, (true, true, false));
    assert_eq!(
        sim.send_encrypted(&fixture("unsubscribe").1).await.status(),
        200
    );
    assert_eq!(follow_state(&sim).await, (false, true, true));
    // The QR subscribe fixture is older (CreateTime 1700000011 < 1700000012): it must not flip the state back.
    assert_eq!(
        sim.send_encrypted(&fixture("subscribe_qrscene").1)
            .await
            .status(),
        200
    );
    assert_eq!(follow_state(&sim).await, (false, true, true));
    assert_eq!(sim.app.count_users().await, 1);
}

async fn keyword_rule(sim: &WeChatSim, pattern: &str, match_type: &str, content: &str) {
    let operator = sim.app.staff_token("olivia", Role::Operator).await;
    let created = sim
        .app
        .post_json(
            "/admin/v1/wechat/replies",
            Some(&operator),
            &json!({ "trigger": "keyword", "match_type": match_type, "pattern": pattern,
                     "reply": { "type": "text", "content": content } }),
        )
        .await;
    assert_eq!(created.status(), 201);
}

#[tokio::test]
async fn a_keyword_reply_is_encrypted_so_that_an_independent_implementation_reads_it() {
    let sim = WeChatSim::start("safe", false).await;
    keyword_rule(&sim, "理财", "contains", "回复 ]]> 年终感恩·财富焕新季").await;

    let response = sim.send_encrypted(&fixture("text").1).await;
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    assert!(!body.contains("年终"), "the reply is not in clear text");
    let reply = sim.open_reply(&body);
    let parsed = wxcampaign::wechat::xml::parse(&reply).unwrap();
    assert_eq!(parsed.text_of("ToUserName").as_deref(), Some(OPENID));
    assert_eq!(parsed.text_of("FromUserName").as_deref(), Some(GH));
    assert_eq!(parsed.text_of("MsgType").as_deref(), Some("text"));
    assert_eq!(
        parsed.text_of("Content").as_deref(),
        Some("回复 ]]> 年终感恩·财富焕新季")
    );
    assert!(sim.inbox().await[0].reply_rule_id.is_some());
}

#[tokio::test]
async fn plain_and_compatible_modes_answer_in_kind() {
    let plain = WeChatSim::start("plain", false).await;
    keyword_rule(&plain, "你好 理财", "exact", "欢迎").await;
    let response = plain.send_plain(&fixture("text").0).await;
    assert_eq!(response.status(), 200);
    let reply = response.text().await.unwrap();
    assert!(
        reply.starts_with("<xml>") && reply.contains("<Content><![CDATA[欢迎]]></Content>"),
        "{reply}"
    );

    // Compatible: the body carries both the plain fields and Encrypt; the encrypted copy is the one used.
    let compatible = WeChatSim::start("compatible", false).await;
    keyword_rule(&compatible, "你好 理财", "exact", "欢迎").await;
    let (xml, encrypt) = fixture("text");
    let both = xml.replace(
        "</xml>",
        &format!("<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"),
    );
    let response = compatible
        .post(
            &compatible.encrypted_query(&now(), &fresh_nonce(), &encrypt),
            both,
        )
        .await;
    assert_eq!(response.status(), 200);
    let reply = compatible.open_reply(&response.text().await.unwrap());
    assert!(reply.contains("欢迎"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_storm_has_one_side_effect_and_identical_replies() {
    let sim = WeChatSim::start("safe", false).await;
    keyword_rule(&sim, "理财", "contains", "稍等").await;
    let encrypt = fixture("text").1;
    let retries = (0..3).map(|_| sim.send_encrypted(&encrypt));
    let bodies: Vec<String> =
        join_all(retries.map(|r| async { r.await.text().await.unwrap() })).await;
    let replies: Vec<String> = bodies.iter().map(|b| sim.open_reply(b)).collect();
    assert!(replies.iter().all(|r| r == &replies[0]), "{replies:?}");
    assert_eq!(sim.count_inbox().await, 1);

    // The same for an event with a side effect on the user.
    let subscribe = fixture("subscribe").1;
    join_all((0..3).map(|_| sim.send_encrypted(&subscribe))).await;
    assert_eq!(sim.count_inbox().await, 2);
    assert_eq!(sim.app.count_users().await, 1);
}

#[tokio::test]
async fn a_message_under_the_previous_key_is_accepted_and_answered_under_it() {
    let sim = WeChatSim::start("safe", true).await;
    keyword_rule(&sim, "理财", "contains", "轮换").await;
    let f = fixtures();
    let encrypt = f["under_previous_key"]["encrypt"].as_str().unwrap();
    let response = sim.send_encrypted(encrypt).await;
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    let reply = crate::wechat_sim::open_reply(
        &sim.token,
        f["previous_aes_key_hex"].as_str().unwrap(),
        f["app_id"].as_str().unwrap(),
        &body,
    );
    assert!(reply.contains("轮换"));
}

#[tokio::test]
async fn the_projects_own_encryption_round_trips_through_the_endpoint() {
    let sim = WeChatSim::start("safe", false).await;
    let f = fixtures();
    let cipher = wxcampaign::wechat::crypto::MessageCipher::from_encoding_aes_key(
        f["encoding_aes_key"].as_str().unwrap(),
    )
    .unwrap();
    let xml = fixture("click").0;
    let response = sim
        .send_encrypted(&cipher.encrypt(&xml, f["app_id"].as_str().unwrap()))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(sim.count_inbox().await, 1);
}

/// Each bad request gets a 4xx with a stable code, and afterwards nothing was written and no dedupe key was
/// spent: the genuine message still goes through and acts.
#[tokio::test]
async fn bad_requests_are_refused_with_stable_codes_and_no_side_effect() {
    let sim = WeChatSim::start_with(
        "safe",
        false,
        &[("APP__WECHAT__OFFICIAL_ACCOUNT__CALLBACK_BODY_LIMIT", "4096")],
    )
    .await;
    let f = fixtures();
    let (_, good) = fixture("subscribe");
    let (ts, nonce) = (now(), fresh_nonce());
    let truncated = &good[..good.len() - 8];
    let stale = (chrono::Utc::now().timestamp() - 3600).to_string();
    let other_app = f["for_another_appid"]["encrypt"].as_str().unwrap();
    let wrong_key = f["under_previous_key"]["encrypt"].as_str().unwrap();
    let doctype = format!(
        r#"<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>{}"#,
        envelope(&good)
    );

    let cases: Vec<(&str, String, String, u16, &str)> = vec![
        (
            "wrong msg_signature",
            sim.encrypted_query(&ts, &nonce, "tampered"),
            envelope(&good),
            401,
            "invalid_signature",
        ),
        (
            "stale timestamp",
            sim.encrypted_query(&stale, &nonce, &good),
            envelope(&good),
            401,
            "stale_timestamp",
        ),
        (
            "another appid inside",
            sim.encrypted_query(&ts, &fresh_nonce(), other_app),
            envelope(other_app),
            400,
            "appid_mismatch",
        ),
        (
            "a key that decrypts to garbage",
            sim.encrypted_query(&ts, &fresh_nonce(), wrong_key),
            envelope(wrong_key),
            400,
            "decrypt_failed",
        ),
        (
            "truncated Encrypt",
            sim.encrypted_query(&ts, &fresh_nonce(), truncated),
            envelope(truncated),
            400,
            "decrypt_failed",
        ),
        (
            "non-base64 Encrypt",
            sim.encrypted_query(&ts, &fresh_nonce(), "%%%not base64%%%"),
            envelope("%%%not base64%%%"),
            400,
            "decrypt_failed",
        ),
        (
            "malformed XML",
            sim.encrypted_query(&ts, &fresh_nonce(), &good),
            format!("<xml><Encrypt>{good}"),
            400,
            "malformed_xml",
        ),
        (
            "a DOCTYPE",
            sim.encrypted_query(&ts, &fresh_nonce(), &good),
            doctype,
            400,
            "doctype_forbidden",
        ),
        (
            "oversized body",
            sim.encrypted_query(&ts, &fresh_nonce(), &good),
            envelope(&good) + &" ".repeat(5000),
            413,
            "payload_too_large",
        ),
        (
            "plain message in safe mode",
            sim.plain_query(&ts, &fresh_nonce()),
            fixture("subscribe").0,
            400,
            "encryption_required",
        ),
        (
            "no signature at all",
            format!("timestamp={ts}&nonce=abc"),
            envelope(&good),
            400,
            "missing_parameters",
        ),
    ];
    for (name, query, body, status, code) in cases {
        let response = sim.post(&query, body).await;
        assert_eq!(response.status(), status, "{name}");
        assert_eq!(error_code(response).await, code, "{name}");
    }
    assert_eq!(sim.count_inbox().await, 0);
    assert_eq!(sim.app.count_users().await, 0);

    let genuine = sim.send_encrypted(&good).await;
    assert_eq!(genuine.status(), 200);
    assert_eq!(sim.count_inbox().await, 1);
    assert_eq!(sim.app.count_users().await, 1);
}

/// A captured plain-mode (timestamp, nonce, signature) cannot carry another body: the nonce is bound to the
/// first body it came with.
#[tokio::test]
async fn a_replayed_nonce_with_another_body_is_refused() {
    let sim = WeChatSim::start("plain", false).await;
    let query = sim.plain_query(&now(), &fresh_nonce());
    assert_eq!(sim.post(&query, fixture("subscribe").0).await.status(), 200);
    let replay = sim.post(&query, fixture("unsubscribe").0).await;
    assert_eq!(replay.status(), 409);
    assert_eq!(error_code(replay).await, "replayed_nonce");
    assert_eq!(sim.count_inbox().await, 1);
    assert_eq!(follow_state(&sim).await, (true, true, false));

    // The identical request again is a retry: the same answer, no second side effect.
    assert_eq!(sim.post(&query, fixture("subscribe").0).await.status(), 200);
    assert_eq!(sim.count_inbox().await, 1);
}

#[tokio::test]
async fn wrong_plain_signature_is_refused() {
    let sim = WeChatSim::start("plain", false).await;
    let query = format!(
        "signature={}&timestamp={}&nonce=abc&openid={OPENID}",
        "f".repeat(40),
        now()
    );
    let response = sim.post(&query, fixture("text").0).await;
    assert_eq!(response.status(), 401);
    assert_eq!(error_code(response).await, "invalid_signature");
    assert_eq!(sim.count_inbox().await, 0);
}

/// Many different messages at once, each racing a copy of itself (WeChat's retry), with follows among them:
/// every one is answered with its reply and recorded once, with its rule and its handler's write, whichever
/// batch of the inbox writer takes it (SQLite's single writer must queue writers, never fail them).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_messages_are_all_recorded() {
    let sim = WeChatSim::start("safe", false).await;
    keyword_rule(&sim, "积分", "contains", "ok").await;
    let f = fixtures();
    let cipher = wxcampaign::wechat::crypto::MessageCipher::from_encoding_aes_key(
        f["encoding_aes_key"].as_str().unwrap(),
    )
    .unwrap();
    let app_id = f["app_id"].as_str().unwrap();
    let texts = (0..100).map(|i| {
        format!(
            "<xml><ToUserName><![CDATA[{GH}]]></ToUserName><FromUserName><![CDATA[oLoadUser{i:019}]]></FromUserName>\
             <CreateTime>1700000100</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[积分]]></Content>\
             <MsgId>{}</MsgId></xml>",
            90_000 + i
        )
    });
    let follows = (0..20).map(|i| {
        format!(
            "<xml><ToUserName><![CDATA[{GH}]]></ToUserName><FromUserName><![CDATA[oFollower{i:019}]]></FromUserName>\
             <CreateTime>1700000100</CreateTime><MsgType><![CDATA[event]]></MsgType>\
             <Event><![CDATA[subscribe]]></Event></xml>"
        )
    });
    let messages: Vec<String> = texts
        .chain(follows)
        .map(|xml| cipher.encrypt(&xml, app_id))
        .collect();
    let sends = messages.iter().chain(messages.iter()).map(|encrypt| {
        let sim = &sim;
        async move {
            let response = sim.send_encrypted(encrypt).await;
            (response.status().as_u16(), response.text().await.unwrap())
        }
    });
    let answers = join_all(sends).await;
    assert!(answers.iter().all(|(s, _)| *s == 200), "{answers:?}");
    let text_replies = answers
        .iter()
        .filter(|(_, body)| body != "success")
        .map(|(_, body)| sim.open_reply(body))
        .filter(|reply| reply.contains("<![CDATA[ok]]>"))
        .count();
    assert_eq!(text_replies, 200, "both copies of each text get its reply");
    let inbox = sim.inbox().await;
    assert_eq!(inbox.len(), 120, "each message recorded once");
    assert_eq!(
        inbox.iter().filter(|m| m.reply_rule_id.is_some()).count(),
        100,
        "each text's row names the rule that answered it"
    );
    assert_eq!(
        sim.app.count_users().await,
        20,
        "each follow recorded its follower"
    );
}

/// A message the database refuses (here a trigger, a real database fault) fails alone: the messages that shared
/// its batch are still recorded and answered, and it is refused with a 500 (WeChat retries it), recording nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_message_the_database_refuses_fails_alone_not_its_batch() {
    use sea_orm::{ConnectionTrait, DbBackend};
    let sim = WeChatSim::start("safe", false).await;
    keyword_rule(&sim, "积分", "contains", "ok").await;
    let poison = "oPoisonedUser00000000000000";
    let db = &sim.app.db;
    let statements: Vec<String> = match db.get_database_backend() {
        DbBackend::Sqlite => vec![format!(
            "create trigger poison before insert on wechat_inbox when new.openid = '{poison}' \
             begin select raise(abort, 'poisoned'); end"
        )],
        _ => vec![
            "create function poison() returns trigger language plpgsql as \
             $$ begin raise exception 'poisoned'; end $$"
                .to_owned(),
            format!(
                "create trigger poison before insert on wechat_inbox for each row \
                 when (new.openid = '{poison}') execute function poison()"
            ),
        ],
    };
    for statement in statements {
        db.execute_unprepared(&statement).await.unwrap();
    }
    let f = fixtures();
    let cipher = wxcampaign::wechat::crypto::MessageCipher::from_encoding_aes_key(
        f["encoding_aes_key"].as_str().unwrap(),
    )
    .unwrap();
    let app_id = f["app_id"].as_str().unwrap();
    let messages: Vec<(String, String)> = (0..60)
        .map(|i| {
            let from = if i == 30 { poison.to_owned() } else { format!("oBatchUser{i:017}") };
            let xml = format!(
                "<xml><ToUserName><![CDATA[{GH}]]></ToUserName><FromUserName><![CDATA[{from}]]></FromUserName>\
                 <CreateTime>1700000100</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[积分]]></Content>\
                 <MsgId>{}</MsgId></xml>",
                80_000 + i
            );
            (from, cipher.encrypt(&xml, app_id))
        })
        .collect();
    let sends = messages.iter().map(|(from, encrypt)| {
        let sim = &sim;
        async move {
            (
                from.clone(),
                sim.send_encrypted(encrypt).await.status().as_u16(),
            )
        }
    });
    let answers = join_all(sends).await;
    for (from, status) in &answers {
        let expected = if from == poison { 500 } else { 200 };
        assert_eq!(*status, expected, "{from}: {answers:?}");
    }
    let inbox = sim.inbox().await;
    assert_eq!(
        inbox.len(),
        59,
        "every message but the refused one is recorded"
    );
    assert!(inbox.iter().all(|m| m.openid != poison));
}
