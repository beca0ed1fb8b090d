//! Process plugins: one long-lived child per plugin per run, spoken to in JSON lines
//! (`docs/plugin-protocol.md`), with a deadline per request, its standard error kept for
//! messages, and a cleared environment.
//!
//! A plugin that crashes, answers garbage or misses a deadline fails the request it was
//! serving; a crashed or garbled plugin is started again on next need, one that hung is
//! not used again in the run (each later request would wait the whole deadline again).

use std::collections::VecDeque;
#[cfg(not(unix))]
use std::io::{BufRead, BufReader};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
#[cfg(not(unix))]
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use lhp_plugin::protocol::{
    CheckResult, Describe, DescribeParams, GenerateParams, GenerateResult, Request, Response,
    WireAction, WireContext,
};
use lhp_plugin::{
    async_trait, Action, ActionKind, Batch, Event, Fragment, GenerateError, GenerateRequest,
    Generator, Hook, HookError, LHP_VERSION, PROTOCOL_VERSION,
};

/// Environment variables a plugin process inherits; everything else is withheld.
pub const ENV_ALLOW_LIST: [&str; 11] = [
    "PATH",
    "HOME",
    "USER",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "TEMP",
    "TMP",
    "SYSTEMROOT",
];

/// The longest line a plugin may answer with.
const MAX_LINE: usize = 64 * 1024 * 1024;
/// How much of a plugin's standard error is kept for messages.
const STDERR_KEPT: usize = 4096;
/// How long a plugin has to exit after `shutdown`.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// How a process plugin is started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// The working directory (the project root).
    pub root: PathBuf,
    /// The deadline of each request.
    pub timeout: Duration,
}

/// Why a request to a plugin failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessError {
    /// It could not be started.
    #[error("cannot start {program}: {reason}")]
    Spawn {
        /// What was run.
        program: String,
        /// The OS's reason.
        reason: String,
    },
    /// It exited (or closed its output) before answering.
    #[error("it exited {status} without answering `{method}`{stderr}")]
    Exited {
        /// The request.
        method: String,
        /// `with status 3`, `on signal 9`, ...
        status: String,
        /// `; its stderr: ...`, or empty.
        stderr: String,
    },
    /// It did not answer within the deadline.
    #[error("it did not answer `{method}` within {seconds} s (it was stopped and will not be used again in this run){stderr}")]
    Timeout {
        /// The request.
        method: String,
        /// The deadline.
        seconds: u64,
        /// `; its stderr: ...`, or empty.
        stderr: String,
    },
    /// It answered with something that is not a response to the request.
    #[error("it answered `{method}` with something that is not a protocol response ({reason}): {line:?}{stderr}")]
    Garbage {
        /// The request.
        method: String,
        /// What is wrong with it.
        reason: String,
        /// The start of what it wrote.
        line: String,
        /// `; its stderr: ...`, or empty.
        stderr: String,
    },
    /// It answered with an `error`.
    #[error("{message}")]
    Reported {
        /// The plugin's message.
        message: String,
        /// The plugin's hint.
        hint: Option<String>,
    },
    /// It speaks another protocol version.
    #[error("it speaks protocol version {}; this lhp speaks version 1", .0.protocol)]
    Protocol(Box<Describe>),
    /// It hung earlier in the run.
    #[error("it is not used again in this run: {0}")]
    Unavailable(String),
}

impl ProcessError {
    /// A result that is JSON but not of the shape `method` documents.
    fn shape(method: &str, error: &serde_json::Error) -> Self {
        Self::Garbage {
            method: method.to_owned(),
            reason: format!("its result is not of the documented shape: {error}"),
            line: String::new(),
            stderr: String::new(),
        }
    }
}

struct Running {
    /// Its handshake, once done.
    described: Option<Describe>,
    child: Child,
    stdin: ChildStdin,
    lines: LineReader,
    stderr: Arc<Mutex<VecDeque<u8>>>,
}

enum State {
    Idle,
    Running(Box<Running>),
    Dead(String),
}

