//! Schemas: where a relation's name is looked up and where a new one goes.
//!
//! - The built-in schemas `pg_catalog`, `public` and `information_schema` always exist; user
//!   schemas (CREATE SCHEMA) are kept in the manifest (`Objects::schemas`), so they commit and
//!   roll back with the transaction like tables; external schemas are the external catalog's.
//! - Each session has a temporary schema `pg_temp_N` (N a number the engine gives the session,
//!   unique among live sessions). Temporary tables are ordinary tables of that schema: the
//!   session drops them when it ends and the engine drops any a crash left behind when it
//!   opens. No other session sees them: name resolution never reaches another session's
//!   temporary schema, and the catalogs leave its tables out.
//! - `search_path` orders the schemas unqualified names resolve through: the session's
//!   temporary schema first (as PostgreSQL's implicit `pg_temp`), then the path's schemas
//!   that exist (`"$user"` is the session user's name; schemas that do not exist are
//!   skipped). The first existing schema of the path (never the temporary one) is where an
//!   unqualified CREATE puts its relation.

use std::sync::Arc;

use basalt_storage::security::{GrantObject, BOOTSTRAP_ROLE_OID};
use basalt_storage::{Manifest, SchemaDef, Store};
use sqlparser::ast;
use sqlparser::tokenizer::Span;

use crate::error::{Error, Result};
use crate::planner::bind::normalize_ident;
use crate::{command, security, storage_error, Session, Statement, StatementResult};

/// The schemas every database has.
pub const BUILT_IN: &[&str] = &["pg_catalog", "public", "information_schema"];

/// The name that stands for the session's own temporary schema in a qualified name or on
/// the search path.
pub const TEMP_ALIAS: &str = "pg_temp";

/// The items of a `search_path` value as SHOW prints it (comma-separated, identifiers quoted
/// where needed), unquoted, with `$user` replaced by `user`.
pub fn path_items(value: &str, user: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    let mut chars = value.chars().peekable();
    let mut push = |current: &mut String, was_quoted: &mut bool| {
        let item = if *was_quoted {
            std::mem::take(current)
        } else {
            std::mem::take(current).trim().to_owned()
        };
        if !item.is_empty() || *was_quoted {
            items.push(if item == "$user" {
                user.to_owned()
            } else {
                item
            });
        }
        *was_quoted = false;
    };
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                current.push('"');
            }
            '"' => {
                quoted = !quoted;
                was_quoted = true;
            }
            ',' if !quoted => push(&mut current, &mut was_quoted),
            c if !quoted && c.is_whitespace() && (was_quoted || current.is_empty()) => {}
            c => current.push(c),
        }
    }
    push(&mut current, &mut was_quoted);
    items
}

/// Whether schema `name` exists for a session whose temporary schema is `temp`: a built-in
/// schema, a user schema, an external schema, or the session's own temporary schema.
pub fn exists(manifest: &Manifest, name: &str, temp: &str) -> bool {
    BUILT_IN.contains(&name)
        || manifest.objects.schema(name).is_some()
        || manifest.external.schema(name).is_some()
        || (!temp.is_empty() && name == temp)
}

/// Where a session's names resolve, computed once per statement.
#[derive(Clone, Debug, Default)]
pub struct SearchPath {
    /// The schemas unqualified names resolve through, in order: the temporary schema (while
    /// it holds relations), then the existing schemas of `search_path` (`pg_catalog`'s
    /// catalogs are found before any of them).
    pub schemas: Vec<String>,
    /// The existing schemas of `search_path` alone, in order, as `current_schemas(false)`
    /// shows them.
    pub explicit: Vec<String>,
    /// This session's temporary schema (`pg_temp_N`); empty for a binder with no session.
    pub temp: String,
}

impl SearchPath {
    /// The path of a session whose `search_path` is `value`, user `user` and temporary
    /// schema `temp`, against `manifest`.
    pub fn new(manifest: &Manifest, value: &str, user: &str, temp: &str) -> SearchPath {
        let mut explicit: Vec<String> = Vec::new();
        for item in path_items(value, user) {
            // The temporary schema always comes first, wherever the path names it.
            if item == TEMP_ALIAS || basalt_storage::is_temp_schema(&item) {
                continue;
            }
            if exists(manifest, &item, temp) && !explicit.contains(&item) {
                explicit.push(item);
            }
        }
        let mut schemas = Vec::with_capacity(explicit.len() + 1);
        if !temp.is_empty() && holds_relations(manifest, temp) {
            schemas.push(temp.to_owned());
        }
        schemas.extend(explicit.iter().filter(|s| *s != "pg_catalog").cloned());
        SearchPath {
            schemas,
            explicit,
            temp: temp.to_owned(),
        }
    }

