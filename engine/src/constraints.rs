//! Table constraints: PRIMARY KEY, UNIQUE and FOREIGN KEY, in CREATE TABLE (column and table
//! forms) and ALTER TABLE ... ADD / DROP CONSTRAINT. They are kept in the manifest
//! (`basalt_storage::ConstraintDef`) with PostgreSQL's names, checks and errors, and shown by
//! the catalogs, but they are informational, as in Redshift: no row is ever checked against
//! them. NOT NULL, which a PRIMARY KEY implies, is a column property and is enforced.
//!
//! A PRIMARY KEY or UNIQUE constraint comes with a unique index of its name over its columns
//! (`basalt_storage::IndexDef`, `unique: true`), as PostgreSQL's backing index, so `pg_class`,
//! `pg_index` and psql's `\d` show it; it changes no plan.

use basalt_storage::{
    ConstraintDef, ConstraintKind, ForeignKey, IndexColumn, IndexDef, Manifest, Objects, SqlType,
    TableMeta,
};
use sqlparser::ast;

use crate::error::{Error, Result};
use crate::planner::bind::{normalize_ident, Binder};
use crate::security::{self, Actor};
use crate::{command, storage_error, Session, StatementResult};

/// A constraint as written, its referenced table resolved to a name.
#[derive(Clone, Debug)]
pub struct NewConstraint {
    pub name: Option<String>,
    pub kind: ConstraintKind,
    pub columns: Vec<String>,
    pub references: Option<NewReference>,
}

/// The REFERENCES part of a FOREIGN KEY as written: `columns` is empty when the referenced
/// table's primary key is meant.
#[derive(Clone, Debug)]
pub struct NewReference {
    pub schema: String,
    pub table: String,
    pub columns: Vec<String>,
    pub on_update: char,
    pub on_delete: char,
}

fn unsupported(what: &str) -> Error {
    Error::Unsupported {
        message: format!("{what} is not supported"),
    }
}

fn action(a: &Option<ast::ReferentialAction>) -> char {
    match a {
        None | Some(ast::ReferentialAction::NoAction) => 'a',
        Some(ast::ReferentialAction::Restrict) => 'r',
        Some(ast::ReferentialAction::Cascade) => 'c',
        Some(ast::ReferentialAction::SetNull) => 'n',
        Some(ast::ReferentialAction::SetDefault) => 'd',
    }
}

fn refuse_characteristics(c: &Option<ast::ConstraintCharacteristics>) -> Result<()> {
    match c {
        Some(c) if c.deferrable == Some(true) || c.initially.is_some() => {
            Err(unsupported("a DEFERRABLE constraint"))
        }
        Some(c) if c.enforced.is_some() => Err(unsupported("[NOT] ENFORCED")),
        _ => Ok(()),
    }
}

fn key_columns(columns: &[ast::IndexColumn]) -> Result<Vec<String>> {
    columns
        .iter()
        .map(|c| match &c.column.expr {
            ast::Expr::Identifier(i) if c.operator_class.is_none() => Ok(normalize_ident(i)),
            other => Err(unsupported(&format!("a key on the expression {other}"))),
        })
        .collect()
}

fn reference(binder: &Binder, fk: &ast::ForeignKeyConstraint) -> Result<NewReference> {
    refuse_characteristics(&fk.characteristics)?;
    if matches!(
        fk.match_kind,
        Some(ast::ConstraintReferenceMatchKind::Full | ast::ConstraintReferenceMatchKind::Partial)
    ) {
        return Err(unsupported("MATCH FULL or MATCH PARTIAL"));
    }
    let (schema, table) = binder.table_name(&fk.foreign_table)?;
    Ok(NewReference {
        schema,
        table,
        columns: fk.referred_columns.iter().map(normalize_ident).collect(),
        on_update: action(&fk.on_update),
        on_delete: action(&fk.on_delete),
    })
}

