//! Array kernels: construction, comparison with ANY / ALL, subscripts and the array
//! functions, with PostgreSQL's results for NULL arrays, NULL elements and empty arrays.
//!
//! Arrays are Arrow list arrays; Basalt's arrays are one-dimensional with lower bound 1.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, BooleanArray, ListArray, UInt32Array};
use basalt_storage::SqlType;

use crate::error::{Error, Result};
use crate::kernels::cast::{datum_at, datums_to_array, list_array};
use crate::pgtext;
use crate::planner::expr::BinaryOp;
use crate::types::Datum;

/// An array operation (see the module documentation of `planner::arrays` for the SQL).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArrayFunc {
    /// `ARRAY[a, b, ...]`.
    Make,
    /// `value op ANY (array)` (`all`: `op ALL`).
    Compare { op: BinaryOp, all: bool },
    /// `array[i]`.
    Element,
    /// `array_to_string(array, sep [, null_text])`.
    ToString,
    /// `array_length(array, dim)`.
    Length,
    /// `array_upper(array, dim)`.
    Upper,
    /// `array_lower(array, dim)`.
    Lower,
    /// `cardinality(array)`.
    Cardinality,
    /// `array_ndims(array)`.
    Ndims,
    /// `string_to_array(text, sep [, null_text])`.
    FromString,
    /// `array || array`, `array_cat`.
    Concat,
    /// `array || element`, `array_append`.
    Append,
    /// `element || array`, `array_prepend`.
    Prepend,
}

fn list(a: &ArrayRef) -> Result<&ListArray> {
    a.as_list_opt::<i32>()
        .ok_or_else(|| Error::Internal(format!("array function over a {}", a.data_type())))
}

/// Evaluates `f` over `vals` (the arguments, of SQL types `types`), giving `n` rows of `ty`.
pub fn evaluate(
    f: ArrayFunc,
    vals: &[ArrayRef],
    types: &[SqlType],
    ty: SqlType,
    n: usize,
) -> Result<ArrayRef> {
    let arg = |i: usize| {
        vals.get(i)
            .ok_or_else(|| Error::Internal(format!("{f:?} is missing argument {i}")))
    };
    match f {
        ArrayFunc::Make => make(vals, ty, n),
        ArrayFunc::Compare { op, all } => compare(op, all, arg(0)?, arg(1)?),
        _ => {
            // The rest go row by row through Datums: arrays are small and these are rare.
            let mut out = Vec::with_capacity(n);
            for row in 0..n {
                let args: Vec<Datum> = vals
                    .iter()
                    .zip(types)
                    .map(|(a, t)| datum_at(a.as_ref(), row, *t))
                    .collect();
                out.push(row_function(f, &args, types)?);
            }
            datums_to_array(&out, ty)
        }
    }
}

/// `ARRAY[...]`: row i's elements are the arguments' values at row i.
fn make(vals: &[ArrayRef], ty: SqlType, n: usize) -> Result<ArrayRef> {
    let SqlType::Array { element } = ty else {
        return Err(Error::Internal("ARRAY[] of a non-array type".into()));
    };
    let k = vals.len();
    if k == 0 {
        let child = arrow_array::new_empty_array(&element.sql_type().arrow_type());
        return list_array(element, vec![0; n + 1], child, vec![true; n]);
    }
    let refs: Vec<&dyn Array> = vals.iter().map(|a| a.as_ref()).collect();
    let all = arrow_select::concat::concat(&refs)?;
    // Element j of row i is at j * n + i of the concatenation.
    let idx: UInt32Array = (0..n)
        .flat_map(|i| (0..k).map(move |j| (j * n + i) as u32))
        .collect();
    let child = arrow_select::take::take(all.as_ref(), &idx, None)?;
    let offsets = (0..=n)
        .map(|i| i32::try_from(i * k).map_err(|_| Error::Internal("array too large".into())))
        .collect::<Result<Vec<_>>>()?;
    list_array(element, offsets, child, vec![true; n])
}