    /// The path of a binder with no session: `public` alone.
    pub fn public_only() -> SearchPath {
        SearchPath {
            schemas: vec!["public".to_owned()],
            explicit: vec!["public".to_owned()],
            temp: String::new(),
        }
    }

    /// Where an unqualified CREATE puts its relation: the first existing schema of
    /// `search_path` that can hold tables (not `pg_catalog` or `information_schema`).
    pub fn creation_schema(&self) -> Option<&str> {
        self.explicit
            .iter()
            .find(|s| !matches!(s.as_str(), "pg_catalog" | "information_schema"))
            .map(String::as_str)
    }

    /// The schema a qualified name's `schema` part means: the session's temporary schema
    /// for `pg_temp`, else the name itself.
    pub fn qualifier<'a>(&'a self, schema: &'a str) -> &'a str {
        if schema == TEMP_ALIAS && !self.temp.is_empty() {
            &self.temp
        } else {
            schema
        }
    }

    /// The schema of relation `name` written with schema `schema` (if any): the qualifier
    /// (`pg_temp` is the temporary schema), else the first schema of the path holding a
    /// table, view or external table of the name, else the path's first schema (or none,
    /// an empty name, for an empty path), where a later lookup reports it missing.
    pub fn resolve(&self, manifest: &Manifest, schema: Option<&str>, name: &str) -> String {
        if let Some(s) = schema {
            return self.qualifier(s).to_owned();
        }
        self.schemas
            .iter()
            .find(|s| {
                manifest.table(s, name).is_some()
                    || manifest.objects.view(s, name).is_some()
                    || manifest.external.table(s, name).is_some()
            })
            .or_else(|| self.schemas.first())
            .cloned()
            .unwrap_or_default()
    }

    /// Whether a relation in schema `schema` is reachable by its unqualified name.
    pub fn contains(&self, schema: &str) -> bool {
        schema == "pg_catalog" || self.schemas.iter().any(|s| s == schema)
    }
}

/// Whether `schema` holds a table, view or index.
fn holds_relations(manifest: &Manifest, schema: &str) -> bool {
    manifest.tables.iter().any(|t| t.def.schema == schema)
        || manifest.objects.views.iter().any(|v| v.schema == schema)
}

/// Whether a relation in schema `schema` belongs to another session's temporary schema, for
/// a session whose own is `temp`.
pub fn is_foreign_temp(schema: &str, temp: &str) -> bool {
    basalt_storage::is_temp_schema(schema) && schema != temp
}

/// `manifest` without other sessions' temporary tables (borrowed when it has none), as the
/// catalogs show it to a session whose temporary schema is `temp`.
pub fn without_foreign_temp<'a>(
    manifest: &'a Manifest,
    temp: &str,
) -> std::borrow::Cow<'a, Manifest> {
    if !manifest
        .tables
        .iter()
        .any(|t| is_foreign_temp(&t.def.schema, temp))
    {
        return std::borrow::Cow::Borrowed(manifest);
    }
    let mut m = manifest.clone();
    m.tables.retain(|t| !is_foreign_temp(&t.def.schema, temp));
    m.objects
        .views
        .retain(|v| !is_foreign_temp(&v.schema, temp));
    m.objects
        .indexes
        .retain(|i| !is_foreign_temp(&i.schema, temp));
    std::borrow::Cow::Owned(m)
}

/// Drops the temporary tables (and the views and indexes in temporary schemas) of schema
/// `temp`, or of every temporary schema when `None`, in one commit; nothing when there are
/// none. A commit that loses a race with another is tried again.
pub(crate) fn drop_temporary(store: &Arc<Store>, temp: Option<&str>) -> Result<()> {
    let doomed = |schema: &str| match temp {
        Some(t) => schema == t,
        None => basalt_storage::is_temp_schema(schema),
    };
    const ATTEMPTS_MAX: usize = 8;
    for attempt in 1..=ATTEMPTS_MAX {
        let snapshot = store.snapshot();
        let tables: Vec<(String, String, u64)> = snapshot
            .tables
            .iter()
            .filter(|t| doomed(&t.def.schema))
            .map(|t| (t.def.schema.clone(), t.def.name.clone(), t.id))
            .collect();
        let views: Vec<u64> = snapshot
            .objects
            .views
            .iter()
            .filter(|v| doomed(&v.schema))
            .map(|v| v.id)
            .collect();
        if tables.is_empty() && views.is_empty() {
            return Ok(());
        }
        let mut t = store.begin_at(snapshot.clone());
        let ids: Vec<u64> = tables.iter().map(|(_, _, id)| *id).chain(views).collect();
        let mut objects = crate::views::objects_after_drop(&snapshot, &ids, true)?;
        crate::constraints::drop_with_tables(&snapshot, &mut objects, &ids, true)?;
        if objects != snapshot.objects {
            t.set_objects(objects).map_err(storage_error)?;
        }
        for (schema, name, _) in &tables {
            t.drop_table(schema, name).map_err(storage_error)?;
        }
        match t.commit() {
            Ok(_) => return Ok(()),
            Err(basalt_storage::Error::SerializationConflict(_)) if attempt < ATTEMPTS_MAX => {}
            Err(e) => return Err(storage_error(e)),
        }
    }
    Ok(())
}

