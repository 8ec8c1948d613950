//! From the SQL AST to a plan: `bind` (names, types, expressions), `select` (queries, joins,
//! grouping, ordering), `statement` (DDL, INSERT, transactions), `expr` and `plan` (the bound
//! forms).

pub mod bind;
pub mod expr;
pub mod plan;
pub mod select;
pub mod statement;
