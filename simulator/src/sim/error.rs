//! [`SimError`]: what went wrong with a programmatic or control request.

use std::fmt;

use relink_core::Provider;

/// What went wrong with a programmatic or control request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimError {
    UnknownAccount {
        provider: Provider,
        account: String,
    },
    UnknownUser(String),
    UnknownBot(u64),
    Duplicate {
        provider: Provider,
        account: String,
    },
    /// The switch or option does not exist on this network.
    NotApplicable {
        provider: Provider,
        what: String,
    },
    BadInput(String),
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::UnknownAccount { provider, account } => write!(f, "no {provider} account `{account}`"),
            SimError::UnknownUser(user) => write!(f, "no user `{user}`"),
            SimError::UnknownBot(id) => write!(f, "no Telegram bot {id}"),
            SimError::Duplicate { provider, account } => write!(f, "the {provider} account `{account}` exists"),
            SimError::NotApplicable { provider, what } => write!(f, "{what} is not modelled for {provider}"),
            SimError::BadInput(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for SimError {}
