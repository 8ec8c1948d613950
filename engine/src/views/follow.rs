//! Views that follow a relation renamed or moved to another schema, or a table's column
//! renamed.
//!
//! PostgreSQL's views hold their relations by OID, so ALTER TABLE / ALTER VIEW ... RENAME TO
//! and SET SCHEMA leave them working and `pg_get_viewdef` shows the new name. Basalt keeps a
//! view's query as text, so the text is rewritten instead: every FROM item of the query
//! naming the relation (`t`, `s.t` or `dev.s.t`) names it by its new name, schema-qualified
//! when the schema changed; a FROM item whose bare name changes keeps the old name as its
//! alias when it had none, so column references such as `t.x` still bind; and three-part
//! column references `s.t.x` follow too.
//!
//! A column rename renames the view's references to the column, as PostgreSQL's deparsed
//! definition shows them: `b`, `t.b` and `s.t.b` where they name the table's column take the
//! new name, and a select-list item that was the bare reference keeps its output name with
//! `AS` (`SELECT c AS b`), so the view's columns and the derived tables' are unchanged.
//! Where a reference cannot be told apart by the text alone (an unqualified name in a
//! subquery that could mean a column of its own FROM items, `*` over the table, USING or
//! NATURAL joins, an output alias spelled like the column, a column alias list on the table)
//! the view instead gets a column alias list on each FROM item naming the table, with the
//! old names of its columns up to the renamed one (`FROM t AS t (a, b)`), so its references
//! keep binding. The caller binds the rewritten views against the changed catalog and
//! refuses the change (2BP01, as before) if one no longer binds, and a view in which a WITH
//! query of the relation's bare name could hide it is not rewritten.
//!
//! ```text
//!   CREATE VIEW v AS SELECT t.x FROM t          ALTER TABLE t RENAME TO u
//!   -> SELECT t.x FROM u AS t
//!   CREATE VIEW w AS SELECT x FROM s1.t         ALTER TABLE s1.t SET SCHEMA s2
//!   -> SELECT x FROM s2.t
//!   CREATE VIEW c AS SELECT b FROM t WHERE b > 0   ALTER TABLE t RENAME COLUMN b TO c
//!   -> SELECT c AS b FROM t WHERE c > 0
//!   CREATE VIEW d AS SELECT * FROM t            ALTER TABLE t RENAME COLUMN b TO c
//!   -> SELECT * FROM t AS t (a, b)
//! ```

use std::ops::ControlFlow;

use basalt_storage::Objects;
use sqlparser::ast::{self, VisitMut, VisitorMut};

use crate::planner::bind::normalize_ident;

/// A relation's name before and after the change: (schema, name).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rename<'a> {
    pub from: (&'a str, &'a str),
    pub to: (&'a str, &'a str),
}

/// Rewrites, in `objects`, the query of every schema-bound view that reads relation `id`
/// (see the module's documentation). `Err` names a view whose query cannot be rewritten.
pub(crate) fn follow_relation(
    objects: &mut Objects,
    id: u64,
    rename: Rename<'_>,
) -> Result<(), String> {
    follow(objects, id, |query| rewrite(query, rename, None))
}

/// How a view follows a rename of one of its table's columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ColumnFollow {
    /// References take the new name where the text tells them apart, an alias list
    /// elsewhere (see the module's documentation).
    Rename,
    /// An alias list with the old names on every FROM item naming the table.
    AliasList,
}

/// Rewrites, in `objects`, the query of every schema-bound view that reads table `id`
/// (`schema.name`) for a rename of one of its columns (see the module's documentation).
/// `columns` are the table's column names before the rename, `at` the renamed one's
/// position and `new` its new name.
pub(crate) fn follow_column(
    objects: &mut Objects,
    id: u64,
    table: (&str, &str),
    columns: &[String],
    at: usize,
    new: &str,
    how: ColumnFollow,
) -> Result<(), String> {
    let old_columns = columns.get(..=at).ok_or_else(|| table.1.to_owned())?;
    let rename = Rename {
        from: table,
        to: table,
    };
    follow(objects, id, |query| {
        let renamed = match how {
            ColumnFollow::Rename => rename_column(query, table, columns, at, new),
            ColumnFollow::AliasList => None,
        };
        renamed.or_else(|| rewrite(query, rename, Some(old_columns)))
    })
}