/// A process plugin's child process, started on first need and shared by every request of
/// the run (one request at a time).
pub struct ProcessClient {
    name: String,
    launch: Launch,
    config: Arc<OnceLock<serde_json::Value>>,
    state: Mutex<State>,
    next_id: AtomicU64,
}

impl std::fmt::Debug for ProcessClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessClient")
            .field("name", &self.name)
            .field("program", &self.launch.program)
            .finish()
    }
}

impl ProcessClient {
    /// A client for the plugin `name` (its file name until `describe` says otherwise);
    /// `config` is handed over at start.
    pub fn new(name: String, launch: Launch, config: Arc<OnceLock<serde_json::Value>>) -> Self {
        Self {
            name,
            launch,
            config,
            state: Mutex::new(State::Idle),
            next_id: AtomicU64::new(0),
        }
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How the plugin is started.
    pub fn launch(&self) -> &Launch {
        &self.launch
    }

    /// Starts the plugin (if it is not running) and returns its `describe`.
    pub fn describe(&self) -> Result<Describe, ProcessError> {
        let mut state = self.lock();
        self.ensure_started(&mut state)
    }

    /// Sends one request and returns its result.
    pub fn request(
        &self,
        method: &str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value, ProcessError> {
        let mut state = self.lock();
        self.ensure_started(&mut state)?;
        self.exchange(&mut state, method, params)
    }

    /// Sends `shutdown`, closes its input and waits briefly for it to exit; kills it after.
    pub fn shutdown(&self) {
        let mut state = self.lock();
        if matches!(*state, State::Running(_)) {
            let _ = self.exchange_with_timeout(
                &mut state,
                "shutdown",
                serde_json::json!({}),
                EXIT_GRACE,
            );
        }
        if let State::Running(running) = std::mem::replace(&mut *state, State::Idle) {
            let Running {
                mut child, stdin, ..
            } = *running;
            drop(stdin);
            if wait_for_exit(&mut child, EXIT_GRACE).is_none() {
                kill_group(&mut child);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn ensure_started(&self, state: &mut State) -> Result<Describe, ProcessError> {
        match state {
            State::Dead(reason) => return Err(ProcessError::Unavailable(reason.clone())),
            State::Running(running) => {
                if let Some(described) = &running.described {
                    return Ok(described.clone());
                }
            }
            State::Idle => {}
        }
        if matches!(state, State::Idle) {
            *state = State::Running(Box::new(self.spawn()?));
        }
        let params = DescribeParams {
            protocol: PROTOCOL_VERSION,
            lhp_version: LHP_VERSION.to_owned(),
            project_root: self.launch.root.display().to_string(),
            config: self.config(),
        };
        let value = match self.exchange(
            state,
            "describe",
            serde_json::to_value(params).unwrap_or_default(),
        ) {
            Ok(value) => value,
            Err(error) => {
                // A plugin that cannot be described (it refused its settings, say) is not
                // used for anything else in the run.
                self.fail(state, Some(format!("its handshake failed: {error}")));
                return Err(error);
            }
        };
        let described = serde_json::from_value::<Describe>(value).map_err(|e| {
            self.garbage(
                state,
                "describe",
                &format!("its result is not of the documented shape: {e}"),
                String::new(),
            )
        })?;
        if described.protocol != PROTOCOL_VERSION {
            self.fail(state, None);
            return Err(ProcessError::Protocol(Box::new(described)));
        }
        if let State::Running(running) = state {
            running.described = Some(described.clone());
        }
        Ok(described)
    }

    fn config(&self) -> serde_json::Value {
        self.config
            .get()
            .cloned()
            .unwrap_or_else(|| serde_json::json!({}))
    }

    fn spawn(&self) -> Result<Running, ProcessError> {
        if self.config.get().is_none() {
            return Err(ProcessError::Spawn {
                program: self.launch.program.display().to_string(),
                reason: format!(
                    "its settings (plugins.config.{}) could not be resolved; see the errors about them",
                    self.name
                ),
            });
        }
        let mut command = Command::new(&self.launch.program);
        // Its own process group, so that a wrapper's children are stopped with it.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        command
            .args(&self.launch.args)
            .current_dir(&self.launch.root)
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for name in ENV_ALLOW_LIST {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        command
            .env("LHP_PLUGIN_PROTOCOL", PROTOCOL_VERSION.to_string())
            .env("LHP_VERSION", LHP_VERSION)
            .env("LHP_PROJECT_ROOT", &self.launch.root)
            .env("LHP_PLUGIN_CONFIG", self.config().to_string());
        let spawn_error = |e: std::io::Error| ProcessError::Spawn {
            program: self.launch.program.display().to_string(),
            reason: e.to_string(),
        };
        let mut child = command.spawn().map_err(spawn_error)?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(spawn_error(std::io::Error::other("no pipes")));
        };
        let lines = LineReader::new(stdout);
        let kept = Arc::new(Mutex::new(VecDeque::with_capacity(STDERR_KEPT)));
        let tail = Arc::clone(&kept);
        std::thread::spawn(move || {
            let mut stderr = stderr;
            let mut buffer = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                if let Ok(mut kept) = tail.lock() {
                    kept.extend(&buffer[..n]);
                    let excess = kept.len().saturating_sub(STDERR_KEPT);
                    kept.drain(..excess);
                }
            }
        });
        Ok(Running {
            described: None,
            child,
            stdin,
            lines,
            stderr: kept,
        })
    }

    fn exchange(
        &self,
        state: &mut State,
        method: &str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value, ProcessError> {
        self.exchange_with_timeout(state, method, params, self.launch.timeout)
    }

    fn exchange_with_timeout(
        &self,
        state: &mut State,
        method: &str,
        params: serde_json::Value,
        timeout: Duration,
    ) -> Result<serde_json::Value, ProcessError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let request = Request {
            id,
            method: method.to_owned(),
            params,
        };
        let mut line = serde_json::to_string(&request).unwrap_or_default();
        line.push('\n');
        let State::Running(running) = state else {
            return Err(ProcessError::Unavailable("it is not running".to_owned()));
        };
        if running.lines.unasked() {
            return Err(self.extra_output(
                state,
                method,
                "it wrote something after its previous answer, before this request",
            ));
        }
        let written = running
            .stdin
            .write_all(line.as_bytes())
            .and_then(|()| running.stdin.flush());
        if written.is_err() {
            return Err(self.exited(state, method));
        }
        let State::Running(running) = state else {
            return Err(ProcessError::Unavailable("it is not running".to_owned()));
        };
        let answer = match running.lines.next(timeout) {
            Answer::Line(answer) => answer,
            Answer::Closed => return Err(self.exited(state, method)),
            Answer::TimedOut => {
                let error = ProcessError::Timeout {
                    method: method.to_owned(),
                    seconds: timeout.as_secs().max(1),
                    stderr: self.stderr_tail(state),
                };
                self.fail(state, Some(error.to_string()));
                return Err(error);
            }
        };
        let garbage = |state: &mut State, reason: String| {
            self.garbage(state, method, &reason, answer.clone())
        };
        let response: Response = match serde_json::from_str(&answer) {
            Ok(response) => response,
            Err(e) => return Err(garbage(state, format!("not JSON: {e}"))),
        };
        let State::Running(running) = state else {
            return Err(ProcessError::Unavailable("it is not running".to_owned()));
        };
        if running.lines.has_pending() {
            return Err(self.extra_output(
                state,
                method,
                "it wrote more than one line for one request",
            ));
        }
        if response.id != id {
            return Err(garbage(
                state,
                format!("its id is {}, the request's {id}", response.id),
            ));
        }
        match (response.result, response.error) {
            (_, Some(error)) => Err(ProcessError::Reported {
                message: error.message,
                hint: error.hint,
            }),
            (Some(result), None) => Ok(result),
            (None, None) => Err(garbage(
                state,
                "it has neither `result` nor `error`".to_owned(),
            )),
        }
    }

    /// The error for output no request asked for (shown, then the plugin is stopped; it is
    /// started again on next need).
    fn extra_output(&self, state: &mut State, method: &str, reason: &str) -> ProcessError {
        let extra = match state {
            State::Running(running) => {
                String::from_utf8_lossy(running.lines.pending_bytes()).into_owned()
            }
            _ => String::new(),
        };
        self.garbage(state, method, reason, extra)
    }

    /// The error for an answer that is not one (the start of `written` is shown); the
    /// plugin is stopped, and started again on next need.
    fn garbage(
        &self,
        state: &mut State,
        method: &str,
        reason: &str,
        written: String,
    ) -> ProcessError {
        let stderr = self.stderr_tail(state);
        self.fail(state, None);
        ProcessError::Garbage {
            method: method.to_owned(),
            reason: reason.to_owned(),
            line: written.trim_end().chars().take(200).collect(),
            stderr,
        }
    }

    /// The error for a plugin that stopped answering; it is started again on next need.
    fn exited(&self, state: &mut State, method: &str) -> ProcessError {
        let mut status = "before answering".to_owned();
        if let State::Running(running) = state {
            // Give the exit a moment to be reaped, so the status can be told.
            if let Some(exit) = wait_for_exit(&mut running.child, Duration::from_millis(500)) {
                status = describe_exit(exit);
            }
        }
        // The reader thread may still be copying the last of standard error.
        std::thread::sleep(Duration::from_millis(20));
        let stderr = self.stderr_tail(state);
        self.fail(state, None);
        ProcessError::Exited {
            method: method.to_owned(),
            status,
            stderr,
        }
    }

    fn stderr_tail(&self, state: &State) -> String {
        let State::Running(running) = state else {
            return String::new();
        };
        let bytes: Vec<u8> = running
            .stderr
            .lock()
            .map(|kept| kept.iter().copied().collect())
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let last = &lines[lines.len().saturating_sub(5)..];
        if last.is_empty() {
            String::new()
        } else {
            format!("; its stderr: {}", last.join(" / "))
        }
    }

    /// Kills the child; a reason keeps it from being started again in this run.
    fn fail(&self, state: &mut State, dead_because: Option<String>) {
        if let State::Running(running) = std::mem::replace(state, State::Idle) {
            let mut running = *running;
            kill_group(&mut running.child);
        }
        if let Some(reason) = dead_because {
            *state = State::Dead(reason);
        }
    }
}

/// `timeout` from now, or a day from now if that cannot be represented.
fn far_deadline(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .or_else(|| now.checked_add(Duration::from_secs(86_400)))
        .unwrap_or(now)
}

/// What waiting for a plugin's next line gave.
enum Answer {
    /// A line (with its newline, if it had one).
    Line(String),
    /// Its output closed, or could not be read.
    Closed,
    /// Nothing complete came before the deadline.
    TimedOut,
}

/// The lines of a plugin's standard output, each awaited with a deadline. On Unix it reads
/// on the requesting thread (`poll` for the deadline), which saves a thread hand-off per
/// answer; elsewhere a reader thread hands lines over a channel.
struct LineReader {
    #[cfg(unix)]
    stdout: std::process::ChildStdout,
    #[cfg(unix)]
    pending: Vec<u8>,
    #[cfg(not(unix))]
    lines: mpsc::Receiver<std::io::Result<String>>,
}

impl LineReader {
    #[cfg(unix)]
    fn new(stdout: std::process::ChildStdout) -> Self {
        Self {
            stdout,
            pending: Vec::new(),
        }
    }

    #[cfg(unix)]
    fn next(&mut self, timeout: Duration) -> Answer {
        use std::os::fd::AsRawFd;
        let deadline = far_deadline(timeout);
        let mut chunk = [0u8; 64 * 1024];
        loop {
            if let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                return Answer::Line(String::from_utf8_lossy(&line).into_owned());
            }
            if self.pending.len() > MAX_LINE {
                let line = std::mem::take(&mut self.pending);
                return Answer::Line(String::from_utf8_lossy(&line).into_owned());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Answer::TimedOut;
            }
            let mut ready = libc::pollfd {
                fd: self.stdout.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let wait = i32::try_from(left.as_millis().max(1)).unwrap_or(i32::MAX);
            // SAFETY: one valid pollfd, for a descriptor this struct owns, for the call.
            let polled = unsafe { libc::poll(&mut ready, 1, wait) };
            if polled < 0 {
                if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Answer::Closed;
            }
            if polled == 0 {
                continue;
            }
            match self.stdout.read(&mut chunk) {
                Ok(0) => return Answer::Closed,
                Ok(n) => self.pending.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return Answer::Closed,
            }
        }
    }

    #[cfg(not(unix))]
    fn new(stdout: std::process::ChildStdout) -> Self {
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut line = Vec::new();
                let read = reader
                    .by_ref()
                    .take(MAX_LINE as u64)
                    .read_until(b'\n', &mut line);
                let message = match read {
                    Ok(0) => break,
                    Ok(_) => Ok(String::from_utf8_lossy(&line).into_owned()),
                    Err(e) => Err(e),
                };
                let failed = message.is_err();
                if sender.send(message).is_err() || failed {
                    break;
                }
            }
        });
        Self { lines }
    }

    /// Whether output is waiting beyond the last line (a plugin that says too much).
    #[cfg(unix)]
    fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Whether the plugin has written anything that no request asked for yet (checked
    /// before a request, without waiting).
    #[cfg(unix)]
    fn unasked(&mut self) -> bool {
        use std::os::fd::AsRawFd;
        let mut ready = libc::pollfd {
            fd: self.stdout.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, for a descriptor this struct owns, for the call.
        let polled = unsafe { libc::poll(&mut ready, 1, 0) };
        if polled > 0 && ready.revents & libc::POLLIN != 0 {
            let mut chunk = [0u8; 4096];
            if let Ok(n) = self.stdout.read(&mut chunk) {
                self.pending.extend_from_slice(&chunk[..n]);
            }
        }
        !self.pending.is_empty()
    }

    #[cfg(not(unix))]
    fn unasked(&mut self) -> bool {
        false
    }

    /// What is waiting beyond the last line.
    #[cfg(unix)]
    fn pending_bytes(&self) -> &[u8] {
        &self.pending
    }

    #[cfg(not(unix))]
    fn pending_bytes(&self) -> &[u8] {
        &[]
    }

    #[cfg(not(unix))]
    fn has_pending(&self) -> bool {
        false
    }

    #[cfg(not(unix))]
    fn next(&mut self, timeout: Duration) -> Answer {
        match self.lines.recv_timeout(timeout) {
            Ok(Ok(line)) => Answer::Line(line),
            Ok(Err(_)) | Err(mpsc::RecvTimeoutError::Disconnected) => Answer::Closed,
            Err(mpsc::RecvTimeoutError::Timeout) => Answer::TimedOut,
        }
    }
}

/// The child's exit status, if it exits within `within`.
fn wait_for_exit(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let until = far_deadline(within);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(5)),
            _ => return None,
        }
    }
}

