//! The string-format validators of `skyindex::syntax`, against both copies of the public interop
//! vectors and against hostile or edge-case inputs that need no fixtures.

use std::fs;
use std::path::Path;

use chrono::{TimeZone, Utc};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use skyindex::syntax::{self, SyntaxError};

type Validator = fn(&str) -> Result<(), SyntaxError>;

/// The older copy, from bluesky-social/atproto-interop-tests.
const OLD: &str = "atproto-interop-tests/syntax";
/// The newer copy, from bluesky-social/atproto; it wins where the two disagree.
const NEW: &str = "atproto/interop-test-files/syntax";

/// Lines of the older copy that the newer one contradicts, as (file, line). Each must still be
/// present in its file, so the list can't silently outlive the vectors.
const OLD_CONTRADICTED: &[(&str, &str)] = &[
    // Well-formed BCP 47 in the newer copy (moved to language_parse_invalid.txt).
    ("language_syntax_invalid.txt", "jaja"),
    ("language_syntax_invalid.txt", "JA"),
    // The newer copy makes this a syntax error (normalises to before year 0000), so it no longer
    // passes `datetime`; `parse_datetime` still rejects it, as the old file wants.
    ("datetime_parse_invalid.txt", "0000-01-01T00:00:00+01:00"),
];

/// The vectors of one file: every line but blank ones and `#` comments. Lines are not trimmed,
/// because leading and trailing spaces are what some invalid vectors test.
fn vectors(path: &Path) -> Vec<(usize, String)> {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let lines: Vec<(usize, String)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(i, l)| (i + 1, l.to_owned()))
        .collect();
    assert!(!lines.is_empty(), "{} has no vectors", path.display());
    lines
}

/// Long vectors (8 KiB AT-URIs) would drown the report; their head and length identify them.
fn show(line: &str) -> String {
    if line.chars().count() > 80 {
        let head: String = line.chars().take(60).collect();
        format!("{head:?}… ({} bytes)", line.len())
    } else {
        format!("{line:?}")
    }
}

/// Collects every mismatch of a whole test so one run reports them all.
struct Report {
    failures: Vec<String>,
    checked: usize,
    skipped: Vec<(&'static str, &'static str)>,
}

impl Report {
    fn new() -> Self {
        Report {
            failures: Vec::new(),
            checked: 0,
            skipped: Vec::new(),
        }
    }

    /// Checks each vector of `folder/file` with `check`, which returns a complaint on mismatch.
    fn file(
        &mut self,
        root: &Path,
        folder: &str,
        file: &str,
        mut check: impl FnMut(&str) -> Option<String>,
    ) {
        for (n, line) in vectors(&root.join(folder).join(file)) {
            if folder == OLD {
                if let Some(&skip) = OLD_CONTRADICTED
                    .iter()
                    .find(|&&(f, l)| f == file && l == line)
                {
                    self.skipped.push(skip);
                    continue;
                }
            }
            self.checked += 1;
            if let Some(why) = check(&line) {
                self.failures
                    .push(format!("{folder}/{file}:{n}: {} {why}", show(&line)));
            }
        }
    }

    /// Valid lines must be accepted and invalid ones rejected, in each folder given.
    fn syntax(&mut self, root: &Path, folders: &[&str], stem: &str, validate: Validator) {
        for &folder in folders {
            self.file(root, folder, &format!("{stem}_syntax_valid.txt"), |l| {
                validate(l)
                    .err()
                    .map(|e| format!("should be valid, got: {e}"))
            });
            self.file(root, folder, &format!("{stem}_syntax_invalid.txt"), |l| {
                validate(l)
                    .ok()
                    .map(|()| "should be invalid, was accepted".to_owned())
            });
        }
    }

    /// `expected_skips` names the entries of `OLD_CONTRADICTED` this test should have met.
    fn finish(self, expected_skips: usize) {
        assert!(
            self.failures.is_empty(),
            "{} of {} vectors failed:\n{}",
            self.failures.len(),
            self.checked,
            self.failures.join("\n")
        );
        assert_eq!(
            self.skipped.len(),
            expected_skips,
            "contradicted vectors skipped: {:?}",
            self.skipped
        );
    }
}

fn syntax_both(stem: &str, validate: Validator) {
    let Some(root) = common_root() else { return };
    let mut r = Report::new();
    r.syntax(&root, &[OLD, NEW], stem, validate);
    r.finish(0);
}

fn common_root() -> Option<std::path::PathBuf> {
    crate::common::shared_fixtures()
}

