//! Users, groups and privileges.
//!
//! - `parse`: the role and privilege statements (CREATE / ALTER / DROP USER, ROLE and GROUP,
//!   GRANT, REVOKE, SET SESSION AUTHORIZATION), read from tokens.
//! - `password`: Redshift's password rules; passwords become SCRAM-SHA-256 verifiers (or stay
//!   the MD5 hash they were given as).
//! - this module: who a session is ([`Actor`]), what it may do (privilege checks against the
//!   catalog's grants and each object's default privileges), the role statements as pure
//!   functions from one [`Security`] catalog to the next, and `aclitem` text.
//!
//! The catalog itself lives in the manifest (`basalt_storage::security`), so role changes are
//! transactional like table changes. The bootstrap superuser `basalt` (OID 10) is not in it:
//! it always exists, cannot be altered with SQL, and owns every table created before roles
//! existed.
//!
//! Default privileges, as PostgreSQL's `acldefault` but with Redshift's public schema:
//! a table's owner holds everything on it and nobody else anything; every role may use
//! (`U`) and create in (`C`) schema `public`, and use `pg_catalog` and `information_schema`;
//! every role may connect (`c`) and create temporary tables (`T`) in the database. The first
//! GRANT or REVOKE on an object writes its defaults out as grants, then changes them.

pub mod parse;
pub mod password;
mod session;

pub(crate) use session::{check_reads, check_view_reads};

use basalt_storage::security::{
    Grant, GrantObject, Membership, Role, Security, BOOTSTRAP_ROLE_OID, PUBLIC_ROLE_OID,
};
use basalt_storage::{Manifest, TableMeta};

pub use parse::Command;
use parse::{Grantee, Objects, RoleKind, RoleOption};
pub use password::Credential;

use crate::error::{Error, Result};

/// The bootstrap superuser's name.
pub const BOOTSTRAP_ROLE: &str = "basalt";
/// The one database.
pub(crate) const DATABASE: &str = "dev";
/// Every privilege of a table, a schema, the database (`ALL`), in aclitem order.
pub const TABLE_PRIVILEGES: &str = "arwdDxt";
pub const SCHEMA_PRIVILEGES: &str = "UC";
pub const DATABASE_PRIVILEGES: &str = "CTc";

/// The role a statement runs as, with what the catalog says about it.
#[derive(Clone, Debug)]
pub struct Actor {
    pub oid: u32,
    pub name: String,
    pub superuser: bool,
    pub create_role: bool,
    pub create_db: bool,
    /// The groups it belongs to.
    pub groups: Vec<u32>,
}

impl Actor {
    /// Ok when this role may alter an object owned by `owner` (`None`: the bootstrap
    /// superuser): it owns it or is a superuser; otherwise 42501 "must be owner of
    /// `kind` `name`".
    pub fn require_owner(&self, owner: Option<u32>, kind: &str, name: &str) -> Result<()> {
        if self.superuser || self.oid == owner.unwrap_or(BOOTSTRAP_ROLE_OID) {
            Ok(())
        } else {
            Err(Error::InsufficientPrivilege {
                message: format!("must be owner of {kind} {name}"),
            })
        }
    }

    /// Ok when this role may make the role `oid` the owner of an object in `schema`, as
    /// PostgreSQL's ALTER ... OWNER TO checks: a superuser always; anyone else only for a role
    /// it is (a member of), which must be able to create in the schema (42501 otherwise).
    pub fn require_can_give(&self, manifest: &Manifest, oid: u32, schema: &str) -> Result<()> {
        if self.superuser {
            return Ok(());
        }
        if !self.holds(oid) {
            return Err(Error::InsufficientPrivilege {
                message: format!(
                    "must be able to SET ROLE \"{}\"",
                    role_name(&manifest.security, oid)
                ),
            });
        }
        check_schema(manifest, &Actor::of(&manifest.security, oid), schema, 'C')
    }

