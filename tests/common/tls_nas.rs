//! A RadSec NAS of the tests' own, on rustls: it connects from a chosen loopback address,
//! presents the certificate it is given (or none), and sends and reads framed RADIUS packets,
//! or any bytes a test wants to send (for the cases radsecproxy and FreeRADIUS never produce:
//! a bad Length, a slow packet, no certificate).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use super::pki::Issued;

/// A TCP connection from `from` (an IP of 127.0.0.0/8) to `server`, nothing sent.
pub fn tcp_from(from: &str, server: SocketAddr) -> io::Result<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    let local: SocketAddr = format!("{from}:0").parse().unwrap();
    socket.bind(&local.into())?;
    socket.connect_timeout(&server.into(), Duration::from_secs(5))?;
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    Ok(stream)
}

/// One TLS connection to radotp's RadSec listener.
pub struct TlsNas {
    pub stream: StreamOwned<ClientConnection, TcpStream>,
}

impl TlsNas {
    /// Connect from `from`, trusting `ca` for the server (`localhost`), presenting `identity`;
    /// the handshake is complete when this returns (under TLS 1.3 the server may still refuse
    /// the certificate: the next read says so).
    pub fn connect(
        from: &str,
        server: SocketAddr,
        ca: &Path,
        identity: Option<&Issued>,
    ) -> io::Result<TlsNas> {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(ca).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        let config = match identity {
            None => builder.with_no_client_auth(),
            Some(issued) => {
                let chain: Vec<_> = CertificateDer::pem_file_iter(&issued.cert)
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                let key = PrivateKeyDer::from_pem_file(&issued.key).unwrap();
                builder.with_client_auth_cert(chain, key).unwrap()
            }
        };
        let name = ServerName::try_from("localhost").unwrap();
        let connection = ClientConnection::new(Arc::new(config), name).unwrap();
        let mut stream = StreamOwned::new(connection, tcp_from(from, server)?);
        while stream.conn.is_handshaking() {
            stream
                .conn
                .complete_io(&mut stream.sock)
                .map_err(|e| io::Error::new(e.kind(), format!("handshake: {e}")))?;
        }
        Ok(TlsNas { stream })
    }

    /// Write bytes as they are (a packet, part of one, or garbage).
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// The next packet, framed by its Length; an error if the connection ends (or fails)
    /// first.
    pub fn recv(&mut self) -> io::Result<Vec<u8>> {
        let mut header = [0u8; 4];
        self.stream.read_exact(&mut header)?;
        let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
        let mut packet = vec![0u8; length.max(4)];
        packet[..4].copy_from_slice(&header);
        self.stream.read_exact(&mut packet[4..])?;
        Ok(packet)
    }

    /// Has the server closed the connection? Waits up to the read timeout for it.
    pub fn closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        match self.stream.read(&mut byte) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => e.kind() != io::ErrorKind::WouldBlock && e.kind() != io::ErrorKind::TimedOut,
        }
    }
}
