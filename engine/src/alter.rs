//! ALTER TABLE ... RENAME TO, RENAME COLUMN, OWNER TO, ADD [COLUMN], DROP [COLUMN] and
//! ALTER COLUMN ... TYPE, and COMMENT ON: changes to a table's definition that rewrite none
//! of its rows. Constraint changes (ADD / DROP CONSTRAINT) are in [`crate::constraints`].
//!
//! ADD and DROP COLUMN give the table a new definition whose columns carry stable ids
//! ([`basalt_storage::TableDef::column_ids`]); segments written before keep the columns
//! they hold, and storage's readers fill an added column with its DEFAULT (a constant,
//! evaluated here once) and leave a dropped one out, so both are instant, as in Redshift.
//! ALTER COLUMN TYPE only widens a VARCHAR (Redshift's one type change), which leaves the
//! stored strings as they are.
//!
//! Every change goes through the session's transaction, so ROLLBACK undoes it and a
//! concurrent writer of the same table makes the later commit fail with 40001.
//!
//! Views keep their query as SQL text and bind it each time they are read. Renaming a table
//! rewrites the text of the schema-bound views that read it to the new name (`views::follow`),
//! as PostgreSQL's views, bound trees, follow a rename; it is refused (2BP01) only where a view
//! would no longer bind. Renaming a column such a view reads gives the view's FROM items a
//! column alias list with the old names (`FROM t AS t (a, b)`), so it keeps binding.
//! Late-binding views (`WITH NO SCHEMA BINDING`) depend on nothing and are not checked.

use std::ops::ControlFlow;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, RecordBatchOptions};
use basalt_storage::{ColumnDef, ColumnEncoding, Manifest, Objects, SqlType, TableDef, TableMeta};
use sqlparser::ast::{self, Spanned};

use crate::error::{Error, Result};
use crate::parse::TableAttributes;
use crate::planner::bind::{normalize_ident, AggContext, Binder, Scope};
use crate::security::{self, Actor};
use crate::views::ColumnFollow;
use crate::{command, storage_error, Session, StatementResult};

/// `pg_class`'s OID, the `classoid` of relation comments.
pub(crate) const PG_CLASS_OID: i64 = 1259;
/// `pg_namespace`'s OID, the `classoid` of schema comments.
pub(crate) const PG_NAMESPACE_OID: i64 = 2615;
/// `pg_constraint`'s OID, the `classoid` of constraint comments.
pub(crate) const PG_CONSTRAINT_OID: i64 = 2606;
/// `pg_proc`'s OID, the `classoid` of function comments.
pub(crate) const PG_PROC_OID: i64 = 1255;
/// `pg_database`'s OID, the `classoid` of the database's comment (in `pg_shdescription`).
pub(crate) const PG_DATABASE_OID: i64 = 1262;

/// One ALTER TABLE action this module runs.
pub(crate) enum Action<'s> {
    RenameTable(String),
    RenameColumn {
        from: String,
        to: String,
    },
    OwnerTo(ast::Owner),
    AddColumn {
        column: &'s ast::ColumnDef,
        if_not_exists: bool,
    },
    DropColumn {
        name: String,
        if_exists: bool,
        cascade: bool,
    },
    AlterType {
        name: String,
        data_type: &'s ast::DataType,
    },
}

impl Session {
    /// The role an `OWNER TO` names: a role by name (42704 when there is none) or the
    /// session's own.
    pub(crate) fn owner_role_oid(
        &self,
        security: &basalt_storage::security::Security,
        owner: &ast::Owner,
    ) -> Result<u32> {
        match owner {
            ast::Owner::Ident(role) => {
                let role = normalize_ident(role);
                security::role_oid(security, &role).ok_or_else(|| Error::UndefinedObject {
                    message: format!("role \"{role}\" does not exist"),
                    position: None,
                })
            }
            ast::Owner::CurrentUser | ast::Owner::CurrentRole | ast::Owner::SessionUser => {
                Ok(self.role_oid)
            }
        }
    }

