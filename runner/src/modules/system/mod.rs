//! System modules: services, kernel parameters, mounts, host settings.

pub mod service;
pub mod systemd;
pub mod sysvinit;
pub mod util;