impl Session {
    /// Runs CREATE SCHEMA; `None` for any other statement. (DROP SCHEMA comes through the
    /// external DDL parser, which reads `DROP SCHEMA ... DROP EXTERNAL DATABASE`, and is
    /// [`Session::drop_schemas`].)
    pub(crate) fn execute_schema_ddl(
        &mut self,
        stmt: &Statement,
    ) -> Option<Result<StatementResult>> {
        match &stmt.ast {
            ast::Statement::CreateSchema {
                schema_name,
                if_not_exists,
                or_replace,
                with,
                options,
                default_collate_spec,
                clone,
            } => {
                if *or_replace
                    || with.is_some()
                    || options.is_some()
                    || default_collate_spec.is_some()
                    || clone.is_some()
                {
                    return Some(Err(Error::Unsupported {
                        message: format!("this CREATE SCHEMA form is not supported: {}", stmt.ast),
                    }));
                }
                Some(self.create_schema(schema_name, *if_not_exists))
            }
            _ => None,
        }
    }

    /// `CREATE SCHEMA [IF NOT EXISTS] {name [AUTHORIZATION role] | AUTHORIZATION role}`.
    fn create_schema(
        &mut self,
        schema_name: &ast::SchemaName,
        if_not_exists: bool,
    ) -> Result<StatementResult> {
        let single = crate::alter::single_name;
        let (name, role) = match schema_name {
            ast::SchemaName::Simple(n) => (single(n)?, None),
            ast::SchemaName::UnnamedAuthorization(r) => {
                (normalize_ident(r), Some(normalize_ident(r)))
            }
            ast::SchemaName::NamedAuthorization(n, r) => (single(n)?, Some(normalize_ident(r))),
        };
        let manifest = self.current_manifest();
        let security = &manifest.security;
        let actor = security::Actor::of(security, self.role_oid);
        let owner = match &role {
            None => self.role_oid,
            Some(r) => {
                let oid = security::role_oid(security, r)
                    .ok_or_else(|| Error::UndefinedRole { name: r.clone() })?;
                if !actor.superuser && oid != actor.oid && !actor.holds(oid) {
                    return Err(Error::InsufficientPrivilege {
                        message: format!("must be member of role \"{r}\""),
                    });
                }
                oid
            }
        };
        if !security::allowed(
            security,
            &actor,
            &GrantObject::Database,
            security::SCHEMA_OWNER,
            'C',
        ) {
            return Err(Error::InsufficientPrivilege {
                message: format!(
                    "permission denied for database {}",
                    crate::catalog::DATABASE
                ),
            });
        }
        if name.starts_with("pg_") {
            return Err(Error::ReservedName {
                message: format!("unacceptable schema name \"{name}\""),
            });
        }
        if exists(&manifest, &name, "") {
            if if_not_exists {
                return Ok(command("CREATE SCHEMA"));
            }
            return Err(Error::DuplicateSchema { name });
        }
        self.write_at(&manifest, |t| {
            let mut objects = t.snapshot().objects.clone();
            objects.schemas.push(SchemaDef {
                id: t.allocate_relation_id(),
                name,
                owner: (owner != BOOTSTRAP_ROLE_OID).then_some(owner),
            });
            t.set_objects(objects).map_err(storage_error)
        })?;
        Ok(command("CREATE SCHEMA"))
    }

