//! Keys and signatures against the atproto interop vectors (`crypto/` under
//! `../shared/fixtures/atproto-interop-tests`): every signature case, valid and invalid (high-S
//! and DER-encoded signatures must be refused), both did:key derivation lists, and the DID
//! documents of the real repo exports.

use std::path::PathBuf;

use serde_json::Value;
use skyindex::crypto::{self, Curve, KeyError, PublicKey, SignatureError};

use crate::decode_support::b64;

fn crypto_fixture(name: &str) -> Option<Value> {
    let path: PathBuf = crate::common::shared_fixtures()?
        .join("atproto-interop-tests/crypto")
        .join(name);
    Some(serde_json::from_slice(&std::fs::read(&path).expect("read fixture")).expect("json"))
}

#[test]
fn signature_fixtures_every_case() {
    let Some(cases) = crypto_fixture("signature-fixtures.json") else {
        return;
    };
    let cases = cases.as_array().expect("array");
    assert_eq!(cases.len(), 6);
    let (mut valid, mut refused) = (0, 0);
    for case in cases {
        let comment = case["comment"].as_str().unwrap();
        let did = case["publicKeyDid"].as_str().unwrap();
        let key = PublicKey::from_did_key(did).unwrap_or_else(|e| panic!("{comment}: {e}"));
        let curve = match case["algorithm"].as_str().unwrap() {
            "ES256K" => Curve::K256,
            "ES256" => Curve::P256,
            other => panic!("{other}"),
        };
        assert_eq!(key.curve(), curve, "{comment}");
        assert_eq!(key.curve().jwt_alg(), case["algorithm"].as_str().unwrap());
        assert_eq!(key.to_did_key(), did, "{comment}: did:key round trip");
        // The legacy DID-document form of the same key: no multicodec prefix.
        let legacy = PublicKey::from_verification_method(
            case["didDocSuite"].as_str().unwrap(),
            case["publicKeyMultibase"].as_str().unwrap(),
        )
        .unwrap_or_else(|e| panic!("{comment}: legacy form: {e}"));
        assert_eq!(legacy, key, "{comment}: legacy form is the same key");

        let message = b64(case["messageBase64"].as_str().unwrap());
        let signature = b64(case["signatureBase64"].as_str().unwrap());
        let result = crypto::verify(&key, &message, &signature);
        let tags: Vec<&str> = case["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        if case["validSignature"].as_bool().unwrap() {
            assert_eq!(result, Ok(()), "{comment}");
            valid += 1;
            // Any other message fails with the same signature.
            let mut other = message.clone();
            other.push(0);
            assert_eq!(
                crypto::verify(&key, &other, &signature),
                Err(SignatureError::Mismatch)
            );
        } else {
            refused += 1;
            let err = result.expect_err(comment);
            if tags.contains(&"high-s") {
                assert_eq!(err, SignatureError::HighS, "{comment}");
                assert_eq!(err.reason(), "signature_high_s");
            } else if tags.contains(&"der-encoded") {
                assert!(
                    matches!(err, SignatureError::Length { .. }),
                    "{comment}: {err}"
                );
            } else {
                panic!("{comment}: untagged invalid case, refused with {err}");
            }
        }
    }
    assert_eq!((valid, refused), (2, 4));
}

#[test]
fn w3c_did_key_k256() {
    let Some(cases) = crypto_fixture("w3c_didkey_K256.json") else {
        return;
    };
    for case in cases.as_array().unwrap() {
        let hex = case["privateKeyBytesHex"].as_str().unwrap();
        let secret: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let sk = secp256k1::SecretKey::from_secret_bytes(secret.try_into().unwrap()).unwrap();
        let point = secp256k1::PublicKey::from_secret_key(&sk);
        let derived = PublicKey::from_sec1(Curve::K256, &point.serialize_uncompressed()).unwrap();
        let did = case["publicDidKey"].as_str().unwrap();
        assert_eq!(derived.to_did_key(), did);
        assert_eq!(PublicKey::from_did_key(did).unwrap(), derived);
    }
}

#[test]
fn w3c_did_key_p256() {
    let Some(cases) = crypto_fixture("w3c_didkey_P256.json") else {
        return;
    };
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    for case in cases.as_array().unwrap() {
        let secret = bs58::decode(case["privateKeyBytesBase58"].as_str().unwrap())
            .into_vec()
            .unwrap();
        let sk = p256::SecretKey::from_slice(&secret).unwrap();
        let point = sk.public_key().to_encoded_point(false);
        let derived = PublicKey::from_sec1(Curve::P256, point.as_bytes()).unwrap();
        let did = case["publicDidKey"].as_str().unwrap();
        assert_eq!(derived.to_did_key(), did);
        assert_eq!(PublicKey::from_did_key(did).unwrap(), derived);
        assert_eq!(derived.curve(), Curve::P256);
    }
}

