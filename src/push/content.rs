//! What a message may say, by WeChat's rules, and each customer's text. Checked when a push is saved:
//! - subscribe message fields are typed by their key (`thing1` at most 20 characters, `phrase2` 5 ...);
//! - template messages since May 2023: WeChat drops `first` and `remark` and colours, cuts every field to 20
//!   characters and intercepts pure marketing, so such a template is refused here instead of half-delivered;
//! - variables are `{{name}}` from a fixed list; a name not on it, or a brace left open, is refused.

use std::collections::BTreeMap;

use super::model::{Channel, PushError, PushInput, Variant};

/// Variables a message may use, with the longest text each can become.
pub const VARIABLES: [(&str, usize); 8] = [
    ("today", 10),
    ("points", 10),
    ("coupon_name", 20),
    ("coupon_expires_on", 10),
    ("plan_day", 2),
    ("plan_tip", 20),
    ("campaign_name", 20),
    ("campaign_starts_on", 10),
];

/// What a segment push fills in for each customer.
pub const PUSH_VARIABLES: &[&str] = &["today", "points"];

/// Words that make a template message marketing, which WeChat intercepts (and may restrict the account
/// for): promotions belong in subscribe messages or mass sends.
const MARKETING_WORDS: [&str; 16] = [
    "优惠",
    "折扣",
    "抢购",
    "秒杀",
    "限时",
    "特价",
    "免费领",
    "红包",
    "抽奖",
    "返现",
    "满减",
    "促销",
    "大礼包",
    "立减",
    "领券",
    "福利",
];

/// The longest value of a subscribe message field, by the key's type (WeChat's table); `None`: not a type.
fn subscribe_limit(key: &str) -> Option<usize> {
    let kind = key.trim_end_matches(|c: char| c.is_ascii_digit());
    if kind.len() == key.len() {
        return None;
    }
    Some(match kind {
        "thing" => 20,
        "phrase" => 5,
        "name" => 10,
        "number" | "character_string" | "letter" => 32,
        "symbol" => 5,
        "amount" => 32,
        "car_number" => 8,
        "phone_number" => 17,
        "time" | "date" => 32,
        _ => return None,
    })
}

/// The pieces of a text: literal runs and variable names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Variable(&'a str),
}

fn pieces(text: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            out.push(Piece::Text(&rest[..open]));
        }
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| "a `{{` is not closed".to_owned())?;
        let name = after[..close].trim();
        if !VARIABLES.iter().any(|(known, _)| *known == name) {
            let names: Vec<&str> = VARIABLES.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "`{{{{{name}}}}}` is not a variable (variables: {})",
                names.join(", ")
            ));
        }
        out.push(Piece::Variable(name));
        rest = &after[close + 2..];
    }
    if rest.contains("}}") {
        return Err("a `}}` has no `{{`".to_owned());
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    Ok(out)
}

