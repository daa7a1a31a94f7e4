//! One integration-test binary: real servers on port 0, real HTTP, real SQLite files.

mod smoke;
