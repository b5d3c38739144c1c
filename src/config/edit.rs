//! Edits of the config file's text that keep the operator's comments and
//! layout: the mapping editor changes `[left.fields]` / `[right.fields]`
//! entries through `toml_edit`, so every line it does not touch stays
//! byte for byte what the operator wrote.

use toml_edit::{DocumentMut, InlineTable, Item, Key, RawString, TableLike, Value};

use crate::config::{Direction, Transform};
use crate::model::Side;

fn parse(text: &str) -> Result<DocumentMut, String> {
    text.parse::<DocumentMut>()
        .map_err(|e| format!("the config is not valid TOML: {}", e.message().trim()))
}

/// The `fields` table of `side`, created as `[<side>.fields]` when missing.
fn fields_table(doc: &mut DocumentMut, side: Side) -> Result<&mut dyn TableLike, String> {
    let name = side.as_str();
    let store = doc
        .get_mut(name)
        .and_then(Item::as_table_like_mut)
        .ok_or_else(|| format!("the config has no [{name}] table"))?;
    if !store.contains_key("fields") {
        let mut table = toml_edit::Table::new();
        table.set_implicit(false);
        store.insert("fields", Item::Table(table));
    }
    store
        .get_mut("fields")
        .and_then(Item::as_table_like_mut)
        .ok_or_else(|| format!("[{name}].fields is not a table"))
}

/// The entry's value: `"column"` when transform and direction are the
/// defaults, else `{ column = "…", transform = "…", direction = "…" }`
/// with the default parts left out.
fn entry_value(column: Option<&str>, transform: Transform, direction: Direction) -> Value {
    if let (Some(column), Transform::None, Direction::Both) = (column, transform, direction) {
        return Value::from(column);
    }
    let mut table = InlineTable::new();
    if let Some(column) = column {
        table.insert("column", Value::from(column));
    }
    if transform != Transform::None {
        table.insert("transform", Value::from(transform.as_str()));
    }
    if direction != Direction::Both {
        table.insert("direction", Value::from(direction.as_str()));
    }
    table.fmt();
    Value::InlineTable(table)
}

/// A key written the way the sample writes field keys: always quoted
/// (`"title" = …`), since most canonical names contain a dot.
fn quoted_key(key: &str) -> Result<Key, String> {
    let quoted = Value::from(key).to_string();
    let mut keys = Key::parse(quoted.trim()).map_err(|e| format!("{key:?}: {e}"))?;
    match (keys.pop(), keys.is_empty()) {
        (Some(mut parsed), true) => {
            parsed.leaf_decor_mut().clear();
            Ok(parsed)
        }
        _ => Err(format!("{key:?} is not a single key")),
    }
}

/// Add or replace `[<side>.fields]."<key>"`. A replaced entry keeps its place
/// and the comment after it on its line; a new entry goes at the end of the
/// table.
pub fn set_mapping(
    text: &str,
    side: Side,
    key: &str,
    column: Option<&str>,
    transform: Transform,
    direction: Direction,
) -> Result<String, String> {
    let mut doc = parse(text)?;
    let fields = fields_table(&mut doc, side)?;
    let mut value = entry_value(column, transform, direction);
    match fields.get_mut(key) {
        Some(Item::Value(old)) => {
            // The old value's decor holds the space before it and the
            // comment after it on the same line.
            *value.decor_mut() = old.decor().clone();
            *old = value;
        }
        Some(item) => *item = Item::Value(value),
        None => {
            let key = quoted_key(key)?;
            match fields.entry_format(&key) {
                toml_edit::Entry::Vacant(slot) => {
                    slot.insert(Item::Value(value));
                }
                toml_edit::Entry::Occupied(mut slot) => {
                    slot.insert(Item::Value(value));
                }
            }
        }
    }
    Ok(doc.to_string())
}

/// Remove `[<side>.fields]."<key>"`. Comment lines written above the entry
/// move to the entry that follows (or stay below the one before), so a
/// comment about a group of fields survives the removal of its first one;
/// a comment at the end of the removed line goes with it.
pub fn remove_mapping(text: &str, side: Side, key: &str) -> Result<String, String> {
    let mut doc = parse(text)?;
    let name = side.as_str();
    let fields = doc
        .get_mut(name)
        .and_then(Item::as_table_like_mut)
        .and_then(|store| store.get_mut("fields"))
        .and_then(Item::as_table_like_mut)
        .ok_or_else(|| format!("the config has no [{name}.fields] table"))?;
    let keys: Vec<String> = fields.iter().map(|(k, _)| k.to_string()).collect();
    let Some(at) = keys.iter().position(|k| k == key) else {
        return Err(format!("[{name}.fields] has no entry \"{key}\""));
    };
    let above = fields
        .key(key)
        .and_then(|k| k.leaf_decor().prefix())
        .and_then(RawString::as_str)
        .map(comment_lines)
        .unwrap_or_default();
    fields.remove(key);
    if !above.is_empty() {
        if let Some(next) = keys.get(at + 1) {
            if let Some(mut next_key) = fields.key_mut(next) {
                let decor = next_key.leaf_decor_mut();
                let old = decor
                    .prefix()
                    .and_then(RawString::as_str)
                    .unwrap_or_default()
                    .to_string();
                decor.set_prefix(format!("{above}{old}"));
            }
        } else if let Some(before) = at.checked_sub(1).and_then(|i| keys.get(i)) {
            // The last entry: the lines go after the one before it, as the
            // end of its line.
            if let Some(Item::Value(value)) = fields.get_mut(before) {
                let decor = value.decor_mut();
                let old = decor
                    .suffix()
                    .and_then(RawString::as_str)
                    .unwrap_or_default()
                    .to_string();
                decor.set_suffix(format!("{old}\n{}", above.trim_end_matches('\n')));
            }
        }
    }
    Ok(doc.to_string())
}

