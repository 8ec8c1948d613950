//! ALTER TABLE ... SET SCHEMA and ALTER VIEW ... SET SCHEMA: a relation moved to another
//! schema, keeping its id, rows, grants and comments.
//!
//! ```text
//! ALTER TABLE [IF EXISTS] [ONLY] name SET SCHEMA new_schema
//! ALTER VIEW [IF EXISTS] name SET SCHEMA new_schema
//! ```
//!
//! sqlparser reads the VIEW form but not the TABLE form, so the TABLE form is read here from
//! tokens and travels as a `copy::options::Transfer::SetSchema`, as CHECKPOINT does; both run
//! [`Session::set_schema`]. As in PostgreSQL, ALTER TABLE also moves a view, and a table's
//! indexes (those of its PRIMARY KEY and UNIQUE constraints included) move with it; its
//! constraints, grants, comments and statistics name it by id and follow it. Basalt has no
//! sequences, so no sequence moves. The move goes through the session's transaction, as every
//! DDL: ROLLBACK undoes it, a restart finds it, and a concurrent change to the catalog objects
//! makes the later commit fail with 40001.
//!
//! PostgreSQL's checks, in its order: the relation exists (42P01; IF EXISTS makes that a
//! no-op), the session owns it (42501), the new schema exists (3F000) and the session may
//! CREATE in it (42501); temporary schemas are neither source nor target (0A000); moving to
//! the schema the relation is in does nothing; the relation's name, and its indexes' names,
//! must be free in the new schema (42P07). ALTER TABLE of an index is 42809 and ALTER VIEW of
//! anything but a view 42809. Where Basalt differs: its system catalogs are built in, so a
//! catalog table is refused as PostgreSQL refuses it (42501) and a catalog view, or a move
//! into `pg_catalog` or `information_schema`, is 0A000; external tables stay in their
//! external schemas, which hold nothing else (0A000, 42809). As for renames, the
//! schema-bound views that read a moved relation follow it (their query's text is rewritten
//! to the new schema, `views::follow`); the move is refused (2BP01) only where one would no
//! longer bind.

use sqlparser::ast;
use sqlparser::tokenizer::{Token, TokenWithSpan};

use basalt_storage::{is_temp_schema, Manifest};

use crate::copy::options::Cursor;
use crate::error::{Error, Result};
use crate::planner::bind::Binder;
use crate::security::{self, Actor};
use crate::{command, storage_error, Session, StatementResult};

/// `ALTER TABLE [IF EXISTS] [ONLY] name SET SCHEMA new_schema`, read from tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetSchema {
    /// The relation's name, one to three parts, folded as identifiers.
    pub relation: Vec<String>,
    pub if_exists: bool,
    /// The new schema, folded as an identifier.
    pub schema: String,
}

/// True when the tokens (whitespace skipped) are `ALTER TABLE ... SET SCHEMA`, the form
/// sqlparser does not read.
pub fn is_set_schema(tokens: &[TokenWithSpan]) -> bool {
    let mut c = Cursor::new("", tokens);
    if !(c.eat("alter") && c.eat("table")) {
        return false;
    }
    loop {
        match c.peek() {
            Some(Token::Word(_)) if c.keyword().as_deref() == Some("SET") => break,
            Some(Token::Word(_) | Token::Period) => {
                c.next();
            }
            _ => return false,
        }
    }
    c.eat("set") && c.eat("schema")
}

/// Parses `ALTER TABLE [IF EXISTS] [ONLY] name SET SCHEMA new_schema` (`tokens` without the
/// `;`).
pub fn parse(sql: &str, tokens: &[TokenWithSpan]) -> Result<SetSchema> {
    let mut c = Cursor::new(sql, tokens);
    c.expect("alter")?;
    c.expect("table")?;
    let if_exists = c.eat("if");
    if if_exists {
        c.expect("exists")?;
    }
    // Basalt has no inheritance: ONLY changes nothing.
    c.eat("only");
    let mut relation = vec![c.ident()?];
    while c.eat_token(&Token::Period) {
        if relation.len() == 3 {
            return Err(c.error());
        }
        relation.push(c.ident()?);
    }
    c.expect("set")?;
    c.expect("schema")?;
    let schema = c.ident()?;
    if !c.done() {
        return Err(c.error());
    }
    Ok(SetSchema {
        relation,
        if_exists,
        schema,
    })
}

/// The relation a SET SCHEMA moves.
#[derive(Clone, Copy, Debug)]
enum Moved {
    Table(u64),
    View(u64),
}

