//! Attribute values: OTLP `AnyValue` → model [`AttrValue`] (with the size cap and depth cap),
//! a read-only lookup view over converted attributes, and the JSON forms the conventions use.
//!
//! Every normalized field is read through [`AttrMap`], never from the proto types, so the
//! size cap applies to normalized fields and raw evidence alike.

use std::collections::BTreeMap;
use std::ops::Bound;

use base64::Engine as _;
use serde_json::Value as Json;
use tracehound_proto::common::v1::{any_value::Value as ProtoValue, AnyValue, KeyValue as ProtoKeyValue};
use tracehound_store::model::{AttrValue, KeyValue};

/// Nesting deeper than this is replaced by [`TOO_DEEP`]: the store and the JSON API recurse.
pub const MAX_DEPTH: usize = 32;
/// What replaces a value nested deeper than [`MAX_DEPTH`].
pub const TOO_DEEP: &str = "[too deeply nested]";

/// Converts proto attributes to model attributes, cutting strings over the cap and
/// remembering which keys were cut.
#[derive(Debug)]
pub struct Converter {
    max_value_bytes: usize,
    /// Keys whose value (or a string nested in it) was cut, in order, without duplicates.
    pub truncated_keys: Vec<String>,
    /// Number of string or bytes values that were cut.
    pub truncated_values: u64,
}

impl Converter {
    /// A converter with the given cap on string and bytes values.
    pub fn new(max_value_bytes: usize) -> Self {
        Converter { max_value_bytes, truncated_keys: Vec::new(), truncated_values: 0 }
    }

    /// Converts a list of attributes; `key_prefix` is prepended to keys recorded as truncated
    /// so a cut resource or event attribute is not mistaken for a span attribute.
    pub fn key_values(&mut self, attributes: &[ProtoKeyValue], key_prefix: &str) -> Vec<KeyValue> {
        attributes
            .iter()
            .map(|kv| KeyValue { key: kv.key.clone(), value: self.value(kv.value.as_ref(), key_prefix, &kv.key) })
            .collect()
    }

    /// Converts one optional value; `None` for an absent or empty `AnyValue`.
    pub fn value(&mut self, value: Option<&AnyValue>, key_prefix: &str, key: &str) -> Option<AttrValue> {
        let before = self.truncated_values;
        let converted = self.convert(value?, 0);
        if self.truncated_values > before {
            let recorded = format!("{key_prefix}{key}");
            if !self.truncated_keys.contains(&recorded) {
                self.truncated_keys.push(recorded);
            }
        }
        converted
    }

    fn convert(&mut self, value: &AnyValue, depth: usize) -> Option<AttrValue> {
        if depth > MAX_DEPTH {
            // Counted with the cut values, so the sender hears of it in `partial_success`.
            self.truncated_values += 1;
            return Some(AttrValue::Str(TOO_DEEP.to_string()));
        }
        let converted = match value.value.as_ref()? {
            ProtoValue::StringValue(text) => AttrValue::Str(self.cap_string(text)),
            ProtoValue::BoolValue(flag) => AttrValue::Bool(*flag),
            ProtoValue::IntValue(number) => AttrValue::Int(*number),
            ProtoValue::DoubleValue(number) => double(*number),
            ProtoValue::BytesValue(bytes) => {
                AttrValue::Bytes { bytes_b64: base64::engine::general_purpose::STANDARD.encode(self.cap_bytes(bytes)) }
            }
            ProtoValue::ArrayValue(array) => {
                AttrValue::Array(array.values.iter().filter_map(|item| self.convert(item, depth + 1)).collect())
            }
            ProtoValue::KvlistValue(list) => AttrValue::Map(
                list.values
                    .iter()
                    .map(|kv| KeyValue {
                        key: kv.key.clone(),
                        value: kv.value.as_ref().and_then(|inner| self.convert(inner, depth + 1)),
                    })
                    .collect(),
            ),
            // A string-table index only means something inside a profiles dictionary, which
            // traces and logs do not carry: there is no text to recover.
            ProtoValue::StringValueStrindex(_) => return None,
        };
        Some(converted)
    }

    fn cap_string(&mut self, text: &str) -> String {
        if text.len() <= self.max_value_bytes {
            return text.to_string();
        }
        self.truncated_values += 1;
        let mut cut = self.max_value_bytes;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let dropped = text.len() - cut;
        format!("{}…[truncated {dropped} bytes]", &text[..cut])
    }

