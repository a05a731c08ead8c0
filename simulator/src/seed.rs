//! Seeding from a short text spec, for `relink simulate` and the demo:
//!
//! ```text
//! # comments run to the end of the line; items are separated by spaces, commas or lines
//! facebook:page-1@alice  instagram_business:ig-1@alice   # two accounts of the user alice
//! x:brand  linkedin:acme  telegram:-1001234567890
//! pinterest*1000                                          # 1000 bulk accounts
//! ```

use serde::Serialize;

use crate::sim::{AccountOptions, Bulk, Issued, SimError, Simulator};

/// What a spec created.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Seeded {
    pub accounts: Vec<Issued>,
    pub bulks: Vec<Bulk>,
}

impl Simulator {
    /// Creates the accounts a spec names (see the module documentation) and returns their tokens.
    pub fn seed(&self, spec: &str) -> Result<Seeded, SimError> {
        let mut seeded = Seeded::default();
        let items = spec
            .lines()
            .map(|line| line.split_once('#').map_or(line, |(before, _)| before))
            .flat_map(|line| line.split([' ', '\t', ',']))
            .filter(|item| !item.is_empty());
        for item in items {
            let bad = |why: &str| SimError::BadInput(format!("seed item `{item}`: {why}"));
            if let Some((provider, count)) = item.split_once('*') {
                let provider = provider.parse().map_err(|e| bad(&format!("{e}")))?;
                let count = count.parse().map_err(|_| bad("the count after `*` is not a number"))?;
                seeded.bulks.push(self.add_accounts_bulk(provider, count)?);
            } else if let Some((provider, rest)) = item.split_once(':') {
                let provider = provider.parse().map_err(|e| bad(&format!("{e}")))?;
                let (account, options) = match rest.split_once('@') {
                    Some((account, user)) => (account, AccountOptions::user(user)),
                    None => (rest, AccountOptions::default()),
                };
                seeded.accounts.push(self.add_account(provider, account, options)?);
            } else {
                return Err(bad("expected provider:account[@user] or provider*count"));
            }
        }
        Ok(seeded)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use relink_core::{Provider, SystemClock};

    use super::*;

    #[test]
    fn a_spec_creates_named_users_and_bulk_runs() {
        let sim = Simulator::new(Arc::new(SystemClock));
        let seeded = sim
            .seed("# demo\nfacebook:page-1@alice, instagram_business:ig-1@alice\nx:brand telegram:-1001 pinterest*3")
            .unwrap();
        assert_eq!(seeded.accounts.len(), 4);
        assert_eq!(seeded.accounts[0].user, "alice");
        assert_eq!(seeded.accounts[2].user, "brand");
        assert_eq!(seeded.bulks[0].count, 3);
        assert_eq!(sim.account_count(Provider::Pinterest), 3);
        assert_eq!(sim.change_user_password("alice").unwrap(), 2);
        assert!(sim.seed("myspace:tom").is_err());
        assert!(sim.seed("x").is_err());
    }
}
