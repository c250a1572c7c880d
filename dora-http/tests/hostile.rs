//! The client against hostile and flaky local servers on 127.0.0.1:
//! redirects to other origins, servers echoing credentials, bodies cut short,
//! oversized and gzip-bomb bodies.

use dora_http::{Auth, Error, HttpClient, InstantSleeper, RetryPolicy};
use serde_json::json;
use std::time::Duration;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "tok-SECRET-0123456789";

#[derive(serde::Deserialize, Debug)]
struct Named {
    name: String,
}

/// Decoding an echoed string into it makes serde quote the string.
#[derive(serde::Deserialize, Debug)]
#[allow(dead_code)]
struct Counted {
    count: u64,
}

fn client_for(base: &str, auth: Auth) -> HttpClient {
    HttpClient::builder(base)
        .with_auth(auth)
        .with_timeout(Duration::from_secs(10))
        .with_retry_policy(RetryPolicy::default().with_seed(7))
        .with_sleeper(InstantSleeper::new())
        .build()
        .expect("client builds")
}

// ------------------------------------------------------------- redirects

#[tokio::test]
async fn a_redirect_to_another_origin_is_refused_and_never_followed() {
    let api = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(path("/thing"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name": "forged"})))
        .mount(&elsewhere)
        .await;
    for status in [301u16, 302, 307, 308] {
        Mock::given(path(format!("/2.0/moved-{status}")))
            .respond_with(
                ResponseTemplate::new(status)
                    .insert_header("location", format!("{}/thing", elsewhere.uri())),
            )
            .mount(&api)
            .await;
    }
    let client = client_for(&format!("{}/2.0", api.uri()), Auth::bearer(TOKEN));
    for status in [301u16, 302, 307, 308] {
        let label = format!("moved-{status}");
        let req = client.request(&label, &[&label]);
        let err = client
            .get_json::<Named>(&req)
            .await
            .expect_err("a cross-origin redirect must fail");
        match &err {
            Error::Redirect { endpoint, from, to } => {
                assert_eq!(endpoint, &label);
                assert_eq!(from, &api.uri());
                assert_eq!(to, &elsewhere.uri());
            }
            other => panic!("expected a redirect error, got {other:?}"),
        }
        let text = err.to_string();
        assert!(
            text.contains(&api.uri()) && text.contains(&elsewhere.uri()),
            "the error names both origins: {text}"
        );
        assert!(!format!("{err:?}").contains(TOKEN));
    }
    assert!(
        elsewhere
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty(),
        "the other origin was contacted"
    );
    // Not retried: a redirect will not change its mind.
    assert_eq!(client.stats().total_requests(), 4);
}

#[tokio::test]
async fn a_redirect_to_another_port_of_the_same_host_is_refused() {
    let api = MockServer::start().await;
    let other_port = MockServer::start().await;
    Mock::given(path("/thing"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name": "forged"})))
        .mount(&other_port)
        .await;
    // Same host (127.0.0.1), another port.
    let target = other_port.uri();
    Mock::given(path("/2.0/thing"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("location", format!("{target}/thing")),
        )
        .mount(&api)
        .await;
    let client = client_for(&format!("{}/2.0", api.uri()), Auth::None);
    let req = client.request("thing", &["thing"]);
    let err = client.get_json::<Named>(&req).await.expect_err("refused");
    assert!(matches!(err, Error::Redirect { .. }), "{err:?}");
    assert!(
        other_port
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test]
async fn same_origin_redirects_are_followed_without_a_referer() {
    let api = MockServer::start().await;
    Mock::given(path("/2.0/old"))
        .respond_with(ResponseTemplate::new(301).insert_header("location", "/2.0/new?x=1"))
        .mount(&api)
        .await;
    Mock::given(path("/2.0/new"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name": "moved"})))
        .mount(&api)
        .await;
    let client = client_for(&format!("{}/2.0", api.uri()), Auth::bearer(TOKEN));
    let req = client.request("old", &["old"]).query("secret_query", "s3");
    let got: Named = client.get_json(&req).await.expect("followed");
    assert_eq!(got.name, "moved");
    let requests = api.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert!(
            !r.headers.contains_key("referer"),
            "a Referer header was sent to {}",
            r.url
        );
    }
    assert_eq!(requests[1].url.path(), "/2.0/new");
}

// ------------------------------------------------------------- redaction

/// A token with characters that base64, URL and JSON encodings all change.
const ODD_TOKEN: &str = "tok/SECRET+01234 \"56789=";
const EMAIL: &str = "me@example.com";

/// Echoes the request (line, headers) back in the body, in the shape and
/// status the path asks for.
struct Echo;

impl wiremock::Respond for Echo {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let mut echo = format!("GET {}\n", request.url);
        for (name, value) in &request.headers {
            echo.push_str(&format!(
                "{name}: {}\n",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        let last = request.url.path().rsplit('/').next().unwrap_or_default();
        match last {
            "json401" => ResponseTemplate::new(401).set_body_json(json!({"message": echo})),
            "json429" => ResponseTemplate::new(429)
                .set_body_json(json!({"error": {"message": echo, "errors": [echo]}})),
            "text500" => ResponseTemplate::new(500).set_body_string(echo),
            // Pad so that the 200-character cut of a non-JSON body falls
            // inside the echoed Authorization value.
            "text400" => {
                let auth = request
                    .headers
                    .get("authorization")
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .unwrap_or_default();
                let pad = 200usize.saturating_sub(auth.len() / 2);
                ResponseTemplate::new(400)
                    .set_body_string(format!("{}{auth}\n{echo}", "x".repeat(pad)))
            }
            // 200, but the echo sits where a number belongs: a decode error
            // whose message quotes the value.
            "decode" => ResponseTemplate::new(200)
                .set_body_json(json!({"count": echo, "values": [{"count": echo}]})),
            _ => ResponseTemplate::new(404),
        }
    }
}

fn forbidden_forms(auth_value: &str) -> Vec<String> {
    let b64 = |s: &str| {
        // Standard base64, padded.
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let bytes = s.as_bytes();
        let mut out = String::new();
        for c in bytes.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= c.len() {
                    out.push(char::from(T[((n >> (18 - 6 * i)) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    };
    let urlenc: String = url::form_urlencoded::byte_serialize(ODD_TOKEN.as_bytes()).collect();
    let mut forms = vec![
        ODD_TOKEN.to_string(),
        // Distinctive pieces, so a partial leak is caught too.
        "SECRET+01234".to_string(),
        b64(&format!("{EMAIL}:{ODD_TOKEN}")),
        b64(&format!(":{ODD_TOKEN}")),
        b64(ODD_TOKEN),
        urlenc.clone(),
        urlenc.replace('+', "%20"),
        "SECRET%2B01234".to_string(),
        serde_json::to_string(ODD_TOKEN)
            .unwrap_or_default()
            .trim_matches('"')
            .to_string(),
    ];
    if !auth_value.is_empty() {
        forms.push(auth_value.to_string());
    }
    // The unpadded base64 of `email:token`, and its first 24 characters (a
    // truncated echo).
    let basic = b64(&format!("{EMAIL}:{ODD_TOKEN}"));
    forms.push(basic.trim_end_matches('=').to_string());
    forms.push(basic.chars().skip(20).take(24).collect());
    forms
}

fn everything_printed(err: &Error) -> String {
    let mut text = format!("{err}\n{err:?}\n");
    let mut cause = std::error::Error::source(err);
    while let Some(c) = cause {
        text.push_str(&format!("{c}\n{c:?}\n"));
        cause = c.source();
    }
    text
}

#[tokio::test]
async fn echoed_credentials_never_reach_an_error_in_any_encoding() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(Echo)
        .mount(&server)
        .await;
    let schemes = [
        (
            Auth::basic(EMAIL, ODD_TOKEN),
            format!("Basic {}", {
                let forms = forbidden_forms("");
                forms[2].clone()
            }),
        ),
        (Auth::bearer(ODD_TOKEN), format!("Bearer {ODD_TOKEN}")),
        (
            Auth::pagerduty_token(&dora_http::Secret::new(ODD_TOKEN)),
            format!("Token token={ODD_TOKEN}"),
        ),
        (
            Auth::genie_key(&dora_http::Secret::new(ODD_TOKEN)),
            format!("GenieKey {ODD_TOKEN}"),
        ),
    ];
    for (auth, auth_value) in schemes {
        let scheme = format!("{auth:?}");
        let client = HttpClient::builder(format!("{}/2.0", server.uri()))
            .with_auth(auth)
            .with_retry_policy(
                RetryPolicy::default()
                    .with_seed(1)
                    .with_max_retries(1)
                    .with_max_rate_limit_retries(0),
            )
            .with_sleeper(InstantSleeper::new())
            .build()
            .expect("client");
        let forms = forbidden_forms(&auth_value);
        let mut printed = String::new();
        for endpoint in ["json401", "json429", "text500", "text400", "decode"] {
            // The token also travels in the query, so the echoed URL carries
            // its URL-encoded form.
            let req = client
                .request(endpoint, &[endpoint])
                .query("api_key", ODD_TOKEN);
            let err = client
                .get_json::<Counted>(&req)
                .await
                .expect_err("every echo endpoint fails");
            printed.push_str(&everything_printed(&err));
            printed.push_str(&format!("{client:?}\n"));
            let source = err.into_source_error("bitbucket");
            printed.push_str(&format!("{source}\n{source:?}\n"));
            // The raw response's Debug never shows the body.
            if endpoint == "decode" {
                let response = client.send(&req).await.expect("200");
                printed.push_str(&format!("{response:?}\n"));
                let err = response.json::<Counted>().expect_err("bad field");
                printed.push_str(&everything_printed(&err));
                let err = client
                    .pages::<Counted>(req.clone(), dora_http::Pagination::bitbucket())
                    .collect_all()
                    .await
                    .expect_err("bad item");
                printed.push_str(&everything_printed(&err));
            }
        }
        assert!(printed.contains("***"), "{scheme}: nothing was redacted?");
        assert!(
            printed.contains("expected u64"),
            "{scheme}: the decode errors were exercised:\n{printed}"
        );
        for form in &forms {
            assert!(
                !printed.contains(form.as_str()),
                "{scheme}: `{form}` leaked into:\n{printed}"
            );
        }
    }
}

// ------------------------------------------------------------- raw servers

/// A raw HTTP/1.1 server on 127.0.0.1: the `n`th connection (0-based) is
/// answered with `script(n)`'s bytes, written as they are, then closed
/// (mid-body if the bytes say more is coming).
async fn raw_server(
    script: impl Fn(usize) -> Vec<u8> + Send + Sync + 'static,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&count);
    let script = std::sync::Arc::new(script);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let script = std::sync::Arc::clone(&script);
            tokio::spawn(async move {
                // Read the request head.
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => head.extend_from_slice(&buf[..k]),
                    }
                }
                let bytes = script(n);
                for piece in bytes.chunks(64 * 1024) {
                    if socket.write_all(piece).await.is_err() {
                        return;
                    }
                }
                let _ = socket.flush().await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), count)
}

fn http_response(headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let mut out = b"HTTP/1.1 200 OK\r\nconnection: close\r\n".to_vec();
    for (name, value) in headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

// ------------------------------------------------------------- bodies cut short

const FULL: &str = r#"{"name": "complete", "padding": "0123456789012345678901234567890123456789"}"#;

/// The `n`th answer: cut short (Content-Length promises more than is sent)
/// for the first `cuts` connections, then whole.
fn cut_then_whole(cuts: usize) -> impl Fn(usize) -> Vec<u8> + Send + Sync + 'static {
    move |n| {
        let length = ("content-length", FULL.len().to_string());
        let json = ("content-type", "application/json".to_string());
        if n < cuts {
            http_response(&[length, json], &FULL.as_bytes()[..20])
        } else {
            http_response(&[length, json], FULL.as_bytes())
        }
    }
}

#[tokio::test]
async fn a_body_cut_short_is_retried_like_a_reset() {
    let (base, connections) = raw_server(cut_then_whole(2)).await;
    let sleeper = InstantSleeper::new();
    let client = HttpClient::builder(&base)
        .with_retry_policy(RetryPolicy::default().with_seed(3).with_max_retries(4))
        .with_sleeper(sleeper.clone())
        .with_timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let req = client.request("thing", &["thing"]);
    let got: Named = client
        .get_json(&req)
        .await
        .expect("retried to a whole body");
    assert_eq!(got.name, "complete");
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert_eq!(sleeper.delays().len(), 2, "two backoff waits");
    let stats = client.stats();
    assert_eq!(stats.requests("thing"), 3);
    assert_eq!(stats.endpoints["thing"].retries, 2);
}

#[tokio::test]
async fn a_chunked_body_cut_short_is_retried_too() {
    let (base, connections) = raw_server(|n| {
        let chunked = ("transfer-encoding", "chunked".to_string());
        let body = format!("{:x}\r\n{FULL}\r\n0\r\n\r\n", FULL.len());
        if n == 0 {
            // One chunk announced, half of it sent, then the connection drops.
            http_response(&[chunked], &body.as_bytes()[..30])
        } else {
            http_response(&[chunked], body.as_bytes())
        }
    })
    .await;
    let client = HttpClient::builder(&base)
        .with_retry_policy(RetryPolicy::default().with_seed(3))
        .with_sleeper(InstantSleeper::new())
        .build()
        .expect("client");
    let got: Named = client
        .get_json(&client.request("thing", &["thing"]))
        .await
        .expect("retried");
    assert_eq!(got.name, "complete");
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn bodies_always_cut_short_fail_within_the_same_attempt_budget() {
    let (base, connections) = raw_server(cut_then_whole(usize::MAX)).await;
    let client = HttpClient::builder(&base)
        .with_retry_policy(RetryPolicy::default().with_seed(3).with_max_retries(2))
        .with_sleeper(InstantSleeper::new())
        .build()
        .expect("client");
    let err = client
        .get_json::<Named>(&client.request("thing", &["thing"]))
        .await
        .expect_err("always cut");
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 3);
    match &err {
        Error::Transport {
            endpoint,
            attempts,
            message,
            ..
        } => {
            assert_eq!(endpoint, "thing");
            assert_eq!(*attempts, 3);
            assert!(message.contains("body"), "{message}");
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
}

// ------------------------------------------------------------- size cap

/// An LSB-first bit writer for a hand-made deflate stream.
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn new() -> Self {
        Self {
            out: Vec::new(),
            acc: 0,
            n: 0,
        }
    }

    /// `bits` bits of `value`, least significant first (header fields).
    fn put(&mut self, value: u64, bits: u32) {
        self.acc |= value << self.n;
        self.n += bits;
        while self.n >= 8 {
            self.out.push((self.acc & 0xff) as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code, most significant bit first.
    fn code(&mut self, code: u64, len: u32) {
        for i in (0..len).rev() {
            self.put((code >> i) & 1, 1);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push((self.acc & 0xff) as u8);
        }
        self.out
    }
}

fn crc32(data_len: u64) -> u32 {
    // CRC-32 of `data_len` zero bytes, bit by bit (small inputs only).
    let mut crc = 0xffff_ffffu32;
    for _ in 0..data_len {
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A gzip member inflating to `1 + 258 * matches` zero bytes: one dynamic
/// Huffman block where a 258-byte match at distance 1 costs two bits, so
/// 1 GiB compresses to about 1 MB. The CRC is exact only when `exact_crc`.
fn zeros_gzip(matches: u64, exact_crc: bool) -> Vec<u8> {
    let mut bits = Bits::new();
    bits.put(1, 1); // BFINAL
    bits.put(2, 2); // BTYPE = dynamic Huffman
    bits.put(286 - 257, 5); // HLIT
    bits.put(2 - 1, 5); // HDIST
    bits.put(18 - 4, 4); // HCLEN: code lengths up to symbol 1 in the order below
    // Code-length code: symbol 18 → 1 bit (`0`), 1 → `10`, 2 → `11`.
    let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1];
    for sym in order {
        let len = match sym {
            18 => 1,
            1 | 2 => 2,
            _ => 0,
        };
        bits.put(len, 3);
    }
    let (cl1, cl2, cl18) = ((0b10u64, 2u32), (0b11u64, 2u32), (0u64, 1u32));
    let zeros = |bits: &mut Bits, mut n: u64| {
        while n > 0 {
            let run = n.min(138);
            bits.code(cl18.0, cl18.1);
            bits.put(run - 11, 7);
            n -= run;
        }
    };
    // Literal/length lengths: 0 → 2, 1..=255 → 0, 256 → 2, 257..=284 → 0, 285 → 1.
    bits.code(cl2.0, cl2.1);
    zeros(&mut bits, 255);
    bits.code(cl2.0, cl2.1);
    zeros(&mut bits, 28);
    bits.code(cl1.0, cl1.1);
    // Distance lengths: codes 0 and 1 → 1 bit each.
    bits.code(cl1.0, cl1.1);
    bits.code(cl1.0, cl1.1);
    // Literal/length code: 285 → `0`, 0 → `10`, 256 → `11`; distance 0 → `0`.
    bits.code(0b10, 2); // one literal zero byte
    for _ in 0..matches {
        bits.code(0, 1); // length 258
        bits.code(0, 1); // distance 1
    }
    bits.code(0b11, 2); // end of block
    let deflate = bits.finish();
    let size = 1 + 258 * matches;
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.extend_from_slice(&deflate);
    let crc = if exact_crc { crc32(size) } else { 0 };
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&((size & 0xffff_ffff) as u32).to_le_bytes());
    out
}

fn gzip_response(body: &[u8]) -> Vec<u8> {
    http_response(
        &[
            ("content-type", "application/octet-stream".to_string()),
            ("content-encoding", "gzip".to_string()),
            ("content-length", body.len().to_string()),
        ],
        body,
    )
}

/// Peak resident memory of this process, in bytes (Linux).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[tokio::test]
async fn the_hand_made_gzip_inflates_as_expected_under_the_limit() {
    let small = zeros_gzip(1000, true);
    let (base, _) = raw_server(move |_| gzip_response(&small)).await;
    let client = HttpClient::builder(&base).build().expect("client");
    let response = client
        .send(&client.request("zeros", &["zeros"]))
        .await
        .expect("decodes");
    assert_eq!(response.body().len(), 1 + 258 * 1000);
    assert!(response.body().iter().all(|b| *b == 0));
}

#[tokio::test]
async fn a_gzip_bomb_fails_fast_with_bounded_memory() {
    // 1 GiB of zeros in about 1 MB.
    let matches = ((1u64 << 30) - 1) / 258;
    let bomb = std::sync::Arc::new(zeros_gzip(matches, false));
    assert!(
        bomb.len() < 1_200_000,
        "the bomb is {} bytes compressed",
        bomb.len()
    );
    let body = std::sync::Arc::clone(&bomb);
    let (base, connections) = raw_server(move |_| gzip_response(&body)).await;
    let client = HttpClient::builder(&base)
        .with_retry_policy(RetryPolicy::default().with_seed(1))
        .with_sleeper(InstantSleeper::new())
        .build()
        .expect("client");
    let started = std::time::Instant::now();
    let err = client
        .send(&client.request("bomb", &["bomb"]))
        .await
        .expect_err("a gzip bomb must not be read");
    let took = started.elapsed();
    match &err {
        Error::TooLarge { endpoint, limit } => {
            assert_eq!(endpoint, "bomb");
            assert_eq!(*limit, HttpClient::DEFAULT_MAX_RESPONSE_SIZE);
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("bomb") && text.contains("64 MiB"),
        "the error names the endpoint and the limit: {text}"
    );
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "not retried"
    );
    assert!(took < Duration::from_secs(30), "took {took:?}");
    if let Some(peak) = peak_rss() {
        assert!(
            peak < 600 * 1024 * 1024,
            "peak memory {} MiB: the bomb was inflated",
            peak / (1024 * 1024)
        );
    }
}

#[tokio::test]
async fn the_size_limit_is_configurable_and_checked_while_streaming() {
    let big = vec![b' '; 10_000];
    // Declared length above the limit: refused before reading.
    let declared = big.clone();
    let (base, _) = raw_server(move |_| {
        http_response(&[("content-length", declared.len().to_string())], &declared)
    })
    .await;
    let client = HttpClient::builder(&base)
        .with_max_response_size(4096)
        .build()
        .expect("client");
    let err = client
        .send(&client.request("declared", &["declared"]))
        .await
        .expect_err("too large");
    assert!(
        matches!(&err, Error::TooLarge { endpoint, limit: 4096 } if endpoint == "declared"),
        "{err:?}"
    );
    assert!(err.to_string().contains("4 KiB"), "{err}");
    // No declared length (chunked): refused while streaming.
    let chunked = big.clone();
    let (base, _) = raw_server(move |_| {
        let mut body = Vec::new();
        for piece in chunked.chunks(1000) {
            body.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
            body.extend_from_slice(piece);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"0\r\n\r\n");
        http_response(&[("transfer-encoding", "chunked".to_string())], &body)
    })
    .await;
    let client = HttpClient::builder(&base)
        .with_max_response_size(4096)
        .build()
        .expect("client");
    let err = client
        .send(&client.request("chunked", &["chunked"]))
        .await
        .expect_err("too large");
    assert!(
        matches!(err, Error::TooLarge { limit: 4096, .. }),
        "{err:?}"
    );
    // At the limit exactly: accepted.
    let exact = vec![b' '; 4096];
    let (base, _) =
        raw_server(move |_| http_response(&[("content-length", exact.len().to_string())], &exact))
            .await;
    let client = HttpClient::builder(&base)
        .with_max_response_size(4096)
        .build()
        .expect("client");
    let ok = client
        .send(&client.request("exact", &["exact"]))
        .await
        .expect("at the limit");
    assert_eq!(ok.body().len(), 4096);
}
