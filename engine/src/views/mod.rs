//! Views: `CREATE [OR REPLACE] VIEW`, `DROP VIEW`, reading a view, and what dropping a
//! relation does to the views over it.
//!
//! A view is kept in the manifest (`basalt_storage::ViewDef`) as its query's SQL text, its
//! output columns as fixed at creation, its owner and the ids of the relations it reads. A
//! FROM item naming a view binds its query there, as if it were written inline (the view
//! body sees none of the referencing query's WITH queries or columns), and renames the
//! output to the view's columns. What the query reads is checked against the view owner's
//! privileges, the view itself against the reader's (`Access`).
//!
//! A schema-bound view depends on what it reads: DROP TABLE / DROP VIEW of it fails (2BP01)
//! unless CASCADE, which drops the dependent views too. Renaming or moving what it reads, or
//! renaming a table's column, rewrites its query to follow (`follow`). A late-binding view (`WITH NO SCHEMA
//! BINDING`, Redshift's) names only schema-qualified relations, depends on nothing, and is
//! bound against whatever those names are when it is read.

mod ddl;
mod follow;
pub mod indexes;

pub(crate) use follow::{follow_column, follow_relation, ColumnFollow, Rename};

pub(crate) use indexes::quote_ident;

use basalt_storage::security::BOOTSTRAP_ROLE_OID;
use basalt_storage::{ColumnDef, Manifest, Objects, ViewDef};
use sqlparser::ast;

use crate::error::{Error, Result};
use crate::planner::bind::{normalize_ident, Binder};
use crate::planner::expr::Expr;
use crate::planner::plan::Plan;
use crate::planner::select::BoundQuery;
use crate::ResultColumn;

/// One table or view a statement reads, and whose privileges decide whether it may.
#[derive(Clone, Debug, PartialEq)]
pub struct Access {
    /// The table's or view's id.
    pub id: u64,
    pub view: bool,
    /// The owner of the view whose query reads it, or `None` when the statement itself
    /// does (checked against the session's role).
    pub checker: Option<u32>,
}

/// Views nest at most this deep (a guard against a definition that reads itself through a
/// late-binding view).
const VIEW_DEPTH_MAX: usize = 64;

/// Redshift's error for an unqualified name in a late-binding view.
pub(crate) fn unqualified_in_late_binding_view(name: &ast::ObjectName) -> Error {
    Error::Unsupported {
        message: format!(
            "all the relations in no schema binding view should be qualified with a schema \
             name: \"{name}\""
        ),
    }
}

impl<'a> Binder<'a> {
    /// Records that the statement reads relation `id` (a table, or a view when `view`).
    pub(crate) fn record_access(&mut self, id: u64, view: bool) {
        let access = Access {
            id,
            view,
            checker: self.view_owners.last().copied(),
        };
        if !self.accesses.contains(&access) {
            self.accesses.push(access);
        }
    }

