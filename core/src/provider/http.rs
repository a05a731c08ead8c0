//! One request to a network and what came back: an [`Answer`] (status, headers, body) or a
//! [`Failure`] (no answer at all). Deciding what either means is `classify`'s job; this file makes
//! sure nothing secret leaves through them.
//!
//! Secrets travel in URLs (Telegram's `bot<TOKEN>/getChat` path, Graph's `access_token=` query)
//! and reqwest errors print the URL they failed on, so every transport error is stripped of its
//! URL before it becomes text. An answer's `Debug` shows the body's length, never the body: a token
//! endpoint's answer is a token.

use std::error::Error as _;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use url::Url;

use super::Verdict;
use super::classify::{self, Context, Family};

/// A network's answer, whatever its status.
#[derive(Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn new(status: u16, headers: HeaderMap, body: impl Into<Bytes>) -> Self {
        Self { status, headers, body: body.into() }
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as JSON, or `None` when it is not JSON (an HTML error page, an empty body).
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// A header's value, when it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// The standard `Retry-After` header, in seconds (the HTTP-date form is not used by the
    /// networks relink talks to), at most a day ([`crate::time::network_wait`]).
    pub fn retry_after(&self) -> Option<Duration> {
        let text = self.headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // More digits than a u64 holds is still a (very long) number of seconds.
        Some(text.parse::<u64>().map_or(crate::time::MAX_NETWORK_WAIT, crate::time::network_wait_secs))
    }

    /// X's `x-rate-limit-reset`: the epoch second the window reopens, as a wait from `now`
    /// (zero when it has already passed).
    pub fn x_rate_limit_reset(&self, now: DateTime<Utc>) -> Option<Duration> {
        let reset: i64 = self.header("x-rate-limit-reset")?.trim().parse().ok()?;
        Some(crate::time::network_wait_secs(u64::try_from(reset.saturating_sub(now.timestamp())).unwrap_or(0)))
    }

    /// The text (or number, as text) at a JSON pointer of the body: `/data/username`.
    pub fn str_at(&self, pointer: &str) -> Option<String> {
        match self.json()?.pointer(pointer)? {
            serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// Telegram's wait: `parameters.retry_after` (seconds) in the JSON body.
    pub fn telegram_retry_after(&self) -> Option<Duration> {
        self.json()?.pointer("/parameters/retry_after")?.as_u64().map(crate::time::network_wait_secs)
    }
}

impl fmt::Debug for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Answer")
            .field("status", &self.status)
            .field("content_type", &self.header("content-type"))
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// No answer came back. The text never holds a URL (see the module header).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// Connected, but no complete answer in time: the network may have acted on the request.
    #[error("no answer in time ({0})")]
    Timeout(String),
    /// No connection was made (refused, DNS, TLS handshake): the network never saw the request.
    #[error("could not connect ({0})")]
    Connect(String),
    /// Anything else, such as a connection dropped mid-answer: the network may have seen it.
    #[error("transport error ({0})")]
    Other(String),
}

impl Failure {
    /// Whether the network may have received (and acted on) the request. A refresh that may have
    /// reached it may have consumed a single-use refresh token, so it is never retried blindly.
    pub fn may_have_reached_server(&self) -> bool {
        !matches!(self, Failure::Connect(_))
    }

    pub(super) fn from_reqwest(err: reqwest::Error) -> Self {
        // A connect timeout is both `is_connect` and `is_timeout`: nothing was sent, so connect wins.
        let kind = if err.is_connect() {
            Failure::Connect
        } else if err.is_timeout() {
            Failure::Timeout
        } else {
            Failure::Other
        };
        kind(describe(err.without_url()))
    }
}

/// The error and its causes in one line, with anything URL-shaped removed in case a cause quotes
/// one (reqwest's own URL is already gone).
fn describe(err: reqwest::Error) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    strip_urls(&parts.join(": "))
}

/// Replaces every `scheme://…` run in `text` with `[url]`.
pub(super) fn strip_urls(text: &str) -> String {
    text.split(' ').map(|word| if word.contains("://") { "[url]" } else { word }).collect::<Vec<_>>().join(" ")
}

/// The most relink reads of one answer from a network or a chat platform. Every answer it
/// expects (a probe's, a token endpoint's, a sent message's) is a few kilobytes; a larger one
/// comes from a broken or hostile server and is refused before it fills the memory.
pub const MAX_ANSWER_BYTES: usize = 1 << 20;

/// Why an answer's body was not read.
#[derive(Debug)]
pub enum BodyError {
    /// The body announced or streamed more than the limit; the rest was never read.
    TooLarge(usize),
    /// The connection failed while the body was read.
    Transport(reqwest::Error),
}

impl BodyError {
    /// The reason in words, without the URL (it may hold a secret, see the module header).
    pub fn describe(self) -> String {
        match self {
            BodyError::TooLarge(limit) => format!("the answer is larger than {} KiB", limit / 1024),
            BodyError::Transport(error) => describe(error.without_url()),
        }
    }
}

