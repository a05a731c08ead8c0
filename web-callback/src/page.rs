//! Server-rendered HTML pages: one layout, escaping, and the security headers every page carries.
//!
//! No script, no third-party asset: one stylesheet from the same origin. The Content-Security-
//! Policy allows exactly that; `form-action` also names the network the reconnect button's
//! redirect goes to (browsers apply `form-action` to the redirects that follow a form post).
//! `Referrer-Policy: no-referrer` keeps link tokens and authorization codes out of `Referer`.

use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::text::Text;

/// Escapes text for HTML content and double- or single-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A text with its `{name}` placeholders filled in one pass; the text and the values are escaped.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let template = escape(template);
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template.as_str();
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let value = after.find('}').and_then(|end| {
            let name = &after[..end];
            values.iter().find(|(n, _)| *n == name).map(|(_, value)| (*value, end))
        });
        match value {
            Some((value, end)) => {
                out.push_str(&escape(value));
                rest = &after[end + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// How a page looks: neutral, success or failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Neutral,
    Ok,
    Bad,
}

/// A rendered page and how to send it.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub lang: &'static str,
    /// Already escaped.
    pub title: String,
    /// Already escaped HTML.
    pub body: String,
    pub tone: Tone,
    /// The origin a form on this page may end up at (the network's authorization server).
    pub form_target: Option<String>,
    /// Where the stylesheet lives (the public URL's path prefix + `/assets/relink.css`).
    pub stylesheet: String,
    pub extra_headers: HeaderMap,
}

impl Page {
    /// An outcome page: a title, what happened, what to do next.
    pub fn outcome(
        status: StatusCode,
        text: &Text,
        lines: [&str; 3],
        values: &[(&str, &str)],
        tone: Tone,
        stylesheet: &str,
    ) -> Self {
        let [title, what, next] = lines;
        let body = format!("<p>{}</p>\n<p class=\"next\">{}</p>", fill(what, values), fill(next, values));
        Self {
            status,
            lang: text.lang,
            title: fill(title, values),
            body,
            tone,
            form_target: None,
            stylesheet: stylesheet.to_owned(),
            extra_headers: HeaderMap::new(),
        }
    }

    fn html(&self) -> String {
        let class = match self.tone {
            Tone::Neutral => "",
            Tone::Ok => " class=\"ok\"",
            Tone::Bad => " class=\"bad\"",
        };
        format!(
            "<!doctype html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"referrer\" content=\"no-referrer\">\n<title>{title} · relink</title>\n\
             <link rel=\"stylesheet\" href=\"{css}\">\n</head>\n<body{class}>\n<main>\n<h1>{title}</h1>\n{body}\n</main>\n\
             <footer>relink</footer>\n</body>\n</html>\n",
            lang = self.lang,
            title = self.title,
            css = escape(&self.stylesheet),
            body = self.body,
        )
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let form_action = match &self.form_target {
            Some(origin) => format!("'self' {origin}"),
            None => "'self'".to_owned(),
        };
        let csp = format!(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action {form_action}; \
             frame-ancestors 'none'; base-uri 'none'"
        );
        let mut response = (self.status, self.html()).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        if let Ok(value) = HeaderValue::from_str(&csp) {
            headers.insert(CONTENT_SECURITY_POLICY, value);
        }
        for (name, value) in security_headers() {
            headers.insert(name, value);
        }
        headers.extend(self.extra_headers);
        response
    }
}

/// The headers every page and API answer carries besides its CSP.
pub fn security_headers() -> [(HeaderName, HeaderValue); 4] {
    [
        (REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (HeaderName::from_static("x-content-type-options"), HeaderValue::from_static("nosniff")),
        (HeaderName::from_static("x-frame-options"), HeaderValue::from_static("DENY")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_content_and_attributes() {
        assert_eq!(escape(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert_eq!(escape("Acme 日本"), "Acme 日本");
    }

    #[test]
    fn placeholders_are_filled_with_escaped_values() {
        let filled = fill("Reconnect {channel} on {network}", &[("channel", "<script>"), ("network", "X & co")]);
        assert_eq!(filled, "Reconnect &lt;script&gt; on X &amp; co");
        // A value that looks like a placeholder is not filled again.
        assert_eq!(fill("{channel}", &[("channel", "{network}"), ("network", "X")]), "{network}");
    }
}
