//! `pg_proc` lists only functions Basalt has: every row binds, with its listed argument types,
//! to a call whose result has the listed result type (a set-returning function's OUT columns,
//! read from the function in FROM).

use basalt_engine::Engine;

use crate::common::try_cells;

/// A constant of type `ty`; text arguments take `text`, so that functions whose text
/// argument must name something (a date part, a setting) can be called.
fn sample(ty: &str, text: &str) -> String {
    let value = match ty {
        "boolean" => "true",
        "smallint" | "integer" | "bigint" => "1",
        "numeric" => "1.5",
        "real" | "double precision" => "0.5",
        "date" => "'2024-01-02'",
        "time without time zone" => "'03:04:05'",
        "timestamp without time zone" => "'2024-01-02 03:04:05'",
        "timestamp with time zone" => "'2024-01-02 03:04:05+00'",
        "interval" => "'1 day'",
        "\"any\"" => return "1".into(),
        _ => text,
    };
    format!("{value}::{ty}")
}

#[test]
fn every_listed_function_binds_with_its_listed_types() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session("basalt");
    let procs = try_cells(
        &mut s,
        "SELECT proname, prokind, pg_get_function_arguments(oid), pg_get_function_result(oid),
                pronargs, pg_function_is_visible(oid)
         FROM pg_proc ORDER BY oid",
    )
    .unwrap()
    .into_iter()
    .map(|row| {
        row.into_iter()
            .map(Option::unwrap_or_default)
            .collect::<Vec<_>>()
    })
    .collect::<Vec<_>>();
    assert!(procs.len() > 150, "{} functions", procs.len());
    for p in &procs {
        let [name, kind, args, result, nargs, visible] = p.as_slice() else {
            panic!("{p:?}")
        };
        assert_eq!(visible, "t", "{name}({args})");
        let all: Vec<&str> = if args.is_empty() {
            Vec::new()
        } else {
            args.split(", ").collect()
        };
        // A VARIADIC parameter takes one argument of its type here; OUT arguments are the
        // columns of a set-returning function's rows, `OUT name type`.
        let types: Vec<&str> = all
            .iter()
            .filter(|t| !t.starts_with("OUT "))
            .map(|t| t.strip_prefix("VARIADIC ").unwrap_or(t))
            .collect();
        let outputs: Vec<(&str, &str)> = all
            .iter()
            .filter_map(|t| t.strip_prefix("OUT ")?.split_once(' '))
            .collect();
        let expected = if result.starts_with("SETOF ") {
            assert!(!outputs.is_empty(), "{name}({args}) has no OUT columns");
            // Basalt's "char" is CHAR(1), as in its catalogs.
            outputs
                .iter()
                .map(|(_, t)| if *t == "\"char\"" { "character" } else { t })
                .collect::<Vec<_>>()
                .join(", ")
        } else {
            result.clone()
        };
        assert_eq!(types.len().to_string(), *nargs, "{name}({args})");
        let mut tried = Vec::new();
        let bound = [
            None,
            Some("'day'"),
            Some("'TimeZone'"),
            Some("'a'"),
            Some("'%s'"),
        ]
        .into_iter()
        .find_map(|text| {
            let call: Vec<String> = types
                .iter()
                .map(|t| match text {
                    None if *t != "\"any\"" => format!("NULL::{t}"),
                    None => "1".into(),
                    Some(text) => sample(t, text),
                })
                .collect();
            // An aggregate of no arguments is written with `*`, as count(*).
            let call = if kind == "a" && call.is_empty() {
                "*".to_owned()
            } else {
                call.join(", ")
            };
            let mut sql = format!("SELECT pg_typeof({name}({call}))");
            if kind == "a" {
                sql.push_str(" FROM (VALUES (1)) AS v(x)");
            }
            if !outputs.is_empty() {
                let columns: Vec<String> = outputs
                    .iter()
                    .map(|(c, _)| format!("pg_typeof({c})"))
                    .collect();
                sql = format!("SELECT {} FROM {name}({call}) LIMIT 1", columns.join(", "));
            }
            match try_cells(&mut s, &sql) {
                Ok(rows) => Some(
                    rows[0]
                        .iter()
                        .map(|c| c.clone().unwrap_or_default())
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                Err(e) => {
                    tried.push(format!("{sql}: {e}"));
                    None
                }
            }
        });
        match bound {
            Some(ty) => assert_eq!(ty, expected, "{name}({args})"),
            None => panic!("{name}({args}) does not bind:\n{}", tried.join("\n")),
        }
    }
}