    /// Runs ALTER TABLE: RENAME TO, RENAME [COLUMN] and OWNER TO here, constraint actions in
    /// [`crate::constraints`]; any other action is refused.
    pub(crate) fn alter_table_statement(
        &mut self,
        at: &ast::AlterTable,
        text: &str,
        attributes: Option<&TableAttributes>,
    ) -> Result<StatementResult> {
        use ast::AlterTableOperation as Op;
        let action = match at.operations.as_slice() {
            [Op::RenameTable { table_name }] => {
                let (ast::RenameTableNameKind::To(name) | ast::RenameTableNameKind::As(name)) =
                    table_name;
                match name.0.as_slice() {
                    [part] => match part.as_ident() {
                        Some(ident) => Action::RenameTable(normalize_ident(ident)),
                        None => return Err(rename_target_error(name)),
                    },
                    _ => return Err(rename_target_error(name)),
                }
            }
            [Op::RenameColumn {
                old_column_name,
                new_column_name,
            }] => Action::RenameColumn {
                from: normalize_ident(old_column_name),
                to: normalize_ident(new_column_name),
            },
            [Op::OwnerTo { new_owner }] => Action::OwnerTo(new_owner.clone()),
            [Op::AddColumn {
                if_not_exists,
                column_def,
                column_position: None,
                ..
            }] => Action::AddColumn {
                column: column_def,
                if_not_exists: *if_not_exists,
            },
            [Op::DropColumn {
                column_names,
                if_exists,
                drop_behavior,
                ..
            }] => match column_names.as_slice() {
                [column] => Action::DropColumn {
                    name: normalize_ident(column),
                    if_exists: *if_exists,
                    cascade: matches!(drop_behavior, Some(ast::DropBehavior::Cascade)),
                },
                _ => {
                    return Err(Error::Unsupported {
                        message: "ALTER TABLE DROP COLUMN drops one column per statement".into(),
                    })
                }
            },
            [Op::AlterColumn {
                column_name,
                op:
                    ast::AlterColumnOperation::SetDataType {
                        data_type, using, ..
                    },
            }] => {
                if using.is_some() {
                    return Err(Error::Unsupported {
                        message: "ALTER COLUMN ... TYPE ... USING is not supported".into(),
                    });
                }
                Action::AlterType {
                    name: normalize_ident(column_name),
                    data_type,
                }
            }
            ops if ops.len() > 1
                && ops.iter().any(|op| {
                    matches!(
                        op,
                        Op::AddColumn { .. } | Op::DropColumn { .. } | Op::AlterColumn { .. }
                    )
                }) =>
            {
                // As Redshift: one column change per ALTER TABLE.
                return Err(Error::Unsupported {
                    message: "ALTER TABLE changes one column per statement".into(),
                });
            }
            _ => return self.alter_table(at, text),
        };
        if attributes
            .is_some_and(|a| !a.column_dist_keys.is_empty() || !a.column_sort_keys.is_empty())
        {
            return Err(Error::Unsupported {
                message: "ALTER TABLE ADD COLUMN does not take DISTKEY or SORTKEY".into(),
            });
        }
        self.alter_table_action(
            &at.name,
            at.if_exists,
            action,
            text,
            attributes,
            "ALTER TABLE",
        )
    }