    /// The role with OID `oid` in `security`. A role that no longer exists (dropped while its
    /// session was open) holds no privileges at all.
    pub fn of(security: &Security, oid: u32) -> Actor {
        if oid == BOOTSTRAP_ROLE_OID {
            return Actor {
                oid,
                name: BOOTSTRAP_ROLE.into(),
                superuser: true,
                create_role: true,
                create_db: true,
                groups: Vec::new(),
            };
        }
        match security.role_by_oid(oid) {
            Some(r) => Actor {
                oid,
                name: r.name.clone(),
                superuser: r.superuser,
                create_role: r.create_role || r.superuser,
                create_db: r.create_db || r.superuser,
                groups: security
                    .members
                    .iter()
                    .filter(|m| m.member == oid)
                    .map(|m| m.group)
                    .collect(),
            },
            None => Actor {
                oid,
                name: format!("unknown (OID={oid})"),
                superuser: false,
                create_role: false,
                create_db: false,
                groups: Vec::new(),
            },
        }
    }

    /// Whether a grant to `grantee` applies to this role.
    pub(crate) fn holds(&self, grantee: u32) -> bool {
        grantee == PUBLIC_ROLE_OID || grantee == self.oid || self.groups.contains(&grantee)
    }
}

/// For `SET ROLE name | NONE`, `SET role = name`, `RESET ROLE`: the role named (`None` for
/// NONE and RESET) and whether the statement is SET LOCAL.
pub(crate) fn role_statement(stmt: &sqlparser::ast::Statement) -> Option<(Option<String>, bool)> {
    use sqlparser::ast::{ContextModifier, Expr, Reset, Set, Statement, Value};
    let name_of = |ident: &sqlparser::ast::Ident| {
        let name = crate::planner::bind::normalize_ident(ident);
        (!name.eq_ignore_ascii_case("none") || ident.quote_style.is_some()).then_some(name)
    };
    match stmt {
        Statement::Set(Set::SetRole {
            context_modifier,
            role_name,
        }) => Some((
            role_name.as_ref().and_then(name_of),
            *context_modifier == Some(ContextModifier::Local),
        )),
        Statement::Set(Set::SingleAssignment {
            scope,
            hivevar: false,
            variable,
            values,
        }) if variable.to_string().eq_ignore_ascii_case("role") => {
            let name = match values.as_slice() {
                [Expr::Identifier(ident)] => name_of(ident),
                [Expr::Value(v)] => match &v.value {
                    Value::SingleQuotedString(s) => {
                        (!s.eq_ignore_ascii_case("none")).then(|| s.clone())
                    }
                    _ => return None,
                },
                _ => return None,
            };
            Some((name, *scope == Some(ContextModifier::Local)))
        }
        Statement::Reset(reset) => match &reset.reset {
            Reset::ConfigurationParameter(name)
                if name.to_string().eq_ignore_ascii_case("role") =>
            {
                Some((None, false))
            }
            _ => None,
        },
        _ => None,
    }
}

/// The OID of role `name`: the bootstrap superuser or a catalog role.
pub fn role_oid(security: &Security, name: &str) -> Option<u32> {
    if name == BOOTSTRAP_ROLE {
        return Some(BOOTSTRAP_ROLE_OID);
    }
    security.role(name).map(|r| r.oid)
}

/// The name of role `oid`, as `pg_get_userbyid` shows it.
pub fn role_name(security: &Security, oid: u32) -> String {
    if oid == BOOTSTRAP_ROLE_OID {
        return BOOTSTRAP_ROLE.into();
    }
    match security.role_by_oid(oid) {
        Some(r) => r.name.clone(),
        None => format!("unknown (OID={oid})"),
    }
}

/// What the server needs to authenticate a login as a catalog role.
#[derive(Clone, Debug)]
pub struct Login {
    pub oid: u32,
    /// May log in at all (a group or a NOLOGIN role may not).
    pub can_login: bool,
    pub superuser: bool,
    /// Most concurrent connections, `-1` for no limit.
    pub connection_limit: i32,
    /// The stored password, if any.
    pub credential: Option<Credential>,
    /// When the password stops being valid (microseconds since 1970), if ever.
    pub valid_until: Option<i64>,
}

/// The login facts of catalog role `name`; `None` if there is no such catalog role.
pub fn login(security: &Security, name: &str) -> Option<Login> {
    let r = security.role(name)?;
    Some(Login {
        oid: r.oid,
        can_login: r.login,
        superuser: r.superuser,
        connection_limit: r.connection_limit,
        credential: r.password.as_deref().and_then(Credential::parse),
        valid_until: r.valid_until,
    })
}

/// A table's owner.
pub fn table_owner(table: &TableMeta) -> u32 {
    table.def.owner.unwrap_or(BOOTSTRAP_ROLE_OID)
}

/// The owner of every schema and of the database.
pub const SCHEMA_OWNER: u32 = BOOTSTRAP_ROLE_OID;

