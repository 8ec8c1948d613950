//! Binding the bitwise operators of the integer types, as PostgreSQL 15 resolves them.
//!
//! PostgreSQL declares `&`, `|` and `#` for `(int2, int2)`, `(int4, int4)` and `(int8, int8)`,
//! `~` for each of the three, and `<<` / `>>` for `(int2, int4)`, `(int4, int4)` and `(int8,
//! int4)`. So a mixed pair is promoted to the wider type (`smallint & bigint` is `bigint`), a
//! shift's result has its left operand's type and its count must be `smallint` or `integer`
//! (`1 << 2::bigint` has no operator), and any other type (NUMERIC, floats, text, boolean)
//! has no operator (42883). An untyped literal takes the other operand's type (a shift count
//! becomes `integer`); two of them, or `~` of one, match several operators (42725). The
//! kernels are in `kernels::bitwise`.

use basalt_storage::SqlType;
use sqlparser::tokenizer::Span;

use super::bind::{fold, Binder};
use super::expr::{BinaryOp, Expr, ScalarFunc};
use crate::error::{Error, Result};
use crate::types::display_name;

/// Whether `ty` is one of the integer types the bitwise operators are declared for.
fn is_integer(ty: SqlType) -> bool {
    matches!(ty, SqlType::SmallInt | SqlType::Integer | SqlType::BigInt)
}

fn is_unknown(e: &Expr) -> bool {
    matches!(e, Expr::Literal { unknown: true, .. })
}

/// A type's name in an operator error: `unknown` for an untyped literal.
fn operand_name(e: &Expr) -> String {
    if is_unknown(e) {
        "unknown".into()
    } else {
        display_name(e.ty())
    }
}

impl Binder<'_> {
    /// `l op r` for `op` one of `&`, `|`, `#`, `<<`, `>>`.
    pub(crate) fn bitwise(&self, op: BinaryOp, l: Expr, r: Expr, span: Span) -> Result<Expr> {
        let position = self.position(span);
        let (left_name, right_name) = (operand_name(&l), operand_name(&r));
        let message =
            |what: &str| format!("operator {what}: {left_name} {} {right_name}", op.symbol());
        let shift = matches!(op, BinaryOp::ShiftLeft | BinaryOp::ShiftRight);
        let (lu, ru) = (is_unknown(&l), is_unknown(&r));
        // Untyped literals: PostgreSQL first tries the other operand's type for them.
        let ambiguous = lu && (ru || (shift && r.ty() == SqlType::SmallInt));
        if ambiguous {
            return Err(Error::AmbiguousFunction {
                message: message("is not unique"),
                position,
            });
        }
        let (l, r) = match (lu, ru) {
            (true, _) if is_integer(r.ty()) => {
                let ty = if shift { SqlType::Integer } else { r.ty() };
                (self.coerce_unknown(l, ty)?, r)
            }
            (_, true) if is_integer(l.ty()) => {
                let ty = if shift { SqlType::Integer } else { l.ty() };
                let r = self.coerce_unknown(r, ty)?;
                (l, r)
            }
            _ => (l, r),
        };
        let (lt, rt) = (l.ty(), r.ty());
        let does_not_exist = || Error::UndefinedFunction {
            message: message("does not exist"),
            position,
        };
        if shift {
            if !is_integer(lt) || !matches!(rt, SqlType::SmallInt | SqlType::Integer) {
                return Err(does_not_exist());
            }
            let r = self.cast(r, SqlType::Integer, false, span)?;
            return Ok(fold(Expr::Binary {
                op,
                left: Box::new(l),
                right: Box::new(r),
                ty: lt,
            }));
        }
        if !is_integer(lt) || !is_integer(rt) {
            return Err(does_not_exist());
        }
        let ty = crate::types::common_type(lt, rt).ok_or_else(does_not_exist)?;
        Ok(fold(Expr::Binary {
            op,
            left: Box::new(self.cast(l, ty, false, span)?),
            right: Box::new(self.cast(r, ty, false, span)?),
            ty,
        }))
    }

    /// `~v`, the bitwise complement.
    pub(crate) fn bitwise_not(&self, v: Expr, span: Span) -> Result<Expr> {
        let position = self.position(span);
        if is_unknown(&v) {
            return Err(Error::AmbiguousFunction {
                message: "operator is not unique: ~ unknown".into(),
                position,
            });
        }
        let ty = v.ty();
        if !is_integer(ty) {
            return Err(Error::UndefinedFunction {
                message: format!("operator does not exist: ~ {}", display_name(ty)),
                position,
            });
        }
        Ok(fold(Expr::Function {
            func: ScalarFunc::BitNot,
            args: vec![v],
            ty,
        }))
    }
}
