//! Rewrites of a bound plan before it runs.
//!
//! Column pruning: every operator passes on only the columns some operator above it reads, and
//! every scan reads only those columns from storage. The binder builds plans whose scans read
//! whole tables and whose joins carry every column of both sides; without this pass a join of
//! wide tables moves every comment string through every operator.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::planner::expr::{AggCall, BinaryOp, Expr, WindowCall};
use crate::planner::plan::Plan;

/// Prunes the columns of `plan` that nothing reads; its output columns are unchanged.
pub fn optimize(plan: Plan) -> Plan {
    let width = plan.types().len();
    let needed: BTreeSet<usize> = (0..width).collect();
    // First the columns every use of each shared subplan reads, then the pruning itself.
    let mut pruner = Pruner {
        collecting: true,
        ..Pruner::default()
    };
    pruner.prune(plan.clone(), &needed);
    pruner.collecting = false;
    let (plan, mapping) = pruner.prune(plan, &needed);
    // Every output column was needed, so every one survived, in order.
    debug_assert!(mapping.iter().enumerate().all(|(i, m)| *m == Some(i)));
    plan
}

/// Where each old output column went (`None`: pruned).
type Mapping = Vec<Option<usize>>;

fn identity(width: usize) -> Mapping {
    (0..width).map(Some).collect()
}

fn remap(e: &Expr, mapping: &Mapping) -> Expr {
    e.map_columns(&|i| mapping.get(i).copied().flatten().unwrap_or(i))
}

fn add_columns(set: &mut BTreeSet<usize>, e: &Expr) {
    set.extend(e.columns());
}

/// `plan`, whose old output columns went where `mapping` says, passing on only the `needed`
/// ones: a projection drops the columns an operator kept only for itself (a scan's
/// filter-only columns, a join's key-only columns), so the operators above never copy them.
/// Unchanged when nothing would be dropped, or everything would.
fn narrow(plan: Plan, mapping: Mapping, needed: &BTreeSet<usize>) -> (Plan, Mapping) {
    let kept: Vec<(usize, usize)> = needed
        .iter()
        .filter_map(|&c| Some((c, mapping.get(c).copied().flatten()?)))
        .collect();
    let types = plan.types();
    if kept.is_empty() || kept.len() == types.len() {
        return (plan, mapping);
    }
    let mut narrowed = vec![None; mapping.len()];
    let mut exprs = Vec::with_capacity(kept.len());
    for (c, at) in kept {
        let Some(ty) = types.get(at).copied() else {
            return (plan, mapping);
        };
        narrowed[c] = Some(exprs.len());
        exprs.push(Expr::Column { index: at, ty });
    }
    (
        Plan::Project {
            input: Box::new(plan),
            exprs,
        },
        narrowed,
    )
}

/// Column pruning's state. A shared subplan is read by several operators that may need
/// different columns: a first, collecting pass gathers the union of its uses' columns, and the
/// second prunes it once to that union, every use reading it through the same mapping.
#[derive(Default)]
struct Pruner {
    /// True during the first pass, whose plan is thrown away.
    collecting: bool,
    /// Per shared subplan id, the columns its uses read.
    demand: HashMap<usize, BTreeSet<usize>>,
    /// The shared subplans already pruned, by id, with their column mapping.
    shared: HashMap<usize, (Arc<Plan>, Mapping)>,
}

