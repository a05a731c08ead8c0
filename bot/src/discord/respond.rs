//! Answering one interaction, the same way in both modes: a PING gets a PONG; anything else is
//! handled once per interaction id across every relink process (`discord_interactions`); work
//! that finishes within `defer_after` is answered directly, longer work is answered with a
//! deferral ("relink is thinking…") and its result then replaces the deferral. Further
//! messages of a reply (a private link after a public notice) follow as follow-up messages.
//!
//! The caller delivers the immediate response (the HTTP endpoint as its body, the gateway
//! through the callback route) and then fires `responded`, so a follow-up never reaches Discord
//! before the deferral it edits.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serenity::builder::{
    CreateActionRow, CreateEmbed, CreateInteractionResponse, CreateInteractionResponseFollowup,
    CreateInteractionResponseMessage, EditInteractionResponse,
};
use serenity::http::{LightMethod, Route};
use serenity::model::id::ApplicationId;
use tokio::sync::oneshot;

use super::Services;
use super::incoming::{Incoming, PING};
use super::rest::RestError;

/// A message as Discord shows it in answer to an interaction.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    pub content: String,
    pub embeds: Vec<CreateEmbed>,
    pub components: Vec<CreateActionRow>,
    /// Only the person who acted sees it (links and errors).
    pub ephemeral: bool,
}

impl Rendered {
    /// Text only.
    pub fn text(content: impl Into<String>, ephemeral: bool) -> Self {
        Self { content: content.into(), ephemeral, ..Self::default() }
    }

    pub(crate) fn message(&self) -> CreateInteractionResponseMessage {
        CreateInteractionResponseMessage::new()
            .content(self.content.clone())
            .embeds(self.embeds.clone())
            .components(self.components.clone())
            .ephemeral(self.ephemeral)
    }

    fn edit(&self) -> EditInteractionResponse {
        EditInteractionResponse::new()
            .content(self.content.clone())
            .embeds(self.embeds.clone())
            .components(self.components.clone())
    }

    fn followup(&self) -> CreateInteractionResponseFollowup {
        CreateInteractionResponseFollowup::new()
            .content(self.content.clone())
            .embeds(self.embeds.clone())
            .components(self.components.clone())
            .ephemeral(self.ephemeral)
    }
}

/// Work whose result is one or more messages.
pub type Work = Pin<Box<dyn Future<Output = Vec<Rendered>> + Send>>;

/// What an interaction gets.
pub enum Answer {
    /// This response, now (a component acknowledged).
    Now(Box<CreateInteractionResponse>),
    /// This response once computed, never deferred (autocomplete choices).
    Soon(Pin<Box<dyn Future<Output = CreateInteractionResponse> + Send>>),
    /// Messages from work that may take a while; `ephemeral` decides the deferral's visibility.
    Work { ephemeral: bool, work: Work },
}

/// The immediate response to an interaction, or why there is none.
pub enum Handled {
    Respond {
        response: Box<CreateInteractionResponse>,
        responded: oneshot::Sender<()>,
    },
    /// Already handled by this or another process: nothing is sent again.
    Replayed,
    /// The interaction could not be recorded; Discord shows the person an error.
    Unavailable,
}

