//! Switches: each way a token or a grant dies, applied to an account ([`Switch`]), and what a
//! switch sets off (a password change reaching every account of the user, a Telegram bot told
//! its place in a chat changed, Meta's and Google's pushes).

use relink_core::Provider;

use super::{SimError, Simulator};
use crate::account::{Chat, Revocation, Role, State, read};
use crate::risc::EventType;
use crate::switch::Switch;

impl Simulator {
    /// Flips a switch on an account. See [`Switch`] for what each one does.
    pub fn apply(&self, provider: Provider, account: &str, switch: Switch) -> Result<(), SimError> {
        let index = self.index_of(provider, account)?;
        let telegram = provider == Provider::Telegram;
        let not_here = |what: &str| Err(SimError::NotApplicable { provider, what: what.to_owned() });
        match &switch {
            Switch::ExpireNow | Switch::RevokeApp | Switch::ChangePassword | Switch::CancelAuthorize if telegram => {
                return not_here(&format!("{switch:?} (a Telegram chat has no user token: kick or demote the bot)"));
            }
            Switch::KickBot | Switch::DeleteChat | Switch::MigrateChat { .. } if !telegram => {
                return not_here(&format!("{switch:?}"));
            }
            Switch::Checkpoint if matches!(provider, Provider::Linkedin | Provider::Pinterest | Provider::Telegram) => {
                return not_here("a security checkpoint (the contract has no account-level answer)");
            }
            Switch::ChangePassword => {
                self.change_password_at(provider, index);
                return Ok(());
            }
            Switch::RevokeApp if super::hooks::meta_app(provider) => {
                self.remove_meta_app(provider, index);
                return Ok(());
            }
            _ => {}
        }
        tracing::debug!(%provider, account, ?switch, "simulator switch");
        // Google tells relink after the change, as the network would.
        let google_event = match &switch {
            Switch::RevokeApp => Some(EventType::TokensRevoked),
            Switch::Checkpoint => Some(EventType::AccountDisabled),
            _ => None,
        };
        let standing = |state: &State| (state.chat, state.role);
        let before = if telegram { self.peek(provider, index, |state, _| standing(state)) } else { None };
        self.with_state(provider, index, |state| match switch {
            Switch::ExpireNow => state.expired_through = Some(state.access_serial),
            Switch::RevokeApp => {
                state.revoked.get_or_insert(Revocation::AppRemoved);
            }
            Switch::DropAdmin => state.role = Role::Member,
            Switch::DropPostRight if telegram => state.role = Role::AdminWithoutPostRight,
            Switch::DropPostRight => state.role = Role::Member,
            Switch::Checkpoint => state.checkpoint = true,
            Switch::KickBot => state.chat = Chat::Kicked,
            Switch::DeleteChat => state.chat = Chat::Deleted,
            Switch::MigrateChat { to } => state.chat = Chat::Migrated(to),
            Switch::Operator => state.operator = true,
            Switch::CancelAuthorize => state.cancel_authorize = true,
            Switch::Restore => {
                state.role = Role::Admin;
                state.checkpoint = false;
                state.chat = Chat::Present;
                state.operator = false;
                state.cancel_authorize = false;
                state.faults = None;
            }
            Switch::ChangePassword => {}
        });
        if let Some(before) = before
            && let Some(after) = self.peek(provider, index, |state, _| standing(state))
        {
            self.chat_member_changed(account, before, after);
        }
        if let Some(event) = google_event {
            self.tell_google(provider, index, event);
        }
        Ok(())
    }

    pub fn expire_now(&self, provider: Provider, account: &str) -> Result<(), SimError> {
        self.apply(provider, account, Switch::ExpireNow)
    }

    pub fn revoke_app(&self, provider: Provider, account: &str) -> Result<(), SimError> {
        self.apply(provider, account, Switch::RevokeApp)
    }

    /// The account's user changes their password: every grant of that user dies.
    pub fn change_password(&self, provider: Provider, account: &str) -> Result<(), SimError> {
        self.apply(provider, account, Switch::ChangePassword)
    }

    /// A user (as given in [`AccountOptions::user`]) changes their password. Returns how many
    /// accounts lost their grant.
    pub fn change_user_password(&self, user: &str) -> Result<usize, SimError> {
        let targets = read(&self.inner.directory).users.get(user).cloned();
        let targets = targets.ok_or_else(|| SimError::UnknownUser(user.to_owned()))?;
        for (provider, index) in &targets {
            self.revoke_at(*provider, *index, Revocation::PasswordChanged);
            self.tell_google(*provider, *index, EventType::SessionsRevoked);
        }
        Ok(targets.len())
    }

    fn change_password_at(&self, provider: Provider, index: u32) {
        let user = self.peek(provider, index, |state, _| state.user.clone()).flatten();
        let targets = match user {
            Some(user) => read(&self.inner.directory).users.get(&user).cloned().unwrap_or_default(),
            None => vec![(provider, index)],
        };
        for (provider, index) in targets {
            self.revoke_at(provider, index, Revocation::PasswordChanged);
            self.tell_google(provider, index, EventType::SessionsRevoked);
        }
    }

    pub(crate) fn revoke_at(&self, provider: Provider, index: u32, why: Revocation) {
        self.with_state(provider, index, |state| {
            state.revoked.get_or_insert(why);
        });
    }

    pub fn drop_admin(&self, provider: Provider, account: &str) -> Result<(), SimError> {
        self.apply(provider, account, Switch::DropAdmin)
    }

    pub fn require_checkpoint(&self, provider: Provider, account: &str) -> Result<(), SimError> {
        self.apply(provider, account, Switch::Checkpoint)
    }

    pub fn kick_bot(&self, chat: &str) -> Result<(), SimError> {
        self.apply(Provider::Telegram, chat, Switch::KickBot)
    }

    pub fn cancel_authorize(&self, provider: Provider, account: &str) -> Result<(), SimError> {
        self.apply(provider, account, Switch::CancelAuthorize)
    }

    pub fn restore(&self, provider: Provider, account: &str) -> Result<(), SimError> {
        self.apply(provider, account, Switch::Restore)
    }

    /// The account published something: resets the inactivity clock (Pinterest).
    pub fn record_activity(&self, provider: Provider, account: &str) -> Result<(), SimError> {
        let index = self.index_of(provider, account)?;
        let now_ms = self.now_ms();
        self.with_state(provider, index, |state| state.last_activity_ms = now_ms);
        Ok(())
    }
}
