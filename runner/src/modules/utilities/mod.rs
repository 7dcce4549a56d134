pub mod async_status;
pub mod debug;
pub mod wait_for;
