//! Secrets out of what we print: URLs with their passwords replaced, for logs and errors.

use url::Url;

/// A URL with its passwords replaced: the user-info one and libpq's `?password=` and
/// `?sslpassword=` parameters.
pub fn redact(url: &str) -> String {
    let Ok(mut u) = Url::parse(url) else {
        return "<unparseable URL>".to_owned();
    };
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    let secret =
        |k: &str| k.eq_ignore_ascii_case("password") || k.eq_ignore_ascii_case("sslpassword");
    if u.query_pairs().any(|(k, _)| secret(&k)) {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let v = if secret(&k) {
                    "***".to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        let r = redact("postgres://bob:s3cret@db.example/index");
        assert!(!r.contains("s3cret"), "{r}");
        assert!(r.contains("bob"));
        let r = redact("postgres://db.example/index?user=bob&password=s3cret&sslmode=require");
        assert!(
            !r.contains("s3cret") && r.contains("sslmode=require"),
            "{r}"
        );
        let r = redact("postgres://db.example/index?sslpassword=s3cret");
        assert!(!r.contains("s3cret"), "{r}");
    }
}
