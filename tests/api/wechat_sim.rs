//! The test acting as WeChat's servers: it signs with its own SHA-1 code and decrypts our replies with the
//! `openssl` command, so neither depends on the code under test. Ciphertexts come from fixtures that Python's
//! `cryptography` made (tests/fixtures/wechat/make_fixtures.py), or from the project's own crypto.

use std::io::Write;
use std::process::{Command, Stdio};

use base64::Engine;
use serde_json::Value;
use sha1::{Digest, Sha1};

use crate::helpers::{spawn_app_with, TestApp};

pub const GH: &str = "gh_fixture00001";
pub const OPENID: &str = "oFixtureUser0000000000000001";

pub fn fixtures() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/wechat/callback_fixtures.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub fn fixture(name: &str) -> (String, String) {
    let f = fixtures();
    let m = &f["messages"][name];
    (
        m["xml"].as_str().unwrap().to_owned(),
        m["encrypt"].as_str().unwrap().to_owned(),
    )
}

/// `hex(sha1(sorted parts joined))`, written here independently of `wechat::crypto`.
pub fn sign(parts: &[&str]) -> String {
    let mut parts = parts.to_vec();
    parts.sort();
    hex::encode(Sha1::digest(parts.concat().as_bytes()))
}

pub fn now() -> String {
    chrono::Utc::now().timestamp().to_string()
}

pub fn fresh_nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_owned()
}

pub struct WeChatSim {
    pub app: TestApp,
    pub token: String,
}

impl WeChatSim {
    /// An app configured with the fixtures' account, in `mode`, with the previous key configured or not.
    pub async fn start(mode: &str, with_previous_key: bool) -> Self {
        Self::start_with(mode, with_previous_key, &[]).await
    }

    pub async fn start_with(mode: &str, with_previous_key: bool, extra: &[(&str, &str)]) -> Self {
        let f = fixtures();
        let token = f["token"].as_str().unwrap().to_owned();
        let previous = if with_previous_key {
            f["previous_encoding_aes_key"].as_str().unwrap()
        } else {
            ""
        };
        let mut overrides = vec![
            (
                "APP__WECHAT__OFFICIAL_ACCOUNT__TOKEN",
                f["token"].as_str().unwrap(),
            ),
            (
                "APP__WECHAT__OFFICIAL_ACCOUNT__APP_ID",
                f["app_id"].as_str().unwrap(),
            ),
            (
                "APP__WECHAT__OFFICIAL_ACCOUNT__ENCODING_AES_KEY",
                f["encoding_aes_key"].as_str().unwrap(),
            ),
            (
                "APP__WECHAT__OFFICIAL_ACCOUNT__PREVIOUS_ENCODING_AES_KEY",
                previous,
            ),
            ("APP__WECHAT__OFFICIAL_ACCOUNT__CALLBACK_MODE", mode),
        ];
        overrides.extend_from_slice(extra);
        let app = spawn_app_with(&overrides).await;
        Self { app, token }
    }

    pub async fn post(&self, query: &str, body: impl Into<String>) -> reqwest::Response {
        self.app
            .api
            .post(self.app.url(&format!("/wechat/callback?{query}")))
            .header("content-type", "text/xml")
            .body(body.into())
            .send()
            .await
            .unwrap()
    }

    pub fn plain_query(&self, timestamp: &str, nonce: &str) -> String {
        let signature = sign(&[&self.token, timestamp, nonce]);
        format!("signature={signature}&timestamp={timestamp}&nonce={nonce}&openid={OPENID}")
    }

    pub fn encrypted_query(&self, timestamp: &str, nonce: &str, encrypt: &str) -> String {
        let msg_signature = sign(&[&self.token, timestamp, nonce, encrypt]);
        format!(
            "{}&encrypt_type=aes&msg_signature={msg_signature}",
            self.plain_query(timestamp, nonce)
        )
    }

    /// A plain-mode message, signed now with a fresh nonce.
    pub async fn send_plain(&self, xml: &str) -> reqwest::Response {
        self.post(&self.plain_query(&now(), &fresh_nonce()), xml)
            .await
    }

    /// A safe-mode message around `encrypt`, signed now with a fresh nonce.
    pub async fn send_encrypted(&self, encrypt: &str) -> reqwest::Response {
        self.post(
            &self.encrypted_query(&now(), &fresh_nonce(), encrypt),
            envelope(encrypt),
        )
        .await
    }
}

pub fn envelope(encrypt: &str) -> String {
    format!("<xml><ToUserName><![CDATA[{GH}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    let start = text
        .find(open)
        .unwrap_or_else(|| panic!("{open} in {text}"))
        + open.len();
    let end = text[start..].find(close).unwrap() + start;
    &text[start..end]
}

/// Decrypts an encrypted reply with `openssl`, after checking its MsgSignature; returns the reply XML.
pub fn open_reply(token: &str, aes_key_hex: &str, app_id: &str, reply: &str) -> String {
    let encrypt = between(reply, "<Encrypt><![CDATA[", "]]></Encrypt>");
    let signature = between(reply, "<MsgSignature><![CDATA[", "]]></MsgSignature>");
    let timestamp = between(reply, "<TimeStamp>", "</TimeStamp>");
    let nonce = between(reply, "<Nonce><![CDATA[", "]]></Nonce>");
    assert_eq!(
        sign(&[token, timestamp, nonce, encrypt]),
        signature,
        "reply MsgSignature"
    );

    let ciphertext = base64::engine::general_purpose::STANDARD
        .decode(encrypt)
        .unwrap();
    let mut openssl = Command::new("openssl")
        .args([
            "enc",
            "-d",
            "-aes-256-cbc",
            "-nopad",
            "-K",
            aes_key_hex,
            "-iv",
            &aes_key_hex[..32],
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl is installed");
    openssl
        .stdin
        .take()
        .unwrap()
        .write_all(&ciphertext)
        .unwrap();
    let plain = openssl.wait_with_output().unwrap();
    assert!(plain.status.success(), "openssl decrypts the reply");
    let plain = plain.stdout;
    let pad = *plain.last().unwrap() as usize;
    assert!((1..=32).contains(&pad), "32-byte PKCS#7 padding, got {pad}");
    let content = &plain[16..plain.len() - pad];
    let length = u32::from_be_bytes(content[..4].try_into().unwrap()) as usize;
    assert_eq!(
        &content[4 + length..],
        app_id.as_bytes(),
        "reply carries our appid"
    );
    String::from_utf8(content[4..4 + length].to_vec()).unwrap()
}

impl WeChatSim {
    pub fn open_reply(&self, reply: &str) -> String {
        let f = fixtures();
        open_reply(
            &self.token,
            f["aes_key_hex"].as_str().unwrap(),
            f["app_id"].as_str().unwrap(),
            reply,
        )
    }

    pub async fn count_inbox(&self) -> u64 {
        use sea_orm::{EntityTrait, PaginatorTrait};
        wxcampaign::entities::wechat_inbox::Entity::find()
            .count(&self.app.db)
            .await
            .unwrap()
    }

    pub async fn inbox(&self) -> Vec<wxcampaign::entities::wechat_inbox::Model> {
        use sea_orm::EntityTrait;
        wxcampaign::entities::wechat_inbox::Entity::find()
            .all(&self.app.db)
            .await
            .unwrap()
    }
}
