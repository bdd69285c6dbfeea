//! Test certificates made with `rcgen` (ECDSA P-256 keys; rcgen's default validity, 1975 to
//! 4096, unless a test asks for an expired one): CAs, and the server and client certificates
//! they sign, written as PEM files `NAME.pem` and `NAME-key.pem` in a folder.

use std::fs;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// A CA whose certificate is `dir/NAME.pem` (key `dir/NAME-key.pem`).
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pub cert: PathBuf,
}

impl Ca {
    pub fn new(dir: &Path, name: &str, common_name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let path = dir.join(format!("{name}.pem"));
        fs::write(&path, cert.pem()).unwrap();
        fs::write(dir.join(format!("{name}-key.pem")), key.serialize_pem()).unwrap();
        Ca {
            issuer: Issuer::new(params, key),
            cert: path,
        }
    }

    /// Sign a certificate for `names` (DNS names or IP addresses; the first is also the common
    /// name) and write it and its key as `dir/NAME.pem`, `dir/NAME-key.pem`.
    pub fn issue(&self, dir: &Path, name: &str, names: &[&str], leaf: Leaf) -> Issued {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).unwrap();
        if let Some(first) = names.first() {
            params.distinguished_name.push(DnType::CommonName, first);
        }
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = match leaf {
            Leaf::Server => vec![ExtendedKeyUsagePurpose::ServerAuth],
            Leaf::Client | Leaf::ExpiredClient => vec![ExtendedKeyUsagePurpose::ClientAuth],
        };
        if leaf == Leaf::ExpiredClient {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let issued = Issued {
            cert: dir.join(format!("{name}.pem")),
            key: dir.join(format!("{name}-key.pem")),
        };
        fs::write(&issued.cert, cert.pem()).unwrap();
        fs::write(&issued.key, key.serialize_pem()).unwrap();
        issued
    }
}

/// What a certificate is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leaf {
    Server,
    Client,
    /// A client certificate valid from 2020 to 2021 only.
    ExpiredClient,
}

/// A certificate's PEM file and its key's.
#[derive(Clone, Debug)]
pub struct Issued {
    pub cert: PathBuf,
    pub key: PathBuf,
}
