//! Running CREATE VIEW and DROP VIEW (and handing CREATE / DROP INDEX and ALTER TABLE to
//! their modules): the new views are stored through the session's
//! transaction (so a ROLLBACK undoes them), as every DDL is.

use std::sync::Arc;

use basalt_storage::security::BOOTSTRAP_ROLE_OID;
use basalt_storage::{Manifest, ViewDef};
use sqlparser::ast;

use super::{
    check_replacement, column_list, direct_dependencies, objects_after_drop, view_columns,
};
use crate::error::{Error, Result};
use crate::planner::bind::Binder;
use crate::security::{self, Actor};
use crate::{command, storage_error, Session, Statement, StatementResult};

impl Session {
    /// Runs the statements on views and indexes; `None` for any other statement.
    pub(crate) fn execute_relation_ddl(
        &mut self,
        stmt: &Statement,
    ) -> Option<Result<StatementResult>> {
        match &stmt.ast {
            ast::Statement::CreateView(cv) => Some(self.create_view(cv, stmt)),
            ast::Statement::Drop {
                object_type: ast::ObjectType::View,
                if_exists,
                names,
                cascade,
                ..
            } => Some(self.drop_views(names, *if_exists, *cascade, &stmt.text)),
            ast::Statement::CreateIndex(ci) => Some(self.create_index(ci, &stmt.text)),
            ast::Statement::AlterView(av) => Some(self.alter_view_statement(av, &stmt.text)),
            ast::Statement::AlterIndex { name, operation } => {
                Some(self.alter_index_statement(name, operation, &stmt.text))
            }
            ast::Statement::AlterTable(at) => {
                Some(self.alter_table_statement(at, &stmt.text, stmt.attributes.as_deref()))
            }
            ast::Statement::Comment {
                object_type,
                object_name,
                comment,
                if_exists,
            } => Some(self.comment_on(
                object_type,
                object_name,
                comment.as_deref(),
                *if_exists,
                &stmt.text,
            )),
            ast::Statement::Drop {
                object_type: ast::ObjectType::Index,
                if_exists,
                names,
                ..
            } => Some(self.drop_indexes(names, *if_exists, &stmt.text)),
            _ => None,
        }
    }

    /// The schema-bound views that read table `table` directly and whose query would no
    /// longer bind, or no longer give the view's columns and types, in `after` (the
    /// manifest with the table's new definition): what ALTER TABLE DROP COLUMN and ALTER
    /// COLUMN TYPE would break.
    pub(crate) fn views_broken_by(
        &self,
        after: &Manifest,
        table: u64,
        info: &security::SessionInfo,
    ) -> Vec<u64> {
        after
            .objects
            .dependents(table)
            .filter(|v| v.schema_binding)
            .filter(|v| {
                let mut binder = self.view_binder(after, &v.query, info);
                binder.bind_view_query(v).is_err()
            })
            .map(|v| v.id)
            .collect()
    }

