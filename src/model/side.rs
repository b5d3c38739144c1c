//! The two stores: code that differs only by side takes a [`Side`], and a
//! value per side is a [`PerSide`].

use serde::{Deserialize, Serialize};

/// One of the two stores. Code that differs only by side takes a `Side`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Left,
    Right,
}

impl Side {
    pub const BOTH: [Side; 2] = [Side::Left, Side::Right];

    pub fn opposite(self) -> Side {
        match self {
            Side::Left => Side::Right,
            Side::Right => Side::Left,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Side::Left => "left",
            Side::Right => "right",
        }
    }

    pub fn parse(text: &str) -> Option<Side> {
        match text {
            "left" => Some(Side::Left),
            "right" => Some(Side::Right),
            _ => None,
        }
    }
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value per side. Serializes as `{"left": …, "right": …}`; flattened
/// into a struct, those two keys sit where the field is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PerSide<T> {
    pub left: T,
    pub right: T,
}

impl<T> PerSide<T> {
    pub fn new(left: T, right: T) -> Self {
        PerSide { left, right }
    }

    /// The value of each side, from `f(side)`.
    pub fn from_fn(mut f: impl FnMut(Side) -> T) -> Self {
        PerSide::new(f(Side::Left), f(Side::Right))
    }

    /// Both values through `f`.
    pub fn map<'a, U>(&'a self, f: impl Fn(&'a T) -> U) -> PerSide<U> {
        PerSide::new(f(&self.left), f(&self.right))
    }

    pub fn get(&self, side: Side) -> &T {
        match side {
            Side::Left => &self.left,
            Side::Right => &self.right,
        }
    }

    pub fn get_mut(&mut self, side: Side) -> &mut T {
        match side {
            Side::Left => &mut self.left,
            Side::Right => &mut self.right,
        }
    }
}
