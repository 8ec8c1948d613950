//! Catalog objects other than tables: views and indexes (the `objects` field of format
//! version 6), schemas (format version 8) and table constraints (PRIMARY KEY, UNIQUE, FOREIGN
//! KEY; format version 9), kept in the manifest. Storage keeps their definitions and checks
//! that every object names relations, schemas and columns that exist; what a view's query
//! means is the engine's business. Constraints are informational: nothing checks the rows.
//!
//! Views, indexes, schemas and constraints take their ids from the table id counter, so one id
//! (a `pg_class`, `pg_namespace` or `pg_constraint` OID) names one object of any kind for the
//! life of the data directory.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::catalog::{ColumnDef, Manifest};

/// The schema every database has, which the manifest does not list.
pub const PUBLIC_SCHEMA: &str = "public";

/// The prefix of the schemas that hold temporary tables, one per session (`pg_temp_7`). They
/// exist while they hold tables; the manifest does not list them.
pub const TEMP_SCHEMA_PREFIX: &str = "pg_temp_";

/// Every view, index and user schema of one database version.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Objects {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub views: Vec<ViewDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<IndexDef>,
    /// Table constraints (format version 8), in creation order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<ConstraintDef>,
    /// The schemas made by CREATE SCHEMA (format version 8), in creation order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<SchemaDef>,
    /// The comments of COMMENT ON (format version 10), at most one per object or column.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<CommentDef>,
}

/// `COMMENT ON ... IS 'text'`: the description `pg_description` (or, for the database,
/// `pg_shdescription`) shows for an object or a column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentDef {
    /// The object's OID as the catalogs show it: a table, view, index, schema or constraint
    /// id, or a built-in OID (the `public` schema's, the database's, a built-in function's).
    /// Ids are never reused, so the comment of an object that was dropped names nothing and
    /// is not shown.
    pub object: u64,
    /// A column of the table or view `object`, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The comment. Empty only on an object the engine describes itself (a built-in
    /// function or schema), whose description it then hides.
    pub text: String,
}

/// `CREATE SCHEMA name [AUTHORIZATION role]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaDef {
    /// Its `pg_namespace` OID, from the table id counter.
    pub id: u64,
    pub name: String,
    /// The owning role's OID; absent for schemas of the bootstrap superuser.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<u32>,
}

/// Whether `name` is the name of a temporary schema (`pg_temp_` and digits).
pub fn is_temp_schema(name: &str) -> bool {
    name.strip_prefix(TEMP_SCHEMA_PREFIX)
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A table constraint: `[CONSTRAINT name] PRIMARY KEY | UNIQUE | FOREIGN KEY (columns)`.
/// Kept for catalogs and tools, never checked against the rows (as in Redshift).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstraintDef {
    /// Its `pg_constraint` OID, from the table id counter.
    pub id: u64,
    /// Unique among the constraints of its table.
    pub name: String,
    /// The constrained table's id.
    pub table: u64,
    pub kind: ConstraintKind,
    /// The constrained columns of the table, in key order.
    pub columns: Vec<String>,
    /// PRIMARY KEY and UNIQUE: the id of the index in `indexes` that stands for the key (as
    /// PostgreSQL's backing index, of the constraint's name). FOREIGN KEY: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// FOREIGN KEY: what it references; none for the other kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<ForeignKey>,
}

/// The kind of a table constraint, `pg_constraint.contype`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConstraintKind {
    PrimaryKey,
    Unique,
    ForeignKey,
}

impl ConstraintKind {
    /// PostgreSQL's `contype` letter.
    pub fn letter(self) -> char {
        match self {
            ConstraintKind::PrimaryKey => 'p',
            ConstraintKind::Unique => 'u',
            ConstraintKind::ForeignKey => 'f',
        }
    }
}

/// The referenced side of a FOREIGN KEY.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForeignKey {
    /// The referenced table's id.
    pub table: u64,
    /// The referenced columns, one per constrained column, in the same order; together
    /// they are the columns of a PRIMARY KEY or UNIQUE constraint of that table.
    pub columns: Vec<String>,
    /// `ON UPDATE` as written: PostgreSQL's `confupdtype` letter (`a` NO ACTION, `r`
    /// RESTRICT, `c` CASCADE, `n` SET NULL, `d` SET DEFAULT).
    #[serde(default = "no_action", skip_serializing_if = "is_no_action")]
    pub on_update: char,
    /// `ON DELETE`, as `on_update`.
    #[serde(default = "no_action", skip_serializing_if = "is_no_action")]
    pub on_delete: char,
}