    /// Runs `action` on table `table_name`, answering `tag`: ALTER TABLE's actions, and
    /// those ALTER INDEX and ALTER VIEW apply to a table as PostgreSQL does (RENAME TO,
    /// RENAME COLUMN).
    pub(crate) fn alter_table_action(
        &mut self,
        table_name: &ast::ObjectName,
        if_exists: bool,
        action: Action<'_>,
        text: &str,
        attributes: Option<&TableAttributes>,
        tag: &str,
    ) -> Result<StatementResult> {
        let manifest = self.current_manifest();
        let info = self.session_info(&manifest);
        let (schema, name) = {
            let mut binder = Binder::new(&manifest, text, None);
            binder.session = Some(&info);
            binder.table_name(table_name)?
        };
        let Some(table) = manifest.table(&schema, &name) else {
            if if_exists {
                return Ok(command(tag));
            }
            return Err(missing_table(&manifest, &schema, &name));
        };
        let actor = Actor::of(&manifest.security, self.role_oid);
        security::check_owner(&actor, table)?;
        let table_id = table.id;
        let mut def = table.def.clone();
        let mut objects = manifest.objects.clone();
        match action {
            Action::RenameTable(new_name) => {
                if manifest.table(&schema, &new_name).is_some()
                    || manifest.objects.view(&schema, &new_name).is_some()
                    || manifest.objects.index(&schema, &new_name).is_some()
                    || manifest.external.table(&schema, &new_name).is_some()
                {
                    return Err(Error::DuplicateTable { name: new_name });
                }
                // The views over the table follow it to its new name, if each still binds.
                let rename = crate::views::Rename {
                    from: (&schema, &name),
                    to: (&schema, &new_name),
                };
                if crate::views::follow_relation(&mut objects, table_id, rename).is_err() {
                    refuse_if_views_read(&manifest, table, None)?;
                }
                def.name.clone_from(&new_name);
                let mut after = (*manifest).clone();
                if let Some(t) = after.tables.iter_mut().find(|t| t.id == table_id) {
                    t.def = def.clone();
                }
                after.objects = objects.clone();
                if !self.views_broken_by(&after, table_id, &info).is_empty() {
                    refuse_if_views_read(&manifest, table, None)?;
                }
            }
            Action::RenameColumn { from, to } => {
                let Some(at) = def.column_index(&from) else {
                    return Err(Error::UndefinedColumn {
                        name: from,
                        position: None,
                    });
                };
                if def.column_index(&to).is_some() {
                    return Err(Error::DuplicateColumnOfRelation {
                        column: to,
                        relation: name,
                    });
                }
                // The views over the table name the column by its new name, or keep the old
                // one through a column alias list where their text cannot tell its
                // references apart (or the renamed text would not bind), if each still binds.
                let old_columns: Vec<String> = def.columns.iter().map(|c| c.name.clone()).collect();
                def.columns[at].name = to.clone();
                rename_key_columns(&mut def, &from, &to);
                rename_object_columns(&mut objects, table_id, &from, &to);
                let mut followed = None;
                for how in [ColumnFollow::Rename, ColumnFollow::AliasList] {
                    let mut candidate = objects.clone();
                    if crate::views::follow_column(
                        &mut candidate,
                        table_id,
                        (&schema, &name),
                        &old_columns,
                        at,
                        &to,
                        how,
                    )
                    .is_err()
                    {
                        continue;
                    }
                    let mut after = (*manifest).clone();
                    if let Some(t) = after.tables.iter_mut().find(|t| t.id == table_id) {
                        t.def = def.clone();
                    }
                    after.objects = candidate.clone();
                    if self.views_broken_by(&after, table_id, &info).is_empty() {
                        followed = Some(candidate);
                        break;
                    }
                }
                match followed {
                    Some(candidate) => objects = candidate,
                    None => refuse_if_views_read(&manifest, table, Some(&from))?,
                }
            }
            Action::OwnerTo(owner) => {
                let oid = self.owner_role_oid(&manifest.security, &owner)?;
                actor.require_can_give(&manifest, oid, &schema)?;
                def.owner = (oid != basalt_storage::security::BOOTSTRAP_ROLE_OID).then_some(oid);
            }
            Action::AddColumn {
                column,
                if_not_exists,
            } => {
                let cname = normalize_ident(&column.name);
                if def.column_index(&cname).is_some() {
                    if if_not_exists {
                        return Ok(command(tag));
                    }
                    return Err(Error::DuplicateColumnOfRelation {
                        column: cname,
                        relation: name,
                    });
                }
                let mut binder = Binder::new(&manifest, text, None);
                binder.session = Some(&info);
                binder.settings = Some(&self.settings);
                let (new, default) = new_column(&mut binder, column, &cname, attributes)?;
                if !new.nullable && default.is_none() && table.rows() > 0 {
                    return Err(Error::NotNullViolation {
                        table: name,
                        column: cname,
                    });
                }
                def.add_column(new, default.as_deref())
                    .map_err(Error::Internal)?;
            }
            Action::DropColumn {
                name: column,
                if_exists,
                cascade,
            } => {
                let Some(at) = def.column_index(&column) else {
                    if if_exists {
                        return Ok(command(tag));
                    }
                    return Err(missing_column(&column, &name));
                };
                if def.columns.len() == 1 {
                    return Err(Error::Unsupported {
                        message: format!(
                            "cannot drop column \"{column}\": it is the last column of table \"{name}\""
                        ),
                    });
                }
                if def.dist_key.as_deref() == Some(column.as_str()) {
                    return Err(Error::Unsupported {
                        message: format!("cannot drop distkey column \"{column}\""),
                    });
                }
                if def.sort_key.columns().contains(&column) {
                    return Err(Error::Unsupported {
                        message: format!("cannot drop sortkey column \"{column}\""),
                    });
                }
                def.drop_column(at);
                let mut after = (*manifest).clone();
                if let Some(t) = after.tables.iter_mut().find(|t| t.id == table_id) {
                    t.def = def.clone();
                }
                let broken = self.views_broken_by(&after, table_id, &info);
                let foreign: Vec<String> = objects
                    .referencing(table_id)
                    .filter(|k| k.table != table_id)
                    .filter(|k| k.references.as_ref().is_some_and(|r| r.columns.contains(&column)))
                    .map(|k| {
                        let on = manifest
                            .table_by_id(k.table)
                            .map(|t| t.def.name.clone())
                            .unwrap_or_default();
                        format!("constraint {} on table {on} depends on column {column} of table {name}", k.name)
                    })
                    .collect();
                if !cascade && (!broken.is_empty() || !foreign.is_empty()) {
                    let lines: Vec<String> = broken
                        .iter()
                        .map(|v| {
                            format!(
                                "view {v} depends on column {column} of table {name}",
                                v = view_name(&manifest, *v)
                            )
                        })
                        .chain(foreign)
                        .collect();
                    return Err(Error::DependentObjectsStillExist {
                        message: format!(
                            "cannot drop column {column} of table {name} because other objects depend on it"
                        ),
                        detail: lines.join("\n"),
                    });
                }
                if !broken.is_empty() {
                    objects = crate::views::objects_after_drop(&after, &broken, true)?;
                }
                drop_object_columns(&mut objects, table_id, &column);
            }
            Action::AlterType {
                name: column,
                data_type,
            } => {
                let Some(at) = def.column_index(&column) else {
                    return Err(missing_column(&column, &name));
                };
                let binder = Binder::new(&manifest, text, None);
                let ty = binder.bind_type(data_type, sqlparser::tokenizer::Span::empty())?;
                let was = def.columns[at].ty;
                let widens = match (was, ty) {
                    (SqlType::Varchar { length: old }, SqlType::Varchar { length: new }) => {
                        new >= old
                    }
                    (SqlType::Varchar { .. } | SqlType::Text, SqlType::Text) => true,
                    _ => false,
                };
                if !widens {
                    return Err(Error::Unsupported {
                        message: format!(
                            "cannot alter column \"{column}\" of relation \"{name}\" from {} to {}: only the size of a VARCHAR column can be increased",
                            was.pg_name(),
                            ty.pg_name()
                        ),
                    });
                }
                if was == ty {
                    return Ok(command(tag));
                }
                def.columns[at].ty = ty;
                let mut after = (*manifest).clone();
                if let Some(t) = after.tables.iter_mut().find(|t| t.id == table_id) {
                    t.def = def.clone();
                }
                if let Some(v) = self.views_broken_by(&after, table_id, &info).first() {
                    return Err(Error::Unsupported {
                        message: format!(
                            "cannot alter type of a column used by a view or rule: view {} depends on column \"{column}\"",
                            view_name(&manifest, *v)
                        ),
                    });
                }
            }
        }
        self.write_at(&manifest, |t| {
            t.redefine_table(table_id, def).map_err(storage_error)?;
            if objects != t.snapshot().objects {
                t.set_objects(objects).map_err(storage_error)?;
            }
            Ok(())
        })?;
        Ok(command(tag))
    }