#[test]
fn did_vectors() {
    syntax_both("did", syntax::did);
}

#[test]
fn handle_vectors() {
    syntax_both("handle", syntax::handle);
}

#[test]
fn nsid_vectors() {
    syntax_both("nsid", syntax::nsid);
}

#[test]
fn at_uri_vectors() {
    syntax_both("aturi", syntax::at_uri);
}

#[test]
fn record_key_vectors() {
    syntax_both("recordkey", syntax::record_key);
}

#[test]
fn tid_vectors() {
    syntax_both("tid", syntax::tid);
}

#[test]
fn at_identifier_vectors() {
    syntax_both("atidentifier", syntax::at_identifier);
}

#[test]
fn cid_vectors() {
    let Some(root) = common_root() else { return };
    let mut r = Report::new();
    // The newer copy has no CID lists.
    r.syntax(&root, &[OLD], "cid", syntax::cid);
    r.finish(0);
}

#[test]
fn language_vectors() {
    let Some(root) = common_root() else { return };
    let mut r = Report::new();
    r.syntax(&root, &[OLD, NEW], "language", syntax::language);
    // These break RFC 5646 validity rules (repeated variants or singletons; in the newer copy,
    // case and 4-letter primary subtags) but are well-formed, and `language` checks
    // well-formedness only, as the files' own comments say.
    for folder in [OLD, NEW] {
        r.file(&root, folder, "language_parse_invalid.txt", |l| {
            syntax::language(l)
                .err()
                .map(|e| format!("is well-formed, got: {e}"))
        });
    }
    r.finish(2);
}

#[test]
fn datetime_vectors() {
    let Some(root) = common_root() else { return };
    let mut r = Report::new();
    r.syntax(&root, &[OLD, NEW], "datetime", syntax::datetime);
    for folder in [OLD, NEW] {
        // Every syntactically valid vector also names a real instant.
        r.file(&root, folder, "datetime_syntax_valid.txt", |l| {
            syntax::parse_datetime(l)
                .err()
                .map(|e| format!("should parse, got: {e}"))
        });
        // "superficial syntax parses ok, but are not valid datetimes" (the file's header).
        r.file(&root, folder, "datetime_parse_invalid.txt", |l| {
            syntax::datetime(l)
                .err()
                .map(|e| format!("syntax should pass, got: {e}"))
        });
    }
    r.finish(1);

    // Rejection by parse_datetime holds for every parse_invalid line of both copies, including
    // the one the newer copy moved to syntax_invalid, so nothing is skipped here.
    let mut r = Report::new();
    for folder in [OLD, NEW] {
        for file in ["datetime_parse_invalid.txt", "datetime_syntax_invalid.txt"] {
            for (n, line) in vectors(&root.join(folder).join(file)) {
                r.checked += 1;
                if let Ok(t) = syntax::parse_datetime(&line) {
                    r.failures.push(format!(
                        "{folder}/{file}:{n}: {} parsed as {t}",
                        show(&line)
                    ));
                }
            }
        }
    }
    r.finish(0);
}

/// Every validator, with a value it accepts.
const ALL: &[(&str, Validator, &str)] = &[
    ("did", syntax::did, "did:plc:ewvi7nxzyoun6zhxrhs64oiz"),
    ("handle", syntax::handle, "alice.bsky.social"),
    ("nsid", syntax::nsid, "app.bsky.feed.post"),
    (
        "at_uri",
        syntax::at_uri,
        "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3jwdwj2ctlk26",
    ),
    ("record_key", syntax::record_key, "3jwdwj2ctlk26"),
    ("tid", syntax::tid, "3jwdwj2ctlk26"),
    (
        "cid",
        syntax::cid,
        "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm",
    ),
    ("datetime", syntax::datetime, "2024-11-27T03:40:00.123Z"),
    ("language", syntax::language, "pt-BR"),
    (
        "at_identifier",
        syntax::at_identifier,
        "did:web:example.com",
    ),
];

#[test]
fn examples_are_accepted() {
    for (name, validate, ok) in ALL {
        assert_eq!(validate(ok), Ok(()), "{name}({ok:?})");
    }
}

#[test]
fn empty_string_is_rejected_everywhere() {
    for (name, validate, _) in ALL {
        assert!(validate("").is_err(), "{name} accepted \"\"");
    }
    assert!(syntax::parse_datetime("").is_err());
}

