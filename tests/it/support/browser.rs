//! Headless Chromium for the browser tests, driven through ChromeDriver's WebDriver protocol
//! (plain JSON over HTTP on loopback, so no browser-automation crate is compiled), and the
//! third-party OAuth 2.0 server the tests run (`tests/oauth-mock`, oauth2-mock-server on Node).
//!
//! Both need programs a fresh machine may lack (`chromium`, `chromium-driver`, `node` and the
//! mock's `npm ci`; `.ci/run` installs them). Without them a test fails with what to install when
//! `CI` is set, and otherwise says loudly that it skipped.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;

/// Whether a program is on the machine; when it is not, panics under CI and tells the caller to
/// skip otherwise.
pub fn available(what: &str, found: bool, install: &str) -> bool {
    if found {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{what} is missing: {install} (.ci/run does this)");
    }
    eprintln!("SKIPPED: {what} is missing; {install} to run this browser test");
    false
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// Starts a child process and reads its first stdout line that contains `marker`.
fn start(mut command: Command, marker: &str) -> (Child, String) {
    let mut child =
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let (sender, receiver) = std::sync::mpsc::channel();
    let marker = marker.to_owned();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains(&marker) {
                let _ = sender.send(line);
            }
        }
    });
    let line = receiver.recv_timeout(Duration::from_secs(30)).expect("the program announced itself");
    (child, line)
}

/// A WebDriver session on a fresh headless Chromium profile.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: TempDir,
}

impl Browser {
    /// `None` (after saying why) when Chromium or ChromeDriver is missing outside CI.
    pub async fn start() -> Option<Self> {
        let install = "apt-get install chromium chromium-driver";
        if !available("Chromium", on_path("chromium") && on_path("chromedriver"), install) {
            return None;
        }
        let mut command = Command::new("chromedriver");
        command.arg("--port=0");
        let (driver, line) = start(command, "started successfully on port");
        let port = line.rsplit(' ').next().expect("a port").trim_end_matches('.').to_owned();
        let base = format!("http://127.0.0.1:{port}");
        let profile = tempfile::Builder::new().prefix("relink-chromium-").tempdir().expect("a profile directory");
        let args = [
            "--headless".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": "/usr/bin/chromium", "args": args }
        } } });
        let http = reqwest::Client::new();
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("ChromeDriver answers")
            .json()
            .await
            .expect("JSON");
        let session =
            created["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {created}")).to_owned();
        Some(Self { driver, base, session, http, _profile: profile })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request.send().await.expect("ChromeDriver answers").json().await.expect("JSON");
        if answer["value"]["error"].is_string() {
            panic!("WebDriver {path}: {}", answer["value"]);
        }
        answer["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url }))).await;
    }

    pub async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None).await.as_str().expect("a URL").to_owned()
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        let body = self.find("body").await;
        self.call(reqwest::Method::GET, &format!("/element/{body}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn find(&self, css: &str) -> String {
        let found =
            self.call(reqwest::Method::POST, "/element", Some(json!({ "using": "css selector", "value": css }))).await;
        found.as_object().and_then(|o| o.values().next()).and_then(Value::as_str).expect("an element id").to_owned()
    }

    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{element}/click"), Some(json!({}))).await;
    }

    /// A Chrome DevTools Protocol command through ChromeDriver.
    async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.call(reqwest::Method::POST, "/goog/cdp/execute", Some(json!({ "cmd": cmd, "params": params }))).await
    }

    /// Sets the window's size (a phone's width, say).
    pub async fn resize(&self, width: u32, height: u32) {
        self.call(reqwest::Method::POST, "/window/rect", Some(json!({ "width": width, "height": height }))).await;
    }

    /// Writes a PNG of the whole page, beyond the window's height, to `path`.
    pub async fn screenshot(&self, path: &Path) {
        use base64::Engine as _;
        let metrics = self.cdp("Page.getLayoutMetrics", json!({})).await;
        let size = &metrics["cssContentSize"];
        let clip = json!({ "x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1 });
        let shot = self
            .cdp("Page.captureScreenshot", json!({ "format": "png", "captureBeyondViewport": true, "clip": clip }))
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("a base64 PNG"))
            .expect("base64");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("the screenshots directory");
        }
        std::fs::write(path, png).expect("write the screenshot");
    }

    /// Ends the session (and its Chromium) and the driver.
    pub async fn quit(self) {
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = self.http.delete(url).send().await;
    }

    /// Waits (at most 20 s) until the page's URL contains `part`.
    pub async fn wait_for_url(&self, part: &str) -> String {
        self.wait_for(part, |url| url.contains(part)).await
    }

    /// Waits (at most 20 s) until the page's URL ends with `end` (`/team`, not `/team/sign-in/…`).
    pub async fn wait_for_url_ending(&self, end: &str) -> String {
        self.wait_for(end, |url| url.ends_with(end)).await
    }

    async fn wait_for(&self, part: &str, reached: impl Fn(&str) -> bool) -> String {
        for _ in 0..200 {
            let url = self.url().await;
            if reached(&url) {
                return url;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the browser never reached a URL with `{part}`; it is at {}: {}", self.url().await, self.text().await);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ends the session's Chromium with the driver; both are this test's own processes.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// oauth2-mock-server, a third-party OAuth 2.0 server, on loopback.
pub struct OAuthMock {
    child: Child,
    pub base: url::Url,
}

impl OAuthMock {
    fn dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oauth-mock")
    }

    /// `None` (after saying why) when Node or the mock's packages are missing outside CI.
    pub fn start(account: &str) -> Option<Self> {
        let dir = Self::dir();
        let ready = on_path("node") && dir.join("node_modules/oauth2-mock-server").is_dir();
        if !available("oauth2-mock-server", ready, "install node and run `npm ci` in tests/oauth-mock") {
            return None;
        }
        let mut command = Command::new("node");
        command.arg("server.js").current_dir(&dir).env("MOCK_ACCOUNT", account);
        let (child, line) = start(command, "http://127.0.0.1:");
        Some(Self { child, base: url::Url::parse(line.trim()).expect("the mock's URL") })
    }
}

impl Drop for OAuthMock {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