    /// `COMMENT ON TABLE | VIEW | COLUMN | INDEX | SCHEMA | DATABASE name IS 'text' | NULL`:
    /// sets or removes the description `pg_description` shows. The object's owner (or a
    /// superuser) may comment on it.
    pub(crate) fn comment_on(
        &mut self,
        object_type: &ast::CommentObject,
        object_name: &ast::ObjectName,
        comment: Option<&str>,
        if_exists: bool,
        text: &str,
    ) -> Result<StatementResult> {
        use ast::CommentObject as Kind;
        let manifest = self.current_manifest();
        let info = self.session_info(&manifest);
        let actor = Actor::of(&manifest.security, self.role_oid);
        let mut binder = Binder::new(&manifest, text, None);
        binder.session = Some(&info);
        let target = match object_type {
            Kind::Table | Kind::View | Kind::Index => {
                let (schema, name) = binder.table_name(object_name)?;
                relation_target(&manifest, &actor, object_type, &schema, &name)
            }
            Kind::Column => {
                let parts = &object_name.0;
                let Some((column, relation)) = parts.split_last().filter(|(_, r)| !r.is_empty())
                else {
                    return Err(Error::Syntax {
                        message: format!("column name must be qualified: {object_name}"),
                        position: None,
                    });
                };
                let column = column
                    .as_ident()
                    .map(normalize_ident)
                    .unwrap_or_else(|| column.to_string());
                let relation = ast::ObjectName(relation.to_vec());
                let (schema, name) = binder.table_name(&relation)?;
                relation_target(&manifest, &actor, &Kind::Table, &schema, &name)
                    .or_else(|_| relation_target(&manifest, &actor, &Kind::View, &schema, &name))
                    .and_then(|(id, _)| {
                        let columns: Vec<&str> = match manifest.table_by_id(id) {
                            Some(t) => t.def.columns.iter().map(|c| c.name.as_str()).collect(),
                            None => manifest
                                .objects
                                .view_by_id(id)
                                .map(|v| v.columns.iter().map(|c| c.name.as_str()).collect())
                                .unwrap_or_default(),
                        };
                        if !columns.contains(&column.as_str()) {
                            return Err(Error::UndefinedColumnMessage {
                                message: format!(
                                    "column \"{column}\" of relation \"{name}\" does not exist"
                                ),
                                position: None,
                            });
                        }
                        Ok((id, Some(column.clone())))
                    })
            }
            Kind::Schema => {
                let name = single_name(object_name)?;
                schema_target(&manifest, &actor, &name)
            }
            Kind::Database => {
                let name = single_name(object_name)?;
                if name != security::DATABASE {
                    Err(Error::UndefinedDatabase { name })
                } else if !actor.superuser && actor.oid != security::SCHEMA_OWNER {
                    Err(Error::InsufficientPrivilege {
                        message: format!("must be owner of database {name}"),
                    })
                } else {
                    Ok((crate::catalog::DATABASE_OID as u64, None))
                }
            }
            other => {
                return Err(Error::Unsupported {
                    message: format!("COMMENT ON {other} is not supported"),
                })
            }
        };
        let (object, column) = match target {
            Ok(target) => target,
            // Snowflake's COMMENT IF EXISTS, which sqlparser accepts: a missing object is
            // no error.
            Err(
                Error::UndefinedTable { .. }
                | Error::UndefinedObject { .. }
                | Error::UndefinedSchema { .. },
            ) if if_exists => return Ok(command("COMMENT")),
            Err(e) => return Err(e),
        };
        // PostgreSQL stores an empty comment as none; on an object with a built-in
        // description (the `public` schema) an empty comment kept hides that.
        let comment = match comment.filter(|c| !c.is_empty()) {
            Some(c) => Some(c.to_owned()),
            None if column.is_none() && crate::catalog::built_in_description(object).is_some() => {
                Some(String::new())
            }
            None => None,
        };
        if manifest.objects.comment(object, column.as_deref()) == comment.as_deref() {
            return Ok(command("COMMENT"));
        }
        self.write_at(&manifest, |t| {
            let mut objects = t.snapshot().objects.clone();
            objects.set_comment(object, column.as_deref(), comment);
            t.set_objects(objects).map_err(storage_error)
        })?;
        Ok(command("COMMENT"))
    }
}

