//! Phone numbers at rest: AES-256-GCM under a key derived from `auth.phone_encryption_secret`, a fresh random
//! nonce per number, stored as base64(nonce || ciphertext). Staff and logs only ever see the masked form.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::Aes256Gcm;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

const NONCE_LEN: usize = 12;

#[derive(Clone)]
pub struct PhoneCipher {
    cipher: Aes256Gcm,
}

#[derive(Debug, thiserror::Error)]
#[error("stored phone number cannot be decrypted")]
pub struct PhoneDecryptError;

impl PhoneCipher {
    pub fn new(secret: &SecretString) -> Self {
        let key = Sha256::digest(secret.expose_secret().as_bytes());
        Self {
            cipher: Aes256Gcm::new_from_slice(&key).expect("SHA-256 gives a 32-byte key"),
        }
    }

    pub fn encrypt(&self, phone: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(&nonce.into(), phone.as_bytes())
            .expect("AES-GCM encryption of a short message cannot fail");
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&ciphertext);
        STANDARD.encode(stored)
    }

    pub fn decrypt(&self, stored: &str) -> Result<String, PhoneDecryptError> {
        let bytes = STANDARD.decode(stored).map_err(|_| PhoneDecryptError)?;
        if bytes.len() <= NONCE_LEN {
            return Err(PhoneDecryptError);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| PhoneDecryptError)?;
        let plain = self
            .cipher
            .decrypt(&nonce.into(), ciphertext)
            .map_err(|_| PhoneDecryptError)?;
        String::from_utf8(plain).map_err(|_| PhoneDecryptError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_differ_each_time() {
        let cipher = PhoneCipher::new(&SecretString::from("a test secret that is long enough!!"));
        let a = cipher.encrypt("13812345678");
        let b = cipher.encrypt("13812345678");
        assert_ne!(a, b, "fresh nonce each time");
        assert_eq!(cipher.decrypt(&a).unwrap(), "13812345678");
        let other = PhoneCipher::new(&SecretString::from("another secret that is long enough"));
        assert!(other.decrypt(&a).is_err());
        assert!(cipher.decrypt("garbage").is_err());
    }
}
