//! `relink serve` on a fresh machine: no configuration, an empty directory, and it must create
//! its database and key, answer `/healthz`, say which front-ends are off, and stop cleanly.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::cli::relink;

/// A running `relink serve` and the lines it logged so far.
pub struct Served {
    child: Child,
    pub address: String,
    lines: mpsc::Receiver<String>,
    log: Vec<String>,
}

impl Served {
    fn start(dir: &Path) -> Self {
        Self::start_with(dir, &[])
    }

    /// Starts `relink serve` in `dir` with extra environment variables.
    pub fn start_with(dir: &Path, env: &[(&str, &str)]) -> Self {
        let mut child = relink(dir)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("RELINK_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("relink serve starts");
        let stderr = child.stderr.take().expect("stderr");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut served = Self { child, address: String::new(), lines, log: Vec::new() };
        let line = served.wait_for("web server listening on http://");
        let start = line.find("http://").expect("address") + "http://".len();
        served.address = line[start..].split_whitespace().next().expect("address").to_owned();
        served
    }

    /// The process id, which names the process in the leases it holds (`relink-<pid>-…`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (at most 60 s) for a log line containing `needle`.
    pub fn wait_for(&mut self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    self.log.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!("relink serve never logged `{needle}`; it logged:\n{}", self.log.join("\n")),
            }
        }
    }

    pub fn stop(mut self, signal: &str) -> (std::process::ExitStatus, Vec<String>) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args([signal, &pid]).status().expect("kill runs");
        assert!(status.success());
        let status = self.child.wait().expect("relink exits");
        self.log.extend(self.lines.iter());
        (status, self.log)
    }
}

async fn get(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.expect("request");
    (response.status().as_u16(), response.text().await.expect("body"))
}

#[tokio::test]
async fn serve_with_no_configuration_creates_its_database_and_key_and_answers_healthz() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut served = Served::start(dir.path());
    served.wait_for("Telegram is not configured");
    let (status, body) = get(&format!("http://{}/healthz", served.address)).await;
    assert_eq!((status, body.trim()), (200, "ok"));
    let (status, body) = get(&format!("http://{}/readyz", served.address)).await;
    assert_eq!(status, 200, "{body}");

    let data = dir.path().join("relink-data");
    assert!(data.join("relink.db").exists(), "the SQLite database is created");
    let key = data.join("relink.key");
    assert!(key.exists(), "the key file is created");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&key).expect("key metadata").permissions().mode() & 0o777, 0o600);
    }

    let (status, log) = served.stop("-TERM");
    assert!(status.success(), "SIGTERM stops relink cleanly: {status:?}\n{}", log.join("\n"));
    let log = log.join("\n");
    assert_eq!(log.matches("generated a new encryption key").count(), 1, "{log}");
    for expected in [
        "Discord is not configured",
        "RELINK_DISCORD__TOKEN",
        "RELINK_TELEGRAM__TOKEN",
        "SIGTERM received",
        "relink stopped",
    ] {
        assert!(log.contains(expected), "missing `{expected}` in:\n{log}");
    }

    // A second start reuses the key and says nothing about generating one; Ctrl-C stops it too.
    let mut again = Served::start(dir.path());
    again.wait_for("Telegram is not configured");
    let (status, log) = again.stop("-INT");
    assert!(status.success(), "Ctrl-C stops relink cleanly");
    assert!(!log.join("\n").contains("generated a new encryption key"));
}

#[test]
fn serve_refuses_a_port_that_is_taken_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = taken.local_addr().expect("addr").to_string();
    let out = relink(dir.path()).args(["serve", "--bind", &address]).output().expect("serve");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("cannot listen on {address}")), "{err}");
}
