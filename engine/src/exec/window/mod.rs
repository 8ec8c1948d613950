//! Window functions: rows are sorted by the window's partition keys, then its order keys;
//! partitions and peer groups (rows equal on the order keys) are found in one pass over the
//! sorted rows, and each call's values are computed partition by partition, partitions in
//! parallel on the rayon pool (`operator`).
//!
//! Keys are compared in arrow-row form, which orders like SQL (NULLs placed as the ORDER BY
//! asks, NULL partition keys equal to each other). Value functions (LAG, FIRST_VALUE, MIN,
//! ...) compute row indices and gather the values with `take`, so they work for every type.
//! Each row's frame, its bounds less what its EXCLUDE clause takes out, and the running
//! states aggregates keep over frames are in `frame`; the aggregates, finished by the grouped
//! aggregates' finalisation, in `aggregate`.

mod aggregate;
mod frame;
mod operator;

pub use operator::window;
