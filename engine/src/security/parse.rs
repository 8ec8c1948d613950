//! Role and privilege statements, read from tokens.
//!
//! sqlparser knows PostgreSQL's CREATE ROLE but not Redshift's CREATE USER options (PASSWORD
//! DISABLE, CREATEUSER, IN GROUP), CREATE GROUP or ALTER GROUP, so `parse.rs` hands every
//! statement that starts with one of the words below to this module: CREATE / ALTER / DROP
//! USER, ROLE and GROUP, GRANT, REVOKE, and SET / RESET SESSION AUTHORIZATION. An unexpected
//! word is a syntax error pointing at it.

use sqlparser::tokenizer::{Token, TokenWithSpan};

use crate::error::{Error, Result};
use crate::planner::bind::span_position;

/// Which kind of role a statement names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleKind {
    /// CREATE USER: may log in.
    User,
    /// CREATE ROLE (PostgreSQL): may not log in unless LOGIN is given.
    Role,
    /// CREATE GROUP: holds users, never logs in.
    Group,
}

impl RoleKind {
    /// The keyword, upper case.
    pub fn keyword(self) -> &'static str {
        match self {
            RoleKind::User => "USER",
            RoleKind::Role => "ROLE",
            RoleKind::Group => "GROUP",
        }
    }
}

/// One option of CREATE / ALTER USER or ROLE.
#[derive(Clone, Debug, PartialEq)]
pub enum RoleOption {
    /// `PASSWORD 'text'`; `None` for `PASSWORD DISABLE` or `PASSWORD NULL`.
    Password(Option<String>),
    CreateDb(bool),
    /// PostgreSQL's CREATEROLE.
    CreateRole(bool),
    /// SUPERUSER, and Redshift's CREATEUSER (which makes a superuser).
    Superuser(bool),
    Login(bool),
    /// `IN GROUP g, ...` or `IN ROLE g, ...`.
    InGroup(Vec<String>),
    /// `CONNECTION LIMIT n`; `-1` for UNLIMITED.
    ConnectionLimit(i32),
    /// `VALID UNTIL 'timestamp'`, as written.
    ValidUntil(String),
}

/// What a privilege statement is about.
#[derive(Clone, Debug, PartialEq)]
pub enum Objects {
    /// `[TABLE] t, ...` (names as written: optional schema, then table).
    Tables(Vec<(Option<String>, String)>),
    /// `ALL TABLES IN SCHEMA s, ...`.
    AllTablesIn(Vec<String>),
    /// `SCHEMA s, ...`.
    Schemas(Vec<String>),
    /// `DATABASE d, ...`.
    Databases(Vec<String>),
}

/// A grantee: a role, a group, or PUBLIC.
#[derive(Clone, Debug, PartialEq)]
pub enum Grantee {
    Role(String),
    Group(String),
    Public,
}

/// A role or privilege statement.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    CreateRole {
        kind: RoleKind,
        name: String,
        options: Vec<RoleOption>,
        /// CREATE GROUP ... WITH USER a, b.
        users: Vec<String>,
    },
    AlterRole {
        kind: RoleKind,
        name: String,
        options: Vec<RoleOption>,
    },
    RenameRole {
        kind: RoleKind,
        name: String,
        to: String,
    },
    /// ALTER GROUP g ADD USER ... (`add`) or DROP USER ....
    AlterGroupMembers {
        name: String,
        add: bool,
        users: Vec<String>,
    },
    DropRoles {
        kind: RoleKind,
        names: Vec<String>,
        if_exists: bool,
    },
    /// GRANT (`grant`) or REVOKE. `privileges` are aclitem letters; `None` is ALL.
    Privileges {
        grant: bool,
        privileges: Option<String>,
        objects: Objects,
        grantees: Vec<Grantee>,
        /// WITH GRANT OPTION on GRANT; GRANT OPTION FOR on REVOKE.
        grant_option: bool,
    },
    /// SET SESSION AUTHORIZATION name; `None` for DEFAULT.
    SessionAuthorization(Option<String>),
    /// RESET SESSION AUTHORIZATION.
    ResetSessionAuthorization,
}