/// The grants in force on `object`: its own, or its defaults when it has none.
pub fn acl(security: &Security, object: &GrantObject, owner: u32) -> Vec<Grant> {
    let own: Vec<Grant> = security
        .grants
        .iter()
        .filter(|g| &g.object == object)
        .cloned()
        .collect();
    if !own.is_empty() {
        return own;
    }
    let grant = |grantee: u32, privileges: &str| Grant {
        object: object.clone(),
        grantee,
        grantor: owner,
        privileges: privileges.into(),
        grantable: String::new(),
    };
    match object {
        GrantObject::Table(_) => vec![grant(owner, TABLE_PRIVILEGES)],
        GrantObject::Schema(s) if s == "public" => {
            vec![grant(owner, "UC"), grant(PUBLIC_ROLE_OID, "UC")]
        }
        GrantObject::Schema(s) if s == "pg_catalog" || s == "information_schema" => {
            vec![grant(owner, "UC"), grant(PUBLIC_ROLE_OID, "U")]
        }
        GrantObject::Schema(_) => vec![grant(owner, "UC")],
        GrantObject::Database => vec![grant(owner, "CTc"), grant(PUBLIC_ROLE_OID, "Tc")],
    }
}

/// Whether `actor` holds privilege `letter` on `object` (owned by `owner`). Superusers and
/// owners hold everything.
pub fn allowed(
    security: &Security,
    actor: &Actor,
    object: &GrantObject,
    owner: u32,
    letter: char,
) -> bool {
    if actor.superuser || actor.oid == owner {
        return true;
    }
    acl(security, object, owner)
        .iter()
        .any(|g| actor.holds(g.grantee) && g.privileges.contains(letter))
}

/// Checks that `actor` may do `letter` on `table`: USAGE on its schema, then the privilege.
pub fn check_table(
    manifest: &Manifest,
    actor: &Actor,
    table: &TableMeta,
    letter: char,
) -> Result<()> {
    check_schema(manifest, actor, &table.def.schema, 'U')?;
    if allowed(
        &manifest.security,
        actor,
        &GrantObject::Table(table.id),
        table_owner(table),
        letter,
    ) {
        return Ok(());
    }
    Err(Error::InsufficientPrivilege {
        message: format!("permission denied for table {}", table.def.name),
    })
}

/// Checks that `actor` may do `letter` on `view`: USAGE on its schema, then the privilege.
pub fn check_view(
    manifest: &Manifest,
    actor: &Actor,
    view: &basalt_storage::ViewDef,
    letter: char,
) -> Result<()> {
    check_schema(manifest, actor, &view.schema, 'U')?;
    if allowed(
        &manifest.security,
        actor,
        &GrantObject::Table(view.id),
        view.owner.unwrap_or(BOOTSTRAP_ROLE_OID),
        letter,
    ) {
        return Ok(());
    }
    Err(Error::InsufficientPrivilege {
        message: format!("permission denied for view {}", view.name),
    })
}

/// The owner of schema `schema`: its creator (or the AUTHORIZATION role) for a user schema,
/// the bootstrap superuser for the built-in ones.
pub fn schema_owner(manifest: &Manifest, schema: &str) -> u32 {
    manifest
        .objects
        .schema(schema)
        .and_then(|s| s.owner)
        .unwrap_or(SCHEMA_OWNER)
}

/// Checks that `actor` holds `letter` on schema `schema`. A session's temporary schema is
/// its own: only that session ever reaches it.
pub fn check_schema(manifest: &Manifest, actor: &Actor, schema: &str, letter: char) -> Result<()> {
    if basalt_storage::is_temp_schema(schema) {
        return Ok(());
    }
    if allowed(
        &manifest.security,
        actor,
        &GrantObject::Schema(schema.into()),
        schema_owner(manifest, schema),
        letter,
    ) {
        return Ok(());
    }
    Err(Error::InsufficientPrivilege {
        message: format!("permission denied for schema {schema}"),
    })
}

/// Checks that `actor` owns `table` (or is a superuser): DROP, ALTER.
pub fn check_owner(actor: &Actor, table: &TableMeta) -> Result<()> {
    if actor.superuser || actor.oid == table_owner(table) {
        return Ok(());
    }
    Err(Error::InsufficientPrivilege {
        message: format!("must be owner of table {}", table.def.name),
    })
}