/// A table-level constraint; CHECK and the other kinds Basalt does not keep are refused.
pub(crate) fn from_table_constraint(
    binder: &Binder,
    c: &ast::TableConstraint,
) -> Result<NewConstraint> {
    let name = |n: &Option<ast::Ident>| n.as_ref().map(normalize_ident);
    match c {
        ast::TableConstraint::PrimaryKey(pk) => {
            refuse_characteristics(&pk.characteristics)?;
            if !pk.include.is_empty() || pk.index_name.is_some() || pk.index_type.is_some() {
                return Err(unsupported(&format!("{pk}")));
            }
            Ok(NewConstraint {
                name: name(&pk.name),
                kind: ConstraintKind::PrimaryKey,
                columns: key_columns(&pk.columns)?,
                references: None,
            })
        }
        ast::TableConstraint::Unique(u) => {
            refuse_characteristics(&u.characteristics)?;
            if !u.include.is_empty()
                || u.index_name.is_some()
                || u.index_type.is_some()
                || !matches!(u.nulls_distinct, ast::NullsDistinctOption::None)
            {
                return Err(unsupported(&format!("{u}")));
            }
            Ok(NewConstraint {
                name: name(&u.name),
                kind: ConstraintKind::Unique,
                columns: key_columns(&u.columns)?,
                references: None,
            })
        }
        ast::TableConstraint::ForeignKey(fk) => Ok(NewConstraint {
            name: name(&fk.name),
            kind: ConstraintKind::ForeignKey,
            columns: fk.columns.iter().map(normalize_ident).collect(),
            references: Some(reference(binder, fk)?),
        }),
        other => Err(unsupported(&format!("the constraint {other}"))),
    }
}

/// A column's PRIMARY KEY, UNIQUE or REFERENCES option (`None` for any other option).
pub(crate) fn from_column_option(
    binder: &Binder,
    column: &str,
    option: &ast::ColumnOptionDef,
) -> Result<Option<NewConstraint>> {
    let name = option.name.as_ref().map(normalize_ident);
    let one = vec![column.to_owned()];
    Ok(Some(match &option.option {
        ast::ColumnOption::PrimaryKey(pk) => {
            refuse_characteristics(&pk.characteristics)?;
            NewConstraint {
                name,
                kind: ConstraintKind::PrimaryKey,
                columns: one,
                references: None,
            }
        }
        ast::ColumnOption::Unique(u) => {
            refuse_characteristics(&u.characteristics)?;
            NewConstraint {
                name,
                kind: ConstraintKind::Unique,
                columns: one,
                references: None,
            }
        }
        ast::ColumnOption::ForeignKey(fk) => NewConstraint {
            name,
            kind: ConstraintKind::ForeignKey,
            columns: one,
            references: Some(reference(binder, fk)?),
        },
        _ => return Ok(None),
    }))
}

/// PostgreSQL's `format_type` without type modifiers, as its key error details print types.
fn type_name(ty: SqlType) -> String {
    let s = ty.to_string();
    match s.find('(') {
        Some(at) => s[..at].to_owned(),
        None => s,
    }
}

/// Whether a foreign key column of type `fk` can reference a key column of type `pk`:
/// PostgreSQL wants an equality operator of the key's operator family, which exists between
/// the integer types, between the date and time types, and wherever `fk` casts implicitly.
fn comparable(fk: SqlType, pk: SqlType) -> bool {
    let integer = |t: SqlType| matches!(t, SqlType::SmallInt | SqlType::Integer | SqlType::BigInt);
    let datetime =
        |t: SqlType| matches!(t, SqlType::Date | SqlType::Timestamp | SqlType::Timestamptz);
    crate::types::implicit_cast(fk, pk)
        || (integer(fk) && integer(pk))
        || (datetime(fk) && datetime(pk))
}

/// The relation and constraint names of `schema` in `objects` and `manifest`: what a new
/// name must not clash with.
fn relation_exists(manifest: &Manifest, objects: &Objects, schema: &str, name: &str) -> bool {
    manifest.table(schema, name).is_some()
        || objects.view(schema, name).is_some()
        || objects.index(schema, name).is_some()
}

