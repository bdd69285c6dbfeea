//! Building requests: Access-Request (RFC 2865 §4.1) and Status-Server (RFC 5997 §3).
//!
//! Message-Authenticator goes first (the BlastRADIUS advice) and is signed last, because it
//! covers every other octet, the hidden User-Password included.

use radotp_server::protocol::reply::MAX_VALUE_LEN;
use radotp_server::protocol::{
    HEADER_LEN, MAX_PACKET_LEN, attr, code, message_authenticator, password,
};
use radotp_server::secret::{SecretBytes, random_bytes};

/// NAS-Identifier (RFC 2865 §5.32).
const NAS_IDENTIFIER: u8 = 32;

/// Why a request cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("attribute {kind} has a {len}-octet value; at most 253 fit")]
    ValueTooLong { kind: u8, len: usize },
    #[error("the password (with any code appended) is {0} octets; User-Password holds at most 128")]
    PasswordTooLong(usize),
    #[error("the request would be {0} octets; RADIUS allows at most 4096")]
    TooLong(usize),
    #[error("a Status-Server must carry Message-Authenticator (RFC 5997 §3)")]
    StatusServerWithoutMessageAuthenticator,
}

/// One attribute to be written, in the order they were added.
#[derive(Debug, Clone)]
enum Part {
    Plain(u8, Vec<u8>),
    /// Hidden at build time, when the Request Authenticator is known.
    Password(SecretBytes),
}

/// Builds one request. Identifier and Request Authenticator come from the OS CSPRNG unless
/// set (tests and load generators that allocate identifiers set them).
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    code: u8,
    identifier: Option<u8>,
    request_authenticator: Option<[u8; 16]>,
    message_authenticator: bool,
    parts: Vec<Part>,
}

impl RequestBuilder {
    /// An Access-Request, with Message-Authenticator unless turned off.
    pub fn access_request() -> Self {
        Self::new(code::ACCESS_REQUEST)
    }

    /// A Status-Server: "are you alive, and do we share this secret?".
    pub fn status_server() -> Self {
        Self::new(code::STATUS_SERVER)
    }

    fn new(code: u8) -> Self {
        RequestBuilder {
            code,
            identifier: None,
            request_authenticator: None,
            message_authenticator: true,
            parts: Vec::new(),
        }
    }

    pub fn identifier(mut self, identifier: u8) -> Self {
        self.identifier = Some(identifier);
        self
    }

    /// Fix the Request Authenticator. Only for tests and RFC vectors: RFC 2865 §3 wants it
    /// unpredictable, since the password hiding is keyed with it.
    pub fn request_authenticator(mut self, authenticator: [u8; 16]) -> Self {
        self.request_authenticator = Some(authenticator);
        self
    }

    /// Whether to add Message-Authenticator (RFC 3579 §3.2). On by default.
    pub fn message_authenticator(mut self, on: bool) -> Self {
        self.message_authenticator = on;
        self
    }

    pub fn user_name(self, name: &str) -> Self {
        self.attribute(attr::USER_NAME, name.as_bytes())
    }

    /// User-Password, hidden with the shared secret when built (RFC 2865 §5.2).
    pub fn user_password(mut self, password: SecretBytes) -> Self {
        self.parts.push(Part::Password(password));
        self
    }

    pub fn nas_identifier(self, identifier: &str) -> Self {
        self.attribute(NAS_IDENTIFIER, identifier.as_bytes())
    }

    /// Any other attribute, written as given.
    pub fn attribute(mut self, kind: u8, value: &[u8]) -> Self {
        self.parts.push(Part::Plain(kind, value.to_vec()));
        self
    }

