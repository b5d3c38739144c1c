//! Canonical fields ⇄ store fields (SPEC §5): which canonical fields a
//! mapping can name and in what order, the vCard property each one is, the
//! transforms that fit a field, the columns an SQL store cannot give to a
//! field, and the rules a set of SQL mappings must keep. Pure logic over the
//! config and a table's columns; the TUI's mapping editor builds on it.

use crate::config::transform;
use crate::config::{Config, Direction, Scope, StoreConfig, Transform};
use crate::model::contact::all_card_fields;
use crate::model::contact::{FieldPath, Kind};
use crate::model::sanitize::for_terminal;
use crate::model::{PerSide, Side};

/// One `[<side>.fields]` entry of an SQL store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key as written in the config (`"email[1]"`), so a change finds it.
    pub key: String,
    pub column: String,
    pub transform: Transform,
    pub direction: Direction,
}

impl Entry {
    /// A new entry for `field` in `column`, with the default transform and
    /// direction.
    pub fn new(field: FieldPath, column: &str) -> Entry {
        Entry {
            key: field.to_string(),
            column: column.to_string(),
            transform: Transform::None,
            direction: Direction::Both,
        }
    }
}

/// One mapping row: a canonical field and each SQL side's entry for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub field: FieldPath,
    pub entries: PerSide<Option<Entry>>,
}

impl Row {
    /// The entry whose direction and transform a row shows first.
    pub fn first_entry(&self) -> Option<&Entry> {
        self.entries.left.as_ref().or(self.entries.right.as_ref())
    }

    /// The row now maps `field`; an entry's key is rewritten unless it
    /// already names `field` (`"email[1]"` stays for `email[1]`).
    pub fn set_field(&mut self, field: FieldPath) {
        self.field = field;
        for entry in self.entries_mut() {
            if entry.key.parse::<FieldPath>().ok() != Some(field) {
                entry.key = field.to_string();
            }
        }
    }

    /// `side` maps the row's field to `column`, or not at all (`None`). A
    /// new entry takes its transform and direction from the other side's.
    pub fn set_column(&mut self, side: Side, column: Option<String>) {
        let template = self.entries.get(side.opposite()).clone();
        let field = self.field;
        let slot = self.entries.get_mut(side);
        *slot = match (column, slot.take()) {
            (None, _) => None,
            (Some(column), Some(entry)) => Some(Entry { column, ..entry }),
            (Some(column), None) => Some(Entry {
                key: field.to_string(),
                column,
                transform: template.as_ref().map_or(Transform::None, |e| e.transform),
                direction: template.as_ref().map_or(Direction::Both, |e| e.direction),
            }),
        };
    }

    /// Direction goes to the entries of both sides.
    pub fn set_direction(&mut self, direction: Direction) {
        for entry in self.entries_mut() {
            entry.direction = direction;
        }
    }

    /// Transform goes to the entries of both sides.
    pub fn set_transform(&mut self, transform: Transform) {
        for entry in self.entries_mut() {
            entry.transform = transform;
        }
    }

    fn entries_mut(&mut self) -> impl Iterator<Item = &mut Entry> {
        [&mut self.entries.left, &mut self.entries.right]
            .into_iter()
            .flatten()
    }
}