fn constraint_exists_in_schema(
    manifest: &Manifest,
    objects: &Objects,
    schema: &str,
    name: &str,
) -> bool {
    objects.constraints.iter().any(|c| {
        c.name == name
            && manifest
                .table_by_id(c.table)
                .is_some_and(|t| t.def.schema == schema)
    })
}

/// PostgreSQL's `ChooseConstraintName` / `ChooseRelationName`: `table_cols_label` cut to
/// 63 bytes, then with 1, 2, ... appended until it is free.
fn choose_name(base: &str, label: &str, taken: impl Fn(&str) -> bool) -> String {
    const NAME_BYTES_MAX: usize = 63;
    let mut n = 0u32;
    loop {
        let suffix = if n == 0 {
            label.to_owned()
        } else {
            format!("{label}{n}")
        };
        let room = NAME_BYTES_MAX.saturating_sub(suffix.len() + 1);
        let mut cut = base.len().min(room);
        while !base.is_char_boundary(cut) {
            cut -= 1;
        }
        let name = format!("{}_{suffix}", &base[..cut]);
        if !taken(&name) {
            return name;
        }
        n += 1;
    }
}

/// Adds the constraints `new` to table `table` of `manifest` (whose objects are `objects`,
/// changed in place), with PostgreSQL's checks and default names; `allocate` hands out ids.
pub(crate) fn add_constraints(
    manifest: &Manifest,
    objects: &mut Objects,
    table: u64,
    new: &[NewConstraint],
    allocate: &mut dyn FnMut() -> u64,
) -> Result<()> {
    let meta = manifest
        .table_by_id(table)
        .ok_or_else(|| Error::Internal(format!("constraint on missing table {table}")))?;
    let def = &meta.def;
    // Keys first, then foreign keys, so a foreign key may reference a key of the same
    // statement (PostgreSQL creates the indexes before it adds foreign keys).
    let keys = new.iter().filter(|c| c.kind != ConstraintKind::ForeignKey);
    let foreign = new.iter().filter(|c| c.kind == ConstraintKind::ForeignKey);
    for c in keys.chain(foreign) {
        let mut columns = Vec::with_capacity(c.columns.len());
        for name in &c.columns {
            if def.column_index(name).is_none() {
                return Err(match c.kind {
                    ConstraintKind::ForeignKey => {
                        Error::UndefinedForeignKeyColumn { name: name.clone() }
                    }
                    _ => Error::UndefinedKeyColumn {
                        name: name.clone(),
                        key: "key",
                        position: None,
                    },
                });
            }
            if c.kind != ConstraintKind::ForeignKey && columns.contains(name) {
                return Err(Error::DuplicateKeyColumn {
                    name: name.clone(),
                    constraint: match c.kind {
                        ConstraintKind::PrimaryKey => "primary key",
                        ConstraintKind::Unique => "unique",
                        ConstraintKind::ForeignKey => "foreign key",
                    },
                });
            }
            columns.push(name.clone());
        }
        if c.kind == ConstraintKind::PrimaryKey
            && objects
                .constraints_of(table)
                .any(|k| k.kind == ConstraintKind::PrimaryKey)
        {
            return Err(Error::InvalidTableDefinition {
                message: format!(
                    "multiple primary keys for table \"{}\" are not allowed",
                    def.name
                ),
                position: None,
            });
        }
        let label = match c.kind {
            ConstraintKind::PrimaryKey => "pkey".to_owned(),
            ConstraintKind::Unique => format!("{}_key", columns.join("_")),
            ConstraintKind::ForeignKey => format!("{}_fkey", columns.join("_")),
        };
        let name = match &c.name {
            Some(n) => {
                // A key's name is its index's, a relation name (42P07 first, as PostgreSQL
                // creates the index before the constraint).
                if c.kind != ConstraintKind::ForeignKey
                    && relation_exists(manifest, objects, &def.schema, n)
                {
                    return Err(Error::DuplicateTable { name: n.clone() });
                }
                if objects.constraints_of(table).any(|k| &k.name == n) {
                    return Err(Error::DuplicateObject {
                        message: format!(
                            "constraint \"{n}\" for relation \"{}\" already exists",
                            def.name
                        ),
                    });
                }
                n.clone()
            }
            None if c.kind == ConstraintKind::ForeignKey => choose_name(&def.name, &label, |n| {
                constraint_exists_in_schema(manifest, objects, &def.schema, n)
            }),
            None => choose_name(&def.name, &label, |n| {
                relation_exists(manifest, objects, &def.schema, n)
            }),
        };
        let references = match &c.references {
            Some(r) => Some(foreign_key(manifest, objects, meta, &name, &columns, r)?),
            None => None,
        };
        let id = allocate();
        let index = if c.kind == ConstraintKind::ForeignKey {
            None
        } else {
            let index_id = allocate();
            objects.indexes.push(IndexDef {
                id: index_id,
                schema: def.schema.clone(),
                name: name.clone(),
                table,
                method: "btree".into(),
                unique: true,
                columns: columns
                    .iter()
                    .map(|n| IndexColumn {
                        name: n.clone(),
                        descending: false,
                        nulls_first: None,
                    })
                    .collect(),
            });
            Some(index_id)
        };
        objects.constraints.push(ConstraintDef {
            id,
            name,
            table,
            kind: c.kind,
            columns,
            index,
            references,
        });
    }
    Ok(())
}