#[test]
fn megabyte_strings_are_rejected_quickly() {
    let mb = 1 << 20;
    let start = std::time::Instant::now();
    for (name, validate, ok) in ALL {
        // A valid value padded to a megabyte, and a megabyte of one plausible character.
        let padded = format!("{ok}{}", "a".repeat(mb));
        let tail = if *name == "language" {
            "-aaaaaaaa"
        } else {
            "a"
        };
        let _ = validate(&padded);
        let _ = validate(&tail.repeat(mb / tail.len()));
        if *name != "language" {
            // Everything but language tags has a length limit far below a megabyte.
            assert!(validate(&padded).is_err(), "{name} accepted 1 MB");
        }
    }
    // BCP 47 sets no length limit, so a megabyte of variants is well-formed (repeating them
    // breaks a validity rule, not the grammar); what matters is that it is one linear pass.
    let long_tag = format!("en{}", "-abcdefgh".repeat(mb / 9));
    assert_eq!(syntax::language(&long_tag), Ok(()));
    assert!(start.elapsed().as_secs() < 10, "took {:?}", start.elapsed());
}

#[test]
fn multibyte_characters_are_rejected_without_panicking() {
    // Inserting a multi-byte character anywhere makes every format invalid (all are ASCII), and
    // byte-oriented code must not slice inside it.
    for (name, validate, ok) in ALL {
        for ch in ['é', '–', '💩', '\u{0}'] {
            for i in (0..=ok.len()).filter(|&i| ok.is_char_boundary(i)) {
                let s = format!("{}{ch}{}", &ok[..i], &ok[i..]);
                assert!(validate(&s).is_err(), "{name} accepted {s:?}");
            }
        }
    }
    assert!(syntax::parse_datetime("1985-04-12T23:20:50.12é").is_err());
    assert!(syntax::parse_datetime("1985\u{2013}04-12T23:20:50Z").is_err());
}

#[test]
fn random_inputs_never_panic() {
    // Bytes that matter to some format, so the scans get deep before failing.
    let alphabet: Vec<char> = "at:/did.plc-_~%#?+=Z T0123456789xXé".chars().collect();
    let mut rng = SmallRng::seed_from_u64(0x5eed);
    for _ in 0..20_000 {
        let len = rng.random_range(0..40);
        let s: String = (0..len)
            .map(|_| alphabet[rng.random_range(0..alphabet.len())])
            .collect();
        for (_, validate, _) in ALL {
            let _ = validate(&s);
        }
        let _ = syntax::parse_datetime(&s);
    }
}

#[test]
fn length_limits_are_inclusive() {
    let did = |n: usize| format!("did:plc:{}", "a".repeat(n - 8));
    assert_eq!(syntax::did(&did(syntax::DID_MAX_LEN)), Ok(()));
    assert!(syntax::did(&did(syntax::DID_MAX_LEN + 1)).is_err());

    // Labels of 63 plus dots, ending in a letter-led TLD.
    let handle = |n: usize| {
        let mut s = String::new();
        while s.len() + 64 < n {
            s.push_str(&"a".repeat(63));
            s.push('.');
        }
        s.push_str(&"b".repeat(n - s.len()));
        s
    };
    assert_eq!(syntax::handle(&handle(syntax::HANDLE_MAX_LEN)), Ok(()));
    assert!(syntax::handle(&handle(syntax::HANDLE_MAX_LEN + 1)).is_err());

    let nsid = |n: usize| format!("{}.{}", handle(n - 64), "N".repeat(63));
    assert_eq!(syntax::nsid(&nsid(syntax::NSID_MAX_LEN)), Ok(()));
    assert!(syntax::nsid(&nsid(syntax::NSID_MAX_LEN + 1)).is_err());

    let rkey = |n: usize| "k".repeat(n);
    assert_eq!(
        syntax::record_key(&rkey(syntax::RECORD_KEY_MAX_LEN)),
        Ok(())
    );
    assert!(syntax::record_key(&rkey(syntax::RECORD_KEY_MAX_LEN + 1)).is_err());

    // An AT-URI can't reach 8 KiB with valid parts, so the limit is only ever a rejection.
    let uri = format!("at://did:plc:{}", "a".repeat(syntax::AT_URI_MAX_LEN - 13));
    assert_eq!(uri.len(), syntax::AT_URI_MAX_LEN);
    assert!(syntax::at_uri(&uri).unwrap_err().kind == "at-uri authority");
    let uri = format!("{uri}a");
    assert_eq!(syntax::at_uri(&uri).unwrap_err().kind, "at-uri");

    assert_eq!(syntax::tid(&"2".repeat(syntax::TID_LEN)), Ok(()));
    assert!(syntax::tid(&"2".repeat(syntax::TID_LEN + 1)).is_err());
}

