pub mod stat;
