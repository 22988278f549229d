//! The mini-program's calls: login, phone numbers, subscribe messages, mini-program codes, content checks.

use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::client::{looks_like_json, to_json, App, WeChatClient, WeChatError};
use crate::telemetry::{mask_openid, mask_phone};

impl WeChatClient {
    /// Mini-program login: `wx.login` code to openid, session_key and (when bound) unionid.
    pub async fn code_to_session(&self, js_code: &str) -> Result<MiniProgramSession, WeChatError> {
        let app = &self.mini_program;
        self.json(self.http.get(self.url("/sns/jscode2session")).query(&[
            ("appid", app.app_id.as_str()),
            ("secret", app.secret.expose_secret()),
            ("js_code", js_code),
            ("grant_type", "authorization_code"),
        ]))
        .await
    }

    /// The phone number behind a `getPhoneNumber` code. The watermark is checked by the caller.
    pub async fn phone_number(&self, code: &str) -> Result<PhoneInfo, WeChatError> {
        #[derive(Deserialize)]
        struct Answer {
            phone_info: PhoneInfo,
        }
        let answer: Answer = self
            .post_with_token(
                App::MiniProgram,
                "/wxa/business/getuserphonenumber",
                &json!({ "code": code }),
            )
            .await?;
        Ok(answer.phone_info)
    }

    /// A mini-program subscribe message (spends one consent; 43101 means none is left).
    pub async fn send_subscribe_message(
        &self,
        message: &SubscribeMessage,
    ) -> Result<(), WeChatError> {
        let _: Value = self
            .post_with_token(
                App::MiniProgram,
                "/cgi-bin/message/subscribe/send",
                &to_json(message)?,
            )
            .await?;
        Ok(())
    }

    /// A mini-program code image. WeChat answers image bytes on success and JSON on error: the body is sniffed.
    pub async fn wxacode_unlimited(
        &self,
        request: &WxaCodeRequest,
    ) -> Result<Vec<u8>, WeChatError> {
        if request.scene.is_empty() || request.scene.len() > 32 {
            return Err(WeChatError::Decode("scene must be 1-32 characters".into()));
        }
        let body = to_json(request)?;
        let (content_type, bytes) = self
            .raw_with_token(App::MiniProgram, |token| {
                self.http
                    .post(self.url("/wxa/getwxacodeunlimit"))
                    .query(&[("access_token", token)])
                    .json(&body)
            })
            .await?;
        if looks_like_json(content_type.as_deref(), &bytes) {
            return Err(WeChatError::Decode("expected an image, got JSON".into()));
        }
        Ok(bytes)
    }

    /// Content security check (v2) of user-written text; returns `pass`, `review` or `risky`.
    pub async fn msg_sec_check(
        &self,
        openid: &str,
        scene: u8,
        content: &str,
    ) -> Result<String, WeChatError> {
        #[derive(Deserialize)]
        struct Verdict {
            suggest: String,
        }
        #[derive(Deserialize)]
        struct Answer {
            result: Verdict,
        }
        let body = json!({ "version": 2, "openid": openid, "scene": scene, "content": content });
        let answer: Answer = self
            .post_with_token(App::MiniProgram, "/wxa/msg_sec_check", &body)
            .await?;
        Ok(answer.result.suggest)
    }

    /// Image content check (`img_sec_check`, the image as a multipart `media` part, at most 1 MB and 750x1334):
    /// `true` when WeChat passes it, `false` for its risky-content answer (87014).
    pub async fn img_sec_check(&self, image: &[u8], mime: &str) -> Result<bool, WeChatError> {
        let checked: Result<Value, WeChatError> = self
            .with_token(App::MiniProgram, |token| {
                let form = reqwest::multipart::Form::new().part(
                    "media",
                    reqwest::multipart::Part::bytes(image.to_vec())
                        .file_name("upload")
                        .mime_str(mime)
                        .unwrap_or_else(|_| reqwest::multipart::Part::bytes(image.to_vec())),
                );
                self.http
                    .post(self.url("/wxa/img_sec_check"))
                    .query(&[("access_token", token)])
                    .multipart(form)
            })
            .await;
        match checked {
            Ok(_) => Ok(true),
            Err(WeChatError::Api {
                errcode: RISKY_CONTENT,
                ..
            }) => Ok(false),
            Err(error) => Err(error),
        }
    }
}

/// WeChat's answer to content that fails its check.
const RISKY_CONTENT: i64 = 87014;

/// Debug output of what WeChat hands us about a person: masked ids, never a key, a token or a number.
impl std::fmt::Debug for MiniProgramSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniProgramSession")
            .field("openid", &mask_openid(&self.openid))
            .field("session_key", &"***")
            .finish()
    }
}

impl std::fmt::Debug for PhoneInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhoneInfo")
            .field("phone", &mask_phone(&self.pure_phone_number))
            .field("watermark", &self.watermark)
            .finish()
    }
}

#[derive(Clone, Deserialize)]
pub struct MiniProgramSession {
    pub openid: String,
    pub session_key: String,
    #[serde(default)]
    pub unionid: Option<String>,
}

#[derive(Clone, Deserialize)]
pub struct PhoneInfo {
    #[serde(rename = "purePhoneNumber")]
    pub pure_phone_number: String,
    #[serde(rename = "countryCode", default)]
    pub country_code: String,
    pub watermark: Watermark,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Watermark {
    pub appid: String,
    #[serde(default)]
    pub timestamp: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SubscribeMessage {
    pub touser: String,
    pub template_id: String,
    pub page: Option<String>,
    /// `{"thing1": {"value": "..."}, ...}`
    pub data: Value,
    /// `formal`, `trial` or `developer`.
    pub miniprogram_state: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct WxaCodeRequest {
    /// At most 32 characters: a short lookup code we store, not data.
    pub scene: String,
    pub page: String,
    pub check_path: bool,
    pub env_version: String,
    pub width: u32,
}
