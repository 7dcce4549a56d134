//! Package managers and source checkouts: apt, dnf, pip, git and friends.

pub mod apt;
pub mod apt_key;
pub mod apt_repository;
pub mod common;
pub mod deb822_repository;
pub mod dnf;
pub mod git;
pub mod keys;
pub mod package;
pub mod package_facts;
pub mod pip;
pub mod rpm_key;
