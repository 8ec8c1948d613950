//! The security catalog as storage keeps it: roles (users and groups), group memberships and
//! granted privileges. It lives in the manifest (format version 5), so role changes commit,
//! roll back and recover exactly as table changes do. What the fields mean for access is the
//! engine's business; storage only keeps them consistent.
//!
//! The bootstrap superuser (OID [`BOOTSTRAP_ROLE_OID`]) is not stored: it always exists.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// The OID of the bootstrap superuser, as PostgreSQL's.
pub const BOOTSTRAP_ROLE_OID: u32 = 10;
/// The first OID handed to a created role (Redshift numbers its users from 100).
pub const ROLE_OID_MIN: u32 = 100;
/// The grantee of a privilege granted to PUBLIC.
pub const PUBLIC_ROLE_OID: u32 = 0;
/// The privilege letters of PostgreSQL's `aclitem`, in its order: INSERT, SELECT, UPDATE,
/// DELETE, TRUNCATE, REFERENCES, TRIGGER, USAGE, CREATE, TEMPORARY, CONNECT.
pub const PRIVILEGE_LETTERS: &str = "arwdDxtUCTc";

/// Roles, memberships and grants of one database version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Security {
    /// The manifest version of the last commit that changed this catalog; commits that change
    /// it compare this with their base version to detect a concurrent change.
    pub change_version: u64,
    /// The next role OID to hand out; above every role OID ever committed.
    pub next_role_oid: u32,
    /// Users and groups, in creation order.
    pub roles: Vec<Role>,
    /// Which roles belong to which groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Membership>,
    /// Privileges granted on tables, schemas and the database. An object without any grant
    /// has its default privileges (see the engine); the first GRANT or REVOKE on it writes
    /// them out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<Grant>,
}

impl Default for Security {
    fn default() -> Self {
        Security {
            change_version: 0,
            next_role_oid: ROLE_OID_MIN,
            roles: Vec::new(),
            members: Vec::new(),
            grants: Vec::new(),
        }
    }
}

/// A user (a role that may log in) or a group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    pub oid: u32,
    pub name: String,
    /// A group (CREATE GROUP): listed in `pg_group`, never logs in.
    #[serde(default)]
    pub group: bool,
    /// May log in (every user; a PostgreSQL CREATE ROLE without LOGIN may not).
    pub login: bool,
    pub superuser: bool,
    pub create_db: bool,
    /// May create, alter and drop roles (Redshift's CREATEUSER, PostgreSQL's CREATEROLE).
    pub create_role: bool,
    /// Most concurrent connections; `-1` for no limit.
    pub connection_limit: i32,
    /// When the password stops being valid, as microseconds since 1970-01-01 00:00 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<i64>,
    /// The password as PostgreSQL keeps it in `pg_authid.rolpassword`: a SCRAM-SHA-256
    /// verifier (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, base64) or an
    /// MD5 hash (`md5` and 32 hex digits). Never the password itself. `None`: no password
    /// (the role cannot log in with one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// `member` belongs to group `group` (both role OIDs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Membership {
    pub group: u32,
    pub member: u32,
}

/// The privileges one grantor gave one grantee on one object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    pub object: GrantObject,
    /// The role OID, or [`PUBLIC_ROLE_OID`] for PUBLIC.
    pub grantee: u32,
    pub grantor: u32,
    /// Privilege letters of [`PRIVILEGE_LETTERS`], each at most once, in that order. Empty on
    /// the one entry an object keeps once every privilege on it was revoked (so its defaults
    /// do not return).
    pub privileges: String,
    /// The letters of `privileges` granted WITH GRANT OPTION.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub grantable: String,
}

/// What a grant is on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GrantObject {
    /// A table, by id.
    Table(u64),
    /// A schema, by name.
    Schema(String),
    /// The database.
    Database,
}

impl Security {
    /// True for a catalog with nothing in it, which a manifest leaves out.
    pub fn is_empty(&self) -> bool {
        *self == Security::default()
    }

