//! DID document parsing: the fixture documents from indigo's test data, then hostile ones.

use skyindex::identity::document::DEFAULT_MAX_DOCUMENT_BYTES;
use skyindex::identity::{DidDocument, DocumentError, SigningKey};

use crate::common::shared_fixtures;

const MAX: usize = DEFAULT_MAX_DOCUMENT_BYTES;

fn parse(did: &str, json: &str) -> Result<DidDocument, DocumentError> {
    DidDocument::parse(did, json.as_bytes(), MAX)
}

#[test]
fn fixture_documents() {
    let Some(dir) = shared_fixtures() else { return };
    let dir = dir.join("indigo/testing/testdata");
    // (file, DID, handle, key type, PDS)
    let cases = [
        (
            "did_plc_z5vnbioquyhivxirw3bbljmu.didDoc.json",
            "did:plc:z5vnbioquyhivxirw3bbljmu",
            "koch5149-c5.test",
            "EcdsaSecp256k1VerificationKey2019",
            "http://localhost:2583",
        ),
        (
            "fakermaker.didDoc.json",
            "did:plc:dpg45vsnuir2vqqqadsn6afg",
            "ebert9014-89.test",
            "EcdsaSecp256r1VerificationKey2019",
            "http://localhost:2583",
        ),
        (
            "greenground.didDoc.json",
            "did:plc:wqgdnqlv2mwiio6pfchwtrff",
            "greenground.bsky.social",
            "EcdsaSecp256k1VerificationKey2019",
            "https://bsky.social",
        ),
        (
            "paul_staging.didDoc.json",
            "did:plc:cmpvykrzb2l22kj4ojlv3ox4",
            "paul.staging.bsky.dev",
            "EcdsaSecp256k1VerificationKey2019",
            "https://pds.staging.bsky.dev",
        ),
    ];
    for (file, did, handle, kind, pds) in cases {
        let bytes = std::fs::read(dir.join(file)).expect(file);
        let doc = DidDocument::parse(did, &bytes, MAX).expect(file);
        assert_eq!(doc.did, did, "{file}");
        assert_eq!(doc.handle.as_deref(), Some(handle), "{file}");
        let key = doc.signing_key.as_ref().expect(file);
        assert_eq!(key.kind, kind, "{file}");
        assert!(
            key.multibase.starts_with('z') && key.multibase.len() > 80,
            "{file}"
        );
        assert_eq!(doc.pds.as_deref(), Some(pds), "{file}");
        assert_eq!(
            (doc.label_key.as_ref(), doc.labeler.as_deref()),
            (None, None)
        );
        // The same document asked for under another DID is refused.
        let other = DidDocument::parse("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", &bytes, MAX);
        assert!(
            matches!(other, Err(DocumentError::WrongId { .. })),
            "{file}"
        );
    }
    // The legacy encoding of greenground's key, kept as text for the crypto module.
    let bytes = std::fs::read(dir.join("greenground.didDoc.json")).unwrap();
    let doc = DidDocument::parse("did:plc:wqgdnqlv2mwiio6pfchwtrff", &bytes, MAX).unwrap();
    assert_eq!(
        doc.signing_key,
        Some(SigningKey {
            kind: "EcdsaSecp256k1VerificationKey2019".into(),
            multibase: "zQYEBzXeuTM9UR3rfvNag6L3RNAs5pQZyYPsomTsgQhsxLdEgCrPTLgFna8yqCnxPpNT7DBk6Ym3dgPKNu86vt9GR".into(),
        })
    );
}

const LABELER: &str = r##"{
  "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
  "id": "did:plc:ar7c4by46qjdydhdevvrndac",
  "alsoKnownAs": ["at://Moderation.Bsky.App"],
  "verificationMethod": [
    {"id": "did:plc:ar7c4by46qjdydhdevvrndac#atproto", "type": "Multikey",
     "controller": "did:plc:ar7c4by46qjdydhdevvrndac",
     "publicKeyMultibase": "zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF"},
    {"id": "did:plc:ar7c4by46qjdydhdevvrndac#atproto_label", "type": "Multikey",
     "controller": "did:plc:ar7c4by46qjdydhdevvrndac",
     "publicKeyMultibase": "zQ3shreqXVTr8hQ4bZrcMdVY1XxZ4BPVGWuRPdbPqMCjMhsR8"}
  ],
  "service": [
    {"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": "https://pds.example.com/"},
    {"id": "#atproto_labeler", "type": "AtprotoLabeler", "serviceEndpoint": "https://mod.example.com"}
  ]
}"##;