fn no_action() -> char {
    'a'
}

fn is_no_action(c: &char) -> bool {
    *c == 'a'
}

/// `CREATE VIEW schema.name (columns) AS query`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewDef {
    /// Its `pg_class` OID, from the table id counter.
    pub id: u64,
    pub schema: String,
    pub name: String,
    /// The owning role's OID; absent for views of the bootstrap superuser.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<u32>,
    /// The output columns as fixed at creation: names, types and nullability (always true).
    pub columns: Vec<ColumnDef>,
    /// The defining query as SQL text (a SELECT, possibly with WITH), bound again each time
    /// the view is read.
    pub query: String,
    /// False for `WITH NO SCHEMA BINDING` (a late-binding view): its names are resolved when
    /// it is read, and it depends on nothing.
    pub schema_binding: bool,
    /// The ids of the tables and views the query reads (empty for a late-binding view). None
    /// of them can be dropped while this view exists, except by CASCADE.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<u64>,
}

/// `CREATE [UNIQUE] INDEX name ON table USING method (columns)`. Basalt keeps the definition
/// (for catalogs and tools); scans do not use it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexDef {
    /// Its `pg_class` OID, from the table id counter.
    pub id: u64,
    /// The table's schema, which the index lives in.
    pub schema: String,
    pub name: String,
    /// The indexed table's id.
    pub table: u64,
    /// The access method as written, lower case (`btree` when none was given).
    pub method: String,
    /// True exactly for the index of a PRIMARY KEY or UNIQUE constraint (CREATE UNIQUE
    /// INDEX is refused); it enforces nothing.
    pub unique: bool,
    pub columns: Vec<IndexColumn>,
}

/// One key column of an index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexColumn {
    pub name: String,
    /// `DESC`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub descending: bool,
    /// `NULLS FIRST` (true) or `NULLS LAST` (false) when written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nulls_first: Option<bool>,
}

impl Objects {
    pub fn is_empty(&self) -> bool {
        self.views.is_empty()
            && self.indexes.is_empty()
            && self.schemas.is_empty()
            && self.constraints.is_empty()
            && self.comments.is_empty()
    }

    /// The comment of object `object` (or of its column `column`), if it has one.
    pub fn comment(&self, object: u64, column: Option<&str>) -> Option<&str> {
        self.comments
            .iter()
            .find(|c| c.object == object && c.column.as_deref() == column)
            .map(|c| c.text.as_str())
    }

    /// Sets (or, with `None`, removes) the comment of object `object` or its column.
    pub fn set_comment(&mut self, object: u64, column: Option<&str>, text: Option<String>) {
        let at = self
            .comments
            .iter()
            .position(|c| c.object == object && c.column.as_deref() == column);
        match (at, text) {
            (Some(at), Some(text)) => self.comments[at].text = text,
            (Some(at), None) => {
                self.comments.remove(at);
            }
            (None, Some(text)) => self.comments.push(CommentDef {
                object,
                column: column.map(str::to_owned),
                text,
            }),
            (None, None) => {}
        }
    }

    /// Keeps only the comments whose object `keep` accepts (the others name objects that
    /// were dropped).
    pub fn retain_comments(&mut self, mut keep: impl FnMut(&CommentDef) -> bool) {
        self.comments.retain(|c| keep(c));
    }

    /// The user schema `name` (one CREATE SCHEMA made), if there is one.
    pub fn schema(&self, name: &str) -> Option<&SchemaDef> {
        self.schemas.iter().find(|s| s.name == name)
    }

    /// Whether tables, views and indexes can live in schema `name`: `public`, a temporary
    /// schema, or a user schema.
    pub fn has_schema(&self, name: &str) -> bool {
        name == PUBLIC_SCHEMA || is_temp_schema(name) || self.schema(name).is_some()
    }

    /// The constraints of table `id`, in creation order.
    pub fn constraints_of(&self, id: u64) -> impl Iterator<Item = &ConstraintDef> {
        self.constraints.iter().filter(move |c| c.table == id)
    }

    /// The FOREIGN KEY constraints that reference table `id`.
    pub fn referencing(&self, id: u64) -> impl Iterator<Item = &ConstraintDef> {
        self.constraints
            .iter()
            .filter(move |c| c.references.as_ref().is_some_and(|r| r.table == id))
    }

