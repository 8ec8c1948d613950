//! Views that follow a relation renamed or moved to another schema, or a table's column
//! renamed.
//!
//! PostgreSQL's views hold their relations by OID, so ALTER TABLE / ALTER VIEW ... RENAME TO
//! and SET SCHEMA leave them working and `pg_get_viewdef` shows the new name. Basalt keeps a
//! view's query as text, so the text is rewritten instead: every FROM item of the query
//! naming the relation (`t`, `s.t` or `dev.s.t`) names it by its new name, schema-qualified
//! when the schema changed; a FROM item whose bare name changes keeps the old name as its
//! alias when it had none, so column references such as `t.x` still bind; and three-part
//! column references `s.t.x` follow too. A column rename gives each FROM item naming the
//! table a column alias list with the old names of its columns up to the renamed one
//! (`FROM t AS t (a, b)`), so the view's references to the old name keep binding. The
//! caller binds the rewritten views against the changed catalog and refuses the change
//! (2BP01, as before) if one no longer binds, and a view in which a WITH query of the
//! relation's bare name could hide it is not rewritten.
//!
//! ```text
//!   CREATE VIEW v AS SELECT t.x FROM t          ALTER TABLE t RENAME TO u
//!   -> SELECT t.x FROM u AS t
//!   CREATE VIEW w AS SELECT x FROM s1.t         ALTER TABLE s1.t SET SCHEMA s2
//!   -> SELECT x FROM s2.t
//!   CREATE VIEW c AS SELECT b FROM t            ALTER TABLE t RENAME COLUMN b TO c
//!   -> SELECT b FROM t AS t (a, b)
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
    follow(objects, id, rename, None)
}

/// Rewrites, in `objects`, the query of every schema-bound view that reads table `id`
/// (`schema.name`) for a rename of one of its columns: each FROM item naming the table gets
/// a column alias list that gives the table's columns up to the renamed one their old names
/// (`FROM t AS t (a, b)`), so the view's references keep binding. `old_columns` are the
/// table's column names before the rename, up to and including the renamed one.
pub(crate) fn follow_column(
    objects: &mut Objects,
    id: u64,
    table: (&str, &str),
    old_columns: &[String],
) -> Result<(), String> {
    let rename = Rename {
        from: table,
        to: table,
    };
    follow(objects, id, rename, Some(old_columns))
}

fn follow(
    objects: &mut Objects,
    id: u64,
    rename: Rename<'_>,
    old_columns: Option<&[String]>,
) -> Result<(), String> {
    let readers: Vec<u64> = objects
        .dependents(id)
        .filter(|v| v.schema_binding)
        .map(|v| v.id)
        .collect();
    for view in objects.views.iter_mut().filter(|v| readers.contains(&v.id)) {
        match rewrite(&view.query, rename, old_columns) {
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
