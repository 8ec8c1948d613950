//! Plan nodes: a tree of relational operators, built once by the binder and never mutated.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use basalt_storage::{SqlType, TableMeta};

use crate::planner::expr::{AggCall, Expr, FrameBound, FrameExclude, FrameUnits, WindowCall};

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

/// Which rows a join keeps besides the matching pairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinType {
    /// Matching pairs only.
    Inner,
    /// Also every left row without a match, padded with NULLs on the right.
    Left,
    /// Also every right row without a match, padded with NULLs on the left.
    Right,
    /// Both of the above.
    Full,
}

/// A set-returning function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetFunc {
    /// `generate_series(start, stop [, step])` over integers or NUMERIC.
    GenerateSeries,
    /// `unnest(array)`: the array's elements in order.
    Unnest,
    /// `generate_subscripts(array, dim [, reverse])`: the array's subscripts in dimension
    /// `dim` (Basalt's arrays have one, from 1), in order or reversed.
    GenerateSubscripts,
    /// `pg_partition_ancestors(regclass)`: a partition's ancestors and itself; no rows, as
    /// Basalt has no partitions (PostgreSQL gives none for a relation that is not one).
    PartitionAncestors,
    /// `pg_get_keywords()`: one row per SQL keyword (`kernels::keywords`); the function has
    /// five columns, each one call of its own, run in lockstep.
    Keywords(KeywordColumn),
}

impl SetFunc {
    pub fn name(self) -> &'static str {
        match self {
            SetFunc::GenerateSeries => "generate_series",
            SetFunc::Unnest => "unnest",
            SetFunc::GenerateSubscripts => "generate_subscripts",
            SetFunc::PartitionAncestors => "pg_partition_ancestors",
            SetFunc::Keywords(_) => "pg_get_keywords",
        }
    }

    /// The name of the column a call gives in FROM: the function's name, or for a function
    /// of several columns, the column's.
    pub fn column_name(self) -> &'static str {
        match self {
            SetFunc::Keywords(c) => c.name(),
            other => other.name(),
        }
    }
}

/// A column of `pg_get_keywords()`, in the function's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeywordColumn {
    /// `word text`: the keyword, lower case.
    Word,
    /// `catcode "char"`: `U`, `C`, `T` or `R`.
    Catcode,
    /// `barelabel boolean`: usable as a column label without AS.
    BareLabel,
    /// `catdesc text`: the category, in words.
    Catdesc,
    /// `baredesc text`: `barelabel`, in words.
    Baredesc,
}

impl KeywordColumn {
    pub const ALL: [KeywordColumn; 5] = [
        KeywordColumn::Word,
        KeywordColumn::Catcode,
        KeywordColumn::BareLabel,
        KeywordColumn::Catdesc,
        KeywordColumn::Baredesc,
    ];

    pub fn name(self) -> &'static str {
        match self {
            KeywordColumn::Word => "word",
            KeywordColumn::Catcode => "catcode",
            KeywordColumn::BareLabel => "barelabel",
            KeywordColumn::Catdesc => "catdesc",
            KeywordColumn::Baredesc => "baredesc",
        }
    }

    /// The column's type; `"char"` is `CHAR(1)`, as in the catalogs.
    pub fn sql_type(self) -> SqlType {
        match self {
            KeywordColumn::Catcode => SqlType::Char { length: 1 },
            KeywordColumn::BareLabel => SqlType::Boolean,
            _ => SqlType::Text,
        }
    }
}

