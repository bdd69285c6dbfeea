//! `radotp test`: a radtest an administrator can trust. It sends one Access-Request (or a
//! Status-Server), believes an answer only after checking its signatures, prints every reply
//! attribute, and otherwise says exactly why no valid answer came.
//!
//! Exit status: 0 Access-Accept, 1 Access-Reject or Access-Challenge, 2 usage mistake, 3 no
//! valid answer. The password, the code and the shared secret are never printed.

use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Args};
use serde_json::{Map, Value, json};
use zeroize::Zeroize;

use super::Failure;
use radotp_server::protocol::{code, password::MAX_LEN as MAX_USER_PASSWORD_LEN};
use radotp_server::secret::SecretBytes;
use radotp_tools::client::{
    self, Answer, ExchangeError, Ignored, Request, RequestBuilder, ServerAddress, Timing, display,
};

#[derive(Debug, Args)]
#[command(
    group(ArgGroup::new("shared_secret").required(true).args(["secret", "secret_file"])),
    after_help = "Examples:\n  \
        radotp test --server 192.0.2.10 --secret-file /etc/radotp/nas.secret --user alice --code 123456\n  \
        echo 'their password' | radotp test --server '[2001:db8::1]:1812' --secret-file nas.secret \\\n      \
        --user alice --password-stdin --code 123456 --json\n  \
        radotp test --server radius.example.com --secret-file nas.secret --status\n\n\
        Exit status: 0 Access-Accept; 1 Access-Reject or Access-Challenge; 2 usage mistake;\n\
        3 no valid answer (timeout, closed port, bad Response Authenticator,\n\
        bad Message-Authenticator, malformed reply)."
)]
pub(crate) struct TestArgs {
    /// The RADIUS server: HOST or HOST:PORT (port 1812 unless given); an IPv6 address with a
    /// port goes in brackets, as [2001:db8::1]:1812.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub server: ServerAddress,
    /// The shared secret this machine has as a client of the server. Visible to other users in
    /// `ps` and kept in shell history: prefer --secret-file.
    #[arg(long, value_name = "SECRET")]
    pub secret: Option<String>,
    /// Read the shared secret from the first line of this file.
    #[arg(long, value_name = "PATH")]
    pub secret_file: Option<PathBuf>,
    /// User-Name to send.
    #[arg(long, value_name = "NAME", required_unless_present = "status")]
    pub user: Option<String>,
    /// The password on the command line. Visible to other users in `ps`: prefer
    /// --password-stdin. With neither, the password is asked for on the terminal.
    #[arg(long, value_name = "PASSWORD", conflicts_with = "password_stdin")]
    pub password: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// The current one-time code, appended to the password as a user types it.
    #[arg(long, value_name = "CODE")]
    pub code: Option<String>,
    /// Send a Status-Server (RFC 5997) instead: is the server up, and is the secret right?
    #[arg(long, conflicts_with_all = ["user", "password", "password_stdin", "code", "no_message_authenticator"])]
    pub status: bool,
    /// Leave Message-Authenticator out of the Access-Request (a server that requires it, as
    /// radotp does by default, then drops the request).
    #[arg(long)]
    pub no_message_authenticator: bool,
    /// How long to wait for an answer to each try: 300ms, 3s, 1.5s, 1m (bare numbers are
    /// seconds).
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = parse_timeout)]
    pub timeout: Duration,
    /// How many times to resend the same request when a try times out.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=10))]
    pub retries: u32,
    /// Print one JSON document and nothing else on stdout.
    #[arg(long)]
    pub json: bool,
}

pub(super) fn run(args: TestArgs) -> Result<(), Failure> {
    let shared_secret = read_secret(&args)?;
    let request = build_request(&args, &shared_secret)?;
    let server = args
        .server
        .resolve()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let timing = Timing {
        timeout: args.timeout,
        retries: args.retries,
    };
    let report = Report {
        args: &args,
        server,
        request: &request,
        timing,
    };
    if !args.json {
        report.print_sent();
    }
    let socket = client::bind_for(server).map_err(|e| {
        let message = format!("cannot open a UDP socket to reach {server}: {e}");
        report.print_failure("socket_failed", &message, &[], 0);
        Failure::NoAnswer(message)
    })?;
    match client::exchange(&socket, server, &request, shared_secret.expose(), timing) {
        Ok(answer) => report.answered(&answer),
        Err(error) => {
            let (ignored, attempts) = match &error {
                ExchangeError::NoAnswer { ignored, .. } => (ignored.as_slice(), timing.tries()),
                ExchangeError::PortUnreachable {
                    ignored, attempts, ..
                } => (ignored.as_slice(), *attempts),
                _ => (&[][..], 1),
            };
            report.print_failure(error.kind(), &error.to_string(), ignored, attempts);
            Err(Failure::NoAnswer(error.to_string()))
        }
    }
}

