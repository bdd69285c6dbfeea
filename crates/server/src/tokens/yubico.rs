//! Yubico OTP: the 44 modhex characters a YubiKey types, the AES-128 block inside them with its
//! CRC and counters, and the CSV that YubiKey Manager (`ykman otp yubiotp --config-output`)
//! writes when it programs a slot. Pure functions only; the store keeps counters and keys.

use std::collections::HashMap;
use std::fmt;

use aes::Aes128;
use aes::cipher::{BlockCipherDecrypt, KeyInit};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::secret::SecretBytes;

/// Characters of a Yubico OTP.
pub const OTP_LEN: usize = 44;
/// Characters of the public id at its start.
pub const PUBLIC_ID_LEN: usize = 12;

/// Modhex digits for the hex digits 0..f: keys that sit at the same place on most keyboard
/// layouts, so a YubiKey (a USB keyboard) types the same bytes everywhere.
const MODHEX: &[u8; 16] = b"cbdefghijklnrtuv";

/// CRC-16/ISO-13239 over a whole plaintext block, its CRC included, leaves this residue
/// (Yubico OTP specification: the CRC is stored one's complemented, little-endian).
const CRC_RESIDUE: u16 = 0xf0b8;

/// The value of one modhex character, either case; None for anything else.
fn modhex_digit(c: u8) -> Option<u8> {
    let lower = c.to_ascii_lowercase();
    MODHEX
        .iter()
        .position(|&m| m == lower)
        .and_then(|i| u8::try_from(i).ok())
}

/// Modhex → bytes (None if the length is odd or a character is not modhex; case-insensitive).
pub fn modhex_decode(text: &str) -> Option<Vec<u8>> {
    decode_pairs(text.as_bytes(), modhex_digit)
}

/// Bytes → lowercase modhex.
pub fn modhex_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(MODHEX[usize::from(b >> 4)]));
        out.push(char::from(MODHEX[usize::from(b & 0x0f)]));
    }
    out
}

/// Pairs of digits → bytes, with `digit` giving each character's value.
fn decode_pairs(text: &[u8], digit: fn(u8) -> Option<u8>) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 2);
    for pair in text.chunks_exact(2) {
        match (digit(pair[0]), digit(pair[1])) {
            (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
            _ => {
                // The caller may be decoding a secret: leave no half of it behind.
                out.zeroize();
                return None;
            }
        }
    }
    Some(out)
}

/// The OTP at the end of a typed input: where it starts, whose token it names, its ciphertext.
/// `Debug` leaves the ciphertext out: until it is used, it is a live code.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpTail {
    /// Byte offset in the input where the 44 characters begin.
    pub at: usize,
    /// The public id, lowercased: 12 modhex characters.
    pub public_id: String,
    /// The AES-128 block the token encrypted.
    pub block: [u8; 16],
}

impl fmt::Debug for OtpTail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtpTail")
            .field("at", &self.at)
            .field("public_id", &self.public_id)
            .field("block", &"[redacted]")
            .finish()
    }
}

/// The OTP at the end of a typed input, if the last 44 bytes have the shape (all modhex letters,
/// either case, for caps lock): returns (where it starts in `input`, public id lowercased as 12
/// modhex chars, the 16-byte ciphertext). `input` is bytes (a decrypted RADIUS User-Password,
/// possibly non-UTF-8). With `whole = true` the input must be exactly the OTP (a challenge
/// answer); with false, at least one byte must come before it (a password).
pub fn tail(input: &[u8], whole: bool) -> Option<OtpTail> {
    let at = input.len().checked_sub(OTP_LEN)?;
    if whole != (at == 0) {
        return None;
    }
    let otp = input.get(at..)?;
    let (public, cipher) = otp.split_at(PUBLIC_ID_LEN);
    let id = decode_pairs(public, modhex_digit)?;
    let block = <[u8; 16]>::try_from(decode_pairs(cipher, modhex_digit)?).ok()?;
    Some(OtpTail {
        at,
        public_id: modhex_encode(&id),
        block,
    })
}

/// What a genuine OTP block says.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    /// The token's private id ("uid"): proof, with the CRC, that the right key decrypted it.
    pub private_id: [u8; 6],
    /// Non-volatile usage counter: grows each time the token is plugged in (or wraps `use`).
    pub session_counter: u16,
    /// 24-bit timer of the token's 8 Hz clock, started at a random value at power-up.
    pub timestamp: u32,
    /// Volatile counter: OTPs typed since power-up.
    pub session_use: u8,
}