/// What a store contributes to the mapping: its name, its table and
/// columns, and the columns it keeps for itself.
#[derive(Debug, Clone)]
pub struct StoreInfo {
    /// Sanitised for the screen.
    pub name: String,
    pub sql: bool,
    /// Sanitised table name (SQL stores).
    pub table: String,
    /// Real columns of the table, sorted (empty for a card store, or when
    /// the table could not be read).
    pub columns: Vec<String>,
    /// Columns abgleich writes itself: id, modified, stamp, scope marker.
    pub reserved: Vec<(String, &'static str)>,
}

impl StoreInfo {
    /// `columns`: the table's real columns, in any order.
    pub fn new(store: &StoreConfig, mut columns: Vec<String>) -> StoreInfo {
        columns.sort();
        let mut reserved: Vec<(String, &'static str)> = Vec::new();
        if store.kind.is_sql() {
            let mut reserve = |c: &Option<String>, why| {
                if let Some(c) = c {
                    reserved.push((c.clone(), why));
                }
            };
            reserve(&store.id, "the table's id column");
            reserve(&store.modified, "the modified column");
            reserve(&store.stamp, "the stamp column");
            if let Scope::Column { column, .. } = &store.scope {
                reserved.push((column.clone(), "the sync marker column"));
            }
        }
        StoreInfo {
            name: for_terminal(&store.name).into_owned(),
            sql: store.kind.is_sql(),
            table: for_terminal(store.table.as_deref().unwrap_or_default()).into_owned(),
            columns,
            reserved,
        }
    }
}

/// The sides whose store is an SQL table.
pub fn sql_sides(stores: &PerSide<StoreInfo>) -> Vec<Side> {
    Side::BOTH
        .into_iter()
        .filter(|s| stores.get(*s).sql)
        .collect()
}

/// The SQL stores' `fields` entries, one row per canonical field, in the
/// order of [`canonical_fields`].
pub fn rows(config: &Config) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    for side in Side::BOTH {
        let store = config_store(config, side);
        if !store.kind.is_sql() {
            continue;
        }
        for mapping in &store.fields {
            let entry = Entry {
                key: mapping.key.clone(),
                column: mapping.column.clone().unwrap_or_default(),
                transform: mapping.transform,
                direction: mapping.direction,
            };
            match rows.iter_mut().find(|r| r.field == mapping.field) {
                Some(row) => *row.entries.get_mut(side) = Some(entry),
                None => {
                    let mut row = Row {
                        field: mapping.field,
                        entries: PerSide::default(),
                    };
                    *row.entries.get_mut(side) = Some(entry);
                    rows.push(row);
                }
            }
        }
    }
    sort(&mut rows);
    rows
}

/// Put `rows` in the order of [`canonical_fields`].
pub fn sort(rows: &mut [Row]) {
    rows.sort_by_key(|r| field_order(&r.field));
}

/// Number of canonical fields whose mapping differs between `before` and
/// `after`.
pub fn changed_fields(before: &[Row], after: &[Row]) -> usize {
    let mut fields: Vec<FieldPath> = after.iter().chain(before).map(|r| r.field).collect();
    fields.sort();
    fields.dedup();
    fields
        .iter()
        .filter(|f| {
            let now = after.iter().find(|r| r.field == **f);
            let then = before.iter().find(|r| r.field == **f);
            now != then
        })
        .count()
}

/// Canonical fields no row maps (plus `keep`, a row's own), in the order of
/// [`canonical_fields`].
pub fn unmapped(rows: &[Row], keep: Option<FieldPath>) -> Vec<FieldPath> {
    canonical_fields()
        .into_iter()
        .filter(|f| Some(*f) == keep || !rows.iter().any(|r| r.field == *f))
        .collect()
}

/// Why `rows` cannot be saved as they are, or `Ok`: a transform that does
/// not fit its field, a column abgleich writes itself, a column given to two
/// fields, a name part next to `name.full` with transform `name`, a row that
/// maps no column.
pub fn check(stores: &PerSide<StoreInfo>, rows: &[Row]) -> Result<(), String> {
    for side in sql_sides(stores) {
        let store = stores.get(side);
        let mut used: Vec<(&str, FieldPath)> = Vec::new();
        for row in rows {
            let Some(entry) = row.entries.get(side) else {
                continue;
            };
            if let Some(reason) = transform::refused(&row.field, entry.transform, true) {
                return Err(reason);
            }
            if let Some((_, why)) = store.reserved.iter().find(|(c, _)| *c == entry.column) {
                return Err(format!(
                    "{} cannot hold {}: {:?} is {why}, which abgleich writes itself",
                    store.name,
                    row.field,
                    for_terminal(&entry.column)
                ));
            }
            if let Some((_, other)) = used.iter().find(|(c, _)| *c == entry.column) {
                return Err(format!(
                    "{} column {:?} already holds {other}; change or remove that mapping first",
                    store.name,
                    for_terminal(&entry.column)
                ));
            }
            used.push((&entry.column, row.field));
        }
        let joins_names = rows.iter().any(|r| {
            r.field == FieldPath::NameFull
                && r.entries
                    .get(side)
                    .as_ref()
                    .is_some_and(|e| e.transform == Transform::Name)
        });
        if let Some(part) = rows.iter().find(|r| {
            joins_names
                && matches!(r.field, FieldPath::NameGiven | FieldPath::NameFamily)
                && r.entries.get(side).is_some()
        }) {
            return Err(format!(
                "name.full with transform \"name\" already fills name.given and name.family of {}; remove the {} mapping first",
                store.name, part.field
            ));
        }
    }
    if let Some(row) = rows
        .iter()
        .find(|r| r.entries.left.is_none() && r.entries.right.is_none())
    {
        return Err(format!(
            "{} would be mapped to no column; remove the row instead",
            row.field
        ));
    }
    Ok(())
}

fn config_store(config: &Config, side: Side) -> &StoreConfig {
    config.store(side)
}

/// Every canonical field a mapping can name, in display order: the card
/// fields, with the positional `email[N]` before the kinded e-mails.
pub fn canonical_fields() -> Vec<FieldPath> {
    let mut fields = all_card_fields();
    let at = fields
        .iter()
        .position(|f| matches!(f, FieldPath::Email { .. }))
        .unwrap_or(fields.len());
    let positional = (0..3).map(|index| FieldPath::Email { kind: None, index });
    fields.splice(at..at, positional);
    fields
}

/// Rows sort in the order of [`canonical_fields`]; a field outside it
/// (`email[7]`) goes after its kind's listed ones.
pub fn field_order(field: &FieldPath) -> (usize, FieldPath) {
    let fields = canonical_fields();
    let at = fields.iter().position(|f| f == field).unwrap_or_else(|| {
        fields
            .iter()
            .rposition(|f| f.class() == field.class())
            .map_or(fields.len(), |p| p + 1)
    });
    (at, *field)
}

/// The transforms an SQL store's `field` can take, `none` first.
pub fn fitting_transforms(field: &FieldPath) -> Vec<Transform> {
    let mut fitting: Vec<Transform> = Transform::ALL
        .iter()
        .copied()
        .filter(|t| transform::refused(field, *t, true).is_none())
        .collect();
    // Stable: the others keep the order of `Transform::ALL`.
    fitting.sort_by_key(|t| *t != Transform::None);
    fitting
}

/// The vCard property a canonical field corresponds to, as shown in the
/// editor: `EMAIL #1`, `TEL;TYPE=CELL`, `ADR;TYPE=WORK street`, `N given`.
pub fn card_property(field: &FieldPath) -> String {
    let typed = |property: &str, kind: Kind| match kind {
        // A property without TYPE is kind `other` (SPEC §4).
        Kind::Other => format!("{property} (no TYPE)"),
        kind => format!("{property};TYPE={}", kind.as_str().to_uppercase()),
    };
    let nth = |index: usize| {
        if index == 0 {
            String::new()
        } else {
            format!(" #{}", index + 1)
        }
    };
    match *field {
        FieldPath::NamePrefix => "N prefix".to_string(),
        FieldPath::NameGiven => "N given".to_string(),
        FieldPath::NameAdditional => "N additional".to_string(),
        FieldPath::NameFamily => "N family".to_string(),
        FieldPath::NameSuffix => "N suffix".to_string(),
        FieldPath::NameFull => "FN".to_string(),
        FieldPath::Nickname => "NICKNAME".to_string(),
        FieldPath::OrgName => "ORG".to_string(),
        FieldPath::OrgUnit => "ORG unit".to_string(),
        FieldPath::Title => "TITLE".to_string(),
        FieldPath::Email { kind: None, index } => format!("EMAIL #{}", index + 1),
        FieldPath::Email {
            kind: Some(kind),
            index,
        } => format!("{}{}", typed("EMAIL", kind), nth(index)),
        FieldPath::Phone { kind, index } => format!("{}{}", typed("TEL", kind), nth(index)),
        FieldPath::Adr { kind, part } => format!("{} {}", typed("ADR", kind), part.as_str()),
        FieldPath::Url { index } => format!("URL{}", nth(index)),
        FieldPath::Bday => "BDAY".to_string(),
        FieldPath::Note => "NOTE".to_string(),
        FieldPath::Categories => "CATEGORIES".to_string(),
        FieldPath::Prop(name) => name.as_str().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_properties_are_named_the_vcard_way() {
        let cases = [
            ("email[1]", "EMAIL #1"),
            ("email[2]", "EMAIL #2"),
            ("email.work", "EMAIL;TYPE=WORK"),
            ("email.other[2]", "EMAIL (no TYPE) #2"),
            ("phone.cell", "TEL;TYPE=CELL"),
            ("adr.work.street", "ADR;TYPE=WORK street"),
            ("name.given", "N given"),
            ("name.full", "FN"),
            ("org.name", "ORG"),
            ("note", "NOTE"),
            ("bday", "BDAY"),
            ("url", "URL"),
        ];
        for (field, property) in cases {
            assert_eq!(card_property(&field.parse().unwrap()), property, "{field}");
        }
    }

    /// A config whose `side` store maps `field` with `transform`; the other
    /// store is the left CRM table or the right card folder.
    fn config_with(side: Side, field: FieldPath, transform: Transform) -> Result<Config, String> {
        let entry = match side {
            Side::Left => format!("{{ column = \"c\", transform = \"{transform}\" }}"),
            Side::Right => format!("{{ transform = \"{transform}\" }}"),
        };
        let (left_field, right_fields) = match side {
            Side::Left => (format!("\"{field}\" = {entry}"), String::new()),
            Side::Right => (
                "\"note\" = \"c\"".to_string(),
                format!("[right.fields]\n\"{field}\" = {entry}\n"),
            ),
        };
        let text = format!(
            "[left]\nkind = \"sqlite\"\npath = \"crm.sqlite\"\ntable = \"t\"\nid = \"id\"\n\
             [left.fields]\n{left_field}\n\
             [right]\nkind = \"vdir\"\npath = \"cards\"\n{right_fields}"
        );
        Config::parse(&text, std::path::Path::new("/x/abgleich.toml")).map_err(|e| e.message)
    }

    /// What the mapping editor says when a row of the CRM table maps
    /// `field` with `transform`.
    fn editor_verdict(field: FieldPath, transform: Transform) -> Result<(), String> {
        let Ok(config) = config_with(Side::Left, FieldPath::Note, Transform::None) else {
            panic!("the base config parses");
        };
        let stores = PerSide::new(
            StoreInfo::new(&config.left, vec!["c".to_string(), "id".to_string()]),
            StoreInfo::new(&config.right, Vec::new()),
        );
        let mut entry = Entry::new(field, "c");
        entry.transform = transform;
        let rows = [Row {
            field,
            entries: PerSide::new(Some(entry), None),
        }];
        check(&stores, &rows)
    }

    #[test]
    fn the_parser_and_the_editor_refuse_the_same_transforms_alike() {
        let mut refused = 0;
        for field in canonical_fields() {
            for transform in Transform::ALL.iter().copied() {
                let parsed = config_with(Side::Left, field, transform).map(|_| ());
                let edited = editor_verdict(field, transform);
                assert_eq!(parsed, edited, "{transform} on {field} of the CRM table");
                let offered = fitting_transforms(&field).contains(&transform);
                assert_eq!(offered, parsed.is_ok(), "{transform} offered for {field}");
                // The editor does not edit a card store's entries; the
                // parser still keeps the same rule for them.
                let parsed = config_with(Side::Right, field, transform).map(|_| ());
                let rule = transform::refused(&field, transform, false);
                assert_eq!(
                    parsed.err(),
                    rule,
                    "{transform} on {field} of the card folder"
                );
                refused += usize::from(rule.is_some());
            }
        }
        assert!(refused > 0, "some combinations are refused");
    }
}