impl Pruner {
    /// Prunes `plan` to (at least) the `needed` output columns. Returns the new plan and where each
    /// old output column is in the new output.
    fn prune(&mut self, plan: Plan, needed: &BTreeSet<usize>) -> (Plan, Mapping) {
        match plan {
            Plan::Scan {
                table,
                projection,
                filter,
                external,
            } => {
                let mut keep = needed.clone();
                if let Some(f) = &filter {
                    add_columns(&mut keep, f);
                }
                let mut mapping = vec![None; projection.len()];
                let mut new_projection = Vec::with_capacity(keep.len());
                for (i, col) in projection.iter().enumerate() {
                    if keep.contains(&i) {
                        mapping[i] = Some(new_projection.len());
                        new_projection.push(*col);
                    }
                }
                let filter = filter.map(|f| remap(&f, &mapping));
                let scan = Plan::Scan {
                    table,
                    projection: new_projection,
                    filter,
                    external,
                };
                narrow(scan, mapping, needed)
            }
            Plan::Values { rows, types } => {
                let width = types.len();
                (Plan::Values { rows, types }, identity(width))
            }
            Plan::WorkTable { id, types } => {
                let width = types.len();
                (Plan::WorkTable { id, types }, identity(width))
            }
            Plan::RecursiveUnion {
                id,
                anchor,
                recursive,
                all,
            } => {
                // Each round's rows feed the next through the working table, which has every
                // column: keep them all.
                let width = anchor.types().len();
                let all_cols: BTreeSet<usize> = (0..width).collect();
                let (anchor, _) = self.prune(*anchor, &all_cols);
                let (recursive, _) = self.prune(*recursive, &all_cols);
                (
                    Plan::RecursiveUnion {
                        id,
                        anchor: Box::new(anchor),
                        recursive: Box::new(recursive),
                        all,
                    },
                    identity(width),
                )
            }
            Plan::Filter { input, predicate } => {
                let mut keep = needed.clone();
                add_columns(&mut keep, &predicate);
                let (input, mapping) = self.prune(*input, &keep);
                let predicate = remap(&predicate, &mapping);
                let filter = Plan::Filter {
                    input: Box::new(input),
                    predicate,
                };
                narrow(filter, mapping, needed)
            }
            Plan::Project { input, exprs } => {
                let mut mapping = vec![None; exprs.len()];
                let mut kept = Vec::new();
                for (i, e) in exprs.into_iter().enumerate() {
                    if needed.contains(&i) {
                        mapping[i] = Some(kept.len());
                        kept.push(e);
                    }
                }
                let mut keep = BTreeSet::new();
                for e in &kept {
                    add_columns(&mut keep, e);
                }
                let (input, input_mapping) = self.prune(*input, &keep);
                let exprs: Vec<Expr> = kept.iter().map(|e| remap(e, &input_mapping)).collect();
                // A projection over one that only picks columns (a join's reordering) reads
                // through it.
                let plan = match input {
                    Plan::Project {
                        input: inner_input,
                        exprs: inner,
                    } if inner.iter().all(|e| matches!(e, Expr::Column { .. })) => {
                        let through = |i: usize| match inner.get(i) {
                            Some(Expr::Column { index, .. }) => *index,
                            _ => i,
                        };
                        Plan::Project {
                            input: inner_input,
                            exprs: exprs.iter().map(|e| e.map_columns(&through)).collect(),
                        }
                    }
                    input => Plan::Project {
                        input: Box::new(input),
                        exprs,
                    },
                };
                (plan, mapping)
            }
            Plan::Aggregate {
                input,
                groups,
                aggs,
            } => {
                // Every group column stays (they define the groups); unread aggregates go.
                let g = groups.len();
                let mut mapping: Mapping = (0..g).map(Some).collect();
                mapping.resize(g + aggs.len(), None);
                let mut kept_aggs = Vec::new();
                for (i, a) in aggs.into_iter().enumerate() {
                    if needed.contains(&(g + i)) {
                        mapping[g + i] = Some(g + kept_aggs.len());
                        kept_aggs.push(a);
                    }
                }
                let mut keep = BTreeSet::new();
                for e in &groups {
                    add_columns(&mut keep, e);
                }
                for a in &kept_aggs {
                    for e in a.exprs() {
                        add_columns(&mut keep, e);
                    }
                }
                let (input, input_mapping) = self.prune(*input, &keep);
                let groups = groups.iter().map(|e| remap(e, &input_mapping)).collect();
                let aggs = kept_aggs
                    .into_iter()
                    .map(|mut a| {
                        a.arg = a.arg.map(|e| remap(&e, &input_mapping));
                        for k in &mut a.order_by {
                            k.expr = remap(&k.expr, &input_mapping);
                        }
                        a
                    })
                    .collect();
                let (input, aggs) = share_arguments(input, aggs);
                (
                    Plan::Aggregate {
                        input: Box::new(input),
                        groups,
                        aggs,
                    },
                    mapping,
                )
            }
            Plan::Join {
                left,
                right,
                join_type,
                keys,
                filter,
                null_equal,
            } => {
                let nl = left.types().len();
                let nr = right.types().len();
                let mut keep_left = BTreeSet::new();
                let mut keep_right = BTreeSet::new();
                for &c in needed {
                    if c < nl {
                        keep_left.insert(c);
                    } else {
                        keep_right.insert(c - nl);
                    }
                }
                if let Some(f) = &filter {
                    for c in f.columns() {
                        if c < nl {
                            keep_left.insert(c);
                        } else {
                            keep_right.insert(c - nl);
                        }
                    }
                }
                for (l, r) in &keys {
                    add_columns(&mut keep_left, l);
                    add_columns(&mut keep_right, r);
                }
                let (left, lmap) = self.prune(*left, &keep_left);
                let (right, rmap) = self.prune(*right, &keep_right);
                let new_nl = left.types().len();
                let mut mapping: Mapping = lmap.clone();
                mapping.extend(rmap.iter().map(|m| m.map(|i| i + new_nl)));
                debug_assert_eq!(mapping.len(), nl + nr);
                let keys = keys
                    .iter()
                    .map(|(l, r)| (remap(l, &lmap), remap(r, &rmap)))
                    .collect();
                let filter = filter.map(|f| remap(&f, &mapping));
                let join = Plan::Join {
                    left: Box::new(left),
                    right: Box::new(right),
                    join_type,
                    keys,
                    filter,
                    null_equal,
                };
                narrow(join, mapping, needed)
            }
            Plan::SetFunctions {
                input,
                calls,
                ordinality,
            } => {
                // Every call stays: each one decides how many rows an input row yields.
                let w = input.types().len();
                let mut keep: BTreeSet<usize> = needed.iter().copied().filter(|c| *c < w).collect();
                for c in &calls {
                    for a in &c.args {
                        add_columns(&mut keep, a);
                    }
                }
                let (input, input_mapping) = self.prune(*input, &keep);
                let new_w = input.types().len();
                let extra = calls.len() + usize::from(ordinality);
                let mut mapping = input_mapping.clone();
                mapping.extend((0..extra).map(|i| Some(new_w + i)));
                let calls = calls
                    .into_iter()
                    .map(|mut c| {
                        c.args = c.args.iter().map(|a| remap(a, &input_mapping)).collect();
                        c
                    })
                    .collect();
                (
                    Plan::SetFunctions {
                        input: Box::new(input),
                        calls,
                        ordinality,
                    },
                    mapping,
                )
            }
            Plan::SingleRow { input, key_columns } => {
                let mut keep = needed.clone();
                keep.extend(0..key_columns);
                let (input, mapping) = self.prune(*input, &keep);
                (
                    Plan::SingleRow {
                        input: Box::new(input),
                        key_columns,
                    },
                    mapping,
                )
            }
            Plan::Sort { input, keys } => {
                let mut keep = needed.clone();
                for k in &keys {
                    add_columns(&mut keep, &k.expr);
                }
                let (input, mapping) = self.prune(*input, &keep);
                let keys = keys
                    .into_iter()
                    .map(|mut k| {
                        k.expr = remap(&k.expr, &mapping);
                        k
                    })
                    .collect();
                (
                    Plan::Sort {
                        input: Box::new(input),
                        keys,
                    },
                    mapping,
                )
            }
            Plan::Window { input, calls } => {
                // Unread calls go; the input keeps what the rest and the calls read.
                let w = input.types().len();
                let ncalls = calls.len();
                let mut keep: BTreeSet<usize> = needed.iter().copied().filter(|c| *c < w).collect();
                let kept: Vec<(usize, WindowCall)> = calls
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| needed.contains(&(w + i)))
                    .collect();
                for (_, c) in &kept {
                    add_columns(&mut keep, &Expr::Window(Box::new(c.clone())));
                }
                let (input, input_mapping) = self.prune(*input, &keep);
                let new_w = input.types().len();
                let mut mapping = input_mapping.clone();
                mapping.resize(w + ncalls, None);
                let mut new_calls = Vec::with_capacity(kept.len());
                for (i, c) in kept {
                    mapping[w + i] = Some(new_w + new_calls.len());
                    new_calls.push(c.map_exprs(&mut |e| remap(e, &input_mapping)));
                }
                if new_calls.is_empty() {
                    return (input, mapping);
                }
                (
                    Plan::Window {
                        input: Box::new(input),
                        calls: new_calls,
                    },
                    mapping,
                )
            }
            Plan::Limit {
                input,
                offset,
                limit,
            } => {
                let (input, mapping) = self.prune(*input, needed);
                (
                    Plan::Limit {
                        input: Box::new(input),
                        offset,
                        limit,
                    },
                    mapping,
                )
            }
            Plan::Shared { id, input } => {
                let width = input.types().len();
                if self.collecting {
                    let first = !self.demand.contains_key(&id);
                    let demand = self.demand.entry(id).or_default();
                    let before = demand.len();
                    demand.extend(needed.iter().copied());
                    // What a use needs inside grows with what it reads, so a use adding no
                    // column needs no new visit.
                    if first || demand.len() > before {
                        let demand = demand.clone();
                        self.prune(input.as_ref().clone(), &demand);
                    }
                    return (Plan::Shared { id, input }, identity(width));
                }
                let (input, mapping) = match self.shared.get(&id) {
                    Some(done) => done.clone(),
                    None => {
                        let keep = match self.demand.get(&id) {
                            Some(demand) => demand.clone(),
                            None => (0..width).collect(),
                        };
                        let (inner, mapping) = self.prune(input.as_ref().clone(), &keep);
                        let done = (Arc::new(inner), mapping);
                        self.shared.insert(id, done.clone());
                        done
                    }
                };
                (Plan::Shared { id, input }, mapping)
            }
            Plan::SetOp {
                left,
                right,
                kind,
                all,
            } => {
                // Every column takes part in comparing rows: keep them all.
                let width = left.types().len();
                let all_cols: BTreeSet<usize> = (0..width).collect();
                let (left, _) = self.prune(*left, &all_cols);
                let (right, _) = self.prune(*right, &all_cols);
                (
                    Plan::SetOp {
                        left: Box::new(left),
                        right: Box::new(right),
                        kind,
                        all,
                    },
                    identity(width),
                )
            }
        }
    }
}

