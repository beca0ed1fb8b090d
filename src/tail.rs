//! `lhp events tail`: the last events of the event log, or the events as runs write them
//! (`-f`), filtered by type, pipeline, flowgroup, run and time; readable and coloured, or the
//! JSON lines as written.
//!
//! Following survives rotation (the old file is read to its end before the new one is
//! opened) and a partial last line (kept until its newline arrives), and ends cleanly on
//! Ctrl-C and when the reader of its output goes away (`| head`).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::{Args, Subcommand};
use lhp_bus::Filter;
use lhp_orchestrator::project::{find_root, load_project_config};
use lhp_plugin::{Event, Sources};

use crate::output::Output;

/// `lhp events ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum EventsCommand {
    /// Show the last events of the event log, or follow it while runs write.
    ///
    /// Example: lhp events tail -n 50 --last-run
    ///
    /// Example: lhp events tail -f --type 'flowgroup.*' --pipeline bronze
    ///
    /// Example: lhp events tail --since 10m --json | jq .type
    Tail(TailArgs),
}

/// The arguments of `lhp events tail`.
#[derive(Debug, Args)]
pub(crate) struct TailArgs {
    /// How many events to show from the log as it is (with -f, before following).
    #[arg(short = 'n', long = "lines", value_name = "N", default_value_t = 20)]
    lines: usize,
    /// Keep reading: show events as runs append them, until Ctrl-C.
    #[arg(short, long)]
    follow: bool,
    /// Only events whose type matches (`flowgroup.*`, `*.error`). Repeatable.
    #[arg(long = "type", value_name = "GLOB")]
    kinds: Vec<String>,
    /// Only events of this pipeline.
    #[arg(long)]
    pipeline: Option<String>,
    /// Only events of this flowgroup.
    #[arg(long)]
    flowgroup: Option<String>,
    /// Only events of this run.
    #[arg(long, value_name = "ID", conflicts_with = "last_run")]
    run: Option<String>,
    /// Only events of the last run in the log (with -f: then the runs that follow).
    #[arg(long)]
    last_run: bool,
    /// Only events from this long ago (`30s`, `10m`, `2h`, `1d`) or this time
    /// (`2026-11-25T12:00:00Z`, `2026-11-25`).
    #[arg(long, value_name = "WHEN")]
    since: Option<String>,
    /// Print the events as JSON lines, as the log holds them.
    #[arg(long)]
    json: bool,
    /// The event log to read (default: the project's, `.lhp/events.jsonl` unless
    /// `hooks.event_log.path` says otherwise).
    #[arg(long, value_name = "FILE")]
    file: Option<PathBuf>,
    /// The project directory, or any directory inside it (default: the current one).
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
}

/// Runs `lhp events ...`.
pub(crate) fn run(command: EventsCommand, output: &Output) -> ExitCode {
    match command {
        EventsCommand::Tail(args) => tail(&args, output),
    }
}

/// Which events are shown.
struct Selection {
    kinds: Option<Filter<Event>>,
    pipeline: Option<String>,
    flowgroup: Option<String>,
    run: Option<String>,
    since: Option<String>,
}

impl Selection {
    fn accepts(&self, event: &Event) -> bool {
        self.kinds.as_ref().is_none_or(|f| f.matches(event))
            && self
                .pipeline
                .as_ref()
                .is_none_or(|p| event.pipeline.as_deref() == Some(p.as_str()))
            && self
                .flowgroup
                .as_ref()
                .is_none_or(|f| event.flowgroup.as_deref() == Some(f.as_str()))
            && self.run.as_ref().is_none_or(|r| event.run_id == *r)
            && self
                .since
                .as_ref()
                .is_none_or(|s| event.ts.as_str() >= s.as_str())
    }
}

/// How events are written out.
struct Printer {
    json: bool,
    color: bool,
    out: std::io::Stdout,
}

/// Writing failed because the reader went away: not an error, the end.
struct Closed;

