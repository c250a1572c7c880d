//! The one conformance suite, run for every adapter of this crate.
#![cfg(feature = "conformance")]

use dora_incidents::conformance::{
    self, IncidentIoWire, JsmWire, OpsgenieAlertsWire, OpsgenieIncidentsWire, PagerDutyWire,
    WireFormat,
};
use std::sync::Arc;

macro_rules! suite {
    ($module:ident, $wire:expr) => {
        mod $module {
            use super::*;

            #[tokio::test]
            async fn maps_the_standard_scenario() {
                conformance::maps_the_standard_scenario($wire).await;
            }

            #[tokio::test]
            async fn paginates() {
                conformance::paginates($wire).await;
            }

            #[tokio::test]
            async fn works_around_the_result_ceiling() {
                conformance::works_around_the_result_ceiling($wire).await;
            }

            #[tokio::test]
            async fn honours_retry_after() {
                conformance::honours_retry_after($wire).await;
            }

            #[tokio::test]
            async fn retries_server_errors() {
                conformance::retries_server_errors($wire).await;
            }

            #[tokio::test]
            async fn rejects_a_malformed_page() {
                conformance::rejects_a_malformed_page($wire).await;
            }

            #[tokio::test]
            async fn reports_skipped_items() {
                conformance::reports_skipped_items($wire).await;
            }

            #[tokio::test]
            async fn survives_short_pages() {
                conformance::survives_short_pages($wire).await;
            }

            #[tokio::test]
            async fn deduplicates_repeated_items() {
                conformance::deduplicates_repeated_items($wire).await;
            }

            #[tokio::test]
            async fn rejects_bad_credentials() {
                conformance::rejects_bad_credentials($wire).await;
            }
        }
    };
}

suite!(pagerduty, PagerDutyWire);
suite!(opsgenie_alerts, OpsgenieAlertsWire);
suite!(opsgenie_incidents, OpsgenieIncidentsWire);
suite!(incidentio, IncidentIoWire);
suite!(jsm, JsmWire::new());
suite!(
    jsm_absolute_next_thin_list,
    JsmWire::new().with_absolute_next().with_thin_list()
);
suite!(
    jsm_full_statuses_without_count,
    JsmWire::new().with_full_status_vocabulary().without_count()
);

#[tokio::test]
async fn every_tool_maps_the_same_scenario_to_the_same_incidents() {
    let formats: Vec<Arc<dyn WireFormat>> = vec![
        Arc::new(PagerDutyWire),
        Arc::new(OpsgenieAlertsWire),
        Arc::new(IncidentIoWire),
        Arc::new(JsmWire::new()),
    ];
    conformance::same_incidents_across(&formats).await;
}
