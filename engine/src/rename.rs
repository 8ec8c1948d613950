//! ALTER VIEW ... RENAME TO, RENAME [COLUMN] and OWNER TO, and ALTER INDEX ... RENAME TO: a
//! new name for a view or an index, new names for a view's columns, a view's new owner.
//! Tables are renamed by ALTER TABLE ([`crate::alter`]); as in PostgreSQL, ALTER INDEX ...
//! RENAME TO of a table renames the table and ALTER VIEW ... RENAME COLUMN of a table renames
//! its column, through the same code.
//!
//! The names and the owner are kept in the manifest's objects and changed through the
//! session's transaction, as every DDL is: ROLLBACK undoes it, a restart finds it, and a
//! concurrent change to the objects makes the later commit fail with 40001. Privileges and
//! comments follow the object, which they name by id (a column comment follows its column).
//!
//! As PostgreSQL: the new name must be free among the schema's relations (42P07), or among
//! the view's columns (42701), only the owner (or a superuser) may alter (42501), ALTER VIEW
//! refuses an index (42809), and renaming the index of a PRIMARY KEY or UNIQUE constraint
//! renames the constraint too. As for tables (see [`crate::alter`]), the schema-bound views
//! that read a renamed view follow it (their query's text is rewritten, `views::follow`),
//! refused (2BP01) only where one would no longer bind; its columns keep their names while
//! such views read it (2BP01).

use sqlparser::ast;

use std::sync::Arc;

use basalt_storage::security::BOOTSTRAP_ROLE_OID;
use basalt_storage::{Manifest, ViewDef};

use crate::error::{Error, Result};
use crate::planner::bind::{normalize_ident, Binder};
use crate::security::Actor;
use crate::{command, storage_error, Session, StatementResult};

/// The relation a rename changes.
#[derive(Clone, Copy, Debug)]
enum Renamed {
    View(u64),
    Index(u64),
}

impl Session {
    /// ALTER VIEW: RENAME TO and SET SCHEMA ([`crate::set_schema`]); any other action is
    /// refused.
    pub(crate) fn alter_view_statement(
        &mut self,
        av: &ast::AlterView,
        text: &str,
    ) -> Result<StatementResult> {
        match &av.operation {
            ast::AlterViewOperation::RenameTo { new_name } if !av.materialized => {
                let new_name = single_name(new_name)?;
                self.rename_relation(&av.name, new_name, av.if_exists, false, text)
            }
            ast::AlterViewOperation::SetSchema { schema_name } if !av.materialized => {
                let schema = crate::alter::single_name(schema_name)?;
                self.set_schema(&av.name, av.if_exists, &schema, true, text)
            }
            ast::AlterViewOperation::RenameColumn {
                old_column_name,
                new_column_name,
            } if !av.materialized => self.alter_view_column(
                &av.name,
                av.if_exists,
                normalize_ident(old_column_name),
                normalize_ident(new_column_name),
                text,
            ),
            ast::AlterViewOperation::OwnerTo(owner) if !av.materialized => {
                self.alter_view_owner(&av.name, av.if_exists, owner, text)
            }
            _ => Err(Error::Unsupported {
                message: format!("{av} is not supported"),
            }),
        }
    }

    /// ALTER INDEX ... RENAME TO.
    pub(crate) fn alter_index_statement(
        &mut self,
        name: &ast::ObjectName,
        operation: &ast::AlterIndexOperation,
        text: &str,
    ) -> Result<StatementResult> {
        let ast::AlterIndexOperation::RenameIndex { index_name } = operation;
        let new_name = single_name(index_name)?;
        self.rename_relation(name, new_name, false, true, text)
    }