/// `grantee=privileges/grantor`, PostgreSQL's aclitem text (`*` after a grantable letter, an
/// empty grantee for PUBLIC, names double-quoted where they need it).
pub fn aclitem(security: &Security, g: &Grant) -> String {
    let name = |oid: u32| {
        if oid == PUBLIC_ROLE_OID {
            String::new()
        } else {
            quote_acl_name(&role_name(security, oid))
        }
    };
    let mut letters = String::new();
    for c in g.privileges.chars() {
        letters.push(c);
        if g.grantable.contains(c) {
            letters.push('*');
        }
    }
    format!("{}={letters}/{}", name(g.grantee), name(g.grantor))
}

fn quote_acl_name(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii());
    if plain {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// An ACL column's items: `None` (NULL) while the object has its defaults, else one
/// `aclitem` text per grantee, as PostgreSQL's `aclitem[]` holds them.
pub fn acl_items(security: &Security, object: &GrantObject) -> Option<Vec<String>> {
    let own: Vec<&Grant> = security
        .grants
        .iter()
        .filter(|g| &g.object == object)
        .collect();
    if own.is_empty() {
        return None;
    }
    Some(
        own.into_iter()
            .filter(|g| !g.privileges.is_empty())
            .map(|g| aclitem(security, g))
            .collect(),
    )
}

/// What a role statement needs besides the catalog: who runs it, who logged in, and the
/// tables of the statement's snapshot.
pub struct Context<'a> {
    pub actor: &'a Actor,
    /// The session user (changed only by SET SESSION AUTHORIZATION).
    pub session_oid: u32,
    /// The role the connection authenticated as.
    pub login_oid: u32,
    pub manifest: &'a Manifest,
    /// Where unqualified table names resolve.
    pub path: &'a crate::schemas::SearchPath,
}

/// Runs a role or privilege statement (not SET SESSION AUTHORIZATION) against `security`:
/// the catalog after it.
pub fn apply(security: &Security, command: &Command, ctx: &Context<'_>) -> Result<Security> {
    let mut next = security.clone();
    match command {
        Command::CreateRole {
            kind,
            name,
            options,
            users,
        } => create_role(&mut next, ctx, *kind, name, options, users)?,
        Command::AlterRole {
            kind: _,
            name,
            options,
        } => alter_role(&mut next, ctx, name, options)?,
        Command::RenameRole { kind: _, name, to } => rename_role(&mut next, ctx, name, to)?,
        Command::AlterGroupMembers { name, add, users } => {
            require_create_role(ctx.actor, "alter role")?;
            let group = existing_group(&next, name)?;
            for user in users {
                let member = existing(&next, user)?;
                let pair = Membership { group, member };
                if *add {
                    if !next.members.contains(&pair) {
                        next.members.push(pair);
                    }
                } else {
                    next.members.retain(|m| *m != pair);
                }
            }
        }
        Command::DropRoles {
            kind: _,
            names,
            if_exists,
        } => drop_roles(&mut next, ctx, names, *if_exists)?,
        Command::Privileges {
            grant,
            privileges,
            objects,
            grantees,
            grant_option,
        } => change_privileges(
            &mut next,
            ctx,
            *grant,
            privileges.as_deref(),
            objects,
            grantees,
            *grant_option,
        )?,
        Command::SessionAuthorization(_) | Command::ResetSessionAuthorization => {
            return Err(Error::Internal(
                "SET SESSION AUTHORIZATION is not a catalog change".into(),
            ))
        }
    }
    Ok(next)
}

fn require_create_role(actor: &Actor, what: &str) -> Result<()> {
    if actor.create_role {
        return Ok(());
    }
    Err(Error::InsufficientPrivilege {
        message: format!("permission denied to {what}"),
    })
}

fn undefined_role(name: &str) -> Error {
    Error::UndefinedRole { name: name.into() }
}

/// The OID of existing catalog role `name`; the bootstrap superuser cannot be changed.
fn existing(security: &Security, name: &str) -> Result<u32> {
    if name == BOOTSTRAP_ROLE {
        return Err(Error::Unsupported {
            message: format!(
                "role \"{BOOTSTRAP_ROLE}\" is the bootstrap superuser; its password comes from \
                 the server's configuration and it cannot be changed with SQL"
            ),
        });
    }
    security
        .role(name)
        .map(|r| r.oid)
        .ok_or_else(|| undefined_role(name))
}

