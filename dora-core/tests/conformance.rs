//! The reference source passes the delivery-source conformance suite: what
//! `MemorySource` holds is what every source's `collect` must behave like.
#![cfg(feature = "conformance")]

mod common;

use common::*;
use dora_core::conformance::{self, DeliverySuite};
use dora_core::{Dataset, MemorySource, TimeRange};

/// Drive a future that never waits on I/O (`MemorySource` answers at once).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// Two repositories over January with merged PRs and deployments inside and
/// before the window.
fn held() -> Dataset {
    let mut web = Builder::new("web");
    web.commit("a", &[], t(1, 9))
        .commit("b", &["a"], t(4, 9))
        .commit("m1", &["a", "b"], t(5, 12))
        .commit("c", &["m1"], t(20, 9))
        .commit("m2", &["m1", "c"], t(21, 12))
        .pr(
            1,
            "feature/one",
            t(4, 10),
            Some(t(4, 15)),
            t(5, 12),
            "m1",
            &["b"],
        )
        .pr(2, "feature/two", t(20, 10), None, t(21, 12), "m2", &["c"])
        .ok("d0", "a", t(1, 10))
        .ok("d1", "m1", t(6, 10))
        .ok("d2", "m2", t(22, 10));
    let mut api = Builder::new("api");
    api.commit("x", &[], t(2, 9))
        .commit("y", &["x"], t(18, 9))
        .commit("m3", &["x", "y"], t(19, 12))
        .pr(
            7,
            "bugfix/y",
            t(18, 10),
            Some(t(18, 11)),
            t(19, 12),
            "m3",
            &["y"],
        )
        .ok("e1", "m3", t(19, 15));
    let mut data = web.data;
    data.extend(api.data);
    data
}

fn january_range() -> TimeRange {
    TimeRange::new(t(1, 0), t(31, 0))
}

#[test]
fn memory_source_passes_the_delivery_suite() {
    let data = held();
    let served = data.clone();
    block_on(
        DeliverySuite::new(move || MemorySource::new(served.clone()), january_range())
            .narrow(TimeRange::new(t(15, 0), t(25, 0)))
            .expect(data)
            .run(),
    );
}

#[test]
fn the_suite_catches_a_source_that_repeats_an_item() {
    let mut data = held();
    let repeated = data.pull_requests[0].clone();
    data.pull_requests.push(repeated);
    let caught = std::panic::catch_unwind(|| {
        block_on(conformance::check_collect(
            &MemorySource::new(data),
            january_range(),
        ))
    });
    assert!(
        caught.is_err(),
        "a repeated pull request must fail the suite"
    );
}
