//! Basalt's benchmarks. (Being written.)