#[test]
fn errors_name_the_format_and_not_the_input() {
    let secret = "did:METHOD:hunter2";
    let e = syntax::did(secret).unwrap_err();
    assert_eq!(e.kind, "did");
    let shown = e.to_string();
    assert!(shown.starts_with("invalid did: "), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
    let _: &dyn std::error::Error = &e;

    // Parts of an AT-URI report under their own kind, with their validator's reason.
    let e = syntax::at_uri("at://did:plc:abc/com.example.fooBar.2/self").unwrap_err();
    assert_eq!(e.kind, "at-uri collection");
    assert_eq!(
        e.reason,
        syntax::nsid("com.example.fooBar.2").unwrap_err().reason
    );
    assert_eq!(
        syntax::at_uri("at://bob.test/a.b.c/..").unwrap_err().kind,
        "at-uri record key"
    );
    assert_eq!(
        syntax::at_uri("at://bob/a.b.c").unwrap_err().kind,
        "at-uri authority"
    );
}

#[test]
fn parse_datetime_gives_the_utc_instant() {
    let at = |s: &str| syntax::parse_datetime(s).unwrap();
    assert_eq!(
        at("1985-04-12T23:20:50.123-07:00"),
        Utc.with_ymd_and_hms(1985, 4, 13, 6, 20, 50).unwrap() + chrono::Duration::milliseconds(123)
    );
    // Digits past nanoseconds are dropped, not rounded.
    assert_eq!(
        at("1985-04-12T23:20:50.1234567899999Z"),
        Utc.with_ymd_and_hms(1985, 4, 12, 23, 20, 50).unwrap()
            + chrono::Duration::nanoseconds(123_456_789)
    );
    assert_eq!(at("0000-01-01T00:00:00Z").timestamp(), -62_167_219_200);
    assert_eq!(at("0000-01-01T01:00:00+01:00").timestamp(), -62_167_219_200);
    assert_eq!(
        at("2024-02-29T12:00:00+00:00"),
        Utc.with_ymd_and_hms(2024, 2, 29, 12, 0, 0).unwrap()
    );

    for bad in [
        "2023-02-29T12:00:00Z",      // not a leap year
        "2024-04-31T12:00:00Z",      // April has 30 days
        "2016-12-31T23:59:60Z",      // leap second
        "2024-01-01T00:00:00+24:00", // offset hour
        "2024-01-01T00:00:00+01:60", // offset minute
        "9999-12-31T23:00:00-01:00", // past year 9999 in UTC
        "0000-01-01T00:59:59.9+01:00",
    ] {
        assert!(syntax::parse_datetime(bad).is_err(), "{bad} parsed");
    }
    // The two edges of the year range are syntax errors, the rest parse errors only.
    assert!(syntax::datetime("9999-12-31T23:00:00-01:00").is_err());
    assert!(syntax::datetime("0000-01-01T00:59:59.9+01:00").is_err());
    assert_eq!(syntax::datetime("2023-02-29T12:00:00Z"), Ok(()));
}

#[test]
fn focused_cases() {
    // TID: the first character carries the top bit.
    assert_eq!(syntax::tid("j222222222222"), Ok(()));
    assert!(syntax::tid("k222222222222").is_err());
    // CIDv0 is refused whatever follows "Qm".
    assert!(syntax::cid("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG").is_err());
    // Language: private use only, an extension, a lone singleton.
    assert_eq!(syntax::language("x-whatever"), Ok(()));
    assert_eq!(syntax::language("en-a-bbb-x-a-ccc"), Ok(()));
    assert!(syntax::language("en-a").is_err());
    assert!(syntax::language("en-x").is_err());
    assert!(syntax::language("zh-abc-def-ghi-jkl").is_err()); // four extlangs
                                                              // at-identifier takes either branch.
    assert_eq!(syntax::at_identifier("bob.test"), Ok(()));
    assert_eq!(
        syntax::at_identifier("did:PLC:abc").unwrap_err().kind,
        "did"
    );
    assert_eq!(
        syntax::at_identifier("did.plc.123").unwrap_err().kind,
        "handle"
    );
    // DID: percent-encoding is not decoded, only a trailing '%' refused.
    assert_eq!(syntax::did("did:web:localhost%3A1234"), Ok(()));
    assert!(syntax::did("did:web:localhost%").is_err());
}