/// The longest the text can become once its variables are filled in.
fn longest(pieces: &[Piece<'_>]) -> usize {
    pieces
        .iter()
        .map(|piece| match piece {
            Piece::Text(text) => text.chars().count(),
            Piece::Variable(name) => VARIABLES
                .iter()
                .find(|(known, _)| known == name)
                .map_or(0, |(_, max)| *max),
        })
        .sum()
}

/// The text with each variable's value (a missing value becomes empty).
pub fn render(text: &str, values: &BTreeMap<String, String>) -> String {
    match pieces(text) {
        Ok(pieces) => pieces
            .iter()
            .map(|piece| match piece {
                Piece::Text(text) => (*text).to_owned(),
                Piece::Variable(name) => values.get(*name).cloned().unwrap_or_default(),
            })
            .collect(),
        Err(_) => text.to_owned(),
    }
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> PushError {
    PushError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// 1 to `max` of A-Z, a-z, 0-9, `_`, `-`: a WeChat template or media id.
pub(crate) fn is_token(text: &str, max: usize) -> bool {
    (1..=max).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Checks a push's shape and its variants' content for its channel, with the variables a segment push fills.
pub fn check(input: &PushInput) -> Result<(), PushError> {
    check_with(input, PUSH_VARIABLES)
}

/// Checks a push's shape and content, allowing only the variables `filled` (what its sender fills in: a
/// variable nobody fills would go out empty, and WeChat refuses an empty field).
pub fn check_with(input: &PushInput, filled: &[&str]) -> Result<(), PushError> {
    if !crate::calendar::is_slug(&input.slug) {
        return Err(invalid("slug", "2-64 of a-z, 0-9 and '-'"));
    }
    if !(1..=64).contains(&input.name.trim().chars().count()) {
        return Err(invalid("name", "1-64 characters"));
    }
    if !(1..=4).contains(&input.variants.len()) {
        return Err(invalid("variants", "1 to 4 variants"));
    }
    if input.channel == Channel::Mass && input.variants.len() != 1 {
        // One call sends one article to the whole tag: there is nothing to split.
        return Err(invalid("variants", "a mass send has one variant"));
    }
    let total: u32 = input.variants.iter().map(|v| v.weight).sum();
    if total != 100 || input.variants.iter().any(|v| v.weight == 0) {
        return Err(invalid(
            "variants",
            "each variant's weight is at least 1 and they add up to 100",
        ));
    }
    for (index, variant) in input.variants.iter().enumerate() {
        if input.variants[..index]
            .iter()
            .any(|other| other.name == variant.name)
        {
            return Err(invalid(format!("variants[{index}].name"), "names differ"));
        }
        check_variant(input.channel, index, variant)?;
        let texts = variant.fields.values().chain(variant.text.iter());
        for text in texts {
            for piece in pieces(text).unwrap_or_default() {
                if let Piece::Variable(name) = piece {
                    if !filled.contains(&name) {
                        return Err(invalid(
                            format!("variants[{index}]"),
                            format!(
                                "`{{{{{name}}}}}` is not filled in here (this message fills: {})",
                                filled.join(", ")
                            ),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

fn check_variant(channel: Channel, index: usize, variant: &Variant) -> Result<(), PushError> {
    let field = |name: &str| format!("variants[{index}].{name}");
    if !is_token(&variant.name, 16) {
        return Err(invalid(field("name"), "1-16 of A-Z, a-z, 0-9, '_', '-'"));
    }
    let uses = |present: bool, name: &str, wanted: bool| -> Result<(), PushError> {
        match (present, wanted) {
            (true, false) => Err(invalid(
                field(name),
                format!("a {} push has no {name}", channel.as_str()),
            )),
            (false, true) => Err(invalid(
                field(name),
                format!("a {} push needs {name}", channel.as_str()),
            )),
            _ => Ok(()),
        }
    };
    let templated = matches!(channel, Channel::Subscribe | Channel::Template);
    uses(variant.template_id.is_some(), "template_id", templated)?;
    uses(!variant.fields.is_empty(), "fields", templated)?;
    uses(
        variant.text.is_some(),
        "text",
        channel == Channel::CustomerService,
    )?;
    uses(
        variant.media_id.is_some(),
        "media_id",
        channel == Channel::Mass,
    )?;
    if variant.url.is_some() && channel != Channel::Template {
        return Err(invalid(field("url"), "only a template message opens a URL"));
    }
    if variant.page.is_some() && !templated {
        return Err(invalid(
            field("page"),
            "only subscribe and template messages open a page",
        ));
    }
    if let Some(template_id) = &variant.template_id {
        if !is_token(template_id, 64) {
            return Err(invalid(
                field("template_id"),
                "1-64 of A-Z, a-z, 0-9, '_', '-'",
            ));
        }
    }
    if let Some(media_id) = &variant.media_id {
        if !is_token(media_id, 128) {
            return Err(invalid(
                field("media_id"),
                "1-128 of A-Z, a-z, 0-9, '_', '-'",
            ));
        }
    }
    if let Some(page) = &variant.page {
        let ok = (1..=128).contains(&page.len())
            && !page.contains("://")
            && !page.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            return Err(invalid(
                field("page"),
                "a mini-program page path of 1-128 characters",
            ));
        }
    }
    if let Some(url) = &variant.url {
        if !(url.starts_with("https://") && url.len() <= 512) {
            return Err(invalid(
                field("url"),
                "an https:// address of at most 512 characters",
            ));
        }
    }
    if variant.fields.len() > 10 {
        return Err(invalid(field("fields"), "at most 10 fields"));
    }
    for (key, text) in &variant.fields {
        let at = field(&format!("fields.{key}"));
        let parsed = pieces(text).map_err(|message| invalid(at.clone(), message))?;
        let length = longest(&parsed);
        let limit = match channel {
            Channel::Template => {
                if key == "first" || key == "remark" {
                    return Err(invalid(
                        at,
                        "since May 2023 WeChat drops a template's first and remark lines: put the text in a field",
                    ));
                }
                if !is_token(key, 32) {
                    return Err(invalid(at, "a template field's key is 1-32 of A-Z, a-z, 0-9, '_'"));
                }
                20
            }
            _ => subscribe_limit(key).ok_or_else(|| {
                invalid(
                    at.clone(),
                    "a subscribe field's key is its type and a number (thing1, time2, phrase3, number4 ...)",
                )
            })?,
        };
        if length == 0 {
            return Err(invalid(at, "a field is not empty"));
        }
        if length > limit {
            return Err(invalid(
                at,
                format!("at most {limit} characters once its variables are filled in (this one can reach {length})"),
            ));
        }
    }
    if let Some(text) = &variant.text {
        let parsed = pieces(text).map_err(|message| invalid(field("text"), message))?;
        if !(1..=600).contains(&longest(&parsed)) {
            return Err(invalid(field("text"), "1-600 characters"));
        }
    }
    if channel == Channel::Template {
        let texts = variant.fields.values();
        if let Some(word) = MARKETING_WORDS
            .iter()
            .find(|word| texts.clone().any(|text| text.contains(*word)))
        {
            return Err(PushError::Marketing(format!(
                "variants[{index}]: template messages are for service notices, and WeChat intercepts marketing (`{word}`): send it as a subscribe message or a mass send"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::model::QuietHours;

    fn push(channel: Channel, variant: Variant) -> PushInput {
        PushInput {
            slug: "spring".into(),
            name: "春季".into(),
            channel,
            segment: "all".into(),
            variants: vec![variant],
            quiet_hours: QuietHours::Hold,
        }
    }

    fn template(fields: &[(&str, &str)]) -> Variant {
        Variant {
            name: "A".into(),
            weight: 100,
            template_id: Some("tmpl-1".into()),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            page: None,
            url: None,
            text: None,
            media_id: None,
        }
    }

    fn refusal(channel: Channel, variant: Variant) -> String {
        check(&push(channel, variant)).unwrap_err().to_string()
    }

    #[test]
    fn template_messages_keep_wechats_2023_rules() {
        let ok = template(&[("thing1", "您的积分{{points}}分"), ("time2", "{{today}}")]);
        assert!(check(&push(Channel::Template, ok)).is_ok());
        assert!(
            refusal(Channel::Template, template(&[("first", "您好")])).contains("first and remark")
        );
        assert!(
            refusal(Channel::Template, template(&[("thing1", "限时秒杀")])).contains("marketing")
        );
        let long = "一二三四五六七八九十一二三四五六七八九十一";
        assert!(refusal(Channel::Template, template(&[("thing1", long)])).contains("at most 20"));
        // A variable counts at its longest: 15 + 10 > 20.
        let close = "一二三四五六七八九十一二三四五{{points}}";
        assert!(refusal(Channel::Template, template(&[("thing1", close)])).contains("can reach 25"));
    }

    #[test]
    fn subscribe_fields_are_typed_by_their_key_and_variables_must_exist() {
        assert!(check(&push(
            Channel::Subscribe,
            template(&[("phrase3", "已到账")])
        ))
        .is_ok());
        assert!(
            refusal(Channel::Subscribe, template(&[("phrase3", "六个字的短语")]))
                .contains("at most 5")
        );
        assert!(refusal(Channel::Subscribe, template(&[("keyword1", "x")]))
            .contains("type and a number"));
        assert!(
            refusal(Channel::Subscribe, template(&[("thing1", "{{nickname}}")]))
                .contains("not a variable")
        );
        assert!(
            refusal(Channel::Subscribe, template(&[("thing1", "{{today")])).contains("not closed")
        );
    }

    #[test]
    fn each_channel_takes_its_own_parts() {
        let mut text = template(&[]);
        text.template_id = None;
        text.text = Some("您好，您的积分余额{{points}}分".into());
        assert!(check(&push(Channel::CustomerService, text.clone())).is_ok());
        assert!(refusal(Channel::Mass, text).contains("has no text"));
        assert!(refusal(Channel::Subscribe, template(&[])).contains("needs fields"));
    }

    #[test]
    fn rendering_fills_each_variable() {
        let values = BTreeMap::from([("points".to_owned(), "120".to_owned())]);
        assert_eq!(render("积分{{points}}分{{today}}", &values), "积分120分");
    }
}
