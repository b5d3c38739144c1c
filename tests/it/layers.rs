//! The crate is built in layers, so that the model and the codec can be read
//! and tested without the stores, the engine or the screen. The compiler does
//! not enforce that, so these tests read `src/` and fail when a module reaches
//! up a layer, when files depend on each other in a circle, or when a new file
//! has not been given a layer on purpose.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};

/// (module path prefix, layer name, rank), lowest layer first. A module may
/// use its own layer and those below; the longest matching prefix wins.
/// `bin` is the binary crate (src/main.rs, src/cli/**): it gets a namespace of
/// its own because its `cli::sync` must not be mistaken for `crate::sync`.
const LAYERS: &[(&str, &str, u8)] = &[
    ("crate::model", "model", 0),
    ("crate::vcard", "codec", 1),
    ("crate::config", "config", 2),
    ("crate::store", "stores", 3),
    ("crate::sync", "engine", 4),
    ("crate::check", "engine", 4),
    ("crate::tui", "front ends", 5),
    ("crate::samples", "front ends", 5),
    ("crate::text", "front ends", 5),
    ("bin", "front ends", 5),
];

/// lib.rs only declares modules, so it is in no layer and depending on it
/// (a `crate::foo!` macro, say) is no edge.
const LIB_ROOT: &str = "crate";
const BIN_ROOT: &str = "bin";
/// The directory of the binary's modules (src/main.rs declares only `mod cli;`).
const BIN_DIR: &str = "cli";

struct Source {
    file: String,
    module: String,
    text: String,
}

/// File `from` refers to something in file `to`, first on `line`.
struct Edge {
    from: String,
    from_module: String,
    to: String,
    to_module: String,
    line: usize,
}

#[test]
fn no_module_uses_a_layer_above_it() {
    fail_if_any(
        layer_violations(&edges(&project_sources())),
        "References to a higher layer",
        "A module may use its own layer and those below (LAYERS in tests/it/layers.rs, lowest \
         first). Move what both need down into the lower layer, or let the higher one pass it in.",
    );
}

/// (from, to, why): module prefixes that may not use each other although
/// the layers would allow it.
const FORBIDDEN: &[(&str, &str, &str)] = &[
    (
        "crate::tui",
        "crate::store",
        "the screen reaches the stores only through the engine (sync::session)",
    ),
    (
        "bin",
        "crate::store",
        "the command line reaches the stores only through the engine (sync::session, check)",
    ),
];

#[test]
fn front_ends_reach_stores_only_through_the_engine() {
    let edges = edges(&project_sources());
    let problems = edges
        .iter()
        .flat_map(|e| {
            FORBIDDEN
                .iter()
                .filter(|(from, to, _)| within(&e.from_module, from) && within(&e.to_module, to))
                .map(move |(_, _, why)| {
                    format!("{}:{} uses {}: {why}", e.from, e.line, e.to_module)
                })
        })
        .collect();
    fail_if_any(
        problems,
        "Forbidden references",
        "Offer what the front end needs through the engine instead.",
    );
}

/// Whether `module` is `prefix` or inside it.
fn within(module: &str, prefix: &str) -> bool {
    module == prefix || module.starts_with(&format!("{prefix}::"))
}

#[test]
fn no_import_cycle_between_files() {
    fail_if_any(
        cycles(&edges(&project_sources())),
        "Import cycles between files",
        "Files in a cycle can only be understood and changed together. Break each cycle: move \
         what they share into a file that both use, or pass it in instead of reaching for it.",
    );
}

#[test]
fn every_file_is_in_a_layer() {
    fail_if_any(
        unplaced(&project_sources()),
        "Files in no layer",
        "Each module must be placed deliberately: add its path prefix to LAYERS.",
    );
}

fn fail_if_any(problems: Vec<String>, what: &str, advice: &str) {
    let (count, list) = (problems.len(), problems.join("\n"));
    assert!(problems.is_empty(), "{what} ({count}):\n{list}\n\n{advice}");
}

