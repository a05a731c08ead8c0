//! Facebook Pages. A channel holds a Page token: no time expiry (`expires_at: 0`), dead on a
//! password change, a lost Page role or the app's removal, and never renewed (a person reconnects):
//! a [`Page`] network.
//!
//! The probe is `debug_token`, signed with relink's app token (`client_id|client_secret`): it
//! costs the Page nothing and says why a token died. A top-level error there is about the app
//! token, so it goes to the operators (see [`rules`], beside the adapter).
//! Source: <https://developers.facebook.com/docs/graph-api/reference/debug_token>

use std::time::Duration;

use secrecy::ExposeSecret;
use serde_json::Value;

use super::classify::{Context, Family, LiveToken, fallback, graph_json, graph_label, int};
use super::graph::{Page, PageNetwork};
use super::http::{self, Answer};
use super::oauth::{self, Granted};
use super::policy::{Policy, Renewal};
use super::{Connected, Ctx, Verdict};
use crate::domain::{Channel, Provider};

/// What Facebook does with tokens (see [`Policy`]).
pub(super) const POLICY: Policy = Policy {
    provider: Provider::Facebook,
    // Long-lived user tokens last about 60 days; Page tokens made from them have no time expiry
    // (`expires_at: 0`) but die on password change, Page-role loss or app removal.
    access_lifetime: Some(Duration::from_secs(60 * 86_400)),
    renewal: Renewal::None,
    inactivity: None,
    probe: "GET /debug_token?input_token=TOKEN&access_token=APP_ID|APP_SECRET",
    default_api_base: "https://graph.facebook.com/v21.0/",
    default_authorize_url: "https://www.facebook.com/v21.0/dialog/oauth",
    default_token_url: "https://graph.facebook.com/v21.0/oauth/access_token",
    scopes: &["pages_show_list", "pages_read_engagement", "pages_manage_posts"],
    pkce: false,
    rate_per_second: 50.0,
    sources: &[
        "https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived",
        "https://developers.facebook.com/docs/graph-api/reference/debug_token",
        "https://developers.facebook.com/docs/graph-api/guides/error-handling",
    ],
};

/// Facebook's adapter: a [`Page`] network whose probe is `debug_token`.
pub(super) static FACEBOOK: Page<Facebook> = Page(Facebook);

#[derive(Debug)]
pub(super) struct Facebook;

#[async_trait::async_trait]
impl PageNetwork for Facebook {
    const PROVIDER: Provider = Provider::Facebook;

    async fn probe(&self, ctx: Ctx<'_>, cx: &Context, _channel: &Channel, token: &str) -> Verdict {
        debug_token(ctx, cx, token).await
    }

    async fn connect(&self, ctx: Ctx<'_>, granted: Granted) -> Result<Connected, Verdict> {
        let probe = debug_token(ctx, &Context::at(ctx.now), granted.tokens.access_token.expose_secret()).await;
        oauth::connected(Provider::Facebook, granted, probe, None)
    }
}

/// `GET debug_token?input_token=T&access_token=CLIENT_ID|SECRET`; the account is `profile_id`
/// (the Page) or `user_id`. Instagram via Facebook uses it too, to learn a new token's account.
pub(super) async fn debug_token(ctx: Ctx<'_>, cx: &Context, token: &str) -> Verdict {
    let secret = ctx.config.client_secret.expose_secret();
    let app_token = format!("{}|{secret}", ctx.config.client_id);
    let request = ctx
        .http
        .get(http::endpoint(&ctx.config.api_base, &["debug_token"]))
        .query(&[("input_token", token), ("access_token", app_token.as_str())]);
    http::probe(request, Family::DebugToken, cx, &[token, secret, &app_token]).await.0
}

/// Facebook's `debug_token`. The verdict on the channel's token is `data.is_valid` and
/// `data.error`; an error at the top level is about the app token relink signs the call with.
/// Source: <https://developers.facebook.com/docs/graph-api/reference/debug_token>
pub(super) fn rules(cx: &Context, answer: &Answer) -> Verdict {
    match live_token(answer) {
        Some(live) => live.facts().verdict(cx, answer),
        None => rules_as_tree(cx, answer),
    }
}