fn read_secret(args: &TestArgs) -> Result<SecretBytes, Failure> {
    let secret = match (&args.secret, &args.secret_file) {
        (Some(text), _) => SecretBytes::from(text.as_bytes()),
        (None, Some(path)) => {
            let mut text = std::fs::read_to_string(path).map_err(|e| {
                Failure::Usage(format!(
                    "cannot read the shared secret from {}: {e}",
                    path.display()
                ))
            })?;
            let secret = SecretBytes::from(first_line(&text));
            text.zeroize();
            secret
        }
        (None, None) => unreachable!("clap requires --secret or --secret-file"),
    };
    if secret.is_empty() {
        return Err(Failure::Usage(
            "the shared secret is empty; give the one configured for this client on the server"
                .into(),
        ));
    }
    Ok(secret)
}

fn first_line(text: &str) -> &[u8] {
    text.lines().next().unwrap_or("").as_bytes()
}

fn build_request(args: &TestArgs, shared_secret: &SecretBytes) -> Result<Request, Failure> {
    let builder = if args.status {
        RequestBuilder::status_server()
    } else {
        let user = args.user.as_deref().unwrap_or_default();
        if user.is_empty() || user.len() > 253 {
            return Err(Failure::Usage(format!(
                "--user must be 1 to 253 octets, not {}",
                user.len()
            )));
        }
        let password = read_password(args, user)?;
        let mut typed = password.expose().to_vec();
        typed.extend_from_slice(args.code.as_deref().unwrap_or_default().as_bytes());
        let typed = SecretBytes::new(typed);
        if typed.len() > MAX_USER_PASSWORD_LEN {
            return Err(Failure::Usage(format!(
                "the password with the code appended is {} octets; User-Password holds at most {}",
                typed.len(),
                MAX_USER_PASSWORD_LEN
            )));
        }
        RequestBuilder::access_request()
            .message_authenticator(!args.no_message_authenticator)
            .user_name(user)
            .user_password(typed)
    };
    builder
        .nas_identifier(client::TEST_NAS_IDENTIFIER)
        .build(shared_secret.expose())
        .map_err(|e| Failure::Usage(e.to_string()))
}

fn read_password(args: &TestArgs, user: &str) -> Result<SecretBytes, Failure> {
    if let Some(password) = &args.password {
        eprintln!(
            "warning: --password is visible to other users in `ps` and stays in shell history; \
             prefer --password-stdin"
        );
        return Ok(SecretBytes::from(password.as_bytes()));
    }
    if args.password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| {
            Failure::Usage(format!("cannot read the password from standard input: {e}"))
        })?;
        let password = SecretBytes::from(first_line(&line));
        line.zeroize();
        return Ok(password);
    }
    if std::io::stdin().is_terminal() {
        let mut typed =
            rpassword::prompt_password(format!("Password for {user}: ")).map_err(|e| {
                Failure::Usage(format!(
                    "cannot ask for the password on the terminal ({e}); use --password-stdin"
                ))
            })?;
        let password = SecretBytes::from(typed.as_bytes());
        typed.zeroize();
        return Ok(password);
    }
    Err(Failure::Usage(format!(
        "no password given: add --password-stdin and pass it as the first line of standard \
         input, e.g. echo 'their password' | radotp test --server … --user {user} \
         --password-stdin --code 123456"
    )))
}

/// Parse `300ms`, `3s`, `1.5s`, `1m` or a bare number of seconds, at most 10 minutes.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    radotp_server::timefmt::parse_duration(text, Duration::from_secs(600))
}

/// A round-trip time for people. Loopback answers take about 0.1 ms, which one decimal would
/// print as `0.0 ms`: three decimals below 0.1 ms, two below 10 ms, one above.
fn rtt_text(rtt: Duration) -> String {
    let ms = rtt.as_secs_f64() * 1000.0;
    let decimals = match ms {
        ms if ms < 0.1 => 3,
        ms if ms < 10.0 => 2,
        _ => 1,
    };
    format!("{ms:.decimals$} ms")
}

/// What is printed, on stdout, as text or as one JSON document.
struct Report<'a> {
    args: &'a TestArgs,
    server: SocketAddr,
    request: &'a Request,
    timing: Timing,
}

