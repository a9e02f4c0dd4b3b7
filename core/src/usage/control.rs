//! Asking a background task (the reporter's, a sink's) to flush or to stop, and waiting until
//! it has: one command channel, shared by every usage service.

use tokio::sync::{mpsc, oneshot};

/// A command to a task; the task answers on the sender when done.
pub(crate) enum Control {
    /// Push out what it holds.
    Flush(oneshot::Sender<()>),
    /// Push out what it holds, then end.
    Stop(oneshot::Sender<()>),
}

/// The client's side of a task's command channel.
#[derive(Debug)]
pub(crate) struct Controller(mpsc::UnboundedSender<Control>);

/// A command channel: the controller, and the receiver the task listens on.
pub(crate) fn channel() -> (Controller, mpsc::UnboundedReceiver<Control>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Controller(tx), rx)
}

impl Controller {
    /// Asks the task to flush; resolves when it has (at once if it has ended).
    pub(crate) async fn flush(&self) {
        self.send(Control::Flush).await;
    }

    /// Asks the task to flush and end; resolves when it has.
    pub(crate) async fn stop(&self) {
        self.send(Control::Stop).await;
    }

    async fn send(&self, make: fn(oneshot::Sender<()>) -> Control) {
        let (done, wait) = oneshot::channel();
        if self.0.send(make(done)).is_ok() {
            let _ = wait.await;
        }
    }
}