    /// Renames view (`index` false) or index (`index` true) `name` to `new_name`.
    fn rename_relation(
        &mut self,
        relation: &ast::ObjectName,
        new_name: String,
        if_exists: bool,
        index: bool,
        text: &str,
    ) -> Result<StatementResult> {
        let tag = if index { "ALTER INDEX" } else { "ALTER VIEW" };
        let manifest = self.current_manifest();
        let info = self.session_info(&manifest);
        let (schema, name) = {
            let mut binder = Binder::new(&manifest, text, None);
            binder.session = Some(&info);
            binder.table_name(relation)?
        };
        let actor = Actor::of(&manifest.security, self.role_oid);
        let owned = |owner: Option<u32>, kind: &str| actor.require_owner(owner, kind, &name);
        let table = manifest.table(&schema, &name);
        let view = manifest.objects.view(&schema, &name);
        let found = manifest.objects.index(&schema, &name);
        let renamed = match (view, found, table) {
            (Some(v), _, _) => {
                owned(v.owner, "view")?;
                if let Some(reader) = self.views_not_following(
                    &manifest,
                    &info,
                    v.id,
                    (&schema, &name),
                    (&schema, &new_name),
                ) {
                    return Err(Error::DependentObjectsStillExist {
                        message: format!(
                            "cannot rename view \"{name}\" because view \"{}\" depends on it",
                            reader.name
                        ),
                        detail: format!(
                            "view {} depends on view {name}\nA view keeps its query as text; drop it and create it again after the rename, or create it WITH NO SCHEMA BINDING.",
                            reader.name
                        ),
                    });
                }
                Renamed::View(v.id)
            }
            (None, Some(i), _) if index => {
                let owner = manifest.table_by_id(i.table).and_then(|t| t.def.owner);
                owned(owner, "index")?;
                Renamed::Index(i.id)
            }
            (None, Some(_), _) => {
                return Err(Error::WrongRelationKind {
                    name,
                    expected: "a view",
                    hint: None,
                })
            }
            // PostgreSQL's ALTER INDEX renames a table too.
            (None, None, Some(_)) if index => {
                return self.alter_table_action(
                    relation,
                    false,
                    crate::alter::Action::RenameTable(new_name),
                    text,
                    None,
                    tag,
                )
            }
            (None, None, Some(_)) => {
                return Err(Error::WrongRelationKind {
                    name,
                    expected: "a view",
                    hint: None,
                })
            }
            (None, None, None) if if_exists => return Ok(command(tag)),
            (None, None, None) => {
                return Err(Error::UndefinedTable {
                    name,
                    position: None,
                })
            }
        };
        if manifest.table(&schema, &new_name).is_some()
            || manifest.objects.view(&schema, &new_name).is_some()
            || manifest.objects.index(&schema, &new_name).is_some()
            || manifest.external.table(&schema, &new_name).is_some()
        {
            return Err(Error::DuplicateTable { name: new_name });
        }
        self.write_at(&manifest, |t| {
            let mut objects = t.snapshot().objects.clone();
            match renamed {
                Renamed::View(id) => {
                    for v in objects.views.iter_mut().filter(|v| v.id == id) {
                        v.name.clone_from(&new_name);
                    }
                    let rename = crate::views::Rename {
                        from: (&schema, &name),
                        to: (&schema, &new_name),
                    };
                    crate::views::follow_relation(&mut objects, id, rename).map_err(|view| {
                        Error::Internal(format!("view {view} no longer follows a rename"))
                    })?;
                }
                Renamed::Index(id) => {
                    for i in objects.indexes.iter_mut().filter(|i| i.id == id) {
                        i.name.clone_from(&new_name);
                    }
                    // PostgreSQL renames the constraint an index backs with it.
                    for c in objects
                        .constraints
                        .iter_mut()
                        .filter(|c| c.index == Some(id))
                    {
                        c.name.clone_from(&new_name);
                    }
                }
            }
            t.set_objects(objects).map_err(storage_error)
        })?;
        Ok(command(tag))
    }
}

/// The new name of a RENAME TO: one identifier (a new name takes no schema).
fn single_name(name: &ast::ObjectName) -> Result<String> {
    match name.0.as_slice() {
        [part] => part
            .as_ident()
            .map(normalize_ident)
            .ok_or_else(|| crate::alter::rename_target_error(name)),
        _ => Err(crate::alter::rename_target_error(name)),
    }
}

/// What an ALTER VIEW action applies to (see [`Session::view_to_alter`]).
enum ViewTarget {
    View(Arc<Manifest>, ViewDef),
    Table,
    Missing,
}

impl Session {
    /// What ALTER VIEW `name` alters: the view, owned by the session's role, with the
    /// session's snapshot; a table (PostgreSQL applies some ALTER VIEW actions to tables);
    /// or nothing, for IF EXISTS of a missing relation.
    fn view_to_alter(
        &self,
        name: &ast::ObjectName,
        if_exists: bool,
        text: &str,
    ) -> Result<ViewTarget> {
        let manifest = self.current_manifest();
        let info = self.session_info(&manifest);
        let (schema, relation) = {
            let mut binder = Binder::new(&manifest, text, None);
            binder.session = Some(&info);
            binder.table_name(name)?
        };
        match manifest.objects.view(&schema, &relation) {
            Some(v) => {
                let actor = Actor::of(&manifest.security, self.role_oid);
                if !actor.superuser && actor.oid != v.owner.unwrap_or(BOOTSTRAP_ROLE_OID) {
                    return Err(Error::InsufficientPrivilege {
                        message: format!("must be owner of view {relation}"),
                    });
                }
                let v = v.clone();
                Ok(ViewTarget::View(manifest, v))
            }
            None if manifest.table(&schema, &relation).is_some() => Ok(ViewTarget::Table),
            None if manifest.objects.index(&schema, &relation).is_some() => {
                Err(Error::WrongRelationKind {
                    name: relation,
                    expected: "a view",
                    hint: None,
                })
            }
            None if if_exists => Ok(ViewTarget::Missing),
            None => Err(Error::UndefinedTable {
                name: relation,
                position: None,
            }),
        }
    }