impl Command {
    /// The command tag PostgreSQL answers with.
    pub fn tag(&self) -> &'static str {
        match self {
            Command::CreateRole { kind, .. } => match kind {
                RoleKind::User => "CREATE ROLE",
                RoleKind::Role => "CREATE ROLE",
                RoleKind::Group => "CREATE ROLE",
            },
            Command::AlterRole { .. }
            | Command::RenameRole { .. }
            | Command::AlterGroupMembers { .. } => "ALTER ROLE",
            Command::DropRoles { .. } => "DROP ROLE",
            Command::Privileges { grant: true, .. } => "GRANT",
            Command::Privileges { grant: false, .. } => "REVOKE",
            Command::SessionAuthorization(_) => "SET",
            Command::ResetSessionAuthorization => "RESET",
        }
    }
}

/// Whether the statement in `tokens` is one this module reads.
pub fn is_security(tokens: &[TokenWithSpan]) -> bool {
    let words: Vec<String> = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .take(3)
        .map(|t| match &t.token {
            Token::Word(w) => w.value.to_ascii_lowercase(),
            _ => String::new(),
        })
        .collect();
    let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    match w(0) {
        "grant" | "revoke" => true,
        "create" | "alter" | "drop" => matches!(w(1), "user" | "role" | "group"),
        "set" => {
            (w(1) == "session" && w(2) == "authorization") || (w(1) == "session" && words.len() < 3)
        }
        "reset" => w(1) == "session" && w(2) == "authorization",
        _ => false,
    }
}

/// Parses one statement of `sql` (whose tokens are `tokens`).
pub fn parse(sql: &str, tokens: &[TokenWithSpan]) -> Result<Command> {
    let mut c = Cursor::new(sql, tokens);
    let command = statement(&mut c)?;
    if let Some(t) = c.peek_token() {
        return Err(c.error_at(t));
    }
    Ok(command)
}

fn statement(c: &mut Cursor<'_>) -> Result<Command> {
    let first = c.word()?;
    match first.as_str() {
        "create" => {
            let kind = role_kind(c)?;
            let name = c.name()?;
            c.eat("with");
            if kind == RoleKind::Group {
                let mut users = Vec::new();
                if c.eat("user") {
                    users = c.names()?;
                }
                return Ok(Command::CreateRole {
                    kind,
                    name,
                    options: Vec::new(),
                    users,
                });
            }
            let options = role_options(c)?;
            Ok(Command::CreateRole {
                kind,
                name,
                options,
                users: Vec::new(),
            })
        }
        "alter" => {
            let kind = role_kind(c)?;
            let name = c.name()?;
            if c.eat("rename") {
                c.expect("to")?;
                let to = c.name()?;
                return Ok(Command::RenameRole { kind, name, to });
            }
            if kind == RoleKind::Group {
                let add = if c.eat("add") {
                    true
                } else if c.eat("drop") {
                    false
                } else {
                    return Err(c.error_here());
                };
                c.expect("user")?;
                let users = c.names()?;
                return Ok(Command::AlterGroupMembers { name, add, users });
            }
            c.eat("with");
            let options = role_options(c)?;
            if options.is_empty() {
                return Err(c.error_here());
            }
            Ok(Command::AlterRole {
                kind,
                name,
                options,
            })
        }
        "drop" => {
            let kind = role_kind(c)?;
            let if_exists = if c.eat("if") {
                c.expect("exists")?;
                true
            } else {
                false
            };
            let names = c.names()?;
            Ok(Command::DropRoles {
                kind,
                names,
                if_exists,
            })
        }
        "grant" | "revoke" => privileges(c, first == "grant"),
        "set" => {
            c.expect("session")?;
            c.expect("authorization")?;
            if c.eat("default") {
                return Ok(Command::SessionAuthorization(None));
            }
            Ok(Command::SessionAuthorization(Some(c.name_or_string()?)))
        }
        "reset" => {
            c.expect("session")?;
            c.expect("authorization")?;
            Ok(Command::ResetSessionAuthorization)
        }
        _ => Err(c.error_back()),
    }
}

fn role_kind(c: &mut Cursor<'_>) -> Result<RoleKind> {
    match c.word()?.as_str() {
        "user" => Ok(RoleKind::User),
        "role" => Ok(RoleKind::Role),
        "group" => Ok(RoleKind::Group),
        _ => Err(c.error_back()),
    }
}

