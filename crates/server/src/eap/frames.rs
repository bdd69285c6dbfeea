//! The EAP-TLS framing TTLS and PEAPv0 share (RFC 5216 §2.1.5 and §3.1, RFC 5281 §9.2): a
//! flags octet (L, M, S and the method's version in the low three bits), an optional 4-octet
//! TLS Message Length, and a fragment of the TLS record stream. Reassembly of the peer's
//! fragments is bounded; our own records are cut into fragments the NAS can carry.

/// L: the 4-octet TLS Message Length follows the flags.
pub const FLAG_LENGTH: u8 = 0x80;
/// M: more fragments follow.
pub const FLAG_MORE: u8 = 0x40;
/// S: the server's Start.
pub const FLAG_START: u8 = 0x20;
/// The low bits: the TTLS or PEAP version (0 for both here).
pub const VERSION_MASK: u8 = 0x07;

/// The largest reassembled TLS data we accept from a peer.
pub const MAX_MESSAGE: usize = 64 * 1024;
/// Bounds of `[eap] fragment_size`, in octets of TLS data per fragment.
pub const MIN_FRAGMENT: usize = 64;
pub const MAX_FRAGMENT: usize = 16384;

/// One frame's type data, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub length_included: bool,
    pub more: bool,
    pub start: bool,
    pub version: u8,
    /// Total TLS message length when L is set
    pub total_length: Option<u32>,
    pub data: &'a [u8],
}

impl Frame<'_> {
    /// An ACK: no flags but the version, no data (RFC 5216 §2.1.5: "acknowledge fragment").
    pub fn is_ack(&self) -> bool {
        !self.length_included && !self.more && !self.start && self.data.is_empty()
    }
}

/// Why a frame or a run of fragments is refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum FrameError {
    #[error("TLS frame without its flags octet")]
    Empty,
    #[error("TLS frame has the L flag but not the 4-octet TLS Message Length")]
    TruncatedLength,
    #[error("peer announces a TLS message of {announced} octets; at most {MAX_MESSAGE} accepted")]
    TooLarge { announced: u64 },
    #[error("peer sent {received} octets of TLS data, more than the {announced} it announced")]
    MoreThanAnnounced { announced: u32, received: usize },
    #[error("peer's last fragment ends after {received} of the {announced} octets it announced")]
    ShortOfAnnounced { announced: u32, received: usize },
    #[error("peer changed the TLS Message Length from {first} to {now} between fragments")]
    LengthChanged { first: u32, now: u32 },
}

/// Parse the type data of a TTLS or PEAP packet (what follows the EAP Type octet).
pub fn parse_frame(type_data: &[u8]) -> Result<Frame<'_>, FrameError> {
    let (&flags, rest) = type_data.split_first().ok_or(FrameError::Empty)?;
    let length_included = flags & FLAG_LENGTH != 0;
    let (total_length, data) = if length_included {
        let (length, data) = rest
            .split_first_chunk::<4>()
            .ok_or(FrameError::TruncatedLength)?;
        (Some(u32::from_be_bytes(*length)), data)
    } else {
        (None, rest)
    };
    Ok(Frame {
        length_included,
        more: flags & FLAG_MORE != 0,
        start: flags & FLAG_START != 0,
        version: flags & VERSION_MASK,
        total_length,
        data,
    })
}

/// Type data of one frame: `flags_version` (flags | version), the TLS Message Length when
/// given (L is then set whatever `flags_version` says), and `data`.
pub fn encode_frame(flags_version: u8, total_length: Option<u32>, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + data.len());
    match total_length {
        Some(total) => {
            out.push(flags_version | FLAG_LENGTH);
            out.extend_from_slice(&total.to_be_bytes());
        }
        None => out.push(flags_version),
    }
    out.extend_from_slice(data);
    out
}

/// The server's Start: S and the version, no data (RFC 5281 §9.2.1).
pub fn start_frame(version: u8) -> Vec<u8> {
    encode_frame(FLAG_START | (version & VERSION_MASK), None, &[])
}

/// An ACK asking the peer for its next fragment, or acknowledging ours.
pub fn ack_frame(version: u8) -> Vec<u8> {
    encode_frame(version & VERSION_MASK, None, &[])
}

/// Peer fragments joined into one TLS record stream. L is expected on the first fragment
/// only; some peers repeat it on every fragment, which is accepted while it stays the same.
#[derive(Debug, Default)]
pub struct Reassembler {
    buffer: Vec<u8>,
    announced: Option<u32>,
    in_progress: bool,
}