/// `COMMENT ON CONSTRAINT name ON table IS 'text' | NULL`, which sqlparser does not read:
/// it is read here from tokens and travels as a `copy::options::Transfer::CommentOnConstraint`,
/// as CHECKPOINT does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommentOnConstraint {
    /// The constraint's name, folded as an identifier.
    pub constraint: String,
    /// The table's name, one or two parts, folded as identifiers.
    pub table: Vec<String>,
    /// The comment; `None` for `IS NULL`.
    pub comment: Option<String>,
}

/// True when the tokens (whitespace skipped) start with `COMMENT ON CONSTRAINT`.
pub fn is_comment_on_constraint(tokens: &[sqlparser::tokenizer::TokenWithSpan]) -> bool {
    let mut c = crate::copy::options::Cursor::new("", tokens);
    c.eat("comment") && c.eat("on") && c.eat("constraint")
}

/// Parses `COMMENT ON CONSTRAINT name ON [schema.]table IS { 'text' | NULL }`.
pub fn parse_comment_on_constraint(
    sql: &str,
    tokens: &[sqlparser::tokenizer::TokenWithSpan],
) -> Result<CommentOnConstraint> {
    use sqlparser::tokenizer::Token;
    let mut c = crate::copy::options::Cursor::new(sql, tokens);
    c.expect("comment")?;
    c.expect("on")?;
    c.expect("constraint")?;
    let constraint = c.ident()?;
    c.expect("on")?;
    let mut table = vec![c.ident()?];
    while c.eat_token(&Token::Period) {
        table.push(c.ident()?);
    }
    c.expect("is")?;
    let comment = if c.eat("null") {
        None
    } else {
        Some(c.string()?)
    };
    if !c.done() || table.len() > 2 {
        return Err(c.error());
    }
    Ok(CommentOnConstraint {
        constraint,
        table,
        comment,
    })
}

