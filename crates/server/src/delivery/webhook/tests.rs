//! Webhook tests: URL validation and redaction as tables, delivery over loopback HTTPS against
//! [`TestServer`].

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;

use super::test_server::{Script, TestServer};
use super::*;

const CODE: &str = "493817";
const SECS_5: Duration = Duration::from_secs(5);

fn body() -> serde_json::Value {
    json!({"user": "alice", "code": CODE, "message": format!("Your code is {CODE}")})
}

/// A webhook to `url` that trusts `server`'s certificate through a `ca_file`.
fn trusting(
    server: &TestServer,
    url: &str,
    timeout: Duration,
    retries: u32,
) -> (Webhook, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_file = dir.path().join("ca.pem");
    std::fs::File::create(&ca_file)
        .and_then(|mut f| f.write_all(server.cert_pem.as_bytes()))
        .expect("write ca.pem");
    let config = WebhookConfig::new(url, Some(ca_file), timeout, retries).expect("valid config");
    (Webhook::new(config).expect("webhook"), dir)
}

#[test]
fn urls_are_validated() {
    // (url, Ok(redacted) or Err(fragment of the message))
    let table: &[(&str, Result<&str, &str>)] = &[
        (
            "https://sms.example.com/send",
            Ok("https://sms.example.com:443/send"),
        ),
        ("https://gw.example:8443", Ok("https://gw.example:8443/")),
        (
            "https://u:p@h.example/a/b?key=v",
            Ok("https://h.example:443/a/b"),
        ),
        ("http://127.0.0.1:8080/x", Ok("http://127.0.0.1:8080/x")),
        ("http://127.0.0.2/x", Ok("http://127.0.0.2:80/x")),
        ("http://[::1]:8080/x?k=1", Ok("http://[::1]:8080/x")),
        ("http://localhost/hook", Ok("http://localhost:80/hook")),
        ("http://example.com/hook", Err("must use https://")),
        ("http://10.0.0.1/hook?key=secret", Err("must use https://")),
        ("http://127.0.0.1.example.com/", Err("must use https://")),
        ("ftp://example.com/x", Err("scheme ftp:// is not supported")),
        (
            "sms.example.com/send",
            Err("expected https://host[:port]/path"),
        ),
        ("/send", Err("not an absolute URL")),
        ("", Err("webhook url")),
        ("https://exa mple.com/", Err("not a valid URL")),
    ];
    for (url, expected) in table {
        let got = WebhookConfig::new(*url, None, Duration::from_secs(1), 0);
        match (expected, got) {
            (Ok(redacted), Ok(config)) => {
                assert_eq!(config.redacted_url(), *redacted, "{url}");
            }
            (Err(fragment), Err(message)) => {
                assert!(message.contains(fragment), "{url}: {message}");
                assert!(!message.contains("secret"), "{url}: {message}");
            }
            (expected, got) => panic!("{url}: expected {expected:?}, got {got:?}"),
        }
    }
}

#[test]
fn timeout_and_retries_are_bounded() {
    let url = "https://gw.example/send";
    let zero = WebhookConfig::new(url, None, Duration::ZERO, 0).unwrap_err();
    assert!(zero.contains("timeout"), "{zero}");
    let many = WebhookConfig::new(url, None, Duration::from_secs(1), MAX_RETRIES + 1);
    assert!(many.unwrap_err().contains("retries"));
    assert!(WebhookConfig::new(url, None, Duration::from_secs(1), MAX_RETRIES).is_ok());
}

#[test]
fn backoff_doubles_up_to_a_cap() {
    let ms = |n| backoff(n).as_millis();
    assert_eq!((ms(1), ms(2), ms(3)), (200, 400, 800));
    assert_eq!(ms(10), MAX_BACKOFF.as_millis());
    assert_eq!(ms(u32::MAX), MAX_BACKOFF.as_millis());
}

#[test]
fn debug_never_prints_credentials_or_query() {
    let url = "https://alice:hunter2@gw.example/send?key=secret";
    let config = WebhookConfig::new(url, None, Duration::from_secs(1), 0).unwrap();
    let webhook = Webhook::new(config.clone()).unwrap();
    for printed in [format!("{config:?}"), format!("{webhook:?}")] {
        assert!(printed.contains("https://gw.example:443/send"), "{printed}");
        for secret in ["hunter2", "alice", "secret"] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }
}

#[test]
fn ca_file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    for (path, fragment) in [(missing, "missing.pem"), (empty, "no PEM certificate")] {
        let config = WebhookConfig::new(
            "https://gw.example/",
            Some(path.clone()),
            Duration::from_secs(1),
            0,
        )
        .unwrap();
        let message = Webhook::new(config).unwrap_err();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains(fragment), "{message}");
    }
    let blank = WebhookConfig::new(
        "https://gw.example/",
        Some(PathBuf::new()),
        Duration::ZERO,
        0,
    );
    assert!(blank.is_err());
}

#[test]
fn webhook_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Webhook>();
    check::<WebhookError>();
}

#[test]
fn ok_on_200_with_exact_json_body() {
    let server = TestServer::start(Script::Statuses(vec![200]));
    let (webhook, _dir) = trusting(&server, &server.url("/hook"), SECS_5, 2);
    webhook.send(&body()).expect("delivered");

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.request_line, "POST /hook HTTP/1.1");
    assert_eq!(request.header("content-type"), Some("application/json"));
    let received: serde_json::Value = serde_json::from_slice(&request.body).expect("JSON body");
    assert_eq!(received, body());
    assert_eq!(request.body, serde_json::to_vec(&body()).unwrap());
}

