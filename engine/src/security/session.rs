//! Where sessions meet the security catalog: running role statements, and checking each bound
//! statement's privileges before it runs.

use basalt_storage::Manifest;
use sqlparser::ast;

use super::{check_owner, check_schema, check_table, role_oid, Actor, Command, Context};
use crate::error::{Error, Result};
use crate::planner::plan::Plan;
use crate::planner::statement::BoundStatement;
use crate::{Session, StatementResult};

impl Session {
    /// Runs a role or privilege statement: a new security catalog, committed like any other
    /// change (in the open transaction block, or on its own), or SET SESSION AUTHORIZATION.
    pub(crate) fn execute_security(&mut self, statement: &Command) -> Result<StatementResult> {
        let manifest = self.current_manifest();
        let target = match statement {
            Command::SessionAuthorization(target) => Some(target.as_ref()),
            Command::ResetSessionAuthorization => Some(None),
            _ => None,
        };
        if let Some(target) = target {
            // As PostgreSQL: only a session that logged in as a superuser may change it, and
            // it may change back at any time.
            let login = Actor::of(&manifest.security, self.login_oid);
            if !login.superuser {
                return Err(Error::InsufficientPrivilege {
                    message: "permission denied to set session authorization".into(),
                });
            }
            let oid = match target {
                None => self.login_oid,
                Some(name) => role_oid(&manifest.security, name)
                    .ok_or_else(|| Error::UndefinedRole { name: name.clone() })?,
            };
            let actor = Actor::of(&manifest.security, oid);
            self.session_oid = oid;
            self.role_oid = oid;
            self.role_setting = "none".to_owned();
            self.user = actor.name.clone();
            self.settings.set_session_user(&actor.name, actor.superuser);
            return Ok(crate::command(statement.tag()));
        }
        let actor = Actor::of(&manifest.security, self.role_oid);
        let ctx = Context {
            actor: &actor,
            session_oid: self.role_oid,
            login_oid: self.login_oid,
            manifest: &manifest,
            path: &self.search_path(&manifest),
        };
        let next = super::apply(&manifest.security, statement, &ctx)?;
        // Started at the snapshot the change was computed from, so a concurrent role change
        // makes this one fail (40001) instead of being overwritten.
        self.write_at(&manifest, |t| {
            t.set_security(next).map_err(crate::storage_error)
        })?;
        Ok(crate::command(statement.tag()))
    }

    /// SET ROLE name / SET ROLE NONE / RESET ROLE (`target` `None` for the last two), as
    /// PostgreSQL 15: the session user may become any role it is a member of, a superuser
    /// any role; the current user changes, the session user does not.
    pub(crate) fn set_role(
        &mut self,
        target: Option<String>,
        local: bool,
        stmt: &ast::Statement,
    ) -> Result<StatementResult> {
        let tag = if matches!(stmt, ast::Statement::Reset(_)) {
            "RESET"
        } else {
            "SET"
        };
        let manifest = self.current_manifest();
        let security = &manifest.security;
        let (oid, name) = match target {
            None => (self.session_oid, "none".to_owned()),
            Some(name) => {
                let oid = role_oid(security, &name)
                    .ok_or_else(|| Error::UndefinedRole { name: name.clone() })?;
                let session = Actor::of(security, self.session_oid);
                if !(session.superuser || oid == self.session_oid || session.groups.contains(&oid))
                {
                    return Err(Error::InsufficientPrivilege {
                        message: format!("permission denied to set role \"{name}\""),
                    });
                }
                (oid, name)
            }
        };
        self.settings.set_role(&name, local, self.txn.is_some());
        self.role_oid = oid;
        self.role_setting = self.settings.get("role").unwrap_or("none").to_owned();
        if self.role_setting != name {
            // SET LOCAL outside a block changes nothing.
            self.role_oid = self.resolve_role();
        }
        Ok(crate::command(tag))
    }

    /// Brings the current user in line with the `role` setting after a statement (a
    /// ROLLBACK, ROLLBACK TO or the end of a block may have changed it).
    pub(crate) fn sync_role(&mut self) {
        let setting = self.settings.get("role").unwrap_or("none");
        if setting == self.role_setting {
            return;
        }
        self.role_setting = setting.to_owned();
        self.role_oid = self.resolve_role();
    }

    /// The OID of the role the `role` setting names; the session user for `none` (or a role
    /// dropped since).
    fn resolve_role(&self) -> u32 {
        if self.role_setting == "none" {
            return self.session_oid;
        }
        let manifest = self.current_manifest();
        role_oid(&manifest.security, &self.role_setting).unwrap_or(self.session_oid)
    }

