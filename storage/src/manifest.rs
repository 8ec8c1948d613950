//! Manifest files: one per committed version, `manifest/<version, 20 digits>.manifest`.
//!
//! ```text
//! +------------------------------ header (24 bytes) ------------------------------+
//! | magic "BASALTMF" (8) | format version u32 | payload length u64 | crc32c u32    |
//! +--------------------------------------------------------------------------------+
//! | payload: JSON (UTF-8), exactly `payload length` bytes                          |
//! +--------------------------------------------------------------------------------+
//! ```
//! The CRC-32C covers header bytes 0..20 and the payload. The layout and the JSON fields are
//! specified in `docs/segment-format.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::bytes::{ByteReader, PutLe};
use crate::catalog::{Manifest, SegmentMeta, TableDef, TableMeta};
use crate::delete_vector::DeleteVector;
use crate::durable::{replace_file, ReplaceError};
use crate::error::{io_at, Error, Result};
use crate::external::ExternalCatalog;
use crate::objects::Objects;
use crate::security::Security;
use crate::zone_map::ZoneMap;

/// First 8 bytes of every manifest file.
pub const MANIFEST_MAGIC: [u8; 8] = *b"BASALTMF";
/// The manifest format version this build writes. Version 2 added delete vectors
/// (`segments[].deleted`); version 3 the table attributes (`def.dist_style`, `def.dist_key`,
/// `def.sort_key`, `def.columns[].encoding`); version 4 the external catalog (`external`);
/// version 5 the security catalog (`security`, `def.owner`); version 6 views and indexes
/// (`objects`); version 7 the column types `time`, `timestamptz` and `interval`; version 8
/// user schemas (`objects.schemas`, [`SCHEMAS_FORMAT_VERSION`]); version 9 table constraints
/// (`objects.constraints`, [`CONSTRAINTS_FORMAT_VERSION`]); version 10 comments
/// (`objects.comments`, [`COMMENTS_FORMAT_VERSION`]); version 11 stable column ids
/// (`def.column_ids`, `def.next_column_id`, `def.defaults`, `segments[].columns`,
/// [`COLUMN_IDS_FORMAT_VERSION`]) for ADD and DROP COLUMN. This build reads versions 1 to 11;
/// fields a version lacks take their defaults (no deleted rows, AUTO everywhere, no external
/// schemas, no roles, tables owned by the bootstrap superuser, no views, indexes or
/// constraints, no schemas but `public`, no comments).
pub const MANIFEST_FORMAT_VERSION: u32 = COLUMN_IDS_FORMAT_VERSION;
/// The format version that added user schemas (`objects.schemas`).
pub const SCHEMAS_FORMAT_VERSION: u32 = 8;
/// The manifest format version that added table constraints (`objects.constraints`).
pub const CONSTRAINTS_FORMAT_VERSION: u32 = 9;
/// The manifest format version that added comments (`objects.comments`).
pub const COMMENTS_FORMAT_VERSION: u32 = 10;
/// The manifest format version that added stable column ids and column defaults.
pub const COLUMN_IDS_FORMAT_VERSION: u32 = 11;
/// The oldest manifest format version this build reads.
pub const MANIFEST_FORMAT_VERSION_MIN: u32 = 1;
const HEADER_BYTES: usize = 24;
const HEADER_CHECKED_BYTES: usize = 20;
const EXTENSION: &str = ".manifest";

/// A manifest together with the id counters that are persisted beside it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Persisted {
    pub(crate) manifest: Manifest,
    /// Next table id to hand out; above every table id ever committed.
    pub(crate) next_table_id: u64,
    /// Next segment id to hand out; above every segment id ever committed.
    pub(crate) next_segment_id: u64,
}