/// Reads a response's body, at most `limit` bytes: a body announced larger (`Content-Length`)
/// is refused before a byte of it is read, and one streamed larger as soon as it passes the limit.
pub async fn read_body(mut response: reqwest::Response, limit: usize) -> Result<Bytes, BodyError> {
    let limit_bytes = u64::try_from(limit).unwrap_or(u64::MAX);
    if response.content_length().is_some_and(|announced| announced > limit_bytes) {
        return Err(BodyError::TooLarge(limit));
    }
    // Nearly every answer arrives in one chunk, kept as it came; a second one starts a copy.
    let mut first = Bytes::new();
    let mut rest: Option<bytes::BytesMut> = None;
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        let read = rest.as_ref().map_or(first.len(), bytes::BytesMut::len);
        if read.saturating_add(chunk.len()) > limit {
            return Err(BodyError::TooLarge(limit));
        }
        match &mut rest {
            Some(body) => body.extend_from_slice(&chunk),
            None if first.is_empty() => first = chunk,
            None => {
                let mut body = bytes::BytesMut::with_capacity(first.len().saturating_add(chunk.len()));
                body.extend_from_slice(&first);
                body.extend_from_slice(&chunk);
                rest = Some(body);
            }
        }
    }
    Ok(rest.map_or(first, bytes::BytesMut::freeze))
}

/// Sends a request and reads the whole answer, up to [`MAX_ANSWER_BYTES`]. Any status is an
/// [`Answer`]; a missing answer, or one too large to read, is a [`Failure`] (the network saw the
/// request: a refresh whose answer was too large may have spent its refresh token).
pub async fn send(request: reqwest::RequestBuilder) -> Result<Answer, Failure> {
    let mut response = request.send().await.map_err(Failure::from_reqwest)?;
    let status = response.status().as_u16();
    // Taken, not copied: reading the body needs none of them (its announced length is the
    // body's own size hint).
    let headers = std::mem::take(response.headers_mut());
    let body = read_body(response, MAX_ANSWER_BYTES).await.map_err(|error| match error {
        BodyError::Transport(error) => Failure::from_reqwest(error),
        too_large @ BodyError::TooLarge(_) => Failure::Other(too_large.describe()),
    })?;
    Ok(Answer { status, headers, body })
}