fn role_options(c: &mut Cursor<'_>) -> Result<Vec<RoleOption>> {
    let mut options = Vec::new();
    while c.peek_token().is_some() {
        let word = c.word()?;
        let option = match word.as_str() {
            "password" => {
                if c.eat("disable") || c.eat("null") {
                    RoleOption::Password(None)
                } else {
                    RoleOption::Password(Some(c.string()?))
                }
            }
            "encrypted" => {
                c.expect("password")?;
                RoleOption::Password(Some(c.string()?))
            }
            "createdb" => RoleOption::CreateDb(true),
            "nocreatedb" => RoleOption::CreateDb(false),
            "createuser" => RoleOption::Superuser(true),
            "nocreateuser" => RoleOption::Superuser(false),
            "superuser" => RoleOption::Superuser(true),
            "nosuperuser" => RoleOption::Superuser(false),
            "createrole" => RoleOption::CreateRole(true),
            "nocreaterole" => RoleOption::CreateRole(false),
            "login" => RoleOption::Login(true),
            "nologin" => RoleOption::Login(false),
            "inherit" | "noinherit" => continue,
            "in" => {
                if !c.eat("group") {
                    c.expect("role")?;
                }
                RoleOption::InGroup(c.names()?)
            }
            "connection" => {
                c.expect("limit")?;
                if c.eat("unlimited") {
                    RoleOption::ConnectionLimit(-1)
                } else {
                    RoleOption::ConnectionLimit(c.integer()?)
                }
            }
            "valid" => {
                c.expect("until")?;
                RoleOption::ValidUntil(c.string()?)
            }
            _ => return Err(c.error_back()),
        };
        options.push(option);
    }
    Ok(options)
}

fn privileges(c: &mut Cursor<'_>, grant: bool) -> Result<Command> {
    let mut grant_option = false;
    if !grant && c.eat("grant") {
        c.expect("option")?;
        c.expect("for")?;
        grant_option = true;
    }
    let mut letters = String::new();
    let all = if c.eat("all") {
        c.eat("privileges");
        true
    } else {
        loop {
            let word = c.word()?;
            let letter = match word.as_str() {
                "select" => 'r',
                "insert" => 'a',
                "update" => 'w',
                "delete" => 'd',
                "truncate" => 'D',
                "references" => 'x',
                "trigger" => 't',
                "usage" => 'U',
                "create" => 'C',
                "temp" | "temporary" => 'T',
                "connect" => 'c',
                _ => return Err(c.error_back()),
            };
            letters.push(letter);
            if !c.eat_token(&Token::Comma) {
                break;
            }
        }
        false
    };
    c.expect("on")?;
    let objects = if c.eat("all") {
        c.expect("tables")?;
        c.expect("in")?;
        c.expect("schema")?;
        Objects::AllTablesIn(c.names()?)
    } else if c.eat("schema") {
        Objects::Schemas(c.names()?)
    } else if c.eat("database") {
        Objects::Databases(c.names()?)
    } else {
        c.eat("table");
        let mut tables = Vec::new();
        loop {
            let first = c.name()?;
            if c.eat_token(&Token::Period) {
                tables.push((Some(first), c.name()?));
            } else {
                tables.push((None, first));
            }
            if !c.eat_token(&Token::Comma) {
                break;
            }
        }
        Objects::Tables(tables)
    };
    c.expect(if grant { "to" } else { "from" })?;
    let mut grantees = Vec::new();
    loop {
        let grantee = if c.eat("group") {
            Grantee::Group(c.name()?)
        } else if c.peek_word().as_deref() == Some("public") && c.peek_unquoted() {
            c.next();
            Grantee::Public
        } else {
            Grantee::Role(c.name()?)
        };
        grantees.push(grantee);
        if !c.eat_token(&Token::Comma) {
            break;
        }
    }
    if grant && c.eat("with") {
        c.expect("grant")?;
        c.expect("option")?;
        grant_option = true;
    }
    if !grant && !c.eat("cascade") {
        c.eat("restrict");
    }
    Ok(Command::Privileges {
        grant,
        privileges: (!all).then_some(letters),
        objects,
        grantees,
        grant_option,
    })
}

/// A position in a statement's tokens, skipping whitespace.
struct Cursor<'a> {
    sql: &'a str,
    tokens: &'a [TokenWithSpan],
    at: usize,
    /// The token before `at` that was last consumed, for errors about it.
    last: Option<usize>,
}

impl<'a> Cursor<'a> {
    fn new(sql: &'a str, tokens: &'a [TokenWithSpan]) -> Self {
        Cursor {
            sql,
            tokens,
            at: 0,
            last: None,
        }
    }

