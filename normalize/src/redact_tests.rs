use super::*;
use tracehound_store::model::{ErrorInfo, SpanEvent, ToolCall};

fn redactor(detectors: &[Detector]) -> Redactor {
    Redactor::new(&RedactConfig { detectors: detectors.to_vec(), rules: Vec::new() })
        .expect("built-in detectors compile")
        .expect("some detector chosen")
}

fn all() -> Redactor {
    redactor(&Detector::ALL)
}

/// The text after every built-in detector ran, and the counts.
fn redacted(text: &str) -> (String, Counts) {
    let mut counts = Counts::new();
    let out = all().redact_text(text, &mut counts).unwrap_or_else(|| text.to_string());
    (out, counts)
}

fn assert_untouched(text: &str) {
    let (out, counts) = redacted(text);
    assert_eq!(out, text, "evidence was eaten: {counts:?}");
    assert!(counts.is_empty());
}

#[test]
fn an_email_address_becomes_a_marker() {
    let (out, counts) = redacted("write to jane.doe+billing@example.co.uk today");
    assert_eq!(out, "write to [REDACTED:email] today");
    assert_eq!(counts["email"], 1);
}

#[test]
fn a_bearer_token_is_replaced_and_the_scheme_kept() {
    let (out, _) = redacted("authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc123");
    assert_eq!(out, "authorization: Bearer [REDACTED:bearer]");
}

#[test]
fn the_word_bearer_in_prose_is_not_a_token() {
    assert_untouched("Use bearer authentication for the partner API.");
}

#[test]
fn common_api_key_shapes_are_detected() {
    for key in [
        "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx12",
        "sk-ant-api03-AbCdEfGhIjKlMnOpQr",
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
        "xoxb-1234567890-abcdefghij",
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    ] {
        let (out, counts) = redacted(&format!("key={key} end"));
        assert_eq!(out, "key=[REDACTED:api_key] end", "{key}");
        assert_eq!(counts["api_key"], 1, "{key}");
    }
}

#[test]
fn words_that_merely_contain_sk_are_not_keys() {
    assert_untouched("the task-scheduler and risk-assessment-module-v2 ran");
}

#[test]
fn luhn_valid_card_numbers_are_detected_with_or_without_separators() {
    for card in ["4111 1111 1111 1111", "4111-1111-1111-1111", "5555555555554444", "3782 822463 10005"] {
        let (out, counts) = redacted(&format!("card {card} charged"));
        assert_eq!(out, "card [REDACTED:card] charged", "{card}");
        assert_eq!(counts["card"], 1);
    }
}

#[test]
fn a_card_shaped_number_failing_luhn_is_kept() {
    assert_untouched("reference 4111 1111 1111 1112 filed");
}

#[test]
fn unix_timestamps_are_not_cards_even_when_they_pass_luhn() {
    // 1722945600000000003 passes Luhn; timestamps of this era start with 1.
    assert!(luhn_valid(&"1722945600000000003".chars().filter_map(|c| c.to_digit(10)).collect::<Vec<_>>()));
    assert_untouched("start 1722945600000000003 ms 1722945600123 s 1722945600");
}

#[test]
fn phone_numbers_with_a_plus_or_nanp_grouping_are_detected() {
    for phone in ["+1 415 555 0132", "+44 20 7946 0958", "(415) 555-0132", "415-555-0132", "+33.1.23.45.67.89"] {
        let (out, counts) = redacted(&format!("call {phone}."));
        assert_eq!(out, "call [REDACTED:phone].", "{phone}");
        assert_eq!(counts["phone"], 1, "{phone}");
    }
}

#[test]
fn ipv4_addresses_are_detected() {
    let (out, counts) = redacted("from 10.0.12.7 and 192.168.1.254");
    assert_eq!(out, "from [REDACTED:ipv4] and [REDACTED:ipv4]");
    assert_eq!(counts["ipv4"], 2);
}

