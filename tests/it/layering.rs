//! The shape of the house, kept by a test: every `src/` folder (or top-level file) is a layer,
//! and a layer may import only the layers the table below allows it. The table itself must have
//! no circle, so every arrow points down; a new folder fails the test until it is placed in it.
//! Within a folder, sibling files must not import each other in a circle either.
//!
//! Imports are read from the code itself (`crate::name` in the library, `skyindex::name` in
//! `main.rs`), comments left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::common::project_dir;

/// Edges: stats, logging, shutdown, notify, backoff, secrets, error printing. Anything with
/// threads or I/O may use them; the pure layers may not.
const EDGES: &[&str] = &[
    "crashpoint",
    "stats",
    "logging",
    "shutdown",
    "notify",
    "backoff",
    "redact",
    "error_chain",
];

/// Each layer and the layers it may import, top of the house first. Edges may be imported by
/// the layers marked `+ EDGES`.
fn allowed() -> BTreeMap<&'static str, (Vec<&'static str>, bool)> {
    let pure = false;
    let io = true;
    BTreeMap::from([
        // the face
        ("main", (vec!["cli", "commands"], io)),
        (
            "commands",
            (
                vec![
                    "cli", "config", "pipeline", "sync", "inspect", "replay", "writer", "db",
                    "changes", "schema", "source", "verify", "identity", "labels", "decode",
                    "repo", "crypto", "records", "ipld", "syntax",
                ],
                io,
            ),
        ),
        (
            "config",
            (vec!["cli", "pipeline", "source", "identity", "syntax"], io),
        ),
        ("cli", (vec![], pure)),
        // stages with threads and channels
        (
            "pipeline",
            (
                vec![
                    "sync", "writer", "db", "changes", "source", "verify", "identity", "labels",
                    "decode", "records", "syntax",
                ],
                io,
            ),
        ),
        // backfill: a scheduler and fetch threads; repos' states change only in their writer
        // (commands on its channel), the database is only read here
        (
            "sync",
            (
                vec![
                    "writer", "db", "changes", "identity", "repo", "crypto", "records", "ipld",
                    "syntax",
                ],
                io,
            ),
        ),
        (
            "inspect",
            (
                vec![
                    "source", "verify", "identity", "decode", "records", "syntax",
                ],
                io,
            ),
        ),
        ("replay", (vec!["source", "decode"], io)),
        // labelers' streams: a reader thread per labeler (connection from source, keys and
        // endpoints from identity), frames and labels checked by the pure files inside
        (
            "labels",
            (vec!["source", "identity", "crypto", "ipld", "syntax"], io),
        ),
        (
            "writer",
            (
                vec![
                    "db", "changes", "schema", "labels", "decode", "records", "syntax",
                ],
                io,
            ),
        ),
        // the database: knows no threads, channels or stages (syntax: compact record keys)
        ("db", (vec!["changes", "schema", "syntax"], io)),
        ("changes", (vec!["schema", "records"], pure)),
        ("schema", (vec![], pure)),
        // bytes in, frames out
        ("source", (vec!["decode"], io)),
        // verification: keys found through identity, checks done by repo and crypto
        ("verify", (vec!["identity", "decode", "repo", "crypto"], io)),
        // who an account is: DID documents, handles; HTTP and DNS behind small traits
        ("identity", (vec!["syntax"], io)),
        // pure below here
        ("decode", (vec!["records", "ipld", "syntax"], pure)),
        // repository trees and commits: MST, proofs, signatures (key passed in)
        ("repo", (vec!["crypto", "ipld", "syntax"], pure)),
        // keys and signatures
        ("crypto", (vec![], pure)),
        ("records", (vec!["ipld", "syntax"], pure)),
        ("ipld", (vec![], pure)),
        ("syntax", (vec![], pure)),
        // edges import nothing of ours
        ("crashpoint", (vec![], pure)),
        ("stats", (vec![], pure)),
        ("logging", (vec![], pure)),
        ("shutdown", (vec![], pure)),
        ("notify", (vec![], pure)),
        ("backoff", (vec![], pure)),
        ("redact", (vec![], pure)),
        ("error_chain", (vec![], pure)),
    ])
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read src")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without its comments (line comments and doc comments; string literals
/// holding `//` are rare enough here and only ever cut a line short).
fn code_of(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_block = false;
    for line in text.lines() {
        let mut rest = line;
        let mut kept = String::new();
        loop {
            if in_block {
                match rest.find("*/") {
                    Some(i) => {
                        in_block = false;
                        rest = &rest[i + 2..];
                    }
                    None => break,
                }
            } else {
                let line_comment = rest.find("//");
                let block = rest.find("/*");
                match (line_comment, block) {
                    (Some(l), Some(b)) if b < l => {
                        kept.push_str(&rest[..b]);
                        in_block = true;
                        rest = &rest[b + 2..];
                    }
                    (Some(l), _) => {
                        kept.push_str(&rest[..l]);
                        break;
                    }
                    (None, Some(b)) => {
                        kept.push_str(&rest[..b]);
                        in_block = true;
                        rest = &rest[b + 2..];
                    }
                    (None, None) => {
                        kept.push_str(rest);
                        break;
                    }
                }
            }
        }
        out.push_str(&kept);
        out.push('\n');
    }
    out
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The first path segment after each `prefix` (`crate::`, `super::`, …), including each item of
/// a `prefix{a, b::c}` group.
fn segments_after(code: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find(prefix) {
        // `crate::` inside a longer word (e.g. `skyindex_crate::`) is not ours.
        let before = rest[..i].chars().next_back();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item_start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_ascii_alphanumeric() || c == '_') => {
                        out.push(ident_at(&group[j..]).to_owned());
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let id = ident_at(rest);
            if !id.is_empty() {
                out.push(id.to_owned());
            }
        }
    }
    out
}

/// A file's module path from `src/` (`["writer", "plan"]`; `mod.rs` names its folder).
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// Finds a circle in a directed graph, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), 1);
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let from = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(next, graph, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if !state.contains_key(node.as_str()) {
            let mut stack = Vec::new();
            if let Some(c) = visit(node, graph, &mut state, &mut stack) {
                return Some(c);
            }
        }
    }
    None
}

