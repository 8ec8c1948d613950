//! ALTER VIEW ... RENAME TO and ALTER INDEX ... RENAME TO: a new name for a view or an index.
//! Tables are renamed by ALTER TABLE ([`crate::alter`]).
//!
//! The name is kept in the manifest's objects and changed through the session's transaction,
//! as every DDL is: ROLLBACK undoes it, a restart finds it, and a concurrent change to the
//! objects makes the later commit fail with 40001. Privileges and comments follow the
//! object, which they name by id.
//!
//! As PostgreSQL: the new name must be free among the schema's relations (42P07), only the
//! owner (or a superuser) may rename (42501), ALTER VIEW refuses another kind of relation
//! (42809), and renaming the index of a PRIMARY KEY or UNIQUE constraint renames the
//! constraint too. As for tables (see [`crate::alter`]), a view that schema-bound views read
//! is not renamed (2BP01): they keep their query as text, which names it.

use sqlparser::ast;

use basalt_storage::security::BOOTSTRAP_ROLE_OID;

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
        name: &ast::ObjectName,
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
            binder.table_name(name)?
        };
        let actor = Actor::of(&manifest.security, self.role_oid);
        let owned = |owner: Option<u32>, kind: &str| {
            let owner = owner.unwrap_or(BOOTSTRAP_ROLE_OID);
            if actor.superuser || actor.oid == owner {
                Ok(())
            } else {
                Err(Error::InsufficientPrivilege {
                    message: format!("must be owner of {kind} {name}"),
                })
            }
        };
        let table = manifest.table(&schema, &name);
        let view = manifest.objects.view(&schema, &name);
        let found = manifest.objects.index(&schema, &name);
        let renamed = match (view, found, table) {
            (Some(v), _, _) => {
                owned(v.owner, "view")?;
                if let Some(reader) = manifest.objects.dependents(v.id).find(|r| r.schema_binding) {
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
            (None, None, Some(_)) => {
                return Err(Error::WrongRelationKind {
                    name,
                    expected: if index { "an index" } else { "a view" },
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