/// [`rules`] on the answer read whole, as a JSON tree: every answer that is not a plain "live".
fn rules_as_tree(cx: &Context, answer: &Answer) -> Verdict {
    let Some(json) = answer.json() else { return fallback("Facebook debug_token", answer) };
    match json.get("error").filter(|e| e.is_object()) {
        Some(error) if matches!(int(error.get("code")), Some(100 | 101 | 102 | 104 | 190)) => {
            Verdict::Operator(format!(
                "Facebook refused relink's app token on debug_token ({}): check the app id and secret",
                graph_label(error)
            ))
        }
        _ => graph_json(cx, answer, &json),
    }
}

/// Nearly every answer a checker reads: a successful `debug_token` whose `data.is_valid` is
/// `true` and with no top-level `error` object. Only the four fields the verdict uses are kept
/// (as the network gave them); the rest (`granular_scopes` with its lists of ids, `metadata`, …)
/// is skipped without building a tree of it, which was most of reading the answer. `None` for
/// anything else, or anything this reading does not take exactly as the tree does (a body that
/// is not an object, a `data` that is not one): [`rules_as_tree`] reads those. A repeated field
/// keeps its last value, as the tree does.
fn live_token(answer: &Answer) -> Option<LiveAnswer> {
    if !answer.is_success() {
        return None;
    }
    let live: LiveAnswer = serde_json::from_slice(&answer.body).ok()?;
    let valid = live.data.as_ref().is_some_and(|data| data.is_valid == Some(Value::Bool(true)));
    (valid && !live.error.as_ref().is_some_and(Value::is_object)).then_some(live)
}

/// A `debug_token` answer's top level as [`live_token`] reads it.
#[derive(Default)]
struct LiveAnswer {
    data: Option<LiveData>,
    error: Option<Value>,
}

impl LiveAnswer {
    fn facts(&self) -> LiveToken<'_> {
        let data = self.data.as_ref();
        LiveToken {
            expires_at: data.and_then(|d| d.expires_at.as_ref()),
            scopes: data.and_then(|d| d.scopes.as_ref()),
            profile_id: data.and_then(|d| d.profile_id.as_ref()),
            user_id: data.and_then(|d| d.user_id.as_ref()),
        }
    }
}

/// `data`'s fields that the verdict reads.
#[derive(Default)]
struct LiveData {
    is_valid: Option<Value>,
    expires_at: Option<Value>,
    scopes: Option<Value>,
    profile_id: Option<Value>,
    user_id: Option<Value>,
}

/// The names [`live_token`] looks for; any other is skipped.
#[derive(serde::Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Field {
    Data,
    Error,
    IsValid,
    ExpiresAt,
    Scopes,
    ProfileId,
    UserId,
    #[serde(other)]
    Other,
}

/// Both levels are read as objects only, never as arrays (which serde's derived structs would
/// also take): a field keeps its last value, every other value is skipped.
impl<'de> serde::Deserialize<'de> for LiveAnswer {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(Fields::<Self>(std::marker::PhantomData))
    }
}

impl<'de> serde::Deserialize<'de> for LiveData {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(Fields::<Self>(std::marker::PhantomData))
    }
}

/// One level of the answer, read field by field into `T`.
trait Level: Default {
    fn keep<'de, A: serde::de::MapAccess<'de>>(&mut self, field: Field, map: &mut A) -> Result<(), A::Error>;
}

impl Level for LiveAnswer {
    fn keep<'de, A: serde::de::MapAccess<'de>>(&mut self, field: Field, map: &mut A) -> Result<(), A::Error> {
        match field {
            Field::Data => self.data = Some(map.next_value()?),
            Field::Error => self.error = Some(map.next_value()?),
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl Level for LiveData {
    fn keep<'de, A: serde::de::MapAccess<'de>>(&mut self, field: Field, map: &mut A) -> Result<(), A::Error> {
        let slot = match field {
            Field::IsValid => &mut self.is_valid,
            Field::ExpiresAt => &mut self.expires_at,
            Field::Scopes => &mut self.scopes,
            Field::ProfileId => &mut self.profile_id,
            Field::UserId => &mut self.user_id,
            _ => return skip(map),
        };
        *slot = Some(map.next_value()?);
        Ok(())
    }
}

fn skip<'de, A: serde::de::MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<serde::de::IgnoredAny>().map(drop)
}

struct Fields<T>(std::marker::PhantomData<T>);

impl<'de, T: Level> serde::de::Visitor<'de> for Fields<T> {
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut level = T::default();
        while let Some(field) = map.next_key::<Field>()? {
            level.keep(field, &mut map)?;
        }
        Ok(level)
    }
}

#[cfg(test)]
pub(super) mod tests {
    //! Facebook's rows of PROVIDERS.md's "What an answer means"; `classify`'s table test runs them
    //! again with every network's and the shared rules.