fn follow(
    objects: &mut Objects,
    id: u64,
    rewrite: impl Fn(&str) -> Option<String>,
) -> Result<(), String> {
    let readers: Vec<u64> = objects
        .dependents(id)
        .filter(|v| v.schema_binding)
        .map(|v| v.id)
        .collect();
    for view in objects.views.iter_mut().filter(|v| readers.contains(&v.id)) {
        match rewrite(&view.query) {
            Some(query) => view.query = query,
            None => return Err(view.name.clone()),
        }
    }
    Ok(())
}

/// `query` naming the relation by its new name (or, with `old_columns`, its columns by their
/// old names), or `None` when that cannot be done safely.
fn rewrite(query: &str, rename: Rename<'_>, old_columns: Option<&[String]>) -> Option<String> {
    let statements = crate::parse::parse(query).ok()?;
    let [ast::Statement::Query(mut query)] = <[ast::Statement; 1]>::try_from(statements).ok()?
    else {
        return None;
    };
    let mut rewriter = Rewriter {
        rename,
        old_columns,
        with_names: Vec::new(),
        blocked: false,
    };
    let _ = query.visit(&mut rewriter);
    (!rewriter.blocked).then(|| query.to_string())
}

struct Rewriter<'a> {
    rename: Rename<'a>,
    /// For a column rename: the old names of the table's columns up to the renamed one.
    old_columns: Option<&'a [String]>,
    /// The names of the WITH queries seen so far (of enclosing and earlier queries).
    with_names: Vec<String>,
    /// Set when an unqualified name could mean a WITH query as well as the relation.
    blocked: bool,
}

impl Rewriter<'_> {
    /// Whether the bare name changes (a rename, not a move), so a FROM item keeps the old
    /// name as its alias.
    fn keeps_alias(&self) -> bool {
        self.rename.from.1 != self.rename.to.1 || self.old_columns.is_some()
    }
}

/// An identifier for `name`, quoted where PostgreSQL would need quotes.
fn ident(name: &str) -> ast::Ident {
    if crate::kernels::func::quote_ident(name) == name {
        ast::Ident::new(name)
    } else {
        ast::Ident::with_quote('"', name)
    }
}

/// The parts of `name` folded as identifiers, or `None` if one is not an identifier.
fn parts(name: &ast::ObjectName) -> Option<Vec<String>> {
    name.0
        .iter()
        .map(|p| p.as_ident().map(normalize_ident))
        .collect()
}

fn object_name(parts: &[&str]) -> ast::ObjectName {
    ast::ObjectName(
        parts
            .iter()
            .map(|p| ast::ObjectNamePart::Identifier(ident(p)))
            .collect(),
    )
}