    /// The first schema-bound view over relation `id` (a table or a view) that would not
    /// follow its rename or move from `schema.name` to `to_schema.to_name`: one whose query
    /// cannot be rewritten, or no longer binds once rewritten (`follow`). `None` when every
    /// view follows.
    pub(crate) fn views_not_following<'m>(
        &self,
        manifest: &'m Manifest,
        info: &security::SessionInfo,
        id: u64,
        from: (&str, &str),
        to: (&str, &str),
    ) -> Option<&'m basalt_storage::ViewDef> {
        let readers = move || manifest.objects.dependents(id).filter(|v| v.schema_binding);
        let first = readers().next()?;
        let mut after = manifest.clone();
        let rename = super::Rename { from, to };
        if super::follow_relation(&mut after.objects, id, rename).is_err() {
            return Some(first);
        }
        for t in after.tables.iter_mut().filter(|t| t.id == id) {
            t.def.schema = to.0.to_owned();
            t.def.name = to.1.to_owned();
        }
        for v in after.objects.views.iter_mut().filter(|v| v.id == id) {
            v.schema = to.0.to_owned();
            v.name = to.1.to_owned();
        }
        let broken = self.views_broken_by(&after, id, info);
        broken
            .first()
            .and_then(|b| readers().find(|v| v.id == *b))
            .or_else(|| (!broken.is_empty()).then_some(first))
    }

    /// A binder over `manifest` with the session's context, for binding a view's query.
    fn view_binder<'a>(
        &'a self,
        manifest: &'a Manifest,
        text: &'a str,
        info: &'a security::SessionInfo,
    ) -> Binder<'a> {
        let mut binder = Binder::new(manifest, text, Some(&[]));
        binder.settings = Some(&self.settings);
        binder.session = Some(info);
        binder.load_errors = Some(&self.engine.load_errors);
        binder.store = Some(&self.engine.store);
        binder.queue = Some(&self.engine.queue);
        binder.files = Some(self.engine.files.clone());
        binder
    }

    fn create_view(&mut self, cv: &ast::CreateView, stmt: &Statement) -> Result<StatementResult> {
        let unsupported = |what: &str| {
            Err(Error::Unsupported {
                message: format!("{what} is not supported"),
            })
        };
        if cv.materialized {
            return unsupported("CREATE MATERIALIZED VIEW");
        }
        if cv.temporary {
            return unsupported("CREATE TEMPORARY VIEW");
        }
        if cv.or_alter || cv.secure || cv.to.is_some() || cv.params.is_some() {
            return unsupported(&format!("{cv}"));
        }
        if !matches!(cv.options, ast::CreateTableOptions::None) || !cv.cluster_by.is_empty() {
            return unsupported("CREATE VIEW with options");
        }
        let late = cv.with_no_schema_binding
            || stmt
                .attributes
                .as_ref()
                .is_some_and(|a| a.no_schema_binding);
        let manifest = self.current_manifest();
        let info = self.session_info(&manifest);
        let (schema, name, columns, depends_on) = {
            let mut binder = self.view_binder(&manifest, &stmt.text, &info);
            let (schema, name) = binder.creation_name(&cv.name, false)?;
            binder.late_binding = late;
            let q = binder.bind_query(&cv.query)?;
            if binder.param_count > 0 {
                return Err(Error::Unsupported {
                    message: "parameters in a view's query are not supported".into(),
                });
            }
            let columns = view_columns(&q.columns, &column_list(&cv.columns))?;
            let depends_on = if late {
                Vec::new()
            } else {
                direct_dependencies(&binder.accesses)
            };
            (schema, name, columns, depends_on)
        };
        if manifest.external.schema(&schema).is_some() {
            return Err(Error::WrongObjectType {
                message: format!(
                    "cannot create a view in external schema \"{schema}\"; external schemas hold only external tables"
                ),
                position: None,
            });
        }
        // A temporary table goes when its session ends; nothing lasting may depend on it.
        let temporary = |id: &u64| {
            manifest
                .table_by_id(*id)
                .map(|t| t.def.schema.as_str())
                .or_else(|| manifest.objects.view_by_id(*id).map(|v| v.schema.as_str()))
                .is_some_and(basalt_storage::is_temp_schema)
        };
        if !basalt_storage::is_temp_schema(&schema) && depends_on.iter().any(temporary) {
            return Err(Error::Unsupported {
                message: format!(
                    "view \"{name}\" reads a temporary table: create it as pg_temp.{name}, \
                     which goes with the session"
                ),
            });
        }
        let objects = &manifest.objects;
        let existing = objects.view(&schema, &name);
        if manifest.table(&schema, &name).is_some() || objects.index(&schema, &name).is_some() {
            if cv.or_replace {
                return Err(Error::WrongRelationKind {
                    name,
                    expected: "a view",
                    hint: None,
                });
            }
            return Err(Error::DuplicateTable { name });
        }
        let actor = Actor::of(&manifest.security, self.role_oid);
        security::check_schema(&manifest, &actor, &schema, 'C')?;
        if let Some(old) = existing {
            if cv.if_not_exists {
                return Ok(command("CREATE VIEW"));
            }
            if !cv.or_replace {
                return Err(Error::DuplicateTable { name });
            }
            if !actor.superuser && actor.oid != old.owner.unwrap_or(BOOTSTRAP_ROLE_OID) {
                return Err(Error::InsufficientPrivilege {
                    message: format!("must be owner of view {name}"),
                });
            }
            check_replacement(&old.columns, &columns)?;
            if depends_on
                .iter()
                .any(|d| objects.reaches(*d, old.id, objects.views.len()))
            {
                return Err(Error::InvalidTableDefinition {
                    message: format!("view \"{name}\" cannot read itself"),
                    position: None,
                });
            }
        }
        let owner = match existing {
            Some(old) => old.owner,
            None => (self.role_oid != BOOTSTRAP_ROLE_OID).then_some(self.role_oid),
        };
        let existing_id = existing.map(|v| v.id);
        // The query is kept as sqlparser prints it, which has no frame EXCLUDE clause.
        if crate::parse::frame_exclude::any(&stmt.text) {
            return Err(Error::Unsupported {
                message: "a window frame's EXCLUDE clause in a view is not supported yet".into(),
            });
        }
        let query = cv.query.to_string();
        let base: Arc<Manifest> = manifest.clone();
        self.write_at(&base, |t| {
            let mut objects = t.snapshot().objects.clone();
            let id = existing_id.unwrap_or_else(|| t.allocate_relation_id());
            let def = ViewDef {
                id,
                schema,
                name,
                owner,
                columns,
                query,
                schema_binding: !late,
                depends_on,
            };
            match objects.views.iter_mut().find(|v| v.id == id) {
                Some(v) => *v = def,
                None => objects.views.push(def),
            }
            t.set_objects(objects).map_err(storage_error)
        })?;
        Ok(command("CREATE VIEW"))
    }

    fn drop_views(
        &mut self,
        names: &[ast::ObjectName],
        if_exists: bool,
        cascade: bool,
        text: &str,
    ) -> Result<StatementResult> {
        let manifest = self.current_manifest();
        let actor = Actor::of(&manifest.security, self.role_oid);
        let mut ids = Vec::new();
        {
            let binder = Binder::new(&manifest, text, None);
            for n in names {
                let (schema, name) = match binder.table_name(n) {
                    Ok(x) => x,
                    Err(_) if if_exists => continue,
                    Err(e) => return Err(e),
                };
                if let Some(v) = manifest.objects.view(&schema, &name) {
                    if !actor.superuser && actor.oid != v.owner.unwrap_or(BOOTSTRAP_ROLE_OID) {
                        return Err(Error::InsufficientPrivilege {
                            message: format!("must be owner of view {name}"),
                        });
                    }
                    if !ids.contains(&v.id) {
                        ids.push(v.id);
                    }
                } else if manifest.table(&schema, &name).is_some()
                    || manifest.external.table(&schema, &name).is_some()
                {
                    return Err(Error::WrongRelationKind {
                        name,
                        expected: "a view",
                        hint: Some("Use DROP TABLE to remove a table.".into()),
                    });
                } else if manifest.objects.index(&schema, &name).is_some() {
                    return Err(Error::WrongRelationKind {
                        name,
                        expected: "a view",
                        hint: Some("Use DROP INDEX to remove an index.".into()),
                    });
                } else if !if_exists {
                    return Err(Error::UndefinedView { name });
                }
            }
        }
        if ids.is_empty() {
            return Ok(command("DROP VIEW"));
        }
        let objects = objects_after_drop(&manifest, &ids, cascade)?;
        self.write_at(&manifest, |t| t.set_objects(objects).map_err(storage_error))?;
        Ok(command("DROP VIEW"))
    }
}
