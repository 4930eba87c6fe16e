//! The Merkle Search Tree against the atproto interop vectors (`mst/` and
//! `firehose/commit-proof-fixtures.json` under `../shared/fixtures/atproto-interop-tests`) and
//! the known roots of the atproto MST interop suite: heights, prefixes, whole trees built in
//! any order, and the six commit proofs undone on nothing but their proof blocks.

use std::path::PathBuf;

use cid::Cid;
use serde_json::Value;
use skyindex::repo::{
    self, common_prefix_len, height, Action, BlockMap, KeyRule, MstError, NoBlocks, RepoOp, Tree,
    Walk,
};

/// The record CID every interop vector uses as the value of every key.
const LEAF: &str = "bafyreie5cvv4h45feadgeuwhbcutmh6t2ceseocckahdoe6uat64zmz454";

fn leaf() -> Cid {
    Cid::try_from(LEAF).unwrap()
}

fn interop(rel: &str) -> Option<PathBuf> {
    Some(
        crate::common::shared_fixtures()?
            .join("atproto-interop-tests")
            .join(rel),
    )
}

fn json(rel: &str) -> Option<Value> {
    let path = interop(rel)?;
    Some(serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap())
}

fn tree_of<'s>(keys: &[&str], rule: KeyRule) -> Tree<'s, NoBlocks> {
    let mut tree = Tree::empty(&NoBlocks, rule);
    for k in keys {
        assert_eq!(tree.insert(k.as_bytes(), leaf()).unwrap(), None, "{k}");
    }
    tree
}

#[test]
fn key_heights() {
    let Some(cases) = json("mst/key_heights.json") else {
        return;
    };
    for case in cases.as_array().unwrap() {
        let key = case["key"].as_str().unwrap();
        assert_eq!(
            u64::from(height(key.as_bytes())),
            case["height"].as_u64().unwrap(),
            "{key:?}"
        );
    }
}

#[test]
fn common_prefix() {
    let Some(cases) = json("mst/common_prefix.json") else {
        return;
    };
    for case in cases.as_array().unwrap() {
        let (l, r) = (
            case["left"].as_str().unwrap(),
            case["right"].as_str().unwrap(),
        );
        assert_eq!(
            common_prefix_len(l.as_bytes(), r.as_bytes()) as u64,
            case["len"].as_u64().unwrap(),
            "{l:?} {r:?}"
        );
    }
}

