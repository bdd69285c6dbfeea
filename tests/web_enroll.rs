//! Enrollment by invitation link, in a real browser: Debian's headless chromium driven through
//! Selenium (`tests/web/enroll.py`) against the real `radotp serve` with a `[web]` section in
//! plain HTTP on loopback. Codes come from `oathtool` at the server's (test) clock, the QR code
//! on screen is decoded by `zbarimg`, logins go over UDP through our own RADIUS client, and
//! statuses are checked both as the browser received them and on a plain HTTP connection.
//!
//! Screenshots of every step are kept in `target/test-artifacts/web/` (`PREFIX-NN-STEP.png`).

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use common::client::*;
use common::web::*;
use common::*;
use serde_json::Value;

const COOKIE: &str = "radotp_enroll";

/// A server with the enrollment page on a free loopback port; links live `ttl_hours`.
fn web_server(ttl_hours: u32) -> Server {
    let server =
        Server::with(Conf::default().web(WebConf::loopback().invitation_ttl_hours(ttl_hours)));
    // Nothing to test without the browser: say so before anything else.
    selenium_present();
    server
}

/// Selenium for the `python3` first on PATH (the one the test runs), or a clear failure.
fn selenium_present() {
    let mut cmd = Command::new("python3");
    cmd.args([
        "-c",
        "import sys, selenium; print(sys.executable, selenium.__version__)",
    ]);
    let out = run(cmd, "", Duration::from_secs(20));
    assert!(
        out.status.success(),
        "Selenium is missing for the python3 first on PATH, which runs tests/web/enroll.py: \
         install it with `python3 -m pip install selenium` (and chromium, chromedriver: Debian's \
         packages). python3 said:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `user add NAME --no-token --password-stdin`: a user who can enroll only by a link.
fn add_without_token(server: &Server, name: &str, password: &str) {
    let out = ok(&server.cli(
        &["user", "add", name, "--no-token", "--password-stdin"],
        &format!("{password}\n"),
    ));
    assert!(out.contains(&format!("radotp user invite {name}")), "{out}");
}

/// `user invite NAME --json`: the link and its secret (32 hex digits).
fn invite(server: &Server, name: &str) -> (String, String) {
    let out = server.cli(&["user", "invite", name, "--json"], "");
    let v = json_document(&out);
    assert_eq!(v["name"], name);
    let url = v["url"]
        .as_str()
        .expect("\"url\" in user invite --json")
        .to_owned();
    let prefix = format!("{}/enroll/", server.web_url());
    let secret = url
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{url} is not under {prefix}"))
        .to_owned();
    assert!(
        secret.len() == 32 && secret.bytes().all(|b| b.is_ascii_hexdigit()),
        "the link's secret: {secret}"
    );
    (url, secret)
}

fn user_show(server: &Server, name: &str) -> Value {
    json_document(&server.cli(&["user", "show", name, "--json"], ""))
}

/// `oathtool --totp -b SECRET --now @UNIX`: the code of that moment.
fn oathtool(secret: &str, unix: u64) -> String {
    let mut cmd = Command::new("oathtool");
    cmd.args(["--totp", "-b", secret, "--now", &format!("@{unix}")]);
    ok(&run(cmd, "", Duration::from_secs(10))).trim().to_owned()
}

/// `zbarimg --raw -q PNG`: what the QR code in the image says.
fn zbarimg(png: &Path) -> String {
    let mut cmd = Command::new("zbarimg");
    cmd.args(["--raw", "-q"]).arg(png);
    let out = run(cmd, "", Duration::from_secs(20));
    assert!(
        out.status.success(),
        "zbarimg found no QR code in {} ({}): {}",
        png.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A query parameter of an `otpauth://` URI.
fn uri_param(uri: &str, name: &str) -> Option<String> {
    let (_, query) = uri.split_once('?')?;
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Access-Accept (`true`) or Access-Reject (`false`).
fn logs_in(server: &Server, user: &str, input: &str) -> bool {
    let code = Client::new(server.addr())
        .exchange(&Request::access(SECRET, user, input.as_bytes()))
        .code;
    assert!(matches!(code, ACCESS_ACCEPT | ACCESS_REJECT), "code {code}");
    code == ACCESS_ACCEPT
}

/// The enrollment page's log lines, in order: (step, user).
fn steps(server: &Server) -> Vec<(String, String)> {
    server
        .events()
        .iter()
        .filter_map(|e| {
            let step = e["step"].as_str()?;
            Some((
                step.to_owned(),
                e["user"].as_str().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

/// Wait (bounded) until the log holds exactly `want`, as (step, user); fail showing the log.
fn assert_steps(server: &Server, want: &[(&str, &str)]) {
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(s, u)| (s.to_string(), u.to_string()))
        .collect();
    let seen = server.wait_for_log(|_| steps(server).len() >= want.len());
    let got = steps(server);
    assert!(
        seen && got == want,
        "the enrollment's log lines (step, user):\n got {got:?}\nwant {want:?}"
    );
}

/// None of these secrets appears anywhere in the server's log.
fn assert_not_logged(server: &Server, secrets: &[(&str, &str)]) {
    let log = server.logs();
    for (what, secret) in secrets {
        assert!(!secret.is_empty(), "no {what} to look for");
        assert!(
            !log.contains(secret),
            "the {what} is in the server's log:\n{log}"
        );
    }
}

/// The CSRF token of the form on screen.
fn csrf_of(browser: &mut Browser) -> String {
    browser
        .script("return document.querySelector('input[name=csrf]').value")
        .as_str()
        .expect("a hidden csrf input")
        .to_owned()
}

/// A message page: its status, as the browser got it, and its title.
fn assert_message(page: &Page, status: u16, title: &str) {
    assert_eq!(
        (page.status, page.title.as_deref()),
        (Some(status), Some(title)),
        "page {}: {:?}",
        page.url,
        page.message
    );
    assert!(page.has("message"), "no #message on the {title:?} page");
    for form in ["password-form", "code-form", "qr", "secret"] {
        assert!(!page.has(form), "#{form} on the {title:?} page");
    }
}

/// GET `path` on a connection of its own, without the browser's cookie.
fn plain_get(server: &Server, path: &str) -> HttpResponse {
    http(server.web_addr(), "GET", path, &[], "")
}

fn link_path(secret: &str) -> String {
    format!("/enroll/{secret}")
}

/// 1 and 2: the whole enrollment on a phone-sized screen (link, password, QR code, first code),
/// then logins with the new app, then the spent link.
#[test]
fn a_user_enrolls_their_phone_from_the_link_then_logs_in_and_the_link_is_spent() {
    const PASSWORD: &str = "pw-bob-Enroll1";
    let server = web_server(1);
    add_without_token(&server, "bob", PASSWORD);
    assert!(!logs_in(&server, "bob", PASSWORD), "no token, no login");
    let (url, link_secret) = invite(&server, "bob");
    let mut browser = Browser::start(Window::Phone, "enroll");
    eprintln!("screenshots: {}", browser.artifacts.display());

    // The link: exchanged at once for a cookie and a redirect, out of the address bar.
    let page = browser.open(&url);
    let enroll = format!("{}/enroll", server.web_url());
    assert_eq!(page.url, enroll, "the address bar after the link");
    assert_eq!(
        page.documents,
        [(url.clone(), 303), (enroll.clone(), 200)],
        "what the browser received"
    );
    assert!(
        !page.source.contains(&link_secret),
        "the link's secret in the page"
    );
    let cookie = browser.cookie(COOKIE).expect("the enrollment cookie");
    assert_eq!(
        (&cookie["httpOnly"], &cookie["path"]),
        (&Value::Bool(true), &Value::from("/enroll")),
        "{cookie}"
    );
    let session = cookie["value"].as_str().unwrap().to_owned();
    let scripts_see = browser.script("return document.cookie");
    assert!(
        !scripts_see.as_str().unwrap_or_default().contains(&session),
        "the page's scripts can read the enrollment cookie: {scripts_see}"
    );

    // The password step, laid out for the phone.
    assert!(
        ["password-form", "password", "submit", "user"]
            .iter()
            .all(|id| page.has(id)),
        "the password step: {:?}",
        page.ids
    );
    assert_eq!(page.error, None);
    assert_eq!(browser.text("user").as_deref(), Some("bob"));
    let (width, _, scroll_width) = page.viewport;
    assert_eq!(width, 390, "not a phone-sized viewport");
    assert!(
        scroll_width <= width,
        "the password step scrolls sideways on a phone: {scroll_width}"
    );
    let csrf = csrf_of(&mut browser);
    browser.screenshot("password");
    browser.type_into("password", PASSWORD);
    browser.screenshot("password-typed");
    let page = browser.submit("submit");
    assert_eq!(
        page.documents,
        [(format!("{enroll}/password"), 303), (enroll.clone(), 200)]
    );

    // The secret step: QR code, otpauth link, and the base32 secret folded away.
    assert!(
        ["qr", "otpauth", "secret", "code-form", "code", "submit"]
            .iter()
            .all(|id| page.has(id)),
        "the secret step: {:?}",
        page.ids
    );
    assert!(!page.has("password-form"));
    let (_, _, scroll_width) = page.viewport;
    assert!(
        scroll_width <= 390,
        "the secret step scrolls sideways on a phone: {scroll_width}"
    );
    let qr_width =
        browser.script("return document.querySelector('#qr svg').getBoundingClientRect().width");
    assert!(
        qr_width.as_f64().is_some_and(|w| w > 100.0 && w <= 390.0),
        "the QR code's width on a 390 px screen: {qr_width}"
    );
    browser.screenshot("secret-step");
    assert!(
        !browser.displayed("secret"),
        "the base32 secret shows before it is asked for"
    );
    browser.click("details > summary");
    assert!(
        browser.displayed("secret"),
        "the base32 secret is not shown once asked for"
    );
    let secret = browser.text("secret").unwrap();
    assert!(
        secret.len() >= 26
            && secret
                .bytes()
                .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)),
        "not a base32 secret: {secret:?}"
    );
    browser.screenshot("secret-shown");
    let href = browser.attribute("otpauth", "href").unwrap();
    let qr_png = browser.element_screenshot("qr", "qr-code");
    let scanned = zbarimg(&qr_png);
    assert_eq!(scanned, href, "the QR code and the otpauth link differ");
    assert!(
        scanned.starts_with("otpauth://totp/radotp:bob?"),
        "{scanned}"
    );
    assert_eq!(
        uri_param(&scanned, "secret").as_deref(),
        Some(secret.as_str())
    );
    assert_eq!(uri_param(&scanned, "issuer").as_deref(), Some("radotp"));

    // The first code, as the app would show it now.
    let code = oathtool(&secret, server.now());
    browser.type_into("code", &code);
    browser.screenshot("code-typed");
    let page = browser.submit("submit");
    assert_eq!(page.status, Some(200), "{:?}", page.title);
    assert!(
        page.has("done"),
        "no #done: {:?} {:?}",
        page.title,
        page.error
    );
    assert!(browser.text("done").unwrap().contains("bob"));
    browser.screenshot("done");
    let shown = user_show(&server, "bob");
    assert_eq!(shown["invitation"], Value::Null, "{shown}");
    let tokens = shown["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 1, "{shown}");
    assert_eq!(
        (&tokens[0]["type"], &tokens[0]["enabled"]),
        (&"totp".into(), &true.into())
    );

    // Logins with the new app: the code that enrolled it is used up; the next one works.
    assert!(
        !logs_in(&server, "bob", &format!("{PASSWORD}{code}")),
        "the enrollment's code logged in again"
    );
    server.assert_reason("code already used");
    server.advance(30);
    let next = oathtool(&secret, server.now());
    assert_ne!(next, code);
    assert!(
        logs_in(&server, "bob", &format!("{PASSWORD}{next}")),
        "the next step's code was refused"
    );
    server.assert_reason("TOTP code");

    // 2: the same link again, in the browser and on a plain connection.
    let again = browser.open(&url);
    assert_message(&again, 410, "Link not valid");
    assert!(
        again
            .message
            .as_deref()
            .unwrap()
            .contains("Ask your administrator")
    );
    assert_eq!(again.url, url, "a spent link redirects nowhere");
    browser.screenshot("link-reused");
    let plain = plain_get(&server, &link_path(&link_secret));
    assert_eq!(plain.status, 410);
    assert!(plain.body.contains("Link not valid"), "{}", plain.body);
    assert_eq!(plain.header("set-cookie"), None);

    assert_steps(
        &server,
        &[
            ("link opened", "bob"),
            ("password accepted", "bob"),
            ("enrolled", "bob"),
            ("link refused", ""),
            ("link refused", ""),
        ],
    );
    assert_not_logged(
        &server,
        &[
            ("password", PASSWORD),
            ("TOTP secret", &secret),
            ("link's secret", &link_secret),
            ("enrollment cookie", &session),
            ("CSRF token", &csrf),
        ],
    );
}

/// 3: a link opened in time but used after its lifetime, then opened again.
#[test]
fn an_expired_link_opens_nothing() {
    const PASSWORD: &str = "pw-carol-Late3";
    let server = web_server(1);
    add_without_token(&server, "carol", PASSWORD);
    let (url, link_secret) = invite(&server, "carol");
    let shown = user_show(&server, "carol");
    assert_eq!(shown["invitation"]["state"], "pending", "{shown}");
    let mut browser = Browser::start(Window::Desktop, "expired");

    // One second before the hour is up the link still opens…
    server.advance(3600 - 1);
    let page = browser.open(&url);
    assert_eq!(page.status, Some(200));
    assert!(page.has("password-form"), "{:?}", page.title);
    browser.screenshot("opened-in-time");
    // …but the password typed when the hour is up is not checked: the link is dead.
    server.advance(1);
    browser.type_into("password", PASSWORD);
    let page = browser.submit("submit");
    assert_message(&page, 410, "Link not valid");
    browser.screenshot("password-too-late");
    let page = browser.open(&url);
    assert_message(&page, 410, "Link not valid");
    browser.screenshot("opened-too-late");
    let plain = plain_get(&server, &link_path(&link_secret));
    assert_eq!(plain.status, 410);
    assert!(plain.body.contains("Link not valid"), "{}", plain.body);

    let shown = user_show(&server, "carol");
    assert_eq!(shown["invitation"]["state"], "expired", "{shown}");
    assert_eq!(shown["tokens"], serde_json::json!([]));
    assert_steps(
        &server,
        &[
            ("link opened", "carol"),
            ("refused", "carol"),
            ("link refused", ""),
            ("link refused", ""),
        ],
    );
    assert_not_logged(
        &server,
        &[("password", PASSWORD), ("link's secret", &link_secret)],
    );
}

/// 4: five wrong passwords close the link for good.
#[test]
fn five_wrong_passwords_close_the_link() {
    const PASSWORD: &str = "pw-dan-Right4";
    let server = web_server(1);
    add_without_token(&server, "dan", PASSWORD);
    let (url, link_secret) = invite(&server, "dan");
    let mut browser = Browser::start(Window::Desktop, "closed");
    let page = browser.open(&url);
    assert!(page.has("password-form"));
    let wrong: Vec<String> = (1..=5).map(|i| format!("not-dans-{i}-guess")).collect();
    for (i, guess) in wrong.iter().enumerate().take(4) {
        browser.type_into("password", guess);
        let page = browser.submit("submit");
        let left = 4 - i;
        let tries = if left == 1 { "try" } else { "tries" };
        assert_eq!(page.status, Some(200));
        assert!(page.has("password-form"), "{:?}", page.title);
        assert_eq!(
            page.error.as_deref(),
            Some(
                format!("That password is not right. {left} {tries} left before this link closes.")
                    .as_str()
            )
        );
        browser.screenshot(&format!("wrong-{}", i + 1));
        let shown = user_show(&server, "dan");
        assert_eq!(shown["invitation"]["wrong_tries"], i + 1, "{shown}");
    }
    browser.type_into("password", &wrong[4]);
    let page = browser.submit("submit");
    assert_message(&page, 410, "Link closed");
    assert!(
        page.message
            .as_deref()
            .unwrap()
            .contains("Too many wrong tries")
    );
    browser.screenshot("closed");

    let shown = user_show(&server, "dan");
    assert_eq!(
        (
            &shown["invitation"]["state"],
            &shown["invitation"]["wrong_tries"]
        ),
        (&"closed".into(), &5.into()),
        "{shown}"
    );
    // The link opens nothing any more, even to someone who now knows the password.
    let page = browser.open(&url);
    assert_message(&page, 410, "Link not valid");
    browser.screenshot("reopened");
    assert_eq!(plain_get(&server, &link_path(&link_secret)).status, 410);
    let mut want = vec![("link opened", "dan")];
    want.extend(std::iter::repeat_n(("refused", "dan"), 4));
    want.extend([
        ("link closed", "dan"),
        ("link refused", ""),
        ("link refused", ""),
    ]);
    assert_steps(&server, &want);
    let failures: Vec<u64> = server
        .events()
        .iter()
        .filter_map(|e| e["failures"].as_u64())
        .collect();
    assert_eq!(failures, [1, 2, 3, 4, 5]);
    let mut secrets = vec![("link's secret", link_secret.as_str())];
    secrets.extend(wrong.iter().map(|w| ("wrong password", w.as_str())));
    assert_not_logged(&server, &secrets);
}

/// 4 (in all): wrong passwords and wrong codes count against the same five tries.
#[test]
fn wrong_passwords_and_wrong_codes_count_together() {
    const PASSWORD: &str = "pw-gail-Mixed5";
    let server = web_server(1);
    add_without_token(&server, "gail", PASSWORD);
    let (url, _) = invite(&server, "gail");
    let mut browser = Browser::start(Window::Desktop, "mixed");
    browser.open(&url);
    for left in [4, 3] {
        browser.type_into("password", "not-gails");
        let page = browser.submit("submit");
        assert_eq!(
            page.error.as_deref(),
            Some(
                format!("That password is not right. {left} tries left before this link closes.")
                    .as_str()
            )
        );
    }
    browser.type_into("password", PASSWORD);
    let page = browser.submit("submit");
    assert!(page.has("code-form"), "{:?} {:?}", page.title, page.error);
    assert_eq!(page.error, None);
    browser.click("details > summary");
    let secret = browser.text("secret").unwrap();
    let bad = wrong_code(&secret);
    for (left, tries) in [(2, "tries"), (1, "try")] {
        browser.type_into("code", &bad);
        let page = browser.submit("submit");
        assert!(page.has("code-form"), "{:?}", page.title);
        assert_eq!(
            page.error.as_deref(),
            Some(
                format!("That code is not right. {left} {tries} left before this link closes.")
                    .as_str()
            )
        );
        // The same secret as before: a wrong code does not start over.
        browser.click("details > summary");
        assert_eq!(browser.text("secret").as_deref(), Some(secret.as_str()));
        browser.screenshot(&format!("wrong-code-{left}-left"));
    }
    browser.type_into("code", &bad);
    let page = browser.submit("submit");
    assert_message(&page, 410, "Link closed");
    browser.screenshot("closed");
    let shown = user_show(&server, "gail");
    assert_eq!(shown["invitation"]["state"], "closed", "{shown}");
    assert_eq!(shown["tokens"], serde_json::json!([]), "{shown}");
    assert!(
        !logs_in(
            &server,
            "gail",
            &format!("{PASSWORD}{}", oathtool(&secret, server.now()))
        ),
        "the secret of a closed enrollment logs in"
    );
    assert_steps(
        &server,
        &[
            ("link opened", "gail"),
            ("refused", "gail"),
            ("refused", "gail"),
            ("password accepted", "gail"),
            ("refused", "gail"),
            ("refused", "gail"),
            ("link closed", "gail"),
        ],
    );
    assert_not_logged(&server, &[("password", PASSWORD), ("TOTP secret", &secret)]);
}

/// 5: a form without this enrollment's CSRF token is refused and not counted.
#[test]
fn a_form_without_its_csrf_token_is_refused_and_not_counted() {
    const PASSWORD: &str = "pw-erin-Csrf6";
    let server = web_server(1);
    add_without_token(&server, "erin", PASSWORD);
    let (url, link_secret) = invite(&server, "erin");
    let mut browser = Browser::start(Window::Desktop, "csrf");
    let page = browser.open(&url);
    assert!(page.has("password-form"));
    let csrf = csrf_of(&mut browser);
    let session = browser.cookie(COOKIE).unwrap()["value"]
        .as_str()
        .unwrap()
        .to_owned();

    // In the browser: the hidden input taken out (WebDriver's script; the page allows none),
    // the right password typed.
    browser.script("document.querySelector('#password-form input[name=csrf]').remove()");
    browser.type_into("password", PASSWORD);
    let page = browser.submit("submit");
    assert_message(&page, 403, "Form expired");
    browser.screenshot("form-without-csrf");

    // On a plain connection with the browser's cookie: no token, another token, an empty one;
    // the code form as well.
    let cookie = format!("{COOKIE}={session}");
    let headers = [("Cookie", cookie.as_str())];
    let other = "0".repeat(32);
    for (path, body) in [
        ("/enroll/password", format!("password={PASSWORD}")),
        (
            "/enroll/password",
            format!("csrf={other}&password={PASSWORD}"),
        ),
        ("/enroll/password", format!("csrf=&password={PASSWORD}")),
        ("/enroll/code", "code=123456".to_owned()),
    ] {
        let answer = http(server.web_addr(), "POST", path, &headers, &body);
        assert_eq!(answer.status, 403, "POST {path} {body}: {}", answer.body);
        assert!(answer.body.contains("Form expired"), "{}", answer.body);
    }
    // The token itself, from the cookie's own enrollment, is what lets a form through.
    let answer = http(
        server.web_addr(),
        "POST",
        "/enroll/password",
        &[],
        &format!("csrf={csrf}&password={PASSWORD}"),
    );
    assert_eq!(
        answer.status, 400,
        "a form without the cookie: {}",
        answer.body
    );

    // Nothing was counted, and the enrollment is still at its first step.
    let shown = user_show(&server, "erin");
    assert_eq!(
        (
            &shown["invitation"]["state"],
            &shown["invitation"]["wrong_tries"]
        ),
        (&"pending".into(), &0.into()),
        "{shown}"
    );
    let page = browser.open(&format!("{}/enroll", server.web_url()));
    assert_eq!(page.status, Some(200));
    assert!(page.has("password-form"), "{:?}", page.title);
    assert_eq!(page.error, None);
    assert_eq!(csrf_of(&mut browser), csrf, "the enrollment started over");
    browser.type_into("password", PASSWORD);
    let page = browser.submit("submit");
    assert!(page.has("code-form"), "{:?} {:?}", page.title, page.error);
    browser.screenshot("with-csrf");

    let mut want = vec![("link opened", "erin")];
    want.extend(std::iter::repeat_n(("form refused", "erin"), 5));
    want.push(("password accepted", "erin"));
    assert_steps(&server, &want);
    assert_not_logged(
        &server,
        &[
            ("password", PASSWORD),
            ("link's secret", &link_secret),
            ("enrollment cookie", &session),
            ("CSRF token", &csrf),
        ],
    );
}

/// 6: a user with a token gets no invitation, and a link opened after an administrator gave
/// its user a token says so.
#[test]
fn an_enrolled_user_gets_no_invitation_and_an_outdated_link_says_already_set_up() {
    let server = web_server(1);
    server.add_user("alice", "pw-alice");
    let out = server.cli(&["user", "invite", "alice"], "");
    assert!(!out.status.success(), "alice, who has a token, was invited");
    let said = String::from_utf8_lossy(&out.stderr);
    for advice in [
        "alice already has an active token",
        "radotp token remove alice",
        "radotp user reset-otp alice",
    ] {
        assert!(said.contains(advice), "{advice:?} not in: {said}");
    }
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert_eq!(user_show(&server, "alice")["invitation"], Value::Null);

    // Frank is invited, then gets an app from the administrator before he opens the link.
    add_without_token(&server, "frank", "pw-frank-Set7");
    let (url, link_secret) = invite(&server, "frank");
    let reset = json_document(&server.cli(&["user", "reset-otp", "frank", "--json"], ""));
    let app_secret = reset["secret"].as_str().unwrap().to_owned();
    let mut browser = Browser::start(Window::Desktop, "already");
    let page = browser.open(&url);
    assert_message(&page, 409, "Already set up");
    assert!(page.message.as_deref().unwrap().contains("reset it first"));
    browser.screenshot("already-set-up");
    let plain = plain_get(&server, &link_path(&link_secret));
    assert_eq!(plain.status, 409);
    assert!(plain.body.contains("Already set up"), "{}", plain.body);

    // Hana gets her app from the administrator while the enrollment page shows her secret:
    // its first code then enrolls nothing.
    add_without_token(&server, "hana", "pw-hana-Race8");
    let (url, _) = invite(&server, "hana");
    browser.open(&url);
    browser.type_into("password", "pw-hana-Race8");
    let page = browser.submit("submit");
    assert!(page.has("code-form"), "{:?}", page.title);
    browser.click("details > summary");
    let page_secret = browser.text("secret").unwrap();
    ok(&server.cli(&["user", "reset-otp", "hana", "--json"], ""));
    browser.type_into("code", &oathtool(&page_secret, server.now()));
    let page = browser.submit("submit");
    assert_message(&page, 409, "Already set up");
    browser.screenshot("already-set-up-meanwhile");
    let shown = user_show(&server, "hana");
    assert_eq!(shown["tokens"].as_array().unwrap().len(), 1, "{shown}");
    assert!(
        !logs_in(
            &server,
            "hana",
            &format!("pw-hana-Race8{}", oathtool(&page_secret, server.now() + 30))
        ),
        "the page's secret logs in"
    );

    let got = steps(&server);
    assert_eq!(
        got[..3],
        [
            ("link refused".to_owned(), "frank".to_owned()),
            ("link refused".to_owned(), "frank".to_owned()),
            ("link opened".to_owned(), "hana".to_owned()),
        ],
        "{got:?}"
    );
    assert_not_logged(
        &server,
        &[
            ("link's secret", &link_secret),
            ("TOTP secret", &app_secret),
            ("TOTP secret", &page_secret),
        ],
    );
}

/// Many wrong passwords at once — from as many addresses, behind a trusted proxy, so the
/// per-address limit does not hold them back — get five checks in all: each try is claimed
/// before the password is checked.
#[test]
fn many_passwords_at_once_get_five_checks_in_all() {
    let mut web = WebConf::loopback();
    web.extra = "trusted_proxies = [\"127.0.0.1\"]\n".to_owned();
    let addr = web.addr();
    let mut server = Server::with(Conf::default().web(web));
    let out = server.cli(
        &["user", "add", "bob", "--no-token", "--password-stdin"],
        "bob-password\n",
    );
    assert!(out.status.success());
    let url = json_document(&server.cli(&["user", "invite", "bob", "--json"], ""))["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = url.trim_start_matches(&format!("http://{addr}"));
    let opened = http(addr, "GET", path, &[], "");
    assert_eq!(opened.status, 303, "{opened:?}");
    let cookie = opened
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_owned();
    let page = http(addr, "GET", "/enroll", &[("Cookie", &cookie)], "");
    let csrf = page
        .body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let threads: Vec<_> = (0..40)
        .map(|i| {
            let (cookie, csrf) = (cookie.clone(), csrf.clone());
            std::thread::spawn(move || {
                let from = format!("192.0.2.{i}");
                let body = format!("csrf={csrf}&password=wrong-{i}");
                let headers = [
                    ("Cookie", cookie.as_str()),
                    ("X-Forwarded-For", from.as_str()),
                ];
                http(addr, "POST", "/enroll/password", &headers, &body).status
            })
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let shown_again = statuses.iter().filter(|&&s| s == 200).count();
    assert!(shown_again <= 4, "{statuses:?}");
    // The rest: the link closed or no longer valid (410), or the enrollment already ended
    // when the link closed (400).
    assert!(
        statuses.iter().all(|&s| matches!(s, 200 | 400 | 410)),
        "{statuses:?}"
    );
    let checked = steps(&server)
        .iter()
        .filter(|(step, _)| step == "refused" || step == "link closed")
        .filter(|(_, user)| user == "bob")
        .count();
    let show = json_document(&server.cli(&["user", "show", "bob", "--json"], ""));
    assert_eq!(show["invitation"]["wrong_tries"], 5, "{show:#}");
    assert_eq!(show["invitation"]["state"], "closed", "{show:#}");
    // Five counted wrong passwords, each with its line; the others were never checked.
    assert!(checked >= 5, "{:?}", steps(&server));
    assert_eq!(
        steps(&server)
            .iter()
            .filter(|(step, _)| step == "link closed")
            .count(),
        1
    );
    // The server's own count of password verifications, said when it stops: five.
    server.stop();
    let stopped = server
        .events()
        .into_iter()
        .find(|e| e["message"] == "stopped")
        .unwrap_or_else(|| panic!("no stop line:\n{}", server.logs()));
    assert_eq!(stopped["argon2_verifications"], 5, "{stopped:#}");
}

/// Ten passwords or codes a minute per address, then 429 with when to come back; another
/// address is not slowed.
#[test]
fn each_address_gets_ten_tries_a_minute() {
    let mut web = WebConf::loopback();
    web.extra = "trusted_proxies = [\"127.0.0.1\"]\n".to_owned();
    let addr = web.addr();
    let _server = Server::with(Conf::default().web(web));
    let post = |from: &str| {
        let headers = [("X-Forwarded-For", from)];
        http(
            addr,
            "POST",
            "/enroll/password",
            &headers,
            "csrf=x&password=y",
        )
    };
    for _ in 0..10 {
        assert_eq!(post("192.0.2.1").status, 400); // no enrollment: judged, and counted
    }
    let refused = post("192.0.2.1");
    assert_eq!(refused.status, 429, "{refused:?}");
    let wait: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));
    assert_eq!(post("192.0.2.2").status, 400);
}