impl Printer {
    fn print(&mut self, line: &str, event: &Event) -> Result<(), Closed> {
        let text = if self.json {
            line.trim_end().to_owned()
        } else {
            pretty(event, self.color)
        };
        let mut out = self.out.lock();
        writeln!(out, "{text}")
            .and_then(|()| out.flush())
            .map_err(|_| Closed)
    }
}

/// `HH:MM:SS.mmm LEVEL summary`, the level coloured.
fn pretty(event: &Event, color: bool) -> String {
    let time = event.ts.get(11..23).unwrap_or(&event.ts);
    let level = lhp_hooks::logging::level_of(&event.kind);
    let (word, code) = match level {
        tracing::Level::ERROR => ("ERROR", "1;31"),
        tracing::Level::WARN => ("WARN ", "33"),
        tracing::Level::INFO => ("INFO ", "32"),
        tracing::Level::DEBUG => ("DEBUG", "36"),
        _ => ("TRACE", "2"),
    };
    let summary = lhp_hooks::logging::summary(event);
    if color {
        format!("\x1b[2m{time}\x1b[0m \x1b[{code}m{word}\x1b[0m {summary}")
    } else {
        format!("{time} {word} {summary}")
    }
}

fn tail(args: &TailArgs, output: &Output) -> ExitCode {
    let Some(path) = log_path(args, output) else {
        return ExitCode::FAILURE;
    };
    let since = match args.since.as_deref().map(since_timestamp) {
        None => None,
        Some(Some(ts)) => Some(ts),
        Some(None) => {
            output.error(
                "LHP-CLI-004",
                &format!(
                    "--since takes a duration (`30s`, `10m`, `2h`, `1d`) or a time (`2026-11-25T12:00:00Z`), not `{}`",
                    args.since.as_deref().unwrap_or_default()
                ),
            );
            return ExitCode::from(2);
        }
    };
    let kinds = if args.kinds.is_empty() {
        None
    } else {
        match Filter::kinds(&args.kinds) {
            Ok(filter) => Some(filter),
            Err(error) => {
                output.error("LHP-CLI-004", &format!("--type: {error}"));
                return ExitCode::from(2);
            }
        }
    };
    let mut selection = Selection {
        kinds,
        pipeline: args.pipeline.clone(),
        flowgroup: args.flowgroup.clone(),
        run: args.run.clone(),
        since,
    };
    let files = log_files(&path);
    if files.is_empty() && !args.follow {
        output.error(
            "LHP-CLI-005",
            &format!(
                "no event log at {}: it is written by `lhp generate` (hooks.event_log)",
                path.display()
            ),
        );
        return ExitCode::FAILURE;
    }
    let mut skipped = Skipped::default();
    if args.last_run {
        let mut last = None;
        for file in &files {
            read_complete_lines(file, &mut skipped, |_, event| {
                last = Some(event.run_id);
            });
        }
        match last {
            Some(run) => selection.run = Some(run.into()),
            None if !args.follow => {
                output.error("LHP-CLI-005", "--last-run: the event log has no events");
                return ExitCode::FAILURE;
            }
            None => {}
        }
    }
    let mut printer = Printer {
        json: args.json,
        color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        out: std::io::stdout(),
    };
    let mut recent: VecDeque<(String, Event)> = VecDeque::new();
    for file in &files {
        read_complete_lines(file, &mut skipped, |line, event| {
            if args.lines > 0 && selection.accepts(&event) {
                if recent.len() == args.lines {
                    recent.pop_front();
                }
                recent.push_back((line.to_owned(), event));
            }
        });
    }
    for (line, event) in &recent {
        if printer.print(line, event).is_err() {
            return ExitCode::SUCCESS;
        }
    }
    skipped.report(output);
    if !args.follow {
        return ExitCode::SUCCESS;
    }
    // Following, `--last-run` has chosen what is shown first; the runs that come next show.
    selection.run.clone_from(&args.run);
    let stop = Arc::new(AtomicBool::new(false));
    watch_interrupt(Arc::clone(&stop));
    let result = follow(&path, &selection, &mut printer, &stop, output);
    match result {
        Ok(()) | Err(Closed) => ExitCode::SUCCESS,
    }
}