impl Decoded {
    /// The (session counter, use counter) pair as one number that grows with every OTP:
    /// session_counter * 256 + session_use. A token's next OTP must have a greater one.
    pub fn counter(&self) -> u64 {
        u64::from(self.session_counter) << 8 | u64::from(self.session_use)
    }
}

impl fmt::Debug for Decoded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoded")
            .field("private_id", &format_args!("[redacted]"))
            .field("session_counter", &self.session_counter)
            .field("timestamp", &self.timestamp)
            .field("session_use", &self.session_use)
            .finish()
    }
}

/// CRC-16/ISO-13239: init 0xffff, reflected polynomial 0x8408, no final xor. Branch-free on the
/// data bits, since the data is a decrypted block.
fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xffff;
    for &b in data {
        crc ^= u16::from(b);
        for _ in 0..8 {
            let mask = 0u16.wrapping_sub(crc & 1);
            crc = (crc >> 1) ^ (0x8408 & mask);
        }
    }
    crc
}

/// Decrypt `block` with the 16-byte `aes_key` and check the CRC and that the private id equals
/// `private_id` (in constant time). None if the key is not 16 bytes, the CRC is wrong or the
/// private id differs.
pub fn open(block: &[u8; 16], aes_key: &SecretBytes, private_id: &SecretBytes) -> Option<Decoded> {
    // The `zeroize` feature of `aes` wipes the key schedule when `cipher` drops.
    let cipher = Aes128::new_from_slice(aes_key.expose()).ok()?;
    // One block, so ECB is just the block cipher (Yubico OTP specification).
    let mut plain = *block;
    cipher.decrypt_block((&mut plain).into());
    let decoded = read_plain(&plain, private_id);
    plain.zeroize();
    decoded
}

/// The fields of a decrypted block, if its CRC and private id are right.
fn read_plain(p: &[u8; 16], private_id: &SecretBytes) -> Option<Decoded> {
    let crc_ok = crc16(p) == CRC_RESIDUE;
    // `ct_eq` is false for a stored private id of the wrong length.
    let id_ok = bool::from(p[..6].ct_eq(private_id.expose()));
    if !(crc_ok && id_ok) {
        return None;
    }
    // Layout: uid[6], usage counter u16 LE, timestamp 24-bit LE, session use u8, random u16 LE,
    // CRC u16 LE.
    let mut uid = [0u8; 6];
    uid.copy_from_slice(&p[..6]);
    Some(Decoded {
        private_id: uid,
        session_counter: u16::from_le_bytes([p[6], p[7]]),
        timestamp: u32::from_le_bytes([p[8], p[9], p[10], 0]),
        session_use: p[11],
    })
}

/// One programmed YubiKey slot, from the CSV YubiKey Manager writes.
#[derive(Clone, Debug)]
pub struct ProgrammedKey {
    /// 1-based line in the file.
    pub line: usize,
    /// The YubiKey's serial number, decimal.
    pub serial: String,
    /// Lowercase modhex, 12 characters.
    pub public_id: String,
    /// 6 bytes.
    pub private_id: SecretBytes,
    /// 16 bytes.
    pub aes_key: SecretBytes,
}

/// A problem in a YubiKey Manager CSV. The messages name the line and field, never the value of
/// a secret field; a malformed field is not quoted at all, in case the columns are shifted and
/// it holds a secret.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("line {line}: not readable as CSV")]
    Unreadable { line: usize },
    #[error(
        "line {line}: expected at least 4 fields (serial, public id, private id, aes key), \
         found {found}"
    )]
    TooFewFields { line: usize, found: usize },
    #[error("line {line}: no serial: this line cannot be matched to a user")]
    NoSerial { line: usize },
    #[error("line {line}: serial must be decimal digits")]
    BadSerial { line: usize },
    #[error("line {line}: public id must be 12 modhex characters (6 bytes)")]
    BadPublicId { line: usize },
    #[error("line {line}: private id must be 12 hex digits (6 bytes)")]
    BadPrivateId { line: usize },
    #[error("line {line}: aes key must be 32 hex digits (16 bytes)")]
    BadAesKey { line: usize },
    #[error("line {line}: public id {public_id} is already on line {first}")]
    DuplicatePublicId {
        line: usize,
        first: usize,
        public_id: String,
    },
}

/// `len` bytes of hex.
fn hex_secret(text: &str, len: usize) -> Option<SecretBytes> {
    crate::secret::from_hex(text).filter(|s| s.len() == len)
}

