//! Typed official-account messages and events, read from WeChat's XML, and the passive replies we send back.

use serde::{Deserialize, Serialize};

use super::xml::{self, cdata, Element, XmlError};

/// One inbound message or event.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    /// Our account's original id (gh_...): the `FromUserName` of any reply.
    pub to_user: String,
    /// The sender's official-account openid.
    pub from_user: String,
    pub create_time: i64,
    pub kind: InboundKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum InboundKind {
    Text {
        msg_id: String,
        content: String,
    },
    Image {
        msg_id: String,
        pic_url: String,
        media_id: String,
    },
    Voice {
        msg_id: String,
        media_id: String,
        format: String,
        recognition: Option<String>,
    },
    Video {
        msg_id: String,
        media_id: String,
        thumb_media_id: String,
    },
    ShortVideo {
        msg_id: String,
        media_id: String,
        thumb_media_id: String,
    },
    Location {
        msg_id: String,
        latitude: f64,
        longitude: f64,
        scale: u32,
        label: String,
    },
    Link {
        msg_id: String,
        title: String,
        description: String,
        url: String,
    },
    Event(Event),
    /// A message type this version does not know: logged and answered `success`.
    Unknown {
        msg_type: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A follow; `scene` is set when it came through a parametric QR code (`qrscene_` stripped).
    Subscribe {
        scene: Option<String>,
        ticket: Option<String>,
    },
    Unsubscribe,
    /// An existing follower scanned a parametric QR code.
    Scan {
        scene: String,
        ticket: Option<String>,
    },
    Click {
        key: String,
    },
    View {
        url: String,
    },
    Location {
        latitude: f64,
        longitude: f64,
        precision: f64,
    },
    TemplateSendJobFinish {
        msg_id: String,
        status: String,
    },
    MassSendJobFinish {
        msg_id: String,
        status: String,
        total_count: u64,
        sent_count: u64,
        error_count: u64,
    },
    SubscribeMsgPopup {
        items: Vec<SubscribeMsgItem>,
    },
    SubscribeMsgChange {
        items: Vec<SubscribeMsgItem>,
    },
    SubscribeMsgSent {
        items: Vec<SubscribeMsgSentItem>,
    },
    Unknown {
        event: String,
        key: Option<String>,
    },
}

/// A consent decision for one template (`accept` / `reject`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscribeMsgItem {
    pub template_id: String,
    pub status: String,
    pub popup_scene: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscribeMsgSentItem {
    pub template_id: String,
    pub msg_id: String,
    pub error_code: i64,
    pub error_status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("message is missing {0}")]
    Missing(&'static str),
    #[error("message field {0} is not valid")]
    Invalid(&'static str),
}

fn required(root: &Element, name: &'static str) -> Result<String, MessageError> {
    root.text_of(name).ok_or(MessageError::Missing(name))
}

/// An openid or an account's original id (`gh_...`): WeChat's are 28 and 15 characters of letters, digits,
/// `-` and `_`. Anything else is refused before it reaches a table or a log.
fn identifier(root: &Element, name: &'static str) -> Result<String, MessageError> {
    let value = required(root, name)?;
    let ok = (1..=64).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(value)
    } else {
        Err(MessageError::Invalid(name))
    }
}

fn optional(root: &Element, name: &str) -> String {
    root.text_of(name).unwrap_or_default()
}

fn number<T: std::str::FromStr>(root: &Element, name: &'static str) -> Result<T, MessageError> {
    required(root, name)?
        .parse()
        .map_err(|_| MessageError::Invalid(name))
}

fn number_or_zero<T: std::str::FromStr + Default>(
    root: &Element,
    name: &'static str,
) -> Result<T, MessageError> {
    match root.text_of(name) {
        None => Ok(T::default()),
        Some(text) => text.parse().map_err(|_| MessageError::Invalid(name)),
    }
}

impl Inbound {
    pub fn parse(body: &str) -> Result<Self, MessageError> {
        let root = xml::parse(body)?;
        Self::from_element(&root)
    }

    pub fn from_element(root: &Element) -> Result<Self, MessageError> {
        let msg_type = required(root, "MsgType")?;
        let msg_id = || optional(root, "MsgId");
        let kind = match msg_type.as_str() {
            "text" => InboundKind::Text {
                msg_id: msg_id(),
                content: optional(root, "Content"),
            },
            "image" => InboundKind::Image {
                msg_id: msg_id(),
                pic_url: optional(root, "PicUrl"),
                media_id: optional(root, "MediaId"),
            },
            "voice" => InboundKind::Voice {
                msg_id: msg_id(),
                media_id: optional(root, "MediaId"),
                format: optional(root, "Format"),
                recognition: root.text_of("Recognition"),
            },
            "video" => InboundKind::Video {
                msg_id: msg_id(),
                media_id: optional(root, "MediaId"),
                thumb_media_id: optional(root, "ThumbMediaId"),
            },
            "shortvideo" => InboundKind::ShortVideo {
                msg_id: msg_id(),
                media_id: optional(root, "MediaId"),
                thumb_media_id: optional(root, "ThumbMediaId"),
            },
            "location" => InboundKind::Location {
                msg_id: msg_id(),
                latitude: number(root, "Location_X")?,
                longitude: number(root, "Location_Y")?,
                scale: number_or_zero(root, "Scale")?,
                label: optional(root, "Label"),
            },
            "link" => InboundKind::Link {
                msg_id: msg_id(),
                title: optional(root, "Title"),
                description: optional(root, "Description"),
                url: optional(root, "Url"),
            },
            "event" => InboundKind::Event(parse_event(root)?),
            _ => InboundKind::Unknown { msg_type },
        };
        Ok(Self {
            to_user: identifier(root, "ToUserName")?,
            from_user: identifier(root, "FromUserName")?,
            create_time: number(root, "CreateTime")?,
            kind,
        })
    }

    /// The key under which WeChat's retries of this message are recognised: `MsgId + FromUserName + CreateTime`
    /// for messages, `FromUserName + CreateTime + Event + EventKey` for events (MsgId alone has collided).
    pub fn dedupe_key(&self, raw: &Element) -> String {
        match &self.kind {
            InboundKind::Event(_) => format!(
                "e:{}:{}:{}:{}",
                self.from_user,
                self.create_time,
                optional(raw, "Event"),
                optional(raw, "EventKey")
            ),
            _ => format!(
                "m:{}:{}:{}",
                optional(raw, "MsgId"),
                self.from_user,
                self.create_time
            ),
        }
    }

    /// What the inbox keeps of this message: type, event, event key (scene, menu key, URL) and message id.
    /// Never the text a customer wrote or where they are.
    pub fn inbox_fields(&self) -> (String, Option<String>, Option<String>, Option<String>) {
        let clip = |s: &str| s.chars().take(256).collect::<String>();
        let message = |t: &str, id: &str| {
            (
                t.to_owned(),
                None,
                None,
                Some(id.to_owned()).filter(|i| !i.is_empty()),
            )
        };
        match &self.kind {
            InboundKind::Text { msg_id, .. } => message("text", msg_id),
            InboundKind::Image { msg_id, .. } => message("image", msg_id),
            InboundKind::Voice { msg_id, .. } => message("voice", msg_id),
            InboundKind::Video { msg_id, .. } => message("video", msg_id),
            InboundKind::ShortVideo { msg_id, .. } => message("shortvideo", msg_id),
            InboundKind::Location { msg_id, .. } => message("location", msg_id),
            InboundKind::Link { msg_id, .. } => message("link", msg_id),
            InboundKind::Unknown { msg_type } => (clip(msg_type), None, None, None),
            InboundKind::Event(event) => {
                let (key, msg_id) = match event {
                    Event::Subscribe { scene, .. } => (scene.clone(), None),
                    Event::Scan { scene, .. } => (Some(scene.clone()), None),
                    Event::Click { key } => (Some(key.clone()), None),
                    Event::View { url } => (Some(url.clone()), None),
                    Event::TemplateSendJobFinish { msg_id, .. }
                    | Event::MassSendJobFinish { msg_id, .. } => (None, Some(msg_id.clone())),
                    Event::Unknown { key, .. } => (key.clone(), None),
                    _ => (None, None),
                };
                (
                    "event".to_owned(),
                    Some(clip(event.name())),
                    key.map(|k| clip(&k)),
                    msg_id,
                )
            }
        }
    }
}

impl Event {
    pub fn name(&self) -> &str {
        match self {
            Event::Subscribe { .. } => "subscribe",
            Event::Unsubscribe => "unsubscribe",
            Event::Scan { .. } => "SCAN",
            Event::Click { .. } => "CLICK",
            Event::View { .. } => "VIEW",
            Event::Location { .. } => "LOCATION",
            Event::TemplateSendJobFinish { .. } => "TEMPLATESENDJOBFINISH",
            Event::MassSendJobFinish { .. } => "MASSSENDJOBFINISH",
            Event::SubscribeMsgPopup { .. } => "subscribe_msg_popup_event",
            Event::SubscribeMsgChange { .. } => "subscribe_msg_change_event",
            Event::SubscribeMsgSent { .. } => "subscribe_msg_sent_event",
            Event::Unknown { event, .. } => event,
        }
    }
}

fn parse_event(root: &Element) -> Result<Event, MessageError> {
    let event = required(root, "Event")?;
    let key = root.text_of("EventKey");
    let ticket = root.text_of("Ticket");
    Ok(match event.as_str() {
        "subscribe" => Event::Subscribe {
            scene: key.and_then(|k| k.strip_prefix("qrscene_").map(str::to_owned)),
            ticket,
        },
        "unsubscribe" => Event::Unsubscribe,
        "SCAN" => Event::Scan {
            scene: key.ok_or(MessageError::Missing("EventKey"))?,
            ticket,
        },
        "CLICK" => Event::Click {
            key: key.ok_or(MessageError::Missing("EventKey"))?,
        },
        "VIEW" => Event::View {
            url: key.ok_or(MessageError::Missing("EventKey"))?,
        },
        "LOCATION" => Event::Location {
            latitude: number(root, "Latitude")?,
            longitude: number(root, "Longitude")?,
            precision: number_or_zero(root, "Precision")?,
        },
        // These two spell it MsgID, with a capital D.
        "TEMPLATESENDJOBFINISH" => Event::TemplateSendJobFinish {
            msg_id: required(root, "MsgID")?,
            status: optional(root, "Status"),
        },
        "MASSSENDJOBFINISH" => Event::MassSendJobFinish {
            msg_id: required(root, "MsgID")?,
            status: optional(root, "Status"),
            total_count: number_or_zero(root, "TotalCount")?,
            sent_count: number_or_zero(root, "SentCount")?,
            error_count: number_or_zero(root, "ErrorCount")?,
        },
        "subscribe_msg_popup_event" => Event::SubscribeMsgPopup {
            items: consent_items(root, "SubscribeMsgPopupEvent"),
        },
        "subscribe_msg_change_event" => Event::SubscribeMsgChange {
            items: consent_items(root, "SubscribeMsgChangeEvent"),
        },
        "subscribe_msg_sent_event" => Event::SubscribeMsgSent {
            items: list_items(root, "SubscribeMsgSentEvent")
                .map(|item| SubscribeMsgSentItem {
                    template_id: optional(item, "TemplateId"),
                    msg_id: optional(item, "MsgID"),
                    error_code: item
                        .text_of("ErrorCode")
                        .and_then(|c| c.parse().ok())
                        .unwrap_or(0),
                    error_status: optional(item, "ErrorStatus"),
                })
                .collect(),
        },
        _ => Event::Unknown { event, key },
    })
}

/// The `<List>` items under `container`: one or many, both shapes occur.
fn list_items<'a>(root: &'a Element, container: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
    root.child(container)
        .into_iter()
        .flat_map(|c| c.children_named("List"))
}