    /// `DROP SCHEMA [IF EXISTS] name [, ...] [CASCADE | RESTRICT]` over user and external
    /// schemas, in one commit. RESTRICT (the default) refuses a schema that holds anything
    /// (2BP01); CASCADE drops its tables, views and indexes, and the views elsewhere that
    /// read them. Only the owner (or a superuser) drops a user schema.
    pub(crate) fn drop_schemas(
        &mut self,
        names: &[String],
        if_exists: bool,
        cascade: bool,
        external: &crate::external::ddl::ExternalStatement,
        text: &Arc<str>,
    ) -> Result<StatementResult> {
        let manifest = self.current_manifest();
        let actor = security::Actor::of(&manifest.security, self.role_oid);
        let mut external_names = Vec::new();
        let mut user = Vec::new();
        for name in names {
            if manifest.external.schema(name).is_some() {
                external_names.push(name.clone());
            } else if manifest.objects.schema(name).is_some() {
                if !user.contains(name) {
                    user.push(name.clone());
                }
            } else if BUILT_IN.contains(&name.as_str()) {
                return Err(Error::Unsupported {
                    message: format!("schema \"{name}\" cannot be dropped"),
                });
            } else if !if_exists {
                return Err(Error::UndefinedSchema {
                    name: name.clone(),
                    position: None,
                });
            }
        }
        for name in &user {
            if !actor.superuser && security::schema_owner(&manifest, name) != actor.oid {
                return Err(Error::InsufficientPrivilege {
                    message: format!("must be owner of schema {name}"),
                });
            }
        }
        // The relations in the schemas, in creation (id) order as PostgreSQL lists them.
        let in_dropped = |schema: &str| user.iter().any(|u| u == schema);
        let mut members: Vec<(u64, String)> = manifest
            .tables
            .iter()
            .filter(|t| in_dropped(&t.def.schema))
            .map(|t| (t.id, format!("table {}.{}", t.def.schema, t.def.name)))
            .chain(
                manifest
                    .objects
                    .views
                    .iter()
                    .filter(|v| in_dropped(&v.schema))
                    .map(|v| (v.id, format!("view {}.{}", v.schema, v.name))),
            )
            .collect();
        members.sort_by_key(|(id, _)| *id);
        if !cascade && !members.is_empty() {
            let schema_of = |id: u64| {
                manifest
                    .table_by_id(id)
                    .map(|t| t.def.schema.clone())
                    .or_else(|| manifest.objects.view_by_id(id).map(|v| v.schema.clone()))
                    .unwrap_or_default()
            };
            let mut detail = Vec::new();
            for schema in &user {
                for (id, what) in &members {
                    if schema_of(*id) == *schema {
                        detail.push(format!("{what} depends on schema {schema}"));
                    }
                }
            }
            // One schema is named in the message; several, as PostgreSQL, are not.
            let message = match names {
                [_] => format!(
                    "cannot drop schema {} because other objects depend on it",
                    user[0]
                ),
                _ => "cannot drop desired object(s) because other objects depend on them".into(),
            };
            return Err(Error::DependentObjectsStillExist {
                message,
                detail: detail.join("\n"),
            });
        }
        // External schemas go through the external catalog's own rules.
        let external_catalog = if external_names.is_empty() {
            None
        } else {
            let crate::external::ddl::ExternalStatement::DropSchema { .. } = external else {
                return Err(Error::Internal("DROP SCHEMA without its statement".into()));
            };
            let only = crate::external::ddl::ExternalStatement::DropSchema {
                names: external_names,
                if_exists,
                cascade,
            };
            let binder = crate::planner::bind::Binder::new(&manifest, text, None);
            let bind_type = |t: &ast::DataType| binder.bind_type(t, Span::empty());
            crate::external::catalog::execute(
                &only,
                &manifest,
                self.engine.files.as_ref(),
                &bind_type,
            )?
            .catalog
        };
        if user.is_empty() && external_catalog.is_none() {
            return Ok(command("DROP SCHEMA"));
        }
        self.write_at(&manifest, |t| {
            if let Some(catalog) = external_catalog {
                t.set_external(catalog).map_err(storage_error)?;
            }
            if user.is_empty() {
                return Ok(());
            }
            let ids: Vec<u64> = members.iter().map(|(id, _)| *id).collect();
            let mut objects = crate::views::objects_after_drop(t.snapshot(), &ids, true)?;
            crate::constraints::drop_with_tables(t.snapshot(), &mut objects, &ids, true)?;
            objects.schemas.retain(|s| !user.contains(&s.name));
            objects.indexes.retain(|i| !user.contains(&i.schema));
            let tables: Vec<(String, String)> = t
                .snapshot()
                .tables
                .iter()
                .filter(|m| user.contains(&m.def.schema))
                .map(|m| (m.def.schema.clone(), m.def.name.clone()))
                .collect();
            for (schema, name) in &tables {
                t.drop_table(schema, name).map_err(storage_error)?;
            }
            t.set_objects(objects).map_err(storage_error)?;
            // Grants on the schemas go with them, so a new schema of the name starts afresh.
            let security = t.snapshot().security.clone();
            if security
                .grants
                .iter()
                .any(|g| matches!(&g.object, GrantObject::Schema(s) if user.contains(s)))
            {
                let mut next = security;
                next.grants
                    .retain(|g| !matches!(&g.object, GrantObject::Schema(s) if user.contains(s)));
                t.set_security(next).map_err(storage_error)?;
            }
            Ok(())
        })?;
        Ok(command("DROP SCHEMA"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_items_unquote_and_replace_user() {
        // Input: search_path values as SHOW prints them, with quoted names, spaces, an
        // escaped quote and an empty value.
        assert_eq!(path_items("\"$user\", public", "ann"), ["ann", "public"]);
        assert_eq!(
            path_items("a, \"Odd Name\",\"x\"\"y\"", "u"),
            ["a", "Odd Name", "x\"y"]
        );
        assert_eq!(path_items("", "u"), Vec::<String>::new());
        assert_eq!(path_items("\"\"", "u"), [""]);
    }

    #[test]
    fn search_path_skips_missing_schemas_and_puts_temp_first() {
        // Input: a manifest with user schema `s` and a temporary table of pg_temp_3, and
        // paths naming missing schemas, pg_catalog and pg_temp.
        let mut m = Manifest::default();
        m.objects.schemas.push(basalt_storage::SchemaDef {
            id: 20000,
            name: "s".into(),
            owner: None,
        });
        m.tables.push(basalt_storage::TableMeta {
            id: 20001,
            def: basalt_storage::TableDef::new("pg_temp_3", "t", Vec::new()),
            segments: Vec::new(),
            change_version: 0,
        });
        let p = SearchPath::new(&m, "\"$user\", nope, s, public", "ann", "pg_temp_3");
        assert_eq!(p.schemas, ["pg_temp_3", "s", "public"]);
        assert_eq!(p.explicit, ["s", "public"]);
        assert_eq!(p.creation_schema(), Some("s"));
        assert_eq!(p.qualifier("pg_temp"), "pg_temp_3");

        let other = SearchPath::new(&m, "pg_catalog, nope", "ann", "pg_temp_4");
        assert_eq!(other.schemas, Vec::<String>::new());
        assert_eq!(other.creation_schema(), None);
        assert!(is_foreign_temp("pg_temp_3", "pg_temp_4"));
        assert_eq!(without_foreign_temp(&m, "pg_temp_4").tables.len(), 0);
        assert_eq!(without_foreign_temp(&m, "pg_temp_3").tables.len(), 1);
    }
}

#[cfg(test)]
mod session_tests {
    #[test]
    fn temporary_tables_are_private_to_their_session() {
        // Input: two sessions of one engine; the first makes temporary tables (plain, and by
        // CREATE TEMP TABLE AS), the second looks for them by name; then the first ends.
        let dir = tempfile::tempdir().unwrap();
        let engine = crate::Engine::open(dir.path()).unwrap();
        let mut a = engine.session("basalt");
        let mut b = engine.session("basalt");
        a.run("CREATE TEMP TABLE t (x INTEGER); CREATE TEMPORARY TABLE tas AS SELECT 1 AS z")
            .unwrap();
        a.run("INSERT INTO t VALUES (1); UPDATE t SET x = 2; DELETE FROM t; TRUNCATE tas")
            .unwrap();
        a.run(
            "CREATE TABLE tt (x INTEGER); INSERT INTO tt VALUES (1); \
             CREATE TEMP TABLE tt (x INTEGER, y TEXT); INSERT INTO tt VALUES (5, 'temp'); \
             CREATE TEMPORARY TABLE tas2 AS SELECT x * 10 AS z FROM public.tt; \
             SELECT x INTO TEMP tinto FROM tt; UPDATE tt SET y = 'changed'; \
             DELETE FROM tinto; TRUNCATE tas2",
        )
        .unwrap();
        assert!(b.run("SELECT * FROM tas2").is_err());
        assert!(b.run("SELECT * FROM tinto").is_err());
        assert!(a.run("SELECT * FROM tas").is_ok());
        let e = b.run("SELECT * FROM tas").unwrap_err();
        assert!(matches!(e, crate::Error::UndefinedTable { .. }), "{e:?}");
        assert!(b.run("SELECT * FROM t").is_err());
        drop(a);
        let snapshot = engine.store.snapshot();
        assert!(
            snapshot
                .tables
                .iter()
                .all(|t| !basalt_storage::is_temp_schema(&t.def.schema)),
            "{:?}",
            snapshot.tables
        );
    }
}
