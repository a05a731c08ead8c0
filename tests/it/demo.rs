//! `relink demo` through the real binary: the story's alerts reach the right people with the
//! right reasons, the networks' bad days and silent renewals never reach anyone, shared chats
//! never get a link, and a printed link reconnects the channel in headless Chromium.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::support::browser::Browser;

/// The demo in a child process, its standard output read line by line on a thread.
struct Demo {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Demo {
    fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_relink"))
            .args(["demo", "--listen", "127.0.0.1:0", "--hours-per-second", "12"])
            .env_remove("RELINK_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("relink demo starts");
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines, seen: Vec::new() }
    }

    /// Reads until a line containing `needle`; fails when the demo prints nothing for `quiet`.
    /// The story's output does not depend on how fast the machine is (each clock jump waits
    /// until nothing is due), only how long it takes does: a loaded machine told the week in
    /// over two minutes, still printing. A demo that stops printing is what this waits out.
    fn until(&mut self, needle: &str, quiet: Duration) -> String {
        loop {
            match self.lines.recv_timeout(quiet) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => {
                    panic!("no line with `{needle}`, and nothing for {quiet:?}; so far:\n{}", self.seen.join("\n"))
                }
            }
        }
    }

    /// The messages printed so far: (heading, body lines).
    fn messages(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for line in &self.seen {
            if line.contains(" ── to ") {
                out.push((line.clone(), Vec::new()));
            } else if let (Some(body), Some(last)) = (line.strip_prefix("   │ "), out.last_mut()) {
                last.1.push(body.to_owned());
            }
        }
        out
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        // Ctrl-C, as a person would stop it: the demo deletes its temporary database.
        let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn the_demo_tells_the_right_people_why_and_its_links_reconnect_in_a_browser() {
    let mut demo = Demo::start();
    demo.until("The story is over", Duration::from_secs(60));
    let messages = demo.messages();
    let titles: Vec<&str> = messages.iter().filter_map(|(_, body)| body.first().map(String::as_str)).collect();
    let about = |channel: &str| -> Vec<(String, Vec<String>)> {
        messages
            .iter()
            .filter(|(heading, body)| heading.contains(channel) || body.first().is_some_and(|t| t.contains(channel)))
            .cloned()
            .collect()
    };

    // Never a wolf: YouTube's day of 503s and X's and YouTube's renewals reach nobody.
    assert_eq!(about("Acme Kitchen").len(), 0, "{titles:#?}");
    assert_eq!(about("@acmebakes").len(), 0, "{titles:#?}");
    // Never silent, with the right reason.
    // Private messages print the whole text; a group's, its title only.
    let private = |found: Vec<(String, Vec<String>)>| found.into_iter().find(|(_, body)| !body.is_empty());
    // One password change, one message: Facebook and Instagram via Facebook together.
    let facebook = private(about("2 channels are disconnected")).expect("the password change's alert");
    assert!(facebook.1.iter().any(|l| l.contains("password")), "{facebook:?}");
    assert!(facebook.1.iter().any(|l| l.contains("Acme Bakery (Facebook)")), "{facebook:?}");
    assert!(facebook.1.iter().any(|l| l.contains("@acmebakery (Instagram (via Facebook))")), "{facebook:?}");
    let pinterests = about("Acme Cakes (Pinterest) is disconnected");
    assert!(pinterests.iter().any(|(heading, _)| heading.contains("Marco")), "its authoriser hears: {pinterests:?}");
    let pinterest = &private(pinterests).expect("Pinterest's alert in private");
    assert!(pinterest.1.iter().any(|l| l.contains("removed from the account's authorised apps")), "{pinterest:?}");
    let google = private(about("Main St (Google Business Profile) is disconnected")).expect("the role alert");
    assert!(google.1.iter().any(|l| l.contains("admin role")), "{google:?}");
    // The resolution edits the earlier message where the platform can, and is sent otherwise.
    let resolved = |t: &str| t.contains("Main St (Google Business Profile) is connected again");
    let edited = demo.seen.iter().any(|l| l.contains("is updated") && resolved(l));
    assert!(edited || titles.iter().any(|t| resolved(t)), "{titles:#?}");
    // LinkedIn's expiry: in the mornings' digests with its date, then a warning of its own the
    // day before (a digest would come too late).
    assert!(titles.iter().any(|t| t.contains("(LinkedIn) disconnects in 1 day")), "{titles:#?}");
    let digest_line = |l: &String| l.contains("Acme Bakery Ltd (LinkedIn)") && l.contains("access ends");
    assert!(messages.iter().any(|(_, body)| body.iter().any(digest_line)), "{messages:#?}");
    // Links only in private messages, one per channel of each; shared chats get none.
    for (heading, body) in &messages {
        let links = body.iter().filter(|l| l.contains("/r/")).count();
        if heading.contains("private chat") || heading.contains("direct message") {
            let channels = body.iter().filter(|l| l.starts_with("- ")).count().max(1);
            let resolved = body.first().is_some_and(|t| t.contains("connected again"));
            assert!(links == channels || resolved, "{heading}: {body:?}");
        } else {
            assert!(!heading.contains("/r/") && links == 0, "{heading}: {body:?}");
        }
    }
    assert!(demo.seen.iter().any(|l| l.contains("Acme Bakery") && l.contains("needs reconnecting: password changed")));

    // The story starts at midnight in the team's time zone: its beats fall at the same local hours
    // on every run.
    assert!(demo.seen.iter().any(|l| l.starts_with("The team works 08:00-20:00, Europe/Rome time")));
    assert!(demo.seen.iter().any(|l| l.starts_with("[day 2, 06:00] » Dana changes her Facebook password")));
    // The closing account: messages per reader, when each reader first heard of each problem,
    // and whether the week's targets hold.
    let seen = &demo.seen;
    let table = seen.iter().position(|l| l == "Messages per reader:").expect("the messages table");
    let sent = |who: &str| -> usize {
        let row = seen[table..].iter().find(|l| l.trim_start().starts_with(who));
        row.and_then(|l| l.split_whitespace().rev().nth(1)).and_then(|n| n.parse().ok()).expect(who)
    };
    for reader in ["Dana (primary owner)", "Marco (admin)", "Yuki (editor)", "the team's Telegram group"] {
        let _ = sent(reader);
    }
    let heard = seen.iter().position(|l| l.starts_with("When each reader first heard")).expect("the first-heard table");
    assert!(heard > table);
    for problem in
        ["Dana's password change:", "Pinterest app removed:", "Google role lost:", "LinkedIn token running out:"]
    {
        let at = seen[heard..].iter().position(|l| l.trim_start().starts_with(problem)).expect(problem) + heard;
        // Its authoriser, at least, heard of it while it lasted.
        let rows = &seen[at + 1..at + 5];
        assert!(rows.iter().any(|r| r.contains("[day ") && r.contains(" h after relink knew)")), "{problem} {rows:#?}");
    }
    let targets = seen.iter().find(|l| l.starts_with("Targets: at most 12 messages to each admin: ")).expect("targets");
    // The story lets relink act on each hour before its clock jumps again: at any pace, every
    // problem reaches someone who can fix it within the hour of relink knowing (at 12 hours a
    // second the loops' sleeps used to let the clock run two to four hours ahead of them).
    let in_time = targets.rsplit("; ").next().unwrap_or_default();
    assert!(in_time.starts_with("every problem heard of") && in_time.ends_with(": held."), "{targets}");
    // One message per person per cause, one digest a day, quiet hours: at most 12 a week.
    assert!(sent("Dana (primary owner)") <= 12 && sent("Marco (admin)") <= 12, "{targets}");
    assert!(targets.contains("the password change in one message to each person: held"), "{targets}");

    // The last Facebook link Dana got works in a browser against the simulator.
    // (a message about several channels has a line per channel: "Reconnect Acme Bakery: …")
    let link = messages
        .iter()
        .rev()
        .filter(|(heading, body)| heading.contains("Dana") && body.iter().any(|l| l.contains("Acme Bakery (Facebook)")))
        .find_map(|(_, body)| {
            let one = |l: &String| l.strip_prefix("Reconnect Acme Bakery: ").map(str::to_owned);
            body.iter().find_map(one).or_else(|| {
                let only = body.first().is_some_and(|t| t.contains("Acme Bakery (Facebook)"));
                body.iter().find_map(|l| l.strip_prefix("Reconnect: ").filter(|_| only).map(str::to_owned))
            })
        })
        .expect("a Facebook link for Dana");
    let Some(browser) = Browser::start().await else { return };
    browser.goto(&link).await;
    assert!(browser.text().await.contains("Continue to Facebook"));
    browser.click("button").await;
    browser.wait_for_url("/oauth/result/").await;
    let page = browser.text().await;
    assert!(page.contains("Acme Bakery is connected again"), "{page}");
    browser.quit().await;
    demo.until("Acme Bakery (Facebook) is connected again", Duration::from_secs(60));
}

#[test]
fn a_demo_in_a_time_zone_that_does_not_exist_stops_before_its_story_naming_the_flag() {
    let out = Command::new(env!("CARGO_BIN_EXE_relink"))
        .args(["demo", "--listen", "127.0.0.1:0", "--exit", "--timezone", "Mars/Olympus"])
        .env("RELINK_LOG", "warn")
        .output()
        .expect("relink demo runs");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "{stdout}");
    assert!(stderr.contains("--timezone") && stderr.contains("Mars/Olympus"), "{stderr}");
    assert!(!stdout.contains("relink demo:"), "no story told: {stdout}");
}
