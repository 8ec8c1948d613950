//! PostgreSQL's precedence for prefix operators such as `~`.
//!
//! PostgreSQL's grammar gives a prefix operator (`qual_Op a_expr %prec Op`) the precedence of
//! any other operator, below `+` and `-`: `~ 5 + 1` is `~ (5 + 1)`, and `2 * ~ 5 + 1` is
//! `2 * ~ (5 + 1)`. sqlparser binds the operand as tightly as `+` binds, so it parses
//! `(~ 5) + 1`. Every operator of higher precedence than `+` already ends up inside the
//! operand, so the only difference is a `+` or `-` that follows the operand: in the AST, a
//! `+` / `-` node whose left operand ends with the prefix operator's operand (it lies on the
//! left operand's right spine). This pass moves such `+` / `-` nodes, bottom-up, into the
//! deepest such prefix operator's operand. Parentheses (`Expr::Nested`) stop the search, so
//! `(~ 5) + 1` keeps its meaning.

use std::ops::ControlFlow;

use sqlparser::ast::{visit_expressions_mut, BinaryOperator, Expr, Statement, UnaryOperator};

/// Rewrites every expression of `statement` to PostgreSQL's prefix-operator precedence.
pub(crate) fn reassociate(statement: &mut Statement) {
    let _ = visit_expressions_mut(statement, |e| {
        reassociate_node(e);
        ControlFlow::<()>::Continue(())
    });
}

/// Prefix operators PostgreSQL parses as `qual_Op a_expr`.
fn is_prefix_operator(op: &UnaryOperator) -> bool {
    matches!(
        op,
        UnaryOperator::BitwiseNot
            | UnaryOperator::PGSquareRoot
            | UnaryOperator::PGCubeRoot
            | UnaryOperator::PGAbs
            | UnaryOperator::PGPrefixFactorial
    )
}

/// One node, its children already rewritten.
fn reassociate_node(e: &mut Expr) {
    let Expr::BinaryOp { left, op, .. } = e else {
        return;
    };
    if !matches!(op, BinaryOperator::Plus | BinaryOperator::Minus) || !spine_has_prefix(left) {
        return;
    }
    let Expr::BinaryOp { left, op, right } =
        std::mem::replace(e, Expr::value(sqlparser::ast::Value::Null))
    else {
        return;
    };
    let mut left = *left;
    absorb(&mut left, op, *right);
    *e = left;
}

/// Whether a prefix operator lies on `e`'s right spine.
fn spine_has_prefix(e: &Expr) -> bool {
    match e {
        Expr::UnaryOp { op, expr } => is_prefix_operator(op) || spine_has_prefix(expr),
        Expr::BinaryOp { right, .. } => spine_has_prefix(right),
        _ => false,
    }
}

/// Replaces the deepest prefix operator on `e`'s right spine, `op' x`, by `op' (x op right)`.
/// `e` must have one (`spine_has_prefix`).
fn absorb(e: &mut Expr, op: BinaryOperator, right: Expr) {
    match e {
        Expr::UnaryOp { op: unary, expr } => {
            if spine_has_prefix(expr) {
                return absorb(expr, op, right);
            }
            if is_prefix_operator(unary) {
                let operand =
                    std::mem::replace(expr.as_mut(), Expr::value(sqlparser::ast::Value::Null));
                **expr = Expr::BinaryOp {
                    left: Box::new(operand),
                    op,
                    right: Box::new(right),
                };
            }
        }
        Expr::BinaryOp { right: inner, .. } => absorb(inner, op, right),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first select item of `sql`, every operator node in parentheses (sqlparser prints
    /// `~(5 + 1)` as `~5 + 1`).
    fn parsed(sql: &str) -> String {
        fn shape(e: &Expr) -> String {
            match e {
                Expr::BinaryOp { left, op, right } => {
                    format!("({} {op} {})", shape(left), shape(right))
                }
                Expr::UnaryOp { op, expr } => format!("({op}{})", shape(expr)),
                Expr::Nested(inner) => shape(inner),
                other => other.to_string(),
            }
        }
        let statements = crate::parse::parse(sql).unwrap();
        let Statement::Query(q) = &statements[0] else {
            panic!("not a query")
        };
        let sqlparser::ast::SetExpr::Select(s) = q.body.as_ref() else {
            panic!("not a select")
        };
        let sqlparser::ast::SelectItem::UnnamedExpr(e) = &s.projection[0] else {
            panic!("not an expression")
        };
        shape(e)
    }

    // Prefix operators take the `+` and `-` that follow their operand, as in PostgreSQL;
    // parentheses and operators of lower precedence are untouched.
    #[test]
    fn prefix_operators_take_following_sums() {
        assert_eq!(parsed("SELECT ~ 5 + 1"), "(~(5 + 1))");
        assert_eq!(parsed("SELECT ~ 5 + 1 - 2"), "(~((5 + 1) - 2))");
        assert_eq!(parsed("SELECT 2 * ~ 5 + 1"), "(2 * (~(5 + 1)))");
        assert_eq!(parsed("SELECT 1 + ~ 5 + 1"), "(1 + (~(5 + 1)))");
        assert_eq!(parsed("SELECT ~ ~ 5 + 1"), "(~(~(5 + 1)))");
        assert_eq!(parsed("SELECT - ~ 5 + 1"), "(-(~(5 + 1)))");
        assert_eq!(parsed("SELECT ~ 1 * ~ 5 + 1"), "(~(1 * (~(5 + 1))))");
        assert_eq!(parsed("SELECT (~ 5) + 1"), "((~5) + 1)");
        assert_eq!(parsed("SELECT ~ 5 & 3 + 1"), "((~5) & (3 + 1))");
        assert_eq!(parsed("SELECT ~ 5 < 3 + 1"), "((~5) < (3 + 1))");
        assert_eq!(parsed("SELECT ~ 5 * 2"), "(~(5 * 2))");
    }
}