    /// Binds the query of `view`, as a FROM item names it: its output has the view's
    /// column names (and, for a schema-bound view, the types fixed at creation).
    pub(crate) fn bind_view_query(&mut self, view: &'a ViewDef) -> Result<BoundQuery> {
        self.record_access(view.id, true);
        if self.view_owners.len() >= VIEW_DEPTH_MAX {
            return Err(Error::ProgramLimitExceeded {
                message: format!(
                    "view \"{}\" nests views more than {VIEW_DEPTH_MAX} deep",
                    view.name
                ),
            });
        }
        let query = view_query(view)?;
        // The view's query is bound on its own: no WITH queries or outer columns of the
        // statement that reads it are visible inside.
        let ctes = std::mem::take(&mut self.ctes);
        let outer = std::mem::take(&mut self.outer);
        let windows = std::mem::take(&mut self.named_windows);
        let late = std::mem::replace(&mut self.late_binding, false);
        self.view_owners
            .push(view.owner.unwrap_or(BOOTSTRAP_ROLE_OID));
        let bound = self.bind_query(&query);
        self.view_owners.pop();
        self.late_binding = late;
        self.named_windows = windows;
        self.outer = outer;
        self.ctes = ctes;
        let mut bound = bound.map_err(Error::without_position)?;
        if view.columns.is_empty() {
            return Ok(bound);
        }
        let n = view.columns.len();
        if bound.columns.len() < n
            || (view.schema_binding
                && bound
                    .columns
                    .iter()
                    .zip(&view.columns)
                    .any(|(b, c)| b.ty != c.ty))
        {
            return Err(Error::ObjectNotInPrerequisiteState {
                message: format!(
                    "the query of view \"{}\" no longer gives the view's columns",
                    view.name
                ),
                detail: None,
                hint: Some("Recreate the view with CREATE OR REPLACE VIEW.".into()),
            });
        }
        if bound.columns.len() > n {
            // A late-binding view's `*` that now expands to more columns: keep the first.
            let exprs = bound.columns[..n]
                .iter()
                .enumerate()
                .map(|(index, c)| Expr::Column { index, ty: c.ty })
                .collect();
            bound.plan = Plan::Project {
                input: Box::new(bound.plan),
                exprs,
            };
            bound.columns.truncate(n);
        }
        for (b, c) in bound.columns.iter_mut().zip(&view.columns) {
            b.name = c.name.clone();
        }
        Ok(bound)
    }
}

/// The parsed query of `view`.
pub(crate) fn view_query(view: &ViewDef) -> Result<ast::Query> {
    let statements = crate::parse::parse(&view.query)?;
    match statements.as_slice() {
        [ast::Statement::Query(q)] => Ok((**q).clone()),
        _ => Err(Error::Internal(format!(
            "view {}.{} holds no query",
            view.schema, view.name
        ))),
    }
}

/// The view columns for the query's `columns`, renamed by the view's column list `names`.
pub(crate) fn view_columns(columns: &[ResultColumn], names: &[String]) -> Result<Vec<ColumnDef>> {
    if columns.is_empty() {
        return Err(Error::Unsupported {
            message: "a view without columns is not supported".into(),
        });
    }
    if names.len() > columns.len() {
        return Err(Error::Syntax {
            message: "CREATE VIEW specifies more column names than columns".into(),
            position: None,
        });
    }
    let mut out: Vec<ColumnDef> = Vec::with_capacity(columns.len());
    for (i, c) in columns.iter().enumerate() {
        let name = names.get(i).cloned().unwrap_or_else(|| c.name.clone());
        if out.iter().any(|o| o.name == name) {
            return Err(Error::DuplicateColumn { name });
        }
        out.push(ColumnDef {
            name,
            ty: c.ty,
            nullable: true,
            encoding: Default::default(),
        });
    }
    Ok(out)
}

/// Checks that `new` columns may replace `old` ones (CREATE OR REPLACE VIEW): the same
/// names and types in the same places, new ones only at the end (42P16 otherwise).
pub(crate) fn check_replacement(old: &[ColumnDef], new: &[ColumnDef]) -> Result<()> {
    let invalid = |message: String| Error::InvalidTableDefinition {
        message,
        position: None,
    };
    if new.len() < old.len() {
        return Err(invalid("cannot drop columns from view".into()));
    }
    for (o, n) in old.iter().zip(new) {
        if o.name != n.name {
            return Err(invalid(format!(
                "cannot change name of view column \"{}\" to \"{}\"",
                o.name, n.name
            )));
        }
        if o.ty != n.ty {
            return Err(invalid(format!(
                "cannot change data type of view column \"{}\" from {} to {}",
                o.name,
                o.ty.pg_name(),
                n.ty.pg_name()
            )));
        }
    }
    Ok(())
}

/// What a relation is, in PostgreSQL's words for messages.
fn kind_of(manifest: &Manifest, id: u64) -> &'static str {
    if manifest.objects.view_by_id(id).is_some() {
        "view"
    } else {
        "table"
    }
}

fn relation_name(manifest: &Manifest, id: u64) -> String {
    manifest
        .table_by_id(id)
        .map(|t| t.def.name.clone())
        .or_else(|| manifest.objects.view_by_id(id).map(|v| v.name.clone()))
        .unwrap_or_else(|| id.to_string())
}

