//! RADIUS accounting (RFC 2866): `[accounting]`, the Request Authenticator of an
//! Accounting-Request, and what a record says. The pipeline answers it (`server::pipeline`),
//! the store keeps the open sessions (`store::Session`).

use std::net::{IpAddr, SocketAddr};

use md5::{Digest, Md5};
use radius::core::packet::Packet;
use radius::core::{rfc2865, rfc2866, rfc2869};
use subtle::ConstantTimeEq;

use crate::invalid::Invalid;
use crate::protocol::{HEADER_LEN, message_authenticator};

/// The IANA port of RADIUS accounting.
pub const DEFAULT_PORT: u16 = 1813;
/// Bound of `max_sessions`.
pub const MAX_SESSIONS: u64 = 10_000_000;
/// Longer Acct-Session-Ids and user names are cut in the session table.
const MAX_ID_LEN: usize = 128;

/// `[accounting]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub listen: Vec<SocketAddr>,
    /// Open sessions kept at most; beyond it the least recently updated are forgotten.
    pub max_sessions: u64,
}

impl Settings {
    pub fn check(&self) -> Vec<Invalid> {
        let mut problems = Vec::new();
        if self.listen.is_empty() {
            problems.push(Invalid::new(
                "listen",
                format!("at least one address is required, e.g. [\"127.0.0.1:{DEFAULT_PORT}\"]"),
            ));
        }
        if !(1..=MAX_SESSIONS).contains(&self.max_sessions) {
            problems.push(Invalid::new(
                "max_sessions",
                format!("must be between 1 and {MAX_SESSIONS}"),
            ));
        }
        problems
    }
}

/// RFC 2866 §3: the Request Authenticator of an Accounting-Request is MD5(Code, Identifier,
/// Length, 16 zero octets, attributes, secret). A Message-Authenticator, when present, is
/// checked as well, over the packet with that field zeroed (as FreeRADIUS signs it).
pub fn request_is_authentic(
    packet: &[u8],
    message_authenticator: Option<usize>,
    secret: &[u8],
) -> bool {
    if packet.len() < HEADER_LEN {
        return false;
    }
    let mut md5 = Md5::new();
    md5.update(&packet[..4]);
    md5.update([0u8; 16]);
    md5.update(&packet[HEADER_LEN..]);
    md5.update(secret);
    let expected = md5.finalize();
    if !bool::from(expected.as_slice().ct_eq(&packet[4..HEADER_LEN])) {
        return false;
    }
    match message_authenticator {
        None => true,
        Some(offset) => {
            let mut zeroed = packet.to_vec();
            zeroed[4..HEADER_LEN].fill(0);
            message_authenticator::verify(&zeroed, offset, secret)
        }
    }
}

/// Acct-Status-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Start,
    Stop,
    InterimUpdate,
    AccountingOn,
    AccountingOff,
    /// Another value (RFC 2866 §5.1 lists more); logged, no change to the sessions.
    Other(u32),
}

impl Status {
    fn from_code(code: u32) -> Status {
        match code {
            rfc2866::ACCT_STATUS_TYPE_START => Status::Start,
            rfc2866::ACCT_STATUS_TYPE_STOP => Status::Stop,
            rfc2866::ACCT_STATUS_TYPE_INTERIM_UPDATE => Status::InterimUpdate,
            rfc2866::ACCT_STATUS_TYPE_ACCOUNTING_ON => Status::AccountingOn,
            rfc2866::ACCT_STATUS_TYPE_ACCOUNTING_OFF => Status::AccountingOff,
            other => Status::Other(other),
        }
    }

    /// The name in log lines and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Start => "Start",
            Status::Stop => "Stop",
            Status::InterimUpdate => "Interim-Update",
            Status::AccountingOn => "Accounting-On",
            Status::AccountingOff => "Accounting-Off",
            Status::Other(_) => "other",
        }
    }
}

/// What an Accounting-Request says, as far as radotp keeps or logs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub status: Status,
    pub session_id: Option<String>,
    pub user: Option<String>,
    pub framed_ip: Option<IpAddr>,
    /// Acct-Session-Time, seconds.
    pub duration: Option<u32>,
    /// Acct-Input/Output-Octets with their Gigawords (RFC 2869 §5.1).
    pub input_octets: Option<u64>,
    pub output_octets: Option<u64>,
}

/// Why a record cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("no Acct-Status-Type")]
    NoStatus,
    #[error("no Acct-Session-Id")]
    NoSessionId,
    #[error("an attribute is malformed")]
    Malformed,
}

impl RecordError {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordError::NoStatus => "no Acct-Status-Type",
            RecordError::NoSessionId => "no Acct-Session-Id",
            RecordError::Malformed => "an accounting attribute is malformed",
        }
    }
}

fn text(
    value: Option<Result<String, radius::core::avp::AVPError>>,
) -> Result<Option<String>, RecordError> {
    match value {
        None => Ok(None),
        Some(Ok(text)) => Ok(Some(text.chars().take(MAX_ID_LEN).collect())),
        Some(Err(_)) => Err(RecordError::Malformed),
    }
}

