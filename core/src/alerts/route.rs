//! Who hears about an incident. First the member who authorised the channel (the seeds: every
//! admin should know whose account it is, and that person fixes a changed password fastest);
//! when nobody acts in time, everyone who may reconnect and the team's bound chats. Operator
//! problems go to the operators' destination only, never to a team. An alert nobody can
//! receive goes to the log rather than nowhere.

use super::model::Destination;
use crate::domain::{ChatBinding, Member, MemberId};

/// How wide an alert goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// The member who authorised the channel.
    Authoriser,
    /// Every member who may reconnect, and the team's bound chats.
    Everyone,
    /// relink's operators.
    Operators,
}

/// A member's chat identities.
fn identities(member: &Member) -> impl Iterator<Item = Destination> {
    let discord = member.discord_user_id.map(|id| Destination::DiscordUser(id.0));
    let telegram = member.telegram_user_id.map(|id| Destination::TelegramUser(id.0));
    discord.into_iter().chain(telegram)
}

/// The member who authorised a channel, if relink can reach them and they may reconnect;
/// otherwise the first level of routing is skipped.
pub fn first_responder(members: &[Member], authorised_by: Option<MemberId>) -> Option<&Member> {
    let member = members.iter().find(|m| Some(m.id) == authorised_by)?;
    (member.role.may_reconnect() && identities(member).next().is_some()).then_some(member)
}

/// The destinations of an alert at `level` for a team with these members and chats.
pub fn destinations(
    level: Level,
    members: &[Member],
    bindings: &[ChatBinding],
    authorised_by: Option<MemberId>,
    operators: Destination,
) -> Vec<Destination> {
    let mut out: Vec<Destination> = match level {
        Level::Operators => vec![operators],
        Level::Authoriser => match first_responder(members, authorised_by) {
            Some(member) => identities(member).collect(),
            None => return destinations(Level::Everyone, members, bindings, authorised_by, operators),
        },
        Level::Everyone => members
            .iter()
            .filter(|m| m.role.may_reconnect())
            .flat_map(identities)
            .chain(bindings.iter().filter(|b| b.enabled).map(|b| Destination::chat(b.platform, b.chat_id)))
            .collect(),
    };
    out.sort();
    out.dedup();
    if out.is_empty() {
        out.push(Destination::Log);
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::domain::{ChatPlatform, DiscordUserId, MemberName, Role, TeamId, TelegramUserId};

    fn member(id: i64, role: Role, discord: Option<i64>, telegram: Option<i64>) -> Member {
        Member {
            id: MemberId(id),
            team_id: TeamId(1),
            name: MemberName::parse(&format!("m{id}")).unwrap(),
            role,
            discord_user_id: discord.map(DiscordUserId),
            telegram_user_id: telegram.map(TelegramUserId),
            created_at: DateTime::UNIX_EPOCH,
        }
    }

    fn chat(platform: ChatPlatform, id: i64, enabled: bool) -> ChatBinding {
        ChatBinding { team_id: TeamId(1), platform, chat_id: id, enabled, created_at: DateTime::UNIX_EPOCH }
    }

    #[test]
    fn routing_starts_with_the_authoriser_and_widens_to_admins_and_chats() {
        let members = [
            member(1, Role::Admin, Some(11), None),
            member(2, Role::Owner, None, Some(22)),
            member(3, Role::Editor, Some(33), None),
            member(4, Role::Viewer, None, None),
            member(5, Role::Admin, None, None),
        ];
        let chats = [chat(ChatPlatform::Telegram, -100, true), chat(ChatPlatform::Discord, 900, false)];
        let route = |level, by: Option<i64>| destinations(level, &members, &chats, by.map(MemberId), Destination::Log);
        assert_eq!(route(Level::Authoriser, Some(1)), [Destination::DiscordUser(11)]);
        let everyone = [Destination::DiscordUser(11), Destination::TelegramUser(22), Destination::TelegramChat(-100)];
        assert_eq!(route(Level::Everyone, Some(1)), everyone, "editors and disabled chats are left out");
        // An authoriser who may not reconnect, cannot be reached, or is unknown: everyone at once.
        assert_eq!(route(Level::Authoriser, Some(3)), everyone);
        assert_eq!(route(Level::Authoriser, Some(5)), everyone);
        assert_eq!(route(Level::Authoriser, None), everyone);
    }

    #[test]
    fn operator_problems_go_to_operators_and_nobody_left_means_the_log() {
        let members = [member(1, Role::Admin, Some(11), None)];
        let operators = Destination::TelegramChat(-999);
        assert_eq!(destinations(Level::Operators, &members, &[], None, operators), [operators]);
        let viewers = [member(1, Role::Viewer, Some(11), None)];
        assert_eq!(destinations(Level::Everyone, &viewers, &[], None, operators), [Destination::Log]);
    }
}
