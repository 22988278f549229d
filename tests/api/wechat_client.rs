use futures::future::join_all;
use serde_json::{json, Value};
use wiremock::matchers::{body_partial_json, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};
use wxcampaign::wechat::client::{NewsArticle, SubscribeMessage, TemplateMessage, WxaCodeRequest};

use crate::helpers::{spawn_app, spawn_app_with};

const TAGS: &str = "/cgi-bin/tags/get";
const TOKEN: &str = "/cgi-bin/stable_token";

fn tags_body() -> Value {
    json!({ "tags": [{ "id": 2, "name": "星标组", "count": 3 }] })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_calls_on_two_instances_fetch_the_token_once() {
    let first = spawn_app().await;
    let second = first.second_instance().await;
    first.wechat.issues_token("TOKEN_1").await;
    first.wechat.answers("GET", TAGS, tags_body()).await;

    let calls = (0..50).map(|i| {
        let client = if i % 2 == 0 {
            first.state.wechat.clone()
        } else {
            second.state.wechat.clone()
        };
        async move { client.list_tags().await }
    });
    let results = join_all(calls).await;
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().is_ok_and(|tags| tags[0].name == "星标组")),
        "{results:?}"
    );
    assert_eq!(
        first.wechat.calls(TOKEN).await,
        1,
        "one token fetch for both instances"
    );
    assert_eq!(first.wechat.calls(TAGS).await, 50);
    let token_request: Value = first.wechat.requests(TOKEN).await[0].body_json().unwrap();
    assert_eq!(token_request["grant_type"], "client_credential");
    assert_eq!(token_request["force_refresh"], false);
    assert!(first.wechat.requests(TAGS).await.iter().all(|r| r
        .url
        .query()
        .unwrap()
        .contains("access_token=TOKEN_1")));
}

#[tokio::test]
async fn a_stale_token_triggers_exactly_one_refresh_and_one_retry() {
    let app = spawn_app().await;
    let fake = &app.wechat.server;
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "access_token": "OLD", "expires_in": 7200 })),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(fake)
        .await;
    app.wechat.issues_token("NEW").await;
    Mock::given(method("GET"))
        .and(path(TAGS))
        .and(query_param("access_token", "OLD"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "errcode": 40001, "errmsg": "invalid credential" })),
        )
        .mount(fake)
        .await;
    Mock::given(method("GET"))
        .and(path(TAGS))
        .and(query_param("access_token", "NEW"))
        .respond_with(ResponseTemplate::new(200).set_body_json(tags_body()))
        .mount(fake)
        .await;

    assert_eq!(app.state.wechat.list_tags().await.unwrap().len(), 1);
    assert_eq!(app.wechat.calls(TOKEN).await, 2, "one refresh");
    assert_eq!(app.wechat.calls(TAGS).await, 2, "one retry");
    // The fresh token is cached: the next call fetches nothing.
    app.state.wechat.list_tags().await.unwrap();
    assert_eq!(app.wechat.calls(TOKEN).await, 2);
}

#[tokio::test]
async fn a_token_that_stays_stale_is_surfaced_after_one_retry() {
    let app = spawn_app().await;
    app.wechat.issues_token("ALWAYS_BAD").await;
    app.wechat
        .answers(
            "GET",
            TAGS,
            json!({ "errcode": 42001, "errmsg": "access_token expired" }),
        )
        .await;
    let error = app.state.wechat.list_tags().await.unwrap_err();
    assert_eq!(error.errcode(), Some(42001));
    assert_eq!(app.wechat.calls(TAGS).await, 2);
}

#[tokio::test]
async fn quota_and_configuration_errors_are_surfaced_without_retry() {
    for code in [45009, 40164, 48001] {
        let app = spawn_app().await;
        app.wechat.issues_token("T").await;
        app.wechat
            .answers("GET", TAGS, json!({ "errcode": code, "errmsg": "no" }))
            .await;
        let error = app.state.wechat.list_tags().await.unwrap_err();
        assert_eq!(error.errcode(), Some(code));
        assert_eq!(app.wechat.calls(TAGS).await, 1, "{code} is not retried");
        assert_eq!(
            app.wechat.calls(TOKEN).await,
            1,
            "{code} does not refresh the token"
        );
    }
}

#[tokio::test]
async fn a_busy_answer_is_retried_with_backoff() {
    let app = spawn_app().await;
    app.wechat.issues_token("T").await;
    Mock::given(method("GET"))
        .and(path(TAGS))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "errcode": -1, "errmsg": "system busy" })),
        )
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&app.wechat.server)
        .await;
    app.wechat.answers("GET", TAGS, tags_body()).await;
    assert!(app.state.wechat.list_tags().await.is_ok());
    assert_eq!(app.wechat.calls(TAGS).await, 3);
}

