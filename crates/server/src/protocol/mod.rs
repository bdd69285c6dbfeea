//! The RADIUS wire format: raw prechecks, Message-Authenticator, User-Password hiding and
//! signed replies. Attribute access on an authenticated request goes through the `radius`
//! crate's codec; everything that must not trust the bytes yet is done here by hand.

pub mod message_authenticator;
pub mod password;
pub mod precheck;
pub mod reply;

/// RFC 2865 §3: the header is 20 octets and a packet at most 4096.
pub const HEADER_LEN: usize = 20;
pub const MAX_PACKET_LEN: usize = 4096;

/// Packet codes (RFC 2865 §4, RFC 5997).
pub mod code {
    pub const ACCESS_REQUEST: u8 = 1;
    pub const ACCESS_ACCEPT: u8 = 2;
    pub const ACCESS_REJECT: u8 = 3;
    pub const ACCOUNTING_REQUEST: u8 = 4;
    pub const ACCOUNTING_RESPONSE: u8 = 5;
    pub const ACCESS_CHALLENGE: u8 = 11;
    pub const STATUS_SERVER: u8 = 12;

    /// Name for logs.
    pub fn name(code: u8) -> &'static str {
        match code {
            ACCESS_REQUEST => "Access-Request",
            ACCESS_ACCEPT => "Access-Accept",
            ACCESS_REJECT => "Access-Reject",
            ACCOUNTING_REQUEST => "Accounting-Request",
            ACCOUNTING_RESPONSE => "Accounting-Response",
            ACCESS_CHALLENGE => "Access-Challenge",
            STATUS_SERVER => "Status-Server",
            40 => "Disconnect-Request",
            43 => "CoA-Request",
            _ => "unknown",
        }
    }
}

/// Attribute types this server reads or writes.
pub mod attr {
    pub const USER_NAME: u8 = 1;
    pub const USER_PASSWORD: u8 = 2;
    pub const CHAP_PASSWORD: u8 = 3;
    pub const REPLY_MESSAGE: u8 = 18;
    pub const STATE: u8 = 24;
    pub const VENDOR_SPECIFIC: u8 = 26;
    pub const CALLING_STATION_ID: u8 = 31;
    pub const PROXY_STATE: u8 = 33;
    pub const EAP_MESSAGE: u8 = 79;
    pub const MESSAGE_AUTHENTICATOR: u8 = 80;
}

#[cfg(test)]
mod tests {
    use super::attr;

    /// The attribute numbers used on the wire agree with the shipped dictionary files.
    #[test]
    fn constants_match_the_dictionary() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dictionary");
        let mut numbers = std::collections::HashMap::new();
        for file in ["dictionary.rfc2865", "dictionary.rfc3579"] {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            for line in text.lines() {
                let fields: Vec<&str> = line.split_whitespace().collect();
                if let ["ATTRIBUTE", name, number, ..] = fields.as_slice() {
                    numbers.insert(name.to_string(), number.parse::<u8>().unwrap());
                }
            }
        }
        for (name, number) in [
            ("User-Name", attr::USER_NAME),
            ("User-Password", attr::USER_PASSWORD),
            ("CHAP-Password", attr::CHAP_PASSWORD),
            ("Reply-Message", attr::REPLY_MESSAGE),
            ("State", attr::STATE),
            ("Proxy-State", attr::PROXY_STATE),
            ("EAP-Message", attr::EAP_MESSAGE),
            ("Message-Authenticator", attr::MESSAGE_AUTHENTICATOR),
        ] {
            assert_eq!(numbers.get(name), Some(&number), "{name}");
        }
    }
}
