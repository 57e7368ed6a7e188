//! Waiting for one manifest's scan to finish, with backoff on tokio's clock. Basic scanning
//! is finished at `COMPLETE` (a scan is started first when none exists). Enhanced scanning
//! (Amazon Inspector) reports `ACTIVE`, or even `COMPLETE`, before its findings have all
//! arrived, so it is finished only when two reads in a row agree on the findings. The caller
//! bounds the whole wait (`scan-timeout`).

use std::time::Duration;

use crate::ecr::{Finding, ScanProgress, ScanRead};
use crate::report::ScanType;

/// The first pause between two reads; each pause doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(500);
const MAX_PAUSE: Duration = Duration::from_secs(10);

/// Where one manifest's scan is read, and started.
pub trait ScanSource {
    async fn read(&self) -> anyhow::Result<ScanRead>;
    /// Starts a basic scan; `false` when one already ran today.
    async fn start(&self) -> anyhow::Result<bool>;
}

/// How a manifest's scan ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settled {
    Complete(Vec<Finding>),
    /// ECR's final status and description.
    Failed(String),
}

/// Reads until the scan is finished (see the module header); never returns while it runs.
pub async fn settle(scan_type: ScanType, source: &impl ScanSource) -> anyhow::Result<Settled> {
    let mut pause = FIRST_PAUSE;
    let mut started = false;
    let mut previous: Option<Vec<Finding>> = None;
    loop {
        let read = source.read().await?;
        match (read.progress, scan_type) {
            (ScanProgress::Failed(why), _) => return Ok(Settled::Failed(why)),
            (ScanProgress::NotStarted, ScanType::Basic) if !started => {
                source.start().await?;
                started = true;
            }
            (ScanProgress::Done, ScanType::Basic) => return Ok(Settled::Complete(read.findings)),
            (ScanProgress::Done, ScanType::Enhanced) => {
                let findings = sorted(read.findings);
                if previous.as_ref() == Some(&findings) {
                    return Ok(Settled::Complete(findings));
                }
                previous = Some(findings);
            }
            (ScanProgress::NotStarted | ScanProgress::Running, _) => previous = None,
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

fn sorted(mut findings: Vec<Finding>) -> Vec<Finding> {
    findings.sort_by(|a, b| (&a.id, &a.arn, a.severity).cmp(&(&b.id, &b.arn, b.severity)));
    findings
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::report::Severity;

    /// Answers reads from a script (the last answer repeats) and counts starts.
    struct Scripted {
        reads: Mutex<Vec<ScanRead>>,
        starts: Mutex<usize>,
        read_at: Mutex<Vec<tokio::time::Instant>>,
    }

    impl Scripted {
        fn new(reads: Vec<ScanRead>) -> Self {
            Self {
                reads: Mutex::new(reads),
                starts: Mutex::new(0),
                read_at: Mutex::new(Vec::new()),
            }
        }
    }

    impl ScanSource for Scripted {
        async fn read(&self) -> anyhow::Result<ScanRead> {
            self.read_at
                .lock()
                .unwrap()
                .push(tokio::time::Instant::now());
            let mut reads = self.reads.lock().unwrap();
            Ok(if reads.len() > 1 {
                reads.remove(0)
            } else {
                reads[0].clone()
            })
        }
        async fn start(&self) -> anyhow::Result<bool> {
            *self.starts.lock().unwrap() += 1;
            Ok(true)
        }
    }

    fn read(progress: ScanProgress, ids: &[&str]) -> ScanRead {
        let findings = ids
            .iter()
            .map(|id| Finding {
                id: (*id).to_string(),
                arn: None,
                severity: Severity::High,
                fix_available: Some(true),
            })
            .collect();
        ScanRead { progress, findings }
    }

    #[tokio::test(start_paused = true)]
    async fn a_basic_scan_is_started_once_then_read_until_complete() {
        let source = Scripted::new(vec![
            read(ScanProgress::NotStarted, &[]),
            read(ScanProgress::Running, &[]),
            read(ScanProgress::Done, &["CVE-1"]),
        ]);
        let settled = settle(ScanType::Basic, &source).await.unwrap();
        assert!(matches!(settled, Settled::Complete(f) if f[0].id == "CVE-1"));
        assert_eq!(*source.starts.lock().unwrap(), 1);
        let at = source.read_at.lock().unwrap();
        assert_eq!(at[1] - at[0], Duration::from_millis(500));
        assert_eq!(at[2] - at[1], Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn enhanced_findings_count_only_once_two_reads_agree() {
        let source = Scripted::new(vec![
            read(ScanProgress::Done, &[]),
            read(ScanProgress::Done, &["CVE-1"]),
            read(ScanProgress::Done, &["CVE-1", "CVE-2"]),
            read(ScanProgress::Done, &["CVE-2", "CVE-1"]),
        ]);
        let settled = settle(ScanType::Enhanced, &source).await.unwrap();
        let Settled::Complete(findings) = settled else {
            panic!("not complete: {settled:?}");
        };
        let ids: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["CVE-1", "CVE-2"]);
        assert_eq!(source.read_at.lock().unwrap().len(), 4);
        assert_eq!(*source.starts.lock().unwrap(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_scan_that_never_completes_is_cut_by_the_callers_timeout_with_capped_pauses() {
        let source = Scripted::new(vec![read(ScanProgress::Running, &[])]);
        let waited =
            tokio::time::timeout(Duration::from_secs(60), settle(ScanType::Basic, &source));
        assert!(waited.await.is_err());
        let at = source.read_at.lock().unwrap();
        let last_pause = at[at.len() - 1] - at[at.len() - 2];
        assert_eq!(last_pause, MAX_PAUSE);
        assert!(at.len() < 12, "{} reads in a minute", at.len());
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_scan_says_why() {
        let source = Scripted::new(vec![read(
            ScanProgress::Failed("UNSUPPORTED_IMAGE".into()),
            &[],
        )]);
        let settled = settle(ScanType::Basic, &source).await.unwrap();
        assert_eq!(settled, Settled::Failed("UNSUPPORTED_IMAGE".into()));
    }
}
