//! The packet generator: UDP (one flow, or `--flows N`), ICMP echo (with replies counted) or a pcap replay from a node,
//! paced or as fast as possible, exact. Runs inside the node's namespace on a thread of its
//! own; stops within a few milliseconds of its token being cancelled.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use anyhow::{Result, bail};
use eclat_kernel::traffic::{self, Spec};
pub use eclat_kernel::traffic::{Kind, Report};
use tokio_util::sync::CancellationToken;

use crate::Lab;

/// What to send: the typed form of `traffic --from ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficRequest {
    pub from: String,
    pub to: Option<IpAddr>,
    pub what: What,
    /// packets to send (default 10; with a pcap, every frame once)
    pub count: Option<u64>,
    /// packets per second (default: as fast as possible)
    pub rate: Option<f64>,
}

/// What to send: the generator's own kinds (`traffic --udp`, `--flows`, `--icmp`, `--pcap`).
pub use eclat_kernel::traffic::Kind as What;

impl TrafficRequest {
    fn spec(&self, reply_wait: Duration) -> Result<Spec> {
        if let What::Pcap { dev, .. } = &self.what
            && dev.is_empty()
        {
            bail!(
                "--pcap needs --dev DEV: the interface of {} to send from",
                self.from
            );
        }
        let spec = Spec {
            from: self.from.clone(),
            to: self.to,
            kind: self.what.clone(),
            count: self.count,
            rate: self.rate,
            reply_wait,
        };
        traffic::validate(&spec)?;
        Ok(spec)
    }
}

/// How long `traffic --icmp` waits for echo replies after its last request.
pub const REPLY_WAIT: Duration = Duration::from_millis(1000);

/// How many packets a running generator has sent so far.
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<AtomicU64>);

impl Progress {
    pub fn sent(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Lab {
    /// Sends the traffic of `req`. Cancelled, it stops within milliseconds and reports what
    /// it sent (`stopped` set) instead of failing.
    pub async fn traffic(
        &self,
        req: TrafficRequest,
        progress: Progress,
        cancel: CancellationToken,
    ) -> Result<Report> {
        self.traffic_waiting(req, progress, cancel, REPLY_WAIT)
            .await
    }

    /// [`Lab::traffic`], waiting `reply_wait` after the last echo request for replies (a
    /// generator that has all the replies it sent for ends at once).
    pub async fn traffic_waiting(
        &self,
        req: TrafficRequest,
        progress: Progress,
        cancel: CancellationToken,
        reply_wait: Duration,
    ) -> Result<Report> {
        let spec = req.spec(reply_wait)?;
        self.blocking(move |lab| Ok(traffic::send(lab.env(), &spec, &progress.0, &cancel)?))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(what: What, rate: Option<f64>) -> TrafficRequest {
        TrafficRequest {
            from: "tg".into(),
            to: Some("fc01::2".parse().unwrap()),
            what,
            count: Some(2),
            rate,
        }
    }

    #[test]
    fn bad_numbers_are_refused_before_anything_is_sent() {
        let udp = What::Udp {
            port: 5000,
            payload: 64,
        };
        for rate in [1e-300, 0.0, -1.0, f64::NAN, f64::INFINITY, 1e12] {
            let e = req(udp.clone(), Some(rate))
                .spec(REPLY_WAIT)
                .unwrap_err()
                .to_string();
            assert!(e.contains("--rate"), "{rate}: {e}");
        }
        assert!(req(udp, Some(5.0)).spec(REPLY_WAIT).is_ok());
        let big = What::Udp {
            port: 1,
            payload: usize::MAX,
        };
        let e = req(big, None).spec(REPLY_WAIT).unwrap_err().to_string();
        assert!(e.contains("--size"), "{e}");
        let mut r = req(What::Icmp, None);
        r.count = Some(0);
        assert!(
            r.spec(REPLY_WAIT)
                .unwrap_err()
                .to_string()
                .contains("--count")
        );
        let e = req(
            What::Pcap {
                file: "x.pcap".into(),
                dev: String::new(),
            },
            None,
        )
        .spec(REPLY_WAIT)
        .unwrap_err()
        .to_string();
        assert!(e.contains("--dev"), "{e}");
    }
}
