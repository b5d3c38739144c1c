//! The base of a link: what both sides held, field by field, at the last
//! sync, and its stored JSON form. The planner compares each side with it
//! (three-way); the state keeps it per link.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Map, Value};

use crate::model::PerSide;
use crate::model::contact::FieldPath;

/// What both sides held for one field at the last sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseValue {
    /// The values each side held (equal in normal form, unless a limit or a
    /// one-way mapping kept them apart).
    Known(PerSide<Option<String>>),
    /// Never agreed (a new link whose values differ and are not resolved yet).
    Unknown,
}

/// The base of a link. A field without an entry was empty on both sides.
///
/// A base loaded from the state stays in its stored form until it is first
/// asked: a plan compares the bases only of pairs that changed, so most
/// links of a large book never need theirs parsed (nor held field by field).
/// A plan's links may leave it in the state altogether ([`BaseSource`]):
/// it is read from there when first asked.
#[derive(Clone, Default)]
pub struct Base {
    stored: Stored,
    fields: OnceLock<BTreeMap<FieldPath, BaseValue>>,
}

/// Where a base is while `fields` has not been made from it.
#[derive(Clone, Default)]
enum Stored {
    /// Made field by field (or empty).
    #[default]
    Nowhere,
    /// Its stored JSON.
    Text(Box<str>),
    /// In the state, under this link id.
    InState(Arc<BaseSource>, i64),
}

/// A state file the bases of links are read from when first asked: a
/// connection of its own, opened for reading when the first is read, so
/// that a plan holds in memory only the bases of the pairs it compares.
/// A base it could not read is empty, and the error is kept: whoever made
/// the links asks [`BaseSource::failure`] before anything is written.
pub struct BaseSource {
    open: Box<dyn Fn() -> rusqlite::Result<rusqlite::Connection> + Send + Sync>,
    conn: Mutex<Option<rusqlite::Connection>>,
    failed: OnceLock<String>,
}

impl BaseSource {
    pub fn new(
        open: impl Fn() -> rusqlite::Result<rusqlite::Connection> + Send + Sync + 'static,
    ) -> Arc<BaseSource> {
        Arc::new(BaseSource {
            open: Box::new(open),
            conn: Mutex::new(None),
            failed: OnceLock::new(),
        })
    }

    /// Why a base could not be read, if one could not.
    pub fn failure(&self) -> Option<&str> {
        self.failed.get().map(String::as_str)
    }

    fn read(&self, link_id: i64) -> Option<String> {
        let read = || -> rusqlite::Result<String> {
            let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
            let conn = match &mut *conn {
                Some(opened) => opened,
                unopened => unopened.insert((self.open)()?),
            };
            conn.prepare_cached("SELECT base FROM links WHERE link_id = ?1")?
                .query_row([link_id], |row| row.get(0))
        };
        match read() {
            Ok(text) => Some(text),
            Err(e) => {
                let _ = self
                    .failed
                    .set(format!("the base of link {link_id} could not be read: {e}"));
                None
            }
        }
    }
}

impl std::fmt::Debug for Base {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.fields()).finish()
    }
}

impl PartialEq for Base {
    fn eq(&self, other: &Self) -> bool {
        self.fields() == other.fields()
    }
}

impl Eq for Base {}

impl Base {
    fn fields(&self) -> &BTreeMap<FieldPath, BaseValue> {
        self.fields.get_or_init(|| match &self.stored {
            Stored::Nowhere => BTreeMap::new(),
            Stored::Text(text) => parse(text),
            Stored::InState(source, link_id) => source
                .read(*link_id)
                .as_deref()
                .map(parse)
                .unwrap_or_default(),
        })
    }

    fn fields_mut(&mut self) -> &mut BTreeMap<FieldPath, BaseValue> {
        // Parsed if it was not yet; the stored text is then out of date.
        self.fields();
        self.stored = Stored::Nowhere;
        match self.fields.get_mut() {
            Some(fields) => fields,
            None => unreachable!("`fields()` has just set them"),
        }
    }

    pub fn get(&self, field: &FieldPath) -> BaseValue {
        self.fields()
            .get(field)
            .cloned()
            .unwrap_or(BaseValue::Known(PerSide::default()))
    }

    /// Every field with an entry, in field order.
    pub fn iter(&self) -> impl Iterator<Item = (&FieldPath, &BaseValue)> {
        self.fields().iter()
    }

    pub fn len(&self) -> usize {
        self.fields().len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields().is_empty()
    }

