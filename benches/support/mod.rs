//! What the benches share: the provider simulator in a process of its own, and a store filled
//! with as many Facebook Pages as the simulator knows, their tokens minted from the same seed.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use relink_core::store::Store;
use relink_core::token::TokenSet;
use relink_core::{Clock as _, DisplayName, ExternalAccountId, NewChannel, Provider, Scopes, SystemClock, TeamId};
use relink_simulator::{SimConfig, Simulator};
use secrecy::SecretString;

/// The seed both the simulator process and [`fill`] mint tokens from.
const TOKEN_SEED: u64 = 7;

/// The simulator in a process of its own, so its memory and CPU are not counted as relink's.
pub struct SimProcess {
    pub child: Child,
    pub base: url::Url,
}

impl SimProcess {
    pub fn start(channels: u32) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_relink"))
            .args(["simulate", "--listen", "127.0.0.1:0", "--token-seed", &TOKEN_SEED.to_string()])
            .args(["--accounts", &format!("facebook*{channels}")])
            .env("RELINK_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("relink simulate starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).expect("the simulator says where it listens");
        // Keep reading what it prints later, so it never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let base = line.trim().rsplit(' ').next().expect("an address").to_owned();
        Self { child, base: url::Url::parse(&base).expect("a URL") }
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fills the store; returns the access tokens of the first few channels (for the probe ceiling).
pub async fn fill(store: &Store, team: TeamId, channels: u32) -> Vec<String> {
    // The same seed mints the same tokens as the simulator process.
    let minter = Simulator::with_config(
        SimConfig { token_seed: Some(TOKEN_SEED), ..SimConfig::default() },
        Arc::new(SystemClock),
    );
    let bulk = minter.add_accounts_bulk(Provider::Facebook, channels).expect("bulk accounts");
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut rows = Vec::with_capacity(10_000);
    for n in 0..channels {
        let issued = minter.tokens_at(Provider::Facebook, bulk.first_index + n).expect("tokens");
        let account = bulk.account_id(n);
        if samples.len() < 10_000 {
            samples.push(issued.access_token.clone());
        }
        rows.push((
            NewChannel {
                team_id: team,
                provider: Provider::Facebook,
                external_account_id: ExternalAccountId::parse(&account).expect("account"),
                display_name: DisplayName::parse(&account).expect("name"),
                authorized_by: None,
            },
            TokenSet {
                access_token: SecretString::from(issued.access_token),
                refresh_token: None,
                expires_at: issued.expires_at,
                scopes: Scopes::default(),
                refresh_expires_at: None,
            },
        ));
        if rows.len() == 10_000 || n + 1 == channels {
            store.add_channels_bulk(&rows, SystemClock.now()).await.expect("bulk insert");
            rows.clear();
        }
    }
    println!("filled {channels} channels in {:.1} s", started.elapsed().as_secs_f64());
    samples
}