    /// Bytes have no room for a marker; the recorded key says they were cut.
    fn cap_bytes<'b>(&mut self, bytes: &'b [u8]) -> &'b [u8] {
        if bytes.len() <= self.max_value_bytes {
            return bytes;
        }
        self.truncated_values += 1;
        &bytes[..self.max_value_bytes]
    }
}

/// JSON cannot hold NaN or infinities, so those become the strings `NaN`, `inf`, `-inf`.
fn double(number: f64) -> AttrValue {
    if number.is_nan() {
        AttrValue::Str("NaN".to_string())
    } else if number.is_infinite() {
        AttrValue::Str(if number > 0.0 { "inf" } else { "-inf" }.to_string())
    } else {
        AttrValue::Double(number)
    }
}

/// A key → value view over converted attributes; the first occurrence of a key wins.
#[derive(Debug, Clone, Default)]
pub struct AttrMap<'a> {
    entries: BTreeMap<&'a str, &'a AttrValue>,
}

impl<'a> AttrMap<'a> {
    /// Indexes the attributes; keys without a value are left out.
    pub fn new(attributes: &'a [KeyValue]) -> Self {
        let mut entries = BTreeMap::new();
        for kv in attributes {
            if let Some(value) = kv.value.as_ref() {
                entries.entry(kv.key.as_str()).or_insert(value);
            }
        }
        AttrMap { entries }
    }

    /// The value of a key.
    pub fn get(&self, key: &str) -> Option<&'a AttrValue> {
        self.entries.get(key).copied()
    }

    /// True when the key has a value.
    pub fn contains(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// The value as non-empty text (see [`scalar_text`]).
    pub fn text(&self, key: &str) -> Option<String> {
        self.get(key).and_then(scalar_text)
    }

    /// The first of the keys that has non-empty text.
    pub fn first_text<S: AsRef<str>>(&self, keys: &[S]) -> Option<String> {
        keys.iter().find_map(|key| self.text(key.as_ref()))
    }

    /// The value as an integer (numbers and numeric strings).
    pub fn int(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(AttrValue::as_i64)
    }

    /// The first of the keys that holds an integer.
    pub fn first_int(&self, keys: &[&str]) -> Option<i64> {
        keys.iter().find_map(|key| self.int(key))
    }

    /// The value as a float (numbers and numeric strings).
    pub fn float(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(AttrValue::as_f64)
    }

    /// The value as structured JSON: arrays and maps as they are, strings only when they hold
    /// a JSON object or array.
    pub fn json(&self, key: &str) -> Option<Json> {
        self.get(key).and_then(structured_json)
    }

    /// The value as exact text: strings verbatim, anything else as JSON text.
    pub fn json_text(&self, key: &str) -> Option<String> {
        self.get(key).and_then(exact_text)
    }

    /// The first of the keys that has exact text.
    pub fn first_json_text(&self, keys: &[&str]) -> Option<String> {
        keys.iter().find_map(|key| self.json_text(key))
    }

    /// Keys starting with `prefix`, with the prefix removed, in key order.
    pub fn with_prefix<'p>(&'p self, prefix: &'p str) -> impl Iterator<Item = (&'a str, &'a AttrValue)> + 'p
    where
        'a: 'p,
    {
        self.entries
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(move |(key, _)| key.starts_with(prefix))
            .filter_map(move |(key, value)| key.get(prefix.len()..).map(|rest| (rest, *value)))
    }

    /// Un-flattens `prefix.N.rest` keys into one view per numeric index N (over `rest`).
    /// Keys whose segment after the prefix is not a number are ignored, which is what keeps
    /// `gen_ai.prompt.name` from being read as message `gen_ai.prompt.0`.
    pub fn indexed(&self, prefix: &str) -> BTreeMap<usize, AttrMap<'a>> {
        let mut groups: BTreeMap<usize, AttrMap<'a>> = BTreeMap::new();
        for (rest, value) in self.with_prefix(prefix) {
            let Some((index, inner_key)) = rest.split_once('.') else { continue };
            let Ok(index) = index.parse::<usize>() else { continue };
            groups.entry(index).or_default().entries.entry(inner_key).or_insert(value);
        }
        groups
    }

    /// The attributes as one JSON object (first occurrence of a key wins).
    pub fn to_json_object(&self) -> Json {
        Json::Object(self.entries.iter().map(|(key, value)| (key.to_string(), natural_json(value))).collect())
    }
}

