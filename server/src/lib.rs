//! Basalt's PostgreSQL wire-protocol server. (Being written.)