impl Reassembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// `Ok(None)`: more fragments to come (the caller must send an ACK: an empty frame);
    /// `Ok(Some(bytes))`: complete. An empty frame without M (an ACK, which the caller should
    /// have recognised first) completes as empty bytes. After an error, start a new one.
    pub fn push(&mut self, frame: &Frame<'_>) -> Result<Option<Vec<u8>>, FrameError> {
        if let Some(now) = frame.total_length {
            if usize::try_from(now).map_or(true, |n| n > MAX_MESSAGE) {
                return Err(FrameError::TooLarge {
                    announced: u64::from(now),
                });
            }
            match self.announced {
                Some(first) if first != now => {
                    return Err(FrameError::LengthChanged { first, now });
                }
                _ => self.announced = Some(now),
            }
        }
        let received = self.buffer.len() + frame.data.len();
        if let Some(announced) = self.announced {
            if received > announced as usize {
                return Err(FrameError::MoreThanAnnounced {
                    announced,
                    received,
                });
            }
        } else if received > MAX_MESSAGE {
            return Err(FrameError::TooLarge {
                announced: received as u64,
            });
        }
        self.buffer.extend_from_slice(frame.data);
        if frame.more {
            self.in_progress = true;
            return Ok(None);
        }
        let announced = self.announced.take();
        self.in_progress = false;
        let message = std::mem::take(&mut self.buffer);
        match announced {
            Some(announced) if message.len() != announced as usize => {
                Err(FrameError::ShortOfAnnounced {
                    announced,
                    received: message.len(),
                })
            }
            _ => Ok(Some(message)),
        }
    }

    /// Whether fragments have arrived and the last has not.
    pub fn in_progress(&self) -> bool {
        self.in_progress
    }
}

/// Our outgoing TLS bytes cut into fragments of at most `fragment_size` octets of TLS data
/// each; the first of several carries L and every one but the last carries M. A message that
/// fits in one fragment goes without L or M.
#[derive(Debug)]
pub struct Fragmenter {
    data: Vec<u8>,
    fragment_size: usize,
    offset: usize,
    started: bool,
}

impl Fragmenter {
    /// `fragment_size` is bounded by configuration ([`MIN_FRAGMENT`]..=[`MAX_FRAGMENT`]); 0 is
    /// taken as 1 so that the fragments always advance.
    pub fn new(data: Vec<u8>, fragment_size: usize) -> Self {
        Self {
            data,
            fragment_size: fragment_size.max(1),
            offset: 0,
            started: false,
        }
    }

    /// The next fragment's type data (flags + version, [length], data), or `None` once all
    /// were given. Empty data still gives one (empty) frame.
    pub fn next(&mut self, version: u8) -> Option<Vec<u8>> {
        if self.is_done() {
            return None;
        }
        let total = self.data.len();
        let end = total.min(self.offset + self.fragment_size);
        let first = !self.started;
        let last = end == total;
        let mut flags = version & VERSION_MASK;
        if !last {
            flags |= FLAG_MORE;
        }
        // u32 always holds the length: outgoing messages are TLS flights, far below 4 GiB.
        let length = (first && !last).then(|| u32::try_from(total).unwrap_or(u32::MAX));
        let frame = encode_frame(flags, length, &self.data[self.offset..end]);
        self.offset = end;
        self.started = true;
        Some(frame)
    }

    pub fn is_done(&self) -> bool {
        self.started && self.offset >= self.data.len()
    }