/// The JSON payload. These structs are the persisted schema: renaming a field changes the format.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestJson {
    version: u64,
    next_table_id: u64,
    next_segment_id: u64,
    tables: Vec<TableJson>,
    /// Absent (before version 5, or no roles and no grants) means an empty security catalog.
    #[serde(default, skip_serializing_if = "Security::is_empty")]
    security: Security,
    /// External schemas and tables; absent (before version 4, or none defined) means none.
    #[serde(default, skip_serializing_if = "ExternalCatalog::is_empty")]
    external: ExternalCatalog,
    /// Views and indexes; absent (before version 6, or none defined) means none.
    #[serde(default, skip_serializing_if = "Objects::is_empty")]
    objects: Objects,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableJson {
    id: u64,
    change_version: u64,
    def: TableDef,
    segments: Vec<SegmentJson>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SegmentJson {
    id: u64,
    rows: u64,
    bytes: u64,
    zone_maps: Vec<ZoneMap>,
    /// Absent (version 1, or nothing deleted) means no row is deleted.
    #[serde(default, skip_serializing_if = "DeleteVector::is_empty")]
    deleted: DeleteVector,
    /// Absent (before version 11, or the segment holds its table's columns) means the
    /// table definition's column ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    columns: Option<Vec<u32>>,
}

/// The file name of manifest `version`.
pub(crate) fn file_name(version: u64) -> String {
    format!("{version:020}{EXTENSION}")
}

/// The version a manifest file name stands for, if it is one.
pub(crate) fn parse_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(EXTENSION)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The bytes of a manifest file.
pub(crate) fn encode(p: &Persisted) -> Result<Vec<u8>> {
    if let Some((t, s)) = p
        .manifest
        .tables
        .iter()
        .find_map(|t| t.segments.iter().find(|s| s.is_resident()).map(|s| (t, s)))
    {
        return Err(Error::Internal(format!(
            "manifest {} with resident segment {} of table {}",
            p.manifest.version, s.id, t.id
        )));
    }
    let json = ManifestJson {
        version: p.manifest.version,
        next_table_id: p.next_table_id,
        next_segment_id: p.next_segment_id,
        tables: p
            .manifest
            .tables
            .iter()
            .map(|t| TableJson {
                id: t.id,
                change_version: t.change_version,
                def: t.def.clone(),
                segments: t
                    .segments
                    .iter()
                    .map(|s| SegmentJson {
                        id: s.id,
                        rows: s.rows,
                        bytes: s.bytes,
                        zone_maps: s.zone_maps.clone(),
                        deleted: s.deleted.clone(),
                        columns: s.columns.as_ref().map(|c| c.to_vec()),
                    })
                    .collect(),
            })
            .collect(),
        security: p.manifest.security.clone(),
        external: p.manifest.external.clone(),
        objects: p.manifest.objects.clone(),
    };
    let payload = serde_json::to_vec(&json)
        .map_err(|e| Error::Internal(format!("serializing manifest: {e}")))?;
    let mut out = Vec::with_capacity(HEADER_BYTES + payload.len());
    out.extend_from_slice(&MANIFEST_MAGIC);
    out.put_u32(MANIFEST_FORMAT_VERSION);
    out.put_u64(payload.len() as u64);
    let crc = crc32c::crc32c_append(crc32c::crc32c(&out), &payload);
    out.put_u32(crc);
    out.extend_from_slice(&payload);
    Ok(out)
}

/// Parses and checks the manifest file `path` whose bytes are `bytes`.
pub(crate) fn decode(path: &Path, bytes: &[u8]) -> Result<Persisted> {
    let corrupt = |detail: String| Error::corrupt(path, detail);
    let mut r = ByteReader::new(bytes);
    let magic: [u8; 8] = r.array().map_err(|e| corrupt(format!("header: {e}")))?;
    if magic != MANIFEST_MAGIC {
        return Err(corrupt(format!("bad magic {magic:02x?}")));
    }
    let format = r.u32().map_err(|e| corrupt(format!("header: {e}")))?;
    let len = r.u64().map_err(|e| corrupt(format!("header: {e}")))?;
    let stored_crc = r.u32().map_err(|e| corrupt(format!("header: {e}")))?;
    if r.remaining() as u64 != len {
        return Err(corrupt(format!(
            "header says {len} payload bytes but {} follow (torn write?)",
            r.remaining()
        )));
    }
    let payload = r.take(r.remaining()).map_err(&corrupt)?;
    let checked = bytes.get(..HEADER_CHECKED_BYTES).unwrap_or_default();
    let crc = crc32c::crc32c_append(crc32c::crc32c(checked), payload);
    if crc != stored_crc {
        return Err(corrupt(format!(
            "checksum mismatch (stored {stored_crc:#010x}, computed {crc:#010x})"
        )));
    }
    if !(MANIFEST_FORMAT_VERSION_MIN..=MANIFEST_FORMAT_VERSION).contains(&format) {
        return Err(corrupt(format!(
            "manifest format version {format}, this build reads \
             {MANIFEST_FORMAT_VERSION_MIN}..={MANIFEST_FORMAT_VERSION}"
        )));
    }
    let json: ManifestJson =
        serde_json::from_slice(payload).map_err(|e| corrupt(format!("payload: {e}")))?;
    let persisted = Persisted {
        manifest: Manifest {
            version: json.version,
            tables: json
                .tables
                .into_iter()
                .map(|t| TableMeta {
                    id: t.id,
                    change_version: t.change_version,
                    def: t.def,
                    segments: t
                        .segments
                        .into_iter()
                        .map(|s| SegmentMeta {
                            id: s.id,
                            rows: s.rows,
                            bytes: s.bytes,
                            zone_maps: s.zone_maps,
                            deleted: s.deleted,
                            columns: s.columns.map(Into::into),
                            resident: None,
                        })
                        .collect(),
                })
                .collect(),
            security: json.security,
            external: json.external,
            objects: json.objects,
        },
        next_table_id: json.next_table_id,
        next_segment_id: json.next_segment_id,
    };
    check(&persisted).map_err(corrupt)?;
    Ok(persisted)
}

/// Checks the invariants every manifest holds.
fn check(p: &Persisted) -> Result<(), String> {
    let m = &p.manifest;
    m.external.check()?;
    m.objects
        .check(m)
        .map_err(|e| format!("views and indexes: {e}"))?;
    if let Some(id) = m
        .objects
        .views
        .iter()
        .map(|v| v.id)
        .chain(m.objects.indexes.iter().map(|i| i.id))
        .chain(m.objects.schemas.iter().map(|s| s.id))
        .chain(m.objects.constraints.iter().map(|c| c.id))
        .find(|id| *id < crate::TABLE_ID_MIN || *id >= p.next_table_id)
    {
        return Err(format!(
            "object id {id} outside {}..{}",
            crate::TABLE_ID_MIN,
            p.next_table_id
        ));
    }
    let mut ids = BTreeSet::new();
    let mut names = BTreeMap::new();
    let mut segment_ids = BTreeSet::new();
    m.security
        .check()
        .map_err(|e| format!("security catalog: {e}"))?;
    if m.security.change_version > m.version {
        return Err(format!(
            "security catalog changed in version {} after this version {}",
            m.security.change_version, m.version
        ));
    }
    for t in &m.tables {
        let name = t.def.qualified_name();
        if !ids.insert(t.id) {
            return Err(format!("table id {} appears twice", t.id));
        }
        if names.insert(name.clone(), t.id).is_some() {
            return Err(format!("table {name} appears twice"));
        }
        if t.id < crate::TABLE_ID_MIN || t.id >= p.next_table_id {
            return Err(format!(
                "table {name} has id {} outside {}..{}",
                t.id,
                crate::TABLE_ID_MIN,
                p.next_table_id
            ));
        }
        t.def
            .check_attributes()
            .map_err(|e| format!("table {name}: {e}"))?;
        if t.change_version > m.version {
            return Err(format!(
                "table {name} changed in version {} after this version {}",
                t.change_version, m.version
            ));
        }
        for s in &t.segments {
            if !segment_ids.insert(s.id) || s.id >= p.next_segment_id {
                return Err(format!(
                    "table {name} segment id {} is reused or out of range",
                    s.id
                ));
            }
            let held = s.columns.as_ref().map_or(t.def.columns.len(), |c| c.len());
            if s.zone_maps.len() != held {
                return Err(format!(
                    "table {name} segment {} has {} zone maps for {held} columns",
                    s.id,
                    s.zone_maps.len(),
                ));
            }
            if let Some(columns) = &s.columns {
                let next = t.def.next_column_id.max(t.def.columns.len() as u32);
                for (i, id) in columns.iter().enumerate() {
                    if columns[..i].contains(id) || *id >= next {
                        return Err(format!(
                            "table {name} segment {} holds column id {id} twice or not below {next}",
                            s.id
                        ));
                    }
                }
            }
            if let Some(z) = s
                .zone_maps
                .iter()
                .find(|z| z.row_count != s.rows || z.null_count > s.rows)
            {
                return Err(format!(
                    "table {name} segment {} of {} rows has a zone map of {} rows, {} NULLs",
                    s.id, s.rows, z.row_count, z.null_count
                ));
            }
            s.deleted
                .check(s.rows)
                .map_err(|e| format!("table {name} segment {}: {e}", s.id))?;
        }
    }
    Ok(())
}

/// Reads and checks manifest file `path`.
pub(crate) fn read(path: &Path) -> Result<Persisted> {
    let bytes = std::fs::read(path).map_err(io_at(path))?;
    decode(path, &bytes)
}

/// Durably writes `p` as the manifest file of its version in `dir`.
pub(crate) fn write(dir: &Path, p: &Persisted) -> Result<(), ReplaceError> {
    let bytes = encode(p).map_err(ReplaceError::Before)?;
    if cfg!(debug_assertions) {
        // Check the bytes before they reach the disk, as recovery will read them.
        match decode(&dir.join(file_name(p.manifest.version)), &bytes) {
            Ok(back) if back == *p => {}
            other => {
                return Err(ReplaceError::Before(Error::Internal(format!(
                    "manifest does not round trip: {other:?}"
                ))))
            }
        }
    }
    crate::fault::check(crate::fault::Site::ManifestWrite, dir).map_err(ReplaceError::Before)?;
    replace_file(dir, &file_name(p.manifest.version), &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{ColumnDef, DistStyle, SortKey};
    use crate::column_encoding::ColumnEncoding;
    use crate::types::SqlType;

    /// `bytes` with its header's format version set to `version` and its checksum recomputed.
    fn reframed(bytes: &[u8], version: u32) -> Vec<u8> {
        let mut b = bytes.to_vec();
        b[8..12].copy_from_slice(&version.to_le_bytes());
        let crc = crc32c::crc32c_append(
            crc32c::crc32c(&b[..HEADER_CHECKED_BYTES]),
            &b[HEADER_BYTES..],
        );
        b[20..24].copy_from_slice(&crc.to_le_bytes());
        b
    }

    fn sample() -> Persisted {
        Persisted {
            manifest: Manifest {
                version: 7,
                tables: vec![TableMeta {
                    id: crate::TABLE_ID_MIN,
                    change_version: 5,
                    def: TableDef {
                        dist_style: DistStyle::Key,
                        dist_key: Some("x".into()),
                        sort_key: SortKey::Compound(vec!["x".into()]),
                        ..TableDef::new(
                            "public",
                            "t",
                            vec![ColumnDef {
                                name: "x".into(),
                                ty: SqlType::Decimal {
                                    precision: 38,
                                    scale: 2,
                                },
                                nullable: true,
                                encoding: ColumnEncoding::Az64,
                            }],
                        )
                    },
                    segments: vec![SegmentMeta {
                        id: 3,
                        rows: 2,
                        bytes: 100,
                        zone_maps: vec![ZoneMap {
                            row_count: 2,
                            null_count: 0,
                            min: Some(crate::ZoneValue::Decimal(-(10i128.pow(38) - 1))),
                            max: Some(crate::ZoneValue::Decimal(10i128.pow(38) - 1)),
                            min_exact: true,
                            max_exact: true,
                        }],
                        deleted: DeleteVector::from_rows([1]),
                        columns: None,
                        resident: None,
                    }],
                }],
                security: Security::default(),
                external: ExternalCatalog::default(),
                objects: Objects::default(),
            },
            next_table_id: crate::TABLE_ID_MIN + 1,
            next_segment_id: 4,
        }
    }

    #[test]
    fn manifest_round_trips_and_names_sort_by_version() {
        // Input: a manifest with one DECIMAL(38,2) table holding 38-digit zone-map bounds.
        let p = sample();
        let bytes = encode(&p).unwrap();
        assert_eq!(&bytes[..8], b"BASALTMF");
        assert_eq!(decode(Path::new("m"), &bytes).unwrap(), p);
        assert_eq!(file_name(42), "00000000000000000042.manifest");
        assert_eq!(parse_file_name(&file_name(42)), Some(42));
        assert_eq!(parse_file_name(&file_name(u64::MAX)), Some(u64::MAX));
        assert_eq!(parse_file_name("42.manifest"), None);
        assert_eq!(parse_file_name("00000000000000000042.manifest.tmp"), None);
        assert!(file_name(9) < file_name(10));
    }

    #[test]
    fn version_1_manifests_without_delete_vectors_still_read() {
        // Input: the sample without deleted rows, encoded, then its header's format version
        // set to 1 and its checksum recomputed, as a version 1 writer produced it; and the
        // same with version 3.
        let mut p = sample();
        p.manifest.tables[0].segments[0].deleted = DeleteVector::new();
        let bytes = encode(&p).unwrap();
        assert!(!String::from_utf8_lossy(&bytes[HEADER_BYTES..]).contains("deleted"));
        assert_eq!(decode(Path::new("m"), &reframed(&bytes, 1)).unwrap(), p);
        assert!(matches!(
            decode(
                Path::new("m"),
                &reframed(&bytes, MANIFEST_FORMAT_VERSION + 1)
            ),
            Err(Error::Corrupt { .. })
        ));
    }

    #[test]
    fn version_2_manifests_without_table_attributes_read_as_auto() {
        // Input: the sample's payload with the version 3 fields (`dist_style`, `dist_key`,
        // `sort_key`, `columns[].encoding`) removed, framed as format version 2.
        let p = sample();
        let bytes = encode(&p).unwrap();
        let mut json: serde_json::Value = serde_json::from_slice(&bytes[HEADER_BYTES..]).unwrap();
        let def = &mut json["tables"][0]["def"];
        let def = def.as_object_mut().unwrap();
        for key in ["dist_style", "dist_key", "sort_key"] {
            assert!(def.remove(key).is_some(), "{key}");
        }
        let column = def["columns"][0].as_object_mut().unwrap();
        assert!(column.remove("encoding").is_some());
        let payload = serde_json::to_vec(&json).unwrap();
        let mut old = bytes[..HEADER_BYTES].to_vec();
        old[12..20].copy_from_slice(&(payload.len() as u64).to_le_bytes());
        old.extend_from_slice(&payload);
        let back = decode(Path::new("m"), &reframed(&old, 2)).unwrap();
        let def = &back.manifest.tables[0].def;
        assert_eq!(def.dist_style, DistStyle::Auto);
        assert_eq!(def.dist_key, None);
        assert_eq!(def.sort_key, SortKey::Auto);
        assert_eq!(def.columns[0].encoding, ColumnEncoding::Auto);
    }

    #[test]
    fn version_5_keeps_roles_grants_and_owners() {
        // Input: the sample with a user, a group holding it, a grant on the table and the
        // table owned by the user; then the same framed as version 3 without those fields.
        use crate::security::{Grant, GrantObject, Membership, Role};
        let mut p = sample();
        let user = Role {
            oid: 100,
            name: "alice".into(),
            group: false,
            login: true,
            superuser: false,
            create_db: true,
            create_role: false,
            connection_limit: 3,
            valid_until: Some(1_700_000_000_000_000),
            password: Some("md5b2ea9e1d4a3a2c3b4f5e6d7c8b9a0f1e".into()),
        };
        let group = Role {
            oid: 101,
            name: "staff".into(),
            group: true,
            login: false,
            password: None,
            valid_until: None,
            ..user.clone()
        };
        p.manifest.security = Security {
            change_version: 6,
            next_role_oid: 102,
            roles: vec![user, group],
            members: vec![Membership {
                group: 101,
                member: 100,
            }],
            grants: vec![Grant {
                object: GrantObject::Table(crate::TABLE_ID_MIN),
                grantee: 101,
                grantor: 100,
                privileges: "r".into(),
                grantable: String::new(),
            }],
        };
        p.manifest.tables[0].def.owner = Some(100);
        let bytes = encode(&p).unwrap();
        assert_eq!(decode(Path::new("m"), &bytes).unwrap(), p);

        // A security catalog changed after the manifest's own version is inconsistent.
        let mut later = p.clone();
        later.manifest.security.change_version = 8;
        assert!(check(&later).is_err());

        let old = sample();
        let text = String::from_utf8_lossy(&encode(&old).unwrap()[HEADER_BYTES..]).into_owned();
        assert!(!text.contains("security") && !text.contains("owner"));
        let back = decode(Path::new("m"), &reframed(&encode(&old).unwrap(), 3)).unwrap();
        assert!(back.manifest.security.is_empty());
        assert_eq!(back.manifest.tables[0].def.owner, None);
    }

    #[test]
    fn external_catalog_round_trips_and_older_manifests_have_none() {
        // Input: the sample with one external schema and a partitioned Parquet table; then
        // the sample without one, whose payload must not mention `external` (so a version 3
        // reader's view of it is unchanged), framed as version 3.
        let mut p = sample();
        p.manifest.external = ExternalCatalog {
            schemas: vec![crate::ExternalSchema {
                name: "spectrum".into(),
                database: "db".into(),
                iam_role: Some("arn:aws:iam::1:role/r".into()),
            }],
            tables: vec![crate::ExternalTable {
                schema: "spectrum".into(),
                name: "sales".into(),
                columns: p.manifest.tables[0].def.columns.clone(),
                partition_columns: vec![ColumnDef {
                    name: "day".into(),
                    ty: SqlType::Date,
                    nullable: true,
                    encoding: ColumnEncoding::Auto,
                }],
                stored_as: "PARQUET".into(),
                serde: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe".into(),
                serde_parameters: [("serialization.format".to_string(), "1".to_string())]
                    .into_iter()
                    .collect(),
                location: "/data/sales".into(),
                properties: [("numRows".to_string(), "10".to_string())]
                    .into_iter()
                    .collect(),
                partitions: vec![crate::ExternalPartition {
                    values: vec!["2024-01-01".into()],
                    location: "/data/other".into(),
                }],
            }],
        };
        let bytes = encode(&p).unwrap();
        assert_eq!(&bytes[8..12], &MANIFEST_FORMAT_VERSION.to_le_bytes());
        assert_eq!(decode(Path::new("m"), &bytes).unwrap(), p);

        let plain = sample();
        let bytes = encode(&plain).unwrap();
        assert!(!String::from_utf8_lossy(&bytes[HEADER_BYTES..]).contains("external"));
        let back = decode(Path::new("m"), &reframed(&bytes, 3)).unwrap();
        assert!(back.manifest.external.is_empty());

        // An external table whose schema is missing is corrupt.
        let mut orphan = p.clone();
        orphan.manifest.external.schemas.clear();
        assert!(check(&orphan).is_err());
    }

    #[test]
    fn version_6_keeps_views_and_indexes_and_older_manifests_have_none() {
        // Input: the sample with a view over its table and an index on it; then the plain
        // sample, whose payload must not mention `objects`, framed as version 5.
        use crate::objects::{IndexColumn, IndexDef, ViewDef};
        let mut p = sample();
        let table = p.manifest.tables[0].id;
        p.next_table_id = table + 3;
        p.manifest.objects = Objects {
            comments: Vec::new(),
            views: vec![ViewDef {
                id: table + 1,
                schema: "public".into(),
                name: "v".into(),
                owner: Some(100),
                columns: p.manifest.tables[0].def.columns.clone(),
                query: "SELECT x FROM t".into(),
                schema_binding: true,
                depends_on: vec![table],
            }],
            indexes: vec![IndexDef {
                id: table + 2,
                schema: "public".into(),
                name: "t_x".into(),
                table,
                method: "btree".into(),
                unique: false,
                columns: vec![IndexColumn {
                    name: "x".into(),
                    descending: true,
                    nulls_first: Some(false),
                }],
            }],
            schemas: Vec::new(),
            constraints: Vec::new(),
        };
        let bytes = encode(&p).unwrap();
        assert_eq!(&bytes[8..12], &MANIFEST_FORMAT_VERSION.to_le_bytes());
        assert_eq!(decode(Path::new("m"), &bytes).unwrap(), p);

        // A view id at the counter, and a view over a missing table, are corrupt.
        let mut counter = p.clone();
        counter.next_table_id = table + 1;
        assert!(check(&counter).is_err());
        let mut dangling = p.clone();
        dangling.manifest.objects.views[0].depends_on = vec![table + 7];
        assert!(check(&dangling).is_err());

        let plain = sample();
        let bytes = encode(&plain).unwrap();
        assert!(!String::from_utf8_lossy(&bytes[HEADER_BYTES..]).contains("objects"));
        let back = decode(Path::new("m"), &reframed(&bytes, 5)).unwrap();
        assert!(back.manifest.objects.is_empty());
    }

    #[test]
    fn version_8_keeps_schemas_and_temporary_tables_and_older_manifests_have_none() {
        // Input: the sample with its table moved into user schema `sales`, a second schema,
        // and a temporary table; then the same payload framed as version 7, and the plain
        // sample, whose payload must not mention `schemas`.
        use crate::objects::SchemaDef;
        let mut p = sample();
        let table = p.manifest.tables[0].id;
        p.next_table_id = table + 4;
        p.manifest.tables[0].def.schema = "sales".into();
        let mut temp = p.manifest.tables[0].clone();
        temp.id = table + 3;
        temp.def.schema = "pg_temp_2".into();
        temp.segments.clear();
        p.manifest.tables.push(temp);
        p.manifest.objects.schemas = vec![
            SchemaDef {
                id: table + 1,
                name: "sales".into(),
                owner: Some(100),
            },
            SchemaDef {
                id: table + 2,
                name: "Empty Schema".into(),
                owner: None,
            },
        ];
        let bytes = encode(&p).unwrap();
        assert_eq!(&bytes[8..12], &MANIFEST_FORMAT_VERSION.to_le_bytes());
        let payload = String::from_utf8_lossy(&bytes[HEADER_BYTES..]).into_owned();
        assert!(payload.contains(
            r#""schemas":[{"id":16385,"name":"sales","owner":100},{"id":16386,"name":"Empty Schema"}]"#
        ));
        assert_eq!(decode(Path::new("m"), &bytes).unwrap(), p);

        // A schema id at the counter, a table in a dropped schema and a reserved schema name
        // are corrupt.
        let mut counter = p.clone();
        counter.next_table_id = table + 2;
        assert!(check(&counter).is_err());
        let mut homeless = p.clone();
        homeless.manifest.objects.schemas.remove(0);
        assert!(check(&homeless).is_err());
        let mut reserved = p.clone();
        reserved.manifest.objects.schemas[1].name = "pg_mine".into();
        assert!(check(&reserved).is_err());

        // A version 7 file has no schemas; this build reads it.
        let plain = sample();
        let bytes = encode(&plain).unwrap();
        assert!(!String::from_utf8_lossy(&bytes[HEADER_BYTES..]).contains("schemas"));
        let back = decode(Path::new("m"), &reframed(&bytes, 7)).unwrap();
        assert!(back.manifest.objects.schemas.is_empty());
        assert_eq!(back, plain);
    }

    #[test]
    fn constraints_round_trip_and_older_manifests_have_none() {
        // Input: the sample with a primary key on x (and its unique index) and a second
        // table whose column references it; then the sample with only an index, whose
        // payload must not mention `constraints`, framed as the version before constraints.
        use crate::objects::{ConstraintDef, ConstraintKind, ForeignKey, IndexColumn, IndexDef};
        let mut p = sample();
        let table = p.manifest.tables[0].id;
        let mut child = p.manifest.tables[0].clone();
        child.id = table + 1;
        child.def.name = "u".into();
        child.segments.clear();
        p.manifest.tables.push(child);
        p.next_table_id = table + 5;
        let index = IndexDef {
            id: table + 2,
            schema: "public".into(),
            name: "t_pkey".into(),
            table,
            method: "btree".into(),
            unique: true,
            columns: vec![IndexColumn {
                name: "x".into(),
                descending: false,
                nulls_first: None,
            }],
        };
        p.manifest.objects.indexes.push(index.clone());
        p.manifest.objects.constraints = vec![
            ConstraintDef {
                id: table + 3,
                name: "t_pkey".into(),
                table,
                kind: ConstraintKind::PrimaryKey,
                columns: vec!["x".into()],
                index: Some(table + 2),
                references: None,
            },
            ConstraintDef {
                id: table + 4,
                name: "fk".into(),
                table: table + 1,
                kind: ConstraintKind::ForeignKey,
                columns: vec!["x".into()],
                index: None,
                references: Some(ForeignKey {
                    table,
                    columns: vec!["x".into()],
                    on_update: 'a',
                    on_delete: 'n',
                }),
            },
        ];
        let bytes = encode(&p).unwrap();
        assert_eq!(&bytes[8..12], &MANIFEST_FORMAT_VERSION.to_le_bytes());
        let text = String::from_utf8_lossy(&bytes[HEADER_BYTES..]).into_owned();
        assert!(text.contains(r#""kind":"foreign_key""#), "{text}");
        assert!(text.contains(r#""on_delete":"n""#) && !text.contains("on_update"));
        assert_eq!(decode(Path::new("m"), &bytes).unwrap(), p);

        // A constraint id that is also a relation's, or at the counter, is corrupt.
        let mut reused = p.clone();
        reused.manifest.objects.constraints[1].id = table + 2;
        assert!(check(&reused).is_err());
        let mut counter = p.clone();
        counter.next_table_id = table + 4;
        assert!(check(&counter).is_err());

        let mut plain = sample();
        plain.manifest.objects.indexes.push(IndexDef {
            unique: false,
            ..index
        });
        plain.next_table_id = table + 3;
        let bytes = encode(&plain).unwrap();
        assert!(!String::from_utf8_lossy(&bytes[HEADER_BYTES..]).contains("constraints"));
        let back = decode(
            Path::new("m"),
            &reframed(&bytes, CONSTRAINTS_FORMAT_VERSION - 1),
        )
        .unwrap();
        assert_eq!(back, plain);
    }

    #[test]
    fn comments_round_trip_and_older_versions_have_none() {
        // Input: the sample with a table comment and a column comment.
        let mut p = sample();
        let table = p.manifest.tables[0].id;
        p.manifest
            .objects
            .set_comment(table, None, Some("orders".into()));
        p.manifest
            .objects
            .set_comment(table, Some("x"), Some("it's the key".into()));
        let bytes = encode(&p).unwrap();
        assert_eq!(&bytes[8..12], &MANIFEST_FORMAT_VERSION.to_le_bytes());
        let back = decode(Path::new("m"), &bytes).unwrap();
        assert_eq!(back, p);
        assert_eq!(
            back.manifest.objects.comment(table, Some("x")),
            Some("it's the key")
        );
        // Setting NULL removes a comment; the sample without comments writes no field.
        p.manifest.objects.set_comment(table, None, None);
        p.manifest.objects.set_comment(table, Some("x"), None);
        let bytes = encode(&p).unwrap();
        assert!(!String::from_utf8_lossy(&bytes[HEADER_BYTES..]).contains("comments"));
        let back = decode(
            Path::new("m"),
            &reframed(&bytes, COMMENTS_FORMAT_VERSION - 1),
        )
        .unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn column_ids_round_trip_and_older_versions_read_as_positions() {
        // Input: the sample after ADD y INTEGER DEFAULT 4 and DROP x (its segment holding id
        // 0), then the unaltered sample framed as version 10; then a segment naming an id
        // past the counter.
        let mut p = sample();
        let before = p.manifest.tables[0].def.ids();
        let t = &mut p.manifest.tables[0];
        t.def.dist_style = DistStyle::Auto;
        t.def.dist_key = None;
        t.def.sort_key = SortKey::Auto;
        let four: arrow_array::ArrayRef =
            std::sync::Arc::new(arrow_array::Int32Array::from(vec![4]));
        t.def
            .add_column(
                ColumnDef {
                    name: "y".into(),
                    ty: SqlType::Integer,
                    nullable: true,
                    encoding: ColumnEncoding::Auto,
                },
                Some(four.as_ref()),
            )
            .unwrap();
        t.def.drop_column(0);
        t.segments[0].columns = Some(before.clone().into());
        let bytes = encode(&p).unwrap();
        assert_eq!(&bytes[8..12], &COLUMN_IDS_FORMAT_VERSION.to_le_bytes());
        let back = decode(Path::new("m"), &bytes).unwrap();
        assert_eq!(back, p);
        let def = &back.manifest.tables[0].def;
        assert_eq!(def.ids(), vec![1]);
        let value = def.default_value(0).unwrap().unwrap();
        assert_eq!(value.as_ref(), four.as_ref());
        assert_eq!(back.manifest.tables[0].segments[0].zone_map(def, 0), None);

        // A version 10 manifest names no ids: positions, and segments of the definition.
        let old = sample();
        let bytes = encode(&old).unwrap();
        let payload = String::from_utf8_lossy(&bytes[HEADER_BYTES..]).into_owned();
        assert!(!payload.contains("column_ids") && !payload.contains("defaults"));
        let back = decode(
            Path::new("m"),
            &reframed(&bytes, COLUMN_IDS_FORMAT_VERSION - 1),
        )
        .unwrap();
        assert_eq!(back, old);
        assert_eq!(back.manifest.tables[0].def.ids(), before);

        p.manifest.tables[0].segments[0].columns = Some(vec![0, 7].into());
        let bytes = encode(&p).unwrap();
        assert!(decode(Path::new("m"), &bytes).is_err());
    }

    #[test]
    fn every_flipped_byte_and_every_truncation_is_corrupt() {
        // Input: the sample manifest with each byte flipped in turn, then cut at each length.
        let bytes = encode(&sample()).unwrap();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x20;
            assert!(
                matches!(decode(Path::new("m"), &bad), Err(Error::Corrupt { .. })),
                "byte {i}"
            );
        }
        for len in 0..bytes.len() {
            assert!(matches!(
                decode(Path::new("m"), &bytes[..len]),
                Err(Error::Corrupt { .. })
            ));
        }
    }

    #[test]
    fn checked_invariants_reject_inconsistent_manifests() {
        // Input: the sample with a duplicated table, a table id at the counter, and a segment
        // whose zone map counts other rows.
        let mut dup = sample();
        let t = dup.manifest.tables[0].clone();
        dup.manifest.tables.push(t);
        assert!(check(&dup).is_err());

        let mut id = sample();
        id.next_table_id = crate::TABLE_ID_MIN;
        assert!(check(&id).is_err());

        let mut zone = sample();
        zone.manifest.tables[0].segments[0].zone_maps[0].row_count = 3;
        assert!(check(&zone).is_err());

        let mut deleted = sample();
        deleted.manifest.tables[0].segments[0].deleted = DeleteVector::from_rows([2]);
        assert!(check(&deleted).is_err());

        // Input: table attributes naming a missing column, KEY without a key, a key without
        // KEY, and an encoding that does not fit the column's type.
        let mut dist = sample();
        dist.manifest.tables[0].def.dist_key = Some("y".into());
        assert!(check(&dist).is_err());
        dist.manifest.tables[0].def.dist_key = None;
        assert!(check(&dist).is_err());
        let mut even = sample();
        even.manifest.tables[0].def.dist_style = DistStyle::Even;
        assert!(check(&even).is_err());
        let mut sort = sample();
        sort.manifest.tables[0].def.sort_key = SortKey::Interleaved(vec!["x".into(), "x".into()]);
        assert!(check(&sort).is_err());
        let mut encoding = sample();
        encoding.manifest.tables[0].def.columns[0].encoding = ColumnEncoding::Text255;
        assert!(check(&encoding).is_err());
        assert!(check(&sample()).is_ok());
    }
}
