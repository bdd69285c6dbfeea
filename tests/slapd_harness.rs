//! The slapd harness (`common::slapd`) against independent clients — ldap-utils, and
//! `openssl s_client` for the certificate's host name: binds over plain LDAP, StartTLS and
//! LDAPS, a wrong CA refused, wrong passwords refused, the ACLs, memberOf (nested too), and
//! pause, resume, kill, stop and restart.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::slapd::*;

const LIMIT: Duration = Duration::from_secs(10);

fn tool(program: &str, args: &[&str], ca: Option<&Path>) -> Output {
    ldap_tool(program, args, ca, "", LIMIT).unwrap_or_else(|| panic!("{program} hung"))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `ldapwhoami -x -H url -D dn -w password [extra…]`.
fn whoami(url: &str, dn: &str, password: &str, extra: &[&str], ca: Option<&Path>) -> Output {
    let mut args = vec!["-x", "-H", url, "-D", dn, "-w", password];
    args.extend_from_slice(extra);
    tool("ldapwhoami", &args, ca)
}

fn assert_whoami(url: &str, dn: &str, password: &str, extra: &[&str], ca: Option<&Path>) {
    let out = whoami(url, dn, password, extra, ca);
    assert!(
        out.status.success(),
        "bind as {dn} on {url}: {}",
        text(&out)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("dn:{dn}")
    );
}

/// LDIF (unwrapped) of a subtree search below `base`, bound as `bind` (`None`: anonymous);
/// `Err` with the output if ldapsearch fails.
fn search(
    slapd: &Slapd,
    bind: Option<(&str, &str)>,
    base: &str,
    filter: &str,
    attrs: &[&str],
) -> Result<String, String> {
    let url = slapd.ldap_url();
    let mut args = vec!["-x", "-H", &url, "-LLL", "-o", "ldif_wrap=no"];
    if let Some((dn, password)) = bind {
        args.extend(["-D", dn, "-w", password]);
    }
    args.extend(["-b", base, filter]);
    args.extend_from_slice(attrs);
    let out = tool("ldapsearch", &args, None);
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap())
    } else {
        Err(text(&out))
    }
}

/// A search of the whole tree as the service account.
fn service_search(slapd: &Slapd, filter: &str, attrs: &[&str]) -> String {
    let bind = Some((SERVICE_DN, SERVICE_PASSWORD));
    search(slapd, bind, BASE_DN, filter, attrs).unwrap()
}

/// The values of `attr` in the LDIF, lower-cased and sorted.
fn values(ldif: &str, attr: &str) -> Vec<String> {
    let prefix = format!("{}: ", attr.to_lowercase());
    let mut values: Vec<String> = ldif
        .lines()
        .filter(|l| l.to_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].to_lowercase())
        .collect();
    values.sort();
    values
}

/// The `memberOf` of user `uid` as the service account sees it, lower-cased and sorted.
fn member_of(slapd: &Slapd, uid: &str) -> Vec<String> {
    let ldif = service_search(slapd, &format!("(uid={uid})"), &["memberOf"]);
    assert_eq!(values(&ldif, "dn"), [user_dn(uid)], "{ldif}");
    values(&ldif, "memberOf")
}

/// DNs lower-cased and sorted, to compare with [`values`].
fn dns(dns: &[&str]) -> Vec<String> {
    let mut dns: Vec<String> = dns.iter().map(|dn| dn.to_lowercase()).collect();
    dns.sort();
    dns
}