    /// Octets of TLS data not yet given out.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames_of(data: &[u8], size: usize) -> Vec<Vec<u8>> {
        let mut fragmenter = Fragmenter::new(data.to_vec(), size);
        let mut out = Vec::new();
        while let Some(frame) = fragmenter.next(0) {
            out.push(frame);
        }
        assert!(fragmenter.is_done());
        assert_eq!(fragmenter.remaining(), 0);
        assert_eq!(fragmenter.next(0), None);
        out
    }

    #[test]
    fn fragments_round_trip_through_reassembly() {
        let size = 1000;
        for len in [0, 1, size, size + 1, 50_000] {
            let data: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
            let frames = frames_of(&data, size);
            assert_eq!(frames.len(), len.div_ceil(size).max(1), "len {len}");
            let mut reassembler = Reassembler::new();
            let mut result = None;
            for (i, bytes) in frames.iter().enumerate() {
                let frame = parse_frame(bytes).unwrap();
                let single = frames.len() == 1;
                assert_eq!(frame.length_included, i == 0 && !single, "len {len} #{i}");
                assert_eq!(frame.more, i + 1 < frames.len());
                assert!(frame.data.len() <= size);
                assert!(result.is_none());
                result = reassembler.push(&frame).unwrap();
                assert_eq!(reassembler.in_progress(), result.is_none());
            }
            assert_eq!(result.unwrap(), data, "len {len}");
        }
    }

    #[test]
    fn first_of_several_announces_the_total() {
        let frames = frames_of(&[7; 150], 64);
        assert_eq!(frames[0][..5], [0xc0, 0, 0, 0, 150]);
        assert_eq!(frames[1][0], 0x40);
        assert_eq!(frames[2], [&[0u8][..], &[7; 22]].concat());
        // A message that fits goes bare: no L, no M.
        assert_eq!(frames_of(&[1, 2], 64), [vec![0, 1, 2]]);
    }

    #[test]
    fn version_bits_are_kept_both_ways() {
        let mut fragmenter = Fragmenter::new(vec![1; 10], 5);
        let first = fragmenter.next(1).unwrap();
        assert_eq!(first[0], 0xc1);
        let frame = parse_frame(&first).unwrap();
        assert_eq!(frame.version, 1);
        assert_eq!(start_frame(0), [0x20]);
        let start = [0x21];
        let start = parse_frame(&start).unwrap();
        assert!(start.start && start.version == 1 && start.data.is_empty());
    }

    #[test]
    fn ack_frame_parses_as_an_ack() {
        let ack = ack_frame(0);
        assert_eq!(ack, [0]);
        let frame = parse_frame(&ack).unwrap();
        assert!(frame.is_ack());
        assert_eq!(frame.total_length, None);
        assert!(!parse_frame(&[0x40, 1]).unwrap().is_ack());
    }

    #[test]
    fn malformed_frames_are_refused() {
        assert_eq!(parse_frame(&[]), Err(FrameError::Empty));
        assert_eq!(parse_frame(&[0x80, 0, 0]), Err(FrameError::TruncatedLength));
        let frame = parse_frame(&[0x80, 0, 0, 0, 0]).unwrap();
        assert_eq!(frame.total_length, Some(0));
        assert!(frame.data.is_empty());
    }

    #[test]
    fn over_the_limit_is_refused() {
        let announced = (MAX_MESSAGE + 1) as u32;
        let bytes = encode_frame(FLAG_MORE, Some(announced), &[0; 10]);
        let mut reassembler = Reassembler::new();
        assert_eq!(
            reassembler.push(&parse_frame(&bytes).unwrap()),
            Err(FrameError::TooLarge {
                announced: u64::from(announced)
            })
        );
        // Without L, the running total is bounded the same way.
        let mut reassembler = Reassembler::new();
        let chunk = vec![0; 16384];
        let more = encode_frame(FLAG_MORE, None, &chunk);
        for _ in 0..4 {
            assert_eq!(reassembler.push(&parse_frame(&more).unwrap()), Ok(None));
        }
        assert!(matches!(
            reassembler.push(&parse_frame(&more).unwrap()),
            Err(FrameError::TooLarge { .. })
        ));
    }

    #[test]
    fn inconsistent_lengths_are_refused() {
        let mut reassembler = Reassembler::new();
        let first = encode_frame(FLAG_MORE, Some(10), &[0; 6]);
        reassembler.push(&parse_frame(&first).unwrap()).unwrap();
        let too_much = encode_frame(0, None, &[0; 5]);
        assert_eq!(
            reassembler.push(&parse_frame(&too_much).unwrap()),
            Err(FrameError::MoreThanAnnounced {
                announced: 10,
                received: 11
            })
        );

        let mut reassembler = Reassembler::new();
        reassembler.push(&parse_frame(&first).unwrap()).unwrap();
        let too_little = encode_frame(0, None, &[0; 3]);
        assert_eq!(
            reassembler.push(&parse_frame(&too_little).unwrap()),
            Err(FrameError::ShortOfAnnounced {
                announced: 10,
                received: 9
            })
        );

        let mut reassembler = Reassembler::new();
        reassembler.push(&parse_frame(&first).unwrap()).unwrap();
        let changed = encode_frame(0, Some(12), &[0; 4]);
        assert_eq!(
            reassembler.push(&parse_frame(&changed).unwrap()),
            Err(FrameError::LengthChanged { first: 10, now: 12 })
        );
    }

    #[test]
    fn l_repeated_on_every_fragment_is_accepted_when_consistent() {
        let mut reassembler = Reassembler::new();
        let first = encode_frame(FLAG_MORE, Some(8), &[1; 4]);
        let last = encode_frame(0, Some(8), &[2; 4]);
        assert_eq!(reassembler.push(&parse_frame(&first).unwrap()), Ok(None));
        assert!(reassembler.in_progress());
        let message = reassembler.push(&parse_frame(&last).unwrap()).unwrap();
        assert_eq!(message.unwrap(), [1, 1, 1, 1, 2, 2, 2, 2]);
        assert!(!reassembler.in_progress());
        // And the reassembler is ready for the next message.
        let single = encode_frame(0, None, &[9]);
        let again = reassembler.push(&parse_frame(&single).unwrap()).unwrap();
        assert_eq!(again.unwrap(), [9]);
    }
}