impl VisitorMut for Rewriter<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut ast::Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            self.with_names.extend(
                with.cte_tables
                    .iter()
                    .map(|cte| normalize_ident(&cte.alias.name)),
            );
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &mut ast::TableFactor) -> ControlFlow<()> {
        let ast::TableFactor::Table { name, alias, .. } = factor else {
            return ControlFlow::Continue(());
        };
        let Some(parts) = parts(name) else {
            return ControlFlow::Continue(());
        };
        let (from, to) = (self.rename.from, self.rename.to);
        let qualified = match parts.as_slice() {
            [s, n] if *s == from.0 && *n == from.1 => true,
            [d, s, n] if d == crate::catalog::DATABASE && *s == from.0 && *n == from.1 => true,
            [n] if *n == from.1 => {
                if self.with_names.contains(n) {
                    self.blocked = true;
                    return ControlFlow::Break(());
                }
                false
            }
            _ => return ControlFlow::Continue(()),
        };
        if let Some(old) = self.old_columns {
            let alias = alias.get_or_insert_with(|| ast::TableAlias {
                explicit: true,
                name: ident(from.1),
                columns: Vec::new(),
                at: None,
            });
            // Columns the alias already names keep their alias; the rest up to the renamed
            // one get their old names.
            let named = alias.columns.len();
            alias
                .columns
                .extend(old.iter().skip(named).map(|c| ast::TableAliasColumnDef {
                    name: ident(c),
                    data_type: None,
                }));
            return ControlFlow::Continue(());
        }
        *name = if qualified || from.0 != to.0 {
            object_name(&[to.0, to.1])
        } else {
            object_name(&[to.1])
        };
        if alias.is_none() && self.keeps_alias() {
            *alias = Some(ast::TableAlias {
                explicit: true,
                name: ident(from.1),
                columns: Vec::new(),
                at: None,
            });
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &mut ast::Expr) -> ControlFlow<()> {
        let ast::Expr::CompoundIdentifier(idents) = expr else {
            return ControlFlow::Continue(());
        };
        let (from, to) = (self.rename.from, self.rename.to);
        if idents.len() >= 3
            && normalize_ident(&idents[0]) == from.0
            && normalize_ident(&idents[1]) == from.1
        {
            let column = idents.split_off(2);
            let relation = if self.keeps_alias() {
                vec![ident(from.1)]
            } else {
                vec![ident(to.0), ident(to.1)]
            };
            *idents = relation.into_iter().chain(column).collect();
        }
        ControlFlow::Continue(())
    }
}

/// `query` with its references to column `columns[at]` of `table` renamed to `new`
/// (see the module's documentation), or `None` where the text cannot tell them apart.
fn rename_column(
    query: &str,
    table: (&str, &str),
    columns: &[String],
    at: usize,
    new: &str,
) -> Option<String> {
    let statements = crate::parse::parse(query).ok()?;
    let [ast::Statement::Query(mut query)] = <[ast::Statement; 1]>::try_from(statements).ok()?
    else {
        return None;
    };
    let mut renamer = ColumnRenamer {
        table,
        columns,
        old: columns.get(at)?,
        new,
        scopes: Vec::new(),
        with_names: Vec::new(),
        unsure: false,
    };
    let _ = query.visit(&mut renamer);
    (!renamer.unsure).then(|| query.to_string())
}

/// The FROM items of one SELECT, as its column references see them.
#[derive(Debug, Default)]
struct Scope {
    /// The SELECT this is (a query's own SELECT is pushed with the query, so that its ORDER
    /// BY sees it; a set operation's branches as they are visited).
    select: Option<*const ast::Select>,
    /// A set operation's branch, popped after its SELECT.
    branch: bool,
    /// The name each FROM item is referred to by, and whether it is the table.
    items: Vec<(String, bool)>,
}

impl Scope {
    fn has_table(&self) -> bool {
        self.items.iter().any(|(_, t)| *t)
    }
}

/// Renames the references to one column of a table (`rename_column`).
struct ColumnRenamer<'a> {
    table: (&'a str, &'a str),
    /// The table's columns before the rename.
    columns: &'a [String],
    old: &'a str,
    new: &'a str,
    /// The scopes of the SELECTs being visited, innermost last.
    scopes: Vec<Scope>,
    /// The names of the WITH queries seen so far.
    with_names: Vec<String>,
    /// Set when a reference cannot be told apart: the caller falls back to an alias list.
    unsure: bool,
}