/// Handles `incoming` with `answer`, which decides what it gets.
pub async fn handle(
    services: &Arc<Services>,
    incoming: Incoming,
    answer: impl FnOnce(Arc<Services>, Incoming) -> Answer,
) -> Handled {
    let (responded, delivered) = oneshot::channel();
    if incoming.kind == PING {
        return Handled::Respond { response: Box::new(CreateInteractionResponse::Pong), responded };
    }
    match services.store.record_interaction(i64::try_from(incoming.id).unwrap_or(i64::MAX), services.clock.now()).await
    {
        Ok(true) => {}
        Ok(false) => {
            tracing::info!(interaction = incoming.id, "an interaction came again; it was handled already");
            return Handled::Replayed;
        }
        Err(error) => {
            tracing::warn!(%error, "cannot record a Discord interaction");
            return Handled::Unavailable;
        }
    }
    let token = incoming.token.clone();
    match answer(services.clone(), incoming) {
        Answer::Now(response) => Handled::Respond { response, responded },
        Answer::Soon(response) => Handled::Respond { response: Box::new(response.await), responded },
        Answer::Work { ephemeral, work } => {
            let mut running = tokio::spawn(work);
            // A zero `defer_after` always defers (the timer would otherwise race the work).
            let defer_after = services.settings.defer_after;
            let done =
                if defer_after.is_zero() { None } else { tokio::time::timeout(defer_after, &mut running).await.ok() };
            let (first, rest, deferred) = match done {
                Some(done) => {
                    let mut messages = finished(done).into_iter();
                    let first = messages.next().unwrap_or_else(sorry);
                    (Some(first), messages.collect::<Vec<_>>(), false)
                }
                None => (None, Vec::new(), true),
            };
            let services = services.clone();
            let response = match first {
                Some(first) => Box::new(CreateInteractionResponse::Message(first.message())),
                None => Box::new(CreateInteractionResponse::Defer(
                    CreateInteractionResponseMessage::new().ephemeral(ephemeral),
                )),
            };
            if deferred || !rest.is_empty() {
                tokio::spawn(async move {
                    let (first, rest) = if deferred {
                        let mut messages = finished(running.await).into_iter();
                        (messages.next(), messages.collect())
                    } else {
                        (None, rest)
                    };
                    if delivered.await.is_err() {
                        return;
                    }
                    if let Err(error) = follow_up(&services, &token, ephemeral, first.as_ref(), &rest).await {
                        tracing::warn!(%error, "cannot send a later Discord answer");
                    }
                });
            }
            Handled::Respond { response, responded }
        }
    }
}

/// The messages of finished work, or an apology if it panicked.
fn finished(done: Result<Vec<Rendered>, tokio::task::JoinError>) -> Vec<Rendered> {
    match done {
        Ok(messages) if !messages.is_empty() => messages,
        Ok(_) => vec![sorry()],
        Err(panicked) => {
            tracing::error!(%panicked, "a Discord command panicked");
            vec![sorry()]
        }
    }
}

fn sorry() -> Rendered {
    Rendered::text("relink could not answer this time; please try again.", true)
}

/// Replaces a deferral with `first` (when the answer was deferred), then sends `rest` as
/// follow-ups. A private first message after a public deferral (an error) becomes a private
/// follow-up and the public "thinking…" message is removed.
async fn follow_up(
    services: &Services,
    token: &str,
    deferred_ephemeral: bool,
    first: Option<&Rendered>,
    rest: &[Rendered],
) -> Result<(), RestError> {
    let application_id = ApplicationId::new(services.application_id().await?);
    let mut followups: Vec<&Rendered> = Vec::new();
    if let Some(first) = first {
        if first.ephemeral && !deferred_ephemeral {
            let original = Route::WebhookOriginalInteractionResponse { application_id, token };
            services.rest.call_ignoring_body(LightMethod::Delete, original, None::<&()>).await?;
            followups.push(first);
        } else {
            edit_original(services, application_id, token, first).await?;
        }
    }
    followups.extend(rest);
    for message in followups {
        let route = Route::WebhookFollowupMessages { application_id, token };
        services.rest.call_ignoring_body(LightMethod::Post, route, Some(&message.followup())).await?;
    }
    Ok(())
}

/// Replaces the deferral; the deferral may not be registered at Discord yet, so a 404 is tried
/// once more after a moment.
async fn edit_original(
    services: &Services,
    application_id: ApplicationId,
    token: &str,
    rendered: &Rendered,
) -> Result<(), RestError> {
    let body = rendered.edit();
    for attempt in 0..2 {
        let original = Route::WebhookOriginalInteractionResponse { application_id, token };
        match services.rest.call_ignoring_body(LightMethod::Patch, original, Some(&body)).await {
            Err(RestError::Refused { status: 404, .. }) if attempt == 0 => {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            other => return other,
        }
    }
    Ok(())
}
