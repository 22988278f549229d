//! The official account's calls: web OAuth, template, customer-service and mass messages, user tags, QR codes.

use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::client::{to_json, App, WeChatClient, WeChatError};
use crate::telemetry::mask_openid;

impl WeChatClient {
    /// Web OAuth: the code from the authorize redirect, exchanged once for the user's openid.
    pub async fn oauth_exchange(&self, code: &str) -> Result<OAuthGrant, WeChatError> {
        let app = &self.official_account;
        self.json(self.http.get(self.url("/sns/oauth2/access_token")).query(&[
            ("appid", app.app_id.as_str()),
            ("secret", app.secret.expose_secret()),
            ("code", code),
            ("grant_type", "authorization_code"),
        ]))
        .await
    }

    /// Web OAuth (`snsapi_userinfo`): the user's profile, with the user's own token, not the app's.
    pub async fn oauth_userinfo(&self, grant: &OAuthGrant) -> Result<OAuthUserInfo, WeChatError> {
        self.json(self.http.get(self.url("/sns/userinfo")).query(&[
            ("access_token", grant.access_token.as_str()),
            ("openid", grant.openid.as_str()),
            ("lang", "zh_CN"),
        ]))
        .await
    }

    /// An official-account template message; `client_msg_id` makes a retry idempotent. Returns WeChat's msgid.
    pub async fn send_template_message(
        &self,
        message: &TemplateMessage,
    ) -> Result<i64, WeChatError> {
        #[derive(Deserialize)]
        struct Answer {
            msgid: i64,
        }
        let answer: Answer = self
            .post_with_token(
                App::OfficialAccount,
                "/cgi-bin/message/template/send",
                &to_json(message)?,
            )
            .await?;
        Ok(answer.msgid)
    }

    /// A customer-service text message (within 48 h of the user's last message).
    pub async fn send_custom_text(&self, openid: &str, content: &str) -> Result<(), WeChatError> {
        let body = json!({ "touser": openid, "msgtype": "text", "text": { "content": content } });
        let _: Value = self
            .post_with_token(App::OfficialAccount, "/cgi-bin/message/custom/send", &body)
            .await?;
        Ok(())
    }

    /// A customer-service news message with one article.
    pub async fn send_custom_news(
        &self,
        openid: &str,
        article: &NewsArticle,
    ) -> Result<(), WeChatError> {
        let body =
            json!({ "touser": openid, "msgtype": "news", "news": { "articles": [article] } });
        let _: Value = self
            .post_with_token(App::OfficialAccount, "/cgi-bin/message/custom/send", &body)
            .await?;
        Ok(())
    }

    /// Mass send of a published article (`mpnews` media id) to one tag; `clientmsgid` makes it idempotent.
    /// Returns WeChat's msg_id, which MASSSENDJOBFINISH reports on.
    pub async fn mass_send_by_tag(
        &self,
        tag_id: i64,
        media_id: &str,
        client_msg_id: &str,
    ) -> Result<i64, WeChatError> {
        #[derive(Deserialize)]
        struct Answer {
            msg_id: i64,
        }
        let body = json!({
            "filter": { "is_to_all": false, "tag_id": tag_id },
            "mpnews": { "media_id": media_id },
            "msgtype": "mpnews",
            "send_ignore_reprint": 0,
            "clientmsgid": client_msg_id,
        });
        let answer: Answer = self
            .post_with_token(App::OfficialAccount, "/cgi-bin/message/mass/sendall", &body)
            .await?;
        Ok(answer.msg_id)
    }

    pub async fn create_tag(&self, name: &str) -> Result<Tag, WeChatError> {
        #[derive(Deserialize)]
        struct Answer {
            tag: Tag,
        }
        let answer: Answer = self
            .post_with_token(
                App::OfficialAccount,
                "/cgi-bin/tags/create",
                &json!({ "tag": { "name": name } }),
            )
            .await?;
        Ok(answer.tag)
    }