#[tokio::test]
async fn the_classic_token_endpoint_can_be_chosen() {
    let app = spawn_app_with(&[("APP__WECHAT__TOKEN_ENDPOINT", "token")]).await;
    app.wechat
        .answers(
            "GET",
            "/cgi-bin/token",
            json!({ "access_token": "CLASSIC", "expires_in": 7200 }),
        )
        .await;
    app.wechat.answers("GET", TAGS, tags_body()).await;
    app.state.wechat.list_tags().await.unwrap();
    let request = &app.wechat.requests("/cgi-bin/token").await[0];
    assert!(request
        .url
        .query()
        .unwrap()
        .contains("grant_type=client_credential"));
    assert_eq!(app.wechat.calls(TOKEN).await, 0);
}

fn wxacode() -> WxaCodeRequest {
    WxaCodeRequest {
        scene: "inv=42".into(),
        page: "pages/index/index".into(),
        check_path: false,
        env_version: "release".into(),
        width: 430,
    }
}

#[tokio::test]
async fn a_wxacode_json_error_is_an_error_and_an_image_is_bytes() {
    let app = spawn_app().await;
    app.wechat.issues_token("T").await;
    Mock::given(method("POST"))
        .and(path("/wxa/getwxacodeunlimit"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/json")
                .set_body_json(json!({ "errcode": 40097, "errmsg": "invalid args" })),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&app.wechat.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/wxa/getwxacodeunlimit"))
        .and(body_partial_json(json!({ "scene": "inv=42" })))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "image/jpeg")
                .set_body_bytes(vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]),
        )
        .mount(&app.wechat.server)
        .await;

    let error = app
        .state
        .wechat
        .wxacode_unlimited(&wxacode())
        .await
        .unwrap_err();
    assert_eq!(error.errcode(), Some(40097));
    let image = app
        .state
        .wechat
        .wxacode_unlimited(&wxacode())
        .await
        .unwrap();
    assert_eq!(&image[..3], &[0xFF, 0xD8, 0xFF]);
    let long_scene = WxaCodeRequest {
        scene: "x".repeat(33),
        ..wxacode()
    };
    assert!(app
        .state
        .wechat
        .wxacode_unlimited(&long_scene)
        .await
        .is_err());
    assert_eq!(
        app.wechat.calls("/wxa/getwxacodeunlimit").await,
        2,
        "an over-long scene is refused before sending"
    );
}

#[tokio::test]
async fn a_stale_token_on_an_image_call_is_refreshed_too() {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "access_token": "OLD", "expires_in": 7200 })),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&app.wechat.server)
        .await;
    app.wechat.issues_token("NEW").await;
    Mock::given(method("POST"))
        .and(path("/wxa/getwxacodeunlimit"))
        .and(query_param("access_token", "OLD"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "errcode": 40001, "errmsg": "invalid credential" })),
        )
        .mount(&app.wechat.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/wxa/getwxacodeunlimit"))
        .and(query_param("access_token", "NEW"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "image/png")
                .set_body_bytes(b"\\x89PNG....".to_vec()),
        )
        .mount(&app.wechat.server)
        .await;
    assert!(app.state.wechat.wxacode_unlimited(&wxacode()).await.is_ok());
    assert_eq!(app.wechat.calls(TOKEN).await, 2);
}