    /// The constraint that index `id` stands for, if it is a key's index.
    pub fn constraint_of_index(&self, id: u64) -> Option<&ConstraintDef> {
        self.constraints.iter().find(|c| c.index == Some(id))
    }

    /// The view `schema.name`, if there is one.
    pub fn view(&self, schema: &str, name: &str) -> Option<&ViewDef> {
        self.views
            .iter()
            .find(|v| v.schema == schema && v.name == name)
    }

    /// The view with id `id`.
    pub fn view_by_id(&self, id: u64) -> Option<&ViewDef> {
        self.views.iter().find(|v| v.id == id)
    }

    /// The index `schema.name`, if there is one.
    pub fn index(&self, schema: &str, name: &str) -> Option<&IndexDef> {
        self.indexes
            .iter()
            .find(|i| i.schema == schema && i.name == name)
    }

    /// The views that read relation `id` directly.
    pub fn dependents(&self, id: u64) -> impl Iterator<Item = &ViewDef> {
        self.views
            .iter()
            .filter(move |v| v.depends_on.contains(&id))
    }

    /// The first broken reference to a relation or schema of `manifest`, as a message: a view
    /// that depends on a relation that is not there, an index on a missing table, or a
    /// relation in a schema that does not exist.
    pub fn dangling(&self, manifest: &Manifest) -> Option<String> {
        let exists = |id: u64| manifest.table_by_id(id).is_some() || self.view_by_id(id).is_some();
        let homeless = manifest
            .tables
            .iter()
            .map(|t| (t.def.schema.as_str(), t.def.name.as_str()))
            .chain(
                self.views
                    .iter()
                    .map(|v| (v.schema.as_str(), v.name.as_str())),
            )
            .chain(
                self.indexes
                    .iter()
                    .map(|i| (i.schema.as_str(), i.name.as_str())),
            )
            .find(|(schema, _)| !self.has_schema(schema));
        if let Some((schema, name)) = homeless {
            return Some(format!(
                "relation {schema}.{name} is in schema {schema}, which does not exist"
            ));
        }
        for v in &self.views {
            if let Some(d) = v.depends_on.iter().find(|d| !exists(**d)) {
                return Some(format!(
                    "view {}.{} depends on relation {d}, which does not exist",
                    v.schema, v.name
                ));
            }
        }
        for i in &self.indexes {
            if manifest.table_by_id(i.table).is_none() {
                return Some(format!(
                    "index {}.{} is on table {}, which does not exist",
                    i.schema, i.name, i.table
                ));
            }
        }
        for c in &self.constraints {
            let referenced = c.references.as_ref().map(|r| r.table);
            if let Some(t) = std::iter::once(c.table)
                .chain(referenced)
                .find(|t| manifest.table_by_id(*t).is_none())
            {
                return Some(format!(
                    "constraint {} names table {t}, which does not exist",
                    c.name
                ));
            }
        }
        None
    }

    /// Whether following view dependencies from relation `from` leads to `target` within
    /// `depth` steps.
    pub fn reaches(&self, from: u64, target: u64, depth: usize) -> bool {
        if from == target {
            return true;
        }
        depth > 0
            && self.view_by_id(from).is_some_and(|v| {
                v.depends_on
                    .iter()
                    .any(|d| self.reaches(*d, target, depth - 1))
            })
    }

