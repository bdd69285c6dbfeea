//! The `[database] url`: parsed once, and shown without its password wherever it is printed.

use std::fmt;

use std::path::Path;

use tokio_postgres::config::Host;

use super::tls::{self, SslMode, Tls};

/// A PostgreSQL connection URL (`postgres://user[:password]@host[:port]/database[?options]`,
/// with libpq's `sslmode` and `sslrootcert` among the options). `Display` and `Debug` show
/// user, hosts, ports, database and a `sslmode` other than the default, never the password.
#[derive(Clone)]
pub struct PostgresUrl {
    config: tokio_postgres::Config,
    tls: Tls,
}

impl PostgresUrl {
    /// Parse a URL; the error says what is wrong without repeating the text (it may hold a
    /// password).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if !(text.starts_with("postgres://") || text.starts_with("postgresql://")) {
            return Err("must be a PostgreSQL URL starting with postgres://, e.g. \
                 \"postgres://radotp@db.example.org/radotp\""
                .to_owned());
        }
        let (rest, tls) = tls::split_off(text)?;
        let mut config: tokio_postgres::Config = rest
            .parse()
            .map_err(|e| format!("is not a valid PostgreSQL URL: {e}"))?;
        config.ssl_mode(tls.mode.wire());
        if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
            return Err(
                "names no host; add one (postgres://radotp@HOST/radotp), or a socket folder \
                 (postgres://radotp@%2Frun%2Fpostgresql/radotp)"
                    .to_owned(),
            );
        }
        Ok(Self { config, tls })
    }

    /// The TLS the connections use.
    pub fn tls(&self) -> &Tls {
        &self.tls
    }

    /// A relative `sslrootcert` resolves against `base` (the configuration's folder).
    pub fn resolve_paths(&mut self, base: &Path) {
        self.tls.resolve(base);
    }

    /// Does the URL carry a password (so the file holding it must stay private)?
    pub fn has_password(&self) -> bool {
        self.config.get_password().is_some()
    }

    /// The same server and credentials, another database (tests, `db copy` targets).
    pub fn with_database(&self, name: &str) -> Self {
        let mut config = self.config.clone();
        config.dbname(name);
        Self {
            config,
            tls: self.tls.clone(),
        }
    }

    /// The database as a file name: `postgres-HOST-PORT-DATABASE` (first host; the port 5432
    /// and the database named after the user unless the URL says otherwise), every character
    /// but letters, digits, `.`, `-` and `_` replaced by `_`. No user, no password.
    pub fn file_stem(&self) -> String {
        let host = match self.config.get_hosts().first() {
            Some(Host::Tcp(name)) => name.clone(),
            #[cfg(unix)]
            Some(Host::Unix(folder)) => folder.display().to_string(),
            None => self
                .config
                .get_hostaddrs()
                .first()
                .map_or_else(String::new, ToString::to_string),
        };
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        let database = self
            .config
            .get_dbname()
            .or(self.config.get_user())
            .unwrap_or("postgres");
        format!("postgres-{host}-{port}-{database}")
            .chars()
            .map(|c| match c {
                'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' => c,
                _ => '_',
            })
            .collect()
    }

    pub(crate) fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }
}

impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("postgres://")?;
        if let Some(user) = self.config.get_user() {
            write!(f, "{user}@")?;
        }
        let hosts: Vec<String> = self
            .config
            .get_hosts()
            .iter()
            .map(|host| match host {
                Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                Host::Unix(dir) => dir.display().to_string().replace('/', "%2F"),
            })
            .chain(self.config.get_hostaddrs().iter().map(|a| a.to_string()))
            .collect();
        let ports: Vec<String> = self.config.get_ports().iter().map(u16::to_string).collect();
        f.write_str(&hosts.join(","))?;
        if !ports.is_empty() {
            write!(f, ":{}", ports.join(","))?;
        }
        if let Some(db) = self.config.get_dbname() {
            write!(f, "/{db}")?;
        }
        if self.tls.mode != SslMode::Prefer {
            write!(f, "?{}", self.tls)?;
        }
        Ok(())
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PostgresUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_shows() {
        let url = PostgresUrl::parse(
            "postgres://radotp:s3cr3t@db.example.org:5433/radotp?connect_timeout=2",
        )
        .unwrap();
        assert_eq!(
            url.to_string(),
            "postgres://radotp@db.example.org:5433/radotp"
        );
        assert!(!format!("{url:?}").contains("s3cr3t"));
        let other = url.with_database("radotp_copy");
        assert_eq!(
            other.to_string(),
            "postgres://radotp@db.example.org:5433/radotp_copy"
        );
    }

    #[test]
    fn the_tls_mode_shows_and_the_rest_goes_to_tokio_postgres() {
        let url = PostgresUrl::parse(
            "postgres://radotp:pw@db.example.org/radotp?sslmode=verify-full&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(
            url.to_string(),
            "postgres://radotp@db.example.org:5432/radotp?sslmode=verify-full"
        );
        assert_eq!(url.tls().mode, SslMode::VerifyFull);
        assert_eq!(
            url.config().get_connect_timeout(),
            Some(&std::time::Duration::from_secs(3))
        );
        assert_eq!(
            url.config().get_ssl_mode(),
            tokio_postgres::config::SslMode::Require
        );
        let err = PostgresUrl::parse("postgres://x:pw@h/d?sslmode=sometimes").unwrap_err();
        assert!(
            err.contains("sslmode must be") && !err.contains("pw"),
            "{err}"
        );
    }

    #[test]
    fn unix_socket_folders_are_hosts() {
        let url = PostgresUrl::parse("postgresql://radotp@%2Frun%2Fpostgresql/radotp").unwrap();
        assert_eq!(
            url.to_string(),
            "postgres://radotp@%2Frun%2Fpostgresql:5432/radotp"
        );
    }

    #[test]
    fn file_stems_name_host_port_and_database_only() {
        for (text, want) in [
            (
                "postgres://radotp:s3cr3t@db.example.org:5433/radotp",
                "postgres-db.example.org-5433-radotp",
            ),
            ("postgres://alice@10.0.0.5", "postgres-10.0.0.5-5432-alice"),
            (
                "postgresql://radotp@%2Frun%2Fpostgresql/radotp",
                "postgres-_run_postgresql-5432-radotp",
            ),
            ("postgres://u@h/a%20b%2F..", "postgres-h-5432-a_b_.."),
        ] {
            let stem = PostgresUrl::parse(text).unwrap().file_stem();
            assert_eq!(stem, want, "{text}");
        }
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_them() {
        for (text, want) in [
            ("mysql://x:pw@h/db", "must be a PostgreSQL URL"),
            ("radotp.db", "must be a PostgreSQL URL"),
            (
                "postgres://x:pw@h:notaport/db",
                "not a valid PostgreSQL URL",
            ),
            ("postgres:///radotp", "names no host"),
        ] {
            let err = PostgresUrl::parse(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
            assert!(!err.contains("pw"), "{err}");
        }
    }
}
