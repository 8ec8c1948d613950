//! Basalt's sqllogictest runners. (Being written.)