#[tokio::test]
async fn the_typed_calls_send_what_wechat_documents() {
    let app = spawn_app().await;
    let wechat = &app.state.wechat;
    let fake = &app.wechat;
    fake.issues_token("T").await;
    let ok = || json!({ "errcode": 0, "errmsg": "ok" });
    for (route, answer) in [
        ("/cgi-bin/message/subscribe/send", ok()),
        (
            "/cgi-bin/message/template/send",
            json!({ "errcode": 0, "errmsg": "ok", "msgid": 200228332 }),
        ),
        ("/cgi-bin/message/custom/send", ok()),
        (
            "/cgi-bin/message/mass/sendall",
            json!({ "errcode": 0, "errmsg": "send job submission success", "msg_id": 34182, "msg_data_id": 206227730 }),
        ),
        (
            "/cgi-bin/tags/create",
            json!({ "tag": { "id": 134, "name": "Q4活跃" } }),
        ),
        ("/cgi-bin/tags/members/batchtagging", ok()),
        ("/cgi-bin/tags/members/batchuntagging", ok()),
        ("/cgi-bin/tags/getidlist", json!({ "tagid_list": [134, 2] })),
        (
            "/cgi-bin/qrcode/create",
            json!({ "ticket": "gQH47joAAAAA", "expire_seconds": 604800, "url": "http://weixin.qq.com/q/kZgfwMTm72WWPkovabbI" }),
        ),
        (
            "/wxa/msg_sec_check",
            json!({ "errcode": 0, "errmsg": "ok", "result": { "suggest": "risky", "label": 20001 } }),
        ),
    ] {
        fake.answers("POST", route, answer).await;
    }

    wechat
        .send_subscribe_message(&SubscribeMessage {
            touser: "oMini".into(),
            template_id: "tpl".into(),
            page: Some("pages/a".into()),
            data: json!({ "thing1": { "value": "积分到账" } }),
            miniprogram_state: "formal".into(),
        })
        .await
        .unwrap();
    let sent: Value = fake.requests("/cgi-bin/message/subscribe/send").await[0]
        .body_json()
        .unwrap();
    assert_eq!(
        (sent["touser"].as_str(), sent["miniprogram_state"].as_str()),
        (Some("oMini"), Some("formal"))
    );

    let msgid = wechat
        .send_template_message(&TemplateMessage {
            touser: "oOa".into(),
            template_id: "tpl".into(),
            url: None,
            miniprogram: None,
            client_msg_id: "push-77-user-9".into(),
            data: json!({ "first": { "value": "x" } }),
        })
        .await
        .unwrap();
    assert_eq!(msgid, 200228332);
    let sent: Value = fake.requests("/cgi-bin/message/template/send").await[0]
        .body_json()
        .unwrap();
    assert_eq!(sent["client_msg_id"], "push-77-user-9");
    assert!(sent.get("url").is_none());

    wechat.send_custom_text("oOa", "你好").await.unwrap();
    wechat
        .send_custom_news(
            "oOa",
            &NewsArticle {
                title: "t".into(),
                description: "d".into(),
                url: "https://b".into(),
                picurl: "https://p".into(),
            },
        )
        .await
        .unwrap();
    let custom = fake.requests("/cgi-bin/message/custom/send").await;
    assert_eq!(
        custom[0].body_json::<Value>().unwrap()["text"]["content"],
        "你好"
    );
    assert_eq!(
        custom[1].body_json::<Value>().unwrap()["news"]["articles"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    assert_eq!(
        wechat
            .mass_send_by_tag(134, "media-1", "mass-2026-q4-1")
            .await
            .unwrap(),
        34182
    );
    let sent: Value = fake.requests("/cgi-bin/message/mass/sendall").await[0]
        .body_json()
        .unwrap();
    assert_eq!(
        (
            sent["filter"]["tag_id"].as_i64(),
            sent["clientmsgid"].as_str()
        ),
        (Some(134), Some("mass-2026-q4-1"))
    );

    assert_eq!(wechat.create_tag("Q4活跃").await.unwrap().id, 134);
    let openids: Vec<String> = (0..120).map(|i| format!("oUser{i:03}")).collect();
    wechat.tag_users(134, &openids).await.unwrap();
    let batches = fake.requests("/cgi-bin/tags/members/batchtagging").await;
    let sizes: Vec<usize> = batches
        .iter()
        .map(|r| {
            r.body_json::<Value>().unwrap()["openid_list"]
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    assert_eq!(sizes, vec![50, 50, 20], "at most 50 openids a call");
    wechat.untag_users(134, &openids[..3]).await.unwrap();
    assert_eq!(fake.calls("/cgi-bin/tags/members/batchuntagging").await, 1);
    assert_eq!(wechat.user_tag_ids("oUser001").await.unwrap(), vec![134, 2]);

    let qr = wechat.create_scene_qr("inv_42", 604800).await.unwrap();
    assert_eq!(qr.ticket, "gQH47joAAAAA");
    let sent: Value = fake.requests("/cgi-bin/qrcode/create").await[0]
        .body_json()
        .unwrap();
    assert_eq!(
        (
            sent["action_name"].as_str(),
            sent["action_info"]["scene"]["scene_str"].as_str()
        ),
        (Some("QR_STR_SCENE"), Some("inv_42"))
    );

    assert_eq!(
        wechat.msg_sec_check("oMini", 2, "团队名").await.unwrap(),
        "risky"
    );
    let sent: Value = fake.requests("/wxa/msg_sec_check").await[0]
        .body_json()
        .unwrap();
    assert_eq!(sent["version"], 2);

    assert_eq!(
        fake.calls(TOKEN).await,
        2,
        "one token per app (official account and mini-program)"
    );
}
