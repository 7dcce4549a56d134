//! Network modules: HTTP clients (`uri`, `get_url`) over a shared
//! `fetch_url` equivalent.

pub mod get_url;
pub mod http;
pub mod uri;
