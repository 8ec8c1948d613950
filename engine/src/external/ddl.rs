//! External schema and table DDL, read from tokens as COPY is (sqlparser parses neither
//! `CREATE EXTERNAL SCHEMA` nor Redshift's `CREATE EXTERNAL TABLE` options):
//!
//! ```text
//! CREATE EXTERNAL SCHEMA [IF NOT EXISTS] s FROM [DATA CATALOG] DATABASE 'db'
//!     [IAM_ROLE {default | '...'}] [REGION '...'] [CATALOG_ROLE '...']
//!     [CREATE EXTERNAL DATABASE IF NOT EXISTS]
//! CREATE EXTERNAL TABLE [IF NOT EXISTS] s.t [(column type, ...)]
//!     [PARTITIONED BY (column type, ...)]
//!     [ROW FORMAT DELIMITED [FIELDS TERMINATED BY 'c'] [LINES TERMINATED BY '\n']
//!      | ROW FORMAT SERDE 'class' [WITH SERDEPROPERTIES ('k'='v', ...)]]
//!     STORED AS {PARQUET | TEXTFILE | JSON}
//!     LOCATION 'dir'
//!     [TABLE PROPERTIES ('k'='v', ...)]
//! DROP EXTERNAL TABLE [IF EXISTS] s.t [, ...]
//! DROP SCHEMA [IF EXISTS] s [, ...] [DROP EXTERNAL DATABASE] [CASCADE | RESTRICT]
//! ALTER TABLE s.t ADD [IF NOT EXISTS] PARTITION (k='v', ...) LOCATION 'dir' [PARTITION ...]
//! ALTER TABLE s.t DROP PARTITION (k='v', ...)
//! ```

use std::collections::BTreeMap;

use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan};

use crate::copy::options::Cursor;
use crate::error::{Error, Result};

/// A parsed external DDL statement.
#[derive(Clone, Debug)]
pub enum ExternalStatement {
    CreateSchema {
        name: String,
        if_not_exists: bool,
        database: String,
        iam_role: Option<String>,
    },
    CreateTable(Box<CreateExternalTable>),
    DropTable {
        names: Vec<(String, String)>,
        if_exists: bool,
    },
    DropSchema {
        names: Vec<String>,
        if_exists: bool,
        cascade: bool,
    },
    AddPartitions {
        schema: String,
        table: String,
        if_not_exists: bool,
        /// Each partition's `(column, value)` pairs and its directory.
        partitions: Vec<(Vec<(String, String)>, String)>,
    },
    DropPartition {
        schema: String,
        table: String,
        values: Vec<(String, String)>,
    },
}

/// `CREATE EXTERNAL TABLE`.
#[derive(Clone, Debug)]
pub struct CreateExternalTable {
    pub schema: String,
    pub name: String,
    pub if_not_exists: bool,
    /// `None`: infer the columns from the files.
    pub columns: Option<Vec<ast::ColumnDef>>,
    pub partitioned_by: Vec<ast::ColumnDef>,
    /// `ROW FORMAT SERDE 'class'`, if given.
    pub serde: Option<String>,
    /// `FIELDS TERMINATED BY` (as `field.delim`) and `WITH SERDEPROPERTIES`.
    pub serde_parameters: BTreeMap<String, String>,
    /// Upper case: PARQUET, TEXTFILE or JSON.
    pub stored_as: String,
    pub location: String,
    pub properties: BTreeMap<String, String>,
}

/// True when the tokens start an external DDL statement this module parses.
pub fn is_external(tokens: &[TokenWithSpan]) -> bool {
    let mut c = Cursor::new("", tokens);
    if c.eat("create") {
        return c.eat("external") && (c.eat("schema") || c.eat("table"));
    }
    if c.eat("drop") {
        return (c.eat("external") && c.eat("table")) || c.eat("schema");
    }
    if c.eat("alter") && c.eat("table") {
        while matches!(c.peek(), Some(Token::Word(_)) | Some(Token::Period)) {
            if c.eat("add") {
                if c.eat("if") {
                    return true;
                }
                return c.eat("partition");
            }
            if c.eat("drop") {
                return c.eat("partition");
            }
            c.next();
        }
    }
    false
}