struct Imports {
    /// layer → (layer it imports, a file that does)
    layers: BTreeMap<String, BTreeMap<String, String>>,
    /// sibling files, per folder: `folder::file` → `folder::other`
    siblings: BTreeMap<String, BTreeSet<String>>,
}

fn read_imports() -> Imports {
    let src = project_dir().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "found only {} files in src", files.len());
    let module_files: BTreeSet<Vec<String>> = files.iter().map(|f| module_path(&src, f)).collect();
    let mut imports = Imports {
        layers: BTreeMap::new(),
        siblings: BTreeMap::new(),
    };
    for file in &files {
        let path = module_path(&src, file);
        let layer = path[0].clone();
        let code = code_of(&std::fs::read_to_string(file).expect("read source"));
        let prefix = if layer == "main" {
            "skyindex::"
        } else {
            "crate::"
        };
        let shown = file
            .strip_prefix(project_dir())
            .unwrap_or(file)
            .display()
            .to_string();
        for seg in segments_after(&code, prefix) {
            if seg != layer {
                imports
                    .layers
                    .entry(layer.clone())
                    .or_default()
                    .entry(seg)
                    .or_insert_with(|| shown.clone());
            }
        }
        let is_mod_rs = file.file_name().is_some_and(|n| n == "mod.rs");
        if path.len() < 2 || is_mod_rs {
            continue;
        }
        // Siblings named through `super::x` or `crate::folder::x`.
        let parent = &path[..path.len() - 1];
        let mut named: Vec<String> = segments_after(&code, "super::");
        let crate_prefix = format!("crate::{}::", parent.join("::"));
        named.extend(segments_after(&code, &crate_prefix));
        for name in named {
            let mut sibling = parent.to_vec();
            sibling.push(name);
            if sibling != path && module_files.contains(&sibling) {
                imports
                    .siblings
                    .entry(path.join("::"))
                    .or_default()
                    .insert(sibling.join("::"));
            }
        }
    }
    imports
}

#[test]
fn the_table_of_allowed_arrows_has_no_circle() {
    let table = allowed();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (layer, (below, uses_edges)) in &table {
        let mut to: BTreeSet<String> = below.iter().map(|s| s.to_string()).collect();
        if *uses_edges {
            to.extend(EDGES.iter().map(|s| s.to_string()));
        }
        for t in &to {
            assert!(
                table.contains_key(t.as_str()),
                "{layer} → {t}: {t} is not in the table"
            );
        }
        graph.insert(layer.to_string(), to);
    }
    assert_eq!(find_cycle(&graph), None, "the allowed arrows make a circle");
}

#[test]
fn every_import_between_layers_points_down() {
    let table = allowed();
    let imports = read_imports();
    let mut wrong = Vec::new();
    for (layer, used) in &imports.layers {
        let Some((below, uses_edges)) = table.get(layer.as_str()) else {
            wrong.push(format!(
                "{layer}: a layer the table does not know; place it in tests/it/layering.rs"
            ));
            continue;
        };
        for (dep, file) in used {
            let ok =
                below.contains(&dep.as_str()) || (*uses_edges && EDGES.contains(&dep.as_str()));
            if !ok {
                wrong.push(format!("{layer} → {dep} (in {file})"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports the layer table does not allow:\n  {}",
        wrong.join("\n  ")
    );
}

#[test]
fn every_folder_and_file_of_src_is_a_known_layer() {
    let table = allowed();
    let src = project_dir().join("src");
    let mut unknown = Vec::new();
    for entry in std::fs::read_dir(&src).expect("read src") {
        let path = entry.expect("dir entry").path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().trim_end_matches(".rs").to_owned())
            .unwrap_or_default();
        if name != "lib" && !table.contains_key(name.as_str()) {
            unknown.push(name);
        }
    }
    assert!(
        unknown.is_empty(),
        "not placed in the layer table: {unknown:?}"
    );
}

#[test]
fn sibling_files_do_not_import_each_other_in_a_circle() {
    let imports = read_imports();
    assert_eq!(
        find_cycle(&imports.siblings),
        None,
        "sibling files import each other in a circle"
    );
}

#[test]
fn the_reader_finds_what_it_should() {
    let code = code_of(
        "use crate::db::{load, store};\n// use crate::commands;\nuse crate::{ipld::cbor, syntax};\nlet x = crate::stats::Stats::new(); /* crate::pipeline */",
    );
    assert_eq!(
        segments_after(&code, "crate::"),
        ["db", "ipld", "syntax", "stats"]
    );
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("a".into());
    assert!(find_cycle(&g).is_some());
}
