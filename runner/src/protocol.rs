//! The `rustle-runner serve` wire protocol.
//!
//! Frames on stdin/stdout: a 4-byte little-endian length, then that many
//! bytes of MessagePack (named fields). The controller sends [`Request`]s;
//! the runner answers with [`Response`]s, streaming one `Event` per task as
//! it completes. One process serves a whole run: many bundles (segments)
//! and single tasks (per-task mode) over one channel.

use std::io::{self, Read, Write};

use rustle_bundle::{AssetId, Task};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use thiserror::Error;

use crate::engine::{Event, HostStats, RunOptions, Status};
use crate::result::ModuleResult;

pub const PROTOCOL_VERSION: u32 = 2;

/// Largest frame accepted (a bundle travels in one frame).
pub const MAX_FRAME: u32 = 1 << 30;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InlineAsset {
    pub id: AssetId,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

// A request is built once and sent; boxing the large variant buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    Hello {
        protocol: u32,
    },
    /// Verify and run a whole bundle (one play segment). The bundle stays
    /// in memory; it is never written to disk.
    RunBundle {
        #[serde(with = "serde_bytes")]
        bundle: Vec<u8>,
        /// Which of the bundle's hosts this is (`None`: the only one).
        host: Option<String>,
        options: RunOptions,
    },
    /// Run one task (per-task mode); its assets travel inline.
    RunTask {
        host: String,
        task: Box<Task>,
        assets: Vec<InlineAsset>,
        options: RunOptions,
    },
    /// Gather the host's facts (`setup` / `gather_facts`).
    GatherFacts {
        options: crate::facts::Options,
    },
    Shutdown,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Response {
    Hello {
        protocol: u32,
        version: String,
        target: String,
    },
    Event(Event),
    SegmentDone {
        host: String,
        stats: HostStats,
    },
    TaskResult {
        status: Status,
        result: ModuleResult,
    },
    /// The facts of a `GatherFacts` request (without the `ansible_`
    /// prefix), and the gathering's warnings.
    Facts {
        facts: serde_json::Map<String, serde_json::Value>,
        warnings: Vec<String>,
    },
    /// The request could not be served (bad bundle, unknown host, ...).
    Error {
        message: String,
    },
}

#[derive(Debug, Error)]
pub enum ProtocolError {
    #[error("I/O error on the runner channel: {0}")]
    Io(#[from] io::Error),
    #[error("frame of {got} bytes exceeds the limit of {limit}")]
    FrameTooLarge { got: u32, limit: u32 },
    #[error("cannot decode frame: {0}")]
    Decode(String),
    #[error("cannot encode frame: {0}")]
    Encode(String),
    #[error("channel closed in the middle of a frame")]
    Truncated,
}

pub fn write_frame<W: Write, T: Serialize>(w: &mut W, msg: &T) -> Result<(), ProtocolError> {
    let body = rmp_serde::to_vec_named(msg).map_err(|e| ProtocolError::Encode(e.to_string()))?;
    let len = u32::try_from(body.len()).map_err(|_| ProtocolError::FrameTooLarge {
        got: u32::MAX,
        limit: MAX_FRAME,
    })?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(&body)?;
    w.flush()?;
    Ok(())
}

/// Reads one frame; `Ok(None)` at a clean end of stream.
pub fn read_frame<R: Read, T: DeserializeOwned>(r: &mut R) -> Result<Option<T>, ProtocolError> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        let n = r.read(&mut len[got..])?;
        if n == 0 {
            return if got == 0 {
                Ok(None)
            } else {
                Err(ProtocolError::Truncated)
            };
        }
        got += n;
    }
    let len = u32::from_le_bytes(len);
    if len > MAX_FRAME {
        return Err(ProtocolError::FrameTooLarge {
            got: len,
            limit: MAX_FRAME,
        });
    }
    let mut body = vec![0u8; len as usize];
    r.read_exact(&mut body).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            ProtocolError::Truncated
        } else {
            ProtocolError::Io(e)
        }
    })?;
    rmp_serde::from_slice(&body)
        .map(Some)
        .map_err(|e| ProtocolError::Decode(e.to_string()))
}