/// Kills a plugin and everything it started (its process group), and reaps it.
fn kill_group(child: &mut Child) {
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: a plain signal to the group this child leads (process_group(0) above).
        unsafe {
            libc::killpg(pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn describe_exit(status: std::process::ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("with status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("on signal {signal}");
        }
    }
    "abnormally".to_owned()
}

/// A load, transform or write type served by a process plugin.
pub struct ProcessGenerator {
    /// The plugin's child.
    pub client: Arc<ProcessClient>,
    /// The plugin's name.
    pub plugin: String,
    /// The kind of action.
    pub kind: ActionKind,
    /// The type name.
    pub type_name: String,
    /// The example configuration its `describe` gave.
    pub example: Option<serde_json::Value>,
}

impl ProcessGenerator {
    fn error(&self, action: &Action, error: ProcessError) -> GenerateError {
        let code = match error {
            ProcessError::Reported { .. } => "LHP-PLUGIN-007",
            _ => "LHP-PLUGIN-006",
        };
        let hint = match &error {
            ProcessError::Reported { hint, .. } => hint.clone(),
            _ => Some(format!(
                "try it alone: `lhp plugin validate {}`",
                self.client.launch.program.display()
            )),
        };
        let mut result = GenerateError::new(
            code,
            format!(
                "plugin `{}` failed on action `{}` ({} type `{}`): {error}",
                self.plugin, action.name.value, self.kind, self.type_name
            ),
        )
        .at(action.span());
        if let Some(hint) = hint {
            result = result.hint(hint);
        }
        result
    }
}

impl Generator for ProcessGenerator {
    fn kind(&self) -> ActionKind {
        self.kind
    }
    fn type_name(&self) -> &str {
        &self.type_name
    }
    fn provider(&self) -> &str {
        &self.plugin
    }
    fn example(&self) -> Option<serde_json::Value> {
        self.example.clone()
    }
    fn validate(&self, action: &Action) -> Vec<GenerateError> {
        let params = serde_json::json!({ "action": WireAction::new(action, None) });
        let result = self.client.request("check", params).and_then(|value| {
            serde_json::from_value::<CheckResult>(value)
                .map_err(|e| ProcessError::shape("check", &e))
        });
        match result {
            Ok(checked) => checked
                .problems
                .into_iter()
                .map(|problem| {
                    let at = problem
                        .field
                        .as_deref()
                        .and_then(|field| config_field_span(action, field))
                        .unwrap_or_else(|| action.span());
                    GenerateError::new(
                        "LHP-PLUGIN-011",
                        format!(
                            "action `{}` ({} type `{}` of plugin `{}`): {}",
                            action.name.value,
                            self.kind,
                            self.type_name,
                            self.plugin,
                            problem.message
                        ),
                    )
                    .at(at)
                })
                .collect(),
            Err(error) => vec![self.error(action, error)],
        }
    }
    fn generate(&self, request: &GenerateRequest<'_>) -> Result<Fragment, GenerateError> {
        let context = request.context;
        let wire = |action: &Action| WireAction::new(action, context.location(action.span()));
        let params = GenerateParams {
            action: wire(request.action),
            group: if request.action.kind == ActionKind::Write {
                request.group.iter().map(|a| wire(a)).collect()
            } else {
                Vec::new()
            },
            context: WireContext {
                pipeline: context.pipeline().to_owned(),
                flowgroup: context.flowgroup().to_owned(),
                env: context.env().to_owned(),
            },
        };
        let value = self
            .client
            .request("generate", serde_json::to_value(params).unwrap_or_default())
            .map_err(|e| self.error(request.action, e))?;
        serde_json::from_value::<GenerateResult>(value)
            .map_err(|e| self.error(request.action, ProcessError::shape("generate", &e)))
    }
}

/// Where `field` (a key of the action's configuration, dotted for nested keys) was written.
pub fn config_field_span(action: &Action, field: &str) -> Option<lhp_plugin::Span> {
    let config = lhp_plugin::protocol::config_of(action);
    let mut value = &config;
    for part in field.split('.') {
        value = value.as_map()?.get(part)?;
    }
    Some(value.span)
}

/// An event hook served by a process plugin: batches go out as `events` requests.
pub struct ProcessHook {
    /// The plugin's child.
    pub client: Arc<ProcessClient>,
    /// The plugin's name.
    pub plugin: String,
    /// The event globs it asked for.
    pub globs: Vec<String>,
}

#[async_trait]
impl Hook for ProcessHook {
    fn name(&self) -> &str {
        &self.plugin
    }
    fn events(&self) -> Vec<String> {
        self.globs.clone()
    }
    async fn handle(&self, events: &Batch<Event>) -> Result<(), HookError> {
        let list: Vec<&Event> = events.iter().collect();
        let params = serde_json::json!({ "events": list });
        let client = Arc::clone(&self.client);
        // The exchange blocks on pipes; keep it off the runtime's workers.
        tokio::task::spawn_blocking(move || client.request("events", params))
            .await
            .map_err(|e| -> HookError { e.to_string().into() })?
            .map(|_| ())
            .map_err(|e| -> HookError { e.to_string().into() })
    }
}

/// Whether `path` is an executable file.
pub fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    if !meta.is_file() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        true
    }
}