/// One call of a set-returning function: its arguments (over the input's columns) and the
/// type of the one column it produces.
#[derive(Clone, Debug)]
pub struct SetCall {
    pub func: SetFunc,
    pub args: Vec<Expr>,
    pub ty: SqlType,
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
        /// For an external table: its files, read in place of segments (`table` then holds
        /// its columns, file columns then partition columns, and no segments).
        external: Option<Arc<crate::external::source::ExternalSource>>,
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
    /// Join: pairs of `left` and `right` rows whose `keys` are equal (hash join; NULL keys never
    /// match unless `null_equal`) and that pass `filter` over the joined columns. No keys is a
    /// nested loop. Outer join types add the unmatched rows of the preserved side, padded with
    /// NULLs.
    Join {
        left: Box<Plan>,
        right: Box<Plan>,
        join_type: JoinType,
        keys: Vec<(Expr, Expr)>,
        filter: Option<Expr>,
        /// Keys compare with IS NOT DISTINCT FROM (used to join decorrelated subqueries back).
        null_equal: bool,
    },
    /// Passes its input through, failing if two rows share the same first `key_columns`
    /// columns (NULLs equal); with zero key columns, if there is more than one row. Checks
    /// that a scalar subquery yields at most one row per outer row.
    SingleRow {
        input: Box<Plan>,
        key_columns: usize,
    },
    Sort {
        input: Box<Plan>,
        keys: Vec<SortKey>,
    },
    /// Window functions that share one window (`calls[i].same_window(&calls[0])`): rows are
    /// partitioned and ordered by it, and each call's value for each row is appended as a
    /// column after the input's. Output rows come in partition and window order.
    Window {
        input: Box<Plan>,
        calls: Vec<WindowCall>,
    },
    Limit {
        input: Box<Plan>,
        offset: u64,
        limit: Option<u64>,
    },
    /// A subplan used in more than one place (a decorrelated subquery's outer input and its
    /// domain, say): it runs once per statement and every use reads its result.
    Shared {
        id: usize,
        input: Arc<Plan>,
    },
    /// Set-returning function calls run in lockstep for each input row: the row is repeated
    /// once per row of its longest call, followed by one column per call (NULL where a call
    /// ran out) and, with `ordinality`, a `bigint` counting the row's rows from 1. A function
    /// in FROM is this over one empty row, or over the FROM items its arguments reference.
    SetFunctions {
        input: Box<Plan>,
        calls: Vec<SetCall>,
        ordinality: bool,
    },
    /// A set operation over two inputs of the same column types. Without `all`, duplicates
    /// are removed; rows compare equal when all columns are equal, NULLs included.
    SetOp {
        left: Box<Plan>,
        right: Box<Plan>,
        kind: SetOpKind,
        all: bool,
    },
    /// WITH RECURSIVE: `anchor` runs once, then `recursive` runs round after round, each round
    /// reading the rows the previous one added through `WorkTable { id }`, until a round adds
    /// none. The output is every round's rows. Without `all` (UNION), a row already produced is
    /// not produced again, so it does not feed the next round either.
    RecursiveUnion {
        id: usize,
        anchor: Box<Plan>,
        recursive: Box<Plan>,
        all: bool,
    },
    /// The rows the previous round of the recursive union `id` added.
    WorkTable {
        id: usize,
        types: Vec<SqlType>,
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
            Plan::Values { types, .. } | Plan::WorkTable { types, .. } => types.clone(),
            Plan::Filter { input, .. }
            | Plan::Sort { input, .. }
            | Plan::Limit { input, .. }
            | Plan::SingleRow { input, .. } => input.types(),
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
            Plan::RecursiveUnion { anchor, .. } => anchor.types(),
            Plan::Shared { input, .. } => input.types(),
            Plan::Window { input, calls } => {
                let mut t = input.types();
                t.extend(calls.iter().map(|c| c.ty));
                t
            }
            Plan::SetFunctions {
                input,
                calls,
                ordinality,
            } => {
                let mut t = input.types();
                t.extend(calls.iter().map(|c| c.ty));
                if *ordinality {
                    t.push(SqlType::BigInt);
                }
                t
            }
        }
    }

    /// A new id for a shared subplan or a recursive union, unique in the process.
    pub fn fresh_id() -> usize {
        static NEXT_ID: AtomicUsize = AtomicUsize::new(0);
        NEXT_ID.fetch_add(1, Ordering::Relaxed)
    }

    /// Wraps `plan` so that its uses share one execution (already shared plans stay as they
    /// are).
    pub fn shared(plan: Plan) -> Plan {
        match plan {
            Plan::Shared { .. } => plan,
            plan => Plan::Shared {
                id: Plan::fresh_id(),
                input: Arc::new(plan),
            },
        }
    }

    /// The shared subplans under this node, each after those it contains. Those in a recursive
    /// union's recursive term are left out: they may read its working table, so they run again
    /// in every round.
    pub fn shared_subplans(&self, out: &mut Vec<(usize, Arc<Plan>)>) {
        match self {
            Plan::Scan { .. } | Plan::Values { .. } | Plan::WorkTable { .. } => {}
            Plan::RecursiveUnion { anchor, .. } => anchor.shared_subplans(out),
            Plan::Filter { input, .. }
            | Plan::Project { input, .. }
            | Plan::Aggregate { input, .. }
            | Plan::Sort { input, .. }
            | Plan::Window { input, .. }
            | Plan::Limit { input, .. }
            | Plan::SetFunctions { input, .. }
            | Plan::SingleRow { input, .. } => input.shared_subplans(out),
            Plan::Join { left, right, .. } | Plan::SetOp { left, right, .. } => {
                left.shared_subplans(out);
                right.shared_subplans(out);
            }
            Plan::Shared { id, input } => {
                if !out.iter().any(|(i, _)| i == id) {
                    input.shared_subplans(out);
                    out.push((*id, input.clone()));
                }
            }
        }
    }

    /// Renders the plan as an indented tree (used by EXPLAIN). A shared subplan's tree is
    /// shown at its first use; the others name it.
    pub fn explain(&self, out: &mut Vec<String>, depth: usize) {
        self.explain_once(out, depth, &mut Vec::new());
    }

    fn explain_once(&self, out: &mut Vec<String>, depth: usize, shown: &mut Vec<usize>) {
        let pad = "  ".repeat(depth);
        let arrow = if depth == 0 { "" } else { "->  " };
        if let Plan::Shared { id, .. } = self {
            if let Some(k) = shown.iter().position(|s| s == id) {
                out.push(format!(
                    "{pad}{arrow}Shared Subplan {} (computed once, shown above)",
                    k + 1
                ));
                return;
            }
            shown.push(*id);
        }
        let line = match self {
            Plan::Scan {
                table,
                projection,
                filter,
                external,
            } => {
                let cols: Vec<&str> = projection
                    .iter()
                    .filter_map(|i| table.def.columns.get(*i).map(|c| c.name.as_str()))
                    .collect();
                let mut s = match external {
                    None => format!(
                        "Seq Scan on {} (columns: {})",
                        table.def.name,
                        cols.join(", ")
                    ),
                    Some(_) => format!(
                        "External Scan on {}.{} (columns: {})",
                        table.def.schema,
                        table.def.name,
                        cols.join(", ")
                    ),
                };
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
            Plan::Join {
                keys,
                join_type,
                filter,
                ..
            } => {
                let with = if filter.is_some() { " with filter" } else { "" };
                let kind = match join_type {
                    JoinType::Inner => "",
                    JoinType::Left => " Left",
                    JoinType::Right => " Right",
                    JoinType::Full => " Full",
                };
                if keys.is_empty() {
                    format!("Nested Loop{kind} Join{with}")
                } else {
                    format!("Hash{kind} Join ({} keys){with}", keys.len())
                }
            }
            Plan::SingleRow { .. } => "Single Row Check".to_string(),
            Plan::Sort { keys, .. } => format!("Sort ({} keys)", keys.len()),
            Plan::Window { calls, .. } => {
                let funcs: Vec<String> = calls
                    .iter()
                    .map(|c| {
                        let frame = match c.func {
                            crate::planner::expr::WindowFunc::Agg(_)
                            | crate::planner::expr::WindowFunc::FirstValue
                            | crate::planner::expr::WindowFunc::LastValue
                            | crate::planner::expr::WindowFunc::NthValue => {
                                format!(" {}", frame_text(&c.frame))
                            }
                            _ => String::new(),
                        };
                        format!("{}{frame}", c.func.name())
                    })
                    .collect();
                let first = calls.first();
                format!(
                    "WindowAgg (partition keys: {}, order keys: {}; {})",
                    first.map(|c| c.partition_by.len()).unwrap_or(0),
                    first.map(|c| c.order_by.len()).unwrap_or(0),
                    funcs.join(", ")
                )
            }
            Plan::SetOp { kind, all, .. } => {
                format!("{kind:?}{}", if *all { " All" } else { "" })
            }
            Plan::Shared { .. } => format!("Shared Subplan {}", shown.len()),
            Plan::RecursiveUnion { all, .. } => {
                format!("Recursive Union{}", if *all { " All" } else { "" })
            }
            Plan::WorkTable { .. } => "WorkTable Scan".to_string(),
            Plan::SetFunctions {
                calls, ordinality, ..
            } => {
                let names: Vec<&str> = calls.iter().map(|c| c.func.name()).collect();
                let ord = if *ordinality { " with ordinality" } else { "" };
                format!("Function Scan ({}){ord}", names.join(", "))
            }
            Plan::Limit { offset, limit, .. } => match limit {
                Some(l) => format!("Limit {l} offset {offset}"),
                None => format!("Offset {offset}"),
            },
        };
        out.push(format!("{pad}{arrow}{line}"));
        for input in self.inputs() {
            input.explain_once(out, depth + 1, shown);
        }
    }

    /// The node's inputs, left to right.
    pub fn inputs(&self) -> Vec<&Plan> {
        match self {
            Plan::Scan { .. } | Plan::Values { .. } | Plan::WorkTable { .. } => Vec::new(),
            Plan::Filter { input, .. }
            | Plan::Project { input, .. }
            | Plan::Aggregate { input, .. }
            | Plan::Sort { input, .. }
            | Plan::Window { input, .. }
            | Plan::Limit { input, .. }
            | Plan::SetFunctions { input, .. }
            | Plan::SingleRow { input, .. } => vec![input],
            Plan::Shared { input, .. } => vec![input],
            Plan::Join { left, right, .. } | Plan::SetOp { left, right, .. } => {
                vec![left, right]
            }
            Plan::RecursiveUnion {
                anchor, recursive, ..
            } => vec![anchor, recursive],
        }
    }

    /// This node and every node below it, in the order [`Plan::explain`] prints them: the
    /// nodes below a shared subplan only at its first use.
    pub fn preorder<'p>(&'p self, out: &mut Vec<&'p Plan>) {
        self.preorder_once(out, &mut Vec::new());
    }

    fn preorder_once<'p>(&'p self, out: &mut Vec<&'p Plan>, shown: &mut Vec<usize>) {
        out.push(self);
        if let Plan::Shared { id, .. } = self {
            if shown.contains(id) {
                return;
            }
            shown.push(*id);
        }
        for input in self.inputs() {
            input.preorder_once(out, shown);
        }
    }
}