    /// ALTER VIEW ... RENAME [COLUMN] a TO b: the view's output column `a` is called `b`
    /// (its query is untouched: the view's columns rename its output), and a comment on the
    /// column follows it. As PostgreSQL, on a table it renames the table's column. A view
    /// that schema-bound views read keeps its columns (2BP01), as it keeps its name.
    fn alter_view_column(
        &mut self,
        name: &ast::ObjectName,
        if_exists: bool,
        from: String,
        to: String,
        text: &str,
    ) -> Result<StatementResult> {
        let (manifest, view) = match self.view_to_alter(name, if_exists, text)? {
            ViewTarget::View(manifest, view) => (manifest, view),
            ViewTarget::Missing => return Ok(command("ALTER VIEW")),
            ViewTarget::Table => {
                return self.alter_table_action(
                    name,
                    if_exists,
                    crate::alter::Action::RenameColumn { from, to },
                    text,
                    None,
                    "ALTER VIEW",
                )
            }
        };
        let Some(at) = view.columns.iter().position(|c| c.name == from) else {
            return Err(Error::UndefinedColumnMessage {
                message: format!("column \"{from}\" does not exist"),
                position: None,
            });
        };
        if view.columns.iter().any(|c| c.name == to) {
            return Err(Error::DuplicateColumnOfRelation {
                column: to,
                relation: view.name,
            });
        }
        if let Some(reader) = manifest
            .objects
            .dependents(view.id)
            .find(|r| r.schema_binding)
        {
            return Err(Error::DependentObjectsStillExist {
                message: format!(
                    "cannot rename column \"{from}\" of view \"{}\" because view \"{}\" depends on it",
                    view.name, reader.name
                ),
                detail: format!(
                    "view {} depends on view {}\nA view keeps its query as text; drop it and create it again after the rename, or create it WITH NO SCHEMA BINDING.",
                    reader.name, view.name
                ),
            });
        }
        self.write_at(&manifest, |t| {
            let mut objects = t.snapshot().objects.clone();
            for v in objects.views.iter_mut().filter(|v| v.id == view.id) {
                v.columns[at].name.clone_from(&to);
            }
            if let Some(comment) = objects.comment(view.id, Some(&from)).map(str::to_owned) {
                objects.set_comment(view.id, Some(&from), None);
                objects.set_comment(view.id, Some(&to), Some(comment));
            }
            t.set_objects(objects).map_err(storage_error)
        })?;
        Ok(command("ALTER VIEW"))
    }

    /// ALTER VIEW ... OWNER TO role: as for a table (see [`crate::alter`]), the owner (or a
    /// superuser) gives the view to an existing role; a non-superuser only to a role it is
    /// a member of that may create in the view's schema.
    fn alter_view_owner(
        &mut self,
        name: &ast::ObjectName,
        if_exists: bool,
        owner: &ast::Owner,
        text: &str,
    ) -> Result<StatementResult> {
        let (manifest, view) = match self.view_to_alter(name, if_exists, text)? {
            ViewTarget::View(manifest, view) => (manifest, view),
            ViewTarget::Missing => return Ok(command("ALTER VIEW")),
            ViewTarget::Table => {
                return Err(Error::WrongRelationKind {
                    name: name
                        .0
                        .last()
                        .and_then(|p| p.as_ident())
                        .map(normalize_ident)
                        .unwrap_or_default(),
                    expected: "a view",
                    hint: None,
                })
            }
        };
        let oid = self.owner_role_oid(&manifest.security, owner)?;
        Actor::of(&manifest.security, self.role_oid).require_can_give(
            &manifest,
            oid,
            &view.schema,
        )?;
        let owner = (oid != BOOTSTRAP_ROLE_OID).then_some(oid);
        if owner == view.owner {
            return Ok(command("ALTER VIEW"));
        }
        self.write_at(&manifest, |t| {
            let mut objects = t.snapshot().objects.clone();
            for v in objects.views.iter_mut().filter(|v| v.id == view.id) {
                v.owner = owner;
            }
            t.set_objects(objects).map_err(storage_error)
        })?;
        Ok(command("ALTER VIEW"))
    }
}