impl Report<'_> {
    /// `radius.example.com:1812 (192.0.2.10:1812)`, or the address alone.
    fn server_text(&self) -> String {
        let typed = self.args.server.to_string();
        if typed == self.server.to_string() {
            typed
        } else {
            format!("{typed} ({})", self.server)
        }
    }

    fn print_sent(&self) {
        let what = match (&self.args.user, self.args.code.is_some()) {
            (Some(user), true) => format!(", user {user:?} (password with code)"),
            (Some(user), false) => format!(", user {user:?}"),
            (None, _) => String::new(),
        };
        let ma = match self.request.has_message_authenticator() {
            true => "with",
            false => "without",
        };
        println!(
            "{} to {}, identifier {}{what}, {ma} Message-Authenticator",
            code::name(self.request.code()),
            self.server_text(),
            self.request.identifier(),
        );
        let _ = std::io::stdout().flush();
    }

    fn json_base(&self, ignored: &[Ignored]) -> Map<String, Value> {
        let mut doc = Map::new();
        doc.insert("server".into(), self.args.server.to_string().into());
        doc.insert("address".into(), self.server.to_string().into());
        doc.insert("request".into(), code::name(self.request.code()).into());
        doc.insert("identifier".into(), self.request.identifier().into());
        if let Some(user) = &self.args.user {
            doc.insert("user".into(), user.clone().into());
        }
        let sent_ma = self.request.has_message_authenticator();
        doc.insert("message_authenticator_sent".into(), sent_ma.into());
        let ignored: Vec<Value> = ignored
            .iter()
            .map(|i| json!({"from": i.from.to_string(), "reason": i.reason.kind(), "message": i.reason.to_string()}))
            .collect();
        doc.insert("ignored".into(), ignored.into());
        doc
    }

    fn print_ignored(ignored: &[Ignored]) {
        for i in ignored {
            println!("Ignored a datagram from {}: {}", i.from, i.reason);
        }
    }

    fn answered(&self, answer: &Answer) -> Result<(), Failure> {
        let reply = &answer.reply;
        // Whole microseconds: a loopback answer takes about 0.1 ms.
        let rtt_ms = (answer.rtt.as_secs_f64() * 1_000_000.0).round() / 1000.0;
        let ma = match (
            reply.message_authenticator,
            self.request.has_message_authenticator(),
        ) {
            (true, _) => "valid",
            (false, true) => {
                "absent: this server's replies could be forged (BlastRADIUS, CVE-2024-3596); \
                 make it send Message-Authenticator"
            }
            (false, false) => "absent",
        };
        if self.args.json {
            let mut doc = self.json_base(&answer.ignored);
            doc.insert("code".into(), reply.code_name().into());
            doc.insert("attempts".into(), answer.attempts.into());
            doc.insert("rtt_ms".into(), rtt_ms.into());
            doc.insert("response_authenticator".into(), "valid".into());
            let ma_word = if reply.message_authenticator {
                "valid"
            } else {
                "absent"
            };
            doc.insert("message_authenticator".into(), ma_word.into());
            let attributes: Vec<Value> = reply.attributes.iter().map(display::json).collect();
            doc.insert("attributes".into(), attributes.into());
            println!("{}", Value::Object(doc));
        } else {
            Self::print_ignored(&answer.ignored);
            println!(
                "{} in {} (try {} of {})",
                reply.code_name(),
                rtt_text(answer.rtt),
                answer.attempts,
                self.timing.tries()
            );
            println!("  Response Authenticator: valid");
            println!("  Message-Authenticator: {ma}");
            if reply.attributes.is_empty() {
                println!("Attributes: none");
            } else {
                println!("Attributes:");
                let dictionary = radotp_server::dictionary::Dictionary::builtin();
                for attribute in &reply.attributes {
                    // Vendor attributes by name, from the built-in dictionaries.
                    if attribute.kind == 26 {
                        for described in dictionary.describe(attribute.kind, &attribute.value) {
                            println!("  {described} (26)");
                        }
                    } else {
                        println!("  {}", display::line(attribute));
                    }
                }
            }
        }
        match reply.code {
            code::ACCESS_ACCEPT => Ok(()),
            code::ACCESS_CHALLENGE => Err(Failure::Runtime(
                "the server answered Access-Challenge; radotp test does not answer challenges"
                    .into(),
            )),
            _ => Err(Failure::Runtime(format!(
                "the server answered {}",
                reply.code_name()
            ))),
        }
    }

    fn print_failure(&self, kind: &str, message: &str, ignored: &[Ignored], attempts: u32) {
        if self.args.json {
            let mut doc = self.json_base(ignored);
            doc.insert("error".into(), kind.into());
            doc.insert("message".into(), message.into());
            doc.insert("attempts".into(), attempts.into());
            let timeout_ms = self.timing.timeout.as_millis() as u64;
            doc.insert("timeout_ms".into(), timeout_ms.into());
            println!("{}", Value::Object(doc));
        } else {
            Self::print_ignored(ignored);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_times_keep_their_precision() {
        let us = Duration::from_micros;
        let cases = [
            (us(42), "0.042 ms"),
            (us(123), "0.12 ms"),
            (us(9_876), "9.88 ms"),
            (us(12_345), "12.3 ms"),
            (us(1_500_000), "1500.0 ms"),
        ];
        for (rtt, expected) in cases {
            assert_eq!(rtt_text(rtt), expected, "{rtt:?}");
        }
    }

    #[test]
    fn timeouts() {
        let ms = Duration::from_millis;
        let cases = [
            ("300ms", Ok(ms(300))),
            ("3s", Ok(ms(3000))),
            ("1.5s", Ok(ms(1500))),
            ("1m", Ok(ms(60_000))),
            ("2", Ok(ms(2000))),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_timeout(text), expected, "{text}");
        }
        for bad in ["", "s", "3x", "0s", "-1s", "11m", "NaN"] {
            assert!(parse_timeout(bad).is_err(), "{bad:?} accepted");
        }
    }
}
