//! STUB placeholder; helper replaces this file.
