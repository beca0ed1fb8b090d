//! The Slack and metrics hooks against a real HTTP server on 127.0.0.1: payloads, 429 with
//! Retry-After, 500 then success, a server that does not answer, and a refused connection.

mod common;

use std::time::Duration;

use common::{refused_url, Reply, Server};
use lhp_hooks::metrics::MetricsHook;
use lhp_hooks::slack::{SlackHook, SlackMode};
use lhp_hooks::SecretUrl;
use lhp_plugin::{Batch, Event, EventError, Hook};

const WEBHOOK_PATH: &str = "/services/T000/B000/SECRET";

fn run() -> Batch<Event> {
    let mut events = Vec::new();
    let mut seq = 0;
    let mut next = |kind: &str| {
        seq += 1;
        Event::new("run-1", seq, kind)
    };
    events.push(next("generation.start"));
    let mut ok = next("pipeline.end");
    ok.pipeline = Some("bronze".into());
    events.push(ok);
    let mut good = next("flowgroup.end");
    good.pipeline = Some("bronze".into());
    good.flowgroup = Some("rides".into());
    events.push(good);
    let mut failed = next("flowgroup.error");
    failed.pipeline = Some("silver".into());
    failed.flowgroup = Some("fares".into());
    failed.error = Some(EventError {
        code: "LHP-GEN-002".into(),
        message: "no generator for write type `sink`".into(),
        file: Some("pipelines/silver/fares.yaml".into()),
        line: Some(14),
        column: Some(9),
    });
    events.push(failed.clone());
    let mut pipeline = next("pipeline.error");
    pipeline.pipeline = Some("silver".into());
    pipeline.error = failed.error.clone();
    events.push(pipeline);
    let mut end = next("generation.end");
    end.metadata.insert("success".into(), false.into());
    end.metadata.insert("written".into(), 4.into());
    end.metadata.insert("duration_ms".into(), 1234.5.into());
    events.push(end);
    events.into_iter().collect()
}

fn slack(url: &str, mode: SlackMode, timeout: Duration, retries: u32) -> SlackHook {
    let url = SecretUrl::new(url).expect("a URL");
    SlackHook::new(url, mode, "pedal", "dev").with_limits(timeout, retries, Duration::ZERO)
}

#[tokio::test]
async fn a_digest_is_one_block_kit_message_with_the_failures() {
    let server = Server::start(vec![]);
    let hook = slack(
        &format!("{}{WEBHOOK_PATH}", server.url),
        SlackMode::Digest,
        Duration::from_secs(5),
        0,
    );
    hook.handle(&run()).await.expect("gathering never fails");
    assert!(server.received().is_empty(), "a digest waits for the end");
    hook.close().await.expect("delivered");
    let received = server.received();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", WEBHOOK_PATH)
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    let payload = request.json();
    assert_eq!(payload["text"], ":x: lhp: pedal (dev) failed");
    let blocks = payload["blocks"].as_array().expect("blocks");
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["text"], "lhp: pedal (dev) failed");
    let fields: Vec<&str> = blocks[1]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["text"].as_str())
        .collect();
    assert_eq!(
        fields,
        [
            "*Pipelines*\n2 (1 failed)",
            "*Flowgroups*\n1 generated, 1 failed",
            "*Files written*\n4",
            "*Duration*\n1.23 s"
        ]
    );
    let failures = blocks[2]["text"]["text"].as_str().expect("failures");
    assert_eq!(
        failures,
        "*Failures*\n• `silver/fares` LHP-GEN-002: no generator for write type `sink` (`pipelines/silver/fares.yaml:14`)"
    );
    assert_eq!(blocks[3]["elements"][0]["text"], "run `run-1`");
    assert_eq!(hook.sent(), 1);
}

#[tokio::test]
async fn a_429_is_tried_again_after_its_retry_after() {
    let server = Server::start(vec![Reply::Status(
        429,
        vec![("Retry-After", "1".to_owned())],
    )]);
    let hook = slack(
        &format!("{}{WEBHOOK_PATH}", server.url),
        SlackMode::Digest,
        Duration::from_secs(5),
        3,
    );
    hook.handle(&run()).await.expect("gathering");
    hook.close().await.expect("delivered on the second try");
    let received = server.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].body, received[1].body);
    let waited = received[1].at.duration_since(received[0].at);
    assert!(
        waited >= Duration::from_millis(950),
        "waited only {waited:?}"
    );
}

#[tokio::test]
async fn a_500_then_success_delivers_once() {
    let server = Server::start(vec![Reply::Status(500, vec![]), Reply::Status(503, vec![])]);
    let hook = slack(
        &format!("{}{WEBHOOK_PATH}", server.url),
        SlackMode::Digest,
        Duration::from_secs(5),
        3,
    );
    hook.handle(&run()).await.expect("gathering");
    hook.close().await.expect("delivered on the third try");
    assert_eq!(server.received().len(), 3);
    assert_eq!(hook.sent(), 1);
}