    /// Checks what every manifest holds: ids are unique, no two relations (tables of
    /// `manifest`, views, indexes) share a schema and name, no two schemas share a name and
    /// none has a reserved one, every reference resolves, an index is in its table's schema,
    /// views depend on nothing circularly, and views and indexes have columns.
    pub fn check(&self, manifest: &Manifest) -> Result<(), String> {
        let mut ids: BTreeSet<u64> = manifest.tables.iter().map(|t| t.id).collect();
        let mut schema_names = BTreeSet::new();
        for s in &self.schemas {
            if !ids.insert(s.id) {
                return Err(format!("schema id {} ({}) appears twice", s.id, s.name));
            }
            if !schema_names.insert(s.name.as_str()) {
                return Err(format!("schema {} appears twice", s.name));
            }
            if s.name.is_empty()
                || s.name == PUBLIC_SCHEMA
                || s.name == "information_schema"
                || s.name.starts_with("pg_")
            {
                return Err(format!("schema name {:?} is reserved", s.name));
            }
        }
        let mut names: BTreeSet<(&str, &str)> = manifest
            .tables
            .iter()
            .map(|t| (t.def.schema.as_str(), t.def.name.as_str()))
            .collect();
        let relations = self
            .views
            .iter()
            .map(|v| (v.id, v.schema.as_str(), v.name.as_str(), v.columns.len()))
            .chain(
                self.indexes
                    .iter()
                    .map(|i| (i.id, i.schema.as_str(), i.name.as_str(), i.columns.len())),
            );
        for (id, schema, name, columns) in relations {
            if !ids.insert(id) {
                return Err(format!("relation id {id} ({schema}.{name}) appears twice"));
            }
            if !names.insert((schema, name)) {
                return Err(format!("relation {schema}.{name} appears twice"));
            }
            if columns == 0 {
                return Err(format!("relation {schema}.{name} has no columns"));
            }
        }
        if let Some(e) = self.dangling(manifest) {
            return Err(e);
        }
        for i in &self.indexes {
            if let Some(t) = manifest.table_by_id(i.table) {
                if t.def.schema != i.schema {
                    return Err(format!(
                        "index {}.{} is not in the schema of its table {}",
                        i.schema, i.name, t.def.schema
                    ));
                }
            }
        }
        for c in &self.constraints {
            if !ids.insert(c.id) {
                return Err(format!("constraint id {} ({}) is not unique", c.id, c.name));
            }
        }
        self.check_constraints(manifest)?;
        for v in &self.views {
            if !v.schema_binding && !v.depends_on.is_empty() {
                return Err(format!(
                    "late-binding view {}.{} has dependencies",
                    v.schema, v.name
                ));
            }
            if v.depends_on
                .iter()
                .any(|d| self.reaches(*d, v.id, self.views.len()))
            {
                return Err(format!("view {}.{} depends on itself", v.schema, v.name));
            }
        }
        Ok(())
    }
}

impl Objects {
    /// Checks the constraints (their tables exist, see `dangling`): names unique per table,
    /// at most one PRIMARY KEY per table, columns that exist, none twice; a key names its own
    /// unique index over the same columns, and every unique index belongs to one key; a
    /// FOREIGN KEY references as many columns as it has, and they are a key of the
    /// referenced table.
    fn check_constraints(&self, manifest: &Manifest) -> Result<(), String> {
        let mut names = BTreeSet::new();
        let mut primary = BTreeSet::new();
        for c in &self.constraints {
            let Some(table) = manifest.table_by_id(c.table) else {
                return Err(format!("constraint {} is on a missing table", c.name));
            };
            let t = &table.def;
            let exist = |def: &crate::catalog::TableDef, columns: &[String]| {
                !columns.is_empty() && columns.iter().all(|n| def.column_index(n).is_some())
            };
            let distinct =
                |columns: &[String]| columns.iter().collect::<BTreeSet<_>>().len() == columns.len();
            // A foreign key may repeat a column of its own (as PostgreSQL allows), never a
            // key column or a referenced one.
            let columns_ok = |def: &crate::catalog::TableDef, columns: &[String]| {
                exist(def, columns) && distinct(columns)
            };
            let what = format!("constraint {} of {}.{}", c.name, t.schema, t.name);
            if !names.insert((c.table, c.name.as_str())) {
                return Err(format!("{what} appears twice"));
            }
            let own_ok = match c.kind {
                ConstraintKind::ForeignKey => exist(t, &c.columns),
                _ => columns_ok(t, &c.columns),
            };
            if !own_ok {
                return Err(format!("{what} names missing or repeated columns"));
            }
            match c.kind {
                ConstraintKind::PrimaryKey | ConstraintKind::Unique => {
                    if c.kind == ConstraintKind::PrimaryKey && !primary.insert(c.table) {
                        return Err(format!("{what} is a second primary key"));
                    }
                    if c.references.is_some() {
                        return Err(format!("{what} references a table"));
                    }
                    let index = c
                        .index
                        .and_then(|id| self.indexes.iter().find(|i| i.id == id));
                    let fits = index.is_some_and(|i| {
                        i.table == c.table
                            && i.unique
                            && i.name == c.name
                            && i.columns.iter().map(|k| &k.name).eq(c.columns.iter())
                    });
                    if !fits {
                        return Err(format!("{what} has no unique index of its name"));
                    }
                }
                ConstraintKind::ForeignKey => {
                    let Some(r) = &c.references else {
                        return Err(format!("{what} references nothing"));
                    };
                    if c.index.is_some() {
                        return Err(format!("{what} has an index"));
                    }
                    let Some(target) = manifest.table_by_id(r.table) else {
                        return Err(format!("{what} references a missing table"));
                    };
                    if r.columns.len() != c.columns.len() || !columns_ok(&target.def, &r.columns) {
                        return Err(format!("{what} references other columns than it has"));
                    }
                    let is_key = self.constraints_of(r.table).any(|k| {
                        k.kind != ConstraintKind::ForeignKey && same_set(&k.columns, &r.columns)
                    });
                    if !is_key {
                        return Err(format!("{what} references columns that are not a key"));
                    }
                    if ![r.on_update, r.on_delete]
                        .iter()
                        .all(|a| "arcnd".contains(*a))
                    {
                        return Err(format!("{what} has an unknown referential action"));
                    }
                }
            }
        }
        for i in self.indexes.iter().filter(|i| i.unique) {
            if self
                .constraints
                .iter()
                .filter(|c| c.index == Some(i.id))
                .count()
                != 1
            {
                return Err(format!(
                    "unique index {}.{} belongs to no single key",
                    i.schema, i.name
                ));
            }
        }
        Ok(())
    }
}

