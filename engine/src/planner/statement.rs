//! Binding statements other than queries: DDL, INSERT, transaction control, EXPLAIN.
//! DELETE, UPDATE and TRUNCATE are bound in `dml.rs`.

use basalt_storage::{ColumnDef, ColumnEncoding, DistStyle, SortKey, SqlType, TableDef};
use sqlparser::ast::{self, Spanned};

use crate::error::{Error, Result};
use crate::parse::{Located, SortKeyClause, TableAttributes};
use crate::planner::bind::{normalize_ident, Binder};
use crate::planner::expr::Expr;
use crate::planner::plan::Plan;
use crate::planner::select::BoundQuery;
use crate::types::Datum;

/// A statement ready to run.
pub enum BoundStatement {
    Query(BoundQuery),
    CreateTable {
        def: TableDef,
        if_not_exists: bool,
        /// PRIMARY KEY, UNIQUE and FOREIGN KEY constraints, checked and named when the
        /// table is made (see `crate::constraints`).
        constraints: Vec<crate::constraints::NewConstraint>,
    },
    /// `CREATE TABLE ... AS query` and `SELECT ... INTO`: creates the table and appends the
    /// rows of `plan` (in the table's column order and types) in one commit. `exists` is set
    /// when the table is already there and IF NOT EXISTS was given: nothing is done.
    CreateTableAs {
        def: TableDef,
        plan: Plan,
        exists: bool,
    },
    DropTable {
        names: Vec<(String, String)>,
        if_exists: bool,
        /// Drop the views that depend on the tables too.
        cascade: bool,
    },
    /// Appends the rows of `plan` (already in the table's column order and types).
    Insert {
        schema: String,
        name: String,
        plan: Plan,
    },
    /// Deletes the target rows whose ids `plan` yields (its first column, see `planner::dml`).
    Delete {
        schema: String,
        name: String,
        plan: Plan,
    },
    /// Replaces target rows: `plan` yields each row's id, then its new value of every column
    /// (in the table's column order and types).
    Update {
        schema: String,
        name: String,
        plan: Plan,
    },
    /// Rewrites each table: drops deleted rows, merges segments, sorts by the sort key.
    Vacuum {
        names: Vec<(String, String)>,
    },
    /// Removes every row of each table.
    Truncate {
        names: Vec<(String, String)>,
    },
    Begin,
    Commit,
    Rollback,
    /// `DECLARE name CURSOR FOR query`: the query bound now, run at the first FETCH.
    DeclareCursor {
        name: String,
        options: crate::cursor::CursorOptions,
        query: BoundQuery,
    },
    Explain(Vec<String>),
    /// EXPLAIN ANALYZE of a query: run it, then print the plan with each operator's figures.
    ExplainAnalyze(Plan),
}

