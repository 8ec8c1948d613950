//! CHECKPOINT, as PostgreSQL's: writes the rows the write-ahead log holds (resident segments)
//! to segment files, publishes a manifest holding them and empties the log, all durable when
//! the statement returns (`basalt_storage::Store::checkpoint`; `docs/wal.md`).
//!
//! ```text
//! CHECKPOINT
//! ```
//!
//! Only a superuser may run it (42501, with PostgreSQL 15's message, which also names the
//! `pg_checkpoint` role Basalt does not have). As in PostgreSQL it runs inside a transaction
//! block too: it writes what is committed, never the block's own uncommitted changes, and does
//! not end the block. sqlparser does not read it, so it is read here from tokens (it travels as
//! a `copy::options::Transfer::Checkpoint`, as ANALYZE does).

use basalt_storage::Store;
use sqlparser::tokenizer::TokenWithSpan;

use crate::copy::options::Cursor;
use crate::error::{Error, Result};

/// True when the tokens (whitespace skipped) start with CHECKPOINT.
pub fn is_checkpoint(tokens: &[TokenWithSpan]) -> bool {
    Cursor::new("", tokens).eat("checkpoint")
}

/// Parses `CHECKPOINT` (`tokens` without the `;`): nothing may follow the keyword.
pub fn parse(sql: &str, tokens: &[TokenWithSpan]) -> Result<()> {
    let mut c = Cursor::new(sql, tokens);
    if !c.eat("checkpoint") || !c.done() {
        return Err(c.error());
    }
    Ok(())
}

/// Runs CHECKPOINT for a session whose role is (or is not) a superuser.
pub fn run(store: &Store, superuser: bool) -> Result<()> {
    if !superuser {
        return Err(Error::InsufficientPrivilege {
            message: "must be superuser or have privileges of pg_checkpoint to do CHECKPOINT"
                .into(),
        });
    }
    store.checkpoint().map_err(crate::storage_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::tokenizer::Tokenizer;

    fn tokens(sql: &str) -> Vec<TokenWithSpan> {
        Tokenizer::new(&PostgreSqlDialect {}, sql)
            .tokenize_with_location()
            .unwrap()
    }

    // The statement alone, in any case, parses; anything after it is a syntax error at it.
    #[test]
    fn statements_parse() {
        for sql in ["CHECKPOINT", "checkpoint ", " CheckPoint"] {
            assert!(is_checkpoint(&tokens(sql)));
            parse(sql, &tokens(sql)).unwrap();
        }
        assert!(!is_checkpoint(&tokens("CHECK")));
        let sql = "CHECKPOINT now";
        let e = parse(sql, &tokens(sql)).unwrap_err();
        assert_eq!(e.to_string(), "syntax error at or near \"now\"");
        assert_eq!(e.position(), Some(12));
    }
}
