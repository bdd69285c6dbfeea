//! Checking a reply the way a NAS must before believing it: framing and Identifier first
//! (cheap), then the Response Authenticator (RFC 2865 §3), then Message-Authenticator
//! (RFC 3579 §3.2), both computed over the reply with the Request Authenticator in place.

use subtle::ConstantTimeEq;

use super::Request;
use radotp_server::protocol::reply::sign_response_authenticator;
use radotp_server::protocol::{HEADER_LEN, MAX_PACKET_LEN, attr, code, message_authenticator};

/// One attribute as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub kind: u8,
    pub value: Vec<u8>,
}

/// A reply that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u8,
    pub identifier: u8,
    /// Every attribute in order, Message-Authenticator included.
    pub attributes: Vec<Attribute>,
    /// Whether the reply carried a Message-Authenticator (which then verified). A reply
    /// without one, to a request with one, is open to BlastRADIUS forgery (CVE-2024-3596).
    pub message_authenticator: bool,
}

impl Reply {
    pub fn code_name(&self) -> &'static str {
        code::name(self.code)
    }

    /// The first value of an attribute, if present.
    pub fn first(&self, kind: u8) -> Option<&[u8]> {
        self.attributes
            .iter()
            .find(|a| a.kind == kind)
            .map(|a| a.value.as_slice())
    }
}

/// Framing problems: the bytes are not a RADIUS reply to this request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MalformedReply {
    #[error("{0} octets is shorter than a RADIUS header")]
    TooShort(usize),
    #[error("Length field {0} is outside 20..=4096")]
    BadLengthField(usize),
    #[error("Length field {length} exceeds the datagram's {datagram} octets")]
    Truncated { length: usize, datagram: usize },
    #[error("{} (code {reply}) does not answer {}", code::name(*.reply), code::name(*.request))]
    UnexpectedCode { request: u8, reply: u8 },
    #[error("attribute at offset {0} has length below 2")]
    AttributeTooShort(usize),
    #[error("attribute at offset {0} runs past the packet's Length")]
    AttributePastEnd(usize),
    #[error("Message-Authenticator has length {0}, not 18")]
    MessageAuthenticatorLength(usize),
    #[error("more than one Message-Authenticator")]
    DuplicateMessageAuthenticator,
}

/// Why a datagram is not a valid answer to the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyCheckError {
    #[error("malformed reply: {0}")]
    Malformed(#[from] MalformedReply),
    #[error(
        "Identifier {received} does not match the request's {expected} (a late or stray reply)"
    )]
    WrongIdentifier { expected: u8, received: u8 },
    #[error(
        "bad Response Authenticator: the server signed with another shared secret, or the reply was altered"
    )]
    BadResponseAuthenticator,
    #[error(
        "bad Message-Authenticator: the server signed with another shared secret, or the reply was altered"
    )]
    BadMessageAuthenticator,
}

impl ReplyCheckError {
    /// A stable short name for machine-readable output.
    pub fn kind(&self) -> &'static str {
        match self {
            ReplyCheckError::Malformed(_) => "malformed_reply",
            ReplyCheckError::WrongIdentifier { .. } => "wrong_identifier",
            ReplyCheckError::BadResponseAuthenticator => "bad_response_authenticator",
            ReplyCheckError::BadMessageAuthenticator => "bad_message_authenticator",
        }
    }
}

/// Check `datagram` as the answer to `request` and parse its attributes. Octets after the
/// Length field are padding and ignored (RFC 2865 §3).
pub fn verify_reply(
    datagram: &[u8],
    request: &Request,
    shared_secret: &[u8],
) -> Result<Reply, ReplyCheckError> {
    if datagram.len() < HEADER_LEN {
        return Err(MalformedReply::TooShort(datagram.len()).into());
    }
    if datagram[1] != request.identifier() {
        return Err(ReplyCheckError::WrongIdentifier {
            expected: request.identifier(),
            received: datagram[1],
        });
    }
    let length = usize::from(u16::from_be_bytes([datagram[2], datagram[3]]));
    if !(HEADER_LEN..=MAX_PACKET_LEN).contains(&length) {
        return Err(MalformedReply::BadLengthField(length).into());
    }
    if length > datagram.len() {
        return Err(MalformedReply::Truncated {
            length,
            datagram: datagram.len(),
        }
        .into());
    }
    let reply_code = datagram[0];
    if ![
        code::ACCESS_ACCEPT,
        code::ACCESS_REJECT,
        code::ACCESS_CHALLENGE,
    ]
    .contains(&reply_code)
    {
        return Err(MalformedReply::UnexpectedCode {
            request: request.code(),
            reply: reply_code,
        }
        .into());
    }
    let packet = &datagram[..length];
    let (attributes, ma_offset) = walk_attributes(packet)?;

    // Both signatures are computed with the Request Authenticator where the reply has its own.
    // The Response Authenticator covers the whole reply, so it is checked first.
    let mut copy = packet.to_vec();
    copy[4..HEADER_LEN].copy_from_slice(request.request_authenticator());
    sign_response_authenticator(&mut copy, shared_secret);
    if !bool::from(copy[4..HEADER_LEN].ct_eq(&packet[4..HEADER_LEN])) {
        return Err(ReplyCheckError::BadResponseAuthenticator);
    }
    copy[4..HEADER_LEN].copy_from_slice(request.request_authenticator());
    if let Some(offset) = ma_offset
        && !message_authenticator::verify(&copy, offset, shared_secret)
    {
        return Err(ReplyCheckError::BadMessageAuthenticator);
    }
    Ok(Reply {
        code: reply_code,
        identifier: datagram[1],
        attributes,
        message_authenticator: ma_offset.is_some(),
    })
}

/// The attribute walk: every attribute, and where Message-Authenticator's value starts.
fn walk_attributes(packet: &[u8]) -> Result<(Vec<Attribute>, Option<usize>), MalformedReply> {
    let mut attributes = Vec::new();
    let mut ma_offset = None;
    let mut offset = HEADER_LEN;
    while offset < packet.len() {
        if packet.len() - offset < 2 || packet[offset + 1] < 2 {
            return Err(MalformedReply::AttributeTooShort(offset));
        }
        let (kind, len) = (packet[offset], usize::from(packet[offset + 1]));
        if offset + len > packet.len() {
            return Err(MalformedReply::AttributePastEnd(offset));
        }
        if kind == attr::MESSAGE_AUTHENTICATOR {
            if len != message_authenticator::ATTRIBUTE_LEN {
                return Err(MalformedReply::MessageAuthenticatorLength(len));
            }
            if ma_offset.replace(offset + 2).is_some() {
                return Err(MalformedReply::DuplicateMessageAuthenticator);
            }
        }
        attributes.push(Attribute {
            kind,
            value: packet[offset + 2..offset + len].to_vec(),
        });
        offset += len;
    }
    Ok((attributes, ma_offset))
}