impl Binder<'_> {
    pub fn bind_statement(&mut self, stmt: &ast::Statement) -> Result<BoundStatement> {
        match stmt {
            ast::Statement::Query(q) => match select_into(q) {
                Some((into, query)) => self.bind_select_into(&into, &query),
                None => Ok(BoundStatement::Query(self.bind_top_query(q)?)),
            },
            ast::Statement::CreateTable(ct) => self.bind_create_table(ct),
            ast::Statement::Drop {
                object_type,
                if_exists,
                names,
                cascade,
                ..
            } => {
                if *object_type != ast::ObjectType::Table {
                    return Err(Error::Unsupported {
                        message: format!("DROP {object_type} is not supported yet"),
                    });
                }
                let names = names
                    .iter()
                    .map(|n| self.table_name(n))
                    .collect::<Result<Vec<_>>>()?;
                for (schema, name) in &names {
                    if self.catalog.external.table(schema, name).is_some() {
                        return Err(Error::WrongObjectType {
                            message: format!(
                                "\"{schema}.{name}\" is an external table; use DROP EXTERNAL TABLE"
                            ),
                            position: None,
                        });
                    }
                }
                Ok(BoundStatement::DropTable {
                    names,
                    if_exists: *if_exists,
                    cascade: *cascade,
                })
            }
            ast::Statement::Insert(ins) => self.bind_insert(ins),
            ast::Statement::Delete(d) => self.bind_delete(d),
            ast::Statement::Update(u) => self.bind_update(u),
            ast::Statement::Truncate(t) => self.bind_truncate(t),
            ast::Statement::Vacuum(v) => self.bind_vacuum(v),
            ast::Statement::StartTransaction { .. } => Ok(BoundStatement::Begin),
            ast::Statement::Declare { stmts, .. } => self.bind_declare(stmts),
            ast::Statement::Commit { chain: false, .. } => Ok(BoundStatement::Commit),
            ast::Statement::Rollback {
                chain: false,
                savepoint: None,
            } => Ok(BoundStatement::Rollback),
            ast::Statement::Explain {
                statement, analyze, ..
            } => {
                let inner = self.bind_statement(statement)?;
                if *analyze {
                    return match inner {
                        BoundStatement::Query(q) => Ok(BoundStatement::ExplainAnalyze(q.plan)),
                        _ => Err(Error::Unsupported {
                            message: "EXPLAIN ANALYZE is supported for queries only".into(),
                        }),
                    };
                }
                let plan = match &inner {
                    BoundStatement::Query(q) => &q.plan,
                    BoundStatement::Insert { plan, .. } => plan,
                    _ => {
                        return Err(Error::Unsupported {
                            message: "EXPLAIN of this statement is not supported".into(),
                        })
                    }
                };
                let mut lines = Vec::new();
                if let BoundStatement::Insert { name, .. } = &inner {
                    lines.push(format!("Insert on {name}"));
                    plan.explain(&mut lines, 1);
                } else {
                    plan.explain(&mut lines, 0);
                }
                crate::planner::estimate::annotate_explain(
                    plan,
                    &mut lines,
                    self.store.map(|s| s.statistics()),
                );
                crate::planner::ranges::annotate_explain(plan, &mut lines);
                Ok(BoundStatement::Explain(lines))
            }
            other => Err(Error::Unsupported {
                message: format!(
                    "statement not supported yet: {}",
                    other
                        .to_string()
                        .split_whitespace()
                        .take(3)
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            }),
        }
    }

    fn bind_create_table(&mut self, ct: &ast::CreateTable) -> Result<BoundStatement> {
        if let Some(query) = &ct.query {
            if ct.external || ct.or_replace || !ct.columns.is_empty() || ct.like.is_some() {
                return Err(Error::Unsupported {
                    message: "this CREATE TABLE AS form is not supported yet".into(),
                });
            }
            return self.bind_create_table_as(&ct.name, query, ct.if_not_exists, ct.temporary);
        }
        if ct.external || ct.or_replace {
            return Err(Error::Unsupported {
                message: "this CREATE TABLE form is not supported yet".into(),
            });
        }
        let (schema, name) = self.creation_name(&ct.name, ct.temporary)?;
        self.refuse_external_schema(&schema)?;
        if let Some(like) = &ct.like {
            return self.bind_create_table_like(ct, like, schema, name);
        }
        let mut columns: Vec<ColumnDef> = Vec::with_capacity(ct.columns.len());
        let mut constraints = Vec::new();
        for c in &ct.columns {
            let cname = normalize_ident(&c.name);
            if columns.iter().any(|x| x.name == cname) {
                return Err(Error::DuplicateColumn { name: cname });
            }
            let ty = self.bind_type(&c.data_type, c.span())?;
            if let SqlType::Array { .. } = ty {
                return Err(Error::Unsupported {
                    message: format!(
                        "column \"{cname}\" has type {ty}: Basalt tables have no array columns"
                    ),
                });
            }
            let mut nullable = true;
            for o in &c.options {
                if let Some(k) = crate::constraints::from_column_option(self, &cname, o)? {
                    constraints.push(k);
                }
                match &o.option {
                    ast::ColumnOption::NotNull | ast::ColumnOption::PrimaryKey(_) => {
                        nullable = false
                    }
                    ast::ColumnOption::Null
                    | ast::ColumnOption::Unique(_)
                    | ast::ColumnOption::ForeignKey(_) => {}
                    other => {
                        return Err(Error::Unsupported {
                            message: format!("column option not supported yet: {other}"),
                        })
                    }
                }
            }
            columns.push(ColumnDef {
                name: cname,
                ty,
                nullable,
                encoding: ColumnEncoding::Auto,
            });
        }
        if columns.is_empty() {
            return Err(Error::Unsupported {
                message: "a table needs at least one column".into(),
            });
        }
        // A PRIMARY KEY implies NOT NULL on its columns (it is informational otherwise, as
        // in Redshift).
        for c in &ct.constraints {
            let k = crate::constraints::from_table_constraint(self, c)?;
            if k.kind == basalt_storage::ConstraintKind::PrimaryKey {
                for n in &k.columns {
                    match columns.iter_mut().find(|x| &x.name == n) {
                        Some(x) => x.nullable = false,
                        None => {
                            return Err(Error::UndefinedKeyColumn {
                                name: n.clone(),
                                key: "key",
                                position: None,
                            })
                        }
                    }
                }
            }
            constraints.push(k);
        }
        let mut def = TableDef::new(schema, name, columns);
        if let Some(attributes) = self.table_attributes {
            apply_table_attributes(&mut def, attributes)?;
        }
        Ok(BoundStatement::CreateTable {
            def,
            if_not_exists: ct.if_not_exists,
            constraints,
        })
    }

    /// `CREATE TABLE name (LIKE source [INCLUDING | EXCLUDING DEFAULTS])`: the source
    /// table's columns with their types, NOT NULL and ENCODE, and its DISTSTYLE, DISTKEY and
    /// SORTKEY, as in Redshift; the column defaults only with INCLUDING DEFAULTS, and no
    /// keys (PostgreSQL copies those only with INCLUDING CONSTRAINTS / INDEXES). Table
    /// attributes written after the parenthesis replace the copied ones.
    fn bind_create_table_like(
        &mut self,
        ct: &ast::CreateTable,
        like: &ast::CreateTableLikeKind,
        schema: String,
        name: String,
    ) -> Result<BoundStatement> {
        let like = match like {
            ast::CreateTableLikeKind::Parenthesized(l) if ct.columns.is_empty() => l,
            _ => {
                return Err(Error::Unsupported {
                    message: "this CREATE TABLE ... LIKE form is not supported yet".into(),
                })
            }
        };
        let (source_schema, source) = self.table_name(&like.name)?;
        let Some(meta) = self.catalog.table(&source_schema, &source) else {
            if self.catalog.objects.view(&source_schema, &source).is_some()
                || self
                    .catalog
                    .external
                    .table(&source_schema, &source)
                    .is_some()
            {
                return Err(Error::Unsupported {
                    message: format!(
                        "CREATE TABLE ... LIKE copies a local table; \"{source}\" is not one"
                    ),
                });
            }
            return Err(Error::UndefinedTable {
                name: source,
                position: self.position(like.name.span()),
            });
        };
        let from = &meta.def;
        let mut def = TableDef::new(schema, name, from.columns.clone());
        def.dist_style = from.dist_style;
        def.dist_key = from.dist_key.clone();
        def.sort_key = from.sort_key.clone();
        if matches!(like.defaults, Some(ast::CreateTableLikeDefaults::Including)) {
            // The new table's column ids are its positions.
            def.defaults = from
                .defaults
                .iter()
                .filter_map(|d| {
                    let i = from.column_of_id(d.column)?;
                    Some(basalt_storage::ColumnDefault {
                        column: u32::try_from(i).ok()?,
                        block: d.block.clone(),
                    })
                })
                .collect();
        }
        if let Some(attributes) = self.table_attributes {
            if attributes.dist_style.is_some() || attributes.dist_key.is_some() {
                def.dist_style = DistStyle::Auto;
                def.dist_key = None;
            }
            if attributes.sort_key.is_some() {
                def.sort_key = SortKey::Auto;
            }
            apply_table_attributes(&mut def, attributes)?;
        }
        Ok(BoundStatement::CreateTable {
            def,
            if_not_exists: ct.if_not_exists,
            constraints: Vec::new(),
        })
    }

    /// Writes into external tables are refused (42809), as PostgreSQL refuses them for
    /// foreign tables: `verb` is what was asked ("insert into", "update", ...).
    pub(crate) fn refuse_external(&self, schema: &str, name: &str, verb: &str) -> Result<()> {
        if self.catalog.objects.view(schema, name).is_some() {
            return Err(crate::views::refuse_write(name, verb));
        }
        if self.catalog.external.table(schema, name).is_some() {
            return Err(Error::WrongObjectType {
                message: format!("cannot {verb} external table \"{schema}.{name}\""),
                position: None,
            });
        }
        Ok(())
    }

    /// An external schema holds only external tables.
    fn refuse_external_schema(&self, schema: &str) -> Result<()> {
        if self.catalog.external.schema(schema).is_some() {
            return Err(Error::WrongObjectType {
                message: format!(
                    "cannot create a local table in external schema \"{schema}\"; use CREATE EXTERNAL TABLE"
                ),
                position: None,
            });
        }
        Ok(())
    }

    /// `CREATE TABLE name [(column names)] [attributes] AS query`: the columns take the
    /// query's names (or the listed ones, which may be fewer) and types, all nullable, as in
    /// PostgreSQL and Redshift.
    fn bind_create_table_as(
        &mut self,
        name: &ast::ObjectName,
        query: &ast::Query,
        if_not_exists: bool,
        temporary: bool,
    ) -> Result<BoundStatement> {
        let (schema, table) = self.creation_name(name, temporary)?;
        self.refuse_external_schema(&schema)?;
        let names: Vec<crate::parse::Located> = self
            .table_attributes
            .map(|a| a.as_columns.clone())
            .unwrap_or_default();
        let exists = self.catalog.table(&schema, &table).is_some();
        if exists && !if_not_exists {
            return Err(Error::DuplicateTable { name: table });
        }
        let q = self.bind_top_query(query)?;
        if names.len() > q.columns.len() {
            return Err(Error::Syntax {
                message: "too many column names were specified".into(),
                position: names.get(q.columns.len()).and_then(|n| n.position),
            });
        }
        let mut columns: Vec<ColumnDef> = Vec::with_capacity(q.columns.len());
        for (i, c) in q.columns.iter().enumerate() {
            let cname = names
                .get(i)
                .map(|n| n.value.clone())
                .unwrap_or_else(|| c.name.clone());
            if columns.iter().any(|x| x.name == cname) {
                return Err(Error::DuplicateColumn { name: cname });
            }
            columns.push(ColumnDef {
                name: cname,
                ty: c.ty,
                nullable: true,
                encoding: ColumnEncoding::Auto,
            });
        }
        if columns.is_empty() {
            return Err(Error::Unsupported {
                message: "a table needs at least one column".into(),
            });
        }
        let mut def = TableDef::new(schema, table, columns);
        if let Some(attributes) = self.table_attributes {
            apply_table_attributes(&mut def, attributes)?;
        }
        Ok(BoundStatement::CreateTableAs {
            def,
            plan: q.plan,
            exists,
        })
    }

    /// `SELECT ... INTO [TABLE] name FROM ...`: PostgreSQL's spelling of CREATE TABLE AS.
    fn bind_select_into(
        &mut self,
        into: &ast::SelectInto,
        query: &ast::Query,
    ) -> Result<BoundStatement> {
        if into.unlogged {
            return Err(Error::Unsupported {
                message: "SELECT INTO an unlogged table is not supported yet".into(),
            });
        }
        let name = match into.targets.as_slice() {
            [ast::Expr::Identifier(i)] => ast::ObjectName::from(vec![i.clone()]),
            [ast::Expr::CompoundIdentifier(parts)] => ast::ObjectName::from(parts.clone()),
            _ => {
                return Err(Error::Syntax {
                    message: format!("syntax error at or near \"{into}\""),
                    position: None,
                })
            }
        };
        self.bind_create_table_as(&name, query, false, into.temporary)
    }

    /// `VACUUM [FULL | SORT ONLY | DELETE ONLY | REINDEX | RECLUSTER] [table [TO n PERCENT]
    /// [BOOST]]`: every form rewrites the named table (or every table) whole, which does all
    /// of what each asks. `TO n PERCENT` must be 0 to 100; it and BOOST change nothing else.
    fn bind_vacuum(&mut self, v: &ast::VacuumStatement) -> Result<BoundStatement> {
        if let Some(threshold) = &v.threshold {
            let percent = match &threshold.value {
                ast::Value::Number(n, _) => n.parse::<u32>().ok(),
                _ => None,
            };
            if percent.is_none_or(|p| p > 100) {
                return Err(Error::InvalidParameter {
                    message: format!(
                        "VACUUM threshold must be an integer from 0 to 100, not {threshold}"
                    ),
                });
            }
        }
        let names = match &v.table_name {
            Some(name) => {
                let (schema, table) = self.table_name(name)?;
                if self.catalog.table(&schema, &table).is_none() {
                    return Err(Error::UndefinedTable {
                        name: table,
                        position: self.position(name.span()),
                    });
                }
                vec![(schema, table)]
            }
            None => {
                let mut tables: Vec<_> = self.catalog.tables.iter().collect();
                tables.sort_by_key(|t| t.id);
                tables
                    .into_iter()
                    .map(|t| (t.def.schema.clone(), t.def.name.clone()))
                    .collect()
            }
        };
        Ok(BoundStatement::Vacuum { names })
    }

    fn bind_insert(&mut self, ins: &ast::Insert) -> Result<BoundStatement> {
        let table_name = match &ins.table {
            ast::TableObject::TableName(n) => n,
            _ => {
                return Err(Error::Unsupported {
                    message: "INSERT into a table function is not supported".into(),
                })
            }
        };
        if ins.on.is_some() || ins.returning.is_some() {
            return Err(Error::Unsupported {
                message: "INSERT ... ON CONFLICT / RETURNING is not supported yet".into(),
            });
        }
        let (schema, name) = self.table_name(table_name)?;
        self.refuse_external(&schema, &name, "insert into")?;
        let meta = self
            .catalog
            .table(&schema, &name)
            .ok_or_else(|| Error::UndefinedTable {
                name: name.clone(),
                position: self.position(table_name.span()),
            })?
            .clone();
        let cols = &meta.def.columns;
        // Target columns, in the statement's order.
        let mut targets: Vec<usize> = Vec::new();
        if ins.columns.is_empty() {
            targets.extend(0..cols.len());
        } else {
            for c in &ins.columns {
                let cname =
                    c.0.last()
                        .and_then(|p| p.as_ident())
                        .map(normalize_ident)
                        .unwrap_or_default();
                let i = cols.iter().position(|x| x.name == cname).ok_or_else(|| {
                    Error::UndefinedColumn {
                        name: format!("{cname}\" of relation \"{name}"),
                        position: self.position(c.span()),
                    }
                })?;
                if targets.contains(&i) {
                    return Err(Error::DuplicateColumn { name: cname });
                }
                targets.push(i);
            }
        }
        let target_types: Vec<(String, SqlType)> = targets
            .iter()
            .map(|i| (cols[*i].name.clone(), cols[*i].ty))
            .collect();
        let source = ins.source.as_ref().ok_or_else(|| Error::Unsupported {
            message: "INSERT ... DEFAULT VALUES is not supported yet".into(),
        })?;
        let q = match source.body.as_ref() {
            ast::SetExpr::Values(v)
                if source.order_by.is_none() && source.limit_clause.is_none() =>
            {
                self.bind_values(v, Some(&target_types))?
            }
            _ => self.bind_query(source)?,
        };
        let width = q.columns.len();
        if width > targets.len() {
            return Err(Error::Syntax {
                message: "INSERT has more expressions than target columns".into(),
                position: None,
            });
        }
        if width < targets.len() && !ins.columns.is_empty() {
            return Err(Error::Syntax {
                message: "INSERT has more target columns than expressions".into(),
                position: None,
            });
        }
        // Every table column: its target expression converted to the column type, or NULL.
        let mut exprs = Vec::with_capacity(cols.len());
        for (ci, c) in cols.iter().enumerate() {
            let e = match targets.iter().position(|t| *t == ci) {
                Some(k) if k < width => {
                    let src = Expr::Column {
                        index: k,
                        ty: q.columns[k].ty,
                    };
                    self.assign(src, c.ty, &c.name, table_name.span())?
                }
                // A column left out takes its DEFAULT (ALTER TABLE ADD COLUMN ... DEFAULT).
                _ => match meta.def.default_value(ci).map_err(Error::Internal)? {
                    Some(value) => Expr::literal(
                        crate::kernels::cast::datum_at(value.as_ref(), 0, c.ty),
                        c.ty,
                    ),
                    None => Expr::literal(Datum::Null, c.ty),
                },
            };
            exprs.push(e);
        }
        Ok(BoundStatement::Insert {
            schema,
            name,
            plan: Plan::Project {
                input: Box::new(q.plan),
                exprs,
            },
        })
    }
}

