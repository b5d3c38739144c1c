//! The plan as `plan --json` prints it and `--out` saves it: the keys and
//! their order that scripts (and `apply --plan`) read, SPEC §3, with each
//! warning as its sentence. The engine's [`Plan`] is not serialized itself:
//! its warnings are data, and the words need the stores' names.

use serde::ser::{Serialize, Serializer};

use crate::model::PerSide;
use crate::sync::matcher::Evidence;
use crate::sync::plan::{Changes, Op, OpKind, Plan, Summary, Target, Warning};

use super::warning::sentence;

/// A plan borrowed for writing it as JSON, with the stores' names (per
/// side, as in the config) for the warnings.
#[derive(serde::Serialize)]
pub struct PlanJson<'a> {
    summary: &'a Summary,
    operations: Vec<OpJson<'a>>,
    refusals: &'a [String],
    unreadable: &'a [String],
    mode: &'a str,
}

impl<'a> PlanJson<'a> {
    pub fn new(plan: &'a Plan, names: &'a PerSide<String>) -> PlanJson<'a> {
        PlanJson {
            summary: &plan.summary,
            operations: plan
                .operations
                .iter()
                .map(|op| OpJson::new(op, names))
                .collect(),
            refusals: &plan.refusals,
            unreadable: &plan.unreadable,
            mode: &plan.mode,
        }
    }
}

/// One operation: its ids per side as `left_id` and `right_id`, where the
/// plan's JSON has always had them.
#[derive(serde::Serialize)]
struct OpJson<'a> {
    id: &'a str,
    kind: OpKind,
    target: Target,
    left_id: &'a Option<String>,
    right_id: &'a Option<String>,
    review: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<Evidence>,
    changes: &'a Changes,
    warnings: Sentences<'a>,
    name: &'a str,
}

impl<'a> OpJson<'a> {
    fn new(op: &'a Op, names: &'a PerSide<String>) -> OpJson<'a> {
        OpJson {
            id: &op.id,
            kind: op.kind,
            target: op.target,
            left_id: &op.ids.left,
            right_id: &op.ids.right,
            review: op.review,
            evidence: op.evidence,
            changes: &op.changes,
            warnings: Sentences {
                warnings: &op.warnings,
                names,
            },
            name: &op.name,
        }
    }
}

/// An operation's warnings, each as its sentence.
struct Sentences<'a> {
    warnings: &'a [Warning],
    names: &'a PerSide<String>,
}

impl Serialize for Sentences<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.warnings.iter().map(|w| Sentence(w, self.names)))
    }
}

struct Sentence<'a>(&'a Warning, &'a PerSide<String>);

impl Serialize for Sentence<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&sentence(self.0, self.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Side;
    use crate::sync::plan::LinkAfter;

    fn change(changes: &mut Changes, field: &str, left: &str, right: &str, to: Option<Side>) {
        let texts = crate::sync::plan::ChangeTexts {
            values: PerSide::new(Some(left), Some(right)),
            ..Default::default()
        };
        changes.push(field.parse().expect("field path"), to, texts);
    }

    /// `plan --json` is read by scripts: the ids and values per side keep
    /// the keys and the order they had as hand-written pairs.
    #[test]
    fn op_json_keeps_its_keys_and_order() {
        let mut changes = Changes::default();
        change(
            &mut changes,
            "email.work",
            "a@firma.de",
            "b@firma.de",
            Some(Side::Right),
        );
        change(&mut changes, "title", "Dr.", "Prof.", None);
        let op = Op {
            id: "00000000000000ab".into(),
            kind: OpKind::Update,
            target: Target::Right,
            ids: PerSide::new(Some("7".into()), None),
            review: true,
            evidence: Some(Evidence::Email),
            changes,
            warnings: Vec::new(),
            name: "Anna Roth".into(),
            revs: PerSide::new(Some("r1".into()), Some("r2".into())),
            link: None,
            after: LinkAfter::Linked,
            pending: Vec::new(),
            stamp: PerSide::default(),
        };
        let names = PerSide::new("CRM".to_string(), "Outlook".to_string());
        assert_eq!(
            serde_json::to_string(&OpJson::new(&op, &names)).unwrap(),
            concat!(
                r#"{"id":"00000000000000ab","kind":"update","target":"right","#,
                r#""left_id":"7","right_id":null,"review":true,"evidence":"email","#,
                r#""changes":[{"field":"email.work","left":"a@firma.de","right":"b@firma.de","#,
                r#""base":null,"to":"right"},"#,
                r#"{"field":"title","left":"Dr.","right":"Prof.","base":null}],"#,
                r#""warnings":[],"name":"Anna Roth"}"#
            )
        );
    }

    #[test]
    fn warnings_are_their_sentences() {
        let plan = Plan {
            operations: vec![Op {
                id: "1".into(),
                kind: OpKind::Delete,
                target: Target::Left,
                ids: PerSide::new(Some("7".into()), Some("a".into())),
                review: true,
                evidence: None,
                changes: Changes::default(),
                warnings: vec![Warning::ChangedSinceSync { side: Side::Left }],
                name: "Anna Roth".into(),
                revs: PerSide::default(),
                link: None,
                after: LinkAfter::Drop,
                pending: Vec::new(),
                stamp: PerSide::default(),
            }],
            mode: "sync".into(),
            ..Plan::default()
        };
        let names = PerSide::new("CRM".to_string(), "Outlook".to_string());
        let json = serde_json::to_value(PlanJson::new(&plan, &names)).unwrap();
        assert_eq!(
            json["operations"][0]["warnings"],
            serde_json::json!(["changed in CRM since the last sync"])
        );
        let text = serde_json::to_string(&PlanJson::new(&plan, &names)).unwrap();
        let at = |key: &str| text.find(&format!("\"{key}\":")).expect(key);
        let order = ["summary", "operations", "refusals", "unreadable", "mode"].map(at);
        assert!(order.is_sorted(), "{text}");
    }
}
