//! `scripts/test`, the README's test command, as a newcomer meets it: on a machine that has
//! everything it installs nothing and runs the suite; on one that lacks something it cannot
//! install, it names the packages and stops before any test runs.
//!
//! The script runs from a copy in a temporary tree with stand-in programs on `PATH` (each one
//! records its arguments), so these tests neither install nor run anything real.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

/// A temporary copy of the project's `scripts/test` with stand-ins for the programs it looks for.
struct Machine {
    dir: TempDir,
}

impl Machine {
    /// A tree holding `scripts/test` and an empty `bin/` for stand-ins.
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let scripts = dir.path().join("scripts");
        fs::create_dir_all(&scripts).expect("scripts folder");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/test");
        fs::copy(&script, scripts.join("test")).expect("copy of scripts/test");
        fs::create_dir_all(dir.path().join("bin")).expect("bin folder");
        Self { dir }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// A stand-in program on `PATH` that appends its name and arguments to `calls.log`.
    fn program(&self, name: &str) {
        let log = self.path("calls.log");
        let body = format!("#!/bin/sh\necho \"{name} $*\" >> '{}'\n", log.display());
        let file = self.path("bin").join(name);
        fs::write(&file, body).expect("stand-in program");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o755)).expect("executable");
    }

    /// The PostgreSQL server binaries, where Debian keeps them (off `PATH`).
    fn postgres_server(&self) {
        let bindir = self.path("postgresql/17/bin");
        fs::create_dir_all(&bindir).expect("PostgreSQL bin folder");
        for name in ["initdb", "postgres"] {
            let file = bindir.join(name);
            fs::write(&file, "#!/bin/sh\nexit 0\n").expect("stand-in server binary");
            fs::set_permissions(&file, fs::Permissions::from_mode(0o755)).expect("executable");
        }
    }

    /// The npm packages `npm ci` installs for the third-party OAuth 2.0 server.
    fn oauth_mock_packages(&self) {
        fs::create_dir_all(self.path("tests/oauth-mock/node_modules/oauth2-mock-server")).expect("packages");
    }

    /// Runs `bash scripts/test ARGS` with only the stand-ins on `PATH`.
    fn run(&self, args: &[&str]) -> Output {
        Command::new("/bin/bash")
            .arg(self.path("scripts/test"))
            .args(args)
            .env_clear()
            .env("PATH", self.path("bin"))
            .env("HOME", self.dir.path())
            .env("RELINK_SETUP_PG_BINDIRS", self.path("postgresql/17/bin"))
            .output()
            .expect("bash runs")
    }

    /// What the stand-ins were called with, one line each.
    fn calls(&self) -> Vec<String> {
        fs::read_to_string(self.path("calls.log")).unwrap_or_default().lines().map(str::to_owned).collect()
    }
}

#[test]
fn the_test_command_installs_nothing_and_runs_the_suite_when_everything_is_there() {
    let machine = Machine::new();
    for name in ["chromium", "chromedriver", "node", "npm", "wrk", "apt-get", "cargo"] {
        machine.program(name);
    }
    machine.postgres_server();
    machine.oauth_mock_packages();

    let output = machine.run(&["--", "web::"]);

    assert!(output.status.success(), "exit {:?}, stderr: {}", output.status, String::from_utf8_lossy(&output.stderr));
    assert_eq!(machine.calls(), ["cargo test --workspace --locked web::"], "nothing installed, the suite run once");
    assert!(output.stdout.is_empty(), "quiet when nothing is missing: {}", String::from_utf8_lossy(&output.stdout));
    assert!(output.stderr.is_empty(), "quiet when nothing is missing: {}", String::from_utf8_lossy(&output.stderr));

    let check = machine.run(&["--check"]);
    assert!(check.status.success());
    assert!(String::from_utf8_lossy(&check.stdout).contains("everything the tests need is installed"));
}

#[test]
fn the_test_command_names_what_to_install_and_runs_no_test_when_it_cannot_install() {
    let machine = Machine::new();
    // No Chromium, ChromeDriver, wrk, PostgreSQL server or apt-get on this machine.
    for name in ["node", "npm", "cargo"] {
        machine.program(name);
    }
    machine.oauth_mock_packages();

    let output = machine.run(&[]);

    assert_eq!(output.status.code(), Some(1), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("apt-get install --no-install-recommends postgresql chromium chromium-driver wrk"),
        "names every package to install: {said}"
    );
    assert!(machine.calls().is_empty(), "no test ran and nothing was installed: {:?}", machine.calls());

    let check = machine.run(&["--check"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&check.stdout).contains("postgresql chromium chromium-driver wrk"));
}

#[test]
fn the_test_command_installs_the_oauth_servers_pinned_packages_when_they_are_missing() {
    let machine = Machine::new();
    for name in ["chromium", "chromedriver", "node", "npm", "wrk", "cargo"] {
        machine.program(name);
    }
    machine.postgres_server();
    fs::create_dir_all(machine.path("tests/oauth-mock")).expect("the OAuth server's folder");

    let output = machine.run(&["--setup"]);

    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(
        machine.calls(),
        ["npm ci --no-audit --no-fund --loglevel=error"],
        "packages from the lock file, no test run"
    );
}