/// The DID documents beside the real repo exports use the legacy K-256 suite with an
/// uncompressed point; relay scenarios use Multikey.
#[test]
fn did_documents_and_scenario_keys() {
    let Some(shared) = crate::common::shared_fixtures() else {
        return;
    };
    let dir = shared.join("indigo/testing/testdata");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if !path.to_string_lossy().ends_with(".didDoc.json") {
            continue;
        }
        let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        for method in doc["verificationMethod"].as_array().unwrap() {
            let key = PublicKey::from_verification_method(
                method["type"].as_str().unwrap(),
                method["publicKeyMultibase"].as_str().unwrap(),
            )
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            // Rendering and reading back gives the same key.
            assert_eq!(PublicKey::from_did_key(&key.to_did_key()).unwrap(), key);
            seen += 1;
        }
    }
    assert!(seen >= 4, "{seen} verification methods");
    let scenarios = shared.join("indigo/cmd/relay/testing/testdata");
    for entry in std::fs::read_dir(&scenarios).unwrap() {
        let path = entry.unwrap().path();
        let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        for account in doc["accounts"].as_array().into_iter().flatten() {
            let k = &account["identity"]["keys"]["atproto"];
            let key = PublicKey::from_verification_method(
                k["type"].as_str().unwrap(),
                k["publicKeyMultibase"].as_str().unwrap(),
            )
            .unwrap();
            assert_eq!(key.to_multikey(), k["publicKeyMultibase"].as_str().unwrap());
        }
    }
}

#[test]
fn hostile_keys_and_signatures() {
    let k = "did:key:zQ3shqwJEJyMBsBXCWyCBpUBMqxcon9oHB7mCvx4sSpMdLJwc";
    let key = PublicKey::from_did_key(k).unwrap();
    assert_eq!(
        PublicKey::from_did_key("did:web:example.com"),
        Err(KeyError::NotDidKey)
    );
    assert_eq!(
        PublicKey::from_did_key("did:key:mAbc"),
        Err(KeyError::NotBase58btc)
    );
    assert!(matches!(
        PublicKey::from_did_key(&format!("did:key:z{}", "1".repeat(4000))),
        Err(KeyError::TooLong(_))
    ));
    // ed25519 (0xed) is a real did:key, not an atproto signing key.
    let ed = format!(
        "z{}",
        bs58::encode([&[0xed, 0x01][..], &[7u8; 32]].concat()).into_string()
    );
    assert_eq!(
        PublicKey::from_multikey(&ed),
        Err(KeyError::UnsupportedCodec(0xed))
    );
    // A compressed point whose x is not on the curve; a truncated point; a hybrid prefix.
    let mut bad = vec![0xe7, 0x01, 0x02];
    bad.extend_from_slice(&[0xff; 32]);
    assert!(matches!(
        PublicKey::from_multikey(&format!("z{}", bs58::encode(&bad).into_string())),
        Err(KeyError::InvalidPoint(_))
    ));
    assert!(matches!(
        PublicKey::from_sec1(Curve::P256, &[0x02; 20]),
        Err(KeyError::Length { got: 20 })
    ));
    let mut hybrid = PublicKey::from_did_key(k).unwrap().compressed().to_vec();
    hybrid[0] = 0x06;
    hybrid.extend_from_slice(&[0u8; 32]);
    assert!(matches!(
        PublicKey::from_sec1(Curve::K256, &hybrid),
        Err(KeyError::InvalidPoint(_))
    ));
    assert!(matches!(
        PublicKey::from_verification_method("JsonWebKey2020", "z123"),
        Err(KeyError::UnknownSuite(_))
    ));
    // Signatures that no key could have made.
    for curve_key in [
        key.clone(),
        PublicKey::from_did_key("did:key:zDnaembgSGUhZULN2Caob4HLJPaxBh92N7rtH21TErzqf8HQo")
            .unwrap(),
    ] {
        assert_eq!(
            crypto::verify(&curve_key, b"m", &[1u8; 63]),
            Err(SignatureError::Length { got: 63 })
        );
        assert_eq!(
            crypto::verify(&curve_key, b"m", &[0u8; 64]),
            Err(SignatureError::OutOfRange)
        );
        assert_eq!(
            crypto::verify(&curve_key, b"m", &[0xff; 64]),
            Err(SignatureError::OutOfRange)
        );
        let mut low = [1u8; 64];
        low[32] = 0x10;
        assert_eq!(
            crypto::verify(&curve_key, b"m", &low),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            crypto::verify(&curve_key, b"m", &[]).unwrap_err().reason(),
            "signature_length"
        );
    }
}