fn project_sources() -> Vec<Source> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    collect_rs_files(&src, &mut paths);
    assert!(!paths.is_empty(), "no .rs files under {}", src.display());
    paths.sort();
    let source = |path: PathBuf| {
        let rel = path
            .strip_prefix(&src)
            .expect("below src")
            .to_string_lossy()
            .replace('\\', "/");
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Source {
            file: format!("src/{rel}"),
            module: module_of(&rel),
            text,
        }
    };
    paths.into_iter().map(source).collect()
}

fn collect_rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .path();
        if path.is_dir() {
            collect_rs_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The module of a file, given its path below `src/` with `/` separators.
fn module_of(rel: &str) -> String {
    let rel = rel.strip_suffix(".rs").unwrap_or(rel);
    let rel = rel.strip_suffix("/mod").unwrap_or(rel);
    let in_bin = rel == BIN_DIR || rel.starts_with(&format!("{BIN_DIR}/"));
    match rel {
        "lib" => LIB_ROOT.to_string(),
        "main" => BIN_ROOT.to_string(),
        _ if in_bin => format!("{BIN_ROOT}::{}", rel.replace('/', "::")),
        _ => format!("{LIB_ROOT}::{}", rel.replace('/', "::")),
    }
}

fn layer_of(module: &str) -> Option<(&'static str, u8)> {
    LAYERS
        .iter()
        .filter(|(prefix, ..)| module == *prefix || module.starts_with(&format!("{prefix}::")))
        .max_by_key(|(prefix, ..)| prefix.len())
        .map(|&(_, name, rank)| (name, rank))
}

fn unplaced(sources: &[Source]) -> Vec<String> {
    let unplaced = sources
        .iter()
        .filter(|s| s.module != LIB_ROOT && layer_of(&s.module).is_none());
    let problem = |s: &Source| {
        let (file, module) = (&s.file, &s.module);
        format!("{file} ({module}) is in no layer; add it to LAYERS in tests/it/layers.rs")
    };
    unplaced.map(problem).collect()
}

fn layer_violations(edges: &[Edge]) -> Vec<String> {
    let violation = |e: &Edge| {
        let (from_layer, from_rank) = layer_of(&e.from_module)?;
        let (to_layer, to_rank) = layer_of(&e.to_module)?;
        let (file, line, to) = (&e.from, e.line, &e.to_module);
        let problem =
            format!("{file}:{line} ({from_layer}) uses {to} ({to_layer}), a layer above it");
        (to_rank > from_rank).then_some(problem)
    };
    edges.iter().filter_map(violation).collect()
}

/// One edge per pair of files, at the first line that makes it.
fn edges(sources: &[Source]) -> Vec<Edge> {
    let files: BTreeMap<&str, &str> = sources
        .iter()
        .map(|s| (s.module.as_str(), s.file.as_str()))
        .collect();
    let mut first_line: BTreeMap<(&str, &str), (&str, usize)> = BTreeMap::new();
    for s in sources.iter().filter(|s| s.module != LIB_ROOT) {
        for (path, line) in references(&s.text, &s.module) {
            let Some(target) = resolve(&path, &files) else {
                continue;
            };
            if target != s.module && target != LIB_ROOT {
                let first = first_line
                    .entry((&s.file, target))
                    .or_insert((&s.module, line));
                first.1 = first.1.min(line);
            }
        }
    }
    let edge = |((from, to_module), (from_module, line)): ((&str, &str), (&str, usize))| Edge {
        from: from.to_string(),
        from_module: from_module.to_string(),
        to: files[to_module].to_string(),
        to_module: to_module.to_string(),
        line,
    };
    first_line.into_iter().map(edge).collect()
}

/// The longest prefix of an absolute path that is a file's module.
fn resolve<'a>(path: &str, modules: &BTreeMap<&'a str, &str>) -> Option<&'a str> {
    let mut prefix = path;
    loop {
        if let Some((module, _)) = modules.get_key_value(prefix) {
            return Some(module);
        }
        prefix = &prefix[..prefix.rfind("::")?];
    }
}