/// `base` with path segments appended, each percent-encoded as needed. Joining text instead
/// would misread a Telegram `bot123:ABC` segment as a URL scheme.
pub(super) fn endpoint(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

/// Sends a probe and reads it with a family's rules; the answer comes back too, for the fields
/// a verdict does not carry (a display name). Every detail is redacted of `secrets`.
pub(super) async fn probe(
    request: reqwest::RequestBuilder,
    family: Family,
    cx: &Context,
    secrets: &[&str],
) -> (Verdict, Option<Answer>) {
    match send(request).await {
        Ok(answer) => (classify::redact(classify::answer(family, cx, &answer), secrets), Some(answer)),
        Err(failure) => (classify::redact(classify::failure(&failure), secrets), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(headers: &[(&'static str, &str)], body: &str) -> Answer {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, value.parse().unwrap());
        }
        Answer::new(429, map, body.to_owned())
    }

    #[test]
    fn the_three_ways_a_network_asks_for_a_wait_are_read() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let a = answer(&[("retry-after", "30"), ("x-rate-limit-reset", "1700000090")], "");
        assert_eq!(a.retry_after(), Some(Duration::from_secs(30)));
        assert_eq!(a.x_rate_limit_reset(now), Some(Duration::from_secs(90)));
        let past = answer(&[("x-rate-limit-reset", "1699999990")], "");
        assert_eq!(past.x_rate_limit_reset(now), Some(Duration::ZERO));
        let telegram = answer(&[], r#"{"ok":false,"error_code":429,"parameters":{"retry_after":7}}"#);
        assert_eq!(telegram.telegram_retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(answer(&[("retry-after", "soon")], "").retry_after(), None);
    }

    #[test]
    fn a_retry_after_of_a_million_years_is_read_as_a_day() {
        let now = || DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let day = crate::time::MAX_NETWORK_WAIT;
        assert_eq!(answer(&[("retry-after", "100000000000000")], "").retry_after(), Some(day));
        assert_eq!(answer(&[("retry-after", "99999999999999999999999")], "").retry_after(), Some(day));
        assert_eq!(answer(&[("x-rate-limit-reset", "9223372036854775807")], "").x_rate_limit_reset(now()), Some(day));
        assert_eq!(
            answer(&[("x-rate-limit-reset", "-9223372036854775808")], "").x_rate_limit_reset(now()),
            Some(Duration::ZERO)
        );
        let telegram =
            answer(&[], r#"{"ok":false,"error_code":429,"parameters":{"retry_after":18446744073709551615}}"#);
        assert_eq!(telegram.telegram_retry_after(), Some(day));
    }

    #[test]
    fn an_answer_debug_shows_no_body() {
        let a = Answer::new(200, HeaderMap::new(), r#"{"access_token":"tok-secret-1"}"#);
        let debug = format!("{a:?}");
        assert!(!debug.contains("tok-secret-1"), "{debug}");
        assert!(debug.contains("body_bytes"), "{debug}");
    }

    #[tokio::test]
    async fn a_refused_connection_never_reached_the_network_and_never_quotes_the_url() {
        // Port 9 on loopback: nothing listens there in the test environment.
        let url = "http://127.0.0.1:9/bot123456:SECRET-bot-token/getChat?access_token=SECRET-query";
        let failure = send(reqwest::Client::new().get(url)).await.unwrap_err();
        assert!(!failure.may_have_reached_server(), "{failure}");
        let text = failure.to_string();
        assert!(!text.contains("SECRET"), "{text}");
        assert!(Failure::Timeout("x".into()).may_have_reached_server());
        assert!(Failure::Other("x".into()).may_have_reached_server());
    }

    /// A server on loopback that answers every request with `head`, then bytes without end
    /// (as chunks when `chunked`): a broken or hostile network.
    async fn endless(head: &'static str, chunked: bool) -> String {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/debug_token?access_token=SECRET-query", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut request = [0_u8; 4096];
                    let _ = socket.read(&mut request).await;
                    let piece = "x".repeat(64 * 1024);
                    let piece = if chunked { format!("{:x}\r\n{piece}\r\n", piece.len()) } else { piece };
                    let mut sent = socket.write_all(head.as_bytes()).await;
                    while sent.is_ok() {
                        sent = socket.write_all(piece.as_bytes()).await;
                    }
                });
            }
        });
        url
    }

    /// A server on loopback that answers one request with a chunked body of `pieces`, each sent
    /// on its own after a pause, so the client reads them as separate chunks.
    async fn in_pieces(pieces: &'static [&'static str]) -> String {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let mut request = [0_u8; 4096];
            let _ = socket.read(&mut request).await;
            let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
            let _ = socket.write_all(head.as_bytes()).await;
            for piece in pieces {
                tokio::time::sleep(Duration::from_millis(30)).await;
                let _ = socket.write_all(format!("{:x}\r\n{piece}\r\n", piece.len()).as_bytes()).await;
                let _ = socket.flush().await;
            }
            let _ = socket.write_all(b"0\r\n\r\n").await;
        });
        url
    }

    #[tokio::test]
    async fn an_answer_in_one_chunk_or_several_is_read_whole_up_to_the_limit() {
        let client = reqwest::Client::new();
        for (pieces, limit, expected) in [
            (&["{\"ok\":true}"][..], 11, Some("{\"ok\":true}")),
            (&["{\"ok\":true}"][..], 10, None),
            (&["{\"ok\"", ":tr", "ue}"][..], 11, Some("{\"ok\":true}")),
            (&["{\"ok\"", ":tr", "ue}"][..], 10, None),
            (&["{\"ok\"", ":tr", "ue}"][..], 8, None),
        ] {
            let response = client.get(in_pieces(pieces).await).send().await.expect("an answer");
            let body = read_body(response, limit).await;
            match expected {
                Some(text) => assert_eq!(body.expect("read").as_ref(), text.as_bytes(), "{pieces:?}"),
                None => assert!(matches!(body, Err(BodyError::TooLarge(l)) if l == limit), "{pieces:?} within {limit}"),
            }
        }
    }

    #[tokio::test]
    async fn an_answer_without_end_is_refused_at_the_limit_never_read_to_its_end() {
        let cases = [
            (
                "announced",
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n",
                false,
            ),
            (
                "streamed",
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
                true,
            ),
        ];
        for (name, head, chunked) in cases {
            let url = endless(head, chunked).await;
            let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
            let failure = send(client.get(&url)).await.expect_err(name);
            assert_eq!(failure, Failure::Other("the answer is larger than 1024 KiB".into()), "{name}");
            assert!(failure.may_have_reached_server(), "{name}: the network saw the request");
        }
    }

    #[tokio::test]
    async fn an_answer_within_the_limit_is_read_whole() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let body = "y".repeat(MAX_ANSWER_BYTES);
        let answer = body.clone();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0_u8; 4096];
            let _ = socket.read(&mut request).await;
            let head = format!("HTTP/1.1 404 Not Found\r\nContent-Length: {}\r\n\r\n", answer.len());
            socket.write_all(head.as_bytes()).await.unwrap();
            socket.write_all(answer.as_bytes()).await.unwrap();
        });
        let answer = send(reqwest::Client::new().get(&url)).await.expect("an answer");
        assert_eq!((answer.status, answer.body.len()), (404, body.len()));
    }

    #[test]
    fn endpoints_append_encoded_segments_to_the_base() {
        let base = Url::parse("http://sim.test/telegram/api/").unwrap();
        assert_eq!(
            endpoint(&base, &["bot123:ABC", "getChat"]).as_str(),
            "http://sim.test/telegram/api/bot123:ABC/getChat"
        );
        let graph = Url::parse("https://graph.facebook.com/v21.0/").unwrap();
        assert_eq!(endpoint(&graph, &["17841/x y"]).as_str(), "https://graph.facebook.com/v21.0/17841%2Fx%20y");
    }

    #[test]
    fn urls_are_stripped_from_error_text() {
        assert_eq!(strip_urls("error for https://x/bot1:abc/getMe: refused"), "error for [url] refused");
    }
}