/// Non-empty text of a scalar: strings as they are, numbers and booleans printed, an array
/// by its first element (HTTP header attributes are string arrays). `None` for maps and bytes.
pub fn scalar_text(value: &AttrValue) -> Option<String> {
    let text = match value {
        AttrValue::Str(text) => text.clone(),
        AttrValue::Bool(_) | AttrValue::Int(_) | AttrValue::Double(_) => value.as_text(),
        AttrValue::Array(items) => return items.first().and_then(scalar_text),
        AttrValue::Map(_) | AttrValue::Bytes { .. } => return None,
    };
    (!text.trim().is_empty()).then_some(text)
}

/// Exact text: a non-empty string verbatim, a structure as compact JSON text, a scalar printed.
pub fn exact_text(value: &AttrValue) -> Option<String> {
    match value {
        AttrValue::Str(text) => (!text.trim().is_empty()).then(|| text.clone()),
        AttrValue::Array(items) if items.is_empty() => None,
        AttrValue::Map(entries) if entries.is_empty() => None,
        AttrValue::Array(_) | AttrValue::Map(_) | AttrValue::Bytes { .. } => Some(natural_json(value).to_string()),
        AttrValue::Bool(_) | AttrValue::Int(_) | AttrValue::Double(_) => Some(value.as_text()),
    }
}

/// The natural JSON shape of a value: maps become objects (the model's own serde form writes a
/// map as a list of `{key, value}` entries, which no convention expects).
pub fn natural_json(value: &AttrValue) -> Json {
    match value {
        AttrValue::Bool(flag) => Json::Bool(*flag),
        AttrValue::Int(number) => Json::from(*number),
        AttrValue::Double(number) => serde_json::Number::from_f64(*number).map_or(Json::Null, Json::Number),
        AttrValue::Str(text) => Json::String(text.clone()),
        AttrValue::Bytes { bytes_b64 } => serde_json::json!({ "bytes_b64": bytes_b64 }),
        AttrValue::Array(items) => Json::Array(items.iter().map(natural_json).collect()),
        AttrValue::Map(entries) => {
            let mut object = serde_json::Map::new();
            for entry in entries {
                if !object.contains_key(&entry.key) {
                    object.insert(entry.key.clone(), entry.value.as_ref().map_or(Json::Null, natural_json));
                }
            }
            Json::Object(object)
        }
    }
}

/// Structured JSON of an "any"-typed attribute: the structured form first, else a string that
/// parses as a JSON object or array (conventions allow both forms on spans).
pub fn structured_json(value: &AttrValue) -> Option<Json> {
    match value {
        AttrValue::Array(_) | AttrValue::Map(_) => Some(natural_json(value)),
        AttrValue::Str(text) => parse_json_container(text),
        _ => None,
    }
}

/// Any value as JSON: structured content parsed, anything else in its natural JSON form.
pub fn any_json(value: &AttrValue) -> Json {
    structured_json(value).unwrap_or_else(|| natural_json(value))
}

/// Parses text that holds a JSON object or array; anything else (including plain prose that
/// happens to parse, like a bare number) is not structured content.
pub fn parse_json_container(text: &str) -> Option<Json> {
    let trimmed = text.trim_start();
    if !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
        return None;
    }
    serde_json::from_str(trimmed).ok()
}

