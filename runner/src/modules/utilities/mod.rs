pub mod async_status;
pub mod debug;