#[test]
fn ipv6_addresses_are_detected() {
    let (out, counts) = redacted("peer 2001:db8::ff00:42:8329 and fe80::1 and 2001:0db8:85a3:0000:0000:8a2e:0370:7334");
    assert_eq!(out, "peer [REDACTED:ipv6] and [REDACTED:ipv6] and [REDACTED:ipv6]");
    assert_eq!(counts["ipv6"], 3);
}

#[test]
fn dates_and_timestamps_stay_intact() {
    assert_untouched("on 2024-08-06 at 2024-08-06T10:00:00.123456Z and 2024-08-06T10:00:00+02:00, 10:00:00");
    assert_untouched("between 2024-08-06 2024-08-07 and 06/08/2024");
}

#[test]
fn order_and_request_ids_stay_intact() {
    assert_untouched("order B-31726 for req_8f2c1 in sess_live_grpc1 via chatcmpl-live-grpc1-0 call_0");
}

#[test]
fn uuids_and_trace_ids_stay_intact() {
    assert_untouched("id 550e8400-e29b-41d4-a716-446655440000 and 12345678-1234-5678-1234-567812345678");
    assert_untouched("trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7");
}

#[test]
fn version_strings_and_model_names_stay_intact() {
    assert_untouched("v1.4.2 with gpt-4o-2024-08-06 and claude-3-5-sonnet-20241022 on prompt v42, index 2024-08-06");
}

#[test]
fn code_paths_and_clock_times_are_not_ipv6() {
    assert_untouched("std::vec::Vec at 12:30:45 and abc::def::run, mac 00:1a:2b:3c:4d:5e");
}

#[test]
fn only_the_chosen_detectors_run() {
    let mut counts = Counts::new();
    let out = redactor(&[Detector::Email]).redact_text("jane@example.com 4111 1111 1111 1111", &mut counts);
    assert_eq!(out.as_deref(), Some("[REDACTED:email] 4111 1111 1111 1111"));
}

#[test]
fn a_configured_rule_redacts_with_its_own_name() {
    let config = RedactConfig::from_flags(false, &[], &["employee=EMP-\\d{6}".into()]).unwrap();
    let redactor = Redactor::new(&config).unwrap().unwrap();
    let mut counts = Counts::new();
    let out = redactor.redact_text("badge EMP-123456 and EMP-654321", &mut counts);
    assert_eq!(out.as_deref(), Some("badge [REDACTED:employee] and [REDACTED:employee]"));
    assert_eq!(counts["employee"], 2);
}

#[test]
fn nothing_configured_builds_no_redactor() {
    assert!(Redactor::new(&RedactConfig::from_flags(false, &[], &[]).unwrap()).unwrap().is_none());
}

#[test]
fn redact_flag_turns_on_every_detector_and_names_choose_some() {
    assert_eq!(RedactConfig::from_flags(true, &[], &[]).unwrap().detectors, Detector::ALL.to_vec());
    let some = RedactConfig::from_flags(false, &["card".into(), "ip".into()], &[]).unwrap();
    assert_eq!(some.detectors, vec![Detector::Card, Detector::Ipv6, Detector::Ipv4]);
}

#[test]
fn an_unknown_detector_name_is_refused_with_the_known_ones() {
    let err = RedactConfig::from_flags(false, &["passport".into()], &[]).unwrap_err();
    assert!(err.to_string().contains("email"), "{err}");
}

#[test]
fn a_malformed_or_empty_matching_rule_is_refused() {
    assert!(matches!(RedactConfig::from_flags(false, &[], &["no-equals".into()]), Err(RedactError::BadRule(_))));
    let bad = RedactConfig::from_flags(false, &[], &["x=(".into()]).unwrap();
    assert!(matches!(Redactor::new(&bad), Err(RedactError::BadRegex { .. })));
    let empty = RedactConfig::from_flags(false, &[], &["x=a*".into()]).unwrap();
    assert!(matches!(Redactor::new(&empty), Err(RedactError::EmptyMatch(_))));
}