/// Lines that were not events, counted and reported once.
#[derive(Default)]
struct Skipped {
    count: usize,
    first: Option<(PathBuf, usize, String)>,
}

impl Skipped {
    fn note(&mut self, file: &Path, number: usize, why: String) {
        self.count += 1;
        if self.first.is_none() {
            self.first = Some((file.to_path_buf(), number, why));
        }
    }

    fn report(&mut self, output: &Output) {
        if let Some((file, number, why)) = self.first.take() {
            output.warning(
                "LHP-CLI-006",
                &format!(
                    "{} line(s) of the event log are not events and were left out; the first: {}:{number}: {why}",
                    self.count,
                    file.display()
                ),
            );
            self.count = 0;
        }
    }
}

/// Reads the complete lines of `file`, handing each event (with its line) to `each`.
fn read_complete_lines(file: &Path, skipped: &mut Skipped, mut each: impl FnMut(&str, Event)) {
    let Ok(handle) = File::open(file) else {
        return;
    };
    let mut reader = BufReader::new(handle);
    let mut line = String::new();
    let mut number = 0;
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        number += 1;
        // A partial last line is being written: it is read when complete (with -f).
        if !line.ends_with('\n') {
            break;
        }
        match serde_json::from_str::<Event>(&line) {
            Ok(event) => each(&line, event),
            Err(error) => skipped.note(file, number, error.to_string()),
        }
    }
}

/// The log and its rotated files, oldest first: `events.jsonl.N` ... `.1`, `events.jsonl`.
fn log_files(path: &Path) -> Vec<PathBuf> {
    let numbered = |n: u32| {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    };
    let mut files: Vec<PathBuf> = (1..=1000)
        .map(numbered)
        .take_while(|p| p.exists())
        .collect();
    files.reverse();
    if path.exists() {
        files.push(path.to_path_buf());
    }
    files
}

/// The event log to read: `--file`, or the project's.
fn log_path(args: &TailArgs, output: &Output) -> Option<PathBuf> {
    if let Some(file) = &args.file {
        return Some(file.clone());
    }
    let start = match &args.project {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
    };
    let Some(root) = find_root(&start) else {
        output.error(
            "LHP-CFG-011",
            &format!(
                "not in a Lakehouse Plumber project: no lhp.yaml in {} or above (or give --file)",
                start.display()
            ),
        );
        return None;
    };
    let mut sources = Sources::new();
    let configured = load_project_config(&root, &mut sources, crate::cli::env_var)
        .ok()
        .and_then(|(config, _)| config.settings.hooks)
        .and_then(|hooks| {
            hooks
                .as_map()
                .and_then(|h| h.get("event_log"))
                .and_then(|e| e.as_map())
                .and_then(|e| e.get("path"))
                .and_then(|p| p.as_str().map(str::to_owned))
        });
    Some(root.join(configured.unwrap_or_else(|| lhp_hooks::event_log::DEFAULT_PATH.to_owned())))
}

/// The file being followed.
struct Followed {
    file: File,
    identity: Option<(u64, u64)>,
    offset: u64,
    partial: Vec<u8>,
}

/// Device and inode, to tell a rotated-in file from the one being read.
fn identity(metadata: &std::fs::Metadata) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((metadata.dev(), metadata.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = metadata;
        None
    }
}

fn open_at_end(path: &Path) -> Option<Followed> {
    let mut file = File::open(path).ok()?;
    let metadata = file.metadata().ok()?;
    let offset = file.seek(SeekFrom::End(0)).ok()?;
    // Starting at the end: a partial line there was not shown and will not be.
    Some(Followed {
        file,
        identity: identity(&metadata),
        offset,
        partial: Vec::new(),
    })
}

fn open_at_start(path: &Path) -> Option<Followed> {
    let file = File::open(path).ok()?;
    let metadata = file.metadata().ok()?;
    Some(Followed {
        file,
        identity: identity(&metadata),
        offset: 0,
        partial: Vec::new(),
    })
}