fn existing_group(security: &Security, name: &str) -> Result<u32> {
    let oid = existing(security, name)?;
    match security.role_by_oid(oid) {
        Some(r) if r.group => Ok(oid),
        _ => Err(Error::WrongObjectType {
            message: format!("\"{name}\" is not a group"),
            position: None,
        }),
    }
}

fn check_new_name(security: &Security, name: &str) -> Result<()> {
    if name == "public" || name == "none" || name.starts_with("pg_") {
        return Err(Error::ReservedName {
            message: format!("role name \"{name}\" is reserved"),
        });
    }
    if name == BOOTSTRAP_ROLE || security.role(name).is_some() {
        return Err(Error::DuplicateRole { name: name.into() });
    }
    Ok(())
}

fn create_role(
    security: &mut Security,
    ctx: &Context<'_>,
    kind: RoleKind,
    name: &str,
    options: &[RoleOption],
    users: &[String],
) -> Result<()> {
    require_create_role(ctx.actor, "create role")?;
    check_new_name(security, name)?;
    let oid = security.next_role_oid;
    security.next_role_oid = oid
        .checked_add(1)
        .ok_or_else(|| Error::Internal("role OIDs exhausted".into()))?;
    let mut role = Role {
        oid,
        name: name.into(),
        group: kind == RoleKind::Group,
        login: kind == RoleKind::User,
        superuser: false,
        create_db: false,
        create_role: false,
        connection_limit: -1,
        valid_until: None,
        password: None,
    };
    let groups = set_options(&mut role, options, ctx, true)?;
    security.roles.push(role);
    for g in groups {
        let group = existing_group(security, &g)?;
        let pair = Membership { group, member: oid };
        if !security.members.contains(&pair) {
            security.members.push(pair);
        }
    }
    for u in users {
        let member = existing(security, u)?;
        let pair = Membership { group: oid, member };
        if !security.members.contains(&pair) {
            security.members.push(pair);
        }
    }
    Ok(())
}

/// Applies role options; returns the groups of IN GROUP.
fn set_options(
    role: &mut Role,
    options: &[RoleOption],
    ctx: &Context<'_>,
    creating: bool,
) -> Result<Vec<String>> {
    let mut groups = Vec::new();
    for option in options {
        match option {
            RoleOption::Superuser(on) => {
                if !ctx.actor.superuser {
                    return Err(Error::InsufficientPrivilege {
                        message: if creating {
                            "must be superuser to create superusers".into()
                        } else {
                            "must be superuser to alter superuser roles or change superuser \
                             attribute"
                                .into()
                        },
                    });
                }
                role.superuser = *on;
            }
            RoleOption::CreateDb(on) => role.create_db = *on,
            RoleOption::CreateRole(on) => role.create_role = *on,
            RoleOption::Login(on) => {
                if role.group && *on {
                    return Err(Error::InvalidParameter {
                        message: "a group cannot log in".into(),
                    });
                }
                role.login = *on;
            }
            RoleOption::ConnectionLimit(n) => {
                if *n < -1 {
                    return Err(Error::InvalidParameter {
                        message: format!("invalid connection limit: {n}"),
                    });
                }
                role.connection_limit = *n;
            }
            RoleOption::ValidUntil(text) => {
                role.valid_until = if text.trim().eq_ignore_ascii_case("infinity") {
                    None
                } else {
                    Some(crate::types::datum::parse_timestamp(text)?)
                }
            }
            RoleOption::Password(None) => role.password = None,
            RoleOption::Password(Some(text)) => {
                let credential = password::credential(text)?;
                role.password = Some(credential.to_stored());
            }
            RoleOption::InGroup(g) => {
                if !creating {
                    return Err(Error::Syntax {
                        message: "syntax error at or near \"IN\"".into(),
                        position: None,
                    });
                }
                groups.extend(g.iter().cloned());
            }
        }
    }
    if role.superuser && role.password.is_none() && options.contains(&RoleOption::Password(None)) {
        return Err(Error::InvalidParameter {
            message: "cannot disable the password of a superuser".into(),
        });
    }
    Ok(groups)
}

