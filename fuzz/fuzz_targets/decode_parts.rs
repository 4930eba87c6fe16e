//! The pieces `decode_frame` is built from, fed directly so the fuzzer reaches their corners
//! without first forging a whole frame: the strict DAG-CBOR validator, the CAR reader, the record
//! decoders and the lex-JSON renderer.

#![no_main]

use libfuzzer_sys::fuzz_target;
use skyindex::ipld::car::CarSlice;
use skyindex::ipld::cbor::{validate_exact, validate_item};
use skyindex::records::{self, lexjson, Record};

const COLLECTIONS: [&str; 7] = [
    records::POST,
    records::LIKE,
    records::REPOST,
    records::FOLLOW,
    records::BLOCK,
    records::PROFILE,
    "com.example.thing",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, data)) = data.split_first() else {
        return;
    };
    match selector % 3 {
        0 => {
            if let Ok(car) = CarSlice::parse(data) {
                let _ = car.verify_all();
                let _ = car.get(&car.roots[0]);
            }
        }
        1 => {
            let collection = COLLECTIONS[usize::from(selector / 3) % COLLECTIONS.len()];
            if let Ok(record) = Record::decode(collection, data) {
                assert!(!record.lex_json().is_null());
            }
        }
        _ => {
            let exact = validate_exact(data).is_ok();
            if let Ok(n) = validate_item(data) {
                assert!(n <= data.len());
                assert_eq!(exact, n == data.len());
            }
            let json = lexjson::from_dag_cbor(data);
            // What the strict validator accepts, the renderer can read (NUL aside).
            if exact {
                if let Err(e) = &json {
                    assert!(e.to_string().contains("NUL"), "{e}");
                }
            }
        }
    }
});