/// `openssl s_client` to 127.0.0.1:`port` checking the certificate against `ca` and the host
/// name `name` (`starttls`: LDAP StartTLS first); true if the handshake verified.
fn s_client_verifies(port: u16, starttls: bool, ca: &Path, name: &str) -> bool {
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(["-servername", name, "-verify_hostname", name])
        .arg("-CAfile")
        .arg(ca)
        .args(["-verify_return_error", "-brief"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if starttls {
        cmd.args(["-starttls", "ldap"]);
    }
    let out = cmd.output().unwrap();
    let verified = text(&out).contains("Verification: OK");
    assert_eq!(verified, out.status.success(), "{}", text(&out));
    verified
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':').next().unwrap().parse().unwrap()
}

#[test]
fn starts_and_binds_over_plain_starttls_and_ldaps() {
    let started = Instant::now();
    let slapd = Slapd::start();
    eprintln!(
        "Slapd::start() took {:?} ({}, {})",
        started.elapsed(),
        slapd.ldap_url(),
        slapd.ldaps_url()
    );
    let ca = slapd.ca_file();
    let ca = Some(ca.as_path());
    assert_whoami(&slapd.ldap_url(), SERVICE_DN, SERVICE_PASSWORD, &[], None);
    // StartTLS required (-ZZ) and LDAPS, the certificate checked against the CA and 127.0.0.1.
    assert_whoami(
        &slapd.ldap_url(),
        SERVICE_DN,
        SERVICE_PASSWORD,
        &["-ZZ"],
        ca,
    );
    assert_whoami(&slapd.ldaps_url_ip(), SERVICE_DN, SERVICE_PASSWORD, &[], ca);
    assert_whoami(&slapd.ldaps_url_ip(), ROOT_DN, ROOT_PASSWORD, &[], ca);
    for (uid, password) in USERS {
        assert_whoami(&slapd.ldaps_url_ip(), &user_dn(uid), password, &[], ca);
        assert_eq!(password_of(uid), *password);
    }
    // The pid is slapd's own (foreground), as its pidfile says.
    let pidfile = std::fs::read_to_string(slapd.dir().join("slapd.pid")).unwrap();
    assert_eq!(pidfile.trim(), slapd.pid().to_string());
    assert!(slapd.log().contains("BIND dn="), "{}", slapd.log());
}

#[test]
fn the_certificate_names_localhost_on_both_ports() {
    let slapd = Slapd::start();
    let (ldap, ldaps) = (port_of(&slapd.ldap_url_host()), port_of(&slapd.ldaps_url()));
    assert_eq!(
        (ldap, ldaps),
        (slapd.ldap_addr().port(), slapd.ldaps_addr().port())
    );
    let ca = slapd.ca_file();
    assert!(s_client_verifies(ldaps, false, &ca, "localhost"));
    assert!(s_client_verifies(ldap, true, &ca, "localhost"));
    // The name check is real.
    assert!(!s_client_verifies(ldaps, false, &ca, "example.org"));
    assert!(!s_client_verifies(ldap, true, &ca, "example.org"));
}

#[test]
fn a_wrong_ca_is_refused() {
    let slapd = Slapd::start();
    let other = tempfile::tempdir().unwrap();
    let other_ca = other_ca_pem(other.path());
    let pw = SERVICE_PASSWORD;
    for (url, extra) in [
        (slapd.ldap_url(), &["-ZZ"][..]),
        (slapd.ldaps_url_ip(), &[]),
    ] {
        let out = whoami(&url, SERVICE_DN, pw, extra, Some(&other_ca));
        assert!(
            !out.status.success(),
            "{url} with another CA: {}",
            text(&out)
        );
        // Without a CA: the system's, which do not include the test CA.
        let out = whoami(&url, SERVICE_DN, pw, extra, None);
        assert!(
            !out.status.success(),
            "{url} with system CAs: {}",
            text(&out)
        );
    }
    let ldaps = slapd.ldaps_addr().port();
    assert!(!s_client_verifies(ldaps, false, &other_ca, "localhost"));
}

#[test]
fn wrong_passwords_and_unknown_users_are_refused() {
    let slapd = Slapd::start();
    let url = slapd.ldap_url();
    for (dn, password) in [
        (user_dn("alice"), "bob-dir-pw"),
        (user_dn("alice"), "wrong"),
        (user_dn("nobody"), "x"),
        (SERVICE_DN.to_owned(), "wrong"),
    ] {
        let out = whoami(&url, &dn, password, &[], None);
        assert!(!out.status.success(), "{dn} / {password:?}: {}", text(&out));
        assert!(
            text(&out).contains("Invalid credentials (49)"),
            "{}",
            text(&out)
        );
    }
}

#[test]
fn acls_service_reads_all_users_only_themselves_anonymous_nothing() {
    let slapd = Slapd::start();
    let everyone = service_search(&slapd, "(uid=*)", &["uid"]);
    assert_eq!(values(&everyone, "uid"), ["alice", "bob", "carol", "dave"]);
    let groups = service_search(&slapd, "(objectClass=groupOfNames)", &["cn"]);
    assert_eq!(values(&groups, "cn"), ["staff", "vpn-admins", "vpn-users"]);

    let alice = user_dn("alice");
    let as_alice = Some((alice.as_str(), "alice-dir-pw"));
    let own = search(&slapd, as_alice, &alice, "(objectClass=*)", &["uid"]).unwrap();
    assert_eq!(values(&own, "uid"), ["alice"], "{own}");
    // Above her own entry she sees nothing, not even the base: "No such object".
    let tree = search(&slapd, as_alice, BASE_DN, "(uid=*)", &["uid"]).unwrap_err();
    assert!(tree.contains("No such object (32)"), "{tree}");
    let bob = search(&slapd, as_alice, &user_dn("bob"), "(objectClass=*)", &[]).unwrap_err();
    assert!(bob.contains("No such object (32)"), "{bob}");
    let anonymous = search(&slapd, None, BASE_DN, "(uid=*)", &[]).unwrap_err();
    assert!(anonymous.contains("No such object (32)"), "{anonymous}");
    // memberOf is computed with the searcher's rights: alice may not read the groups.
    let own = search(&slapd, as_alice, &alice, "(objectClass=*)", &["memberOf"]).unwrap();
    assert_eq!(values(&own, "dn"), [alice], "{own}");
    assert!(values(&own, "memberOf").is_empty(), "{own}");
}

#[test]
fn member_of_including_nested_groups() {
    let slapd = Slapd::start();
    assert_eq!(member_of(&slapd, "alice"), dns(&[VPN_USERS_DN]));
    assert_eq!(
        member_of(&slapd, "bob"),
        dns(&[VPN_USERS_DN, VPN_ADMINS_DN])
    );
    // carol is in Staff, Staff in VPN-Users: the trailing `*` of dynlist-attrset nests.
    assert_eq!(member_of(&slapd, "carol"), dns(&[STAFF_DN, VPN_USERS_DN]));
    assert_eq!(member_of(&slapd, "dave"), Vec::<String>::new());

    // The values are the normalised (lower-case) DNs, not the groups' own spelling.
    let ldif = service_search(&slapd, "(uid=alice)", &["memberOf"]);
    let line = format!("memberOf: {}", VPN_USERS_DN.to_lowercase());
    assert!(ldif.lines().any(|l| l == line), "{ldif}");
    assert!(!ldif.contains(VPN_USERS_DN), "{ldif}");
    // Operational: not among all user attributes, only when asked for.
    let all = service_search(&slapd, "(uid=alice)", &[]);
    assert!(values(&all, "memberOf").is_empty(), "{all}");
    assert_eq!(values(&all, "mail"), ["alice@example.org"]);

    // A memberOf filter finds the nested member too (and the nested group itself).
    let found = service_search(&slapd, &format!("(memberOf={VPN_USERS_DN})"), &["1.1"]);
    let members = [user_dn("alice"), user_dn("bob"), user_dn("carol")];
    let mut expected: Vec<&str> = members.iter().map(String::as_str).collect();
    expected.push(STAFF_DN);
    assert_eq!(values(&found, "dn"), dns(&expected));

    // Changes show at once: nothing is stored on the users.
    slapd.modify(&format!(
        "dn: {VPN_ADMINS_DN}\nchangetype: modify\nadd: member\nmember: {}\n",
        user_dn("dave")
    ));
    assert_eq!(member_of(&slapd, "dave"), dns(&[VPN_ADMINS_DN]));
}

#[test]
fn pause_resume_kill_stop_restart() {
    let mut slapd = Slapd::start();
    let (url, ldaps) = (slapd.ldap_url(), slapd.ldaps_url_ip());
    let ca = slapd.ca_file();
    let bind = |url: &str, limit| {
        let args = ["-x", "-H", url, "-D", SERVICE_DN, "-w", SERVICE_PASSWORD];
        ldap_tool("ldapwhoami", &args, Some(&ca), "", limit)
    };

    // Paused: the kernel still accepts the connection, but nothing answers.
    slapd.pause();
    assert!(std::net::TcpStream::connect(slapd.ldap_addr()).is_ok());
    assert!(bind(&url, Duration::from_millis(500)).is_none());
    slapd.resume();
    assert!(bind(&url, LIMIT).unwrap().status.success());

    // A change made before a kill survives it (mdb), and the ports are the same afterwards.
    slapd.modify(&format!(
        "dn: {}\nchangetype: modify\nreplace: userPassword\nuserPassword: new-pw\n",
        user_dn("dave")
    ));
    let old_pid = slapd.pid();
    slapd.kill();
    let out = bind(&url, LIMIT).unwrap();
    assert!(!out.status.success(), "bound to a killed slapd");
    assert!(
        text(&out).contains("Can't contact LDAP server"),
        "{}",
        text(&out)
    );
    let restarted = Instant::now();
    slapd.restart();
    eprintln!("restart() after kill() took {:?}", restarted.elapsed());
    assert_ne!(slapd.pid(), old_pid);
    assert_eq!(
        (slapd.ldap_url(), slapd.ldaps_url_ip()),
        (url.clone(), ldaps.clone())
    );
    assert!(bind(&ldaps, LIMIT).unwrap().status.success());
    assert_whoami(&url, &user_dn("dave"), "new-pw", &[], None);

    // SIGTERM: a clean shutdown, then again on the same ports; stop() also ends a paused one.
    slapd.stop();
    assert!(slapd.log().contains("slapd stopped."), "{}", slapd.log());
    assert!(!bind(&url, LIMIT).unwrap().status.success());
    slapd.restart();
    slapd.pause();
    slapd.stop();
    slapd.restart();
    assert!(bind(&ldaps, LIMIT).unwrap().status.success());
    // restart() of a running slapd stops it first.
    slapd.restart();
    assert!(bind(&url, LIMIT).unwrap().status.success());
}

#[test]
fn parallel_instances_are_independent() {
    let (a, b) = (Slapd::start(), Slapd::start());
    assert_ne!(a.ldap_url(), b.ldap_url());
    assert_ne!(a.dir(), b.dir());
    a.modify(&format!(
        "dn: {STAFF_DN}\nchangetype: modify\nadd: member\nmember: {}\n",
        user_dn("alice")
    ));
    assert_eq!(member_of(&a, "alice"), dns(&[STAFF_DN, VPN_USERS_DN]));
    assert_eq!(member_of(&b, "alice"), dns(&[VPN_USERS_DN]));
    // One instance's CA does not vouch for the other's server.
    let out = whoami(
        &b.ldaps_url_ip(),
        SERVICE_DN,
        SERVICE_PASSWORD,
        &[],
        Some(&a.ca_file()),
    );
    assert!(!out.status.success(), "{}", text(&out));
}