/// Checks a FOREIGN KEY of table `meta` on `columns` against the table it references, as
/// PostgreSQL's `ATAddForeignKeyConstraint` does, and gives its referenced side.
fn foreign_key(
    manifest: &Manifest,
    objects: &Objects,
    meta: &TableMeta,
    name: &str,
    columns: &[String],
    r: &NewReference,
) -> Result<ForeignKey> {
    let target = manifest
        .table(&r.schema, &r.table)
        .ok_or_else(|| Error::UndefinedTable {
            name: r.table.clone(),
            position: None,
        })?;
    // As PostgreSQL: a key never crosses between permanent and temporary tables.
    match (
        basalt_storage::is_temp_schema(&meta.def.schema),
        basalt_storage::is_temp_schema(&target.def.schema),
    ) {
        (false, true) => {
            return Err(Error::InvalidTableDefinition {
                message: "constraints on permanent tables may reference only permanent tables"
                    .into(),
                position: None,
            })
        }
        (true, false) => {
            return Err(Error::InvalidTableDefinition {
                message: "constraints on temporary tables may reference only temporary tables"
                    .into(),
                position: None,
            })
        }
        _ => {}
    }
    let keys: Vec<&ConstraintDef> = objects
        .constraints_of(target.id)
        .filter(|k| k.kind != ConstraintKind::ForeignKey)
        .collect();
    let referenced = if r.columns.is_empty() {
        match keys.iter().find(|k| k.kind == ConstraintKind::PrimaryKey) {
            Some(k) => k.columns.clone(),
            None => {
                return Err(Error::InvalidForeignKey {
                    message: format!(
                        "there is no primary key for referenced table \"{}\"",
                        target.def.name
                    ),
                })
            }
        }
    } else {
        for (i, n) in r.columns.iter().enumerate() {
            if target.def.column_index(n).is_none() {
                return Err(Error::UndefinedForeignKeyColumn { name: n.clone() });
            }
            if r.columns[..i].contains(n) {
                return Err(Error::InvalidForeignKey {
                    message: "foreign key referenced-columns list must not contain duplicates"
                        .into(),
                });
            }
        }
        r.columns.clone()
    };
    if referenced.len() != columns.len() {
        return Err(Error::InvalidForeignKey {
            message: "number of referencing and referenced columns for foreign key disagree".into(),
        });
    }
    let is_key = keys.iter().any(|k| {
        k.columns.len() == referenced.len() && referenced.iter().all(|n| k.columns.contains(n))
    });
    if !is_key {
        return Err(Error::InvalidForeignKey {
            message: format!(
                "there is no unique constraint matching given keys for referenced table \"{}\"",
                target.def.name
            ),
        });
    }
    for (fk, pk) in columns.iter().zip(&referenced) {
        let column_type = |m: &TableMeta, n: &str| {
            m.def
                .column_index(n)
                .map(|i| m.def.columns[i].ty)
                .ok_or_else(|| Error::Internal(format!("column {n} vanished")))
        };
        let (ft, pt) = (column_type(meta, fk)?, column_type(target, pk)?);
        if !comparable(ft, pt) {
            return Err(Error::ForeignKeyTypeMismatch {
                message: format!("foreign key constraint \"{name}\" cannot be implemented"),
                detail: format!(
                    "Key columns \"{fk}\" and \"{pk}\" are of incompatible types: {} and {}.",
                    type_name(ft),
                    type_name(pt)
                ),
            });
        }
    }
    Ok(ForeignKey {
        table: target.id,
        columns: referenced,
        on_update: r.on_update,
        on_delete: r.on_delete,
    })
}

