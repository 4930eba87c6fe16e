//! The one HTTP operation identity needs, as a trait: GET a URL, get a status and a capped body.
//!
//! A trait so resolution and handle logic can be driven by tests, and so the real client
//! (`http_ureq`) has one narrow contract to be tested against: it owns redirects, timeouts,
//! TLS, the size cap and the SSRF guard, and callers only see the final answer.

use super::error::HttpError;

/// The final response after redirects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    /// The body of a 2xx response, at most the cap asked for; of a 4xx, its first 4 KiB (an
    /// XRPC error's name); empty for other statuses.
    pub body: Vec<u8>,
    /// How long the server asks us to wait before asking again (`Retry-After`, or
    /// `RateLimit-Reset` as the reference PDS sends it with a 429), at most an hour.
    pub retry_after: Option<std::time::Duration>,
}

/// A blocking HTTP GET.
pub trait HttpGet: Send + Sync {
    /// GETs `url` with the given `Accept` header, following a bounded number of redirects and
    /// reading at most `max_body` bytes of a 2xx body (more is [`HttpError::TooLarge`]).
    fn get(&self, url: &str, accept: &str, max_body: usize) -> Result<HttpResponse, HttpError>;

    /// [`HttpGet::get`], with a 2xx body written to `sink` as it arrives instead of kept in the
    /// response (whose `body` is then empty), so a body far larger than memory can be read.
    /// The default keeps it in memory first: enough for test doubles, not for the real client.
    fn get_into(
        &self,
        url: &str,
        accept: &str,
        max_body: usize,
        sink: &mut dyn std::io::Write,
    ) -> Result<HttpResponse, HttpError> {
        let mut response = self.get(url, accept, max_body)?;
        if (200..300).contains(&response.status) {
            sink.write_all(&response.body)
                .map_err(|e| HttpError::Spool {
                    host: String::new(),
                    message: e.to_string(),
                })?;
            response.body = Vec::new();
        }
        Ok(response)
    }
}