impl Session {
    /// COMMENT ON CONSTRAINT: sets or removes the description `pg_description` shows for the
    /// constraint (classoid `pg_constraint`). The table's owner (or a superuser) may.
    pub(crate) fn comment_on_constraint(
        &mut self,
        stmt: &CommentOnConstraint,
        text: &str,
    ) -> Result<StatementResult> {
        let manifest = self.current_manifest();
        let info = self.session_info(&manifest);
        let name = ast::ObjectName::from(
            stmt.table
                .iter()
                .map(|part| ast::Ident::with_quote('"', part))
                .collect::<Vec<_>>(),
        );
        let (schema, table_name) = {
            let mut binder = Binder::new(&manifest, text, None);
            binder.session = Some(&info);
            binder.table_name(&name)?
        };
        let Some(table) = manifest.table(&schema, &table_name) else {
            return Err(missing_table(&manifest, &schema, &table_name));
        };
        let Some(constraint) = manifest
            .objects
            .constraints_of(table.id)
            .find(|k| k.name == stmt.constraint)
        else {
            return Err(Error::UndefinedObject {
                message: format!(
                    "constraint \"{}\" for table \"{table_name}\" does not exist",
                    stmt.constraint
                ),
                position: None,
            });
        };
        let actor = Actor::of(&manifest.security, self.role_oid);
        // PostgreSQL names the table a relation here.
        security::check_owner(&actor, table).map_err(|_| Error::InsufficientPrivilege {
            message: format!("must be owner of relation {table_name}"),
        })?;
        let object = constraint.id;
        // PostgreSQL stores an empty comment as none.
        let comment = stmt.comment.clone().filter(|c| !c.is_empty());
        if manifest.objects.comment(object, None) == comment.as_deref() {
            return Ok(command("COMMENT"));
        }
        self.write_at(&manifest, |t| {
            let mut objects = t.snapshot().objects.clone();
            objects.set_comment(object, None, comment);
            t.set_objects(objects).map_err(storage_error)
        })?;
        Ok(command("COMMENT"))
    }
}

/// The column of `ADD COLUMN column` and its DEFAULT value (a one-row array, `None` for no
/// default or a NULL one). The default must be a constant expression: no column, no
/// subquery (0A000, as PostgreSQL); it is evaluated once, here, and converted to the
/// column's type as an INSERT would.
fn new_column(
    binder: &mut Binder<'_>,
    column: &ast::ColumnDef,
    name: &str,
    attributes: Option<&TableAttributes>,
) -> Result<(ColumnDef, Option<ArrayRef>)> {
    let ty = binder.bind_type(&column.data_type, column.span())?;
    if let SqlType::Array { .. } = ty {
        return Err(Error::Unsupported {
            message: format!(
                "column \"{name}\" has type {ty}: Basalt tables have no array columns"
            ),
        });
    }
    let mut nullable = true;
    let mut default = None;
    for o in &column.options {
        match &o.option {
            ast::ColumnOption::NotNull => nullable = false,
            ast::ColumnOption::Null => nullable = true,
            ast::ColumnOption::Default(e) => default = Some(e),
            other => {
                return Err(Error::Unsupported {
                    message: format!(
                        "column option not supported in ALTER TABLE ADD COLUMN: {other}"
                    ),
                })
            }
        }
    }
    let mut encoding = ColumnEncoding::Auto;
    for (_, keyword) in attributes
        .map(|a| a.column_encodings.as_slice())
        .unwrap_or_default()
    {
        encoding = ColumnEncoding::from_keyword(&keyword.value).ok_or_else(|| Error::Syntax {
            message: format!("syntax error at or near \"{}\"", keyword.value),
            position: keyword.position,
        })?;
        if encoding.check(ty).is_err() {
            return Err(Error::InvalidEncoding {
                column: name.to_owned(),
                position: keyword.position,
            });
        }
    }
    let value = match default {
        None => None,
        Some(e) => default_value(binder, e, ty, name)?,
    };
    Ok((
        ColumnDef {
            name: name.to_owned(),
            ty,
            nullable,
            encoding,
        },
        value,
    ))
}