/// Parses one external DDL statement (`tokens` without the `;`).
pub fn parse(sql: &str, tokens: &[TokenWithSpan]) -> Result<ExternalStatement> {
    let mut c = Cursor::new(sql, tokens);
    let statement = if c.eat("create") {
        c.expect("external")?;
        if c.eat("schema") {
            create_schema(&mut c)?
        } else {
            c.expect("table")?;
            ExternalStatement::CreateTable(Box::new(create_table(&mut c)?))
        }
    } else if c.eat("drop") {
        if c.eat("external") {
            c.expect("table")?;
            let if_exists = if_exists(&mut c)?;
            let mut names = vec![qualified(&mut c)?];
            while c.eat_token(&Token::Comma) {
                names.push(qualified(&mut c)?);
            }
            ExternalStatement::DropTable { names, if_exists }
        } else {
            c.expect("schema")?;
            let if_exists = if_exists(&mut c)?;
            let mut names = vec![c.ident()?];
            while c.eat_token(&Token::Comma) {
                names.push(c.ident()?);
            }
            if c.eat("drop") {
                c.expect("external")?;
                c.expect("database")?;
            }
            let cascade = if c.eat("cascade") {
                true
            } else {
                c.eat("restrict");
                false
            };
            ExternalStatement::DropSchema {
                names,
                if_exists,
                cascade,
            }
        }
    } else {
        c.expect("alter")?;
        c.expect("table")?;
        let (schema, table) = qualified(&mut c)?;
        if c.eat("drop") {
            c.expect("partition")?;
            let values = partition_spec(&mut c)?;
            ExternalStatement::DropPartition {
                schema,
                table,
                values,
            }
        } else {
            c.expect("add")?;
            let if_not_exists = if_not_exists(&mut c)?;
            let mut partitions = Vec::new();
            while c.eat("partition") {
                let spec = partition_spec(&mut c)?;
                c.expect("location")?;
                partitions.push((spec, c.string()?));
            }
            if partitions.is_empty() {
                return Err(c.error());
            }
            ExternalStatement::AddPartitions {
                schema,
                table,
                if_not_exists,
                partitions,
            }
        }
    };
    if !c.done() {
        return Err(c.error());
    }
    Ok(statement)
}

fn if_exists(c: &mut Cursor<'_>) -> Result<bool> {
    if c.eat("if") {
        c.expect("exists")?;
        return Ok(true);
    }
    Ok(false)
}

fn if_not_exists(c: &mut Cursor<'_>) -> Result<bool> {
    if c.eat("if") {
        c.expect("not")?;
        c.expect("exists")?;
        return Ok(true);
    }
    Ok(false)
}

/// `schema.table`: external tables are always named with their schema.
fn qualified(c: &mut Cursor<'_>) -> Result<(String, String)> {
    let schema = c.ident()?;
    if !c.eat_token(&Token::Period) {
        return Err(c.error());
    }
    Ok((schema, c.ident()?))
}

/// `( k = 'v' [, ...] )`; values may be strings or numbers.
fn partition_spec(c: &mut Cursor<'_>) -> Result<Vec<(String, String)>> {
    if !c.eat_token(&Token::LParen) {
        return Err(c.error());
    }
    let mut out = Vec::new();
    loop {
        let key = c.ident()?;
        if !c.eat_token(&Token::Eq) {
            return Err(c.error());
        }
        let value = match c.peek() {
            Some(Token::Number(n, _)) => {
                let n = n.clone();
                c.next();
                n
            }
            _ => c.string()?,
        };
        out.push((key, value));
        if c.eat_token(&Token::Comma) {
            continue;
        }
        if c.eat_token(&Token::RParen) {
            return Ok(out);
        }
        return Err(c.error());
    }
}

/// `( 'k' = 'v' [, ...] )`.
fn properties(c: &mut Cursor<'_>) -> Result<BTreeMap<String, String>> {
    if !c.eat_token(&Token::LParen) {
        return Err(c.error());
    }
    let mut out = BTreeMap::new();
    loop {
        let key = c.string()?;
        if !c.eat_token(&Token::Eq) {
            return Err(c.error());
        }
        let value = c.string()?;
        out.insert(key, value);
        if c.eat_token(&Token::Comma) {
            continue;
        }
        if c.eat_token(&Token::RParen) {
            return Ok(out);
        }
        return Err(c.error());
    }
}

fn create_schema(c: &mut Cursor<'_>) -> Result<ExternalStatement> {
    let if_not_exists = if_not_exists(c)?;
    let name = c.ident()?;
    c.expect("from")?;
    if c.eat("data") {
        c.expect("catalog")?;
    } else if matches!(
        c.keyword().as_deref(),
        Some("HIVE" | "POSTGRES" | "MYSQL" | "KINESIS" | "MSK" | "REDSHIFT")
    ) {
        return Err(Error::Unsupported {
            message: format!(
                "external schemas FROM {} are not supported; use FROM DATA CATALOG",
                c.keyword().unwrap_or_default()
            ),
        });
    }
    let mut database = None;
    let mut iam_role = None;
    while !c.done() {
        if c.eat("database") {
            database = Some(c.string()?);
        } else if c.eat("iam_role") {
            iam_role = Some(if c.eat("default") {
                "default".to_string()
            } else {
                c.string()?
            });
        } else if c.eat("region") || c.eat("catalog_role") || c.eat("schema") {
            c.string()?;
        } else if c.eat("create") {
            c.expect("external")?;
            c.expect("database")?;
            if_not_exists_required(c)?;
        } else {
            return Err(c.error());
        }
    }
    let database = database.ok_or_else(|| Error::InvalidParameter {
        message: "CREATE EXTERNAL SCHEMA FROM DATA CATALOG needs a DATABASE".into(),
    })?;
    Ok(ExternalStatement::CreateSchema {
        name,
        if_not_exists,
        database,
        iam_role,
    })
}