fn alter_role(
    security: &mut Security,
    ctx: &Context<'_>,
    name: &str,
    options: &[RoleOption],
) -> Result<()> {
    let oid = existing(security, name)?;
    let target = security
        .role_by_oid(oid)
        .cloned()
        .ok_or_else(|| undefined_role(name))?;
    // A role may change its own password; anything else needs CREATEROLE, and a superuser's
    // attributes need a superuser.
    let own_password = oid == ctx.actor.oid
        && options
            .iter()
            .all(|o| matches!(o, RoleOption::Password(Some(_))));
    if !own_password {
        if target.superuser && !ctx.actor.superuser {
            return Err(Error::InsufficientPrivilege {
                message: "must be superuser to alter superuser roles or change superuser \
                          attribute"
                    .into(),
            });
        }
        require_create_role(ctx.actor, "alter role")?;
    }
    let mut role = target;
    set_options(&mut role, options, ctx, false)?;
    if let Some(slot) = security.roles.iter_mut().find(|r| r.oid == oid) {
        *slot = role;
    }
    Ok(())
}

fn rename_role(security: &mut Security, ctx: &Context<'_>, name: &str, to: &str) -> Result<()> {
    let oid = existing(security, name)?;
    if oid == ctx.session_oid || oid == ctx.login_oid {
        return Err(Error::Unsupported {
            message: "session user cannot be renamed".into(),
        });
    }
    if oid == ctx.actor.oid {
        return Err(Error::Unsupported {
            message: "current user cannot be renamed".into(),
        });
    }
    let target_superuser = security.role_by_oid(oid).is_some_and(|r| r.superuser);
    if target_superuser && !ctx.actor.superuser {
        return Err(Error::InsufficientPrivilege {
            message: "must be superuser to rename superusers".into(),
        });
    }
    require_create_role(ctx.actor, "rename role")?;
    check_new_name(security, to)?;
    if let Some(r) = security.roles.iter_mut().find(|r| r.oid == oid) {
        r.name = to.into();
        // As PostgreSQL: an MD5 password is salted with the name, so it no longer matches.
        if r.password.as_deref().is_some_and(|p| p.starts_with("md5")) {
            r.password = None;
        }
    }
    Ok(())
}

fn drop_roles(
    security: &mut Security,
    ctx: &Context<'_>,
    names: &[String],
    if_exists: bool,
) -> Result<()> {
    require_create_role(ctx.actor, "drop role")?;
    for name in names {
        if name == BOOTSTRAP_ROLE {
            return Err(Error::DependentObjects {
                message: format!(
                    "cannot drop role {name} because it is required by the database system"
                ),
            });
        }
        let Some(role) = security.role(name).cloned() else {
            if if_exists {
                continue;
            }
            return Err(undefined_role(name));
        };
        if role.oid == ctx.actor.oid {
            return Err(Error::ObjectInUse {
                message: "current user cannot be dropped".into(),
            });
        }
        if role.oid == ctx.session_oid || role.oid == ctx.login_oid {
            return Err(Error::ObjectInUse {
                message: "session user cannot be dropped".into(),
            });
        }
        if role.superuser && !ctx.actor.superuser {
            return Err(Error::InsufficientPrivilege {
                message: "must be superuser to drop superusers".into(),
            });
        }
        let owns = ctx
            .manifest
            .tables
            .iter()
            .filter(|t| t.def.owner == Some(role.oid))
            .map(|t| format!("owner of table {}", t.def.name));
        let live = |id: u64| ctx.manifest.table_by_id(id);
        let granted = security
            .grants
            .iter()
            .filter(|g| g.grantee == role.oid || g.grantor == role.oid)
            .filter_map(|g| match &g.object {
                GrantObject::Table(id) => {
                    live(*id).map(|t| format!("privileges for table {}", t.def.name))
                }
                GrantObject::Schema(s) => Some(format!("privileges for schema {s}")),
                GrantObject::Database => Some(format!("privileges for database {DATABASE}")),
            });
        let dependents: Vec<String> = owns.chain(granted).collect();
        if !dependents.is_empty() {
            return Err(Error::DependentObjects {
                message: format!(
                    "role \"{name}\" cannot be dropped because some objects depend on it ({})",
                    dependents.join(", ")
                ),
            });
        }
        security.roles.retain(|r| r.oid != role.oid);
        security
            .members
            .retain(|m| m.group != role.oid && m.member != role.oid);
        // Grants on tables that no longer exist.
        security
            .grants
            .retain(|g| g.grantee != role.oid && g.grantor != role.oid);
    }
    Ok(())
}