impl Session {
    /// ALTER TABLE ... SET SCHEMA, read from tokens.
    pub(crate) fn alter_table_set_schema(
        &mut self,
        stmt: &SetSchema,
        text: &str,
    ) -> Result<StatementResult> {
        let name = ast::ObjectName::from(
            stmt.relation
                .iter()
                .map(|part| ast::Ident::with_quote('"', part))
                .collect::<Vec<_>>(),
        );
        self.set_schema(&name, stmt.if_exists, &stmt.schema, false, text)
    }

    /// Moves relation `name` to schema `target`: by ALTER VIEW (`view_only`) a view, by
    /// ALTER TABLE a table or a view.
    pub(crate) fn set_schema(
        &mut self,
        name: &ast::ObjectName,
        if_exists: bool,
        target: &str,
        view_only: bool,
        text: &str,
    ) -> Result<StatementResult> {
        let tag = if view_only {
            "ALTER VIEW"
        } else {
            "ALTER TABLE"
        };
        let manifest = self.current_manifest();
        let info = self.session_info(&manifest);
        if let Some((catalog, view)) = crate::catalog::system_relation(name)? {
            return Err(if view {
                Error::Unsupported {
                    message: format!(
                        "cannot move system view \"{catalog}\": the system catalogs are built in"
                    ),
                }
            } else {
                Error::InsufficientPrivilege {
                    message: format!("permission denied: \"{catalog}\" is a system catalog"),
                }
            });
        }
        let (schema, relation) = {
            let mut binder = Binder::new(&manifest, text, None);
            binder.session = Some(&info);
            binder.table_name(name)?
        };
        let actor = Actor::of(&manifest.security, self.role_oid);
        let owned = |owner: Option<u32>, kind: &str| actor.require_owner(owner, kind, &relation);
        let not_a_view = || Error::WrongRelationKind {
            name: relation.clone(),
            expected: "a view",
            hint: None,
        };
        let moved = if let Some(table) = manifest.table(&schema, &relation) {
            if view_only {
                return Err(not_a_view());
            }
            owned(table.def.owner, "table")?;
            Moved::Table(table.id)
        } else if let Some(view) = manifest.objects.view(&schema, &relation) {
            owned(view.owner, "view")?;
            Moved::View(view.id)
        } else if manifest.objects.index(&schema, &relation).is_some() {
            if view_only {
                return Err(not_a_view());
            }
            return Err(Error::IndexSchemaChange { name: relation });
        } else if manifest.external.table(&schema, &relation).is_some() {
            if view_only {
                return Err(not_a_view());
            }
            return Err(Error::Unsupported {
                message: format!(
                    "cannot move external table \"{relation}\": an external table stays in its external schema"
                ),
            });
        } else if if_exists {
            return Ok(command(tag));
        } else {
            return Err(Error::UndefinedTable {
                name: relation,
                position: None,
            });
        };
        let target = info.path.qualifier(target).to_owned();
        if !crate::schemas::exists(&manifest, &target, &info.path.temp) {
            return Err(Error::UndefinedSchema {
                name: target,
                position: None,
            });
        }
        security::check_schema(&manifest, &actor, &target, 'C')?;
        if is_temp_schema(&schema) || is_temp_schema(&target) {
            return Err(Error::Unsupported {
                message: "cannot move objects into or out of temporary schemas".into(),
            });
        }
        if matches!(target.as_str(), "pg_catalog" | "information_schema") {
            return Err(Error::Unsupported {
                message: format!(
                    "cannot move objects into schema \"{target}\": its catalogs are built in"
                ),
            });
        }
        if manifest.external.schema(&target).is_some() {
            return Err(Error::WrongObjectType {
                message: format!(
                    "cannot move \"{relation}\" into external schema \"{target}\"; external schemas hold only external tables"
                ),
                position: None,
            });
        }
        if target == schema {
            return Ok(command(tag));
        }
        let id = match moved {
            Moved::Table(id) | Moved::View(id) => id,
        };
        if let Some(reader) = self.views_not_following(
            &manifest,
            &info,
            id,
            (&schema, &relation),
            (&target, &relation),
        ) {
            let kind = match moved {
                Moved::Table(_) => "table",
                Moved::View(_) => "view",
            };
            return Err(Error::DependentObjectsStillExist {
                message: format!(
                    "cannot move {kind} \"{relation}\" because view \"{}\" depends on it",
                    reader.name
                ),
                detail: format!(
                    "view {} depends on {kind} {relation}\nA view keeps its query as text; drop it and create it again after the move, or create it WITH NO SCHEMA BINDING.",
                    reader.name
                ),
            });
        }
        // The relation's name first, then its indexes', as PostgreSQL checks them.
        let indexes: Vec<String> = match moved {
            Moved::Table(id) => manifest
                .objects
                .indexes
                .iter()
                .filter(|i| i.table == id)
                .map(|i| i.name.clone())
                .collect(),
            Moved::View(_) => Vec::new(),
        };
        if let Some(taken) = std::iter::once(&relation)
            .chain(&indexes)
            .find(|n| relation_exists(&manifest, &target, n))
        {
            return Err(Error::DuplicateRelationInSchema {
                name: taken.clone(),
                schema: target,
            });
        }
        self.write_at(&manifest, |t| {
            let mut objects = t.snapshot().objects.clone();
            match moved {
                Moved::Table(id) => {
                    let mut def = t
                        .snapshot()
                        .table_by_id(id)
                        .map(|table| table.def.clone())
                        .ok_or_else(|| Error::Internal(format!("table {id} left the snapshot")))?;
                    def.schema.clone_from(&target);
                    t.redefine_table(id, def).map_err(storage_error)?;
                    for i in objects.indexes.iter_mut().filter(|i| i.table == id) {
                        i.schema.clone_from(&target);
                    }
                }
                Moved::View(id) => {
                    for v in objects.views.iter_mut().filter(|v| v.id == id) {
                        v.schema.clone_from(&target);
                    }
                }
            }
            // The views over it follow it into its new schema.
            let rename = crate::views::Rename {
                from: (&schema, &relation),
                to: (&target, &relation),
            };
            crate::views::follow_relation(&mut objects, id, rename)
                .map_err(|view| Error::Internal(format!("view {view} no longer follows a move")))?;
            // Set even when no index moved, so that a concurrent commit that creates one in
            // the old schema conflicts with this one.
            t.set_objects(objects).map_err(storage_error)
        })?;
        Ok(command(tag))
    }
}

