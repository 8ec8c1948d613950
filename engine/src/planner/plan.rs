//! Plan nodes: a tree of relational operators, built once by the binder and never mutated.

use basalt_storage::{SqlType, TableMeta};

use crate::planner::expr::{AggCall, Expr};

/// One ORDER BY key.
#[derive(Clone, Debug, PartialEq)]
pub struct SortKey {
    pub expr: Expr,
    pub descending: bool,
    pub nulls_first: bool,
}

/// UNION, INTERSECT or EXCEPT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetOpKind {
    Union,
    Intersect,
    Except,
}

/// A relational operator. Every node's output is a list of typed columns (`types()`).
#[derive(Clone, Debug)]
pub enum Plan {
    /// Reads the `projection` columns of a table at the statement's snapshot, keeping only the
    /// rows that pass `filter` (evaluated over the projected columns).
    Scan {
        table: Box<TableMeta>,
        projection: Vec<usize>,
        filter: Option<Expr>,
    },
    /// Constant rows. `SELECT` without FROM is one row of zero columns.
    Values {
        rows: Vec<Vec<Expr>>,
        types: Vec<SqlType>,
    },
    Filter {
        input: Box<Plan>,
        predicate: Expr,
    },
    Project {
        input: Box<Plan>,
        exprs: Vec<Expr>,
    },
    /// Groups by `groups` and computes `aggs`; output is the group columns then the aggregates.
    /// With no groups it returns exactly one row.
    Aggregate {
        input: Box<Plan>,
        groups: Vec<Expr>,
        aggs: Vec<AggCall>,
    },
    /// Inner join: rows of `left` and `right` whose `keys` are equal (hash join; NULL keys never
    /// match), then `filter` over the joined columns. No keys is a cross product.
    Join {
        left: Box<Plan>,
        right: Box<Plan>,
        keys: Vec<(Expr, Expr)>,
        filter: Option<Expr>,
    },
    Sort {
        input: Box<Plan>,
        keys: Vec<SortKey>,
    },
    Limit {
        input: Box<Plan>,
        offset: u64,
        limit: Option<u64>,
    },
    /// A set operation over two inputs of the same column types. Without `all`, duplicates
    /// are removed; rows compare equal when all columns are equal, NULLs included.
    SetOp {
        left: Box<Plan>,
        right: Box<Plan>,
        kind: SetOpKind,
        all: bool,
    },
}

impl Plan {
    /// The SQL types of this node's output columns.
    pub fn types(&self) -> Vec<SqlType> {
        match self {
            Plan::Scan {
                table, projection, ..
            } => projection
                .iter()
                .filter_map(|i| table.def.columns.get(*i).map(|c| c.ty))
                .collect(),
            Plan::Values { types, .. } => types.clone(),
            Plan::Filter { input, .. } | Plan::Sort { input, .. } | Plan::Limit { input, .. } => {
                input.types()
            }
            Plan::Project { exprs, .. } => exprs.iter().map(|e| e.ty()).collect(),
            Plan::Aggregate { groups, aggs, .. } => groups
                .iter()
                .map(|g| g.ty())
                .chain(aggs.iter().map(|a| a.ty))
                .collect(),
            Plan::Join { left, right, .. } => {
                let mut t = left.types();
                t.extend(right.types());
                t
            }
            Plan::SetOp { left, .. } => left.types(),
        }
    }

    /// Renders the plan as an indented tree (used by EXPLAIN).
    pub fn explain(&self, out: &mut Vec<String>, depth: usize) {
        let pad = "  ".repeat(depth);
        let arrow = if depth == 0 { "" } else { "->  " };
        let line = match self {
            Plan::Scan {
                table,
                projection,
                filter,
            } => {
                let cols: Vec<&str> = projection
                    .iter()
                    .filter_map(|i| table.def.columns.get(*i).map(|c| c.name.as_str()))
                    .collect();
                let mut s = format!(
                    "Seq Scan on {} (columns: {})",
                    table.def.name,
                    cols.join(", ")
                );
                if filter.is_some() {
                    s.push_str(" with filter");
                }
                s
            }
            Plan::Values { rows, .. } => format!("Values ({} rows)", rows.len()),
            Plan::Filter { .. } => "Filter".to_string(),
            Plan::Project { exprs, .. } => format!("Project ({} columns)", exprs.len()),
            Plan::Aggregate { groups, aggs, .. } => format!(
                "HashAggregate (groups: {}, aggregates: {})",
                groups.len(),
                aggs.len()
            ),
            Plan::Join { keys, .. } if keys.is_empty() => "Nested Loop".to_string(),
            Plan::Join { keys, .. } => format!("Hash Join ({} keys)", keys.len()),
            Plan::Sort { keys, .. } => format!("Sort ({} keys)", keys.len()),
            Plan::SetOp { kind, all, .. } => {
                format!("{kind:?}{}", if *all { " All" } else { "" })
            }
            Plan::Limit { offset, limit, .. } => match limit {
                Some(l) => format!("Limit {l} offset {offset}"),
                None => format!("Offset {offset}"),
            },
        };
        out.push(format!("{pad}{arrow}{line}"));
        match self {
            Plan::Scan { .. } | Plan::Values { .. } => {}
            Plan::Filter { input, .. }
            | Plan::Project { input, .. }
            | Plan::Aggregate { input, .. }
            | Plan::Sort { input, .. }
            | Plan::Limit { input, .. } => input.explain(out, depth + 1),
            Plan::Join { left, right, .. } | Plan::SetOp { left, right, .. } => {
                left.explain(out, depth + 1);
                right.explain(out, depth + 1);
            }
        }
    }
}
