//! A setting that cannot work, named by its field. Each type that takes settings says what it
//! accepts (`check`), with the bounds it enforces itself; the configuration turns each into a
//! problem with the key of the file (`[lockout] max_failures` → `lockout.max_failures`).

/// One field of a setting that is out of bounds, and what would be right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

impl Invalid {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}
