//! Yubico OTP (being written).