/// The comment lines (with their line ends) of a key's prefix decor.
fn comment_lines(prefix: &str) -> String {
    prefix
        .split_inclusive('\n')
        .filter(|line| line.trim_start().starts_with('#'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, INIT_TEMPLATE};
    use std::path::Path;

    fn comments(text: &str) -> Vec<&str> {
        text.lines()
            .filter_map(|line| line.find('#').map(|at| line[at..].trim_end()))
            .collect()
    }

    fn valid(text: &str) -> Config {
        match Config::parse(text, Path::new("/x/abgleich.toml")) {
            Ok(config) => config,
            Err(e) => panic!("{e}\n{text}"),
        }
    }

    #[test]
    fn comments_survive_an_add_a_change_and_a_remove() {
        let added = set_mapping(
            INIT_TEMPLATE,
            Side::Left,
            "nickname",
            Some("email_private"),
            Transform::None,
            Direction::Both,
        )
        .unwrap();
        assert!(
            added.contains("\n\"nickname\" = \"email_private\"\n"),
            "{added}"
        );
        let changed = set_mapping(
            &added,
            Side::Left,
            "phone.cell",
            Some("mobile"),
            Transform::E164,
            Direction::LeftToRight,
        )
        .unwrap();
        assert!(
            changed.contains(
                "\"phone.fax\" = \"fax\"\n"
            ) && changed.contains(
                "\"phone.cell\" = { column = \"mobile\", transform = \"e164\", direction = \"left-to-right\" }\n\"phone.home\""
            ),
            "the changed entry keeps its place: {changed}"
        );
        // The first entry under a comment: the comment stays, above the next.
        let removed = remove_mapping(&changed, Side::Left, "adr.work.street").unwrap();
        assert!(
            removed.contains("pick another one.\n\"adr.work.code\" = \"zip\""),
            "{removed}"
        );
        for text in [&added, &changed, &removed] {
            assert_eq!(comments(text), comments(INIT_TEMPLATE));
            valid(text);
        }
        let config = valid(&removed);
        let cell = config
            .left
            .fields
            .iter()
            .find(|f| f.key == "phone.cell")
            .unwrap();
        assert_eq!(cell.transform, Transform::E164);
        assert_eq!(cell.direction, Direction::LeftToRight);
        assert!(config.left.fields.iter().any(|f| f.key == "nickname"));
        assert!(
            !config
                .left
                .fields
                .iter()
                .any(|f| f.key == "adr.work.street")
        );
    }

    #[test]
    fn set_then_remove_of_a_new_key_restores_the_text_byte_for_byte() {
        for (side, text) in [(Side::Left, INIT_TEMPLATE), (Side::Left, SMALL)] {
            let added = set_mapping(
                text,
                side,
                "phone.pager[2]",
                Some("pager"),
                Transform::E164,
                Direction::None,
            )
            .unwrap();
            assert_ne!(added, text);
            assert_eq!(
                remove_mapping(&added, side, "phone.pager[2]").unwrap(),
                text
            );
        }
    }

    const SMALL: &str = "[left]  # the CRM
kind = \"sqlite\"
path = \"crm.sqlite\"
table = \"t\"
id = \"id\"

[left.fields]
\"name.given\" = \"first\"   # the given name
# last of the table
\"note\" = { column = \"notes\" }  # free text

[right]
kind = \"vdir\"
path = \"cards\"
";

    #[test]
    fn a_replaced_entry_keeps_its_line_comment() {
        let out = set_mapping(
            SMALL,
            Side::Left,
            "name.given",
            Some("vorname"),
            Transform::None,
            Direction::RightToLeft,
        )
        .unwrap();
        assert!(
            out.contains(
                "\"name.given\" = { column = \"vorname\", direction = \"right-to-left\" }   # the given name\n"
            ),
            "{out}"
        );
        let out = set_mapping(
            &out,
            Side::Left,
            "note",
            Some("notes"),
            Transform::None,
            Direction::Both,
        )
        .unwrap();
        assert!(out.contains("\"note\" = \"notes\"  # free text\n"), "{out}");
        valid(&out);
    }

    #[test]
    fn comment_lines_above_the_last_entry_survive_its_removal() {
        let out = remove_mapping(SMALL, Side::Left, "note").unwrap();
        assert_eq!(
            comments(&out),
            vec!["# the CRM", "# the given name", "# last of the table"]
        );
        assert!(!out.contains("notes"), "{out}");
        assert_eq!(valid(&out).left.fields.len(), 1);
    }

    #[test]
    fn a_missing_fields_table_is_created() {
        let out = set_mapping(
            SMALL,
            Side::Right,
            "note",
            None,
            Transform::None,
            Direction::LeftToRight,
        )
        .unwrap();
        assert!(
            out.ends_with("[right.fields]\n\"note\" = { direction = \"left-to-right\" }\n"),
            "{out}"
        );
        assert_eq!(valid(&out).right.fields.len(), 1);
    }

    #[test]
    fn removing_an_absent_key_and_broken_text_are_errors() {
        assert!(
            remove_mapping(SMALL, Side::Left, "bday")
                .unwrap_err()
                .contains("no entry \"bday\"")
        );
        assert!(
            set_mapping(
                "[left",
                Side::Left,
                "note",
                Some("n"),
                Transform::None,
                Direction::Both
            )
            .is_err()
        );
        assert!(remove_mapping("x = 1", Side::Right, "note").is_err());
    }
}
