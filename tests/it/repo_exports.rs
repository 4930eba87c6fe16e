//! Whole repository exports walked in key order with every structural rule enforced: the real
//! v3 exports (greenground, bnewbold.robocracy.org), the v2 ones (same tree, older commit), and
//! a partial slice, whose missing nodes must be reported as missing.

use std::collections::BTreeSet;

use skyindex::repo::{ExportError, KeyRule, MstError, NoBlocks, RepoExport, Tree};

fn read(rel: &str) -> Option<Vec<u8>> {
    let path = crate::common::shared_fixtures()?.join(rel);
    Some(std::fs::read(path).unwrap())
}

/// Walks an export and checks what a walk promises: strictly increasing keys, each a record
/// path, each value's record in the CAR (full exports carry every record).
fn walk_all(rel: &str) -> Option<(RepoExportSummary, Vec<String>)> {
    let bytes = read(rel)?;
    let export = RepoExport::parse(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let mut keys = Vec::new();
    let mut walk = export.walk();
    for item in walk.by_ref() {
        let (key, value) = item.unwrap_or_else(|e| panic!("{rel}: {e}"));
        let key = String::from_utf8(key).unwrap();
        assert!(
            skyindex::repo::BlockSource::block(&export.blocks, &value)
                .unwrap()
                .is_some(),
            "{rel}: record {value} of {key} is not in the export"
        );
        keys.push(key);
    }
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "{rel}: keys out of order"
    );
    // The same entries built into a tree from scratch give the commit's root: the walk read
    // the whole tree, and the builder agrees with the implementation that wrote it.
    let mut rebuilt = Tree::empty(&NoBlocks, KeyRule::RepoPath);
    for item in export.walk() {
        let (key, value) = item.unwrap();
        rebuilt.insert(&key, value).unwrap();
    }
    assert_eq!(
        rebuilt.root_cid(),
        export.commit.data,
        "{rel}: rebuilt root"
    );
    Some((
        RepoExportSummary {
            version: export.commit.version,
            did: export.commit.did.clone(),
            nodes: walk.nodes(),
        },
        keys,
    ))
}

struct RepoExportSummary {
    version: u64,
    did: String,
    nodes: u64,
}

#[test]
fn v3_exports_walk_fully() {
    let Some((s, keys)) = walk_all("indigo/testing/testdata/greenground.repo.car") else {
        return;
    };
    assert_eq!(s.version, 3);
    // Re-exported in 2023 under another DID than its DID document beside it names.
    assert_eq!(s.did, "did:plc:kzcqyc3unb33eh5sxzsfs25z");
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().all(|k| k.starts_with("app.bsky.graph.follow/")));

    let (s, keys) =
        walk_all("indigo/atproto/repo/testdata/bnewbold.robocracy.org.20250310005405.car").unwrap();
    assert_eq!(s.version, 3);
    assert_eq!(s.did, "did:plc:nhxcyu4ewwhl5pqil4dotqjo");
    assert!(keys.len() >= 20, "{} keys", keys.len());
    assert!(s.nodes >= 2);
    let collections: BTreeSet<&str> = keys.iter().filter_map(|k| k.split('/').next()).collect();
    assert!(
        collections.contains("com.atproto.lexicon.schema"),
        "{collections:?}"
    );
    eprintln!(
        "bnewbold.robocracy.org: {} records in {} collections, {} MST nodes",
        keys.len(),
        collections.len(),
        s.nodes
    );
}

/// v2 exports: the same MST under an older commit object; walked the same way.
#[test]
fn v2_exports_walk_fully() {
    for rel in [
        "indigo/testing/testdata/fakermaker.repo.car",
        "indigo/testing/testdata/paul_staging.repo.car",
        "indigo/testing/testdata/divy.repo",
        "indigo/testing/testdata/bafyreieovfuizojpw3zresz7sx3nk4trm2by23pt5rxbey3jme4uo5ogiu.car",
    ] {
        let Some((s, keys)) = walk_all(rel) else {
            return;
        };
        assert_eq!(s.version, 2, "{rel}");
        assert!(!keys.is_empty(), "{rel}");
        eprintln!(
            "{rel}: v{} {} records, {} nodes",
            s.version,
            keys.len(),
            s.nodes
        );
    }
}

/// A getRecord-style slice: the commit, one path and one record. Walking it must stop at the
/// first node that is not there, naming it.
#[test]
fn partial_slice_reports_missing_nodes() {
    let Some(bytes) = read("indigo/testing/testdata/repo_slice.car") else {
        return;
    };
    let export = RepoExport::parse(&bytes).unwrap();
    let result: Result<Vec<_>, MstError> = export.walk().collect();
    match result {
        Err(MstError::MissingBlock(_)) => {}
        other => panic!("expected a missing block, got {other:?}"),
    }
}

#[test]
fn hostile_exports() {
    // Not a CAR at all; a CAR whose root block is absent.
    assert!(matches!(
        RepoExport::parse(b"\x00"),
        Err(ExportError::Car(_))
    ));
    let root = skyindex::repo::dag_cbor_cid(b"\xa0");
    let car = crate::decode_support::car(&[root], &[]);
    assert_eq!(
        RepoExport::parse(&car).err(),
        Some(ExportError::MissingCommit(root))
    );
    // A v1 commit is refused as such.
    use crate::decode_support::{cid_of, encode, map, text, DAG_CBOR};
    use ipld_core::ipld::Ipld;
    let data = skyindex::repo::dag_cbor_cid(&skyindex::repo::encode_node(None, &[]));
    let commit = encode(&map(vec![
        ("did", text("did:plc:abc")),
        ("version", Ipld::Integer(1)),
        ("data", Ipld::Link(data)),
    ]));
    let cid = cid_of(DAG_CBOR, &commit);
    let car = crate::decode_support::car(&[cid], &[(cid, commit)]);
    assert_eq!(RepoExport::parse(&car).err(), Some(ExportError::Version(1)));
}