/// Shows what is appended to `path` until `stop`, across rotations.
fn follow(
    path: &Path,
    selection: &Selection,
    printer: &mut Printer,
    stop: &AtomicBool,
    output: &Output,
) -> Result<(), Closed> {
    let mut current = open_at_end(path);
    let mut skipped = Skipped::default();
    let mut buffer = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::Relaxed) {
        let Some(followed) = current.as_mut() else {
            std::thread::sleep(Duration::from_millis(100));
            current = open_at_start(path);
            continue;
        };
        let read = followed.file.read(&mut buffer).unwrap_or(0);
        if read > 0 {
            followed.offset += read as u64;
            followed.partial.extend_from_slice(&buffer[..read]);
            let mut start = 0;
            while let Some(end) = followed.partial[start..].iter().position(|b| *b == b'\n') {
                let line =
                    String::from_utf8_lossy(&followed.partial[start..start + end]).into_owned();
                start += end + 1;
                match serde_json::from_str::<Event>(&line) {
                    Ok(event) if selection.accepts(&event) => printer.print(&line, &event)?,
                    Ok(_) => {}
                    Err(error) => skipped.note(path, 0, error.to_string()),
                }
            }
            followed.partial.drain(..start);
            skipped.report(output);
            continue;
        }
        // At the end of what is there: has the log been rotated or truncated?
        match std::fs::metadata(path) {
            Ok(now) if identity(&now) != followed.identity && followed.identity.is_some() => {
                // Rotated: the old file was read to its end above; the new one from its start.
                current = open_at_start(path);
            }
            Ok(now) if now.len() < followed.offset => current = open_at_start(path),
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    Ok(())
}

/// Sets `stop` on Ctrl-C (SIGINT), so that following ends after a whole line.
fn watch_interrupt(stop: Arc<AtomicBool>) {
    let _ = std::thread::Builder::new()
        .name("lhp-interrupt".into())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                if tokio::signal::ctrl_c().await.is_ok() {
                    stop.store(true, Ordering::Relaxed);
                }
            });
        });
}

/// The earliest timestamp shown for `--since`, in the log's own format (which sorts as
/// text): now minus a duration, or a given date or time in UTC.
fn since_timestamp(text: &str) -> Option<String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    if let (Ok(number), Some(seconds)) = (
        number.parse::<u64>(),
        match unit {
            "s" => Some(1),
            "m" => Some(60),
            "h" => Some(3600),
            "d" => Some(86_400),
            _ => None,
        },
    ) {
        let ago = Duration::from_secs(number.checked_mul(seconds)?);
        let when = SystemTime::now()
            .checked_sub(ago)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        return Some(lhp_plugin::timestamp(when));
    }
    // 2026-11-25, 2026-11-25T12:00, 2026-11-25T12:00:00, with .fff and Z optional.
    let text = text.strip_suffix('Z').unwrap_or(text);
    let (date, time) = text.split_once(['T', ' ']).unwrap_or((text, ""));
    let date_ok = date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !date_ok {
        return None;
    }
    let (clock, fraction) = time.split_once('.').unwrap_or((time, ""));
    let parts: Vec<&str> = if clock.is_empty() {
        Vec::new()
    } else {
        clock.split(':').collect()
    };
    if parts.len() > 3
        || parts
            .iter()
            .any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit()))
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let part = |i: usize| parts.get(i).copied().unwrap_or("00");
    let millis: String = fraction.chars().chain("000".chars()).take(3).collect();
    Some(format!(
        "{date}T{}:{}:{}.{millis}Z",
        part(0),
        part(1),
        part(2)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_durations_and_times() {
        assert_eq!(
            since_timestamp("2026-11-25").as_deref(),
            Some("2026-11-25T00:00:00.000Z")
        );
        assert_eq!(
            since_timestamp("2026-11-25T12:30:01.5Z").as_deref(),
            Some("2026-11-25T12:30:01.500Z")
        );
        assert!(since_timestamp("10m").is_some_and(|ts| ts.ends_with('Z') && ts.len() == 24));
        assert_eq!(since_timestamp("ten minutes"), None);
        assert_eq!(since_timestamp("2026-13"), None);
        assert_eq!(since_timestamp("99999999999999999999d"), None);
    }
}