/// The example keys name their height (`A2/…` is height 2); a tree of all of them is the same
/// whatever the insertion order, walks back in order, and empties to the empty root.
#[test]
fn example_keys_build_walk_and_empty() {
    let Some(path) = interop("mst/example_keys.txt") else {
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    let keys: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(keys.len(), 156);
    for k in &keys {
        let named: u8 = k[1..2].parse().unwrap();
        assert_eq!(height(k.as_bytes()), named, "{k}");
    }
    let mut forward = tree_of(&keys, KeyRule::AnyBytes);
    let mut reversed: Vec<&str> = keys.clone();
    reversed.reverse();
    let mut backward = tree_of(&reversed, KeyRule::AnyBytes);
    // A fixed shuffle (multiplicative stride through the list).
    let shuffled: Vec<&str> = (0..keys.len())
        .map(|i| keys[(i * 97) % keys.len()])
        .collect();
    let mut mixed = tree_of(&shuffled, KeyRule::AnyBytes);
    let root = forward.root_cid();
    assert_eq!(backward.root_cid(), root);
    assert_eq!(mixed.root_cid(), root);
    assert!(forward.root_layer() >= 3);

    // Walk the serialized tree: every key, in order, every value the leaf.
    let blocks = forward.node_blocks();
    let mut map = BlockMap::new();
    for (cid, bytes) in &blocks {
        map.add(*cid, bytes);
    }
    let walked: Vec<(Vec<u8>, Cid)> = Walk::new(&map, root, KeyRule::AnyBytes)
        .collect::<Result<_, _>>()
        .unwrap();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(
        walked.iter().map(|(k, _)| k.as_slice()).collect::<Vec<_>>(),
        sorted.iter().map(|k| k.as_bytes()).collect::<Vec<_>>()
    );
    assert!(walked.iter().all(|(_, v)| *v == leaf()));

    // Read back from blocks, every key is found; then removed in another order, down to empty.
    let mut loaded = Tree::load(&map, root, KeyRule::AnyBytes).unwrap();
    for k in &keys {
        assert_eq!(loaded.get(k.as_bytes()).unwrap(), Some(leaf()), "{k}");
    }
    assert_eq!(loaded.get(b"Z9/000000").unwrap(), None);
    for (i, k) in shuffled.iter().enumerate() {
        assert_eq!(loaded.remove(k.as_bytes()).unwrap(), Some(leaf()), "{k}");
        assert_eq!(loaded.remove(k.as_bytes()).unwrap(), None, "{k} twice");
        if i == keys.len() / 2 {
            // Half way, the partial tree equals one built from the remaining keys.
            let rest: Vec<&str> = shuffled[i + 1..].to_vec();
            assert_eq!(
                loaded.root_cid(),
                tree_of(&rest, KeyRule::AnyBytes).root_cid()
            );
        }
    }
    assert!(loaded.is_empty());
    assert_eq!(
        loaded.root_cid(),
        Tree::empty(&NoBlocks, KeyRule::AnyBytes).root_cid()
    );
}

/// Known roots from the atproto MST interop suite (also in indigo's `mst_interop_test.go`).
#[test]
fn known_roots_and_edge_cases() {
    let cid = |s: &str| Cid::try_from(s).unwrap();
    let root_of = |keys: &[&str]| tree_of(keys, KeyRule::RepoPath).root_cid();
    assert_eq!(
        root_of(&[]),
        cid("bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm")
    );
    assert_eq!(
        root_of(&["com.example.record/3jqfcqzm3fo2j"]),
        cid("bafyreibj4lsc3aqnrvphp5xmrnfoorvru4wynt6lwidqbm2623a6tatzdu")
    );
    assert_eq!(
        root_of(&["com.example.record/3jqfcqzm3fx2j"]),
        cid("bafyreih7wfei65pxzhauoibu3ls7jgmkju4bspy4t2ha2qdjnzqvoy33ai")
    );
    assert_eq!(
        root_of(&[
            "com.example.record/3jqfcqzm3fp2j",
            "com.example.record/3jqfcqzm3fr2j",
            "com.example.record/3jqfcqzm3fs2j",
            "com.example.record/3jqfcqzm3ft2j",
            "com.example.record/3jqfcqzm4fc2j",
        ]),
        cid("bafyreicmahysq4n6wfuxo522m6dpiy7z7qzym3dzs756t5n7nfdgccwq7m")
    );

    // Trims the top of the tree on delete.
    let mut trim = tree_of(
        &[
            "com.example.record/3jqfcqzm3fn2j",
            "com.example.record/3jqfcqzm3fo2j",
            "com.example.record/3jqfcqzm3fp2j",
            "com.example.record/3jqfcqzm3fs2j",
            "com.example.record/3jqfcqzm3ft2j",
            "com.example.record/3jqfcqzm3fu2j",
        ],
        KeyRule::RepoPath,
    );
    assert_eq!(trim.root_layer(), 1);
    assert_eq!(
        trim.root_cid(),
        cid("bafyreifnqrwbk6ffmyaz5qtujqrzf5qmxf7cbxvgzktl4e3gabuxbtatv4")
    );
    trim.remove(b"com.example.record/3jqfcqzm3fs2j").unwrap();
    assert_eq!(trim.root_layer(), 0);
    assert_eq!(
        trim.root_cid(),
        cid("bafyreie4kjuxbwkhzg2i5dljaswcroeih4dgiqq6pazcmunwt2byd725vi")
    );

    // An insertion that splits two layers down, and its removal.
    let l1 = cid("bafyreiettyludka6fpgp33stwxfuwhkzlur6chs4d2v4nkmq2j3ogpdjem");
    let mut split = tree_of(
        &[
            "com.example.record/3jqfcqzm3fo2j",
            "com.example.record/3jqfcqzm3fp2j",
            "com.example.record/3jqfcqzm3fr2j",
            "com.example.record/3jqfcqzm3fs2j",
            "com.example.record/3jqfcqzm3ft2j",
            "com.example.record/3jqfcqzm3fz2j",
            "com.example.record/3jqfcqzm4fc2j",
            "com.example.record/3jqfcqzm4fd2j",
            "com.example.record/3jqfcqzm4ff2j",
            "com.example.record/3jqfcqzm4fg2j",
            "com.example.record/3jqfcqzm4fh2j",
        ],
        KeyRule::RepoPath,
    );
    assert_eq!(split.root_cid(), l1);
    split
        .insert(b"com.example.record/3jqfcqzm3fx2j", leaf())
        .unwrap();
    assert_eq!(split.root_layer(), 2);
    assert_eq!(
        split.root_cid(),
        cid("bafyreid2x5eqs4w4qxvc5jiwda4cien3gw2q6cshofxwnvv7iucrmfohpm")
    );
    split.remove(b"com.example.record/3jqfcqzm3fx2j").unwrap();
    assert_eq!(split.root_layer(), 1);
    assert_eq!(split.root_cid(), l1);

    // New layers two above the existing ones.
    let l0 = cid("bafyreidfcktqnfmykz2ps3dbul35pepleq7kvv526g47xahuz3rqtptmky");
    let l2 = cid("bafyreiavxaxdz7o7rbvr3zg2liox2yww46t7g6hkehx4i4h3lwudly7dhy");
    let mut higher = tree_of(
        &[
            "com.example.record/3jqfcqzm3ft2j",
            "com.example.record/3jqfcqzm3fz2j",
        ],
        KeyRule::RepoPath,
    );
    assert_eq!(higher.root_cid(), l0);
    higher
        .insert(b"com.example.record/3jqfcqzm3fx2j", leaf())
        .unwrap();
    assert_eq!(higher.root_cid(), l2);
    higher.remove(b"com.example.record/3jqfcqzm3fx2j").unwrap();
    assert_eq!((higher.root_layer(), higher.root_cid()), (0, l0));
    higher
        .insert(b"com.example.record/3jqfcqzm3fx2j", leaf())
        .unwrap();
    higher
        .insert(b"com.example.record/3jqfcqzm4fd2j", leaf())
        .unwrap();
    assert_eq!(higher.root_layer(), 2);
    assert_eq!(
        higher.root_cid(),
        cid("bafyreig4jv3vuajbsybhyvb7gggvpwh2zszwfyttjrj6qwvcsp24h6popu")
    );
    higher.remove(b"com.example.record/3jqfcqzm4fd2j").unwrap();
    assert_eq!((higher.root_layer(), higher.root_cid()), (2, l2));
}

/// All six commit-proof fixtures: build the tree from `keys`, check `rootBeforeCommit`; apply
/// `adds`/`dels`, check `rootAfterCommit`; then, holding only `blocksInProof`, check the ops
/// forwards and undo them: the root must be `rootBeforeCommit` again. Dropping a proof block
/// the undo reads must make it fail naming that block, never give a wrong root.
#[test]
fn commit_proof_fixtures_all_six() {
    let Some(cases) = json("firehose/commit-proof-fixtures.json") else {
        return;
    };
    let cases = cases.as_array().unwrap();
    assert_eq!(cases.len(), 6);
    for case in cases {
        let comment = case["comment"].as_str().unwrap();
        assert_eq!(case["leafValue"].as_str().unwrap(), LEAF);
        let strs = |k: &str| -> Vec<&str> {
            case[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect()
        };
        let (keys, adds, dels) = (strs("keys"), strs("adds"), strs("dels"));
        let before = Cid::try_from(case["rootBeforeCommit"].as_str().unwrap()).unwrap();
        let after = Cid::try_from(case["rootAfterCommit"].as_str().unwrap()).unwrap();
        let proof: Vec<Cid> = strs("blocksInProof")
            .iter()
            .map(|s| Cid::try_from(*s).unwrap())
            .collect();

        let mut tree = tree_of(&keys, KeyRule::AnyBytes);
        assert_eq!(tree.root_cid(), before, "{comment}: before");
        for k in &adds {
            assert_eq!(tree.insert(k.as_bytes(), leaf()).unwrap(), None);
        }
        for k in &dels {
            assert_eq!(tree.remove(k.as_bytes()).unwrap(), Some(leaf()));
        }
        assert_eq!(tree.root_cid(), after, "{comment}: after");

        let all = tree.node_blocks();
        for c in &proof {
            assert!(
                all.iter().any(|(b, _)| b == c),
                "{comment}: proof block {c} is not a node of the new tree"
            );
        }
        let ops: Vec<RepoOp> = adds
            .iter()
            .map(|k| RepoOp {
                action: Action::Create,
                path: k,
                cid: Some(leaf()),
                prev: None,
            })
            .chain(dels.iter().map(|k| RepoOp {
                action: Action::Delete,
                path: k,
                cid: None,
                prev: Some(leaf()),
            }))
            .collect();

        let undo = |skip: Option<&Cid>| -> Result<Cid, MstError> {
            let mut map = BlockMap::new();
            for (cid, bytes) in &all {
                if proof.contains(cid) && Some(cid) != skip {
                    map.add(*cid, bytes);
                }
            }
            let mut partial = Tree::load(&map, after, KeyRule::AnyBytes)?;
            for op in &ops {
                let want = op.cid;
                assert_eq!(partial.get(op.path.as_bytes())?, want, "{comment}");
            }
            match repo::invert(&mut partial, &ops) {
                Ok(()) => Ok(partial.root_cid()),
                Err(repo::VerifyError::MissingBlock { cid, .. }) => {
                    Err(MstError::MissingBlock(cid))
                }
                Err(e) => panic!("{comment}: {e}"),
            }
        };
        assert_eq!(
            undo(None),
            Ok(before),
            "{comment}: inverted on the proof alone"
        );
        // Proofs may carry a node another implementation reads and this one does not; what
        // must never happen is a wrong root or an error other than the block's absence.
        let mut needed = 0;
        for c in &proof {
            match undo(Some(c)) {
                Err(MstError::MissingBlock(missing)) => {
                    assert_eq!(&missing, c, "{comment}");
                    needed += 1;
                }
                Ok(root) => assert_eq!(root, before, "{comment}: without {c}"),
                Err(other) => panic!("{comment}: without {c}: {other}"),
            }
        }
        assert_eq!(
            undo(Some(&after)),
            Err(MstError::MissingBlock(after)),
            "{comment}: the new root is always needed"
        );
        assert!(needed >= 1, "{comment}");
    }
}

/// Random trees of record paths and random commits of creates, updates and deletes: undoing
/// the commit on the new tree, read lazily from its blocks, always gives the old root, and the
/// new tree is the one built from scratch from the new key set (insert and remove keep the
/// tree canonical whatever the order).
#[test]
fn random_commits_invert_to_the_previous_root() {
    use rand::{Rng, SeedableRng};
    use std::collections::BTreeMap;
    let mut rng = rand::rngs::SmallRng::seed_from_u64(2026);
    let value = |n: u32| skyindex::repo::dag_cbor_cid(&n.to_be_bytes());
    let path = |rng: &mut rand::rngs::SmallRng| {
        let collection = [
            "app.bsky.feed.post",
            "app.bsky.feed.like",
            "app.bsky.graph.follow",
        ][rng.random_range(0..3)];
        let rkey: String = (0..13)
            .map(|_| b"234567abcdefghijklmnopqrstuvwxyz"[rng.random_range(0..32)] as char)
            .collect();
        format!("{collection}/{rkey}")
    };
    for round in 0..400 {
        let mut before: BTreeMap<String, Cid> = BTreeMap::new();
        for i in 0..rng.random_range(0..120) {
            before.insert(path(&mut rng), value(i));
        }
        let build = |m: &BTreeMap<String, Cid>| {
            let mut t = Tree::empty(&NoBlocks, KeyRule::RepoPath);
            for (k, v) in m {
                t.insert(k.as_bytes(), *v).unwrap();
            }
            t
        };
        let mut tree = build(&before);
        let before_root = tree.root_cid();
        // The commit: a few creates, updates and deletes, applied to the in-memory tree.
        let mut after = before.clone();
        let mut ops: Vec<(Action, String, Option<Cid>, Option<Cid>)> = Vec::new();
        let existing: Vec<String> = before.keys().cloned().collect();
        for j in 0..rng.random_range(1..6) {
            match rng.random_range(0..3) {
                0 if !existing.is_empty() => {
                    let k = existing[rng.random_range(0..existing.len())].clone();
                    if ops.iter().any(|o| o.1 == k) {
                        continue;
                    }
                    let prev = after.remove(&k);
                    assert_eq!(tree.remove(k.as_bytes()).unwrap(), prev);
                    ops.push((Action::Delete, k, None, prev));
                }
                1 if !existing.is_empty() => {
                    let k = existing[rng.random_range(0..existing.len())].clone();
                    if ops.iter().any(|o| o.1 == k) {
                        continue;
                    }
                    let v = value(10_000 + round * 10 + j);
                    let prev = after.insert(k.clone(), v);
                    assert_eq!(tree.insert(k.as_bytes(), v).unwrap(), prev);
                    ops.push((Action::Update, k, Some(v), prev));
                }
                _ => {
                    let k = path(&mut rng);
                    if after.contains_key(&k) {
                        continue;
                    }
                    let v = value(20_000 + round * 10 + j);
                    after.insert(k.clone(), v);
                    assert_eq!(tree.insert(k.as_bytes(), v).unwrap(), None);
                    ops.push((Action::Create, k, Some(v), None));
                }
            }
        }
        let after_root = tree.root_cid();
        assert_eq!(
            after_root,
            build(&after).root_cid(),
            "round {round}: canonical"
        );
        let blocks = tree.node_blocks();
        let mut map = BlockMap::new();
        for (cid, bytes) in &blocks {
            map.add(*cid, bytes);
        }
        let repo_ops: Vec<RepoOp> = ops
            .iter()
            .map(|(action, path, cid, prev)| RepoOp {
                action: *action,
                path,
                cid: *cid,
                prev: *prev,
            })
            .collect();
        let mut partial = Tree::load(&map, after_root, KeyRule::RepoPath).unwrap();
        repo::check_forward(&mut partial, &map, &[]).unwrap();
        for op in &repo_ops {
            assert_eq!(
                partial.get(op.path.as_bytes()).unwrap(),
                op.cid,
                "round {round}"
            );
        }
        repo::invert(&mut partial, &repo_ops).unwrap();
        assert_eq!(partial.root_cid(), before_root, "round {round}: inverted");
    }
}