/// Exact text of a JSON value: strings verbatim, everything else as compact JSON text.
pub fn json_to_text(value: &Json) -> Option<String> {
    match value {
        Json::Null => None,
        Json::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

/// Non-empty text of a JSON scalar: strings as they are, numbers and booleans printed.
pub fn json_scalar_text(value: &Json) -> Option<String> {
    let text = match value {
        Json::String(text) => text.clone(),
        Json::Number(number) => number.to_string(),
        Json::Bool(flag) => flag.to_string(),
        _ => return None,
    };
    (!text.trim().is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracehound_proto::common::v1::{ArrayValue, KeyValueList};

    fn any(value: ProtoValue) -> AnyValue {
        AnyValue { value: Some(value) }
    }

    fn string(text: &str) -> AnyValue {
        any(ProtoValue::StringValue(text.to_string()))
    }

    #[test]
    fn non_finite_doubles_become_strings() {
        let mut converter = Converter::new(100);
        let nan = converter.value(Some(&any(ProtoValue::DoubleValue(f64::NAN))), "", "k");
        let inf = converter.value(Some(&any(ProtoValue::DoubleValue(f64::INFINITY))), "", "k");
        let neg = converter.value(Some(&any(ProtoValue::DoubleValue(f64::NEG_INFINITY))), "", "k");
        assert_eq!(nan, Some(AttrValue::Str("NaN".into())));
        assert_eq!(inf, Some(AttrValue::Str("inf".into())));
        assert_eq!(neg, Some(AttrValue::Str("-inf".into())));
    }

    #[test]
    fn bytes_become_standard_base64() {
        let mut converter = Converter::new(100);
        let value = converter.value(Some(&any(ProtoValue::BytesValue(vec![0xde, 0xad, 0xbe, 0xef]))), "", "k");
        assert_eq!(value, Some(AttrValue::Bytes { bytes_b64: "3q2+7w==".into() }));
    }

    #[test]
    fn empty_any_value_is_none() {
        let mut converter = Converter::new(100);
        assert_eq!(converter.value(Some(&AnyValue { value: None }), "", "k"), None);
    }

    #[test]
    fn nesting_beyond_the_depth_cap_is_replaced_by_a_marker() {
        let mut value = string("leaf");
        for _ in 0..40 {
            value = any(ProtoValue::ArrayValue(ArrayValue { values: vec![value] }));
        }
        let converted = Converter::new(100).value(Some(&value), "", "k");
        let mut cursor = converted.as_ref();
        let mut depth = 0;
        while let Some(AttrValue::Array(items)) = cursor {
            cursor = items.first();
            depth += 1;
        }
        assert_eq!(depth, MAX_DEPTH + 1);
        assert_eq!(cursor, Some(&AttrValue::Str(TOO_DEEP.into())));
    }

    #[test]
    fn long_string_is_cut_at_a_char_boundary_with_a_marker() {
        let mut converter = Converter::new(5);
        // "hé€llo" is 9 bytes and byte 5 falls inside '€' (bytes 3..6), so the cut backs off to 3.
        let value = converter.value(Some(&string("hé€llo")), "", "big");
        assert_eq!(value, Some(AttrValue::Str("hé…[truncated 6 bytes]".into())));
        assert_eq!(converter.truncated_keys, vec!["big".to_string()]);
        assert_eq!(converter.truncated_values, 1);
    }

    #[test]
    fn nested_strings_are_capped_and_the_top_key_recorded_once() {
        let mut converter = Converter::new(3);
        let list = any(ProtoValue::KvlistValue(KeyValueList {
            values: vec![
                ProtoKeyValue { key: "a".into(), value: Some(string("abcdef")), ..Default::default() },
                ProtoKeyValue { key: "b".into(), value: Some(string("ghijkl")), ..Default::default() },
            ],
        }));
        converter.value(Some(&list), "resource/", "outer");
        assert_eq!(converter.truncated_keys, vec!["resource/outer".to_string()]);
        assert_eq!(converter.truncated_values, 2);
    }

    #[test]
    fn first_occurrence_of_a_key_wins() {
        let attrs = vec![
            KeyValue { key: "k".into(), value: Some(AttrValue::Str("first".into())) },
            KeyValue { key: "k".into(), value: Some(AttrValue::Str("second".into())) },
        ];
        assert_eq!(AttrMap::new(&attrs).text("k").as_deref(), Some("first"));
    }

    #[test]
    fn indexed_keys_group_by_numeric_segment_only() {
        let attrs = vec![
            KeyValue { key: "gen_ai.prompt.0.role".into(), value: Some(AttrValue::Str("user".into())) },
            KeyValue { key: "gen_ai.prompt.10.role".into(), value: Some(AttrValue::Str("tool".into())) },
            KeyValue { key: "gen_ai.prompt.2.role".into(), value: Some(AttrValue::Str("assistant".into())) },
            KeyValue { key: "gen_ai.prompt.version".into(), value: Some(AttrValue::Str("v7".into())) },
            KeyValue { key: "gen_ai.prompt.name".into(), value: Some(AttrValue::Str("support".into())) },
        ];
        let map = AttrMap::new(&attrs);
        let groups = map.indexed("gen_ai.prompt.");
        assert_eq!(groups.keys().copied().collect::<Vec<_>>(), vec![0, 2, 10]);
        assert_eq!(groups[&10].text("role").as_deref(), Some("tool"));
    }

    #[test]
    fn array_scalar_text_takes_the_first_element() {
        let value = AttrValue::Array(vec![AttrValue::Str("req-1".into()), AttrValue::Str("req-2".into())]);
        assert_eq!(scalar_text(&value).as_deref(), Some("req-1"));
    }

    #[test]
    fn maps_become_json_objects() {
        let value = AttrValue::Map(vec![KeyValue { key: "a".into(), value: Some(AttrValue::Int(1)) }]);
        assert_eq!(natural_json(&value), serde_json::json!({"a": 1}));
    }
}