/// For `SELECT ... INTO t ...`: the INTO clause and the query without it.
fn select_into(q: &ast::Query) -> Option<(ast::SelectInto, ast::Query)> {
    let ast::SetExpr::Select(select) = q.body.as_ref() else {
        return None;
    };
    let into = select.into.clone()?;
    let mut select = select.clone();
    select.into = None;
    let mut query = q.clone();
    query.body = Box::new(ast::SetExpr::Select(select));
    Some((into, query))
}

/// Most columns in a compound sort key, as in Redshift.
const COMPOUND_SORT_COLUMNS_MAX: usize = 400;
/// Most columns in an interleaved sort key, as in Redshift.
const INTERLEAVED_SORT_COLUMNS_MAX: usize = 8;

/// Checks Redshift's table attributes against the columns of `def` and records them there.
fn apply_table_attributes(def: &mut TableDef, a: &TableAttributes) -> Result<()> {
    let invalid = |message: String, at: &Located| Error::InvalidTableDefinition {
        message,
        position: at.position,
    };
    let key_column = |def: &TableDef, key: &'static str, c: &Located| {
        def.column_index(&c.value)
            .ok_or_else(|| Error::UndefinedKeyColumn {
                name: c.value.clone(),
                key,
                position: c.position,
            })
    };

    // ENCODE: each column at most once, with an encoding that fits its type.
    let mut encoded: Vec<&str> = Vec::new();
    for (column, keyword) in &a.column_encodings {
        let Some(encoding) = ColumnEncoding::from_keyword(&keyword.value) else {
            return Err(Error::Syntax {
                message: format!("syntax error at or near \"{}\"", keyword.value),
                position: keyword.position,
            });
        };
        if encoded.contains(&column.as_str()) {
            return Err(invalid(
                format!("multiple ENCODE clauses for column \"{column}\""),
                keyword,
            ));
        }
        encoded.push(column);
        let Some(c) = def.columns.iter_mut().find(|c| c.name == *column) else {
            return Err(Error::Internal(format!(
                "ENCODE for unknown column {column}"
            )));
        };
        if encoding.check(c.ty).is_err() {
            return Err(Error::InvalidEncoding {
                column: column.clone(),
                position: keyword.position,
            });
        }
        c.encoding = encoding;
    }

    // DISTKEY: one column, at the column or after the list; it implies DISTSTYLE KEY.
    let mut keys = a.column_dist_keys.iter().chain(a.dist_key.iter());
    let dist_key = keys.next();
    if let Some(second) = keys.next() {
        return Err(invalid(
            "multiple DISTKEY columns are not allowed".into(),
            second,
        ));
    }
    if let Some(key) = dist_key {
        key_column(def, "DISTKEY", key)?;
    }
    let style = match &a.dist_style {
        None => None,
        Some(s) => Some((
            match s.value.to_ascii_uppercase().as_str() {
                "AUTO" => DistStyle::Auto,
                "EVEN" => DistStyle::Even,
                "KEY" => DistStyle::Key,
                "ALL" => DistStyle::All,
                other => return Err(Error::Internal(format!("DISTSTYLE {other}"))),
            },
            s,
        )),
    };
    (def.dist_style, def.dist_key) = match (style, dist_key) {
        (None, None) => (DistStyle::Auto, None),
        (None | Some((DistStyle::Key, _)), Some(key)) => (DistStyle::Key, Some(key.value.clone())),
        (Some((DistStyle::Key, at)), None) => {
            return Err(invalid(
                "DISTSTYLE KEY requires a DISTKEY column".into(),
                at,
            ))
        }
        (Some((style, at)), Some(_)) => {
            return Err(invalid(
                format!("DISTKEY is not allowed with DISTSTYLE {}", style.keyword()),
                at,
            ))
        }
        (Some((style, _)), None) => (style, None),
    };

    // SORTKEY: the column attribute or the table attribute, once.
    let mut sorts = a.column_sort_keys.iter();
    let column_sort = sorts.next();
    if let Some(second) = sorts.next() {
        return Err(invalid(
            "multiple SORTKEY columns are not allowed; use SORTKEY (columns)".into(),
            second,
        ));
    }
    def.sort_key = match (&a.sort_key, column_sort) {
        (Some(_), Some(c)) => {
            return Err(invalid(
                "a column SORTKEY is not allowed with a table SORTKEY".into(),
                c,
            ))
        }
        (None, None) | (Some(SortKeyClause::Auto { .. }), None) => SortKey::Auto,
        (None, Some(c)) => {
            key_column(def, "SORTKEY", c)?;
            SortKey::Compound(vec![c.value.clone()])
        }
        (
            Some(SortKeyClause::Columns {
                interleaved,
                columns,
                position,
            }),
            None,
        ) => {
            let mut names: Vec<String> = Vec::with_capacity(columns.len());
            for c in columns {
                key_column(def, "SORTKEY", c)?;
                if names.contains(&c.value) {
                    return Err(invalid(
                        format!("column \"{}\" appears twice in SORTKEY", c.value),
                        c,
                    ));
                }
                names.push(c.value.clone());
            }
            let max = if *interleaved {
                INTERLEAVED_SORT_COLUMNS_MAX
            } else {
                COMPOUND_SORT_COLUMNS_MAX
            };
            if names.len() > max {
                return Err(Error::InvalidTableDefinition {
                    message: format!(
                        "a {} SORTKEY has at most {max} columns",
                        if *interleaved {
                            "INTERLEAVED"
                        } else {
                            "COMPOUND"
                        }
                    ),
                    position: *position,
                });
            }
            if *interleaved {
                SortKey::Interleaved(names)
            } else {
                SortKey::Compound(names)
            }
        }
    };
    def.check_attributes().map_err(Error::Internal)
}