fn if_not_exists_required(c: &mut Cursor<'_>) -> Result<()> {
    if !if_not_exists(c)? {
        return Err(c.error());
    }
    Ok(())
}

/// A parenthesized column list, parsed by sqlparser from the cursor's tokens.
fn column_list(c: &mut Cursor<'_>) -> Result<Vec<ast::ColumnDef>> {
    let (sql, significant) = c.parts();
    let start = c.at;
    let mut depth = 0usize;
    let mut end = None;
    for (i, t) in significant.iter().enumerate().skip(start) {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    end = Some(i);
                    break;
                }
            }
            _ => {}
        }
    }
    let Some(end) = end else {
        return Err(c.error());
    };
    let slice: Vec<TokenWithSpan> = significant[start..=end]
        .iter()
        .map(|t| (*t).clone())
        .collect();
    let dialect = PostgreSqlDialect {};
    let mut parser = Parser::new(&dialect).with_tokens_with_locations(slice);
    let (columns, constraints) = parser
        .parse_columns()
        .map_err(|e| crate::parse::syntax_error(sql, e))?;
    if !constraints.is_empty() {
        return Err(Error::Unsupported {
            message: "external tables take no constraints".into(),
        });
    }
    c.at = end + 1;
    Ok(columns)
}

fn create_table(c: &mut Cursor<'_>) -> Result<CreateExternalTable> {
    let if_not_exists = if_not_exists(c)?;
    let (schema, name) = qualified(c)?;
    let columns = if c.peek() == Some(&Token::LParen) {
        Some(column_list(c)?)
    } else {
        None
    };
    let mut t = CreateExternalTable {
        schema,
        name,
        if_not_exists,
        columns,
        partitioned_by: Vec::new(),
        serde: None,
        serde_parameters: BTreeMap::new(),
        stored_as: String::new(),
        location: String::new(),
        properties: BTreeMap::new(),
    };
    let mut location = None;
    while !c.done() {
        if c.eat("partitioned") {
            c.expect("by")?;
            if c.peek() != Some(&Token::LParen) {
                return Err(c.error());
            }
            t.partitioned_by = column_list(c)?;
        } else if c.eat("row") {
            c.expect("format")?;
            if c.eat("delimited") {
                loop {
                    if c.eat("fields") {
                        c.expect("terminated")?;
                        c.expect("by")?;
                        let d = unescape(&c.string()?);
                        t.serde_parameters.insert("field.delim".into(), d);
                    } else if c.eat("lines") {
                        c.expect("terminated")?;
                        c.expect("by")?;
                        let l = unescape(&c.string()?);
                        if l != "\n" {
                            return Err(Error::Unsupported {
                                message: "LINES TERMINATED BY supports only '\\n'".into(),
                            });
                        }
                    } else {
                        break;
                    }
                }
            } else {
                c.expect("serde")?;
                t.serde = Some(c.string()?);
                if c.eat("with") {
                    c.expect("serdeproperties")?;
                    t.serde_parameters.extend(properties(c)?);
                }
            }
        } else if c.eat("stored") {
            c.expect("as")?;
            let Some(format) = c.keyword() else {
                return Err(c.error());
            };
            if !matches!(format.as_str(), "PARQUET" | "TEXTFILE" | "JSON") {
                return Err(Error::Unsupported {
                    message: format!(
                        "STORED AS {format} is not supported; use PARQUET, TEXTFILE or JSON"
                    ),
                });
            }
            c.next();
            t.stored_as = format;
        } else if c.eat("location") {
            location = Some(c.string()?);
        } else if c.eat("table") {
            c.expect("properties")?;
            t.properties.extend(properties(c)?);
        } else if c.eat("tblproperties") {
            t.properties.extend(properties(c)?);
        } else {
            return Err(c.error());
        }
    }
    if t.stored_as.is_empty() {
        return Err(Error::Syntax {
            message: "CREATE EXTERNAL TABLE needs STORED AS".into(),
            position: None,
        });
    }
    t.location = location.ok_or_else(|| Error::Syntax {
        message: "CREATE EXTERNAL TABLE needs a LOCATION".into(),
        position: None,
    })?;
    Ok(t)
}