#[test]
fn retries_5xx_then_succeeds() {
    let server = TestServer::start(Script::Statuses(vec![503, 503, 200]));
    let (webhook, _dir) = trusting(&server, &server.url("/hook"), SECS_5, 2);
    let started = Instant::now();
    webhook
        .send(&body())
        .expect("delivered on the third attempt");
    assert_eq!(server.requests().len(), 3);
    // 200 ms + 400 ms of backoff in between.
    assert!(started.elapsed() >= Duration::from_millis(600));
}

#[test]
fn gives_up_on_5xx_after_all_attempts() {
    let server = TestServer::start(Script::Statuses(vec![503]));
    let (webhook, _dir) = trusting(&server, &server.url("/hook"), SECS_5, 2);
    let err = webhook.send(&body()).unwrap_err();
    assert!(
        matches!(err, WebhookError::Status { status: 503, .. }),
        "{err:?}"
    );
    assert_eq!(err.attempts(), 3);
    assert!(
        err.to_string().contains("status 503 after 3 attempts"),
        "{err}"
    );
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn no_retry_on_4xx() {
    let server = TestServer::start(Script::Statuses(vec![400, 200]));
    let (webhook, _dir) = trusting(&server, &server.url("/hook"), SECS_5, 3);
    let err = webhook.send(&body()).unwrap_err();
    assert!(
        matches!(err, WebhookError::Status { status: 400, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "webhook https://{}/hook answered HTTP status 400 after 1 attempt",
            server.addr
        )
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn silent_server_times_out_on_every_attempt() {
    let server = TestServer::start(Script::Silent);
    let timeout = Duration::from_millis(300);
    let (webhook, _dir) = trusting(&server, &server.url("/hook"), timeout, 1);
    let started = Instant::now();
    let err = webhook.send(&body()).unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(err, WebhookError::Timeout { .. }), "{err:?}");
    assert_eq!(err.attempts(), 2);
    // 2 × 300 ms + 200 ms backoff, with slack for a slow machine.
    assert!(elapsed >= Duration::from_millis(800), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn untrusted_certificate_is_a_tls_error_without_retry() {
    let server = TestServer::start(Script::Statuses(vec![200]));
    let config = WebhookConfig::new(server.url("/hook"), None, Duration::from_secs(5), 2).unwrap();
    let err = Webhook::new(config).unwrap().send(&body()).unwrap_err();
    assert!(matches!(err, WebhookError::Tls { .. }), "{err:?}");
    assert!(err.to_string().contains("certificate not trusted"), "{err}");
    assert_eq!(err.attempts(), 1);
    assert!(server.requests().is_empty());
}

#[test]
fn refused_connection_is_retried_then_reported() {
    // Bind, learn the port, close: nothing listens there any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let url = format!("https://127.0.0.1:{port}/hook");
    let config = WebhookConfig::new(url, None, Duration::from_secs(2), 1).unwrap();
    let err = Webhook::new(config).unwrap().send(&body()).unwrap_err();
    assert!(matches!(err, WebhookError::Connect { .. }), "{err:?}");
    assert_eq!(err.attempts(), 2);
}

#[test]
fn errors_never_quote_the_code_credentials_or_query() {
    // The server echoes the request body in its 400 answer; the URL carries userinfo and a key.
    let server = TestServer::start(Script::Statuses(vec![400]));
    let port = server.addr.port();
    let url = format!("https://alice:hunter2@127.0.0.1:{port}/hook?key=secret");
    let (webhook, _dir) = trusting(&server, &url, SECS_5, 0);
    let err = webhook.send(&body()).unwrap_err();

    // The request itself did carry them: the gateway needs its key.
    let request = &server.requests()[0];
    assert_eq!(request.request_line, "POST /hook?key=secret HTTP/1.1");
    assert!(
        request
            .header("authorization")
            .is_some_and(|a| a.starts_with("Basic "))
    );

    for printed in [err.to_string(), format!("{err:?}")] {
        assert!(
            printed.contains(&format!("https://127.0.0.1:{port}/hook")),
            "{printed}"
        );
        for secret in [CODE, "secret", "hunter2", "alice"] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
    }
}

#[test]
fn trace_logging_with_the_directives_never_shows_the_code() {
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);
    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    // As the binary does: `log` records (ureq's) forwarded to tracing. Global, so ignore a
    // second initialisation by another test.
    let _ = tracing_log::LogTracer::init();
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(format!(
            "trace,{LOG_DIRECTIVES}"
        )))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();

    let server = TestServer::start(Script::Statuses(vec![503, 200]));
    let port = server.addr.port();
    let url = format!("https://alice:hunter2@127.0.0.1:{port}/hook?key=apikey51x");
    let (webhook, _dir) = trusting(&server, &url, SECS_5, 1);
    tracing::subscriber::with_default(subscriber, || webhook.send(&body())).expect("delivered");

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    // Something was captured: ureq's redacted request line, once per attempt (the 503 was
    // retried). Our own "retrying" notice is not asserted: its callsite is shared with the
    // webhook tests running in parallel without a subscriber, and tracing may cache "not
    // interested" for it while this test's subscriber is being registered (seen once in a
    // hundred runs). ureq's records come through the `log` bridge, which asks every time.
    assert!(logs.contains("127.0.0.1"), "{logs}");
    assert!(logs.matches("POST https://").count() >= 2, "{logs}");
    for secret in [CODE, "apikey51x", "hunter2", "Basic "] {
        assert!(!logs.contains(secret), "{secret} in {logs}");
    }
}