/// Each set of files that reach each other, shown as its shortest cycle
/// through its first file; fixing that and rerunning shows what remains.
fn cycles(edges: &[Edge]) -> Vec<String> {
    let mut out_of: BTreeMap<&str, Vec<&Edge>> = BTreeMap::new();
    for e in edges {
        out_of.entry(&e.from).or_default().push(e);
    }
    let reach: BTreeMap<&str, BTreeMap<&str, &Edge>> = out_of
        .keys()
        .map(|&file| (file, reached_by(&out_of, file)))
        .collect();
    let mut placed = BTreeSet::new();
    let mut problems = Vec::new();
    for (&start, from_start) in &reach {
        let Some(&last) = from_start.get(start).filter(|_| !placed.contains(start)) else {
            continue;
        };
        let returns = |file: &&str| reach.get(file).is_some_and(|r| r.contains_key(start));
        let tangle: BTreeSet<&str> = from_start.keys().copied().filter(returns).collect();
        placed.extend(tangle.iter().copied());
        let mut cycle = vec![last];
        while let Some(&e) = cycle.last().filter(|e| e.from != start) {
            cycle.push(from_start[e.from.as_str()]);
        }
        cycle.reverse();
        let files: Vec<&str> = cycle
            .iter()
            .map(|e| e.from.as_str())
            .chain([start])
            .collect();
        let via: Vec<String> = cycle
            .iter()
            .map(|e| format!("{}:{} uses {}", e.from, e.line, e.to_module))
            .collect();
        let mut problem = format!("import cycle: {} ({})", files.join(" → "), via.join(", "));
        let rest: Vec<&str> = tangle.into_iter().filter(|f| !files.contains(f)).collect();
        if !rest.is_empty() {
            problem += &format!("; in the same tangle: {}", rest.join(", "));
        }
        problems.push(problem);
    }
    problems
}

/// Breadth first from `start`: each file reachable in one step or more, with
/// the edge it was first reached by (so `start` is in it only if on a cycle).
fn reached_by<'a>(
    out_of: &BTreeMap<&str, Vec<&'a Edge>>,
    start: &str,
) -> BTreeMap<&'a str, &'a Edge> {
    let mut by = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(file) = queue.pop_front() {
        for &e in out_of.get(file).into_iter().flatten() {
            if !by.contains_key(e.to.as_str()) {
                by.insert(e.to.as_str(), e);
                queue.push_back(&e.to);
            }
        }
    }
    by
}