fn consent_items(root: &Element, container: &str) -> Vec<SubscribeMsgItem> {
    list_items(root, container)
        .map(|item| SubscribeMsgItem {
            template_id: optional(item, "TemplateId"),
            status: optional(item, "SubscribeStatusString"),
            popup_scene: item.text_of("PopupScene"),
        })
        .collect()
}

/// A passive reply. News replies to a user message carry one article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply {
    Text {
        content: String,
    },
    Image {
        media_id: String,
    },
    News {
        title: String,
        description: String,
        pic_url: String,
        url: String,
    },
}

impl Reply {
    /// The reply's XML: `ToUserName` is the sender, `FromUserName` our account.
    pub fn to_xml(&self, to_user: &str, from_user: &str, create_time: i64) -> String {
        let head = format!(
            "<ToUserName>{}</ToUserName><FromUserName>{}</FromUserName><CreateTime>{create_time}</CreateTime>",
            cdata(to_user),
            cdata(from_user)
        );
        let body = match self {
            Reply::Text { content } => format!("<MsgType>{}</MsgType><Content>{}</Content>", cdata("text"), cdata(content)),
            Reply::Image { media_id } => format!(
                "<MsgType>{}</MsgType><Image><MediaId>{}</MediaId></Image>",
                cdata("image"),
                cdata(media_id)
            ),
            Reply::News { title, description, pic_url, url } => format!(
                "<MsgType>{}</MsgType><ArticleCount>1</ArticleCount><Articles><item><Title>{}</Title><Description>{}</Description><PicUrl>{}</PicUrl><Url>{}</Url></item></Articles>",
                cdata("news"),
                cdata(title),
                cdata(description),
                cdata(pic_url),
                cdata(url)
            ),
        };
        format!("<xml>{head}{body}</xml>")
    }
}

/// The safe-mode envelope around an encrypted reply.
pub fn encrypted_envelope(encrypted: &str, signature: &str, timestamp: i64, nonce: &str) -> String {
    format!(
        "<xml><Encrypt>{}</Encrypt><MsgSignature>{}</MsgSignature><TimeStamp>{timestamp}</TimeStamp><Nonce>{}</Nonce></xml>",
        cdata(encrypted),
        cdata(signature),
        cdata(nonce)
    )
}
