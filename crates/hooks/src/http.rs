//! One HTTP request for the hooks that talk to a server (Slack, the Pushgateway), through
//! `ureq` on a blocking thread, with errors that never contain the URL: a webhook URL is a
//! credential.

use std::time::Duration;

/// A URL that is never shown: `Debug` and `Display` print only its scheme and host.
#[derive(Clone)]
pub struct SecretUrl(String);

impl SecretUrl {
    /// Wraps `url`; refuses anything but `http://` and `https://` URLs with a host.
    pub fn new(url: &str) -> Option<Self> {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))?;
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        if host.is_empty() || url.chars().any(char::is_whitespace) {
            return None;
        }
        Some(Self(url.to_owned()))
    }

    /// The URL itself, for the request only.
    fn expose(&self) -> &str {
        &self.0
    }

    /// This URL with `path` added after a `/`.
    pub fn join(&self, path: &str) -> Self {
        Self(format!("{}/{path}", self.0.trim_end_matches('/')))
    }

    /// `https://host/…`, safe to show.
    pub fn redacted(&self) -> String {
        let (scheme, rest) = self.0.split_once("://").unwrap_or(("", &self.0));
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit('@').next().unwrap_or(host);
        format!("{scheme}://{host}/…")
    }
}

impl std::fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl std::fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// What a request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx answer.
    Done,
    /// 429: try again after this long (from `Retry-After`, when it said).
    TooMany(Option<Duration>),
    /// A 5xx answer, a timeout or a connection failure: worth another try.
    Transient(String),
    /// Anything else (a 4xx but 429): trying again will not help.
    Permanent(String),
}

/// Sends `body` to `url` with `method`, waiting at most `timeout`, on a blocking thread.
pub async fn send(
    url: &SecretUrl,
    method: &'static str,
    content_type: &'static str,
    body: String,
    timeout: Duration,
) -> Outcome {
    let url = url.clone();
    let task = tokio::task::spawn_blocking(move || {
        let agent = ureq::AgentBuilder::new()
            .timeout(timeout)
            .redirects(0)
            .build();
        let answer = agent
            .request(method, url.expose())
            .set("Content-Type", content_type)
            .send_string(&body);
        classify(answer, &url, timeout)
    });
    match task.await {
        Ok(outcome) => outcome,
        Err(error) => Outcome::Transient(format!("the request's thread failed: {error}")),
    }
}

fn classify(
    answer: Result<ureq::Response, ureq::Error>,
    url: &SecretUrl,
    timeout: Duration,
) -> Outcome {
    match answer {
        Ok(response) if (200..300).contains(&response.status()) => Outcome::Done,
        Ok(response) => Outcome::Permanent(format!("HTTP {}", response.status())),
        Err(ureq::Error::Status(429, response)) => Outcome::TooMany(
            response
                .header("Retry-After")
                .and_then(|s| s.trim().parse::<u64>().ok())
                .map(Duration::from_secs),
        ),
        Err(ureq::Error::Status(code, _)) if code >= 500 => {
            Outcome::Transient(format!("HTTP {code}"))
        }
        Err(ureq::Error::Status(code, _)) => Outcome::Permanent(format!("HTTP {code}")),
        Err(ureq::Error::Transport(transport)) => {
            let detail = transport
                .message()
                .map(|m| m.replace(url.expose(), &url.redacted()))
                .unwrap_or_default();
            let io = std::error::Error::source(&transport)
                .and_then(|source| source.downcast_ref::<std::io::Error>())
                .map(std::io::Error::kind);
            let what = match (transport.kind(), io) {
                (ureq::ErrorKind::ConnectionFailed, _) => "connection failed".to_owned(),
                (ureq::ErrorKind::Dns, _) => "host not found".to_owned(),
                (_, Some(std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock)) => {
                    format!("no answer within {timeout:?}")
                }
                (_, Some(kind)) => format!("network error: {kind}"),
                (kind, None) => format!("{kind}"),
            };
            let detail = if detail.is_empty() || what.contains(&detail) {
                String::new()
            } else {
                format!(" ({detail})")
            };
            Outcome::Transient(format!("{what}{detail}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_urls_show_only_their_host() {
        let url = SecretUrl::new("https://hooks.example.com/services/T0/B0/XXXX")
            .unwrap_or_else(|| panic!("valid"));
        assert_eq!(url.to_string(), "https://hooks.example.com/…");
        assert_eq!(format!("{url:?}"), "https://hooks.example.com/…");
        let with_user =
            SecretUrl::new("http://user:pw@gw:9091/x").unwrap_or_else(|| panic!("valid"));
        assert_eq!(with_user.redacted(), "http://gw:9091/…");
        assert!(SecretUrl::new("ftp://x").is_none());
        assert!(SecretUrl::new("https://").is_none());
        assert!(SecretUrl::new("${SLACK_WEBHOOK_URL}").is_none());
    }
}