/// Every path in `text` that may name a module of this crate, made absolute
/// (`crate::…`, or `bin::…` in the binary), with its line.
fn references(text: &str, module: &str) -> Vec<(String, usize)> {
    let toks = tokens(text);
    let tok = |k: usize| toks.get(k).map_or("", |t| t.0);
    let mut found = Vec::new();
    // The module at this point, and the brace depths inline `mod x {` opened at.
    let (mut here, mut opened_at, mut depth) = (module.to_string(), Vec::new(), 0);
    let mut i = 0;
    while i < toks.len() {
        // Wrapped (out of range) indices read as "".
        let before = tok(i.wrapping_sub(1));
        match tok(i) {
            "{" => depth += 1,
            "}" => {
                depth = usize::saturating_sub(depth, 1);
                if opened_at.last() == Some(&depth) {
                    opened_at.pop();
                    here.truncate(here.rfind("::").unwrap_or(here.len()));
                }
            }
            "mod" if tok(i + 2) == "{" => {
                opened_at.push(depth);
                here = format!("{here}::{}", tok(i + 1));
            }
            "use" => {
                for (path, line) in use_leaves(&toks, &mut i) {
                    found.extend(absolute(&path, &here).map(|p| (p, line)));
                }
                continue; // `toks[i]` ends the tree, and may be a brace to count
            }
            // `pub(in crate::a)` names an ancestor for visibility: no dependency.
            _ if before == "in" && tok(i.wrapping_sub(2)) == "(" => {}
            first if is_word(first) && tok(i + 1) == "::" && before != "::" => {
                let (mut path, line) = (vec![first], toks[i].1);
                while tok(i + 1) == "::" && is_word(tok(i + 2)) {
                    path.push(tok(i + 2));
                    i += 2;
                }
                found.extend(absolute(&path, &here).map(|p| (p, line)));
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// The paths of the `use` declaration at `toks[*i]`, each with the line of its
/// last segment; leaves `*i` at the `;`. `self` stays a segment, for `absolute`.
fn use_leaves<'a>(toks: &[(&'a str, usize)], i: &mut usize) -> Vec<(Vec<&'a str>, usize)> {
    let (mut leaves, mut path, mut prefix_lens) = (Vec::new(), Vec::new(), vec![0]);
    let (mut line, mut is_leaf) = (0, false);
    loop {
        *i += 1;
        let Some(&(tok, tok_line)) = toks.get(*i) else {
            break;
        };
        match tok {
            "::" => {}
            "as" => *i += 1,
            "{" => {
                prefix_lens.push(path.len());
                is_leaf = false;
            }
            "*" => (line, is_leaf) = (tok_line, true),
            "," | "}" | ";" => {
                if is_leaf {
                    leaves.push((path.clone(), line));
                }
                is_leaf = false;
                if tok == "}" {
                    prefix_lens.pop();
                }
                match prefix_lens.last() {
                    Some(&len) if tok != ";" => path.truncate(len),
                    _ => break,
                }
            }
            _ if is_word(tok) => {
                path.push(tok);
                (line, is_leaf) = (tok_line, true);
            }
            _ => break, // not a use tree after all, like `impl Trait + use<'a>`
        }
    }
    leaves
}

/// A bare first segment is taken as relative to `here`: then it can match only
/// a child module's file (`plan::Op` in sync/mod.rs); extern crates and items
/// in scope resolve back to the file itself, which is no edge.
fn absolute(path: &[&str], here: &str) -> Option<String> {
    let (&first, rest) = path.split_first()?;
    let here: Vec<&str> = here.split("::").collect();
    let mut abs = match first {
        "crate" => vec![here[0]],
        "abgleich" if here[0] == BIN_ROOT => vec![LIB_ROOT],
        "self" => here,
        "super" => here[..here.len().saturating_sub(1).max(1)].to_vec(),
        _ => [&here[..], &[first]].concat(),
    };
    for &segment in rest {
        match segment {
            "self" => {}
            "super" if abs.len() > 1 => drop(abs.pop()),
            _ => abs.push(segment),
        }
    }
    Some(abs.join("::"))
}

fn is_word(token: &str) -> bool {
    token.starts_with(|c: char| c.is_alphabetic() || c == '_')
}

/// Non-ASCII bytes count as identifier bytes, so tokens split only at ASCII.
fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// Identifiers, `::` and other single characters, each with its line. Comments
/// and literals are skipped, so prose like "see crate::tui" is no reference.
fn tokens(text: &str) -> Vec<(&str, usize)> {
    let b = text.as_bytes();
    let (mut toks, mut line, mut i) = (Vec::new(), 1, 0);
    while i < b.len() {
        let skip = skipped_until(text, i);
        if skip > i {
            line += b[i..skip].iter().filter(|&&c| c == b'\n').count();
            i = skip;
            continue;
        }
        // What `skipped_until` leaves of `r#` is a raw identifier.
        let start = if b[i..].starts_with(b"r#") { i + 2 } else { i };
        let mut end = start + 1;
        match b.get(start) {
            Some(b'\n') => line += 1,
            Some(c) if c.is_ascii_whitespace() => {}
            Some(&c) => {
                if is_ident_byte(c) {
                    end += b[end..].iter().take_while(|&&c| is_ident_byte(c)).count();
                } else if b[start..].starts_with(b"::") {
                    end += 1;
                }
                toks.push((&text[start..end], line));
            }
            None => {}
        }
        i = end;
    }
    toks
}

/// Where the comment, string or char literal starting at `text[i]` ends, or
/// `i` when none starts there (a lifetime `'a` is no char literal).
fn skipped_until(text: &str, i: usize) -> usize {
    let b = text.as_bytes();
    let at = |k: usize| b.get(k).copied().unwrap_or(0);
    let find = |from: usize, byte: u8| (from..b.len()).find(|&k| b[k] == byte);
    // The prefix of byte and C strings.
    let j = i + usize::from(matches!(at(i), b'b' | b'c'));
    match (at(j), at(j + 1)) {
        (b'/', b'/') if j == i => find(i, b'\n').unwrap_or(b.len()),
        (b'/', b'*') if j == i => {
            let (mut depth, mut k) = (0, i);
            while k < b.len() {
                match (b[k], at(k + 1)) {
                    (b'/', b'*') => (depth, k) = (depth + 1, k + 2),
                    (b'*', b'/') if depth == 1 => return k + 2,
                    (b'*', b'/') => (depth, k) = (depth - 1, k + 2),
                    _ => k += 1,
                }
            }
            b.len()
        }
        (b'r', b'"' | b'#') => {
            let hashes = b[j + 1..].iter().take_while(|&&c| c == b'#').count();
            if at(j + 1 + hashes) != b'"' {
                return i;
            }
            let closes = |k: usize| b[k] == b'"' && (1..=hashes).all(|h| at(k + h) == b'#');
            (j + 2 + hashes..b.len())
                .find(|&k| closes(k))
                .map_or(b.len(), |k| k + 1 + hashes)
        }
        (b'"', _) => {
            let mut k = j + 1;
            while k < b.len() && b[k] != b'"' {
                k += if b[k] == b'\\' { 2 } else { 1 };
            }
            (k + 1).min(b.len())
        }
        (b'\'', b'\\') => find(j + 3, b'\'').map_or(b.len(), |k| k + 1),
        (b'\'', _) => {
            let len = text[j + 1..].chars().next().map_or(1, char::len_utf8);
            if at(j + 1 + len) == b'\'' {
                j + 2 + len
            } else {
                i
            }
        }
        _ => i,
    }
}

mod parse_tests {
    use super::*;

    /// Asserts what `text` uses ("module:line", sorted) as the file of
    /// `module` in a crate with a few files.
    fn check(module: &str, text: &str, expected: &str) {
        let files = "crate crate::config crate::store crate::store::vdir crate::sync \
                     crate::sync::plan crate::sync::fields crate::tui bin bin::cli bin::cli::screen";
        let source = |m: &str, text: &str| Source {
            file: m.into(),
            module: m.into(),
            text: text.into(),
        };
        let mut sources = vec![source(module, text)];
        sources.extend(
            files
                .split(' ')
                .filter(|&m| m != module)
                .map(|m| source(m, "")),
        );
        let found: Vec<String> = edges(&sources)
            .iter()
            .map(|e| format!("{}:{}", e.to_module, e.line))
            .collect();
        assert_eq!(found.join(" "), expected, "in {module}: {text}");
    }

    /// An edge between `crate::a` in src/a.rs and `crate::b` in src/b.rs, for "a>b".
    fn edge(from_to: &str, line: usize) -> Edge {
        let (from, to) = from_to.split_once('>').expect("from>to");
        let (from_module, to_module) = (format!("crate::{from}"), format!("crate::{to}"));
        let file = |m: &str| format!("src/{}.rs", m.replace("::", "/"));
        Edge {
            from: file(from),
            from_module,
            to: file(to),
            to_module,
            line,
        }
    }

    #[test]
    fn files_map_to_modules() {
        let files = "lib.rs sync/mod.rs sync/plan.rs main.rs cli/mod.rs cli/sync.rs";
        let modules: Vec<String> = files.split(' ').map(module_of).collect();
        assert_eq!(
            modules.join(" "),
            "crate crate::sync crate::sync::plan bin bin::cli bin::cli::sync"
        );
    }

    #[test]
    fn nested_braces_resolve_to_the_longest_file_prefix() {
        let text = "use crate::{config::{Config, Mode}, store::vdir::Dir, sync::apply::Op};";
        check(
            "crate::tui",
            text,
            "crate::config:1 crate::store::vdir:1 crate::sync:1",
        );
    }

    #[test]
    fn a_multi_line_use_gives_the_line_of_each_leaf() {
        let text =
            "//! Doc.\nuse crate::{\n    config::Config,\n    store::{self, vdir as d},\n};\n";
        check(
            "crate::tui",
            text,
            "crate::config:3 crate::store:4 crate::store::vdir:4",
        );
    }

    #[test]
    fn super_from_mod_rs_is_one_level_higher_than_from_a_plain_file() {
        // src/sync/mod.rs is crate::sync; src/sync/plan.rs is crate::sync::plan.
        check(
            "crate::sync",
            "use super::config::Config;",
            "crate::config:1",
        );
        check(
            "crate::sync::plan",
            "use super::fields::F;",
            "crate::sync::fields:1",
        );
        check(
            "crate::sync::plan",
            "use super::super::config::*;",
            "crate::config:1",
        );
    }

    #[test]
    fn self_in_braces_and_paths_below_self() {
        let both = "crate::sync:1 crate::sync::plan:1";
        check(
            "crate::tui",
            "pub(crate) use crate::sync::{self, plan};",
            both,
        );
        check("crate::sync::fields", "use super::{self, plan::Op};", both);
        // A child module named without `self::` is the same dependency.
        let text = "use self::plan::Op;\nfn f() { fields::g() }";
        check(
            "crate::sync",
            text,
            "crate::sync::fields:2 crate::sync::plan:1",
        );
    }

    #[test]
    fn comments_and_literals_are_no_references() {
        let text = r####"
            //! See crate::tui.
            /// Unlike crate::tui::run, this ...
            /* crate::tui /* nested */ crate::tui */
            fn f() -> &'static str {
                let _ = ('"', b'x', '\'', "esc \" crate::tui", b"crate::tui", c"crate::tui", 'é');
                let _ = br"crate::tui";
                r##"crate::tui "# crate::tui"##
            }
            let r#type = crate::store::open();
        "####;
        check("crate::sync", text, "crate::store:10");
    }

    #[test]
    fn lifetimes_are_not_char_literals() {
        let text = "fn f<'a>(x: &'a str) -> crate::store::Item<'a> { 'outer: loop {} }";
        check("crate::sync", text, "crate::store:1");
        let text = "fn f() -> impl Sized + use<'a> { crate::store::open() }";
        check("crate::sync", text, "crate::store:1");
    }

    #[test]
    fn inline_paths_count_and_visibility_does_not() {
        let text = "pub(in crate::sync) fn f() -> crate::config::Config { super::fields::new(); \
                    crate::sync::plan::Plan::<u8>::new() }";
        let found = "crate::config:1 crate::sync::fields:1 crate::sync::plan:1";
        check("crate::sync::x", text, found);
        let text = "use super::load; fn f() { abgleich::sync::plan::Plan::new(); crate::cli::screen::go() }";
        check(
            "bin::cli::sync",
            text,
            "bin::cli:1 bin::cli::screen:1 crate::sync::plan:1",
        );
    }

    #[test]
    fn super_in_an_inline_module_is_the_file_itself() {
        let text = "mod tests { fn f() -> char { '}' } use super::*; use super::super::fields::F; }\n\
                    use super::plan::P;";
        check(
            "crate::sync::x",
            text,
            "crate::sync::fields:1 crate::sync::plan:2",
        );
    }

    #[test]
    fn layers_match_whole_segments_and_only_upward_uses_fail() {
        assert_eq!(layer_of("crate::model::fold"), Some(("model", 0)));
        assert_eq!(layer_of("crate::tui::model"), Some(("front ends", 5)));
        assert_eq!(layer_of("bin::cli::sync"), Some(("front ends", 5)));
        assert_eq!(layer_of("crate::modelling"), None);
        let found = layer_violations(&[edge("store>sync::plan", 12), edge("sync>store", 3)]);
        let upward = "src/store.rs:12 (stores) uses crate::sync::plan (engine), a layer above it";
        assert_eq!(found, [upward]);
    }

    #[test]
    fn cycles_are_found_and_shown_with_lines() {
        let graph = "a>b b>c c>a c>d x>y y>x y>z z>y".split(' ');
        let graph: Vec<Edge> = graph.zip(1..).map(|(e, line)| edge(e, line)).collect();
        let abc = "import cycle: src/a.rs → src/b.rs → src/c.rs → src/a.rs \
                   (src/a.rs:1 uses crate::b, src/b.rs:2 uses crate::c, src/c.rs:3 uses crate::a)";
        let xy = "import cycle: src/x.rs → src/y.rs → src/x.rs (src/x.rs:5 uses crate::y, \
                  src/y.rs:6 uses crate::x); in the same tangle: src/z.rs";
        assert_eq!(cycles(&graph), [abc, xy]);
        assert!(cycles(&graph[..2]).is_empty());
    }
}