/// The views and indexes after dropping relations `ids` (tables and views) of `manifest`:
/// their indexes go, and so do the views that depend on them, directly or through other
/// views, when `cascade`; without it such a view is an error (2BP01) naming it.
pub(crate) fn objects_after_drop(
    manifest: &Manifest,
    ids: &[u64],
    cascade: bool,
) -> Result<Objects> {
    let objects = &manifest.objects;
    // Breadth first, so the detail lists the nearest dependents first, as PostgreSQL does.
    let mut gone: Vec<u64> = ids.to_vec();
    let mut lines = Vec::new();
    let mut at = 0;
    while at < gone.len() {
        let id = gone[at];
        at += 1;
        for v in objects.dependents(id) {
            if gone.contains(&v.id) {
                continue;
            }
            lines.push(format!(
                "view {} depends on {} {}",
                v.name,
                kind_of(manifest, id),
                relation_name(manifest, id)
            ));
            gone.push(v.id);
        }
    }
    if !cascade && !lines.is_empty() {
        // PostgreSQL names the first object the statement asked for that has dependents.
        let first = ids
            .iter()
            .find(|id| objects.dependents(**id).any(|v| !ids.contains(&v.id)))
            .copied()
            .unwrap_or(ids[0]);
        return Err(Error::DependentObjectsStillExist {
            message: format!(
                "cannot drop {} {} because other objects depend on it",
                kind_of(manifest, first),
                relation_name(manifest, first)
            ),
            detail: lines.join("\n"),
        });
    }
    let mut next = objects.clone();
    next.views.retain(|v| !gone.contains(&v.id));
    next.indexes.retain(|i| !gone.contains(&i.table));
    Ok(next)
}

/// The ids a statement's accesses name directly (not through a view): a new view's
/// dependencies.
pub(crate) fn direct_dependencies(accesses: &[Access]) -> Vec<u64> {
    let mut out = Vec::new();
    for a in accesses.iter().filter(|a| a.checker.is_none()) {
        if !out.contains(&a.id) {
            out.push(a.id);
        }
    }
    out
}

/// The error for writing into view `name` (`verb`: "insert into", "update", "delete from",
/// "truncate"), as PostgreSQL gives it for a view that is not automatically updatable.
pub(crate) fn refuse_write(name: &str, verb: &str) -> Error {
    let (what, rule) = match verb {
        "update" => ("update", "UPDATE"),
        "delete from" => ("delete from", "DELETE"),
        "truncate" => {
            return Error::WrongRelationKind {
                name: name.to_owned(),
                expected: "a table",
                hint: None,
            }
        }
        _ => ("insert into", "INSERT"),
    };
    let gerund = match rule {
        "UPDATE" => "updating",
        "DELETE" => "deleting from",
        _ => "inserting into",
    };
    Error::ObjectNotInPrerequisiteState {
        message: format!("cannot {what} view \"{name}\""),
        detail: Some("Basalt's views are not updatable.".into()),
        hint: Some(format!(
            "To enable {gerund} the view, provide an INSTEAD OF {rule} trigger or an \
             unconditional ON {rule} DO INSTEAD rule."
        )),
    }
}

/// Whether `statement` is one `Session::execute_relation_ddl` runs.
pub(crate) fn is_relation_ddl(statement: &ast::Statement) -> bool {
    matches!(
        statement,
        ast::Statement::CreateView(_)
            | ast::Statement::CreateIndex(_)
            | ast::Statement::AlterTable(_)
            | ast::Statement::AlterView(_)
            | ast::Statement::AlterIndex { .. }
            | ast::Statement::Drop {
                object_type: ast::ObjectType::View | ast::ObjectType::Index,
                ..
            }
    )
}

/// The normalized column names of a view's column list.
pub(crate) fn column_list(columns: &[ast::ViewColumnDef]) -> Vec<String> {
    columns.iter().map(|c| normalize_ident(&c.name)).collect()
}
