//! Span status and the error evidence around it: `error.type` and the `exception` event.

use tracehound_proto::trace::v1::Status;
use tracehound_store::model::{ErrorInfo, SpanEvent, StatusCode};

use super::attrs::AttrMap;

/// OTLP's status code (2 error, 1 ok, anything else unset) and the status message.
pub fn status_of(status: Option<&Status>) -> (StatusCode, String) {
    let Some(status) = status else { return (StatusCode::Unset, String::new()) };
    let code = match status.code {
        2 => StatusCode::Error,
        1 => StatusCode::Ok,
        _ => StatusCode::Unset,
    };
    (code, status.message.clone())
}

/// Error details when the status is error, an `exception` event was recorded, or `error.type`
/// is set; the exception event is preferred for type and message, being the most specific.
pub fn error_info(
    status: StatusCode,
    status_message: &str,
    attrs: &AttrMap<'_>,
    events: &[SpanEvent],
) -> Option<ErrorInfo> {
    // The last exception event is the one that ended the span when several were recorded.
    let exception =
        events.iter().rev().find(|event| event.name == "exception").map(|event| AttrMap::new(&event.attributes));
    let error_type = attrs.text("error.type");
    if status != StatusCode::Error && exception.is_none() && error_type.is_none() {
        return None;
    }
    let from_exception = |key: &str| exception.as_ref().and_then(|attrs| attrs.text(key));
    Some(ErrorInfo {
        error_type: from_exception("exception.type").or(error_type),
        message: from_exception("exception.message")
            .or_else(|| (!status_message.trim().is_empty()).then(|| status_message.to_string())),
        stacktrace: from_exception("exception.stacktrace"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracehound_store::model::{AttrValue, KeyValue};

    fn kv(key: &str, value: &str) -> KeyValue {
        KeyValue { key: key.into(), value: Some(AttrValue::Str(value.into())) }
    }

    #[test]
    fn otlp_codes_map_to_model_codes() {
        let status = |code| Some(Status { code, message: String::new() });
        assert_eq!(status_of(status(2).as_ref()).0, StatusCode::Error);
        assert_eq!(status_of(status(1).as_ref()).0, StatusCode::Ok);
        assert_eq!(status_of(status(7).as_ref()).0, StatusCode::Unset);
        assert_eq!(status_of(None).0, StatusCode::Unset);
    }

    #[test]
    fn no_error_without_evidence() {
        assert_eq!(error_info(StatusCode::Ok, "", &AttrMap::default(), &[]), None);
    }

    #[test]
    fn exception_event_supplies_type_message_and_stacktrace() {
        let events = vec![SpanEvent {
            name: "exception".into(),
            time_unix_nano: 1,
            attributes: vec![
                kv("exception.type", "LookupError"),
                kv("exception.message", "order not found"),
                kv("exception.stacktrace", "Traceback..."),
            ],
            dropped_attributes_count: 0,
        }];
        let error = error_info(StatusCode::Unset, "", &AttrMap::default(), &events);
        assert_eq!(
            error,
            Some(ErrorInfo {
                error_type: Some("LookupError".into()),
                message: Some("order not found".into()),
                stacktrace: Some("Traceback...".into())
            })
        );
    }

    #[test]
    fn error_type_attribute_and_status_message_stand_in_without_an_event() {
        let attrs = vec![kv("error.type", "timeout")];
        let error = error_info(StatusCode::Error, "deadline exceeded", &AttrMap::new(&attrs), &[]);
        assert_eq!(
            error,
            Some(ErrorInfo {
                error_type: Some("timeout".into()),
                message: Some("deadline exceeded".into()),
                stacktrace: None
            })
        );
    }
}
