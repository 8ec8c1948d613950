//! Binding DELETE, UPDATE and TRUNCATE.
//!
//! DELETE and UPDATE are bound as a query over the target table joined with the USING / FROM
//! items and filtered by WHERE, whose first output column is each target row's id: the
//! segment and position it lives at. The catalog the binder sees holds the target a second
//! time under a hidden name ([`TARGET_TABLE`]) with one more column, [`ROW_ID_COLUMN`], that
//! the scan fills in (`exec/scan.rs`); references to the table's own name elsewhere in the
//! statement (a subquery over it) still see the table as it is. The executor turns the row ids
//! into delete vectors; UPDATE's query also yields every column's new value, appended as new
//! rows (delete plus append).

use std::borrow::Cow;

use basalt_storage::{ColumnDef, Manifest, SqlType};
use sqlparser::ast::{self, Spanned};

use crate::error::{Error, Result};
use crate::planner::bind::{normalize_ident, AggContext, Binder, Scope};
use crate::planner::expr::Expr;
use crate::planner::plan::Plan;
use crate::planner::statement::BoundStatement;

/// The hidden column holding a row's id in a DELETE's or UPDATE's target scan. It starts with
/// NUL, which no SQL identifier can hold, so it never clashes with a user's column and `*`
/// never expands to it.
pub const ROW_ID_COLUMN: &str = "\0row_id";

/// The hidden name the target of a DELETE or UPDATE is bound under.
pub const TARGET_TABLE: &str = "\0target";

/// The catalog to bind `stmt` against: for DELETE and UPDATE, `manifest` plus the target table
/// again under [`TARGET_TABLE`] with the [`ROW_ID_COLUMN`] appended; otherwise `manifest`.
pub fn binding_catalog<'m>(
    manifest: &'m Manifest,
    stmt: &ast::Statement,
    path: &crate::schemas::SearchPath,
) -> Cow<'m, Manifest> {
    let name = match stmt {
        ast::Statement::Delete(d) => match &d.from {
            ast::FromTable::WithFromKeyword(t) | ast::FromTable::WithoutKeyword(t) => {
                t.first().map(|t| &t.relation)
            }
        },
        ast::Statement::Update(u) => Some(&u.table.relation),
        _ => None,
    };
    let Some(ast::TableFactor::Table { name, .. }) = name else {
        return Cow::Borrowed(manifest);
    };
    let (schema, table) = object_name(name, manifest, path);
    let Some(meta) = manifest.table(&schema, &table) else {
        return Cow::Borrowed(manifest);
    };
    let mut target = meta.clone();
    target.def.name = TARGET_TABLE.to_string();
    target.def.columns.push(ColumnDef {
        name: ROW_ID_COLUMN.to_string(),
        ty: SqlType::BigInt,
        nullable: false,
        encoding: Default::default(),
    });
    let mut m = manifest.clone();
    m.tables.retain(|t| t.def.name != TARGET_TABLE);
    m.tables.push(target);
    Cow::Owned(m)
}

/// (schema, table) of a name as the binder resolves it, without its checks.
fn object_name(
    name: &ast::ObjectName,
    manifest: &Manifest,
    path: &crate::schemas::SearchPath,
) -> (String, String) {
    let parts: Vec<String> = name
        .0
        .iter()
        .filter_map(|p| p.as_ident().map(normalize_ident))
        .collect();
    match parts.as_slice() {
        [schema, table] => (path.qualifier(schema).to_owned(), table.clone()),
        [.., table] => (
            path.schemas
                .iter()
                .find(|s| manifest.table(s, table).is_some())
                .cloned()
                .unwrap_or_default(),
            table.clone(),
        ),
        [] => (String::new(), String::new()),
    }
}

/// A `SELECT 1 FROM x AS y` to fill in: sqlparser's AST structs have many fields, and a parsed
/// template keeps them at their defaults.
fn template() -> Result<ast::Query> {
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let mut stmts = sqlparser::parser::Parser::parse_sql(&dialect, "SELECT 1 FROM x AS y")
        .map_err(|e| Error::Internal(format!("DML template: {e}")))?;
    match stmts.pop() {
        Some(ast::Statement::Query(q)) => Ok(*q),
        _ => Err(Error::Internal("DML template is not a query".into())),
    }
}