/// Every line of the file, or the first problem. Blank lines and lines starting with '#' are
/// skipped.
///
/// The format is YubiKey Manager's `format_csv` (ykman/otp.py), called by `ykman otp yubiotp
/// --config-output`: `serial,public id (modhex),private id (hex),key (hex),access code (hex or
/// empty),ISO-8601 timestamp,` — one line per slot, no header, lowercase. ykman writes the
/// serial as a decimal number (it reads it from the key, failing if it cannot), so an empty one
/// means a hand-edited line; the access code and timestamp are not needed here.
pub fn parse_ykman_csv(text: &str) -> Result<Vec<ProgrammedKey>, CsvError> {
    let mut keys = Vec::new();
    let mut first_line: HashMap<String, usize> = HashMap::new();
    let mut record = csv::StringRecord::new();
    // One line at a time: the csv crate's record positions do not count comment and blank
    // lines, and ykman never quotes a field, so no record spans lines.
    // Note: the csv crate's own buffers are not zeroed; `text` holds the same secrets anyway.
    for (index, raw) in text.lines().enumerate() {
        let line = index.saturating_add(1);
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if !read_fields(trimmed, &mut record) {
            return Err(CsvError::Unreadable { line });
        }
        if record.len() < 4 {
            return Err(CsvError::TooFewFields {
                line,
                found: record.len(),
            });
        }
        let serial = &record[0];
        if serial.is_empty() {
            return Err(CsvError::NoSerial { line });
        }
        if !serial.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CsvError::BadSerial { line });
        }
        let public = modhex_decode(&record[1])
            .filter(|id| id.len() * 2 == PUBLIC_ID_LEN)
            .ok_or(CsvError::BadPublicId { line })?;
        let public_id = modhex_encode(&public);
        let private_id = hex_secret(&record[2], 6).ok_or(CsvError::BadPrivateId { line })?;
        let aes_key = hex_secret(&record[3], 16).ok_or(CsvError::BadAesKey { line })?;
        if let Some(&first) = first_line.get(&public_id) {
            return Err(CsvError::DuplicatePublicId {
                line,
                first,
                public_id,
            });
        }
        first_line.insert(public_id.clone(), line);
        keys.push(ProgrammedKey {
            line,
            serial: serial.to_owned(),
            public_id,
            private_id,
            aes_key,
        });
    }
    Ok(keys)
}

