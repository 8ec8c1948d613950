//! `CREATE INDEX` and `DROP INDEX`. Basalt has no B-tree indexes: scans prune by zone maps
//! and sort keys. An index is a catalog object (`basalt_storage::IndexDef`) so that the
//! statements tools and migration scripts emit work and the catalogs (`pg_class`,
//! `pg_index`, `pg_indexes`) show what was declared; it never changes a plan. A UNIQUE index
//! is refused (0A000): Basalt does not enforce uniqueness.

use basalt_storage::{IndexColumn, IndexDef, Manifest};
use sqlparser::ast;

use crate::error::{Error, Result};
use crate::planner::bind::{normalize_ident, Binder};
use crate::security::{self, Actor};
use crate::{command, storage_error, Session, StatementResult};

/// The access methods an index may name, with their `pg_am` OIDs (PostgreSQL's).
pub const ACCESS_METHODS: &[(&str, i64)] = &[
    ("btree", 403),
    ("hash", 405),
    ("gist", 783),
    ("gin", 2742),
    ("spgist", 4000),
    ("brin", 3580),
];

/// One `pg_opclass` row: an operator class of an index access method.
#[derive(Debug, Clone, Copy)]
pub struct OperatorClass {
    pub oid: i64,
    /// The access method's `pg_am` OID.
    pub method: i64,
    pub name: &'static str,
    pub family: i64,
    /// The `pg_type` OID of the values it orders or hashes.
    pub input_type: i64,
    /// Whether it is the method's default for `input_type`.
    pub default: bool,
    pub key_type: i64,
}