    /// Lay out the packet, hide the password and sign.
    pub fn build(self, shared_secret: &[u8]) -> Result<Request, BuildError> {
        if self.code == code::STATUS_SERVER && !self.message_authenticator {
            return Err(BuildError::StatusServerWithoutMessageAuthenticator);
        }
        let identifier = self.identifier.unwrap_or_else(|| random_bytes::<1>()[0]);
        let request_authenticator = self.request_authenticator.unwrap_or_else(random_bytes);
        let mut packet = vec![self.code, identifier, 0, 0];
        packet.extend_from_slice(&request_authenticator);
        if self.message_authenticator {
            packet.extend_from_slice(&[attr::MESSAGE_AUTHENTICATOR, 18]);
            packet.extend_from_slice(&[0; 16]);
        }
        for part in &self.parts {
            let (kind, value) = match part {
                Part::Plain(kind, value) => (*kind, value.clone()),
                Part::Password(plain) => {
                    let hidden =
                        password::encrypt(plain.expose(), &request_authenticator, shared_secret)
                            .map_err(|_| BuildError::PasswordTooLong(plain.len()))?;
                    (attr::USER_PASSWORD, hidden)
                }
            };
            if value.len() > MAX_VALUE_LEN {
                return Err(BuildError::ValueTooLong {
                    kind,
                    len: value.len(),
                });
            }
            packet.push(kind);
            packet.push((2 + value.len()) as u8);
            packet.extend_from_slice(&value);
        }
        if packet.len() > MAX_PACKET_LEN {
            return Err(BuildError::TooLong(packet.len()));
        }
        let length = packet.len() as u16;
        packet[2..4].copy_from_slice(&length.to_be_bytes());
        if self.message_authenticator {
            message_authenticator::sign(&mut packet, HEADER_LEN + 2, shared_secret);
        }
        Ok(Request {
            bytes: packet,
            code: self.code,
            identifier,
            request_authenticator,
            message_authenticator: self.message_authenticator,
        })
    }
}

/// A built request: the datagram and what a reply is checked against. The bytes hold the
/// password only in its hidden form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    bytes: Vec<u8>,
    code: u8,
    identifier: u8,
    request_authenticator: [u8; 16],
    message_authenticator: bool,
}

