//! Field transforms and the one rule for which transform may go on which
//! field: the config parser and the mapping editor both ask [`refused`], so
//! a mapping the editor saves is one the parser reads, and the reverse.

use super::policy::named;
use crate::model::contact::{FieldClass, FieldPath};

named! {
    /// How a mapped field's values are changed on their way. Listed in the
    /// order messages have always named them.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum Transform {
        /// Phone numbers written as E.164 (`+4930123456`) with the default region.
        E164 => "e164",
        /// On `name.full`: one column holds "given family"; it is split into
        /// `name.given` and `name.family` when read, and joined when written.
        Name => "name",
        #[default]
        None => "none",
    }
}

/// Why `transform` cannot go on `field` of a store (an SQL store when `sql`),
/// or `None` when it fits.
pub fn refused(field: &FieldPath, transform: Transform, sql: bool) -> Option<String> {
    match transform {
        Transform::None => None,
        Transform::E164 if field.class() == FieldClass::Phone => None,
        Transform::E164 => Some(format!(
            "transform \"e164\" formats phone numbers; {field} is not a phone field"
        )),
        Transform::Name if *field == FieldPath::NameFull && sql => None,
        Transform::Name => Some(
            "transform \"name\" splits a CRM column into given and family name; it belongs on \"name.full\" of an sqlite store"
                .to_string(),
        ),
    }
}