#[tokio::test]
async fn a_permanent_refusal_is_not_retried_and_does_not_show_the_url() {
    let server = Server::start(vec![Reply::Status(404, vec![])]);
    let hook = slack(
        &format!("{}{WEBHOOK_PATH}", server.url),
        SlackMode::Digest,
        Duration::from_secs(5),
        3,
    );
    hook.handle(&run()).await.expect("gathering");
    let error = hook.close().await.expect_err("404 is final").to_string();
    assert_eq!(server.received().len(), 1);
    assert!(error.contains("HTTP 404"), "{error}");
    assert!(
        !error.contains("SECRET") && !error.contains("/services/"),
        "{error}"
    );
}

#[tokio::test]
async fn a_silent_server_times_out_each_try() {
    let server = Server::start(vec![
        Reply::Silence(Duration::from_secs(5)),
        Reply::Silence(Duration::from_secs(5)),
    ]);
    let hook = slack(
        &format!("{}{WEBHOOK_PATH}", server.url),
        SlackMode::Digest,
        Duration::from_secs(1),
        1,
    );
    hook.handle(&run()).await.expect("gathering");
    let error = hook.close().await.expect_err("no answer").to_string();
    assert_eq!(server.received().len(), 2, "the first try and one retry");
    assert!(error.contains("no answer within 1s"), "{error}");
    assert!(error.contains("after 2 tries"), "{error}");
    assert!(!error.contains("SECRET"), "{error}");
}

#[tokio::test]
async fn a_refused_connection_is_reported_without_the_url() {
    let hook = slack(
        &refused_url(),
        SlackMode::Immediate,
        Duration::from_secs(1),
        1,
    );
    let error = hook
        .handle(&run().iter_shared().skip(3).take(1).collect())
        .await
        .expect_err("nobody listens")
        .to_string();
    assert!(error.contains("connection failed"), "{error}");
    assert!(
        !error.contains("SECRET") && !error.contains("/services/"),
        "{error}"
    );
    assert!(
        error.contains("http://127.0.0.1:"),
        "the host may show: {error}"
    );
}

#[tokio::test]
async fn immediate_mode_sends_each_event_at_most_once_a_second() {
    let server = Server::start(vec![]);
    let url = SecretUrl::new(&format!("{}{WEBHOOK_PATH}", server.url)).expect("a URL");
    let hook = SlackHook::new(url, SlackMode::Immediate, "pedal", "dev").with_limits(
        Duration::from_secs(5),
        0,
        Duration::from_secs(1),
    );
    let events = run();
    // The default filter of immediate mode is `*.error` and `generation.end`.
    assert_eq!(hook.events(), ["*.error", "generation.end"]);
    let matching: Batch<Event> = events
        .iter_shared()
        .filter(|e| e.kind.ends_with(".error") || e.kind == "generation.end")
        .collect();
    hook.handle(&matching).await.expect("delivered");
    hook.close().await.expect("nothing left");
    let received = server.received();
    assert_eq!(received.len(), 3);
    for pair in received.windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at);
        assert!(gap >= Duration::from_millis(950), "only {gap:?} apart");
    }
    let first = received[0].json();
    let text = first["blocks"][0]["text"]["text"].as_str().expect("text");
    assert_eq!(
        text,
        ":x: *flowgroup.error* `silver/fares`\nLHP-GEN-002: no generator for write type `sink` (`pipelines/silver/fares.yaml:14`)"
    );
}

#[tokio::test]
async fn metrics_are_pushed_to_the_pushgateway_and_written_to_a_textfile() {
    let server = Server::start(vec![]);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("metrics.prom");
    let gateway = SecretUrl::new(&format!("{}/", server.url)).expect("a URL");
    let hook = MetricsHook::new(
        path.clone(),
        Some((gateway, "lhp_ci".to_owned())),
        Duration::from_secs(5),
    );
    hook.handle(&run()).await.expect("recorded");
    hook.close().await.expect("pushed");
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].method, "PUT");
    assert_eq!(received[0].path, "/metrics/job/lhp_ci");
    assert!(received[0]
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/plain")));
    let file = std::fs::read_to_string(&path).expect("textfile written");
    assert_eq!(received[0].body, file);
    assert!(file.contains(r#"lhp_flowgroups_total{pipeline="silver",outcome="error"} 1"#));
    assert!(file.contains("lhp_run_success 0"));
}

#[tokio::test]
async fn a_dead_pushgateway_fails_the_hook_but_the_textfile_is_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("metrics.prom");
    let gateway = SecretUrl::new(&refused_url()).expect("a URL");
    let hook = MetricsHook::new(
        path.clone(),
        Some((gateway, "lhp".to_owned())),
        Duration::from_secs(1),
    );
    hook.handle(&run()).await.expect("recorded");
    let error = hook.close().await.expect_err("nobody listens").to_string();
    assert!(error.contains("Pushgateway"), "{error}");
    assert!(path.is_file());
}
