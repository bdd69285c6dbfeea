//! Where a run sends and with which shared secret: as given, or taken from the configuration of
//! the server on this machine. Only this machine is loaded (127.0.0.0/8, ::1) unless remote
//! servers are explicitly allowed: a load test is not something to aim at a server by mistake.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use zeroize::Zeroize;

use super::is_loopback;
use crate::client::{ServerAddress, ServerAddressError};
use radotp_server::clients::ClientTransport;
use radotp_server::config::Config;
use radotp_server::secret::SecretBytes;

/// Why the target or the secret cannot be used; each says what to give instead.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error(transparent)]
    Address(#[from] ServerAddressError),
    #[error("no server to send to; give --server HOST[:PORT]")]
    NoServer,
    #[error(
        "the configuration has no UDP listener ([server] listen = []), and this tool speaks \
         RADIUS over UDP; give --server HOST[:PORT]"
    )]
    NoUdpListen,
    #[error(
        "the configuration listens on {0} (port 0: any free port); give --server with the \
         address the server reported"
    )]
    AnyPort(SocketAddr),
    #[error(
        "{0} is not on this machine; radotp bench sends only to 127.0.0.0/8 and ::1 unless \
         --allow-remote is given (load-test a remote server only with its owners' consent)"
    )]
    Remote(SocketAddr),
    #[error("cannot read the shared secret from {path}: {reason}")]
    ReadSecret { path: PathBuf, reason: String },
    #[error(
        "no [[client]] in the configuration covers {from}; give --secret-file with the shared \
         secret {server} has for this machine"
    )]
    NoClient { from: IpAddr, server: SocketAddr },
    #[error("no shared secret; give --secret-file (or --secret)")]
    NoSecret,
    #[error(
        "the [[client]] covering {from}, \"{name}\", has transport = \"radsec\", and this tool \
         speaks RADIUS over UDP; add a UDP [[client]] for {from} (and a [server] listen) to test \
         through UDP"
    )]
    RadsecClient { from: IpAddr, name: String },
    #[error("the shared secret is empty")]
    EmptySecret,
}

/// The server to load: `given`, or where the configured server listens (an unspecified
/// address meaning this machine's loopback).
pub fn server(
    given: Option<&ServerAddress>,
    config: Option<&Config>,
    allow_remote: bool,
) -> Result<SocketAddr, TargetError> {
    let server = match (given, config) {
        (Some(address), _) => address.resolve()?,
        (None, Some(config)) => {
            let listen = *config
                .server
                .listen
                .first()
                .ok_or(TargetError::NoUdpListen)?;
            if listen.port() == 0 {
                return Err(TargetError::AnyPort(listen));
            }
            let ip = match listen.ip() {
                IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
                ip => ip,
            };
            SocketAddr::new(ip, listen.port())
        }
        (None, None) => return Err(TargetError::NoServer),
    };
    if !is_loopback(server.ip()) && !allow_remote {
        return Err(TargetError::Remote(server));
    }
    Ok(server)
}

