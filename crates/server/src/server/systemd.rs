//! systemd's service notifications (`Type=notify`): READY=1 once every socket is bound,
//! RELOADING=1 and READY=1 around a reload, STOPPING=1 at a stop, and a watchdog ping at half
//! `WatchdogSec=`. Each is a no-op when radotp does not run under systemd (no NOTIFY_SOCKET).

use std::time::Duration;

use sd_notify::NotifyState;

fn notify(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(false, states) {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
}

/// Every socket is bound: systemd may consider the service started.
pub(super) fn ready() {
    notify(&[NotifyState::Ready]);
}

/// A reload begins.
pub fn reloading() {
    notify(&[NotifyState::Reloading]);
}

/// A reload ended (applied or refused): back to serving.
pub fn reloaded() {
    notify(&[NotifyState::Ready]);
}

/// The server is stopping.
pub(super) fn stopping() {
    notify(&[NotifyState::Stopping]);
}

/// Ping the watchdog at half its interval, for as long as the runtime runs; `None` when
/// systemd set no watchdog.
pub(super) fn watchdog() -> Option<tokio::task::JoinHandle<()>> {
    let mut usec = 0;
    if !sd_notify::watchdog_enabled(false, &mut usec) || usec == 0 {
        return None;
    }
    let every = Duration::from_micros(usec) / 2;
    Some(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        loop {
            ticks.tick().await;
            notify(&[NotifyState::Watchdog]);
        }
    }))
}