#[test]
fn multikey_labeler_absolute_ids() {
    let doc = parse("did:plc:ar7c4by46qjdydhdevvrndac", LABELER).unwrap();
    assert_eq!(doc.handle.as_deref(), Some("moderation.bsky.app"));
    assert_eq!(doc.signing_key.as_ref().unwrap().kind, "Multikey");
    assert_eq!(
        doc.label_key.as_ref().unwrap().multibase,
        "zQ3shreqXVTr8hQ4bZrcMdVY1XxZ4BPVGWuRPdbPqMCjMhsR8"
    );
    assert_eq!(doc.pds.as_deref(), Some("https://pds.example.com"));
    assert_eq!(doc.labeler.as_deref(), Some("https://mod.example.com"));
}

/// A minimal document for `did:plc:aaaaaaaaaaaaaaaaaaaaaaaa` with the given parts spliced in.
fn doc(aka: &str, methods: &str, services: &str) -> String {
    format!(
        r#"{{"id":"did:plc:aaaaaaaaaaaaaaaaaaaaaaaa","alsoKnownAs":[{aka}],"verificationMethod":[{methods}],"service":[{services}]}}"#
    )
}

const DID: &str = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
const KEY: &str = "zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF";

fn method(id: &str, kind: &str, controller: &str, key: &str) -> String {
    format!(
        r#"{{"id":"{id}","type":"{kind}","controller":"{controller}","publicKeyMultibase":"{key}"}}"#
    )
}

