//! The `[web]` page under test: its configuration section, a plain HTTP/1.1 client written on
//! `std::net::TcpStream` (to see statuses and headers as the server sends them), and a real
//! browser — headless chromium driven through Selenium by `tests/web/enroll.py`, one JSON
//! command and one JSON answer per line.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How the server's log announces the page (`enrollment page and admin API at http://…/`).
pub const ANNOUNCED: &str = "enrollment page and admin API at ";

/// A `[web]` section serving plain HTTP on a free loopback port.
#[derive(Clone, Debug)]
pub struct WebConf {
    pub port: u16,
    pub invitation_ttl_hours: u32,
    /// More keys of the section, as TOML lines.
    pub extra: String,
}

impl WebConf {
    /// `listen = "127.0.0.1:PORT"`, `public_url = "http://127.0.0.1:PORT"` on a port free now.
    pub fn loopback() -> Self {
        WebConf {
            port: free_tcp_port(),
            invitation_ttl_hours: 72,
            extra: String::new(),
        }
    }

    pub fn invitation_ttl_hours(mut self, hours: u32) -> Self {
        self.invitation_ttl_hours = hours;
        self
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn public_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn to_toml(&self) -> String {
        format!(
            "\n[web]\nlisten = \"{}\"\npublic_url = \"{}\"\ninvitation_ttl_hours = {}\n{}",
            self.addr(),
            self.public_url(),
            self.invitation_ttl_hours,
            self.extra
        )
    }
}

/// A loopback TCP port nobody listens on at the moment (the kernel's pick).
pub fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An HTTP answer as it came.
#[derive(Clone, Debug)]
pub struct HttpResponse {
    pub status: u16,
    /// Names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    /// The first header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request on its own connection (`Connection: close`), bounded to 10 s. `body`,
/// if not empty, is sent as a form.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> HttpResponse {
    let limit = Duration::from_secs(10);
    let mut stream = TcpStream::connect_timeout(&addr, limit)
        .unwrap_or_else(|e| panic!("connect to the web page at {addr}: {e}"));
    stream.set_read_timeout(Some(limit)).unwrap();
    stream.set_write_timeout(Some(limit)).unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request += &format!("{name}: {value}\r\n");
    }
    if !body.is_empty() || method == "POST" {
        request += &format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        );
    }
    request += "\r\n";
    request += body;
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("{method} {path}: reading the answer: {e}"));
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("{method} {path}: not an HTTP answer: {text:?}"));
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: status line {status_line:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    HttpResponse {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// `target/test-artifacts/web/` (beside the binary under test), created.
pub fn artifacts_dir() -> PathBuf {
    let target = Path::new(super::BIN)
        .parent()
        .and_then(Path::parent)
        .expect("the binary's target folder");
    let dir = target.join("test-artifacts").join("web");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The driver script, beside the tests.
pub fn driver_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web/enroll.py")
}

/// The size of the browser's viewport.
#[derive(Clone, Copy, Debug)]
pub enum Window {
    /// 390×844 CSS pixels at 2× (chromium's mobile emulation), a phone's user agent.
    Phone,
    /// An ordinary desktop window.
    Desktop,
}

/// What the browser shows after a navigation or at any time.
#[derive(Clone, Debug)]
pub struct Page {
    pub url: String,
    /// The HTTP status of the document on screen, as the browser received it.
    pub status: Option<u16>,
    /// The documents received since the last navigation began, redirects included:
    /// (URL, status).
    pub documents: Vec<(String, u16)>,
    /// `#title`, `#message`, `#error`, as shown.
    pub title: Option<String>,
    pub message: Option<String>,
    pub error: Option<String>,
    /// Every element id on the page.
    pub ids: Vec<String>,
    pub source: String,
    /// `window.innerWidth`, `window.innerHeight`, the document's scroll width.
    pub viewport: (u64, u64, u64),
}

impl Page {
    fn from(v: &Value) -> Page {
        let text = |k: &str| v[k].as_str().map(str::to_owned);
        let number = |i: usize| v["viewport"][i].as_u64().unwrap_or(0);
        Page {
            url: text("url").unwrap_or_default(),
            status: v["status"].as_u64().map(|s| s as u16),
            documents: v["documents"]
                .as_array()
                .map(|list| {
                    list.iter()
                        .map(|d| {
                            (
                                d["url"].as_str().unwrap_or_default().to_owned(),
                                d["status"].as_u64().unwrap_or(0) as u16,
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            title: text("title"),
            message: text("message"),
            error: text("error"),
            ids: v["ids"]
                .as_array()
                .map(|ids| {
                    ids.iter()
                        .filter_map(|i| i.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            source: text("source").unwrap_or_default(),
            viewport: (number(0), number(1), number(2)),
        }
    }

    pub fn has(&self, id: &str) -> bool {
        self.ids.iter().any(|i| i == id)
    }
}

/// Longest wait for the browser to start, or to answer one command.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(40);

/// A headless chromium, closed when dropped.
pub struct Browser {
    child: Child,
    stdin: Option<ChildStdin>,
    answers: Receiver<String>,
    stderr: Arc<Mutex<Vec<u8>>>,
    pub artifacts: PathBuf,
    /// Prepended to every screenshot's name.
    prefix: String,
    shots: usize,
}

impl Browser {
    /// Start `python3` (the first on PATH) with the driver script; screenshots go to
    /// `artifacts/PREFIX-NN-NAME.png` (any earlier ones of this prefix are removed first).
    pub fn start(window: Window, prefix: &str) -> Browser {
        let artifacts = artifacts_dir();
        for entry in std::fs::read_dir(&artifacts).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&format!("{prefix}-")) && name.ends_with(".png") {
                std::fs::remove_file(entry.path()).ok();
            }
        }
        let mut cmd = Command::new("python3");
        cmd.arg(driver_script()).arg("--artifacts").arg(&artifacts);
        if let Window::Phone = window {
            cmd.arg("--phone");
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run python3 (from PATH) for the browser: {e}"));
        let (send, answers) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut pipe = child.stderr.take().unwrap();
        let collected = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                collected.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        let stdin = child.stdin.take();
        let mut browser = Browser {
            child,
            stdin,
            answers,
            stderr,
            artifacts,
            prefix: prefix.to_owned(),
            shots: 0,
        };
        let ready = browser.answer("start");
        assert!(ready["ready"] == true, "the browser did not start: {ready}");
        browser
    }

    /// What the driver wrote to stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    fn answer(&mut self, what: &str) -> Value {
        let deadline = Instant::now() + BROWSER_TIMEOUT;
        loop {
            match self.answers.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    return serde_json::from_str(&line).unwrap_or_else(|e| {
                        panic!("the browser driver's answer to {what} is not JSON ({e}): {line}")
                    });
                }
                Err(RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
                Err(RecvTimeoutError::Timeout) => panic!(
                    "the browser driver did not answer {what} within {BROWSER_TIMEOUT:?}; its \
                     stderr:\n{}",
                    self.stderr()
                ),
                Err(RecvTimeoutError::Disconnected) => {
                    // Let its stderr arrive.
                    let _ = self.child.wait();
                    std::thread::sleep(Duration::from_millis(200));
                    panic!(
                        "the browser driver (python3 {}) exited instead of answering {what}:\n{}",
                        driver_script().display(),
                        self.stderr()
                    );
                }
            }
        }
    }

    /// Send one command; its answer (the test fails if the driver reports an error).
    pub fn call(&mut self, command: Value) -> Value {
        let what = command.to_string();
        let stdin = self.stdin.as_mut().expect("browser closed");
        writeln!(stdin, "{what}").unwrap();
        stdin.flush().unwrap();
        let answer = self.answer(&what);
        assert!(
            answer["ok"] == true,
            "the browser failed at {what}: {}\n{}",
            answer["error"],
            self.stderr()
        );
        answer
    }

    pub fn open(&mut self, url: &str) -> Page {
        Page::from(&self.call(json!({"cmd": "open", "url": url})))
    }

    pub fn page(&mut self) -> Page {
        Page::from(&self.call(json!({"cmd": "page"})))
    }

    /// Clear the input `#id` and type `text` into it.
    pub fn type_into(&mut self, id: &str, text: &str) {
        self.call(json!({"cmd": "type", "id": id, "text": text}));
    }

    /// Click what `css` selects (nothing is expected to load).
    pub fn click(&mut self, css: &str) {
        self.call(json!({"cmd": "click", "css": css}));
    }

    /// Click `#id` and wait for the document that replaces the page.
    pub fn submit(&mut self, id: &str) -> Page {
        Page::from(&self.call(json!({"cmd": "submit", "id": id})))
    }

    /// The visible text of `#id`, if there is such an element.
    pub fn text(&mut self, id: &str) -> Option<String> {
        self.call(json!({"cmd": "text", "id": id}))["text"]
            .as_str()
            .map(str::to_owned)
    }

    pub fn displayed(&mut self, id: &str) -> bool {
        self.call(json!({"cmd": "displayed", "id": id}))["displayed"] == true
    }

    pub fn attribute(&mut self, id: &str, name: &str) -> Option<String> {
        self.call(json!({"cmd": "attribute", "id": id, "name": name}))["value"]
            .as_str()
            .map(str::to_owned)
    }

    fn shot_name(&mut self, name: &str) -> String {
        self.shots += 1;
        format!("{}-{:02}-{name}", self.prefix, self.shots)
    }

    /// The viewport as a PNG in the artifacts folder; its path.
    pub fn screenshot(&mut self, name: &str) -> PathBuf {
        let name = self.shot_name(name);
        let answer = self.call(json!({"cmd": "screenshot", "name": name}));
        PathBuf::from(answer["path"].as_str().unwrap())
    }

    /// Only the element `#id`, as a PNG in the artifacts folder; its path.
    pub fn element_screenshot(&mut self, id: &str, name: &str) -> PathBuf {
        let name = self.shot_name(name);
        let answer = self.call(json!({"cmd": "element_screenshot", "id": id, "name": name}));
        PathBuf::from(answer["path"].as_str().unwrap())
    }

    /// WebDriver's `execute_script` (not subject to the page's Content Security Policy).
    pub fn script(&mut self, js: &str) -> Value {
        self.call(json!({"cmd": "script", "js": js}))["value"].clone()
    }

    /// Every cookie the browser holds for the page, HttpOnly ones included.
    pub fn cookies(&mut self) -> Vec<Value> {
        self.call(json!({"cmd": "cookies"}))["cookies"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The value of the cookie `name`.
    pub fn cookie(&mut self, name: &str) -> Option<Value> {
        self.cookies().into_iter().find(|c| c["name"] == name)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = writeln!(stdin, "{}", json!({"cmd": "quit"}));
        }
        // The driver closes chromium and exits on "quit" (or on the end of its input).
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child.kill().ok();
        self.child.wait().ok();
    }
}