    /// The role named `name`.
    pub fn role(&self, name: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.name == name)
    }

    /// The role with OID `oid`.
    pub fn role_by_oid(&self, oid: u32) -> Option<&Role> {
        self.roles.iter().find(|r| r.oid == oid)
    }

    /// Checks what every manifest's security catalog holds: role OIDs unique and in range,
    /// names unique and non-empty, memberships between existing roles into groups, once each,
    /// grants to existing roles or PUBLIC with valid privilege letters. The error says what is
    /// wrong. Table ids in grants are not checked against the tables: a dropped table's grants
    /// are harmless, as table ids are never reused.
    pub fn check(&self) -> Result<(), String> {
        let mut oids = BTreeSet::new();
        let mut names = BTreeSet::new();
        for r in &self.roles {
            if r.oid < ROLE_OID_MIN || r.oid >= self.next_role_oid {
                return Err(format!(
                    "role {} has OID {} outside {ROLE_OID_MIN}..{}",
                    r.name, r.oid, self.next_role_oid
                ));
            }
            if !oids.insert(r.oid) {
                return Err(format!("role OID {} appears twice", r.oid));
            }
            if r.name.is_empty() || !names.insert(r.name.as_str()) {
                return Err(format!("role name {:?} is empty or appears twice", r.name));
            }
            if r.group && r.login {
                return Err(format!("group {} may log in", r.name));
            }
        }
        let mut pairs = BTreeSet::new();
        for m in &self.members {
            if !self.role_by_oid(m.group).is_some_and(|g| g.group) {
                return Err(format!("membership in {}, which is no group", m.group));
            }
            if self.role_by_oid(m.member).is_none() {
                return Err(format!("membership of unknown role {}", m.member));
            }
            if !pairs.insert((m.group, m.member)) {
                return Err(format!("role {} is in group {} twice", m.member, m.group));
            }
        }
        let mut grants = BTreeSet::new();
        for g in &self.grants {
            let known = |oid: u32| {
                oid == PUBLIC_ROLE_OID
                    || oid == BOOTSTRAP_ROLE_OID
                    || self.role_by_oid(oid).is_some()
            };
            if !known(g.grantee) {
                return Err(format!("grant to unknown role {}", g.grantee));
            }
            check_letters(&g.privileges)?;
            check_letters(&g.grantable)?;
            if !g.grantable.chars().all(|c| g.privileges.contains(c)) {
                return Err(format!(
                    "grant {:?} with grant option {:?}",
                    g.privileges, g.grantable
                ));
            }
            if !grants.insert((&g.object, g.grantee, g.grantor)) {
                return Err(format!(
                    "two grants on {:?} to {} by {}",
                    g.object, g.grantee, g.grantor
                ));
            }
        }
        Ok(())
    }
}

/// Letters of [`PRIVILEGE_LETTERS`], each at most once, in its order.
fn check_letters(letters: &str) -> Result<(), String> {
    let mut last = None;
    for c in letters.chars() {
        let Some(at) = PRIVILEGE_LETTERS.find(c) else {
            return Err(format!("unknown privilege letter {c:?}"));
        };
        if last.is_some_and(|l| l >= at) {
            return Err(format!("privilege letters {letters:?} out of order"));
        }
        last = Some(at);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(oid: u32, name: &str, group: bool) -> Role {
        Role {
            oid,
            name: name.into(),
            group,
            login: !group,
            superuser: false,
            create_db: false,
            create_role: false,
            connection_limit: -1,
            valid_until: None,
            password: None,
        }
    }

    fn sample() -> Security {
        Security {
            change_version: 3,
            next_role_oid: 102,
            roles: vec![role(100, "alice", false), role(101, "staff", true)],
            members: vec![Membership {
                group: 101,
                member: 100,
            }],
            grants: vec![Grant {
                object: GrantObject::Table(16384),
                grantee: 101,
                grantor: 10,
                privileges: "arw".into(),
                grantable: "r".into(),
            }],
        }
    }

    // A consistent catalog, then one broken invariant at a time.
    #[test]
    fn check_rejects_each_broken_invariant() {
        assert!(sample().check().is_ok());
        assert!(Security::default().is_empty());
        let mut s = sample();
        s.roles[1].name = "alice".into();
        assert!(s.check().is_err());
        let mut s = sample();
        s.roles[0].oid = 102;
        assert!(s.check().is_err());
        let mut s = sample();
        s.members[0].group = 100;
        assert!(s.check().is_err());
        let mut s = sample();
        s.members.push(s.members[0].clone());
        assert!(s.check().is_err());
        let mut s = sample();
        s.grants[0].grantee = 7;
        assert!(s.check().is_err());
        let mut s = sample();
        s.grants[0].privileges = "wr".into();
        assert!(s.check().is_err());
        let mut s = sample();
        s.grants[0].grantable = "d".into();
        assert!(s.check().is_err());
        let mut s = sample();
        s.grants[0].grantee = PUBLIC_ROLE_OID;
        assert!(s.check().is_ok());
    }

    // The JSON form round trips and leaves out empty lists.
    #[test]
    fn json_round_trips() {
        let s = sample();
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("\"object\":{\"table\":16384}"), "{json}");
        assert_eq!(serde_json::from_str::<Security>(&json).unwrap(), s);
        let mut bare = sample();
        bare.members.clear();
        bare.grants.clear();
        let json = serde_json::to_string(&bare).unwrap();
        assert!(!json.contains("members") && !json.contains("grants"));
    }
}