/// The secret `given`, or the first line of `file`, or — for a server on this machine — the
/// secret of the most specific configured `[[client]]` covering the loopback address.
pub fn shared_secret(
    given: Option<&str>,
    file: Option<&Path>,
    config: Option<&Config>,
    server: SocketAddr,
) -> Result<SecretBytes, TargetError> {
    let secret = match (given, file, config) {
        (Some(text), _, _) => SecretBytes::from(text.as_bytes()),
        (None, Some(path), _) => {
            let mut text = std::fs::read_to_string(path).map_err(|e| TargetError::ReadSecret {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
            let secret = SecretBytes::from(text.lines().next().unwrap_or("").as_bytes());
            text.zeroize();
            secret
        }
        (None, None, Some(config)) if is_loopback(server.ip()) => {
            let source = match server {
                SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            };
            let client = config
                .clients
                .iter()
                .filter(|c| c.network.contains(&source))
                .max_by_key(|c| c.network.prefix_len())
                .ok_or(TargetError::NoClient {
                    from: source,
                    server,
                })?;
            if client.transport != ClientTransport::Udp {
                return Err(TargetError::RadsecClient {
                    from: source,
                    name: client.name.clone(),
                });
            }
            client.secret.clone()
        }
        (None, None, _) => return Err(TargetError::NoSecret),
    };
    if secret.is_empty() {
        return Err(TargetError::EmptySecret);
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(listen: &str) -> Config {
        let text = format!(
            "[server]\nlisten = [\"{listen}\"]\n[database]\npath = \"x.db\"\n\
             [[client]]\nname = \"wide\"\naddress = \"127.0.0.0/8\"\nsecret = \"wide-secret-0123456\"\n\
             [[client]]\nname = \"here\"\naddress = \"127.0.0.1\"\nsecret = \"here-secret-0123456\"\n\
             [[client]]\nname = \"v6\"\naddress = \"::1\"\nsecret = \"six-secret-01234567\"\n"
        );
        Config::from_toml(&text, Path::new("/tmp")).unwrap()
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_server_is_given_or_where_the_configured_one_listens_on_this_machine() {
        let given: ServerAddress = "127.0.0.2:1645".parse().unwrap();
        let c = config("0.0.0.0:1812");
        assert_eq!(
            server(Some(&given), Some(&c), false).unwrap(),
            addr("127.0.0.2:1645")
        );
        assert_eq!(
            server(None, Some(&c), false).unwrap(),
            addr("127.0.0.1:1812")
        );
        let c6 = config("[::]:1812");
        assert_eq!(server(None, Some(&c6), false).unwrap(), addr("[::1]:1812"));
        let any = config("127.0.0.1:0");
        assert!(matches!(
            server(None, Some(&any), false),
            Err(TargetError::AnyPort(_))
        ));
        assert!(matches!(
            server(None, None, false),
            Err(TargetError::NoServer)
        ));
    }

    #[test]
    fn other_machines_only_when_allowed() {
        let remote: ServerAddress = "192.0.2.1".parse().unwrap();
        assert!(matches!(
            server(Some(&remote), None, false),
            Err(TargetError::Remote(a)) if a == addr("192.0.2.1:1812")
        ));
        assert_eq!(
            server(Some(&remote), None, true).unwrap(),
            addr("192.0.2.1:1812")
        );
        // A server configured to listen elsewhere is refused the same way.
        let elsewhere = config("192.0.2.7:1812");
        assert!(matches!(
            server(None, Some(&elsewhere), false),
            Err(TargetError::Remote(_))
        ));
    }

    #[test]
    fn the_secret_is_given_read_or_that_of_the_most_specific_loopback_client() {
        let c = config("127.0.0.1:1812");
        let here = addr("127.0.0.1:1812");
        let secret = |given, file, config, server| {
            shared_secret(given, file, config, server).map(|s| s.expose().to_vec())
        };
        assert_eq!(
            secret(Some("typed"), None, Some(&c), here).unwrap(),
            b"typed"
        );
        assert_eq!(
            secret(None, None, Some(&c), here).unwrap(),
            b"here-secret-0123456"
        );
        assert_eq!(
            secret(None, None, Some(&c), addr("[::1]:1812")).unwrap(),
            b"six-secret-01234567"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nas.secret");
        std::fs::write(&path, "from-file\nignored\n").unwrap();
        assert_eq!(
            secret(None, Some(&path), Some(&c), here).unwrap(),
            b"from-file"
        );
        assert!(matches!(
            shared_secret(None, Some(&dir.path().join("missing")), None, here),
            Err(TargetError::ReadSecret { .. })
        ));
        // A remote server's secret is never guessed from the local configuration.
        let remote = addr("192.0.2.1:1812");
        assert!(matches!(
            shared_secret(None, None, Some(&c), remote),
            Err(TargetError::NoSecret)
        ));
        assert!(matches!(
            shared_secret(Some(""), None, None, here),
            Err(TargetError::EmptySecret)
        ));
    }
}
