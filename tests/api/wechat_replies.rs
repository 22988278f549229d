use serde_json::{json, Value};
use wxcampaign::auth::Role;

use crate::helpers::error_code;
use crate::wechat_sim::{fixture, WeChatSim};

#[tokio::test]
async fn operators_manage_rules_and_every_change_is_audited() {
    let sim = WeChatSim::start("safe", false).await;
    let app = &sim.app;
    let operator = app.staff_token("olivia", Role::Operator).await;
    let before = app.count_audit_entries().await;

    let welcome = app
        .post_json(
            "/admin/v1/wechat/replies",
            Some(&operator),
            &json!({ "trigger": "subscribe", "reply": { "type": "news", "title": "欢迎关注", "description": "年终感恩",
                     "pic_url": "https://bank.example/p.png", "url": "https://bank.example/h5" } }),
        )
        .await;
    assert_eq!(welcome.status(), 201);
    let welcome: Value = welcome.json().await.unwrap();
    let click = app
        .post_json(
            "/admin/v1/wechat/replies",
            Some(&operator),
            &json!({ "trigger": "click", "pattern": "MENU_POINTS", "reply": { "type": "text", "content": "积分 100" } }),
        )
        .await;
    assert_eq!(click.status(), 201);
    let click: Value = click.json().await.unwrap();

    // A follow gets the welcome news, a menu click its text.
    let reply = sim.open_reply(
        &sim.send_encrypted(&fixture("subscribe").1)
            .await
            .text()
            .await
            .unwrap(),
    );
    assert!(
        reply.contains("<ArticleCount>1</ArticleCount>") && reply.contains("欢迎关注"),
        "{reply}"
    );
    let reply = sim.open_reply(
        &sim.send_encrypted(&fixture("click").1)
            .await
            .text()
            .await
            .unwrap(),
    );
    assert!(reply.contains("积分 100"), "{reply}");

    let replaced = app
        .api
        .put(app.url(&format!("/admin/v1/wechat/replies/{}", click["id"])))
        .bearer_auth(&operator)
        .json(&json!({ "trigger": "click", "pattern": "MENU_POINTS", "enabled": false, "reply": { "type": "text", "content": "x" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(replaced.status(), 200);
    let deleted = app
        .api
        .delete(app.url(&format!("/admin/v1/wechat/replies/{}", welcome["id"])))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(app.count_audit_entries().await, before + 4);

    let auditor = app.staff_token("audrey", Role::Auditor).await;
    let audit: Value = app
        .get(
            "/admin/v1/audit?target_type=auto_reply_rule",
            Some(&auditor),
        )
        .await
        .json()
        .await
        .unwrap();
    let update = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "auto_reply.update")
        .unwrap();
    assert_eq!(update["actor"], "olivia");
    assert_eq!(update["before"]["enabled"], true);
    assert_eq!(update["after"]["enabled"], false);

    // The disabled click rule and the deleted welcome no longer answer.
    let later = sim
        .send_encrypted(&fixture("scan").1)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(later, "success");
}

#[tokio::test]
async fn invalid_rules_and_other_roles_are_refused_with_nothing_written() {
    let sim = WeChatSim::start("safe", false).await;
    let app = &sim.app;
    let operator = app.staff_token("olivia", Role::Operator).await;
    let manager = app.staff_token("carl", Role::CommunityManager).await;
    let before = app.count_audit_entries().await;

    for (body, code) in [
        (
            json!({ "trigger": "keyword", "reply": { "type": "text", "content": "x" } }),
            "invalid_rule",
        ),
        (
            json!({ "trigger": "subscribe", "pattern": "hi", "reply": { "type": "text", "content": "x" } }),
            "invalid_rule",
        ),
        (
            json!({ "trigger": "keyword", "pattern": "hi", "reply": { "type": "text", "content": "x".repeat(3000) } }),
            "invalid_rule",
        ),
        (
            json!({ "trigger": "keyword", "pattern": "hi", "reply": { "type": "news", "title": "t", "description": "",
                 "pic_url": "", "url": "javascript:alert(1)" } }),
            "invalid_rule",
        ),
        (
            json!({ "trigger": "shout", "pattern": "hi", "reply": { "type": "text", "content": "x" } }),
            "invalid_field",
        ),
    ] {
        let response = app
            .post_json("/admin/v1/wechat/replies", Some(&operator), &body)
            .await;
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(error_code(response).await, code, "{body}");
    }
    let forbidden = app
        .post_json(
            "/admin/v1/wechat/replies",
            Some(&manager),
            &json!({ "trigger": "keyword", "pattern": "hi", "reply": { "type": "text", "content": "x" } }),
        )
        .await;
    assert_eq!(forbidden.status(), 403);
    let missing = app
        .api
        .delete(app.url("/admin/v1/wechat/replies/9999"))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(error_code(missing).await, "rule_not_found");
    assert_eq!(app.count_audit_entries().await, before);
    let rules: Value = app
        .get("/admin/v1/wechat/replies", Some(&operator))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rules["rules"].as_array().unwrap().len(), 0);
}