/// PostgreSQL 15's btree and hash operator classes for the types Basalt stores, with its
/// OIDs, so that clients that look up an index's `indclass` find the names they expect.
/// Basalt's indexes are informational, so the other methods' keys have no class (OID 0).
pub const OPERATOR_CLASSES: &[OperatorClass] = &[
    OperatorClass {
        oid: 10003,
        method: 403,
        name: "bool_ops",
        family: 424,
        input_type: 16,
        default: true,
        key_type: 0,
    },
    OperatorClass {
        oid: 10004,
        method: 403,
        name: "bpchar_ops",
        family: 426,
        input_type: 1042,
        default: true,
        key_type: 0,
    },
    OperatorClass {
        oid: 4219,
        method: 403,
        name: "bpchar_pattern_ops",
        family: 2097,
        input_type: 1042,
        default: false,
        key_type: 0,
    },
    OperatorClass {
        oid: 3122,
        method: 403,
        name: "date_ops",
        family: 434,
        input_type: 1082,
        default: true,
        key_type: 0,
    },
    OperatorClass {
        oid: 10012,
        method: 403,
        name: "float4_ops",
        family: 1970,
        input_type: 700,
        default: true,
        key_type: 0,
    },
    OperatorClass {
        oid: 3123,
        method: 403,
        name: "float8_ops",
        family: 1970,
        input_type: 701,
        default: true,
        key_type: 0,
    },
    OperatorClass {
        oid: 1979,
        method: 403,
        name: "int2_ops",
        family: 1976,
        input_type: 21,
        default: true,
        key_type: 0,
    },
    OperatorClass {
        oid: 1978,
        method: 403,
        name: "int4_ops",
        family: 1976,
        input_type: 23,
        default: true,
        key_type: 0,
    },
    OperatorClass {
        oid: 3124,
        method: 403,
        name: "int8_ops",
        family: 1976,
        input_type: 20,
        default: true,
        key_type: 0,
    },
    OperatorClass {
        oid: 10022,
        method: 403,
        name: "interval_ops",
        family: 1982,
        input_type: 1186,
        default: true,
        key_type: 0,
    },
    OperatorClass {
        oid: 3125,
        method: 403,
        name: "numeric_ops",
        family: 1988,
        input_type: 1700,
        default: true,
        key_type: 0,
    },
    OperatorClass {
        oid: 3126,
        method: 403,
        name: "text_ops",
        family: 1994,
        input_type: 25,
        default: true,
        key_type: 0,
    },
    OperatorClass {
        oid: 4217,
        method: 403,
        name: "text_pattern_ops",
        family: 2095,
        input_type: 25,
        default: false,
        key_type: 0,
    },
    OperatorClass {
        oid: 10038,
        method: 403,
        name: "time_ops",
        family: 1996,
        input_type: 1083,
        default: true,
        key_type: 0,
    },
    OperatorClass {
        oid: 3128,
        method: 403,
        name: "timestamp_ops",
        family: 434,
        input_type: 1114,
        default: true,
        key_type: 0,
    },
    OperatorClass {
        oid: 3127,
        method: 403,
        name: "timestamptz_ops",
        family: 434,
        input_type: 1184,
        default: true,
        key_type: 0,
    },
    OperatorClass {
        oid: 10044,
        method: 403,
        name: "varchar_ops",
        family: 1994,
        input_type: 25,
        default: false,
        key_type: 0,
    },
    OperatorClass {
        oid: 4218,
        method: 403,
        name: "varchar_pattern_ops",
        family: 2095,
        input_type: 25,
        default: false,
        key_type: 0,
    },
    OperatorClass {
        oid: 10048,
        method: 405,
        name: "bool_ops",
        family: 2222,
        input_type: 16,
        default: true,
        key_type: 0,
    },
    OperatorClass {
        oid: 10005,
        method: 405,
        name: "bpchar_ops",
        family: 427,
        input_type: 1042,
        default: true,
        key_type: 0,
    },
    OperatorClass {
        oid: 10058,
        method: 405,
        name: "bpchar_pattern_ops",
        family: 2231,
        input_type: 1042,
        default: false,
        key_type: 0,
    },
    OperatorClass {
        oid: 10011,
        method: 405,
        name: "date_ops",
        family: 435,
        input_type: 1082,
        default: true,
        key_type: 0,
    },
    OperatorClass {
        oid: 10013,
        method: 405,
        name: "float4_ops",
        family: 1971,
        input_type: 700,
        default: true,
        key_type: 0,
    },
    OperatorClass {
        oid: 10014,
        method: 405,
        name: "float8_ops",
        family: 1971,
        input_type: 701,
        default: true,
        key_type: 0,
    },
    OperatorClass {
        oid: 10019,
        method: 405,
        name: "int2_ops",
        family: 1977,
        input_type: 21,
        default: true,
        key_type: 0,
    },
    OperatorClass {
        oid: 10020,
        method: 405,
        name: "int4_ops",
        family: 1977,
        input_type: 23,
        default: true,
        key_type: 0,
    },
    OperatorClass {
        oid: 10021,
        method: 405,
        name: "int8_ops",
        family: 1977,
        input_type: 20,
        default: true,
        key_type: 0,
    },
    OperatorClass {
        oid: 10023,
        method: 405,
        name: "interval_ops",
        family: 1983,
        input_type: 1186,
        default: true,
        key_type: 0,
    },
    OperatorClass {
        oid: 10030,
        method: 405,
        name: "numeric_ops",
        family: 1998,
        input_type: 1700,
        default: true,
        key_type: 0,
    },
    OperatorClass {
        oid: 10037,
        method: 405,
        name: "text_ops",
        family: 1995,
        input_type: 25,
        default: true,
        key_type: 0,
    },
    OperatorClass {
        oid: 10056,
        method: 405,
        name: "text_pattern_ops",
        family: 2229,
        input_type: 25,
        default: false,
        key_type: 0,
    },
    OperatorClass {
        oid: 10039,
        method: 405,
        name: "time_ops",
        family: 1997,
        input_type: 1083,
        default: true,
        key_type: 0,
    },
    OperatorClass {
        oid: 10046,
        method: 405,
        name: "timestamp_ops",
        family: 2040,
        input_type: 1114,
        default: true,
        key_type: 0,
    },
    OperatorClass {
        oid: 10040,
        method: 405,
        name: "timestamptz_ops",
        family: 1999,
        input_type: 1184,
        default: true,
        key_type: 0,
    },
    OperatorClass {
        oid: 10045,
        method: 405,
        name: "varchar_ops",
        family: 1995,
        input_type: 25,
        default: false,
        key_type: 0,
    },
    OperatorClass {
        oid: 10057,
        method: 405,
        name: "varchar_pattern_ops",
        family: 2229,
        input_type: 25,
        default: false,
        key_type: 0,
    },
];

