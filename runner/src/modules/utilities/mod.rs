pub mod debug;
pub mod wait_for;