/// Redshift's escapes in delimiters: `\t`, `\n`, octal `\001`, `\u0001`.
pub fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch != '\\' {
            out.push(ch);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('u') => {
                let hex: String = (0..4).filter_map(|_| chars.next()).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(c) => out.push(c),
                    None => {
                        out.push_str("\\u");
                        out.push_str(&hex);
                    }
                }
            }
            Some(d) if d.is_digit(8) => {
                let mut digits = d.to_string();
                while digits.len() < 3 && chars.peek().is_some_and(|c| c.is_digit(8)) {
                    digits.extend(chars.next());
                }
                match u32::from_str_radix(&digits, 8)
                    .ok()
                    .and_then(char::from_u32)
                {
                    Some(c) => out.push(c),
                    None => out.push_str(&digits),
                }
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::tokenizer::Tokenizer;

    fn parse_sql(sql: &str) -> Result<ExternalStatement> {
        let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql)
            .tokenize_with_location()
            .unwrap();
        assert!(is_external(&tokens), "{sql}");
        parse(sql, &tokens)
    }

    #[test]
    fn redshift_create_external_table_reads_every_clause() {
        // Input: Redshift's documented example shape with partitions, a tab delimiter and
        // table properties.
        let s = parse_sql(
            "CREATE EXTERNAL TABLE spectrum.sales (salesid integer, price decimal(8,2)) \
             PARTITIONED BY (saledate date) \
             ROW FORMAT DELIMITED FIELDS TERMINATED BY '\\t' \
             STORED AS TEXTFILE LOCATION '/data/sales/' \
             TABLE PROPERTIES ('numRows'='172000', 'skip.header.line.count'='1')",
        )
        .unwrap();
        let ExternalStatement::CreateTable(t) = s else {
            panic!("{s:?}")
        };
        assert_eq!((t.schema.as_str(), t.name.as_str()), ("spectrum", "sales"));
        assert_eq!(t.columns.as_ref().map(|c| c.len()), Some(2));
        assert_eq!(t.partitioned_by.len(), 1);
        assert_eq!(t.serde_parameters["field.delim"], "\t");
        assert_eq!(t.stored_as, "TEXTFILE");
        assert_eq!(t.location, "/data/sales/");
        assert_eq!(t.properties["skip.header.line.count"], "1");
    }

    #[test]
    fn schemas_drops_and_partitions_parse_and_bad_words_are_syntax_errors() {
        // Input: each statement form once, then a misspelled clause.
        let s = parse_sql(
            "CREATE EXTERNAL SCHEMA IF NOT EXISTS s FROM DATA CATALOG DATABASE 'db' \
             IAM_ROLE 'arn:aws:iam::1:role/r' CREATE EXTERNAL DATABASE IF NOT EXISTS",
        )
        .unwrap();
        assert!(matches!(
            s,
            ExternalStatement::CreateSchema { if_not_exists: true, ref database, .. } if database == "db"
        ));
        let s = parse_sql("DROP EXTERNAL TABLE IF EXISTS s.a, s.b").unwrap();
        assert!(
            matches!(s, ExternalStatement::DropTable { ref names, if_exists: true } if names.len() == 2)
        );
        let s = parse_sql("DROP SCHEMA s DROP EXTERNAL DATABASE CASCADE").unwrap();
        assert!(matches!(
            s,
            ExternalStatement::DropSchema { cascade: true, .. }
        ));
        let s = parse_sql(
            "ALTER TABLE s.t ADD IF NOT EXISTS PARTITION (d='2024-01-01', n=3) LOCATION '/x' \
             PARTITION (d='2024-01-02', n=4) LOCATION '/y'",
        )
        .unwrap();
        let ExternalStatement::AddPartitions { partitions, .. } = s else {
            panic!()
        };
        assert_eq!(partitions[1].0[1], ("n".to_string(), "4".to_string()));
        let e = parse_sql("CREATE EXTERNAL TABLE s.t (a int) STORED AS PARQUET LOCATON '/x'")
            .unwrap_err();
        assert_eq!(e.to_string(), "syntax error at or near \"LOCATON\"");
        assert!(
            parse_sql("CREATE EXTERNAL TABLE t (a int) STORED AS PARQUET LOCATION '/x'").is_err()
        );
        assert_eq!(unescape("\\001"), "\u{1}");
        assert_eq!(unescape("\\u0002|"), "\u{2}|");
    }
}