/// The default operator class of access method `method` for a key of type `ty`, or 0.
pub fn default_opclass(method: &str, ty: basalt_storage::SqlType) -> i64 {
    let Some((_, am)) = ACCESS_METHODS.iter().find(|(m, _)| *m == method) else {
        return 0;
    };
    let input = crate::catalog::type_oid(ty);
    OPERATOR_CLASSES
        .iter()
        .find(|c| c.method == *am && c.default && c.input_type == input)
        .map_or(0, |c| c.oid)
}

/// PostgreSQL's `indexdef`: `CREATE [UNIQUE] INDEX name ON schema.table USING method (cols)`.
pub fn index_definition(index: &IndexDef, table: &str) -> String {
    let columns: Vec<String> = index
        .columns
        .iter()
        .map(|c| {
            let mut s = quote_ident(&c.name);
            if c.descending {
                s.push_str(" DESC");
            }
            // Only the non-default NULLS placement is printed: NULLS FIRST is DESC's default.
            match (c.descending, c.nulls_first) {
                (false, Some(true)) => s.push_str(" NULLS FIRST"),
                (true, Some(false)) => s.push_str(" NULLS LAST"),
                _ => {}
            }
            s
        })
        .collect();
    format!(
        "CREATE {}INDEX {} ON {}.{} USING {} ({})",
        if index.unique { "UNIQUE " } else { "" },
        quote_ident(&index.name),
        quote_ident(&index.schema),
        quote_ident(table),
        index.method,
        columns.join(", ")
    )
}

/// An identifier as PostgreSQL prints it (keywords and anything but lower-case letters,
/// digits and underscores quoted).
pub(crate) use crate::kernels::func::quote_ident;

/// Whether any relation of `manifest` is named `schema.name`.
fn relation_exists(manifest: &Manifest, schema: &str, name: &str) -> bool {
    manifest.table(schema, name).is_some()
        || manifest.objects.view(schema, name).is_some()
        || manifest.objects.index(schema, name).is_some()
        || manifest.external.table(schema, name).is_some()
}

impl Session {
    pub(super) fn create_index(
        &mut self,
        ci: &ast::CreateIndex,
        text: &str,
    ) -> Result<StatementResult> {
        let unsupported = |what: &str| {
            Err(Error::Unsupported {
                message: format!("{what} is not supported"),
            })
        };
        if ci.unique {
            return unsupported(
                "CREATE UNIQUE INDEX (Basalt does not enforce uniqueness; use CREATE INDEX)",
            );
        }
        if ci.predicate.is_some() {
            return unsupported("a partial index (CREATE INDEX ... WHERE)");
        }
        if !ci.include.is_empty() {
            return unsupported("CREATE INDEX ... INCLUDE");
        }
        if !ci.with.is_empty() || !ci.index_options.is_empty() || !ci.alter_options.is_empty() {
            return unsupported("CREATE INDEX with options");
        }
        if ci.nulls_distinct == Some(false) {
            return unsupported("NULLS NOT DISTINCT");
        }
        let manifest = self.current_manifest();
        let binder = Binder::new(&manifest, text, None);
        let (schema, table_name) = binder.table_name(&ci.table_name)?;
        let table = match manifest.table(&schema, &table_name) {
            Some(t) => t,
            None if manifest.objects.view(&schema, &table_name).is_some() => {
                return Err(Error::WrongObjectType {
                    message: format!(
                        "cannot create index on relation \"{table_name}\": this operation is \
                         not supported for views"
                    ),
                    position: None,
                })
            }
            None => {
                return Err(Error::UndefinedTable {
                    name: table_name,
                    position: None,
                })
            }
        };
        let method = match &ci.using {
            None => "btree".to_owned(),
            Some(ast::IndexType::Custom(id)) => normalize_ident(id),
            Some(other) => other.to_string().to_lowercase(),
        };
        if !ACCESS_METHODS.iter().any(|(m, _)| *m == method) {
            return Err(Error::UndefinedObject {
                message: format!("access method \"{method}\" does not exist"),
                position: None,
            });
        }
        let mut columns = Vec::with_capacity(ci.columns.len());
        for c in &ci.columns {
            if c.operator_class.is_some() {
                return unsupported("an index operator class");
            }
            let name = match &c.column.expr {
                ast::Expr::Identifier(id) => normalize_ident(id),
                other => return unsupported(&format!("an index on the expression {other}")),
            };
            if table.def.column_index(&name).is_none() {
                return Err(Error::UndefinedColumn {
                    name,
                    position: None,
                });
            }
            let descending = match &c.column.options.sort {
                None | Some(ast::OrderBySort::Asc) => false,
                Some(ast::OrderBySort::Desc) => true,
                Some(ast::OrderBySort::Using(_)) => return unsupported("ORDER BY ... USING"),
            };
            columns.push(IndexColumn {
                name,
                descending,
                nulls_first: c.column.options.nulls_first,
            });
        }
        let name = match &ci.name {
            Some(n) => {
                let (index_schema, name) = binder.table_name(n)?;
                if index_schema != schema {
                    return Err(Error::Syntax {
                        message:
                            "an index is created in its table's schema; do not qualify its name"
                                .into(),
                        position: None,
                    });
                }
                name
            }
            None => {
                // PostgreSQL's choice: table_columns_idx, then a number until it is free.
                let base = format!(
                    "{table_name}_{}_idx",
                    columns
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join("_")
                );
                let mut name = base.clone();
                let mut n = 0;
                while relation_exists(&manifest, &schema, &name) {
                    n += 1;
                    name = format!("{base}{n}");
                }
                name
            }
        };
        if relation_exists(&manifest, &schema, &name) {
            if ci.if_not_exists {
                return Ok(command("CREATE INDEX"));
            }
            return Err(Error::DuplicateTable { name });
        }
        let actor = Actor::of(&manifest.security, self.role_oid);
        security::check_owner(&actor, table)?;
        let table_id = table.id;
        self.write_at(&manifest, |t| {
            let mut objects = t.snapshot().objects.clone();
            objects.indexes.push(IndexDef {
                id: t.allocate_relation_id(),
                schema,
                name,
                table: table_id,
                method,
                unique: false,
                columns,
            });
            t.set_objects(objects).map_err(storage_error)
        })?;
        Ok(command("CREATE INDEX"))
    }