fn service(id: &str, kind: &str, endpoint: &str) -> String {
    format!(r#"{{"id":"{id}","type":"{kind}","serviceEndpoint":{endpoint}}}"#)
}

#[test]
fn first_valid_entry_wins() {
    // Handles: not at://, a path, bad syntax, then the one; later ones ignored.
    let d = parse(
        DID,
        &doc(r#""https://x.com","at://did:plc:x/app.bsky.feed.post/1","at://bad_handle","at://Alice.Example.COM","at://bob.example.com""#, "", ""),
    )
    .unwrap();
    assert_eq!(d.handle.as_deref(), Some("alice.example.com"));

    // Keys: another DID's, wrong controller, unknown type, bad multibase, then the one.
    let methods = [
        method(
            "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb#atproto",
            "Multikey",
            DID,
            KEY,
        ),
        method(
            "#atproto",
            "Multikey",
            "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb",
            KEY,
        ),
        method("#atproto", "JsonWebKey2020", DID, KEY),
        method("#atproto", "Multikey", DID, "uNotBase58"),
        method("#atproto_pds", "Multikey", DID, KEY),
        method("#atproto", "EcdsaSecp256r1VerificationKey2019", DID, KEY),
        method("#atproto", "Multikey", DID, "zSecondOneIgnored"),
    ]
    .join(",");
    let d = parse(DID, &doc("", &methods, "")).unwrap();
    assert_eq!(
        d.signing_key,
        Some(SigningKey {
            kind: "EcdsaSecp256r1VerificationKey2019".into(),
            multibase: KEY.into()
        })
    );

    // Services: wrong type, a path, not http(s), an object endpoint, then the one.
    let services = [
        service(
            "#atproto_pds",
            "SomethingElse",
            r#""https://a.example.com""#,
        ),
        service(
            "#atproto_pds",
            "AtprotoPersonalDataServer",
            r#""https://b.example.com/xrpc""#,
        ),
        service(
            "#atproto_pds",
            "AtprotoPersonalDataServer",
            r#""ftp://c.example.com""#,
        ),
        service(
            "#atproto_pds",
            "AtprotoPersonalDataServer",
            r#"{"uri":"https://d.example.com"}"#,
        ),
        service(
            "#atproto_pds",
            "AtprotoPersonalDataServer",
            r#""https://user:pw@e.example.com""#,
        ),
        service(
            &format!("{DID}#atproto_pds"),
            "AtprotoPersonalDataServer",
            r#""https://F.example.com:8443""#,
        ),
    ]
    .join(",");
    let d = parse(DID, &doc("", "", &services)).unwrap();
    assert_eq!(d.pds.as_deref(), Some("https://f.example.com:8443"));
}

#[test]
fn nothing_usable_is_still_a_document() {
    let d = parse(DID, &format!(r#"{{"id":"{DID}"}}"#)).unwrap();
    assert_eq!(
        d,
        DidDocument {
            did: DID.into(),
            handle: None,
            signing_key: None,
            pds: None,
            label_key: None,
            labeler: None
        }
    );
    // Unknown fields and other entry shapes (a key with a JWK, services with sets) are fine.
    let d = parse(
        DID,
        &doc(
            r#""at://ok.example.com""#,
            r##"{"id":"#k1","type":"JsonWebKey2020","controller":"x","publicKeyJwk":{"kty":"EC"}}"##,
            r##"{"id":"#s","type":["A","B"],"serviceEndpoint":["https://x.example.com"]}"##,
        ),
    )
    .unwrap();
    assert_eq!(d.handle.as_deref(), Some("ok.example.com"));
}

#[test]
fn hostile_documents_are_refused_without_panicking() {
    let json = |e: Result<DidDocument, DocumentError>| matches!(e, Err(DocumentError::Json { .. }));
    for bad in [
        "",
        "null",
        "[]",
        "\"did\"",
        "{",
        "{\"id\":5}",
        "{\"alsoKnownAs\":[]}",
        // Duplicate keys: which one wins would be up to the parser, so neither does.
        &format!(r#"{{"id":"{DID}","id":"{DID}"}}"#),
        &format!(r#"{{"id":"{DID}","alsoKnownAs":[5]}}"#),
        &format!(r#"{{"id":"{DID}","alsoKnownAs":"at://a.example.com"}}"#),
        &format!(r#"{{"id":"{DID}","verificationMethod":{{}}}}"#),
        &format!(r#"{{"id":"{DID}","verificationMethod":[{{"type":"Multikey"}}]}}"#),
        &format!(r##"{{"id":"{DID}","service":[{{"id":"#atproto_pds"}}]}}"##),
        &format!("{{\"id\":\"{DID}\"}} trailing"),
        "\u{0}\u{0}\u{0}",
        &"[".repeat(10_000),
        &format!(r#"{{"id":"{DID}","x":{}}}"#, "[".repeat(50_000)),
    ] {
        assert!(json(parse(DID, bad)), "{bad:.60}");
    }
    assert!(matches!(
        parse(DID, &format!(r#"{{"id":"{DID} "}}"#)),
        Err(DocumentError::WrongId { .. })
    ));
    assert!(matches!(
        parse(DID, r#"{"id":"did:plc:AAAAAAAAAAAAAAAAAAAAAAAA"}"#),
        Err(DocumentError::WrongId { .. })
    ));

    // Size is checked before parsing: a 10 MB body is refused without being read as JSON.
    let huge = vec![b' '; 10 * 1024 * 1024];
    assert_eq!(
        DidDocument::parse(DID, &huge, MAX),
        Err(DocumentError::TooLarge {
            len: huge.len(),
            max: MAX
        })
    );

    // A wrong id that is itself huge is shortened in the error.
    let long_id = format!(r#"{{"id":"{}"}}"#, "x".repeat(40_000));
    match parse(DID, &long_id) {
        Err(e @ DocumentError::WrongId { .. }) => assert!(e.to_string().len() < 300),
        other => panic!("{other:?}"),
    }
    // Bytes that are not UTF-8.
    assert!(json(DidDocument::parse(
        DID,
        &[0xff, 0xfe, b'{', b'}'],
        MAX
    )));
}

#[test]
fn random_bytes_never_panic() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::SmallRng::seed_from_u64(12);
    let base = LABELER.as_bytes().to_vec();
    for _ in 0..3000 {
        let mut bytes = base.clone();
        for _ in 0..rng.random_range(1..8) {
            let i = rng.random_range(0..bytes.len());
            match rng.random_range(0..3) {
                0 => bytes[i] = rng.random(),
                1 => {
                    bytes.remove(i);
                }
                _ => bytes.insert(i, rng.random()),
            }
        }
        let _ = DidDocument::parse("did:plc:ar7c4by46qjdydhdevvrndac", &bytes, MAX);
    }
}