/// Whether `a` and `b` hold the same names, in any order.
fn same_set(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{TableDef, TableMeta};
    use crate::types::SqlType;

    fn column(name: &str) -> ColumnDef {
        ColumnDef {
            name: name.into(),
            ty: SqlType::Integer,
            nullable: true,
            encoding: Default::default(),
        }
    }

    fn manifest() -> Manifest {
        Manifest {
            tables: vec![TableMeta {
                id: 100,
                def: TableDef::new("public", "t", vec![column("x")]),
                segments: Vec::new(),
                change_version: 0,
            }],
            ..Manifest::default()
        }
    }

    fn view(id: u64, name: &str, deps: &[u64]) -> ViewDef {
        ViewDef {
            id,
            schema: "public".into(),
            name: name.into(),
            owner: None,
            columns: vec![column("x")],
            query: "SELECT x FROM t".into(),
            schema_binding: true,
            depends_on: deps.to_vec(),
        }
    }

    #[test]
    fn objects_check_names_ids_references_and_cycles() {
        // Input: a view over table 100 and a view over that view, an index on the table;
        // then each invariant broken in turn.
        let m = manifest();
        let good = Objects {
            comments: Vec::new(),
            views: vec![view(101, "v", &[100]), view(102, "w", &[101])],
            indexes: vec![IndexDef {
                id: 103,
                schema: "public".into(),
                name: "t_x".into(),
                table: 100,
                method: "btree".into(),
                unique: false,
                columns: vec![IndexColumn {
                    name: "x".into(),
                    descending: true,
                    nulls_first: None,
                }],
            }],
            schemas: Vec::new(),
            constraints: Vec::new(),
        };
        assert_eq!(good.check(&m), Ok(()));
        assert_eq!(
            good.dependents(100).map(|v| v.id).collect::<Vec<_>>(),
            [101]
        );

        let mut clash = good.clone();
        clash.views[0].name = "t".into();
        assert!(clash.check(&m).is_err());
        let mut index_clash = good.clone();
        index_clash.indexes[0].name = "v".into();
        assert!(index_clash.check(&m).is_err());
        let mut dup_id = good.clone();
        dup_id.views[1].id = 100;
        assert!(dup_id.check(&m).is_err());
        let mut dangling = good.clone();
        dangling.views[0].depends_on = vec![999];
        assert!(dangling.check(&m).is_err());
        let mut orphan = good.clone();
        orphan.indexes[0].table = 101;
        assert!(orphan.check(&m).is_err());
        let mut elsewhere = good.clone();
        elsewhere.indexes[0].schema = "pg_temp_1".into();
        assert!(elsewhere.check(&m).is_err());
        let mut cycle = good.clone();
        cycle.views[0].depends_on = vec![102];
        assert!(cycle.check(&m).is_err());
        let mut late = good.clone();
        late.views[0].schema_binding = false;
        assert!(late.check(&m).is_err());
        late.views[0].depends_on.clear();
        assert_eq!(late.check(&m), Ok(()));
    }

    #[test]
    fn objects_check_schemas() {
        // Input: a user schema `s` holding a view and an index on a table in it, beside a
        // temporary table; then a duplicate schema, a reserved name, a reused id and a
        // relation whose schema is missing.
        let mut m = manifest();
        m.tables[0].def.schema = "s".into();
        m.tables.push(TableMeta {
            id: 104,
            def: TableDef::new("pg_temp_3", "tmp", vec![column("x")]),
            segments: Vec::new(),
            change_version: 0,
        });
        let mut v = view(101, "v", &[100]);
        v.schema = "s".into();
        let good = Objects {
            comments: Vec::new(),
            views: vec![v],
            indexes: Vec::new(),
            schemas: vec![SchemaDef {
                id: 102,
                name: "s".into(),
                owner: Some(100),
            }],
            constraints: Vec::new(),
        };
        assert_eq!(good.check(&m), Ok(()));
        assert!(good.has_schema("public"));
        assert!(good.has_schema("pg_temp_3"));
        assert!(!good.has_schema("pg_temp_"));
        assert!(!good.has_schema("t"));

        let mut dup = good.clone();
        dup.schemas.push(SchemaDef {
            id: 103,
            name: "s".into(),
            owner: None,
        });
        assert!(dup.check(&m).is_err());
        for reserved in ["public", "pg_x", "information_schema", ""] {
            let mut bad = good.clone();
            bad.schemas[0].name = reserved.into();
            assert!(bad.check(&m).is_err(), "{reserved}");
        }
        let mut reused = good.clone();
        reused.schemas[0].id = 100;
        assert!(reused.check(&m).is_err());
        let mut homeless = good.clone();
        homeless.schemas.clear();
        assert!(homeless.check(&m).is_err());
        let mut homeless_view = good.clone();
        homeless_view.views[0].schema = "nowhere".into();
        assert!(homeless_view.check(&m).is_err());
    }

    #[test]
    fn constraints_check_keys_indexes_and_references() {
        // Input: table 100 (x) with a primary key and its index, table 104 (y) with a
        // foreign key to it; then each invariant broken in turn.
        let mut m = manifest();
        m.tables.push(TableMeta {
            id: 104,
            def: TableDef::new("public", "u", vec![column("y")]),
            segments: Vec::new(),
            change_version: 0,
        });
        let key_index = IndexDef {
            id: 102,
            schema: "public".into(),
            name: "t_pkey".into(),
            table: 100,
            method: "btree".into(),
            unique: true,
            columns: vec![IndexColumn {
                name: "x".into(),
                descending: false,
                nulls_first: None,
            }],
        };
        let good = Objects {
            comments: Vec::new(),
            views: Vec::new(),
            indexes: vec![key_index],
            constraints: vec![
                ConstraintDef {
                    id: 101,
                    name: "t_pkey".into(),
                    table: 100,
                    kind: ConstraintKind::PrimaryKey,
                    columns: vec!["x".into()],
                    index: Some(102),
                    references: None,
                },
                ConstraintDef {
                    id: 105,
                    name: "u_y_fkey".into(),
                    table: 104,
                    kind: ConstraintKind::ForeignKey,
                    columns: vec!["y".into()],
                    index: None,
                    references: Some(ForeignKey {
                        table: 100,
                        columns: vec!["x".into()],
                        on_update: 'a',
                        on_delete: 'c',
                    }),
                },
            ],
            schemas: Vec::new(),
        };
        assert_eq!(good.check(&m), Ok(()));
        assert_eq!(good.referencing(100).count(), 1);
        assert_eq!(good.constraint_of_index(102).map(|c| c.id), Some(101));

        let mut broken = Vec::new();
        let mut b = good.clone();
        b.constraints[0].columns = vec!["z".into()];
        broken.push(b);
        let mut b = good.clone();
        b.constraints[0].index = None;
        broken.push(b);
        let mut b = good.clone();
        b.indexes[0].unique = false;
        broken.push(b);
        let mut b = good.clone();
        b.constraints[1].references.as_mut().unwrap().table = 999;
        broken.push(b);
        let mut b = good.clone();
        b.constraints[1].references.as_mut().unwrap().columns = vec!["y".into()];
        broken.push(b);
        let mut b = good.clone();
        b.constraints[1].references.as_mut().unwrap().on_delete = 'q';
        broken.push(b);
        let mut b = good.clone();
        b.constraints[0].kind = ConstraintKind::Unique;
        b.constraints.push(ConstraintDef {
            id: 106,
            name: "t_pkey".into(),
            ..b.constraints[0].clone()
        });
        broken.push(b);
        let mut b = good.clone();
        b.constraints[1].id = 100;
        broken.push(b);
        let mut b = good.clone();
        b.constraints.clear();
        broken.push(b);
        for (i, b) in broken.iter().enumerate() {
            assert!(b.check(&m).is_err(), "case {i}");
        }
    }
}
