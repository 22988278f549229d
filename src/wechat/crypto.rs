//! The official-account message crypto (WECHAT.md section 1): SHA-1 signatures over sorted strings, and
//! AES-256-CBC with IV = key[..16] and PKCS#7 padding to a 32-byte block. Every length is checked before any
//! slice is taken: a wrong key yields garbage, which must be an error, never a panic.

use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use sha1::{Digest, Sha1};

type Encryptor = cbc::Encryptor<aes::Aes256>;
type Decryptor = cbc::Decryptor<aes::Aes256>;

/// WeChat pads to 32 bytes, not AES's 16.
const PAD_BLOCK: usize = 32;
const RANDOM_PREFIX: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("EncodingAESKey must be 43 base64 characters that decode to 32 bytes")]
    InvalidKey,
    #[error("Encrypt is not valid base64")]
    NotBase64,
    #[error("ciphertext length is not a non-zero multiple of 16")]
    BadLength,
    #[error("padding is invalid")]
    BadPadding,
    #[error("decrypted message is truncated")]
    Truncated,
    #[error("decrypted message is not UTF-8")]
    NotUtf8,
    #[error("message is for another appid")]
    AppIdMismatch,
}

/// `hex(sha1(concat(sorted(parts))))`, sorted as bytes.
pub fn sha1_signature(parts: &[&str]) -> String {
    let mut sorted = parts.to_vec();
    sorted.sort_unstable();
    let mut hasher = Sha1::new();
    for part in sorted {
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Constant-time comparison of two signatures, so timing reveals nothing about how much of a forgery matched.
pub fn signatures_match(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.to_ascii_lowercase().into_bytes());
    a.len() == b.len() && a.iter().zip(&b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// One account's AES key.
#[derive(Clone)]
pub struct MessageCipher {
    key: [u8; 32],
}

impl std::fmt::Debug for MessageCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MessageCipher(..)")
    }
}

impl MessageCipher {
    pub fn from_encoding_aes_key(encoding_aes_key: &str) -> Result<Self, CryptoError> {
        let key = crate::config::decode_encoding_aes_key(encoding_aes_key)
            .ok_or(CryptoError::InvalidKey)?;
        Ok(Self { key })
    }

    fn iv(&self) -> &[u8] {
        &self.key[..16]
    }

    /// base64(AES(random16 + len_be32 + message + appid + pad32)).
    pub fn encrypt(&self, message: &str, app_id: &str) -> String {
        let mut random = [0u8; RANDOM_PREFIX];
        rand::rng().fill_bytes(&mut random);
        self.encrypt_with_random(message, app_id, random)
    }

    /// Deterministic form of `encrypt`, for comparing byte for byte with other implementations.
    pub fn encrypt_with_random(
        &self,
        message: &str,
        app_id: &str,
        random: [u8; RANDOM_PREFIX],
    ) -> String {
        let message_len = u32::try_from(message.len()).unwrap_or(u32::MAX);
        let mut plain =
            Vec::with_capacity(RANDOM_PREFIX + 4 + message.len() + app_id.len() + PAD_BLOCK);
        plain.extend_from_slice(&random);
        plain.extend_from_slice(&message_len.to_be_bytes());
        plain.extend_from_slice(message.as_bytes());
        plain.extend_from_slice(app_id.as_bytes());
        let pad = PAD_BLOCK - plain.len() % PAD_BLOCK;
        plain.resize(plain.len() + pad, pad as u8);
        let length = plain.len();
        let cipher =
            Encryptor::new_from_slices(&self.key, self.iv()).expect("32-byte key, 16-byte IV");
        let encrypted = cipher
            .encrypt_padded::<NoPadding>(&mut plain, length)
            .expect("the buffer is already a whole number of blocks");
        STANDARD.encode(encrypted)
    }

    /// The message inside `encrypted`, which must carry `app_id`.
    pub fn decrypt(&self, encrypted: &str, app_id: &str) -> Result<String, CryptoError> {
        let mut buffer = STANDARD
            .decode(encrypted.trim())
            .map_err(|_| CryptoError::NotBase64)?;
        if buffer.is_empty() || buffer.len() % 16 != 0 {
            return Err(CryptoError::BadLength);
        }
        let cipher =
            Decryptor::new_from_slices(&self.key, self.iv()).expect("32-byte key, 16-byte IV");
        let plain = cipher
            .decrypt_padded::<NoPadding>(&mut buffer)
            .map_err(|_| CryptoError::BadLength)?;
        let pad = usize::from(*plain.last().ok_or(CryptoError::BadPadding)?);
        if !(1..=PAD_BLOCK).contains(&pad) || pad > plain.len() {
            return Err(CryptoError::BadPadding);
        }
        let unpadded = &plain[..plain.len() - pad];
        let content = unpadded
            .get(RANDOM_PREFIX..)
            .ok_or(CryptoError::Truncated)?;
        let length_bytes: [u8; 4] = content
            .get(..4)
            .ok_or(CryptoError::Truncated)?
            .try_into()
            .map_err(|_| CryptoError::Truncated)?;
        let message_len = usize::try_from(u32::from_be_bytes(length_bytes))
            .map_err(|_| CryptoError::Truncated)?;
        let message_end = 4usize
            .checked_add(message_len)
            .ok_or(CryptoError::Truncated)?;
        let message = content.get(4..message_end).ok_or(CryptoError::Truncated)?;
        let carried_app_id = content.get(message_end..).ok_or(CryptoError::Truncated)?;
        if carried_app_id != app_id.as_bytes() {
            return Err(CryptoError::AppIdMismatch);
        }
        String::from_utf8(message.to_vec()).map_err(|_| CryptoError::NotUtf8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    #[test]
    fn signatures_sort_their_parts_as_bytes() {
        assert_eq!(
            sha1_signature(&["b", "a", "c"]),
            sha1_signature(&["a", "b", "c"])
        );
        // sha1("123abc")
        assert_eq!(
            sha1_signature(&["abc", "123"]),
            "4be30d9814c6d4e9800e0d2ea9ec9fb00efa887b"
        );
        assert!(signatures_match("4be30d98", "4BE30D98"));
        assert!(!signatures_match("4be30d98", "4be30d99"));
        assert!(!signatures_match("4be30d98", "4be30d9"));
    }

    #[test]
    fn keys_with_trailing_bits_decode() {
        assert!(MessageCipher::from_encoding_aes_key(KEY).is_ok());
        assert_eq!(
            MessageCipher::from_encoding_aes_key("short").unwrap_err(),
            CryptoError::InvalidKey
        );
        let not_base64 = "!".repeat(43);
        assert_eq!(
            MessageCipher::from_encoding_aes_key(&not_base64).unwrap_err(),
            CryptoError::InvalidKey
        );
    }

    #[test]
    fn padding_is_to_32_bytes() {
        let cipher = MessageCipher::from_encoding_aes_key(KEY).unwrap();
        // 16 + 4 + 1 + 18 = 39 bytes: a 16-byte pad would give 48, a 32-byte pad gives 64.
        let encrypted = cipher.encrypt_with_random("x", "wxb11529c136998cb6", [7; 16]);
        assert_eq!(STANDARD.decode(encrypted).unwrap().len(), 64);
    }

    #[test]
    fn round_trip_and_appid_check() {
        let cipher = MessageCipher::from_encoding_aes_key(KEY).unwrap();
        let encrypted = cipher.encrypt("我是中文abcd123", "wxb11529c136998cb6");
        assert_eq!(
            cipher.decrypt(&encrypted, "wxb11529c136998cb6").unwrap(),
            "我是中文abcd123"
        );
        assert_eq!(
            cipher.decrypt(&encrypted, "wx_other").unwrap_err(),
            CryptoError::AppIdMismatch
        );
    }
}
