//! The eCLAT compiler (pure: no I/O, never panics on user input).