    pub async fn list_tags(&self) -> Result<Vec<Tag>, WeChatError> {
        #[derive(Deserialize)]
        struct Answer {
            tags: Vec<Tag>,
        }
        let answer: Answer = self
            .with_token(App::OfficialAccount, |token| {
                self.http
                    .get(self.url("/cgi-bin/tags/get"))
                    .query(&[("access_token", token)])
            })
            .await?;
        Ok(answer.tags)
    }

    /// Tags up to 50 openids per call; longer lists are sent in batches of 50.
    pub async fn tag_users(&self, tag_id: i64, openids: &[String]) -> Result<(), WeChatError> {
        self.batch_tagging("/cgi-bin/tags/members/batchtagging", tag_id, openids)
            .await
    }

    pub async fn untag_users(&self, tag_id: i64, openids: &[String]) -> Result<(), WeChatError> {
        self.batch_tagging("/cgi-bin/tags/members/batchuntagging", tag_id, openids)
            .await
    }

    async fn batch_tagging(
        &self,
        path: &str,
        tag_id: i64,
        openids: &[String],
    ) -> Result<(), WeChatError> {
        for batch in openids.chunks(50) {
            let body = json!({ "openid_list": batch, "tagid": tag_id });
            let _: Value = self
                .post_with_token(App::OfficialAccount, path, &body)
                .await?;
        }
        Ok(())
    }

    pub async fn user_tag_ids(&self, openid: &str) -> Result<Vec<i64>, WeChatError> {
        #[derive(Deserialize)]
        struct Answer {
            tagid_list: Vec<i64>,
        }
        let answer: Answer = self
            .post_with_token(
                App::OfficialAccount,
                "/cgi-bin/tags/getidlist",
                &json!({ "openid": openid }),
            )
            .await?;
        Ok(answer.tagid_list)
    }

    /// A follower's unionid (`cgi-bin/user/info`), when the account is bound to an open platform: what links the
    /// follower to the same person's mini-program identity.
    pub async fn follower_unionid(&self, openid: &str) -> Result<Option<String>, WeChatError> {
        #[derive(Deserialize)]
        struct Answer {
            #[serde(default)]
            unionid: Option<String>,
        }
        let answer: Answer = self
            .with_token(App::OfficialAccount, |token| {
                self.http.get(self.url("/cgi-bin/user/info")).query(&[
                    ("access_token", token),
                    ("openid", openid),
                    ("lang", "zh_CN"),
                ])
            })
            .await?;
        Ok(answer.unionid.filter(|unionid| !unionid.is_empty()))
    }

    /// A temporary parametric QR code (`QR_STR_SCENE`): scanning it sends subscribe/SCAN with this scene.
    pub async fn create_scene_qr(
        &self,
        scene: &str,
        expire_seconds: u32,
    ) -> Result<QrTicket, WeChatError> {
        let body = json!({
            "expire_seconds": expire_seconds,
            "action_name": "QR_STR_SCENE",
            "action_info": { "scene": { "scene_str": scene } },
        });
        self.post_with_token(App::OfficialAccount, "/cgi-bin/qrcode/create", &body)
            .await
    }
}

impl std::fmt::Debug for OAuthGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthGrant")
            .field("openid", &mask_openid(&self.openid))
            .field("access_token", &"***")
            .field("scope", &self.scope)
            .finish()
    }
}

#[derive(Clone, Deserialize)]
pub struct OAuthGrant {
    pub access_token: String,
    pub openid: String,
    #[serde(default)]
    pub unionid: Option<String>,
    #[serde(default)]
    pub scope: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OAuthUserInfo {
    pub openid: String,
    #[serde(default)]
    pub nickname: String,
    #[serde(default)]
    pub unionid: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TemplateMessage {
    pub touser: String,
    pub template_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub miniprogram: Option<Value>,
    pub client_msg_id: String,
    pub data: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct NewsArticle {
    pub title: String,
    pub description: String,
    pub url: String,
    pub picurl: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub count: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct QrTicket {
    pub ticket: String,
    #[serde(default)]
    pub expire_seconds: u32,
    pub url: String,
}