/// `value op ANY (array)` / `ALL`: true if the comparison holds for some (every) element; NULL
/// instead of false (true) when a comparison was NULL; false for ANY and true for ALL over an
/// empty array; NULL for a NULL array.
fn compare(op: BinaryOp, all: bool, value: &ArrayRef, arrays: &ArrayRef) -> Result<ArrayRef> {
    let lists = list(arrays)?;
    let offsets = lists.value_offsets();
    let (first, last) = (offsets[0] as usize, offsets[lists.len()] as usize);
    let idx: UInt32Array = (0..lists.len())
        .flat_map(|i| {
            let len = (offsets[i + 1] - offsets[i]) as usize;
            std::iter::repeat_n(i as u32, len)
        })
        .collect();
    let left = arrow_select::take::take(value.as_ref(), &idx, None)?;
    let right = lists.values().slice(first, last - first);
    use arrow_ord::cmp;
    let results = match op {
        BinaryOp::Eq => cmp::eq(&left, &right)?,
        BinaryOp::NotEq => cmp::neq(&left, &right)?,
        BinaryOp::Lt => cmp::lt(&left, &right)?,
        BinaryOp::LtEq => cmp::lt_eq(&left, &right)?,
        BinaryOp::Gt => cmp::gt(&left, &right)?,
        BinaryOp::GtEq => cmp::gt_eq(&left, &right)?,
        other => return Err(Error::Internal(format!("{other:?} with ANY/ALL"))),
    };
    let out: BooleanArray = (0..lists.len())
        .map(|i| {
            if lists.is_null(i) {
                return None;
            }
            let (s, e) = (offsets[i] as usize - first, offsets[i + 1] as usize - first);
            let mut saw_null = false;
            for j in s..e {
                if results.is_null(j) {
                    saw_null = true;
                } else if results.value(j) != all {
                    // ANY: a true decides; ALL: a false decides.
                    return Some(!all);
                }
            }
            if saw_null {
                None
            } else {
                Some(all)
            }
        })
        .collect();
    Ok(Arc::new(out))
}