/// One object a GRANT or REVOKE names: what it is, its owner, its name for messages, and its
/// kind's privileges.
struct Target {
    object: GrantObject,
    owner: u32,
    kind: &'static str,
    name: String,
    all: &'static str,
}

fn targets(
    objects: &Objects,
    manifest: &Manifest,
    path: &crate::schemas::SearchPath,
) -> Result<Vec<Target>> {
    let table = |t: &TableMeta| Target {
        object: GrantObject::Table(t.id),
        owner: table_owner(t),
        kind: "table",
        name: t.def.name.clone(),
        all: TABLE_PRIVILEGES,
    };
    let view = |v: &basalt_storage::ViewDef| Target {
        object: GrantObject::Table(v.id),
        owner: v.owner.unwrap_or(BOOTSTRAP_ROLE_OID),
        kind: "view",
        name: v.name.clone(),
        all: TABLE_PRIVILEGES,
    };
    let known_schema = |s: &str| {
        matches!(s, "public" | "pg_catalog" | "information_schema")
            || manifest.objects.schema(s).is_some()
    };
    let mut out = Vec::new();
    match objects {
        Objects::Tables(names) => {
            for (schema, name) in names {
                let schema = &path.resolve(manifest, schema.as_deref(), name);
                if let Some(v) = manifest.objects.view(schema, name) {
                    out.push(view(v));
                    continue;
                }
                let t = manifest
                    .table(schema, name)
                    .ok_or_else(|| Error::UndefinedTable {
                        name: name.clone(),
                        position: None,
                    })?;
                out.push(table(t));
            }
        }
        Objects::AllTablesIn(schemas) => {
            for s in schemas {
                if !known_schema(s) {
                    return Err(Error::UndefinedSchema {
                        name: s.clone(),
                        position: None,
                    });
                }
                out.extend(
                    manifest
                        .tables
                        .iter()
                        .filter(|t| &t.def.schema == s)
                        .map(table),
                );
                out.extend(
                    manifest
                        .objects
                        .views
                        .iter()
                        .filter(|v| &v.schema == s)
                        .map(view),
                );
            }
        }
        Objects::Schemas(schemas) => {
            for s in schemas {
                if !known_schema(s) {
                    return Err(Error::UndefinedSchema {
                        name: s.clone(),
                        position: None,
                    });
                }
                out.push(Target {
                    object: GrantObject::Schema(s.clone()),
                    owner: schema_owner(manifest, s),
                    kind: "schema",
                    name: s.clone(),
                    all: SCHEMA_PRIVILEGES,
                });
            }
        }
        Objects::Databases(names) => {
            for d in names {
                if d != DATABASE {
                    return Err(Error::UndefinedDatabase { name: d.clone() });
                }
                out.push(Target {
                    object: GrantObject::Database,
                    owner: SCHEMA_OWNER,
                    kind: "database",
                    name: d.clone(),
                    all: DATABASE_PRIVILEGES,
                });
            }
        }
    }
    Ok(out)
}

/// `letters` in aclitem order, each once.
fn ordered(letters: impl Fn(char) -> bool) -> String {
    basalt_storage::security::PRIVILEGE_LETTERS
        .chars()
        .filter(|c| letters(*c))
        .collect()
}