impl Request {
    /// The datagram; retransmissions send exactly these bytes again (RFC 5080 §2.2.1).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn code(&self) -> u8 {
        self.code
    }

    pub fn identifier(&self) -> u8 {
        self.identifier
    }

    pub fn request_authenticator(&self) -> &[u8; 16] {
        &self.request_authenticator
    }

    /// Whether the request carries Message-Authenticator.
    pub fn has_message_authenticator(&self) -> bool {
        self.message_authenticator
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use radotp_server::protocol::precheck::precheck;

    const SECRET: &[u8] = b"xyzzy5461";
    // RFC 2865 §7.1: user "nemo", password "arctangent".
    const RFC2865_AUTHENTICATOR: [u8; 16] = [
        0x0f, 0x40, 0x3f, 0x94, 0x73, 0x97, 0x80, 0x57, 0xbd, 0x83, 0xd5, 0xcb, 0x98, 0xf4, 0x22,
        0x7a,
    ];
    const RFC2865_REQUEST: [u8; 56] = [
        0x01, 0x00, 0x00, 0x38, 0x0f, 0x40, 0x3f, 0x94, 0x73, 0x97, 0x80, 0x57, 0xbd, 0x83, 0xd5,
        0xcb, 0x98, 0xf4, 0x22, 0x7a, 0x01, 0x06, 0x6e, 0x65, 0x6d, 0x6f, 0x02, 0x12, 0x0d, 0xbe,
        0x70, 0x8d, 0x93, 0xd4, 0x13, 0xce, 0x31, 0x96, 0xe4, 0x3f, 0x78, 0x2a, 0x0a, 0xee, 0x04,
        0x06, 0xc0, 0xa8, 0x01, 0x10, 0x05, 0x06, 0x00, 0x00, 0x00, 0x03,
    ];
    // RFC 5997 §6.1: Status-Server with only Message-Authenticator.
    const RFC5997_STATUS_SERVER: [u8; 38] = [
        0x0c, 0xda, 0x00, 0x26, 0x8a, 0x54, 0xf4, 0x68, 0x6f, 0xb3, 0x94, 0xc5, 0x28, 0x66, 0xe3,
        0x02, 0x18, 0x5d, 0x06, 0x23, 0x50, 0x12, 0x5a, 0x66, 0x5e, 0x2e, 0x1e, 0x84, 0x11, 0xf3,
        0xe2, 0x43, 0x82, 0x20, 0x97, 0xc8, 0x4f, 0xa3,
    ];

    #[test]
    fn reproduces_the_rfc2865_access_request() {
        let request = RequestBuilder::access_request()
            .message_authenticator(false)
            .identifier(0)
            .request_authenticator(RFC2865_AUTHENTICATOR)
            .user_name("nemo")
            .user_password(SecretBytes::from(b"arctangent".as_slice()))
            .attribute(4, &[192, 168, 1, 16])
            .attribute(5, &[0, 0, 0, 3])
            .build(SECRET)
            .unwrap();
        assert_eq!(request.bytes(), RFC2865_REQUEST);
        assert_eq!(request.identifier(), 0);
        assert!(!request.has_message_authenticator());
    }

    #[test]
    fn reproduces_the_rfc5997_status_server() {
        let request = RequestBuilder::status_server()
            .identifier(0xda)
            .request_authenticator(RFC5997_STATUS_SERVER[4..20].try_into().unwrap())
            .build(SECRET)
            .unwrap();
        assert_eq!(request.bytes(), RFC5997_STATUS_SERVER);
    }

    #[test]
    fn message_authenticator_comes_first_and_verifies_as_the_server_checks_it() {
        let request = RequestBuilder::access_request()
            .user_name("alice")
            .user_password(SecretBytes::from(b"pw123456".as_slice()))
            .nas_identifier("radotp-test")
            .build(SECRET)
            .unwrap();
        let check = precheck(request.bytes()).unwrap();
        assert_eq!(check.message_authenticator, Some(HEADER_LEN + 2));
        assert_eq!(check.length, request.bytes().len());
        assert_eq!(check.identifier, request.identifier());
        assert_eq!(
            &check.request_authenticator,
            request.request_authenticator()
        );
        assert!(message_authenticator::verify(request.bytes(), 22, SECRET));
        assert!(!message_authenticator::verify(
            request.bytes(),
            22,
            b"other"
        ));
        // The password is hidden with this request's authenticator and the secret.
        let hidden = &request.bytes()[38 + 7 + 2..38 + 7 + 2 + 16];
        let plain = password::decrypt(hidden, request.request_authenticator(), SECRET).unwrap();
        assert_eq!(plain.expose(), b"pw123456");
    }

    #[test]
    fn random_identifier_and_authenticator_differ_between_requests() {
        let build = || RequestBuilder::status_server().build(SECRET).unwrap();
        let (a, b) = (build(), build());
        assert_ne!(a.request_authenticator(), b.request_authenticator());
    }

    #[test]
    fn refuses_what_does_not_fit() {
        let too_long = SecretBytes::new(vec![b'a'; 129]);
        assert_eq!(
            RequestBuilder::access_request()
                .user_password(too_long)
                .build(SECRET),
            Err(BuildError::PasswordTooLong(129))
        );
        assert_eq!(
            RequestBuilder::access_request()
                .attribute(18, &[b'x'; 254])
                .build(SECRET),
            Err(BuildError::ValueTooLong { kind: 18, len: 254 })
        );
        let mut builder = RequestBuilder::access_request();
        for _ in 0..16 {
            builder = builder.attribute(18, &[b'x'; 253]);
        }
        assert_eq!(
            builder.build(SECRET),
            Err(BuildError::TooLong(20 + 18 + 16 * 255))
        );
        assert_eq!(
            RequestBuilder::status_server()
                .message_authenticator(false)
                .build(SECRET),
            Err(BuildError::StatusServerWithoutMessageAuthenticator)
        );
    }
}
