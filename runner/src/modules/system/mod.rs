//! System modules: accounts, scheduling, services, kernel parameters,
//! mounts, host settings.

pub mod accounts;
pub mod authorized_key;
pub mod cron;
pub mod getent;
pub mod group;
pub mod hostname;
pub mod known_hosts;
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
pub mod user;
pub mod util;