impl crate::planner::bind::Binder<'_> {
    /// Binds a statement's query and optimizes its plan.
    pub fn bind_top_query(
        &mut self,
        q: &sqlparser::ast::Query,
    ) -> crate::error::Result<crate::planner::select::BoundQuery> {
        let mut bound = self.bind_query(q)?;
        bound.plan = optimize(bound.plan);
        Ok(bound)
    }
}

/// Arithmetic that two or more aggregate arguments share is computed once: a projection under
/// the aggregate adds it as a column, and the arguments read that column. TPC-H Q1 sums both
/// `l_extendedprice * (1 - l_discount)` and that times `(1 + l_tax)`.
///
/// Only nodes every row evaluates anyway are shared (arithmetic, casts and negations reached
/// through arithmetic, casts and negations from the argument's root), never one inside a CASE
/// or a function, so no row evaluates what it would not have. The largest shared expression
/// goes first; the aggregate's output is unchanged.
fn share_arguments(input: Plan, mut aggs: Vec<AggCall>) -> (Plan, Vec<AggCall>) {
    let width = input.types().len();
    let mut shared: Vec<Expr> = Vec::new();
    loop {
        let mut seen: Vec<(&Expr, usize)> = Vec::new();
        for a in &aggs {
            if let Some(arg) = &a.arg {
                count_shareable(arg, &mut seen);
            }
        }
        let Some(best) = seen
            .iter()
            .filter(|(_, n)| *n > 1)
            .max_by_key(|(e, _)| node_count(e))
            .map(|(e, _)| (*e).clone())
        else {
            break;
        };
        let column = Expr::Column {
            index: width + shared.len(),
            ty: best.ty(),
        };
        for a in &mut aggs {
            a.arg = a
                .arg
                .as_ref()
                .map(|e| e.transform(&mut |n| (*n == best).then(|| column.clone())));
        }
        shared.push(best);
    }
    if shared.is_empty() {
        return (input, aggs);
    }
    let types = input.types();
    let exprs = types
        .iter()
        .enumerate()
        .map(|(index, ty)| Expr::Column { index, ty: *ty })
        .chain(shared)
        .collect();
    (
        Plan::Project {
            input: Box::new(input),
            exprs,
        },
        aggs,
    )
}

/// Counts, into `seen`, `e` and the nodes below it that [`share_arguments`] may share.
fn count_shareable<'e>(e: &'e Expr, seen: &mut Vec<(&'e Expr, usize)>) {
    let children: Vec<&Expr> = match e {
        Expr::Binary {
            op: BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div,
            left,
            right,
            ..
        } => vec![left, right],
        Expr::Cast { expr, .. } | Expr::Negate(expr) => vec![expr],
        _ => return,
    };
    // Only columns, constants and the operators above: no function (it could be volatile).
    let mut plain = true;
    e.visit(&mut |n| {
        plain &= matches!(
            n,
            Expr::Column { .. }
                | Expr::Literal { .. }
                | Expr::Binary { .. }
                | Expr::Cast { .. }
                | Expr::Negate(_)
        )
    });
    if plain && !e.is_constant() {
        match seen.iter_mut().find(|(s, _)| *s == e) {
            Some((_, n)) => *n += 1,
            None => seen.push((e, 1)),
        }
    }
    for c in children {
        count_shareable(c, seen);
    }
}

/// Nodes in `e`.
fn node_count(e: &Expr) -> usize {
    let mut n = 0;
    e.visit(&mut |_| n += 1);
    n
}