fn number(
    value: Option<Result<u32, radius::core::avp::AVPError>>,
) -> Result<Option<u32>, RecordError> {
    value.transpose().map_err(|_| RecordError::Malformed)
}

fn octets(low: Option<u32>, giga: Option<u32>) -> Option<u64> {
    low.map(|low| (u64::from(giga.unwrap_or(0)) << 32) | u64::from(low))
}

impl Record {
    /// Read a decoded, authenticated Accounting-Request. Start, Interim-Update and Stop need
    /// an Acct-Session-Id.
    pub fn parse(packet: &Packet) -> Result<Record, RecordError> {
        let status = match number(rfc2866::lookup_acct_status_type(packet))? {
            Some(code) => Status::from_code(code),
            None => return Err(RecordError::NoStatus),
        };
        let session_id = text(rfc2866::lookup_acct_session_id(packet))?;
        if session_id.is_none()
            && matches!(status, Status::Start | Status::Stop | Status::InterimUpdate)
        {
            return Err(RecordError::NoSessionId);
        }
        let user = match rfc2865::lookup_all_user_name(packet) {
            Ok(names) => names
                .into_iter()
                .next()
                .map(|n| n.chars().take(MAX_ID_LEN).collect()),
            Err(_) => return Err(RecordError::Malformed),
        };
        let framed_ip = match rfc2865::lookup_framed_ip_address(packet) {
            None => None,
            Some(Ok(ip)) => Some(IpAddr::V4(ip)),
            Some(Err(_)) => return Err(RecordError::Malformed),
        };
        let input = number(rfc2866::lookup_acct_input_octets(packet))?;
        let output = number(rfc2866::lookup_acct_output_octets(packet))?;
        let input_giga = number(rfc2869::lookup_acct_input_gigawords(packet))?;
        let output_giga = number(rfc2869::lookup_acct_output_gigawords(packet))?;
        Ok(Record {
            status,
            session_id,
            user,
            framed_ip,
            duration: number(rfc2866::lookup_acct_session_time(packet))?,
            input_octets: octets(input, input_giga),
            output_octets: octets(output, output_giga),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(attrs: &[u8], secret: &[u8]) -> Vec<u8> {
        let len = (HEADER_LEN + attrs.len()) as u16;
        let mut packet = vec![4, 9];
        packet.extend_from_slice(&len.to_be_bytes());
        packet.extend_from_slice(&[0; 16]);
        packet.extend_from_slice(attrs);
        let mut md5 = Md5::new();
        md5.update(&packet);
        md5.update(secret);
        let auth = md5.finalize();
        packet[4..20].copy_from_slice(&auth);
        packet
    }

    #[test]
    fn the_request_authenticator_is_checked_with_the_secret() {
        let packet = signed(&[40, 6, 0, 0, 0, 1, 44, 4, b'a', b'b'], b"s3cret");
        assert!(request_is_authentic(&packet, None, b"s3cret"));
        assert!(!request_is_authentic(&packet, None, b"other"));
        let mut tampered = packet.clone();
        *tampered.last_mut().unwrap() = b'c';
        assert!(!request_is_authentic(&tampered, None, b"s3cret"));
    }

    #[test]
    fn a_record_reads_status_session_user_address_and_octets() {
        let attrs: Vec<u8> = [
            vec![40, 6, 0, 0, 0, 3],                  // Interim-Update
            vec![44, 5, b'x', b'y', b'z'],            // Acct-Session-Id
            vec![1, 7, b'a', b'l', b'i', b'c', b'e'], // User-Name
            vec![8, 6, 10, 8, 0, 5],                  // Framed-IP-Address
            vec![46, 6, 0, 0, 0, 60],                 // Acct-Session-Time
            vec![42, 6, 0, 0, 0, 7],                  // Acct-Input-Octets
            vec![52, 6, 0, 0, 0, 1],                  // Acct-Input-Gigawords
        ]
        .concat();
        let packet = signed(&attrs, b"s");
        let decoded = Packet::decode(&packet, b"s").unwrap();
        let record = Record::parse(&decoded).unwrap();
        assert_eq!(record.status, Status::InterimUpdate);
        assert_eq!(record.session_id.as_deref(), Some("xyz"));
        assert_eq!(record.user.as_deref(), Some("alice"));
        assert_eq!(record.framed_ip, Some("10.8.0.5".parse().unwrap()));
        assert_eq!(record.duration, Some(60));
        assert_eq!(record.input_octets, Some((1 << 32) | 7));
        assert_eq!(record.output_octets, None);
        let start_without_id = signed(&[40, 6, 0, 0, 0, 1], b"s");
        let decoded = Packet::decode(&start_without_id, b"s").unwrap();
        assert_eq!(Record::parse(&decoded), Err(RecordError::NoSessionId));
        let on = signed(&[40, 6, 0, 0, 0, 7], b"s");
        let decoded = Packet::decode(&on, b"s").unwrap();
        assert_eq!(
            Record::parse(&decoded).unwrap().status,
            Status::AccountingOn
        );
    }
}