fn change_privileges(
    security: &mut Security,
    ctx: &Context<'_>,
    grant: bool,
    privileges: Option<&str>,
    objects: &Objects,
    grantees: &[Grantee],
    grant_option: bool,
) -> Result<()> {
    let mut oids = Vec::new();
    for g in grantees {
        oids.push(match g {
            Grantee::Public => PUBLIC_ROLE_OID,
            Grantee::Role(name) => role_oid(security, name).ok_or_else(|| undefined_role(name))?,
            Grantee::Group(name) => {
                let oid = role_oid(security, name).ok_or_else(|| undefined_role(name))?;
                if !security.role_by_oid(oid).is_some_and(|r| r.group) {
                    return Err(Error::WrongObjectType {
                        message: format!("\"{name}\" is not a group"),
                        position: None,
                    });
                }
                oid
            }
        });
    }
    for target in targets(objects, ctx.manifest, ctx.path)? {
        let wanted = match privileges {
            None => target.all.to_owned(),
            Some(letters) => {
                if let Some(bad) = letters.chars().find(|c| !target.all.contains(*c)) {
                    return Err(Error::InvalidGrantOperation {
                        message: format!(
                            "invalid privilege type {} for {}",
                            privilege_name(bad),
                            target.kind
                        ),
                    });
                }
                letters.to_owned()
            }
        };
        // As PostgreSQL: a superuser or the owner grants as the owner; anyone else as
        // themselves, and only what they hold WITH GRANT OPTION.
        let current = acl(security, &target.object, target.owner);
        let (grantor, usable) = if ctx.actor.superuser || ctx.actor.oid == target.owner {
            (target.owner, wanted.clone())
        } else {
            let held: String = current
                .iter()
                .filter(|g| ctx.actor.holds(g.grantee))
                .flat_map(|g| g.grantable.chars().collect::<Vec<_>>())
                .collect();
            let any: bool = current
                .iter()
                .any(|g| ctx.actor.holds(g.grantee) && !g.privileges.is_empty());
            let usable = ordered(|c| wanted.contains(c) && held.contains(c));
            if usable.is_empty() && !any {
                return Err(Error::InsufficientPrivilege {
                    message: format!("permission denied for {} {}", target.kind, target.name),
                });
            }
            (ctx.actor.oid, usable)
        };
        // Write the defaults out before the first change.
        let mut grants: Vec<Grant> = current;
        security.grants.retain(|g| g.object != target.object);
        for &grantee in &oids {
            let at = grants
                .iter()
                .position(|g| g.grantee == grantee && g.grantor == grantor);
            if grant {
                if usable.is_empty() {
                    continue;
                }
                let entry = match at {
                    Some(i) => &mut grants[i],
                    None => {
                        grants.push(Grant {
                            object: target.object.clone(),
                            grantee,
                            grantor,
                            privileges: String::new(),
                            grantable: String::new(),
                        });
                        let last = grants.len() - 1;
                        &mut grants[last]
                    }
                };
                let privileges = entry.privileges.clone();
                entry.privileges = ordered(|c| privileges.contains(c) || usable.contains(c));
                if grant_option {
                    let grantable = entry.grantable.clone();
                    entry.grantable = ordered(|c| grantable.contains(c) || usable.contains(c));
                }
            } else if let Some(i) = at {
                let entry = &mut grants[i];
                let grantable = entry.grantable.clone();
                entry.grantable = ordered(|c| grantable.contains(c) && !usable.contains(c));
                if !grant_option {
                    let privileges = entry.privileges.clone();
                    entry.privileges = ordered(|c| privileges.contains(c) && !usable.contains(c));
                }
            }
        }
        grants.retain(|g| !g.privileges.is_empty());
        if grants.is_empty() {
            // Everything revoked: an entry without privileges keeps the defaults from
            // returning (PostgreSQL's empty ACL, `{}`).
            grants.push(Grant {
                object: target.object.clone(),
                grantee: target.owner,
                grantor: target.owner,
                privileges: String::new(),
                grantable: String::new(),
            });
        }
        security.grants.extend(grants);
    }
    Ok(())
}

/// The keyword of a privilege letter.
pub fn privilege_name(letter: char) -> &'static str {
    match letter {
        'r' => "SELECT",
        'a' => "INSERT",
        'w' => "UPDATE",
        'd' => "DELETE",
        'D' => "TRUNCATE",
        'x' => "REFERENCES",
        't' => "TRIGGER",
        'U' => "USAGE",
        'C' => "CREATE",
        'T' => "TEMPORARY",
        'c' => "CONNECT",
        _ => "UNKNOWN",
    }
}

/// A session as the binder sees it: who runs the statement, and its backend process id.
#[derive(Clone, Debug)]
pub struct SessionInfo {
    pub actor: Actor,
    /// The process id the server gave the connection (`pg_backend_pid()`).
    pub backend_pid: i32,
    /// The session's open cursors as `pg_cursors` rows.
    pub cursors: Vec<Vec<crate::types::Datum>>,
    /// The session's parameters as `pg_settings` rows.
    pub settings: Vec<Vec<crate::types::Datum>>,
    /// Where the session's unqualified names resolve, and its temporary schema.
    pub path: crate::schemas::SearchPath,
    /// The engine's STL_QUERY log.
    pub queries: std::sync::Arc<crate::query_log::QueryLog>,
    /// The engine's open sessions (`pg_stat_activity`, STV_SESSIONS, STV_RECENTS).
    pub sessions: std::sync::Arc<crate::sessions::Sessions>,
    /// The id of the session's last logged query (`pg_last_query_id()`), or -1.
    pub last_query_id: i64,
}
