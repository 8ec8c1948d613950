//! ALTER TABLE ... RENAME TO, RENAME COLUMN and OWNER TO, and COMMENT ON: changes to a
//! table's definition that leave its rows as they are. Constraint changes (ADD / DROP
//! CONSTRAINT) are in [`crate::constraints`].
//!
//! Every change goes through the session's transaction, so ROLLBACK undoes it and a
//! concurrent writer of the same table makes the later commit fail with 40001.
//!
//! Views keep their query as SQL text and bind it each time they are read, so renaming a
//! table or a column a schema-bound view reads would break the view; that is refused (2BP01)
//! with a hint, where PostgreSQL, which keeps views as bound trees, follows the rename.
//! Late-binding views (`WITH NO SCHEMA BINDING`) depend on nothing and are not checked.

use basalt_storage::{Manifest, Objects, TableDef, TableMeta};
use sqlparser::ast;

use crate::error::{Error, Result};
use crate::planner::bind::{normalize_ident, Binder};
use crate::security::{self, Actor};
use crate::{command, storage_error, Session, StatementResult};

/// `pg_class`'s OID, the `classoid` of relation comments.
pub(crate) const PG_CLASS_OID: i64 = 1259;
/// `pg_namespace`'s OID, the `classoid` of schema comments.
pub(crate) const PG_NAMESPACE_OID: i64 = 2615;
/// `pg_constraint`'s OID, the `classoid` of constraint comments.
pub(crate) const PG_CONSTRAINT_OID: i64 = 2606;
/// `pg_database`'s OID, the `classoid` of the database's comment (in `pg_shdescription`).
pub(crate) const PG_DATABASE_OID: i64 = 1262;

/// One ALTER TABLE action this module runs.
enum Action {
    RenameTable(String),
    RenameColumn { from: String, to: String },
    OwnerTo(ast::Owner),
}

impl Session {
    /// Runs ALTER TABLE: RENAME TO, RENAME [COLUMN] and OWNER TO here, constraint actions in
    /// [`crate::constraints`]; any other action is refused.
    pub(crate) fn alter_table_statement(
        &mut self,
        at: &ast::AlterTable,
        text: &str,
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
            _ => return self.alter_table(at, text),
        };
        let manifest = self.current_manifest();
        let info = self.session_info(&manifest);
        let (schema, name) = {
            let mut binder = Binder::new(&manifest, text, None);
            binder.session = Some(&info);
            binder.table_name(&at.name)?
        };
        let Some(table) = manifest.table(&schema, &name) else {
            if at.if_exists {
                return Ok(command("ALTER TABLE"));
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
                refuse_if_views_read(&manifest, table, None)?;
                if manifest.table(&schema, &new_name).is_some()
                    || manifest.objects.view(&schema, &new_name).is_some()
                    || manifest.objects.index(&schema, &new_name).is_some()
                    || manifest.external.table(&schema, &new_name).is_some()
                {
                    return Err(Error::DuplicateTable { name: new_name });
                }
                def.name = new_name;
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
                refuse_if_views_read(&manifest, table, Some(&from))?;
                def.columns[at].name = to.clone();
                rename_key_columns(&mut def, &from, &to);
                rename_object_columns(&mut objects, table_id, &from, &to);
            }
            Action::OwnerTo(owner) => {
                let oid = match &owner {
                    ast::Owner::Ident(role) => {
                        let role = normalize_ident(role);
                        security::role_oid(&manifest.security, &role).ok_or_else(|| {
                            Error::UndefinedObject {
                                message: format!("role \"{role}\" does not exist"),
                                position: None,
                            }
                        })?
                    }
                    ast::Owner::CurrentUser | ast::Owner::CurrentRole | ast::Owner::SessionUser => {
                        self.role_oid
                    }
                };
                // As PostgreSQL: a non-superuser owner may give the table only to a role it
                // is (a member of), which must be able to create in the table's schema.
                if !actor.superuser {
                    if !actor.holds(oid) {
                        return Err(Error::InsufficientPrivilege {
                            message: format!(
                                "must be able to SET ROLE \"{}\"",
                                security::role_name(&manifest.security, oid)
                            ),
                        });
                    }
                    let new_owner = Actor::of(&manifest.security, oid);
                    security::check_schema(&manifest, &new_owner, &schema, 'C')?;
                }
                def.owner = (oid != basalt_storage::security::BOOTSTRAP_ROLE_OID).then_some(oid);
            }
        }
        self.write_at(&manifest, |t| {
            t.redefine_table(table_id, def).map_err(storage_error)?;
            if objects != t.snapshot().objects {
                t.set_objects(objects).map_err(storage_error)?;
            }
            Ok(())
        })?;
        Ok(command("ALTER TABLE"))
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
        // PostgreSQL stores an empty comment as none.
        let comment = comment.filter(|c| !c.is_empty()).map(str::to_owned);
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

/// The error for `RENAME TO schema.name`: PostgreSQL's grammar takes a bare name there.
fn rename_target_error(name: &ast::ObjectName) -> Error {
    Error::Syntax {
        message: format!("syntax error at or near \".\" in RENAME TO {name}"),
        position: None,
    }
}

/// A one-part name (a schema's or the database's).
fn single_name(name: &ast::ObjectName) -> Result<String> {
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
    let owned = |owner: Option<u32>, kind: &str| {
        let owner = owner.unwrap_or(basalt_storage::security::BOOTSTRAP_ROLE_OID);
        if actor.superuser || actor.oid == owner {
            Ok(())
        } else {
            Err(Error::InsufficientPrivilege {
                message: format!("must be owner of {kind} {name}"),
            })
        }
    };
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
/// it: the view's text would no longer bind.
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
