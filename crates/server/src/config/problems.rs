//! Every problem of a file, collected so an administrator fixes it in one pass.

use super::Problem;
use crate::invalid::Invalid;

#[derive(Debug, Default)]
pub(super) struct Problems {
    pub(super) list: Vec<Problem>,
}

impl Problems {
    pub(super) fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.list.push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }

    /// What an owner's `check` found, each under `section.field`.
    pub(super) fn extend(&mut self, section: &str, found: Vec<Invalid>) {
        for invalid in found {
            self.add(format!("{section}.{}", invalid.field), invalid.message);
        }
    }

    pub(super) fn len(&self) -> usize {
        self.list.len()
    }
}