    /// Checks that the session may run `bound`: SELECT on every table a query reads (in
    /// subqueries and WITH queries too), INSERT / UPDATE / DELETE / TRUNCATE on a write's
    /// target, CREATE on the schema of a new table, ownership to drop one. Superusers pass.
    pub(crate) fn authorize(
        &self,
        bound: BoundStatement,
        manifest: &Manifest,
        ast: &ast::Statement,
        accesses: &[crate::views::Access],
    ) -> Result<BoundStatement> {
        let security = &manifest.security;
        let actor = Actor::of(security, self.role_oid);
        // What views read is checked against their owners, whoever the session is.
        check_view_reads(manifest, &actor, accesses)?;
        if actor.superuser {
            return Ok(bound);
        }
        let target = |schema: &str, name: &str| {
            manifest
                .table(schema, name)
                .ok_or_else(|| Error::UndefinedTable {
                    name: name.to_owned(),
                    position: None,
                })
        };
        match &bound {
            BoundStatement::Query(q) => check_reads(manifest, &actor, &q.plan, None, accesses)?,
            BoundStatement::DeclareCursor { query, .. } => {
                check_reads(manifest, &actor, &query.plan, None, accesses)?
            }
            BoundStatement::ExplainAnalyze(plan) => {
                check_reads(manifest, &actor, plan, None, accesses)?
            }
            BoundStatement::Insert { schema, name, plan } => {
                check_table(manifest, &actor, target(schema, name)?, 'a')?;
                check_reads(manifest, &actor, plan, None, accesses)?;
            }
            BoundStatement::Delete { schema, name, plan }
            | BoundStatement::Update { schema, name, plan } => {
                let table = target(schema, name)?;
                let (letter, reads_target) = match ast {
                    ast::Statement::Delete(d) => ('d', d.selection.is_some()),
                    ast::Statement::Update(u) => ('w', u.selection.is_some() || u.from.is_some()),
                    _ => ('w', true),
                };
                check_table(manifest, &actor, table, letter)?;
                // Reading the target's rows (a WHERE) takes SELECT too, as in PostgreSQL.
                let exempt = (!reads_target).then_some(table.id);
                check_reads(manifest, &actor, plan, exempt, accesses)?;
            }
            BoundStatement::Truncate { names } => {
                for (schema, name) in names {
                    check_table(manifest, &actor, target(schema, name)?, 'D')?;
                }
            }
            BoundStatement::DropTable { names, .. } => {
                for (schema, name) in names {
                    if let Some(table) = manifest.table(schema, name) {
                        check_owner(&actor, table)?;
                    }
                }
            }
            BoundStatement::Vacuum { names } => {
                for (schema, name) in names {
                    check_owner(&actor, target(schema, name)?)?;
                }
            }
            BoundStatement::CreateTable { def, .. } => {
                check_schema(manifest, &actor, &def.schema, 'C')?;
            }
            BoundStatement::CreateTableAs { def, plan, .. } => {
                check_schema(manifest, &actor, &def.schema, 'C')?;
                check_reads(manifest, &actor, plan, None, accesses)?;
            }
            BoundStatement::Explain(_)
            | BoundStatement::Begin
            | BoundStatement::Commit
            | BoundStatement::Rollback => {}
        }
        Ok(bound)
    }
}

/// Checks SELECT on every table `plan` scans, except table `exempt` and tables read only
/// through views (which [`check_view_reads`] checks against the views' owners).
pub(crate) fn check_reads(
    manifest: &Manifest,
    actor: &Actor,
    plan: &Plan,
    exempt: Option<u64>,
    accesses: &[crate::views::Access],
) -> Result<()> {
    if actor.superuser {
        return Ok(());
    }
    let through_views_only = |id: u64| {
        accesses.iter().any(|a| a.id == id)
            && !accesses.iter().any(|a| a.id == id && a.checker.is_none())
    };
    let mut nodes = Vec::new();
    plan.preorder(&mut nodes);
    let mut seen = Vec::new();
    for node in nodes {
        if let Plan::Scan { table, .. } = node {
            if Some(table.id) == exempt || seen.contains(&table.id) || through_views_only(table.id)
            {
                continue;
            }
            seen.push(table.id);
            check_table(manifest, actor, table, 'r')?;
        }
    }
    Ok(())
}

/// Checks SELECT on the views a statement reads (against the session's `actor`, or the
/// owner of the view that reads them) and on the tables views read (against the owner of
/// the view), as PostgreSQL checks a view's query with its owner's privileges.
pub(crate) fn check_view_reads(
    manifest: &Manifest,
    actor: &Actor,
    accesses: &[crate::views::Access],
) -> Result<()> {
    let security = &manifest.security;
    for a in accesses {
        if !a.view && a.checker.is_none() {
            // Tables the statement reads itself: `check_reads` checks their scans.
            continue;
        }
        let checker = match a.checker {
            None => actor.clone(),
            Some(owner) => Actor::of(security, owner),
        };
        if checker.superuser {
            continue;
        }
        if let Some(table) = manifest.table_by_id(a.id) {
            check_table(manifest, &checker, table, 'r')?;
        } else if let Some(view) = manifest.objects.view_by_id(a.id) {
            super::check_view(manifest, &checker, view, 'r')?;
        }
    }
    Ok(())
}
