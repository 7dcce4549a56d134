//! The Rustle controller: turns playbooks and inventories into signed
//! bundles and drives runners. This crate grows with the playbook language
//! (parsing, inventory, templating, planning, transport).

pub mod cli;
pub mod config;
pub mod connect_cmd;
pub mod display;
pub mod doc;
pub mod exec;
pub mod inventory_cmd;
pub mod keygen;
pub mod playbook;
pub mod run;
pub mod runners;
pub mod settings;
pub mod vault_cmd;
pub mod vault_secrets;