impl ColumnRenamer<'_> {
    /// Whether a FROM item naming `name` is the table.
    fn is_table(&mut self, name: &ast::ObjectName) -> bool {
        let Some(parts) = parts(name) else {
            return false;
        };
        let (schema, table) = self.table;
        match parts.as_slice() {
            [s, n] => *s == schema && *n == table,
            [d, s, n] => d == crate::catalog::DATABASE && *s == schema && *n == table,
            [n] if *n == table => {
                if self.with_names.contains(n) {
                    self.unsure = true;
                }
                true
            }
            _ => false,
        }
    }

    /// The scope of `select`, noting what cannot be renamed by the text alone.
    fn scope_of(&mut self, select: &ast::Select, branch: bool) -> Scope {
        let mut scope = Scope {
            select: Some(select as *const ast::Select),
            branch,
            items: Vec::new(),
        };
        for from in &select.from {
            self.add_items(&from.relation, &mut scope);
            for join in &from.joins {
                self.add_items(&join.relation, &mut scope);
                if join_matches_names(&join.join_operator) {
                    // USING and NATURAL joins name columns outside expressions.
                    scope.items.push((String::new(), false));
                    self.unsure |= scope.has_table();
                }
            }
        }
        if scope.has_table() {
            for item in &select.projection {
                if let ast::SelectItem::ExprWithAlias { alias, .. } = item {
                    // ORDER BY may name this output rather than the column.
                    self.unsure |= normalize_ident(alias) == self.old;
                }
            }
        }
        scope
    }

    fn add_items(&mut self, factor: &ast::TableFactor, scope: &mut Scope) {
        let (name, is_table) = match factor {
            ast::TableFactor::Table { name, alias, .. } => {
                let is_table = self.is_table(name);
                if is_table && alias.as_ref().is_some_and(|a| !a.columns.is_empty()) {
                    // References go through the alias list's names.
                    self.unsure = true;
                }
                let shown = match alias {
                    Some(a) => normalize_ident(&a.name),
                    None => parts(name)
                        .and_then(|p| p.last().cloned())
                        .unwrap_or_default(),
                };
                (shown, is_table)
            }
            ast::TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                self.add_items(&table_with_joins.relation, scope);
                for join in &table_with_joins.joins {
                    self.add_items(&join.relation, scope);
                    if join_matches_names(&join.join_operator) {
                        self.unsure = true;
                    }
                }
                match alias {
                    Some(a) => (normalize_ident(&a.name), false),
                    None => return,
                }
            }
            ast::TableFactor::Derived { alias, .. }
            | ast::TableFactor::Function { alias, .. }
            | ast::TableFactor::UNNEST { alias, .. } => (
                alias
                    .as_ref()
                    .map(|a| normalize_ident(&a.name))
                    .unwrap_or_default(),
                false,
            ),
            _ => (String::new(), false),
        };
        scope.items.push((name, is_table));
    }

    /// Whether `e` is a reference to the renamed column in the innermost scope's view.
    fn names_column(&self, e: &ast::Expr) -> bool {
        match e {
            ast::Expr::Identifier(i) => {
                normalize_ident(i) == self.old && self.scopes.last().is_some_and(Scope::has_table)
            }
            ast::Expr::CompoundIdentifier(idents) => self.compound_names_column(idents),
            _ => false,
        }
    }

    fn compound_names_column(&self, idents: &[ast::Ident]) -> bool {
        let names: Vec<String> = idents.iter().map(normalize_ident).collect();
        match names.as_slice() {
            [relation, column] if column == self.old => self
                .scopes
                .iter()
                .rev()
                .find_map(|s| s.items.iter().find(|(n, _)| n == relation).map(|(_, t)| *t))
                .unwrap_or(false),
            [s, n, column] => column == self.old && *s == self.table.0 && *n == self.table.1,
            [d, s, n, column] => {
                column == self.old
                    && d == crate::catalog::DATABASE
                    && *s == self.table.0
                    && *n == self.table.1
            }
            _ => false,
        }
    }

    /// Gives `select`'s items that are bare references to the column their old output name,
    /// and spells out `*` and `t.*` over the table alone as its columns (as PostgreSQL
    /// stores a view's `*`), the renamed one keeping its output name.
    fn keep_output_names(&mut self, select: &mut ast::Select) {
        let Some(scope) = self.scopes.last() else {
            return;
        };
        let only_table = matches!(scope.items.as_slice(), [(_, true)]);
        let has_table = scope.has_table();
        let mut projection = Vec::with_capacity(select.projection.len());
        for item in std::mem::take(&mut select.projection) {
            let qualifier = match &item {
                ast::SelectItem::UnnamedExpr(e) if self.names_column(e) => {
                    projection.push(ast::SelectItem::ExprWithAlias {
                        expr: e.clone(),
                        alias: ident(self.old),
                    });
                    continue;
                }
                ast::SelectItem::Wildcard(options) if only_table => {
                    if !options.to_string().is_empty() {
                        self.unsure = true;
                    }
                    None
                }
                ast::SelectItem::QualifiedWildcard(
                    ast::SelectItemQualifiedWildcardKind::ObjectName(name),
                    options,
                ) if options.to_string().is_empty() => {
                    let parts = parts(name).unwrap_or_default();
                    let mut idents = parts.iter().map(ast::Ident::new).collect::<Vec<_>>();
                    idents.push(ast::Ident::new(self.old));
                    if !self.compound_names_column(&idents) {
                        // Another relation's columns, or the table's through a name the
                        // text cannot resolve.
                        self.unsure |= has_table && !self.names_other(&parts);
                        projection.push(item);
                        continue;
                    }
                    Some(parts)
                }
                ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..) => {
                    self.unsure |= has_table;
                    projection.push(item);
                    continue;
                }
                _ => {
                    projection.push(item);
                    continue;
                }
            };
            for column in self.columns {
                let mut idents: Vec<ast::Ident> =
                    qualifier.iter().flatten().map(|p| ident(p)).collect();
                idents.push(ident(column));
                let expr = match idents.len() {
                    1 => ast::Expr::Identifier(idents.remove(0)),
                    _ => ast::Expr::CompoundIdentifier(idents),
                };
                projection.push(if column == self.old {
                    ast::SelectItem::ExprWithAlias {
                        expr,
                        alias: ident(self.old),
                    }
                } else {
                    ast::SelectItem::UnnamedExpr(expr)
                });
            }
        }
        select.projection = projection;
    }

    /// Whether the qualifier `parts` of a `q.*` names a FROM item that is not the table.
    fn names_other(&self, parts: &[String]) -> bool {
        let [relation] = parts else {
            return false;
        };
        self.scopes
            .iter()
            .rev()
            .find_map(|s| {
                s.items
                    .iter()
                    .find(|(n, _)| n == relation)
                    .map(|(_, t)| !*t)
            })
            .unwrap_or(false)
    }

    fn enter(&mut self, select: &mut ast::Select, branch: bool) {
        let scope = self.scope_of(select, branch);
        self.scopes.push(scope);
        self.keep_output_names(select);
    }
}