/// Evaluates DEFAULT expression `e` for a column `name` of type `ty`: `None` when NULL.
fn default_value(
    binder: &mut Binder<'_>,
    e: &ast::Expr,
    ty: SqlType,
    name: &str,
) -> Result<Option<ArrayRef>> {
    let mut refused = None;
    let _ = ast::visit_expressions(e, |x| {
        refused = match x {
            ast::Expr::Subquery(_)
            | ast::Expr::Exists { .. }
            | ast::Expr::In {
                target: ast::InTarget::Subquery(_),
                ..
            } => Some("subquery"),
            ast::Expr::Identifier(_) | ast::Expr::CompoundIdentifier(_) => Some("column reference"),
            _ => None,
        };
        match refused {
            Some(_) => ControlFlow::Break(()),
            None => ControlFlow::Continue(()),
        }
    });
    if let Some(what) = refused {
        return Err(Error::Unsupported {
            message: format!("cannot use {what} in DEFAULT expression"),
        });
    }
    let bound = binder.bind_expr(
        e,
        &Scope::default(),
        AggContext::Forbidden("DEFAULT expressions"),
    )?;
    let bound = binder.assign(bound, ty, name, e.span())?;
    let one_row = RecordBatch::try_new_with_options(
        Arc::new(arrow_schema::Schema::empty()),
        Vec::new(),
        &RecordBatchOptions::new().with_row_count(Some(1)),
    )
    .map_err(|e| Error::Internal(format!("DEFAULT row: {e}")))?;
    let value = crate::kernels::eval::evaluate(&bound, &one_row)?;
    if value.len() != 1 {
        return Err(Error::Internal(format!(
            "DEFAULT gave {} values",
            value.len()
        )));
    }
    Ok((!value.is_null(0)).then_some(value))
}

/// PostgreSQL's error for a column a table does not have (42703).
fn missing_column(column: &str, table: &str) -> Error {
    Error::UndefinedColumnMessage {
        message: format!("column \"{column}\" of relation \"{table}\" does not exist"),
        position: None,
    }
}

/// The name of view `id` of `manifest`.
fn view_name(manifest: &Manifest, id: u64) -> String {
    manifest
        .objects
        .view_by_id(id)
        .map(|v| v.name.clone())
        .unwrap_or_else(|| id.to_string())
}

/// Removes column `column` of table `table` from the objects, as PostgreSQL's DROP COLUMN
/// does: the table's indexes and constraints that use it (with a key's index), foreign keys
/// of other tables that reference it (CASCADE was checked), and its comment.
fn drop_object_columns(objects: &mut Objects, table: u64, column: &str) {
    let uses = |columns: &[String]| columns.iter().any(|c| c == column);
    let gone: Vec<u64> = objects
        .constraints
        .iter()
        .filter(|k| {
            (k.table == table && uses(&k.columns))
                || k.references
                    .as_ref()
                    .is_some_and(|r| r.table == table && uses(&r.columns))
        })
        .map(|k| k.id)
        .collect();
    let backing: Vec<u64> = objects
        .constraints
        .iter()
        .filter(|k| gone.contains(&k.id))
        .filter_map(|k| k.index)
        .collect();
    objects.constraints.retain(|k| !gone.contains(&k.id));
    objects.indexes.retain(|i| {
        !(backing.contains(&i.id)
            || (i.table == table && i.columns.iter().any(|c| c.name == column)))
    });
    objects
        .comments
        .retain(|c| !(c.object == table && c.column.as_deref() == Some(column)));
}

/// The error for `RENAME TO schema.name`: PostgreSQL's grammar takes a bare name there.
pub(crate) fn rename_target_error(name: &ast::ObjectName) -> Error {
    Error::Syntax {
        message: format!("syntax error at or near \".\" in RENAME TO {name}"),
        position: None,
    }
}

/// A one-part name (a schema's or the database's).
pub(crate) fn single_name(name: &ast::ObjectName) -> Result<String> {
    match name.0.as_slice() {
        [part] => Ok(part
            .as_ident()
            .map(normalize_ident)
            .unwrap_or_else(|| part.to_string())),
        _ => Err(Error::Syntax {
            message: format!("improper qualified name (too many dotted names): {name}"),
            position: None,
        }),
    }
}

/// The error for a table that is not there: 42809 when the name is a view or an index.
fn missing_table(manifest: &Manifest, schema: &str, name: &str) -> Error {
    if manifest.objects.view(schema, name).is_some()
        || manifest.objects.index(schema, name).is_some()
    {
        return Error::WrongRelationKind {
            name: name.into(),
            expected: "a table",
            hint: None,
        };
    }
    Error::UndefinedTable {
        name: name.into(),
        position: None,
    }
}