impl Binder<'_> {
    /// The target table of a DELETE or UPDATE: its (schema, name) and the name rows are
    /// referred to by (its alias, or its name).
    fn dml_target(
        &self,
        factor: &ast::TableFactor,
        verb: &str,
    ) -> Result<(String, String, String)> {
        let ast::TableFactor::Table {
            name, alias, args, ..
        } = factor
        else {
            return Err(Error::Unsupported {
                message: "DELETE and UPDATE need a table name as their target".into(),
            });
        };
        if args.is_some() {
            return Err(Error::Unsupported {
                message: "table functions are not supported yet".into(),
            });
        }
        let (schema, table) = self.table_name(name)?;
        self.refuse_external(&schema, &table, verb)?;
        if self.catalog.table(&schema, &table).is_none() {
            return Err(Error::UndefinedTable {
                name: table,
                position: self.position(name.span()),
            });
        }
        let alias = alias
            .as_ref()
            .map(|a| normalize_ident(&a.name))
            .unwrap_or_else(|| table.clone());
        Ok((schema, table, alias))
    }

    /// `SELECT <projection> FROM <hidden target> AS <alias>, <from...> WHERE <selection>`.
    fn dml_query(
        &mut self,
        schema: &str,
        alias: &str,
        projection: Vec<ast::SelectItem>,
        from: &[ast::TableWithJoins],
        selection: Option<&ast::Expr>,
    ) -> Result<crate::planner::select::BoundQuery> {
        let mut q = template()?;
        let ast::SetExpr::Select(select) = q.body.as_mut() else {
            return Err(Error::Internal("DML template is not a SELECT".into()));
        };
        let Some(first) = select.from.first_mut() else {
            return Err(Error::Internal("DML template has no FROM".into()));
        };
        if let ast::TableFactor::Table { name, alias: a, .. } = &mut first.relation {
            *name = ast::ObjectName::from(vec![
                ast::Ident::with_quote('"', schema),
                ast::Ident::with_quote('"', TARGET_TABLE),
            ]);
            if let Some(a) = a {
                a.name = ast::Ident::with_quote('"', alias);
            }
        }
        select.from.extend(from.iter().cloned());
        select.projection = projection;
        select.selection = selection.cloned();
        self.bind_query(&q)
    }

    /// `y."\0row_id"`: the target's row id in the DML query's select list.
    fn row_id_item(alias: &str) -> ast::SelectItem {
        ast::SelectItem::UnnamedExpr(ast::Expr::CompoundIdentifier(vec![
            ast::Ident::with_quote('"', alias),
            ast::Ident::with_quote('"', ROW_ID_COLUMN),
        ]))
    }

    pub(crate) fn bind_delete(&mut self, d: &ast::Delete) -> Result<BoundStatement> {
        if d.returning.is_some() || d.limit.is_some() || !d.order_by.is_empty() {
            return Err(Error::Unsupported {
                message: "DELETE ... RETURNING / ORDER BY / LIMIT is not supported yet".into(),
            });
        }
        if !d.tables.is_empty() {
            return Err(Error::Unsupported {
                message: "multi-table DELETE is not supported".into(),
            });
        }
        let from = match &d.from {
            ast::FromTable::WithFromKeyword(t) | ast::FromTable::WithoutKeyword(t) => t,
        };
        let [target] = from.as_slice() else {
            return Err(Error::Unsupported {
                message: "DELETE from more than one table is not supported".into(),
            });
        };
        if !target.joins.is_empty() {
            return Err(Error::Unsupported {
                message: "DELETE target with JOIN is not supported; use USING".into(),
            });
        }
        let (schema, name, alias) = self.dml_target(&target.relation, "delete from")?;
        let using = d.using.as_deref().unwrap_or_default();
        let q = self.dml_query(
            &schema,
            &alias,
            vec![Self::row_id_item(&alias)],
            using,
            d.selection.as_ref(),
        )?;
        Ok(BoundStatement::Delete {
            schema,
            name,
            plan: q.plan,
        })
    }

    pub(crate) fn bind_update(&mut self, u: &ast::Update) -> Result<BoundStatement> {
        if u.returning.is_some() || u.limit.is_some() || !u.order_by.is_empty() || u.or.is_some() {
            return Err(Error::Unsupported {
                message: "UPDATE ... RETURNING / ORDER BY / LIMIT is not supported yet".into(),
            });
        }
        if !u.table.joins.is_empty() {
            return Err(Error::Unsupported {
                message: "UPDATE target with JOIN is not supported; use FROM".into(),
            });
        }
        let (schema, name, alias) = self.dml_target(&u.table.relation, "update")?;
        let columns = self
            .catalog
            .table(&schema, &name)
            .map(|t| t.def.columns.clone())
            .unwrap_or_default();
        let from: &[ast::TableWithJoins] = match &u.from {
            None => &[],
            Some(ast::UpdateTableFromKind::AfterSet(f)) => f,
            Some(ast::UpdateTableFromKind::BeforeSet(_)) => {
                return Err(Error::Unsupported {
                    message: "UPDATE FROM before SET is not supported".into(),
                })
            }
        };

        // Each column's assignment, checked as PostgreSQL does.
        let mut assigned: Vec<Option<&ast::Expr>> = vec![None; columns.len()];
        for a in &u.assignments {
            let ast::AssignmentTarget::ColumnName(target) = &a.target else {
                return Err(Error::Unsupported {
                    message: "UPDATE with a column list assignment is not supported yet".into(),
                });
            };
            let ident = target.0.first().and_then(|p| p.as_ident());
            let cname = ident.map(normalize_ident).unwrap_or_default();
            let Some(i) = columns.iter().position(|c| c.name == cname) else {
                return Err(Error::UndefinedColumn {
                    name: format!("{cname}\" of relation \"{name}"),
                    position: self.position(target.span()),
                });
            };
            if target.0.len() > 1 {
                return Err(Error::Unsupported {
                    message: format!(
                        "cannot assign to a field of column \"{cname}\" of relation \"{name}\""
                    ),
                });
            }
            if assigned[i].is_some() {
                return Err(Error::Syntax {
                    message: format!("multiple assignments to same column \"{cname}\""),
                    position: None,
                });
            }
            assigned[i] = Some(&a.value);
        }

        // The select list: the row id, then every expression assigned that is not an untyped
        // constant, then every column left as it is.
        let mut projection = vec![Self::row_id_item(&alias)];
        enum Source<'e> {
            Query(usize),
            Constant(&'e ast::Expr),
        }
        let mut sources = Vec::with_capacity(columns.len());
        for (c, column) in columns.iter().enumerate() {
            match assigned[c] {
                // An untyped literal or parameter takes the column's type, as in INSERT.
                Some(e @ ast::Expr::Value(_)) => sources.push(Source::Constant(e)),
                Some(e) => {
                    sources.push(Source::Query(projection.len()));
                    projection.push(ast::SelectItem::UnnamedExpr(e.clone()));
                }
                None => {
                    sources.push(Source::Query(projection.len()));
                    projection.push(ast::SelectItem::UnnamedExpr(ast::Expr::CompoundIdentifier(
                        vec![
                            ast::Ident::with_quote('"', &alias),
                            ast::Ident::with_quote('"', &column.name),
                        ],
                    )));
                }
            }
        }
        let q = self.dml_query(&schema, &alias, projection, from, u.selection.as_ref())?;
        let mut exprs = vec![Expr::Column {
            index: 0,
            ty: SqlType::BigInt,
        }];
        for ((column, source), value) in columns.iter().zip(sources).zip(&assigned) {
            let span = value.map(|v| v.span()).unwrap_or(u.table.relation.span());
            let e = match source {
                Source::Query(k) => Expr::Column {
                    index: k,
                    ty: q.columns.get(k).map(|c| c.ty).unwrap_or(column.ty),
                },
                Source::Constant(v) => {
                    self.bind_expr(v, &Scope::default(), AggContext::Forbidden("UPDATE"))?
                }
            };
            exprs.push(self.assign(e, column.ty, &column.name, span)?);
        }
        Ok(BoundStatement::Update {
            schema,
            name,
            plan: Plan::Project {
                input: Box::new(q.plan),
                exprs,
            },
        })
    }

    pub(crate) fn bind_truncate(&mut self, t: &ast::Truncate) -> Result<BoundStatement> {
        if t.partitions.is_some() {
            return Err(Error::Unsupported {
                message: "TRUNCATE ... PARTITION is not supported".into(),
            });
        }
        let mut names = Vec::with_capacity(t.table_names.len());
        for target in &t.table_names {
            let (schema, name) = self.table_name(&target.name)?;
            self.refuse_external(&schema, &name, "truncate")?;
            if self.catalog.table(&schema, &name).is_none() {
                if t.if_exists {
                    continue;
                }
                return Err(Error::UndefinedTable {
                    name,
                    position: None,
                });
            }
            if !names.contains(&(schema.clone(), name.clone())) {
                names.push((schema, name));
            }
        }
        Ok(BoundStatement::Truncate { names })
    }
}