/// The fields of one line into `record`; false unless it is exactly one CSV record.
fn read_fields(line: &str, record: &mut csv::StringRecord) -> bool {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(line.as_bytes());
    // A stray carriage return inside the line would end a record early: refuse it.
    matches!(reader.read_record(record), Ok(true))
        && matches!(reader.read_record(&mut csv::StringRecord::new()), Ok(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> SecretBytes {
        hex_secret(text, text.len() / 2).expect("test hex")
    }

    fn fields(d: &Decoded) -> (u16, u32, u8) {
        (d.session_counter, d.timestamp, d.session_use)
    }

    // Made once, by hand, with Debian's python3-yubiotp (an independent implementation):
    //   encode_otp(OTP(UID, session, timestamp, use, random), KEY, PUBLIC)
    // with random 0x0000, 0xbeef, 0x4242, 0xffff; the last from its simulated
    // `YubiKey(UID, 7, 3).generate()` (random 42517).
    const KEY: &str = "000102030405060708090a0b0c0d0e0f";
    const UID: &str = "a1b2c3d4e5f6";
    const PUBLIC: &str = "vvccccrbjnkt";
    /// (OTP, session counter, timestamp, session use).
    #[rustfmt::skip]
    const VECTORS: &[(&str, u16, u32, u8)] = &[
        ("vvccccrbjnktggcbcbfukrrncnnbbjggdkkjkituhkun", 1, 0x000001, 0),
        ("vvccccrbjnktbkhgeckdcjhfhiifjvlfkefrclfgrntt", 1, 0xabcdef, 255),
        ("vvccccrbjnktdvfjcdhlbevbrvrdukedelcenclnenhf", 2, 0x123456, 0),
        ("vvccccrbjnktbbtuicjhreevhhvufibvegrgthvkdeck", 0x7fff, 0xffffff, 17),
        ("vvccccrbjnktdtfbgerfejcnngttddvgcjtkhlkknjhc", 7, 14179, 3),
    ];

    #[test]
    fn modhex_round_trip_and_known_pair() {
        let bytes = vec![0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
        assert_eq!(modhex_encode(&bytes), "cbdefghijklnrtuv");
        assert_eq!(modhex_decode("cbdefghijklnrtuv"), Some(bytes.clone()));
        assert_eq!(modhex_decode("CBDEFGHIJKLNRTUV"), Some(bytes));
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(modhex_decode(&modhex_encode(&all)), Some(all));
        for bad in ["cbd", "ca", "cé"] {
            assert_eq!(modhex_decode(bad), None, "{bad}");
        }
        assert_eq!(modhex_decode(""), Some(Vec::new()));
    }

    #[test]
    fn crc_residue_of_the_specification_example() {
        let block = hex("8792ebfe26cc130030c20011c89f23c8");
        assert_eq!(crc16(block.expose()), CRC_RESIDUE);
        assert_ne!(crc16(&block.expose()[1..]), CRC_RESIDUE);
    }

    #[test]
    fn opens_python_yubiotp_vectors() {
        for &(otp, session, timestamp, session_use) in VECTORS {
            let t = tail(otp.as_bytes(), true).expect("shape");
            assert_eq!(t.public_id, PUBLIC);
            let d = open(&t.block, &hex(KEY), &hex(UID)).expect("opens");
            assert_eq!(d.private_id.as_slice(), hex(UID).expose());
            assert_eq!(fields(&d), (session, timestamp, session_use), "{otp}");
            assert_eq!(
                d.counter(),
                u64::from(session) * 256 + u64::from(session_use)
            );
        }
    }

    #[test]
    fn opens_python_yubiotp_docstring_example() {
        // yubiotp.otp's doctest: the ASCII text "0123456789abcdef" as key, a 4-byte public id.
        let token = "cclngiuvttkhthcilurtkerbjnnkljfkjccklkhl";
        let block = modhex_decode(&token[8..]).and_then(|b| <[u8; 16]>::try_from(b).ok());
        let key = SecretBytes::from(b"0123456789abcdef".as_slice());
        let d = open(&block.expect("block"), &key, &hex("0123456789ab")).expect("opens");
        assert_eq!(fields(&d), (5, 0x0153f8, 0));
    }

    #[test]
    fn refuses_wrong_key_private_id_and_flipped_bits() {
        let t = tail(VECTORS[0].0.as_bytes(), true).expect("shape");
        let (key, uid) = (hex(KEY), hex(UID));
        assert!(open(&t.block, &key, &uid).is_some());
        assert!(open(&t.block, &hex("ff0102030405060708090a0b0c0d0e0f"), &uid).is_none());
        assert!(open(&t.block, &key, &hex("a1b2c3d4e5f7")).is_none());
        assert!(open(&t.block, &key, &hex("a1b2c3d4e5")).is_none());
        assert!(open(&t.block, &hex("000102030405060708090a0b0c0d0e"), &uid).is_none());
        assert!(open(&t.block, &SecretBytes::default(), &uid).is_none());
        for bit in 0..128 {
            let mut block = t.block;
            block[bit / 8] ^= 1 << (bit % 8);
            assert!(open(&block, &key, &uid).is_none(), "bit {bit}");
        }
    }

    #[test]
    fn tail_shapes() {
        let otp = VECTORS[1].0;
        let upper = otp.to_ascii_uppercase();
        let t = tail(upper.as_bytes(), true).expect("caps lock is fine");
        assert_eq!(Some(&t), tail(otp.as_bytes(), true).as_ref());
        assert_eq!((t.at, t.public_id.as_str()), (0, PUBLIC));

        let typed = [b"hunter2".as_slice(), otp.as_bytes()].concat();
        assert_eq!(tail(&typed, false).map(|t| t.at), Some(7));
        assert_eq!(
            tail(&typed, true),
            None,
            "a challenge answer is only the OTP"
        );
        assert_eq!(
            tail(otp.as_bytes(), false),
            None,
            "a password needs one byte before"
        );
        assert_eq!(tail(&otp.as_bytes()[1..], true), None);
        assert_eq!(tail(b"", false), None);

        let mut bad = otp.as_bytes().to_vec();
        for byte in [b'a', b'0', b'z', 0xc3] {
            bad[30] = byte; // hex digits are not modhex
            assert_eq!(tail(&bad, true), None, "{byte}");
        }

        let latin1 = [[0xff, 0xe9, 0x80].as_slice(), otp.as_bytes()].concat();
        let t = tail(&latin1, false).expect("non-UTF-8 prefix is fine");
        assert_eq!(t.at, 3);
        assert!(open(&t.block, &hex(KEY), &hex(UID)).is_some());
    }

    #[test]
    fn counter_ordering_and_redacted_debug() {
        let at = |session_counter, session_use| Decoded {
            private_id: [0xa1; 6],
            session_counter,
            timestamp: 9,
            session_use,
        };
        assert!(at(2, 0).counter() > at(1, 255).counter());
        assert!(at(1, 1).counter() > at(1, 0).counter());
        assert_eq!(at(0x7fff, 255).counter(), 0x007f_ffff);
        let shown = format!("{:?}", at(3, 4));
        assert!(
            shown.contains("[redacted]") && shown.contains("session_counter: 3"),
            "{shown}"
        );
        assert!(!shown.contains("161") && !shown.contains("a1"), "{shown}");
    }

    const PRIV: &str = "a1b2c3d4e5f6";
    const AES: &str = "000102030405060708090a0b0c0d0e0f";
    const ACCESS: &str = "0f0e0d0c0b0a";

    /// A line shaped as ykman's `format_csv` writes it (access code set).
    fn line(serial: &str, public: &str, private: &str, key: &str) -> String {
        format!("{serial},{public},{private},{key},{ACCESS},2024-05-01T12:34:56,\n")
    }

    #[test]
    fn parses_ykman_lines() {
        // A comment, a ykman line, a blank line, spaces, a line with no access code in upper case.
        let text = format!(
            "# desk 2\n{}\n  \n0102,VVCCCCRBJNKU,{},{AES},,2024-05-01T12:35:10,\r\n",
            line("12345678", PUBLIC, PRIV, AES),
            PRIV.to_uppercase(),
        );
        let keys = parse_ykman_csv(&text).expect("parses");
        assert_eq!(keys.len(), 2);
        let k = &keys[0];
        assert_eq!(
            (k.line, k.serial.as_str(), k.public_id.as_str()),
            (2, "12345678", PUBLIC)
        );
        assert_eq!(k.private_id.expose(), hex(PRIV).expose());
        assert_eq!(k.aes_key.expose(), hex(AES).expose());
        let k = &keys[1];
        assert_eq!(
            (k.line, k.serial.as_str(), k.public_id.as_str()),
            (5, "0102", "vvccccrbjnku")
        );
        assert_eq!(k.private_id.expose(), hex(PRIV).expose());
        let shown = format!("{keys:?}");
        assert!(!shown.contains(PRIV) && !shown.contains(AES), "{shown}");
        assert!(parse_ykman_csv("").expect("empty").is_empty());
    }

    #[test]
    fn bad_fields_name_their_line_and_never_a_secret() {
        let good = line("1", "vvccccrbjnkb", PRIV, AES);
        let refused = |bad: String, expected: &str| {
            let err = parse_ykman_csv(&format!("{good}{bad}"))
                .expect_err(expected)
                .to_string();
            assert!(err.starts_with(expected), "{err}");
            for secret in [PRIV, AES, ACCESS, "a1b2c3d4e5", &AES[2..]] {
                assert!(!err.to_lowercase().contains(secret), "{err}");
            }
        };
        refused(
            line("", PUBLIC, PRIV, AES),
            "line 2: no serial: this line cannot be matched",
        );
        refused(
            line("12a", PUBLIC, PRIV, AES),
            "line 2: serial must be decimal digits",
        );
        // Columns shifted: the private id where the public id belongs is not quoted.
        refused(
            line("7", PRIV, PRIV, AES),
            "line 2: public id must be 12 modhex characters",
        );
        refused(
            line("7", "vvccccrbjn", PRIV, AES),
            "line 2: public id must be 12 modhex",
        );
        refused(
            line("7", PUBLIC, "a1b2c3d4e5", AES),
            "line 2: private id must be 12 hex digits",
        );
        refused(
            line("7", PUBLIC, "a1b2c3d4e5zz", AES),
            "line 2: private id must be 12 hex",
        );
        refused(
            line("7", PUBLIC, PRIV, &AES[2..]),
            "line 2: aes key must be 32 hex digits (16",
        );
        let key = format!("{}xy", &AES[2..]);
        refused(
            line("7", PUBLIC, PRIV, &key),
            "line 2: aes key must be 32 hex digits",
        );
        refused(
            format!("7,{PUBLIC},{PRIV}\n"),
            "line 2: expected at least 4 fields",
        );
        refused(
            format!("7,{PUBLIC}\r{PRIV},{AES}\n"),
            "line 2: not readable as CSV",
        );
        let duplicate = "line 2: public id vvccccrbjnkb is already on line 1";
        refused(line("7", "vvccccrbjnkb", PRIV, AES), duplicate);
    }
}