    pub(super) fn drop_indexes(
        &mut self,
        names: &[ast::ObjectName],
        if_exists: bool,
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
                if let Some(i) = manifest.objects.index(&schema, &name) {
                    if let Some(table) = manifest.table_by_id(i.table) {
                        security::check_owner(&actor, table)?;
                        if let Some(c) = manifest.objects.constraint_of_index(i.id) {
                            return Err(Error::DependentObjects {
                                message: format!(
                                    "cannot drop index {name} because constraint {} on table {} requires it",
                                    c.name, table.def.name
                                ),
                            });
                        }
                    }
                    ids.push(i.id);
                } else if manifest.table(&schema, &name).is_some() {
                    return Err(Error::WrongRelationKind {
                        name,
                        expected: "an index",
                        hint: Some("Use DROP TABLE to remove a table.".into()),
                    });
                } else if manifest.objects.view(&schema, &name).is_some() {
                    return Err(Error::WrongRelationKind {
                        name,
                        expected: "an index",
                        hint: Some("Use DROP VIEW to remove a view.".into()),
                    });
                } else if !if_exists {
                    return Err(Error::UndefinedIndex { name });
                }
            }
        }
        if ids.is_empty() {
            return Ok(command("DROP INDEX"));
        }
        self.write_at(&manifest, |t| {
            let mut objects = t.snapshot().objects.clone();
            objects.indexes.retain(|i| !ids.contains(&i.id));
            t.set_objects(objects).map_err(storage_error)
        })?;
        Ok(command("DROP INDEX"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_definitions_print_as_postgres_does() {
        // Input: a two-column index with DESC and non-default NULLS placements, and a
        // mixed-case name that needs quotes.
        let index = IndexDef {
            id: 1,
            schema: "public".into(),
            name: "T_i".into(),
            table: 2,
            method: "btree".into(),
            unique: false,
            columns: vec![
                IndexColumn {
                    name: "a".into(),
                    descending: true,
                    nulls_first: Some(false),
                },
                IndexColumn {
                    name: "b".into(),
                    descending: false,
                    nulls_first: Some(true),
                },
                IndexColumn {
                    name: "c".into(),
                    descending: true,
                    nulls_first: Some(true),
                },
            ],
        };
        assert_eq!(
            index_definition(&index, "t"),
            "CREATE INDEX \"T_i\" ON public.t USING btree (a DESC NULLS LAST, b NULLS FIRST, c DESC)"
        );
    }
}
