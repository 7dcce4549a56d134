//! System modules: services, kernel parameters, mounts, host settings.

pub mod hostname;
pub mod locale_gen;
pub mod modprobe;
pub mod mount;
pub mod pam_limits;
pub mod service;
pub mod service_facts;
pub mod sysctl;
pub mod systemd;
pub mod sysvinit;
pub mod timezone;
pub mod util;