    fn skip_space(&mut self) {
        while matches!(
            self.tokens.get(self.at).map(|t| &t.token),
            Some(Token::Whitespace(_))
        ) {
            self.at += 1;
        }
    }

    fn peek_token(&mut self) -> Option<&'a TokenWithSpan> {
        self.skip_space();
        self.tokens
            .get(self.at)
            .filter(|t| !matches!(t.token, Token::EOF))
    }

    fn next(&mut self) -> Option<&'a TokenWithSpan> {
        let t = self.peek_token()?;
        self.last = Some(self.at);
        self.at += 1;
        Some(t)
    }

    fn peek_word(&mut self) -> Option<String> {
        match self.peek_token().map(|t| &t.token) {
            Some(Token::Word(w)) => Some(w.value.to_ascii_lowercase()),
            _ => None,
        }
    }

    fn peek_unquoted(&mut self) -> bool {
        matches!(self.peek_token().map(|t| &t.token), Some(Token::Word(w)) if w.quote_style.is_none())
    }

    /// Consumes the keyword `word` (unquoted) if it comes next.
    fn eat(&mut self, word: &str) -> bool {
        if self.peek_unquoted() && self.peek_word().as_deref() == Some(word) {
            self.next();
            return true;
        }
        false
    }

    fn eat_token(&mut self, token: &Token) -> bool {
        if self.peek_token().map(|t| &t.token) == Some(token) {
            self.next();
            return true;
        }
        false
    }

    fn expect(&mut self, word: &str) -> Result<()> {
        if self.eat(word) {
            Ok(())
        } else {
            Err(self.error_here())
        }
    }

    /// The next token as a lower-case keyword.
    fn word(&mut self) -> Result<String> {
        match self.peek_token().map(|t| &t.token) {
            Some(Token::Word(w)) if w.quote_style.is_none() => {
                let value = w.value.to_ascii_lowercase();
                self.next();
                Ok(value)
            }
            _ => Err(self.error_here()),
        }
    }

    /// An identifier: folded to lower case unless double-quoted.
    fn name(&mut self) -> Result<String> {
        match self.peek_token().map(|t| &t.token) {
            Some(Token::Word(w)) => {
                let value = match w.quote_style {
                    Some(_) => w.value.clone(),
                    None => w.value.to_lowercase(),
                };
                self.next();
                Ok(value)
            }
            _ => Err(self.error_here()),
        }
    }

    fn name_or_string(&mut self) -> Result<String> {
        if let Some(Token::SingleQuotedString(s)) = self.peek_token().map(|t| &t.token) {
            let s = s.clone();
            self.next();
            return Ok(s);
        }
        self.name()
    }

    /// One or more names separated by commas.
    fn names(&mut self) -> Result<Vec<String>> {
        let mut names = vec![self.name()?];
        while self.eat_token(&Token::Comma) {
            names.push(self.name()?);
        }
        Ok(names)
    }

    fn string(&mut self) -> Result<String> {
        match self.peek_token().map(|t| &t.token) {
            Some(Token::SingleQuotedString(s)) | Some(Token::EscapedStringLiteral(s)) => {
                let s = s.clone();
                self.next();
                Ok(s)
            }
            _ => Err(self.error_here()),
        }
    }

    fn integer(&mut self) -> Result<i32> {
        let negative = self.eat_token(&Token::Minus);
        match self.peek_token().map(|t| &t.token) {
            Some(Token::Number(n, _)) => {
                let text = if negative { format!("-{n}") } else { n.clone() };
                let value = text.parse::<i32>().map_err(|_| Error::InvalidParameter {
                    message: format!("invalid connection limit: {text}"),
                })?;
                self.next();
                Ok(value)
            }
            _ => Err(self.error_here()),
        }
    }

    /// A syntax error at the next token (or at the end).
    fn error_here(&mut self) -> Error {
        match self.peek_token() {
            Some(t) => self.error_at(t),
            None => Error::Syntax {
                message: "syntax error at end of input".into(),
                position: Some(self.sql.chars().count() as u32 + 1),
            },
        }
    }

    /// A syntax error at the token just consumed.
    fn error_back(&self) -> Error {
        match self.last.and_then(|i| self.tokens.get(i)) {
            Some(t) => self.error_at(t),
            None => Error::Syntax {
                message: "syntax error".into(),
                position: None,
            },
        }
    }

    fn error_at(&self, t: &TokenWithSpan) -> Error {
        Error::Syntax {
            message: format!("syntax error at or near \"{}\"", t.token),
            position: span_position(self.sql, t.span),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::tokenizer::Tokenizer;

    fn parsed(sql: &str) -> Result<Command> {
        let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql)
            .tokenize_with_location()
            .unwrap();
        assert!(is_security(&tokens), "{sql}");
        parse(sql, &tokens)
    }

    // Redshift's CREATE USER with every option, and its PostgreSQL spellings.
    #[test]
    fn create_user_reads_every_option() {
        let c = parsed(
            "CREATE USER Alice WITH PASSWORD 'Abcdefg1' CREATEDB CREATEUSER IN GROUP g1, \"G2\" \
             CONNECTION LIMIT 5 VALID UNTIL '2030-01-01'",
        )
        .unwrap();
        assert_eq!(
            c,
            Command::CreateRole {
                kind: RoleKind::User,
                name: "alice".into(),
                options: vec![
                    RoleOption::Password(Some("Abcdefg1".into())),
                    RoleOption::CreateDb(true),
                    RoleOption::Superuser(true),
                    RoleOption::InGroup(vec!["g1".into(), "G2".into()]),
                    RoleOption::ConnectionLimit(5),
                    RoleOption::ValidUntil("2030-01-01".into()),
                ],
                users: vec![],
            }
        );
        let c = parsed("create user bob password disable connection limit unlimited").unwrap();
        assert!(matches!(c, Command::CreateRole { options, .. }
            if options == vec![RoleOption::Password(None), RoleOption::ConnectionLimit(-1)]));
        let e = parsed("CREATE USER bob PASSWORD 'x' FROBNICATE").unwrap_err();
        assert_eq!(e.to_string(), "syntax error at or near \"FROBNICATE\"");
        assert_eq!(e.position(), Some(30));
    }

    // Groups, renames, drops, grants and session authorization.
    #[test]
    fn other_statements_parse() {
        assert_eq!(
            parsed("CREATE GROUP staff WITH USER a, b").unwrap(),
            Command::CreateRole {
                kind: RoleKind::Group,
                name: "staff".into(),
                options: vec![],
                users: vec!["a".into(), "b".into()],
            }
        );
        assert_eq!(
            parsed("ALTER GROUP staff DROP USER a").unwrap(),
            Command::AlterGroupMembers {
                name: "staff".into(),
                add: false,
                users: vec!["a".into()],
            }
        );
        assert_eq!(
            parsed("alter user a rename to b").unwrap(),
            Command::RenameRole {
                kind: RoleKind::User,
                name: "a".into(),
                to: "b".into(),
            }
        );
        assert_eq!(
            parsed("DROP USER IF EXISTS a, b").unwrap(),
            Command::DropRoles {
                kind: RoleKind::User,
                names: vec!["a".into(), "b".into()],
                if_exists: true,
            }
        );
        assert_eq!(
            parsed("GRANT SELECT, INSERT ON TABLE s.t, u TO a, GROUP g, PUBLIC WITH GRANT OPTION")
                .unwrap(),
            Command::Privileges {
                grant: true,
                privileges: Some("ra".into()),
                objects: Objects::Tables(vec![(Some("s".into()), "t".into()), (None, "u".into())]),
                grantees: vec![
                    Grantee::Role("a".into()),
                    Grantee::Group("g".into()),
                    Grantee::Public
                ],
                grant_option: true,
            }
        );
        assert_eq!(
            parsed("REVOKE GRANT OPTION FOR ALL ON ALL TABLES IN SCHEMA public FROM a CASCADE")
                .unwrap(),
            Command::Privileges {
                grant: false,
                privileges: None,
                objects: Objects::AllTablesIn(vec!["public".into()]),
                grantees: vec![Grantee::Role("a".into())],
                grant_option: true,
            }
        );
        assert_eq!(
            parsed("SET SESSION AUTHORIZATION 'bob'").unwrap(),
            Command::SessionAuthorization(Some("bob".into()))
        );
        assert_eq!(
            parsed("RESET SESSION AUTHORIZATION").unwrap(),
            Command::ResetSessionAuthorization
        );
        assert!(parsed("GRANT FLY ON t TO a").is_err());
    }
}
