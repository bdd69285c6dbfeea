//! EAP over RADIUS (RFC 3579) for Wi-Fi: EAP-TTLS with PAP inside (RFC 5281) and PEAPv0 with
//! EAP-GTC inside, over TLS 1.2 or 1.3 (RFC 9427), driven through rustls' own connection API
//! fed from memory. The inner password + code is one more request of the same pipeline.
//!
//! - `packet`: the EAP packet and RFC 3579's split over EAP-Message attributes.
//! - `frames`: the L/M/S fragmentation of TLS data both ways, reassembly bounded in size.
//! - `ttls`: Diameter AVPs in the TTLS tunnel and the inner PAP request; `peap`: PEAPv0's
//!   header-less inner packets and the Result TLV.
//! - `keys`: MSK/EMSK from the TLS session and the MS-MPPE keys of the Access-Accept.
//! - `conversation`: one conversation's state machine (sans I/O); `table`: the conversations
//!   in progress, bounded, by State; `tickets`: session tickets sealed with rotating keys the
//!   nodes share through the store.

pub mod conversation;
pub mod frames;
pub mod keys;
pub mod packet;
pub mod peap;
pub mod table;
pub mod tickets;
pub mod ttls;

use std::sync::Arc;

use rustls::sign::CertifiedKey;

/// Idle conversations are forgotten after this long (a NAS retransmits within seconds).
pub const IDLE_SECS: u64 = 30;
/// Bounds of `[eap] max_conversations`.
pub const MAX_CONVERSATIONS: std::ops::RangeInclusive<usize> = 16..=1_000_000;
/// Bounds of `[eap] resumption_hours` (0: no resumption; at most a week).
pub const MAX_RESUMPTION_HOURS: u32 = 168;

/// The tunnel methods, in the order they are offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// EAP-TTLS, PAP inside.
    Ttls,
    /// PEAPv0, EAP-GTC inside.
    Peap,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Ttls => "ttls",
            Method::Peap => "peap",
        }
    }

    pub fn parse(text: &str) -> Option<Method> {
        match text {
            "ttls" => Some(Method::Ttls),
            "peap" => Some(Method::Peap),
            _ => None,
        }
    }

    /// The EAP type number.
    pub fn eap_type(self) -> u8 {
        match self {
            Method::Ttls => packet::types::TTLS,
            Method::Peap => packet::types::PEAP,
        }
    }

    pub fn from_eap_type(eap_type: u8) -> Option<Method> {
        match eap_type {
            packet::types::TTLS => Some(Method::Ttls),
            packet::types::PEAP => Some(Method::Peap),
            _ => None,
        }
    }

    pub(crate) fn keys_method(self) -> keys::Method {
        match self {
            Method::Ttls => keys::Method::Ttls,
            Method::Peap => keys::Method::Peap,
        }
    }
}

/// `[eap]` as the server uses it.
#[derive(Clone)]
pub struct Settings {
    /// The server's certificate chain and key.
    pub key: Arc<CertifiedKey>,
    /// Where the certificate was read from (for the log and check-config).
    pub certificate: std::path::PathBuf,
    /// Offered in this order; at least one.
    pub methods: Vec<Method>,
    /// The largest TLS fragment we send, in octets.
    pub fragment_size: usize,
    /// How long a full login may be resumed without a new code (0: never).
    pub resumption_secs: i64,
    pub max_conversations: usize,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("certificate", &self.certificate)
            .field("methods", &self.methods)
            .field("fragment_size", &self.fragment_size)
            .field("resumption_secs", &self.resumption_secs)
            .field("max_conversations", &self.max_conversations)
            .finish_non_exhaustive()
    }
}
