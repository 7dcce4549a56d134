pub mod accounts;
pub mod authorized_key;
pub mod cron;
pub mod getent;
pub mod group;
pub mod known_hosts;
pub mod user;
