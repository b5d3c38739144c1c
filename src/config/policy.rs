//! The `[sync]` policies and the other named choices of a config: each
//! enum's names are spelled once, in its [`named!`] declaration, and the
//! config parser, the command line and the plan all read them from there.

use crate::model::Side;

/// A text that is none of an enum's names. Shows as the command line says
/// it: `expected sync, left-wins, … or none`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct UnknownName {
    /// The allowed names, in the order messages list them.
    pub expected: &'static [&'static str],
}

impl std::fmt::Display for UnknownName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "expected {}", or_list(self.expected))
    }
}

/// `a`, `a or b`, `a, b or c`.
pub fn or_list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [rest @ .., last] => {
            let rest: Vec<&str> = rest.iter().map(AsRef::as_ref).collect();
            format!("{} or {}", rest.join(", "), last.as_ref())
        }
    }
}

/// Declares a fieldless enum whose variants each have a config name, with
/// `ALL` and `NAMES` (in declaration order, which is the order messages list
/// them), `as_str`, `FromStr` (failing with [`UnknownName`]) and `Display`.
macro_rules! named {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident => $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $($(#[$variant_meta])* $variant,)+
        }

        impl $name {
            /// Every value, in the order messages list them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The name of each value of `ALL`.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The name the config and the command line use.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::config::policy::UnknownName;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str() == text)
                    .ok_or($crate::config::policy::UnknownName {
                        expected: Self::NAMES,
                    })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use named;

named! {
    /// `sync.mode` and `--mode`: which way records travel.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Mode {
        Sync => "sync",
        LeftWins => "left-wins",
        RightWins => "right-wins",
        Import => "import",
        Export => "export",
        None => "none",
    }
}

impl Mode {
    /// Whether this mode lets anything be written to `side`.
    pub fn writes_to(self, side: Side) -> bool {
        match self {
            Mode::Sync => true,
            Mode::LeftWins | Mode::Export => side == Side::Right,
            Mode::RightWins | Mode::Import => side == Side::Left,
            Mode::None => false,
        }
    }

    /// The side whose values replace the other's, for the `*-wins` modes.
    pub fn winner(self) -> Option<Side> {
        match self {
            Mode::LeftWins => Some(Side::Left),
            Mode::RightWins => Some(Side::Right),
            Mode::Sync | Mode::Import | Mode::Export | Mode::None => None,
        }
    }
}

named! {
    /// `sync.conflicts` and `--conflicts`: who decides when both sides changed.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum ConflictPolicy {
        Ask => "ask",
        Left => "left",
        Right => "right",
        Newest => "newest",
    }
}

named! {
    /// `sync.deletes.*`: what a delete on one side does to the other copy.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum DeletePolicy {
        Propagate => "propagate",
        Keep => "keep",
        Ask => "ask",
    }
}

named! {
    /// `sync.scope_exit`: what happens when a record leaves a store's scope.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum ScopeExit {
        Unlink => "unlink",
        DeleteIfCreated => "delete-if-created",
    }
}

named! {
    /// `sync.match`: the evidence that pairs records of the two sides.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum MatchRule {
        Stamp => "stamp",
        Email => "email",
        Phone => "phone",
        Name => "name",
    }
}

named! {
    /// `limits.phone_format`: how a store wants its phone numbers. `e164`
    /// comes first because messages have always listed it first.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum PhoneFormat {
        E164 => "e164",
        #[default]
        Any => "any",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_to_its_value() {
        fn round_trip<T>(all: &[T], names: &[&str])
        where
            T: Copy + PartialEq + std::fmt::Debug + std::fmt::Display + std::str::FromStr,
        {
            assert_eq!(all.len(), names.len());
            for (value, name) in all.iter().zip(names) {
                assert_eq!(value.to_string(), *name);
                assert_eq!(name.parse::<T>().ok(), Some(*value), "{name}");
            }
        }
        round_trip(Mode::ALL, Mode::NAMES);
        round_trip(ConflictPolicy::ALL, ConflictPolicy::NAMES);
        round_trip(DeletePolicy::ALL, DeletePolicy::NAMES);
        round_trip(ScopeExit::ALL, ScopeExit::NAMES);
        round_trip(MatchRule::ALL, MatchRule::NAMES);
        round_trip(PhoneFormat::ALL, PhoneFormat::NAMES);
    }

    #[test]
    fn an_unknown_name_lists_the_names_as_the_command_line_does() {
        let e = "both".parse::<Mode>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "expected sync, left-wins, right-wins, import, export or none"
        );
        let e = "first".parse::<ConflictPolicy>().unwrap_err();
        assert_eq!(e.to_string(), "expected ask, left, right or newest");
        assert_eq!(or_list(&["a", "b"]), "a or b");
        assert_eq!(or_list(&["a"]), "a");
    }

    #[test]
    fn writes_to_by_mode_and_side() {
        use Side::{Left, Right};
        let table = [
            (Mode::Sync, Left, true),
            (Mode::Sync, Right, true),
            (Mode::LeftWins, Left, false),
            (Mode::LeftWins, Right, true),
            (Mode::RightWins, Left, true),
            (Mode::RightWins, Right, false),
            (Mode::Import, Left, true),
            (Mode::Import, Right, false),
            (Mode::Export, Left, false),
            (Mode::Export, Right, true),
            (Mode::None, Left, false),
            (Mode::None, Right, false),
        ];
        for mode in Mode::ALL.iter().copied() {
            for side in Side::BOTH {
                let (.., writes) = table
                    .iter()
                    .find(|(m, s, _)| (*m, *s) == (mode, side))
                    .unwrap_or_else(|| panic!("{mode} to {side:?} is not in the table"));
                assert_eq!(mode.writes_to(side), *writes, "{mode} to {side:?}");
            }
        }
    }

    #[test]
    fn winner_by_mode() {
        let table = [
            (Mode::Sync, None),
            (Mode::LeftWins, Some(Side::Left)),
            (Mode::RightWins, Some(Side::Right)),
            (Mode::Import, None),
            (Mode::Export, None),
            (Mode::None, None),
        ];
        for mode in Mode::ALL.iter().copied() {
            let (_, winner) = table
                .iter()
                .find(|(m, _)| *m == mode)
                .unwrap_or_else(|| panic!("{mode} is not in the table"));
            assert_eq!(mode.winner(), *winner, "{mode}");
        }
    }
}
