//! The incident tools' fake API: the testkit's mock server on 127.0.0.1
//! answering with a [`WireFormat`]'s fake of the tool, over a scenario that
//! can change between syncs.

use super::{HarnessOptions, Scenario, WireFormat};
pub use dora_testkit::mock::{Fault, FaultPlan, LoggedRequest, ServedRequest, ServedResponse};
use std::sync::{Arc, Mutex};

/// The running fake API. Stops when dropped.
#[derive(Debug)]
pub struct MockServer {
    server: dora_testkit::mock::MockServer,
    scenario: Arc<Mutex<Scenario>>,
}

impl MockServer {
    /// Serve `scenario` in `wire`'s format on a free port of 127.0.0.1,
    /// accepting `token` and injecting `faults`.
    pub async fn start(
        wire: Arc<dyn WireFormat>,
        scenario: Scenario,
        options: HarnessOptions,
        token: &str,
        faults: FaultPlan,
    ) -> std::io::Result<Self> {
        let scenario = Arc::new(Mutex::new(scenario));
        let served = Arc::clone(&scenario);
        let token = token.to_string();
        let respond = move |request: &ServedRequest| {
            if !wire.authorized(request, &token) {
                return wire.unauthorized();
            }
            let scenario = match served.lock() {
                Ok(s) => s.clone(),
                Err(poisoned) => poisoned.into_inner().clone(),
            };
            wire.respond(&scenario, &options, request)
        };
        let server = dora_testkit::mock::MockServer::start(respond, faults).await?;
        Ok(Self { server, scenario })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        self.server.base_url()
    }

    /// Change what the fake serves from now on (the incidents a later sync
    /// sees: new ones, edited ones).
    pub fn update_scenario(&self, change: impl FnOnce(&mut Scenario)) {
        let mut scenario = match self.scenario.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        change(&mut scenario);
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.server.requests()
    }
}