/// The objects after dropping constraint `id` of `manifest`'s objects, and its key's index:
/// a key that foreign keys of other constraints reference is refused (2BP01) unless
/// `cascade`, which drops them too.
fn objects_after_constraint_drop(
    manifest: &Manifest,
    objects: &Objects,
    id: u64,
    cascade: bool,
) -> Result<Objects> {
    let mut next = objects.clone();
    let Some(c) = objects.constraints.iter().find(|c| c.id == id) else {
        return Ok(next);
    };
    let mut gone = vec![id];
    if c.kind != ConstraintKind::ForeignKey {
        // A foreign key depends on the key whose columns it references, unless another key
        // of the table has the same columns.
        let others: Vec<&ConstraintDef> = objects
            .constraints_of(c.table)
            .filter(|k| k.id != id && k.kind != ConstraintKind::ForeignKey)
            .collect();
        let same =
            |a: &[String], b: &[String]| a.len() == b.len() && a.iter().all(|x| b.contains(x));
        let dependents: Vec<&ConstraintDef> = objects
            .referencing(c.table)
            .filter(|f| {
                f.references.as_ref().is_some_and(|r| {
                    same(&r.columns, &c.columns)
                        && !others.iter().any(|k| same(&k.columns, &r.columns))
                })
            })
            .collect();
        if !dependents.is_empty() && !cascade {
            let table = table_name(manifest, c.table);
            return Err(Error::DependentObjectsStillExist {
                message: format!(
                    "cannot drop constraint {} on table {table} because other objects depend on it",
                    c.name
                ),
                detail: dependents
                    .iter()
                    .map(|f| {
                        format!(
                            "constraint {} on table {} depends on index {}",
                            f.name,
                            table_name(manifest, f.table),
                            c.name
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
            });
        }
        gone.extend(dependents.iter().map(|f| f.id));
    }
    next.constraints.retain(|k| !gone.contains(&k.id));
    if let Some(index) = c.index {
        next.indexes.retain(|i| i.id != index);
    }
    Ok(next)
}

fn table_name(manifest: &Manifest, id: u64) -> String {
    manifest
        .table_by_id(id)
        .map(|t| t.def.name.clone())
        .unwrap_or_else(|| id.to_string())
}

/// The foreign keys of other tables that reference the tables `ids` (which are being
/// dropped): an error naming them (2BP01) unless `cascade`; with it, `objects` loses them.
/// The dropped tables' own constraints and their indexes go too.
pub(crate) fn drop_with_tables(
    manifest: &Manifest,
    objects: &mut Objects,
    ids: &[u64],
    cascade: bool,
) -> Result<()> {
    let outside: Vec<&ConstraintDef> = objects
        .constraints
        .iter()
        .filter(|c| {
            !ids.contains(&c.table)
                && c.references
                    .as_ref()
                    .is_some_and(|r| ids.contains(&r.table))
        })
        .collect();
    if !outside.is_empty() && !cascade {
        let first = outside[0]
            .references
            .as_ref()
            .map(|r| r.table)
            .unwrap_or(ids[0]);
        return Err(Error::DependentObjectsStillExist {
            message: format!(
                "cannot drop table {} because other objects depend on it",
                table_name(manifest, first)
            ),
            detail: outside
                .iter()
                .map(|c| {
                    format!(
                        "constraint {} on table {} depends on table {}",
                        c.name,
                        table_name(manifest, c.table),
                        table_name(manifest, c.references.as_ref().map_or(0, |r| r.table))
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
        });
    }
    let gone: Vec<u64> = objects
        .constraints
        .iter()
        .filter(|c| {
            ids.contains(&c.table)
                || c.references
                    .as_ref()
                    .is_some_and(|r| ids.contains(&r.table))
        })
        .map(|c| c.id)
        .collect();
    objects.constraints.retain(|c| !gone.contains(&c.id));
    objects.indexes.retain(|i| !ids.contains(&i.table));
    Ok(())
}

/// PostgreSQL's `pg_get_constraintdef`: `PRIMARY KEY (a, b)`, `UNIQUE (a)`,
/// `FOREIGN KEY (a) REFERENCES p(id) ON DELETE CASCADE`.
pub fn constraint_definition(manifest: &Manifest, c: &ConstraintDef) -> String {
    let list = |names: &[String]| {
        names
            .iter()
            .map(|n| crate::views::quote_ident(n))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (&c.kind, &c.references) {
        (ConstraintKind::PrimaryKey, _) => format!("PRIMARY KEY ({})", list(&c.columns)),
        (ConstraintKind::Unique, _) => format!("UNIQUE ({})", list(&c.columns)),
        (ConstraintKind::ForeignKey, r) => {
            let mut s = format!("FOREIGN KEY ({})", list(&c.columns));
            if let Some(r) = r {
                let target = manifest.table_by_id(r.table);
                let name = target.map_or_else(
                    || r.table.to_string(),
                    |t| {
                        // Qualified only when the schema is not `public`, as on PostgreSQL's
                        // default search_path.
                        if t.def.schema == "public" {
                            crate::views::quote_ident(&t.def.name)
                        } else {
                            format!(
                                "{}.{}",
                                crate::views::quote_ident(&t.def.schema),
                                crate::views::quote_ident(&t.def.name)
                            )
                        }
                    },
                );
                s.push_str(&format!(" REFERENCES {name}({})", list(&r.columns)));
                for (what, a) in [("UPDATE", r.on_update), ("DELETE", r.on_delete)] {
                    let words = match a {
                        'r' => "RESTRICT",
                        'c' => "CASCADE",
                        'n' => "SET NULL",
                        'd' => "SET DEFAULT",
                        _ => continue,
                    };
                    s.push_str(&format!(" ON {what} {words}"));
                }
            }
            s
        }
    }
}

impl Session {
    /// `ALTER TABLE name ADD [CONSTRAINT c] PRIMARY KEY | UNIQUE | FOREIGN KEY ...` and
    /// `ALTER TABLE name DROP CONSTRAINT [IF EXISTS] c [CASCADE]`; the other ALTER TABLE
    /// forms are refused.
    pub(crate) fn alter_table(
        &mut self,
        at: &ast::AlterTable,
        text: &str,
    ) -> Result<StatementResult> {
        let manifest = self.current_manifest();
        let (schema, name, adds, drops) = {
            let binder = Binder::new(&manifest, text, None);
            let (schema, name) = binder.table_name(&at.name)?;
            let mut adds = Vec::new();
            let mut drops = Vec::new();
            for op in &at.operations {
                match op {
                    ast::AlterTableOperation::AddConstraint {
                        constraint,
                        not_valid: false,
                    } => adds.push(from_table_constraint(&binder, constraint)?),
                    ast::AlterTableOperation::DropConstraint {
                        if_exists,
                        name,
                        drop_behavior,
                    } => drops.push((
                        normalize_ident(name),
                        *if_exists,
                        matches!(drop_behavior, Some(ast::DropBehavior::Cascade)),
                    )),
                    other => {
                        return Err(unsupported(&format!("ALTER TABLE ... {other}")));
                    }
                }
            }
            (schema, name, adds, drops)
        };
        let Some(table) = manifest.table(&schema, &name) else {
            if at.if_exists {
                return Ok(command("ALTER TABLE"));
            }
            if manifest.objects.view(&schema, &name).is_some()
                || manifest.objects.index(&schema, &name).is_some()
            {
                return Err(Error::WrongRelationKind {
                    name,
                    expected: "a table",
                    hint: None,
                });
            }
            return Err(Error::UndefinedTable {
                name,
                position: None,
            });
        };
        let actor = Actor::of(&manifest.security, self.role_oid);
        security::check_owner(&actor, table)?;
        let table_id = table.id;
        for c in adds.iter().filter(|c| c.kind == ConstraintKind::PrimaryKey) {
            // Redshift's rule: a primary key can be added only to NOT NULL columns, since
            // ALTER TABLE does not change a column's nullability.
            if let Some(col) = c.columns.iter().find(|n| {
                table
                    .def
                    .column_index(n)
                    .is_some_and(|i| table.def.columns[i].nullable)
            }) {
                return Err(Error::Unsupported {
                    message: format!(
                        "cannot add a primary key on nullable column \"{col}\"; declare it NOT NULL when creating the table"
                    ),
                });
            }
        }
        self.write_at(&manifest, |t| {
            let snapshot = t.snapshot().clone();
            let mut objects = snapshot.objects.clone();
            for (constraint, if_exists, cascade) in &drops {
                let found = objects
                    .constraints_of(table_id)
                    .find(|c| &c.name == constraint)
                    .map(|c| c.id);
                match found {
                    Some(id) => {
                        objects = objects_after_constraint_drop(&snapshot, &objects, id, *cascade)?
                    }
                    None if *if_exists => {}
                    None => {
                        return Err(Error::UndefinedObject {
                            message: format!(
                                "constraint \"{constraint}\" of relation \"{name}\" does not exist"
                            ),
                            position: None,
                        })
                    }
                }
            }
            let mut allocate = || t.allocate_relation_id();
            add_constraints(&snapshot, &mut objects, table_id, &adds, &mut allocate)?;
            if objects != snapshot.objects {
                t.set_objects(objects).map_err(storage_error)?;
            }
            Ok(())
        })?;
        Ok(command("ALTER TABLE"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_follow_postgres() {
        // Input: PostgreSQL's default names for a table and key labels, taken names that
        // force a number, and a table name long enough to be cut to 63 bytes.
        assert_eq!(choose_name("t", "pkey", |_| false), "t_pkey");
        assert_eq!(
            choose_name("t", "a_b_key", |n| n == "t_a_b_key"),
            "t_a_b_key1"
        );
        let long = "x".repeat(70);
        let name = choose_name(&long, "a_fkey", |_| false);
        assert_eq!(name.len(), 63);
        assert!(name.ends_with("_a_fkey"));
    }

    #[test]
    fn foreign_key_types_compare_as_postgres_allows() {
        // Input: integer widths both ways, integer to numeric and back, text to integer.
        assert!(comparable(SqlType::Integer, SqlType::BigInt));
        assert!(comparable(SqlType::BigInt, SqlType::SmallInt));
        assert!(!comparable(SqlType::Text, SqlType::Integer));
        assert!(comparable(SqlType::Date, SqlType::Timestamp));
        assert_eq!(
            type_name(SqlType::Varchar { length: 3 }),
            "character varying"
        );
    }
}
