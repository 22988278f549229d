use base64::Engine;
use proptest::prelude::*;
use wxcampaign::wechat::crypto::MessageCipher;
use wxcampaign::wechat::message::Inbound;
use wxcampaign::wechat::xml;

const KEY: &str = "/uwlWXxdjm2IogKR7PfhIg8Ez9oP0ZV1YgHNMqhQY/C";
const OTHER_KEY: &str = "Ib27Mxy85v0eqHp2ERuLGQZx3NAcZCf/jCmhQdY7Ez+";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decrypt_inverts_encrypt(message in any::<String>(), app_id in "[a-z0-9]{1,32}") {
        let cipher = MessageCipher::from_encoding_aes_key(KEY).unwrap();
        let encrypted = cipher.encrypt(&message, &app_id);
        prop_assert_eq!(cipher.decrypt(&encrypted, &app_id).unwrap(), message);
    }

    #[test]
    fn arbitrary_ciphertexts_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let cipher = MessageCipher::from_encoding_aes_key(KEY).unwrap();
        let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let _ = cipher.decrypt(&encoded, "wxf1x7ure0000001");
        let _ = cipher.decrypt(&String::from_utf8_lossy(&bytes), "wxf1x7ure0000001");
    }

    #[test]
    fn the_wrong_key_is_an_error_not_a_panic(message in ".{0,200}") {
        let ours = MessageCipher::from_encoding_aes_key(KEY).unwrap();
        let theirs = MessageCipher::from_encoding_aes_key(OTHER_KEY).unwrap();
        let encrypted = theirs.encrypt(&message, "wxf1x7ure0000001");
        prop_assert!(ours.decrypt(&encrypted, "wxf1x7ure0000001").is_err());
    }

    #[test]
    fn arbitrary_text_never_panics_the_parser(text in any::<String>()) {
        let _ = xml::parse(&text);
        let _ = Inbound::parse(&text);
    }

    #[test]
    fn xml_like_text_never_panics_the_parser(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("<xml>".to_owned()), Just("</xml>".to_owned()), Just("<MsgType>".to_owned()),
                Just("</MsgType>".to_owned()), Just("<![CDATA[".to_owned()), Just("]]>".to_owned()),
                Just("&amp;".to_owned()), Just("&#x0;".to_owned()), Just("&#99999999;".to_owned()),
                Just("<!DOCTYPE x>".to_owned()), Just("<List>".to_owned()), Just("</List>".to_owned()),
                "[a-zA-Z0-9 ]{0,8}",
            ],
            0..40,
        )
    ) {
        let text = parts.concat();
        let _ = xml::parse(&text);
        let _ = Inbound::parse(&text);
    }
}
