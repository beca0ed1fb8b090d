//! The command hook: runs a user's program in the project root, started with the first
//! matching event (a run with none does not start it) and kept for the rest of the run, and
//! writes the matching events to its stdin as JSON lines, a batch at a time. What it prints
//! goes to lhp's stderr. When the run ends its stdin is closed and it has the flush deadline
//! to exit.
//!
//! Its failures stay its own: a program that cannot start, exits early or fails makes this
//! hook's calls fail (counted, and reported at the end), never the run or another hook.

use std::path::PathBuf;
use std::process::Stdio;

use lhp_plugin::{async_trait, Batch, Event, Hook, HookDelivery, HookError};
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin, Command};

use crate::config::{common_hook_methods, Common, Entry, HookOptions, Problems};

/// Feeds events to an external program.
pub struct CommandHook {
    common: Common,
    argv: Vec<String>,
    dir: PathBuf,
    state: tokio::sync::Mutex<State>,
}

enum State {
    NotStarted,
    /// The program, its input, and the buffer each batch's lines are written into.
    Running(Box<(Child, ChildStdin, Vec<u8>)>),
    /// It could not start, or stopped reading: why.
    Gone(String),
}

impl CommandHook {
    /// A hook running `argv` in `dir`.
    pub fn new(name: &str, argv: Vec<String>, dir: PathBuf) -> Self {
        Self {
            common: Common::new(name, vec!["*".to_owned()], HookDelivery::default()),
            argv,
            dir,
            state: tokio::sync::Mutex::new(State::NotStarted),
        }
    }

    pub(crate) fn from_settings(
        entry: &Entry<'_>,
        options: &HookOptions,
        problems: &mut Problems<'_>,
    ) -> Option<Self> {
        let at = entry.map.and_then(|m| m.get("command")).map(|v| v.span);
        let argv = match entry.map.and_then(|m| m.get("command")).map(|v| &v.kind) {
            Some(lhp_plugin::ValueKind::String(line)) => {
                if line.contains(['"', '\'', '\\']) {
                    problems.error(
                        at,
                        "`command` as one line is split at spaces, without quoting: give a list for arguments with spaces or quotes",
                    );
                    return None;
                }
                line.split_whitespace().map(str::to_owned).collect()
            }
            Some(lhp_plugin::ValueKind::Seq(_)) => problems.list(entry.map, "command")?,
            _ => Vec::new(),
        };
        if argv.is_empty() {
            problems.error(
                at.or(entry.span),
                "`command` is required: the program and its arguments, as a list or one line",
            );
            return None;
        }
        let mut hook = Self::new(&entry.name, argv, options.root.clone());
        hook.common.apply(entry);
        Some(hook)
    }

    fn spawn(&self) -> Result<(Child, ChildStdin, Vec<u8>), String> {
        let mut command = Command::new(&self.argv[0]);
        command
            .args(&self.argv[1..])
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        // The program's output must not mix with lhp's own stdout.
        command.stdout(stderr_as_stdio());
        let mut child = command
            .spawn()
            .map_err(|error| format!("cannot run `{}`: {error}", self.argv[0]))?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| format!("`{}` has no stdin", self.argv[0]))?;
        Ok((child, stdin, Vec::new()))
    }
}

/// lhp's stderr, for a child's stdout.
fn stderr_as_stdio() -> Stdio {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() {
            return Stdio::from(fd);
        }
    }
    Stdio::inherit()
}

#[async_trait]
impl Hook for CommandHook {
    common_hook_methods!();

    async fn handle(&self, events: &Batch<Event>) -> Result<(), HookError> {
        let mut state = self.state.lock().await;
        if let State::NotStarted = *state {
            *state = match self.spawn() {
                Ok(running) => State::Running(Box::new(running)),
                Err(why) => State::Gone(why),
            };
        }
        let (child, stdin, bytes) = match &mut *state {
            State::Running(running) => {
                let (child, stdin, bytes) = &mut **running;
                (child, stdin, bytes)
            }
            State::Gone(why) => return Err(why.clone().into()),
            State::NotStarted => return Err("not started".into()),
        };
        bytes.clear();
        for event in events {
            event.write_json_line(bytes);
        }
        let written = async {
            stdin.write_all(bytes).await?;
            stdin.flush().await
        }
        .await;
        if let Err(error) = written {
            let why = match child.try_wait() {
                Ok(Some(status)) => format!("`{}` exited early ({status})", self.argv[0]),
                _ => format!("`{}` stopped reading its input: {error}", self.argv[0]),
            };
            *state = State::Gone(why.clone());
            return Err(why.into());
        }
        Ok(())
    }

    async fn close(&self) -> Result<(), HookError> {
        let state = std::mem::replace(&mut *self.state.lock().await, State::NotStarted);
        match state {
            State::NotStarted => Ok(()),
            State::Gone(why) => Err(why.into()),
            State::Running(running) => {
                let (mut child, stdin, _) = *running;
                // End of input: the program knows the run is over.
                drop(stdin);
                let budget = self.common.close_budget();
                match tokio::time::timeout(budget, child.wait()).await {
                    Ok(Ok(status)) if status.success() => Ok(()),
                    Ok(Ok(status)) => Err(format!("`{}` failed ({status})", self.argv[0]).into()),
                    Ok(Err(error)) => Err(format!("`{}`: {error}", self.argv[0]).into()),
                    Err(_) => {
                        let _ = child.kill().await;
                        Err(format!(
                            "`{}` did not exit within {budget:?} of the end of the run; stopped",
                            self.argv[0]
                        )
                        .into())
                    }
                }
            }
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn events_reach_the_program_and_a_failing_program_is_reported() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let out = dir.path().join("seen.jsonl");
        let hook = CommandHook::new(
            "copy",
            vec!["sh".into(), "-c".into(), format!("cat > {}", out.display())],
            dir.path().to_path_buf(),
        );
        let first: Batch<Event> = (1..=2)
            .map(|seq| Event::new("r", seq, "flowgroup.end"))
            .collect();
        let rest: Batch<Event> = [Event::new("r", 3, "flowgroup.end")].into_iter().collect();
        hook.handle(&first).await.unwrap_or_else(|e| panic!("{e}"));
        hook.handle(&rest).await.unwrap_or_else(|e| panic!("{e}"));
        hook.close().await.unwrap_or_else(|e| panic!("{e}"));
        let seen = std::fs::read_to_string(&out).unwrap_or_default();
        assert_eq!(seen.lines().count(), 3);
        assert!(seen
            .lines()
            .all(|l| l.contains("\"type\":\"flowgroup.end\"")));

        let failing = CommandHook::new(
            "failing",
            vec!["sh".into(), "-c".into(), "cat >/dev/null; exit 3".into()],
            dir.path().to_path_buf(),
        );
        failing
            .handle(&first)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let error = failing
            .close()
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("failed") && error.contains('3'), "{error}");

        let missing = CommandHook::new(
            "missing",
            vec!["/nonexistent/lhp-hook-program".into()],
            dir.path().to_path_buf(),
        );
        let error = missing
            .handle(&first)
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("cannot run"), "{error}");
    }
}