    pub fn set(&mut self, field: FieldPath, value: BaseValue) {
        let fields = self.fields_mut();
        match &value {
            BaseValue::Known(v) if v.left.is_none() && v.right.is_none() => {
                fields.remove(&field);
            }
            _ => {
                fields.insert(field, value);
            }
        }
    }

    /// `{"field": "value"}` when both sides agree, `["left", "right"]` when
    /// not, `null` when unknown.
    pub fn to_json(&self) -> String {
        if let (Stored::Text(stored), None) = (&self.stored, self.fields.get()) {
            return stored.to_string();
        }
        let mut map = Map::new();
        for (field, value) in self.fields() {
            let v = match value {
                BaseValue::Unknown => Value::Null,
                BaseValue::Known(v) if v.left == v.right => {
                    Value::String(v.left.clone().unwrap_or_default())
                }
                BaseValue::Known(v) => Value::Array(vec![
                    v.left.clone().map_or(Value::Null, Value::String),
                    v.right.clone().map_or(Value::Null, Value::String),
                ]),
            };
            map.insert(field.to_string(), v);
        }
        Value::Object(map).to_string()
    }

    /// The JSON to store for this base: `None` while it is still in the
    /// state, untouched (the row keeps what it holds); an error when it
    /// could not be read from there (it would be stored empty).
    pub fn to_store(&self) -> Result<Option<String>, String> {
        if matches!(self.stored, Stored::InState(..)) && self.fields.get().is_none() {
            return Ok(None);
        }
        match self.unread() {
            Some(why) => Err(why),
            None => Ok(Some(self.to_json())),
        }
    }

    /// Why a base of the state this one is read from could not be read,
    /// if one could not (it was taken as empty).
    pub fn unread(&self) -> Option<String> {
        match &self.stored {
            Stored::InState(source, _) => source.failure().map(str::to_string),
            _ => None,
        }
    }

    /// The base stored as `text`, parsed when first asked (text that is
    /// not a JSON object is an empty base).
    pub fn from_json(text: &str) -> Base {
        Base {
            stored: Stored::Text(text.into()),
            fields: OnceLock::new(),
        }
    }

    /// The base of link `link_id`, left in the state until first asked.
    pub fn in_state(source: &Arc<BaseSource>, link_id: i64) -> Base {
        Base {
            stored: Stored::InState(Arc::clone(source), link_id),
            fields: OnceLock::new(),
        }
    }
}

fn parse(text: &str) -> BTreeMap<FieldPath, BaseValue> {
    let mut fields = BTreeMap::new();
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else {
        return fields;
    };
    let text = |v: &Value| v.as_str().map(str::to_string);
    for (key, v) in map {
        let Ok(field) = FieldPath::from_stored(&key) else {
            continue;
        };
        let value = match &v {
            Value::Null => BaseValue::Unknown,
            Value::String(s) => BaseValue::Known(PerSide::new(Some(s.clone()), Some(s.clone()))),
            Value::Array(pair) if pair.len() == 2 => {
                BaseValue::Known(PerSide::new(text(&pair[0]), text(&pair[1])))
            }
            _ => BaseValue::Unknown,
        };
        fields.insert(field, value);
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_with_card_properties_round_trips_and_one_from_before_still_loads() {
        let photo = FieldPath::from_stored("card.PHOTO").unwrap();
        let mut base = Base::default();
        let digest = Some("#0123456789abcdef".to_string());
        base.set(
            photo,
            BaseValue::Known(PerSide::new(digest.clone(), digest)),
        );
        let json = base.to_json();
        assert!(json.contains("\"card.PHOTO\""), "{json}");
        assert_eq!(Base::from_json(&json), base);
        // A base written before card properties travelled: no such keys.
        let old = Base::from_json(r#"{"name.given":"Anna","email[1]":["a@b","A@B"]}"#);
        assert_eq!(old.len(), 2);
        assert_eq!(old.get(&photo), BaseValue::Known(PerSide::default()));
    }

    #[test]
    fn base_round_trips_through_json() {
        let mut base = Base::default();
        let email = "email[1]".parse().unwrap();
        let note = "note".parse().unwrap();
        let phone = "phone.cell".parse().unwrap();
        base.set(
            email,
            BaseValue::Known(PerSide::new(Some("a@b".into()), Some("a@b".into()))),
        );
        base.set(note, BaseValue::Known(PerSide::new(Some("n".into()), None)));
        base.set(phone, BaseValue::Unknown);
        assert_eq!(Base::from_json(&base.to_json()), base);
        assert_eq!(
            base.get(&"title".parse().unwrap()),
            BaseValue::Known(PerSide::default())
        );
    }
}