/// Whether a join matches columns by name (USING, NATURAL).
fn join_matches_names(op: &ast::JoinOperator) -> bool {
    use ast::JoinOperator as J;
    let constraint = match op {
        J::Join(c)
        | J::Inner(c)
        | J::Left(c)
        | J::LeftOuter(c)
        | J::Right(c)
        | J::RightOuter(c)
        | J::FullOuter(c)
        | J::CrossJoin(c)
        | J::Semi(c)
        | J::LeftSemi(c)
        | J::RightSemi(c)
        | J::Anti(c)
        | J::LeftAnti(c)
        | J::RightAnti(c)
        | J::StraightJoin(c)
        | J::AsOf { constraint: c, .. } => c,
        _ => return false,
    };
    matches!(
        constraint,
        ast::JoinConstraint::Using(_)
            | ast::JoinConstraint::UsingAlias(..)
            | ast::JoinConstraint::Natural
    )
}

impl VisitorMut for ColumnRenamer<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut ast::Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            self.with_names.extend(
                with.cte_tables
                    .iter()
                    .map(|cte| normalize_ident(&cte.alias.name)),
            );
        }
        // A query's own SELECT is its scope through its ORDER BY too; a set operation's
        // ORDER BY names only output columns.
        match query.body.as_mut() {
            ast::SetExpr::Select(select) => self.enter(select, false),
            _ => self.scopes.push(Scope::default()),
        }
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &mut ast::Query) -> ControlFlow<()> {
        self.scopes.pop();
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &mut ast::Select) -> ControlFlow<()> {
        let ptr = select as *const ast::Select;
        if self.scopes.last().and_then(|s| s.select) != Some(ptr) {
            // A branch of a set operation.
            self.enter(select, true);
        }
        ControlFlow::Continue(())
    }

    fn post_visit_select(&mut self, select: &mut ast::Select) -> ControlFlow<()> {
        // `c AS c` (a rename back to the output's name) is `c`, as PostgreSQL shows it.
        if self.scopes.last().is_some_and(Scope::has_table) {
            for item in &mut select.projection {
                if let ast::SelectItem::ExprWithAlias { expr, alias } = item {
                    let last = match expr {
                        ast::Expr::Identifier(i) => Some(&*i),
                        ast::Expr::CompoundIdentifier(idents) => idents.last(),
                        _ => None,
                    };
                    let same = normalize_ident(alias) == self.new
                        && last.is_some_and(|i| normalize_ident(i) == self.new);
                    if same {
                        *item = ast::SelectItem::UnnamedExpr(expr.clone());
                    }
                }
            }
        }
        let ptr = select as *const ast::Select;
        if self
            .scopes
            .last()
            .is_some_and(|s| s.branch && s.select == Some(ptr))
        {
            self.scopes.pop();
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &mut ast::Expr) -> ControlFlow<()> {
        match expr {
            ast::Expr::Identifier(i) if normalize_ident(i) == self.old => {
                if self.scopes.last().is_some_and(Scope::has_table) {
                    *i = ident(self.new);
                } else if self.scopes.iter().any(Scope::has_table) {
                    // An enclosing query's column, or one of this subquery's own.
                    self.unsure = true;
                }
            }
            ast::Expr::CompoundIdentifier(idents) if self.compound_names_column(idents) => {
                if let Some(last) = idents.last_mut() {
                    *last = ident(self.new);
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn follow(query: &str, from: (&str, &str), to: (&str, &str)) -> Option<String> {
        rewrite(query, Rename { from, to }, None)
    }

    fn follow_columns(query: &str, table: (&str, &str), old: &[&str]) -> Option<String> {
        let old: Vec<String> = old.iter().map(|c| (*c).to_owned()).collect();
        rewrite(
            query,
            Rename {
                from: table,
                to: table,
            },
            Some(&old),
        )
    }

    // A column rename gives the table's FROM items a column alias list with the old names,
    // extending a list the view already had.
    #[test]
    fn columns_keep_their_old_names_through_an_alias_list() {
        assert_eq!(
            follow_columns(
                "SELECT t.b FROM t WHERE a > 0",
                ("public", "t"),
                &["a", "b"]
            )
            .as_deref(),
            Some("SELECT t.b FROM t AS t (a, b) WHERE a > 0")
        );
        assert_eq!(
            follow_columns(
                "SELECT x FROM public.t AS q (x)",
                ("public", "t"),
                &["a", "b"]
            )
            .as_deref(),
            Some("SELECT x FROM public.t AS q (x, b)")
        );
        assert_eq!(
            follow_columns("SELECT public.t.a FROM public.t", ("public", "t"), &["a"]).as_deref(),
            Some("SELECT t.a FROM public.t AS t (a)")
        );
    }

    /// `query` after column `total` of `public.t (id, total, cust)` is renamed to `amount`.
    fn renamed(query: &str) -> Option<String> {
        let columns: Vec<String> = ["id", "total", "cust"].map(String::from).to_vec();
        rename_column(query, ("public", "t"), &columns, 1, "amount")
    }

    // A column rename renames the references to it in every clause, qualified or not, in
    // subqueries and set operations, and a bare reference in a select list keeps its output
    // name; another relation's column of the same name is left alone.
    #[test]
    fn references_take_the_new_column_name() {
        let cases = [
            (
                "SELECT id, total FROM t WHERE total > 0 GROUP BY id, total HAVING max(total) > 1 ORDER BY total",
                "SELECT id, amount AS total FROM t WHERE amount > 0 GROUP BY id, amount HAVING max(amount) > 1 ORDER BY amount",
            ),
            (
                "SELECT s.total AS x, s.total + 1 FROM t AS s",
                "SELECT s.amount AS x, s.amount + 1 FROM t AS s",
            ),
            (
                "SELECT o.total FROM other AS o WHERE EXISTS (SELECT 1 FROM t WHERE t.total = o.total)",
                "SELECT o.total FROM other AS o WHERE EXISTS (SELECT 1 FROM t WHERE t.amount = o.total)",
            ),
            (
                "SELECT q.total FROM (SELECT total FROM public.t) AS q",
                "SELECT q.total FROM (SELECT amount AS total FROM public.t) AS q",
            ),
            (
                "SELECT total FROM other WHERE EXISTS (SELECT 1 FROM t)",
                "SELECT total FROM other WHERE EXISTS (SELECT 1 FROM t)",
            ),
            (
                "SELECT total FROM t UNION ALL SELECT total FROM other ORDER BY total",
                "SELECT amount AS total FROM t UNION ALL SELECT total FROM other ORDER BY total",
            ),
            (
                "SELECT public.t.total FROM public.t",
                "SELECT public.t.amount AS total FROM public.t",
            ),
            (
                "SELECT total AS amount, t.total AS amount2 FROM t",
                "SELECT amount, t.amount AS amount2 FROM t",
            ),
            (
                "SELECT * FROM t WHERE total > 0",
                "SELECT id, amount AS total, cust FROM t WHERE amount > 0",
            ),
            (
                "SELECT s.*, o.* FROM t AS s JOIN other AS o ON o.id = s.id",
                "SELECT s.id, s.amount AS total, s.cust, o.* FROM t AS s JOIN other AS o ON o.id = s.id",
            ),
        ];
        for (view, expected) in cases {
            assert_eq!(renamed(view).as_deref(), Some(expected));
        }
    }

    // Where the text cannot tell a reference to the column apart, nothing is renamed (the
    // view gets an alias list instead): `*` over several relations, a subquery's unqualified
    // name that could be its own FROM item's, USING, an output alias spelled like the column,
    // an alias list.
    #[test]
    fn unclear_references_are_not_renamed() {
        for view in [
            "SELECT * FROM t, other",
            "SELECT id FROM t WHERE EXISTS (SELECT 1 FROM other WHERE total > 0)",
            "SELECT id FROM t JOIN other USING (id)",
            "SELECT id * 2 AS total FROM t ORDER BY total",
            "SELECT b FROM t AS t (a, b)",
        ] {
            assert_eq!(renamed(view), None, "{view}");
        }
    }

    // A rename keeps the old name as the FROM item's alias; a move qualifies the name.
    #[test]
    fn names_follow_renames_and_moves() {
        assert_eq!(
            follow(
                "SELECT t.x FROM t WHERE x > 1",
                ("public", "t"),
                ("public", "u")
            )
            .as_deref(),
            Some("SELECT t.x FROM u AS t WHERE x > 1")
        );
        assert_eq!(
            follow(
                "SELECT a.x FROM public.t AS a",
                ("public", "t"),
                ("public", "u")
            )
            .as_deref(),
            Some("SELECT a.x FROM public.u AS a")
        );
        assert_eq!(
            follow("SELECT s1.t.x FROM s1.t", ("s1", "t"), ("s2", "t")).as_deref(),
            Some("SELECT s2.t.x FROM s2.t")
        );
        assert_eq!(
            follow(
                "SELECT x FROM t JOIN other ON true",
                ("public", "t"),
                ("s2", "t")
            )
            .as_deref(),
            Some("SELECT x FROM s2.t JOIN other ON true")
        );
        // Another schema's relation of the same name is left alone.
        assert_eq!(
            follow("SELECT x FROM s9.t", ("public", "t"), ("public", "u")).as_deref(),
            Some("SELECT x FROM s9.t")
        );
    }

    // Names that need quotes get them; a subquery's FROM items follow too.
    #[test]
    fn quoted_names_and_subqueries() {
        assert_eq!(
            follow(
                "SELECT * FROM (SELECT x FROM t) AS q WHERE EXISTS (SELECT 1 FROM t)",
                ("public", "t"),
                ("public", "New T")
            )
            .as_deref(),
            Some(
                "SELECT * FROM (SELECT x FROM \"New T\" AS t) AS q WHERE EXISTS (SELECT 1 FROM \"New T\" AS t)"
            )
        );
    }

    // A WITH query of the relation's name could hide it: not rewritten.
    #[test]
    fn a_with_query_of_the_same_name_blocks() {
        assert_eq!(
            follow(
                "WITH t AS (SELECT 1 AS x) SELECT x FROM t",
                ("public", "t"),
                ("public", "u")
            ),
            None
        );
    }
}