    use crate::provider::classify::testing::*;

    /// Facebook's cells of the table, one row per line.
    #[rustfmt::skip]
    pub(in crate::provider) fn rows() -> Vec<Row> {
        vec![
            // ---- Facebook debug_token
            (F::DebugToken, Cx::Live, 200, &[], s(r#"{"data":{"app_id":"1","type":"PAGE","is_valid":true,"expires_at":0,"scopes":["pages_show_list"],"profile_id":"99"}}"#), Want::Valid),
            (F::DebugToken, Cx::Live, 200, &[], debug_err(190, 460), Want::Dead(Reason::PasswordChanged)),
            (F::DebugToken, Cx::Live, 200, &[], debug_err(190, 458), Want::Dead(Reason::AppRevoked)),
            (F::DebugToken, Cx::Live, 200, &[], debug_err(190, 459), Want::Account(Reason::SecurityCheckpoint)),
            (F::DebugToken, Cx::Live, 200, &[], s(r#"{"data":{"is_valid":false,"expires_at":1700000000}}"#), Want::Dead(Reason::Expired)),
            // A top-level error is about relink's app token, not the channel's.
            (F::DebugToken, Cx::Live, 400, &[], graph_err(190, None), Want::Operator),
            (F::DebugToken, Cx::Live, 400, &[], graph_err(4, None), Want::Transient(None)),
        ]
    }

    #[test]
    fn every_facebook_answer_gets_its_class() {
        check(&rows());
    }

    /// Meta's answer for a live Page token, with the parts relink does not read.
    const LIVE: &str = r#"{"data":{"app_id":"1","type":"PAGE","application":"relink","data_access_expires_at":1780000000,
        "expires_at":0,"is_valid":true,"issued_at":1770000000,"metadata":{"auth_type":"rerequest","sso":"ios"},
        "profile_id":"99","scopes":["pages_show_list","pages_manage_posts"],
        "granular_scopes":[{"scope":"pages_show_list","target_ids":["99","100"]},{"scope":"pages_manage_posts"}],
        "user_id":"7"}}"#;

    fn read(status: u16, body: &str) -> (Option<Verdict>, Verdict, Verdict) {
        let answer = Answer::new(status, HeaderMap::new(), body.to_owned());
        let cx = context(Cx::Live);
        let live = super::live_token(&answer).map(|live| live.facts().verdict(&cx, &answer));
        (live, super::rules(&cx, &answer), super::rules_as_tree(&cx, &answer))
    }

    #[test]
    fn a_live_answer_is_read_field_by_field_with_the_trees_verdict() {
        let (live, verdict, tree) = read(200, LIVE);
        let Some(Verdict::Valid(validity)) = live else { panic!("not read as live: {live:?}") };
        assert_eq!(validity.account_id.as_deref(), Some("99"));
        assert_eq!(validity.grantor_id.as_deref(), Some("7"));
        assert_eq!(validity.scopes.map(|s| s.to_string()).as_deref(), Some("pages_manage_posts pages_show_list"));
        assert_eq!(validity.expires_at, None, "0 is no time expiry");
        assert_eq!(verdict, tree);
    }

    #[test]
    fn anything_but_a_plain_live_answer_is_read_as_a_tree() {
        for (status, body) in [
            (400, LIVE),
            (200, &*format!("[{LIVE}]")),
            (200, r#"{"data":[true,0]}"#),
            (200, r#"{"data":{"is_valid":"true"}}"#),
            (200, r#"{"data":{"is_valid":true,"is_valid":false}}"#),
            (200, r#"{"data":{"is_valid":true},"error":{"code":190,"message":"app"}}"#),
            (200, r#"{"data":{"is_valid":true}"#),
        ] {
            let (live, verdict, tree) = read(status, body);
            assert_eq!(live, None, "{body}");
            assert_eq!(verdict, tree, "{body}");
        }
        // The last of a repeated field counts, as in the tree; a non-object error is no error.
        let (live, _, tree) =
            read(200, r#"{"error":{"code":1},"data":{"is_valid":false,"is_valid":true},"error":null}"#);
        assert_eq!(live, Some(tree));
    }

    /// A part relink does not read is skipped unread, so a number too large for the tree there
    /// does not turn a live token into an unreadable answer.
    #[test]
    fn a_broken_part_relink_does_not_read_leaves_a_live_token_live() {
        let body = LIVE.replace(r#""issued_at":1770000000"#, r#""issued_at":1e400"#);
        let (live, verdict, tree) = read(200, &body);
        assert!(matches!(live, Some(Verdict::Valid(_))), "{live:?}");
        assert_eq!(Some(verdict), live);
        assert!(matches!(tree, Verdict::Transient { .. }), "the tree cannot read it: {tree:?}");
    }

    mod generated {
        use proptest::prelude::*;
        use proptest::strategy::ValueTree as _;

        use super::read;

        fn atom() -> impl Strategy<Value = String> {
            prop::sample::select(vec![
                "true",
                "true",
                "false",
                "null",
                "0",
                "1700000000",
                "4102444800",
                "-5",
                "1.5",
                "99",
                r#""99""#,
                r#""""#,
                r#""1700000000""#,
                r#""a,b c""#,
                r#"["a","b"]"#,
                r#"[1,"x",null]"#,
                "{}",
                "[]",
                r#"{"code":190,"error_subcode":460,"message":"gone"}"#,
                r#"{"code":4,"message":"limit"}"#,
                r#""is_valid\"""#,
                r#""\u0039\u0039""#,
            ])
            .prop_map(str::to_owned)
        }

        /// An object of up to seven fields named from `keys`, with `first` (when given) before them:
        /// a later field of the same name replaces it.
        fn object(
            keys: &'static [&'static str],
            value: BoxedStrategy<String>,
            first: Option<BoxedStrategy<String>>,
        ) -> BoxedStrategy<String> {
            let first = first.map_or_else(|| Just(None).boxed(), |f| prop::option::weighted(0.8, f).boxed());
            (first, prop::collection::vec((prop::sample::select(keys), value), 0..7))
                .prop_map(|(first, fields)| {
                    let fields: Vec<String> =
                        first.into_iter().chain(fields.into_iter().map(|(k, v)| format!("\"{k}\":{v}"))).collect();
                    format!("{{{}}}", fields.join(","))
                })
                .boxed()
        }

        fn data() -> BoxedStrategy<String> {
            const KEYS: &[&str] = &[
                "is_valid",
                "expires_at",
                "scopes",
                "profile_id",
                "user_id",
                "error",
                "granular_scopes",
                "app_id",
                "data",
                "is_\\u0076alid",
            ];
            object(KEYS, atom().boxed(), Some(Just(r#""is_valid":true"#.to_owned()).boxed()))
        }

        fn body() -> impl Strategy<Value = String> {
            const KEYS: &[&str] = &["data", "error", "user_id", "id", "paging"];
            let first = data().prop_map(|d| format!(r#""data":{d}"#)).boxed();
            prop_oneof![
                4 => object(KEYS, prop_oneof![1 => data(), 3 => atom().boxed()].boxed(), Some(first)),
                1 => data().prop_map(|d| format!("[{d}]")),
                1 => atom(),
            ]
        }

        /// The generated answers take both readings, so the property below compares something.
        #[test]
        fn the_generated_answers_take_both_readings() {
            let mut runner = proptest::test_runner::TestRunner::deterministic();
            let (mut live, mut tree) = (0, 0);
            for _ in 0..1_000 {
                let body = body().new_tree(&mut runner).expect("a body").current();
                if read(200, &body).0.is_some() { live += 1 } else { tree += 1 }
            }
            assert!(live >= 100 && tree >= 100, "{live} read field by field, {tree} as a tree");
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2_000))]

            /// Whatever the answer, reading it field by field gives the tree's verdict, or leaves
            /// it to the tree.
            #[test]
            fn the_field_by_field_reading_agrees_with_the_tree(status in prop::sample::select(vec![200u16, 400]), body in body()) {
                let (live, verdict, tree) = read(status, &body);
                prop_assert_eq!(&verdict, &tree);
                if let Some(live) = live {
                    prop_assert_eq!(live, tree);
                }
            }
        }
    }
}
