//! `radotp bench`: load a RADIUS server with real, signed requests and report what came back;
//! create and remove the benchmark users; measure the argon2 ceiling of this machine.
//!
//! Exit status: 0 the run (or task) completed; 1 runtime failure; 2 usage or configuration
//! mistake (a non-loopback server without --allow-remote among them); 3 not one valid answer.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{ArgGroup, Args};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use super::{Failure, load_config, open_store};
use radotp_server::protocol::password::MAX_LEN as MAX_USER_PASSWORD_LEN;
use radotp_server::secret::SecretBytes;
use radotp_server::store::PasswordSource;
use radotp_tools::bench::calibrate::calibrate;
use radotp_tools::bench::generator::{self, Load, Plan};
use radotp_tools::bench::report::Summary;
use radotp_tools::bench::scenario::{Factory, Scenario};
use radotp_tools::bench::target::{self, TargetError};
use radotp_tools::bench::users::{self, BenchUsers, Setup};
use radotp_tools::bench::warnings::{self, UsersInfo};
use radotp_tools::bench::{BenchError, parse_duration};
use radotp_tools::client::ServerAddress;

pub(super) const HELP: &str = "Examples:\n  \
    radotp bench --scenario status --concurrency 32 --duration 10s\n  \
    radotp bench --setup-users 10000\n  \
    radotp bench --scenario accept --rate 100 --duration 20s --json\n  \
    radotp bench --scenario reject --server 127.0.0.1:18121 --secret-file nas.secret --count 500\n  \
    radotp bench --calibrate\n  \
    radotp bench --remove-users\n\n\
    Bench users are {prefix}-0000000, {prefix}-0000001, …; their password and the master seed of\n\
    their TOTP seeds are recorded in <database>.bench.json (mode 0600) beside an SQLite file, or\n\
    postgres-HOST-PORT-DATABASE.bench.json beside the key file. Use a test database.\n\n\
    Exit status: 0 done; 1 runtime failure; 2 usage mistake (e.g. a server that is not on this\n\
    machine without --allow-remote); 3 no valid answer to any request.";

#[derive(Debug, Args)]
#[command(
    group(ArgGroup::new("task").args(["setup_users", "remove_users", "calibrate"])
        .conflicts_with_all(["server", "allow_remote", "secret", "secret_file", "rate",
            "concurrency", "count", "timeout", "sockets"])),
    group(ArgGroup::new("load").args(["rate", "concurrency"])),
    group(ArgGroup::new("shared_secret").args(["secret", "secret_file"])),
)]
pub(crate) struct BenchArgs {
    /// What to send: status (Status-Server), reject (bench users, wrong code), accept (bench
    /// users, password and current code, each user once per TOTP step), mixed (of every 20:
    /// 1 Status-Server, 4 rejects, 15 accepts).
    #[arg(long, value_enum, default_value_t = Scenario::Status)]
    pub scenario: Scenario,
    /// Logins carry the bench password alone, without a code: to measure a RADIUS server that
    /// checks only passwords (such as radotp's [upstream]) with the same generator, e.g.
    /// `--scenario accept --no-code --server 192.0.2.10:1812 --secret-file upstream.secret`.
    #[arg(long)]
    pub no_code: bool,
    /// The server (default: the first `[server] listen` address of the configuration). Only
    /// this machine's addresses, 127.0.0.0/8 and ::1, unless --allow-remote. Given several
    /// times, the nodes of one cluster share the load: each socket sends to one of them, and
    /// the sockets are used in turn (they share the first one's secret).
    #[arg(long, value_name = "HOST[:PORT]")]
    pub server: Vec<ServerAddress>,
    /// Allow a server that is not on this machine. A load test burdens the server and the
    /// network in between: only with their owners' consent.
    #[arg(long)]
    pub allow_remote: bool,
    /// The shared secret (default: that of the configuration's `[[client]]` for this machine).
    #[arg(long, value_name = "SECRET")]
    pub secret: Option<String>,
    /// Read the shared secret from the first line of this file.
    #[arg(long, value_name = "PATH")]
    pub secret_file: Option<PathBuf>,
    /// Open loop: send this many requests per second, whether or not earlier ones were answered.
    #[arg(long, value_name = "N", value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// Closed loop, the default: keep this many requests outstanding (default 16).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub concurrency: Option<u32>,
    /// Stop sending after this long: 500ms, 10s, 2m (default 10s; with --calibrate 5s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Stop sending after this many requests.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// How long each request waits for its answer before it counts as lost.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// UDP sockets to send from, 256 outstanding requests each (default: enough for the load).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub sockets: Option<u32>,
    /// Threads of the load generator (default 1, leaving the other cores to the server); with
    /// --calibrate, verifying threads (default: one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: Option<u32>,
    /// Print one JSON document and nothing else on stdout.
    #[arg(long)]
    pub json: bool,
    /// Create bench users in the configured database until N exist: one argon2 hash at the
    /// configured cost shared by all, seeds derived from a recorded master seed.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub setup_users: Option<u64>,
    /// Name prefix of the bench users.
    #[arg(
        long,
        value_name = "PREFIX",
        default_value = "bench",
        requires = "setup_users"
    )]
    pub prefix: String,
    /// Password of new bench users (default: a random one); recorded with them.
    #[arg(long, value_name = "PASSWORD", requires = "setup_users")]
    pub password: Option<String>,
    /// Where new bench users' password is checked: "local" (the one shared hash),
    /// "directory" (the [directory], which must hold users of these names and this password)
    /// or "upstream" (the [upstream] servers, likewise).
    #[arg(long, value_parser = ["local", "directory", "upstream"], default_value = "local", requires = "setup_users")]
    pub password_source: String,
    /// Tokens of each new bench user: the TOTP token the load logs in with comes last, after
    /// N - 1 HOTP fobs that are only checked (what several tokens per person cost).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=20), requires = "setup_users")]
    pub tokens_per_user: u32,
    /// Delete the bench users recorded for the configured database, and the record.
    #[arg(long)]
    pub remove_users: bool,
    /// Measure argon2 verifications per second on all cores at the configured [password]
    /// cost: the ceiling for authentications per second.
    #[arg(long)]
    pub calibrate: bool,
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate > 0.0 && rate <= 10_000_000.0 => Ok(rate),
        _ => Err(format!(
            "{text:?} is not a rate from 0 to 10000000 requests per second"
        )),
    }
}