/// One row of the row-wise array functions.
fn row_function(f: ArrayFunc, args: &[Datum], types: &[SqlType]) -> Result<Datum> {
    let items = |d: &Datum| -> Option<Vec<Datum>> {
        match d {
            Datum::Array(v) => Some(v.clone()),
            _ => None,
        }
    };
    let int = |d: Option<&Datum>| match d {
        Some(Datum::Int(v)) => Some(*v),
        _ => None,
    };
    let text = |d: Option<&Datum>| match d {
        Some(Datum::Text(s)) => Some(s.clone()),
        _ => None,
    };
    let first = args.first().unwrap_or(&Datum::Null);
    Ok(match f {
        ArrayFunc::Element => {
            let (Some(v), Some(i)) = (items(first), int(args.get(1))) else {
                return Ok(Datum::Null);
            };
            usize::try_from(i)
                .ok()
                .and_then(|i| i.checked_sub(1))
                .and_then(|i| v.get(i).cloned())
                .unwrap_or(Datum::Null)
        }
        ArrayFunc::ToString => {
            let (Some(v), Some(sep)) = (items(first), text(args.get(1))) else {
                return Ok(Datum::Null);
            };
            let null_text = text(args.get(2));
            let element = match types.first() {
                Some(SqlType::Array { element }) => element.sql_type(),
                _ => SqlType::Text,
            };
            let mut out = String::new();
            let mut wrote = false;
            for d in &v {
                let piece = if d.is_null() {
                    match &null_text {
                        Some(t) => t.clone(),
                        None => continue,
                    }
                } else {
                    let arr = datums_to_array(std::slice::from_ref(d), element)?;
                    let mut s = String::new();
                    pgtext::write_value(&mut s, arr.as_ref(), 0, element, pgtext::Zone::UTC);
                    s
                };
                if wrote {
                    out.push_str(&sep);
                }
                out.push_str(&piece);
                wrote = true;
            }
            Datum::Text(out)
        }
        ArrayFunc::Length | ArrayFunc::Upper => {
            let (Some(v), Some(dim)) = (items(first), int(args.get(1))) else {
                return Ok(Datum::Null);
            };
            if dim != 1 || v.is_empty() {
                Datum::Null
            } else {
                Datum::Int(v.len() as i64)
            }
        }
        ArrayFunc::Lower => {
            let (Some(v), Some(dim)) = (items(first), int(args.get(1))) else {
                return Ok(Datum::Null);
            };
            if dim != 1 || v.is_empty() {
                Datum::Null
            } else {
                Datum::Int(1)
            }
        }
        ArrayFunc::Cardinality => match items(first) {
            Some(v) => Datum::Int(v.len() as i64),
            None => Datum::Null,
        },
        ArrayFunc::Ndims => match items(first) {
            Some(v) if !v.is_empty() => Datum::Int(1),
            _ => Datum::Null,
        },
        ArrayFunc::FromString => {
            let Some(s) = text(Some(first)) else {
                return Ok(Datum::Null);
            };
            let null_text = text(args.get(2));
            let parts: Vec<String> = match args.get(1) {
                // A NULL separator splits into characters.
                Some(Datum::Null) | None => s.chars().map(String::from).collect(),
                Some(Datum::Text(sep)) if sep.is_empty() => {
                    if s.is_empty() {
                        Vec::new()
                    } else {
                        vec![s.clone()]
                    }
                }
                Some(Datum::Text(sep)) => {
                    if s.is_empty() {
                        Vec::new()
                    } else {
                        s.split(sep.as_str()).map(String::from).collect()
                    }
                }
                Some(_) => return Ok(Datum::Null),
            };
            Datum::Array(
                parts
                    .into_iter()
                    .map(|p| {
                        if null_text.as_deref() == Some(p.as_str()) {
                            Datum::Null
                        } else {
                            Datum::Text(p)
                        }
                    })
                    .collect(),
            )
        }
        ArrayFunc::Concat => match (items(first), args.get(1).and_then(items)) {
            (Some(mut a), Some(b)) => {
                a.extend(b);
                Datum::Array(a)
            }
            (Some(a), None) => Datum::Array(a),
            (None, Some(b)) => Datum::Array(b),
            (None, None) => Datum::Null,
        },
        ArrayFunc::Append => {
            let x = args.get(1).cloned().unwrap_or(Datum::Null);
            let mut a = items(first).unwrap_or_default();
            a.push(x);
            Datum::Array(a)
        }
        ArrayFunc::Prepend => {
            let mut a = args.get(1).and_then(items).unwrap_or_default();
            a.insert(0, first.clone());
            Datum::Array(a)
        }
        ArrayFunc::Make | ArrayFunc::Compare { .. } => {
            return Err(Error::Internal(format!("{f:?} is not row-wise")))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use basalt_storage::types::ArrayElement;

    fn ints(rows: Vec<Option<Vec<Option<i64>>>>) -> ArrayRef {
        let datums: Vec<Datum> = rows
            .into_iter()
            .map(|r| match r {
                None => Datum::Null,
                Some(v) => Datum::Array(
                    v.into_iter()
                        .map(|x| x.map_or(Datum::Null, Datum::Int))
                        .collect(),
                ),
            })
            .collect();
        datums_to_array(
            &datums,
            SqlType::Array {
                element: ArrayElement::Integer,
            },
        )
        .unwrap()
    }

    #[test]
    fn any_and_all_follow_three_valued_logic() {
        let arrays = ints(vec![
            Some(vec![Some(1), Some(2)]),
            Some(vec![Some(3), None]),
            Some(vec![]),
            None,
            Some(vec![Some(1), None]),
        ]);
        let value: ArrayRef = Arc::new(arrow_array::Int32Array::from(vec![2, 2, 2, 2, 1]));
        let any = compare(BinaryOp::Eq, false, &value, &arrays).unwrap();
        let any = any.as_boolean();
        let got: Vec<Option<bool>> = any.iter().collect();
        assert_eq!(got, vec![Some(true), None, Some(false), None, Some(true)]);
        let all = compare(BinaryOp::Eq, true, &value, &arrays).unwrap();
        let got: Vec<Option<bool>> = all.as_boolean().iter().collect();
        assert_eq!(got, vec![Some(false), Some(false), Some(true), None, None]);
    }

    #[test]
    fn text_form_quotes_what_array_syntax_uses() {
        let ty = SqlType::Array {
            element: ArrayElement::Text,
        };
        let d = Datum::Array(vec![
            Datum::Text("a".into()),
            Datum::Text("b c".into()),
            Datum::Null,
            Datum::Text("".into()),
            Datum::Text("NULL".into()),
            Datum::Text("q\"\\".into()),
        ]);
        let arr = datums_to_array(std::slice::from_ref(&d), ty).unwrap();
        let text = pgtext::format_value(arr.as_ref(), 0, ty, pgtext::Zone::UTC).unwrap();
        assert_eq!(text, r#"{a,"b c",NULL,"","NULL","q\"\\"}"#);
        assert_eq!(Datum::parse(&text, ty).unwrap(), d);
    }
}