fn text_attr(key: &str, value: &str) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AttrValue::Str(value.into())) }
}

fn leaky_span() -> Span {
    Span {
        request_id: Some("req_8f2c1".into()),
        user_id: Some("jane@example.com".into()),
        tool: Some(ToolCall {
            arguments: Some(r#"{"email":"bob@example.com","card":"4111111111111111"}"#.into()),
            result: Some("key sk-proj-AbCdEfGhIjKlMnOpQrStUvWx12".into()),
            ..ToolCall::default()
        }),
        error: Some(ErrorInfo { message: Some("no user bob@example.com".into()), ..ErrorInfo::default() }),
        raw: tracehound_store::model::RawSpan {
            attributes: vec![
                text_attr("request.id", "req_8f2c1"),
                text_attr("user.id", "jane@example.com"),
                text_attr("gen_ai.tool.call.arguments", r#"{"email":"bob@example.com","card":"4111111111111111"}"#),
            ],
            events: vec![SpanEvent {
                name: "exception".into(),
                time_unix_nano: 1,
                attributes: vec![text_attr("exception.message", "no user bob@example.com")],
                dropped_attributes_count: 0,
            }],
            ..Default::default()
        },
        ..Span::default()
    }
}

#[test]
fn a_span_is_redacted_in_normalized_fields_and_raw_attributes() {
    let mut span = leaky_span();
    all().redact_span(&mut span);
    let json = serde_json::to_string(&span).unwrap();
    assert!(!json.contains("bob@example.com"), "{json}");
    assert!(!json.contains("4111111111111111"), "{json}");
    assert!(!json.contains("sk-proj-"), "{json}");
    assert_eq!(span.tool.as_ref().unwrap().result.as_deref(), Some("key [REDACTED:api_key]"));
}

#[test]
fn a_span_records_how_many_of_each_rule_it_redacted() {
    let mut span = leaky_span();
    all().redact_span(&mut span);
    // bob@: tool arguments, raw arguments, error message, exception event.
    assert_eq!(span.redactions["email"], 4);
    assert_eq!(span.redactions["card"], 2);
    assert_eq!(span.redactions["api_key"], 1);
}

#[test]
fn identity_fields_and_their_raw_attributes_are_left_to_configured_rules() {
    let mut span = leaky_span();
    all().redact_span(&mut span);
    assert_eq!(span.user_id.as_deref(), Some("jane@example.com"));
    assert!(span.raw.attributes.contains(&text_attr("user.id", "jane@example.com")));

    let config = RedactConfig::from_flags(false, &[], &["user=jane@example\\.com".into()]).unwrap();
    let mut span = leaky_span();
    Redactor::new(&config).unwrap().unwrap().redact_span(&mut span);
    assert_eq!(span.user_id.as_deref(), Some("[REDACTED:user]"));
    assert!(span.raw.attributes.contains(&text_attr("user.id", "[REDACTED:user]")));
}

#[test]
fn a_log_record_body_and_attributes_are_redacted() {
    let mut record = LogRecord {
        body: Some(AttrValue::Map(vec![text_attr("content", "mail jane@example.com")])),
        attributes: vec![text_attr("client.address", "10.1.2.3")],
        ..LogRecord::default()
    };
    all().redact_log(&mut record);
    assert_eq!(record.body, Some(AttrValue::Map(vec![text_attr("content", "mail [REDACTED:email]")])));
    assert_eq!(record.attributes, vec![text_attr("client.address", "[REDACTED:ipv4]")]);
    assert_eq!(record.redactions.values().sum::<u64>(), 2);
}

#[test]
fn detectors_work_inside_text_that_is_not_ascii() {
    let (out, counts) = redacted("écrivez à jane@example.com — carte 4111 1111 1111 1111, merci 🙏");
    assert_eq!(out, "écrivez à [REDACTED:email] — carte [REDACTED:card], merci 🙏");
    assert_eq!(counts.values().sum::<u64>(), 2);
}