pub(super) fn run(config_path: &Path, args: BenchArgs) -> Result<(), Failure> {
    if args.calibrate {
        return run_calibrate(config_path, &args);
    }
    if let Some(count) = args.setup_users {
        return setup_users(config_path, count, &args);
    }
    if args.remove_users {
        return remove_users(config_path, &args);
    }
    run_load(config_path, args)
}

fn bench_failure(e: BenchError) -> Failure {
    match e {
        BenchError::NoUsers { .. }
        | BenchError::OtherPrefix { .. }
        | BenchError::OtherPassword
        | BenchError::BadPrefix { .. } => Failure::Usage(e.to_string()),
        other => Failure::Runtime(other.to_string()),
    }
}

fn run_load(config_path: &Path, args: BenchArgs) -> Result<(), Failure> {
    let needs_config =
        args.server.is_empty() || args.secret_is_default() || args.scenario.needs_users();
    let config = match needs_config {
        true => Some(load_config(config_path)?),
        false => None,
    };
    let usage = |e: TargetError| Failure::Usage(e.to_string());
    let server =
        target::server(args.server.first(), config.as_ref(), args.allow_remote).map_err(usage)?;
    let mut servers = vec![server];
    for other in args.server.iter().skip(1) {
        let other = target::server(Some(other), None, args.allow_remote).map_err(usage)?;
        if servers.contains(&other) {
            return Err(Failure::Usage(format!(
                "--server {other} is given twice; name each node once"
            )));
        }
        servers.push(other);
    }
    let shared_secret = target::shared_secret(
        args.secret.as_deref(),
        args.secret_file.as_deref(),
        config.as_ref(),
        server,
    )
    .map_err(usage)?;
    let load = match (args.rate, args.concurrency) {
        (Some(rate), _) => Load::Rate(rate),
        (None, concurrency) => Load::Concurrency(concurrency.unwrap_or(16) as usize),
    };
    let sockets = args
        .sockets
        .map_or_else(|| Plan::default_sockets(load, args.timeout), |n| n as usize)
        .max(servers.len());
    let plan = Plan {
        servers,
        load,
        duration: args.duration.unwrap_or(Duration::from_secs(10)),
        count: args.count,
        timeout: args.timeout,
        sockets,
    };
    let users = match (&config, args.scenario.needs_users()) {
        (Some(config), true) => {
            let file = BenchUsers::path_for(&config.database);
            let bench = BenchUsers::load(&file)
                .map_err(bench_failure)?
                .filter(|b| b.count() > 0)
                .ok_or_else(|| bench_failure(BenchError::NoUsers { path: file }))?;
            Some((bench, open_store(config)?, config.lockout.max_failures))
        }
        _ => None,
    };
    let mut warnings = match (&config, &users) {
        (Some(config), users) => warnings::before(
            &plan,
            args.scenario,
            users.as_ref().map(|(b, _, m)| UsersInfo {
                count: b.count(),
                period: b.params().period,
                max_failures: *m,
            }),
            config,
        ),
        (None, _) => Vec::new(),
    };
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    let factory = Factory::new(args.scenario, shared_secret, users);
    let factory = Arc::new(match args.no_code {
        true => factory.without_codes(),
        false => factory,
    });
    let threads = args.threads.map_or(1, |n| n as usize);
    let (tally, elapsed) = generator::run_blocking(plan.clone(), Arc::clone(&factory), threads)
        .map_err(bench_failure)?;
    let after = warnings::after(&tally, factory.user_count(), factory.period());
    for warning in &after {
        eprintln!("warning: {warning}");
    }
    warnings.extend(after);
    let summary = Summary::new(
        args.scenario,
        plan,
        factory.user_count(),
        tally,
        elapsed,
        warnings,
    );
    match args.json {
        true => println!("{}", summary.to_json()),
        false => print!("{}", summary.to_text()),
    }
    if summary.tally.sent > 0 && summary.answered == 0 {
        return Err(Failure::NoAnswer(format!(
            "no valid answer to any of {} requests from {server}; is the server running, is this \
             machine its client, and is the shared secret right?",
            summary.tally.sent
        )));
    }
    Ok(())
}