/// A frame as SQL spells it, for EXPLAIN.
fn frame_text(frame: &crate::planner::expr::WindowFrame) -> String {
    let offset = |d: &crate::types::Datum| match d {
        crate::types::Datum::Int(v) => v.to_string(),
        crate::types::Datum::Float(v) => v.to_string(),
        crate::types::Datum::Decimal(v, scale) if *scale > 0 => {
            let p = crate::types::datum::pow10(u32::try_from(*scale).unwrap_or(0));
            let frac = (v % p).unsigned_abs();
            let sign = if *v < 0 { "-" } else { "" };
            format!(
                "{sign}{}.{frac:0width$}",
                (v / p).unsigned_abs(),
                width = *scale as usize
            )
        }
        crate::types::Datum::Decimal(v, _) => v.to_string(),
        other => format!("{other:?}"),
    };
    let bound = |b: &FrameBound| match b {
        FrameBound::UnboundedPreceding => "UNBOUNDED PRECEDING".to_string(),
        FrameBound::Preceding(d) => format!("{} PRECEDING", offset(d)),
        FrameBound::CurrentRow => "CURRENT ROW".to_string(),
        FrameBound::Following(d) => format!("{} FOLLOWING", offset(d)),
        FrameBound::UnboundedFollowing => "UNBOUNDED FOLLOWING".to_string(),
    };
    let units = match frame.units {
        FrameUnits::Rows => "ROWS",
        FrameUnits::Range => "RANGE",
        FrameUnits::Groups => "GROUPS",
    };
    let exclude = match frame.exclude {
        FrameExclude::NoOthers => "",
        FrameExclude::CurrentRow => " EXCLUDE CURRENT ROW",
        FrameExclude::Group => " EXCLUDE GROUP",
        FrameExclude::Ties => " EXCLUDE TIES",
    };
    format!(
        "{units} BETWEEN {} AND {}{exclude}",
        bound(&frame.start),
        bound(&frame.end)
    )
}