/// The id of relation `schema.name` of kind `kind` (a table, a view or an index) for a
/// comment, checked to be owned by `actor`.
fn relation_target(
    manifest: &Manifest,
    actor: &Actor,
    kind: &ast::CommentObject,
    schema: &str,
    name: &str,
) -> Result<(u64, Option<String>)> {
    use ast::CommentObject as Kind;
    let owned = |owner: Option<u32>, kind: &str| actor.require_owner(owner, kind, name);
    let wrong = |expected: &'static str| Error::WrongRelationKind {
        name: name.into(),
        expected,
        hint: None,
    };
    let table = manifest.table(schema, name);
    let view = manifest.objects.view(schema, name);
    let index = manifest.objects.index(schema, name);
    match kind {
        Kind::Table => match (table, view, index) {
            (Some(t), _, _) => owned(t.def.owner, "table").map(|()| (t.id, None)),
            // PostgreSQL's COMMENT ON TABLE takes a view too.
            (None, Some(v), _) => owned(v.owner, "view").map(|()| (v.id, None)),
            (None, None, Some(_)) => Err(wrong("a table")),
            _ => Err(Error::UndefinedTable {
                name: name.into(),
                position: None,
            }),
        },
        Kind::View => match (view, table.is_some() || index.is_some()) {
            (Some(v), _) => owned(v.owner, "view").map(|()| (v.id, None)),
            (None, true) => Err(wrong("a view")),
            (None, false) => Err(Error::UndefinedTable {
                name: name.into(),
                position: None,
            }),
        },
        _ => match index {
            Some(i) => {
                let owner = manifest.table_by_id(i.table).and_then(|t| t.def.owner);
                owned(owner, "index").map(|()| (i.id, None))
            }
            None if table.is_some() || view.is_some() => Err(wrong("an index")),
            None => Err(Error::UndefinedTable {
                name: name.into(),
                position: None,
            }),
        },
    }
}

/// The OID of schema `name` for a comment, checked to be owned by `actor`.
fn schema_target(manifest: &Manifest, actor: &Actor, name: &str) -> Result<(u64, Option<String>)> {
    let oid = if name == basalt_storage::objects::PUBLIC_SCHEMA {
        crate::catalog::PUBLIC_OID as u64
    } else {
        match manifest.objects.schema(name) {
            Some(s) => s.id,
            None => {
                return Err(Error::UndefinedSchema {
                    name: name.into(),
                    position: None,
                })
            }
        }
    };
    let owner = security::schema_owner(manifest, name);
    if !actor.superuser && actor.oid != owner {
        return Err(Error::InsufficientPrivilege {
            message: format!("must be owner of schema {name}"),
        });
    }
    Ok((oid, None))
}

/// Refuses (2BP01) to rename `table`, or its column `column`, while a schema-bound view reads
/// it: the view's text would no longer bind. (A renamed table's views follow it where they
/// can: see `views::follow`.)
fn refuse_if_views_read(
    manifest: &Manifest,
    table: &TableMeta,
    column: Option<&str>,
) -> Result<()> {
    let Some(view) = manifest.objects.dependents(table.id).next() else {
        return Ok(());
    };
    let what = match column {
        Some(c) => format!("column \"{c}\" of table \"{}\"", table.def.name),
        None => format!("table \"{}\"", table.def.name),
    };
    Err(Error::DependentObjectsStillExist {
        message: format!("cannot rename {what} because view \"{}\" depends on it", view.name),
        detail: format!(
            "view {} depends on table {}\nA view keeps its query as text; drop it and create it again after the rename, or create it WITH NO SCHEMA BINDING.",
            view.name, table.def.name
        ),
    })
}

/// Renames column `from` to `to` in the sort and distribution keys of `def`.
fn rename_key_columns(def: &mut TableDef, from: &str, to: &str) {
    if def.dist_key.as_deref() == Some(from) {
        def.dist_key = Some(to.to_owned());
    }
    match &mut def.sort_key {
        basalt_storage::SortKey::Compound(columns)
        | basalt_storage::SortKey::Interleaved(columns) => {
            for c in columns.iter_mut().filter(|c| *c == from) {
                *c = to.to_owned();
            }
        }
        basalt_storage::SortKey::Auto => {}
    }
}

/// Renames column `from` of table `table` to `to` wherever the objects name it: indexes on
/// the table, its constraints, foreign keys that reference it, and column comments.
fn rename_object_columns(objects: &mut Objects, table: u64, from: &str, to: &str) {
    let rename = |name: &mut String| {
        if name == from {
            *name = to.to_owned();
        }
    };
    for index in objects.indexes.iter_mut().filter(|i| i.table == table) {
        index.columns.iter_mut().for_each(|c| rename(&mut c.name));
    }
    for constraint in &mut objects.constraints {
        if constraint.table == table {
            constraint.columns.iter_mut().for_each(rename);
        }
        if let Some(r) = constraint.references.as_mut().filter(|r| r.table == table) {
            r.columns.iter_mut().for_each(rename);
        }
    }
    for comment in objects.comments.iter_mut().filter(|c| c.object == table) {
        if let Some(c) = comment.column.as_mut() {
            rename(c);
        }
    }
}