impl BenchArgs {
    fn secret_is_default(&self) -> bool {
        self.secret.is_none() && self.secret_file.is_none()
    }
}

fn setup_users(config_path: &Path, count: u64, args: &BenchArgs) -> Result<(), Failure> {
    let config = load_config(config_path)?;
    let params = config.otp.defaults;
    let password = match &args.password {
        Some(p) if p.is_empty() || p.contains('\0') => {
            return Err(Failure::Usage(
                "--password must be non-empty and without NUL".into(),
            ));
        }
        Some(p) if p.len() + usize::from(params.digits) > MAX_USER_PASSWORD_LEN => {
            return Err(Failure::Usage(format!(
                "--password is {} bytes; with the {}-digit code it must fit in {MAX_USER_PASSWORD_LEN}",
                p.len(),
                params.digits
            )));
        }
        p => p.as_ref().map(|p| SecretBytes::from(p.as_bytes())),
    };
    let store = open_store(&config)?;
    let file = BenchUsers::path_for(&config.database);
    let setup = Setup {
        count,
        prefix: args.prefix.clone(),
        password,
        params,
        cost: config.password,
        now: radotp_tools::bench::unix_now() as i64,
        source: PasswordSource::parse(&args.password_source).unwrap_or_default(),
        tokens: args.tokens_per_user,
    };
    let bar = progress("creating bench users");
    let report = users::setup(store.as_ref(), &file, setup, &mut |done, todo| {
        bar.set_length(todo);
        bar.set_position(done);
    })
    .map_err(bench_failure)?;
    bar.finish_and_clear();
    let seconds = report.elapsed.as_secs_f64();
    if args.json {
        let doc = json!({
            "created": report.created,
            "total": report.total,
            "prefix": report.prefix,
            "file": report.file.display().to_string(),
            "seconds": (seconds * 1000.0).round() / 1000.0,
        });
        println!("{doc}");
        return Ok(());
    }
    println!(
        "Created {} bench users in {seconds:.1} s; {} exist ({p}-0000000 … {p}-{:07}), recorded in {}.\n\
         Remove them with: radotp bench --remove-users",
        report.created,
        report.total,
        report.total.saturating_sub(1),
        report.file.display(),
        p = report.prefix,
    );
    Ok(())
}

fn remove_users(config_path: &Path, args: &BenchArgs) -> Result<(), Failure> {
    let config = load_config(config_path)?;
    let store = open_store(&config)?;
    let file = BenchUsers::path_for(&config.database);
    let bar = progress("removing bench users");
    let report = users::remove(store.as_ref(), &file, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .map_err(bench_failure)?;
    bar.finish_and_clear();
    let seconds = report.elapsed.as_secs_f64();
    match args.json {
        true => println!(
            "{}",
            json!({ "removed": report.removed, "missing": report.missing,
                    "seconds": (seconds * 1000.0).round() / 1000.0 })
        ),
        false => println!(
            "Removed {} bench users in {seconds:.1} s ({} were already gone).",
            report.removed, report.missing
        ),
    }
    Ok(())
}

fn run_calibrate(config_path: &Path, args: &BenchArgs) -> Result<(), Failure> {
    let config = load_config(config_path)?;
    let threads = args.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |n| n as usize,
    );
    let duration = args.duration.unwrap_or(Duration::from_secs(5));
    if !args.json {
        eprintln!(
            "Verifying argon2 hashes on {threads} threads for {:.1} s …",
            duration.as_secs_f64()
        );
    }
    let result = calibrate(config.password, duration, threads).map_err(bench_failure)?;
    match args.json {
        true => println!("{}", result.to_json()),
        false => print!("{}", result.to_text()),
    }
    Ok(())
}

fn progress(what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let template = format!("{what} {{bar:40}} {{pos}}/{{len}} ({{eta}})");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar
}