/// Whether schema `schema` holds a relation (table, view, index, external table) `name`.
fn relation_exists(manifest: &Manifest, schema: &str, name: &str) -> bool {
    manifest.table(schema, name).is_some()
        || manifest.objects.view(schema, name).is_some()
        || manifest.objects.index(schema, name).is_some()
        || manifest.external.table(schema, name).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::tokenizer::Tokenizer;

    fn tokens(sql: &str) -> Vec<TokenWithSpan> {
        Tokenizer::new(&PostgreSqlDialect {}, sql)
            .tokenize_with_location()
            .unwrap()
    }

    // Input: the forms of ALTER TABLE ... SET SCHEMA, and other ALTER TABLE statements that
    // must be left to sqlparser.
    #[test]
    fn set_schema_statements_parse() {
        let sql = "ALTER TABLE IF EXISTS ONLY \"My\".t SET SCHEMA S2";
        assert!(is_set_schema(&tokens(sql)));
        assert_eq!(
            parse(sql, &tokens(sql)).unwrap(),
            SetSchema {
                relation: vec!["My".into(), "t".into()],
                if_exists: true,
                schema: "s2".into(),
            }
        );
        let sql = "alter table t set schema \"S\"";
        assert!(is_set_schema(&tokens(sql)));
        assert_eq!(parse(sql, &tokens(sql)).unwrap().schema, "S");
        for other in [
            "ALTER TABLE t RENAME TO u",
            "ALTER TABLE t SET (fillfactor = 10)",
            "ALTER TABLE t ADD COLUMN schema INT",
            "ALTER VIEW v SET SCHEMA s",
            "ALTER TABLE t OWNER TO schema",
        ] {
            assert!(!is_set_schema(&tokens(other)), "{other}");
        }
        let sql = "ALTER TABLE t SET SCHEMA s, ADD COLUMN z INT";
        let e = parse(sql, &tokens(sql)).unwrap_err();
        assert_eq!(e.to_string(), "syntax error at or near \",\"");
        assert_eq!(e.position(), Some(27));
        let sql = "ALTER TABLE t SET SCHEMA";
        let e = parse(sql, &tokens(sql)).unwrap_err();
        assert_eq!(e.to_string(), "syntax error at end of input");
        let sql = "ALTER TABLE a.b.c.d SET SCHEMA s";
        assert!(parse(sql, &tokens(sql)).is_err());
    }
}
