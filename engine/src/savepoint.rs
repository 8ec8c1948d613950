//! The end of a transaction block and savepoints inside one: `SAVEPOINT name`,
//! `RELEASE [SAVEPOINT] name`, `ROLLBACK TO [SAVEPOINT] name`, with PostgreSQL's rules.
//!
//! A savepoint records the transaction's state (storage's [`basalt_storage::Savepoint`]:
//! its view of the catalog and tables and its record of changes) and the session's settings.
//! ROLLBACK TO restores both, so exactly the writes, DDL and SETs made after the savepoint
//! are undone, closes the cursors declared after it, and clears the failed state an error
//! left: the block goes on. The savepoint stays, and can be rolled back to again. RELEASE
//! forgets it and every savepoint after it, keeping their changes. Savepoints are a stack:
//! a name used twice names the newest, and releasing that one uncovers the older.
//!
//! ```text
//!   SAVEPOINT a        SAVEPOINT b        ROLLBACK TO a         RELEASE a
//!  [a]       -------> [a, b]    --------> [a]  (b's and the    []  (changes kept)
//!                                               later changes
//!                                               undone)
//! ```

use sqlparser::ast;

use crate::error::{Error, Result};
use crate::planner::bind::normalize_ident;
use crate::{command, settings, storage_error, Session, Statement, StatementResult};

/// One open savepoint.
#[derive(Debug)]
pub(crate) struct Mark {
    name: String,
    transaction: basalt_storage::Savepoint,
    settings: settings::SettingsMark,
}

impl Session {
    /// SAVEPOINT, RELEASE and ROLLBACK TO; `None` for any other statement.
    pub(crate) fn savepoint_statement(
        &mut self,
        stmt: &Statement,
    ) -> Option<Result<StatementResult>> {
        if !stmt.is_plain() {
            return None;
        }
        match &stmt.ast {
            ast::Statement::Savepoint { name } => Some(self.savepoint(normalize_ident(name))),
            ast::Statement::ReleaseSavepoint { name } => Some(self.release(&normalize_ident(name))),
            ast::Statement::Rollback {
                chain: false,
                savepoint: Some(name),
            } => Some(self.rollback_to(&normalize_ident(name))),
            _ => None,
        }
    }

    fn savepoint(&mut self, name: String) -> Result<StatementResult> {
        let Some(txn) = &self.txn else {
            return Err(outside_block("SAVEPOINT"));
        };
        self.savepoints.push(Mark {
            name,
            transaction: txn.savepoint(),
            settings: self.settings.savepoint(),
        });
        Ok(command("SAVEPOINT"))
    }

    fn release(&mut self, name: &str) -> Result<StatementResult> {
        if self.txn.is_none() {
            return Err(outside_block("RELEASE SAVEPOINT"));
        }
        let index = self.savepoint_index(name)?;
        self.savepoints.truncate(index);
        self.cursors_after_release(index);
        Ok(command("RELEASE"))
    }

    /// ROLLBACK TO: also accepted in a failed block, which it brings back.
    pub(crate) fn rollback_to(&mut self, name: &str) -> Result<StatementResult> {
        if self.txn.is_none() {
            return Err(outside_block("ROLLBACK TO SAVEPOINT"));
        }
        let index = self.savepoint_index(name)?;
        self.savepoints.truncate(index + 1);
        let (Some(txn), Some(mark)) = (&mut self.txn, self.savepoints.last()) else {
            return Err(Error::Internal("savepoint vanished".into()));
        };
        txn.rollback_to(&mark.transaction);
        self.settings.rollback_to(&mark.settings);
        self.cursors_after_rollback_to(index);
        self.failed = false;
        Ok(command("ROLLBACK"))
    }

    /// The newest open savepoint called `name`.
    fn savepoint_index(&self, name: &str) -> Result<usize> {
        self.savepoints
            .iter()
            .rposition(|m| m.name == name)
            .ok_or_else(|| Error::UndefinedSavepoint {
                name: name.to_owned(),
            })
    }

    /// Ends the transaction block, if one is open: COMMIT (`commit`) or ROLLBACK. WITH HOLD
    /// cursors declared in the block run before the commit; if one fails, or the commit does,
    /// the block is rolled back and the error returned.
    pub(crate) fn end_block(&mut self, commit: bool) -> Result<()> {
        self.failed = false;
        self.savepoints.clear();
        self.block_start = None;
        if self.txn.is_none() {
            return Ok(());
        }
        let outcome = if commit {
            self.hold_cursors().and_then(|()| match self.txn.take() {
                Some(txn) => txn.commit().map(drop).map_err(storage_error),
                None => Ok(()),
            })
        } else {
            Ok(())
        };
        self.txn = None;
        let committed = commit && outcome.is_ok();
        self.settings.end(committed);
        self.cursors_after_block(committed);
        outcome
    }
}

fn outside_block(what: &str) -> Error {
    Error::NoActiveTransaction {
        message: format!("{what} can only be used in transaction blocks"),
    }
}
