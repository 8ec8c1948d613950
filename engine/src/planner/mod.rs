//! From the SQL AST to a plan: `arrays` (array expressions and collecting aggregates), `bind` (names, types, expressions), `bitwise` (the integer bitwise operators), `functions` (the built-in
//! scalar functions), `select` (queries, joins, grouping, ordering), `statement` (DDL, INSERT,
//! transactions), `dml` (DELETE, UPDATE, TRUNCATE), `ranges` (zone-map ranges from scan
//! filters), `records` (record values and field access), `rows` (row constructors in comparisons), `estimate` (row and distinct-count estimates for join order and EXPLAIN),
//! `optimize`, `subquery`
//! (decorrelating subqueries into joins), `window` (window function calls), `expr` and `plan` (the bound
//! forms).

pub mod arrays;
pub mod bind;
pub mod bitwise;
pub mod dates;
pub mod dml;
pub(crate) mod estimate;
pub mod expr;
pub mod functions;
pub mod optimize;
pub mod plan;
pub mod ranges;
pub(crate) mod records;
pub mod recursive;
pub(crate) mod rows;
pub mod select;
pub mod set_functions;
pub mod statement;
pub mod subquery;
pub mod window;
