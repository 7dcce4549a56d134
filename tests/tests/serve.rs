//! `rustle-runner serve`: the framed MessagePack channel the controller
//! drives over SSH. One process serves a hello, a whole bundle (events
//! streamed per task, then the segment's stats), single tasks with inline
//! assets, a refused bundle, and a clean shutdown.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::io::Write;
use std::process::{Command, Stdio};

use rustle_bundle::{AssetId, BundleBuilder, HostPlan, Plan, PlayPlan, Task};
use rustle_e2e::{bin, test_key, write_test_pub};
use rustle_runner::engine::{Event, RunOptions, Status};
use rustle_runner::protocol::{
    read_frame, write_frame, InlineAsset, Request, Response, PROTOCOL_VERSION,
};

#[test]
fn serve_streams_results_over_one_process() {
    let work = tempfile::tempdir().unwrap();
    let key = write_test_pub(work.path());
    let out = work.path().join("out");
    let mut plan = Plan::new("serve");
    plan.hosts.push(HostPlan {
        name: "h1".into(),
        plays: vec![PlayPlan {
            name: "segment".into(),
            tasks: vec![
                Task::new("dir", "file")
                    .arg("path", out.display().to_string())
                    .arg("state", "directory"),
                Task::new("hello", "debug").arg("msg", "hi"),
            ],
            handlers: vec![],
            check_mode: None,
            diff: None,
        }],
    });
    let bundle = BundleBuilder::new(plan).build(Some(&test_key())).unwrap();

    let mut child = Command::new(bin("rustle-runner"))
        .args(["serve", "--trust", key.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let mut output = child.stdout.take().unwrap();
    let opts = RunOptions::default();

    write_frame(
        &mut input,
        &Request::Hello {
            protocol: PROTOCOL_VERSION,
        },
    )
    .unwrap();
    match read_frame::<_, Response>(&mut output).unwrap() {
        Some(Response::Hello {
            protocol, target, ..
        }) => {
            assert_eq!(protocol, PROTOCOL_VERSION);
            assert!(!target.is_empty());
        }
        other => panic!("expected Hello, got {other:?}"),
    }

    // A whole segment: one event per task, in order, then the stats.
    write_frame(
        &mut input,
        &Request::RunBundle {
            bundle: bundle.clone(),
            host: None,
            options: opts,
        },
    )
    .unwrap();
    let mut done = Vec::new();
    loop {
        match read_frame::<_, Response>(&mut output).unwrap() {
            Some(Response::Event(Event::TaskDone { name, status, .. })) => {
                done.push((name, status))
            }
            Some(Response::Event(_)) => {}
            Some(Response::SegmentDone { host, stats }) => {
                assert_eq!(host, "h1");
                assert_eq!((stats.ok, stats.changed), (2, 1));
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        done,
        vec![
            ("dir".to_owned(), Status::Changed),
            ("hello".to_owned(), Status::Ok)
        ]
    );
    assert!(out.is_dir());

    // Per-task mode with an inline asset.
    let data = b"inline asset\n".to_vec();
    let id = AssetId::of(&data);
    let dest = work.path().join("copied.txt");
    write_frame(
        &mut input,
        &Request::RunTask {
            host: "h1".into(),
            task: Box::new(
                Task::new("copy", "copy")
                    .arg("dest", dest.display().to_string())
                    .asset("src", id),
            ),
            assets: vec![InlineAsset { id, data }],
            options: opts,
        },
    )
    .unwrap();
    match read_frame::<_, Response>(&mut output).unwrap() {
        Some(Response::TaskResult { status, result }) => {
            assert_eq!(status, Status::Changed, "{result:?}");
        }
        other => panic!("expected TaskResult, got {other:?}"),
    }
    assert_eq!(std::fs::read(&dest).unwrap(), b"inline asset\n");

    // A tampered bundle is refused; the process keeps serving.
    let mut bad = bundle;
    bad[10] ^= 0xff;
    write_frame(
        &mut input,
        &Request::RunBundle {
            bundle: bad,
            host: None,
            options: opts,
        },
    )
    .unwrap();
    match read_frame::<_, Response>(&mut output).unwrap() {
        Some(Response::Error { message }) => {
            assert!(message.contains("bad signature"), "{message}")
        }
        other => panic!("expected Error, got {other:?}"),
    }

    write_frame(&mut input, &Request::Shutdown).unwrap();
    input.flush().unwrap();
    drop(input);
    let status = child.wait().unwrap();
    assert!(status.success());
}
