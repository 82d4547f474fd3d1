//! Attribute values as OTLP's `AnyValue` carries them, and their hand-written deserializer.

use serde::{Deserialize, Serialize};

/// One attribute value, as OTLP's `AnyValue` carries it.
///
/// Serialized untagged, so scalars and arrays show as natural JSON (`"x"`, `3`, `1.5`,
/// `[..]`) while int and double stay distinct (a double is always written with a
/// fraction). A key-value list keeps order and duplicates as `[{"key": .., "value": ..}]`;
/// views that want an object build one. `Deserialize` is hand-written, below.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AttrValue {
    /// A boolean.
    Bool(bool),
    /// A signed 64-bit integer.
    Int(i64),
    /// A 64-bit float.
    Double(f64),
    /// A UTF-8 string.
    Str(String),
    /// Raw bytes, kept as `{"bytes_b64": "..."}` so they cannot be mistaken for text.
    Bytes {
        /// The bytes, standard base64.
        bytes_b64: String,
    },
    /// An ordered array.
    Array(Vec<AttrValue>),
    /// A key-value list; order kept, duplicate keys kept.
    Map(Vec<KeyValue>),
}

/// One key and its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyValue {
    /// Attribute key, verbatim.
    pub key: String,
    /// Attribute value; `None` for an empty `AnyValue`.
    pub value: Option<AttrValue>,
}

/// `AttrValue`'s `Deserialize`, written by hand because every stored span reads through it.
///
/// The untagged derive buffers each value into serde's private `Content` (copying strings,
/// which here are whole prompts), then tries the variants in turn, and every miss formats an
/// error that quotes the value: three `Debug`-escaped copies of a prompt before it reaches
/// `Str`. The JSON token already names the variant, so this reads it once. It reads what the
/// serializer writes exactly as the derive did, and still skips unknown object fields. Of the
/// derive's looser readings it drops two: a map entry written as a `["key", value]` pair, and
/// a `"value"` that is no attribute value inside a `{"bytes_b64"}` object.
mod attr_value_de {
    use std::fmt;

    use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

    use super::{AttrValue, KeyValue};

    impl<'de> Deserialize<'de> for AttrValue {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            match Element::deserialize(deserializer)? {
                Element::Value(value) => Ok(value),
                Element::Object { bytes_b64: Some(bytes_b64), .. } => Ok(AttrValue::Bytes { bytes_b64 }),
                Element::Object { .. } => Err(de::Error::missing_field("bytes_b64")),
            }
        }
    }

    /// A value read before its array is known to be an `Array` or a `Map`: an object is
    /// `{"bytes_b64"}` in the first and `{"key", "value"}` in the second.
    enum Element {
        /// Anything but an object.
        Value(AttrValue),
        /// An object's fields of either shape; unknown fields are skipped.
        Object { bytes_b64: Option<String>, key: Option<String>, value: Option<AttrValue> },
    }

    impl Element {
        fn is_value(&self) -> bool {
            !matches!(self, Element::Object { bytes_b64: None, .. })
        }

        fn is_entry(&self) -> bool {
            matches!(self, Element::Object { key: Some(_), .. })
        }

        fn into_value(self) -> Option<AttrValue> {
            match self {
                Element::Value(value) => Some(value),
                Element::Object { bytes_b64, .. } => bytes_b64.map(|bytes_b64| AttrValue::Bytes { bytes_b64 }),
            }
        }

        fn into_entry(self) -> Option<KeyValue> {
            match self {
                Element::Object { key: Some(key), value, .. } => Some(KeyValue { key, value }),
                _ => None,
            }
        }
    }

    impl<'de> Deserialize<'de> for Element {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(ElementVisitor)
        }
    }

    struct ElementVisitor;

    impl<'de> Visitor<'de> for ElementVisitor {
        type Value = Element;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an attribute value (bool, number, string, {\"bytes_b64\": ..} or array)")
        }

        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Element, E> {
            Ok(Element::Value(AttrValue::Bool(v)))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Element, E> {
            Ok(Element::Value(AttrValue::Int(v)))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Element, E> {
            // Past i64::MAX the untagged derive fell through to `Double`; keep reading it so.
            Ok(Element::Value(i64::try_from(v).map_or(AttrValue::Double(v as f64), AttrValue::Int)))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Element, E> {
            Ok(Element::Value(AttrValue::Double(v)))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Element, E> {
            Ok(Element::Value(AttrValue::Str(v.to_owned())))
        }

        fn visit_string<E: de::Error>(self, v: String) -> Result<Element, E> {
            Ok(Element::Value(AttrValue::Str(v)))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Element, A::Error> {
            let mut elements: Vec<Element> = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
            while let Some(element) = seq.next_element()? {
                elements.push(element);
            }
            // `Array` first, as the derive tried it: an empty array and an array of
            // `{"bytes_b64"}` objects are arrays.
            if elements.iter().all(Element::is_value) {
                return Ok(Element::Value(AttrValue::Array(
                    elements.into_iter().filter_map(Element::into_value).collect(),
                )));
            }
            if elements.iter().all(Element::is_entry) {
                return Ok(Element::Value(AttrValue::Map(
                    elements.into_iter().filter_map(Element::into_entry).collect(),
                )));
            }
            Err(de::Error::custom(
                "array is neither attribute values nor {\"key\", \"value\"} entries (an object needs \"bytes_b64\" or \"key\")",
            ))
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Element, A::Error> {
            let (mut bytes_b64, mut key, mut value) = (None, None, None);
            while let Some(field) = map.next_key()? {
                match field {
                    Field::BytesB64 if bytes_b64.is_some() => return Err(de::Error::duplicate_field("bytes_b64")),
                    Field::BytesB64 => bytes_b64 = Some(map.next_value()?),
                    Field::Key if key.is_some() => return Err(de::Error::duplicate_field("key")),
                    Field::Key => key = Some(map.next_value()?),
                    Field::Value if value.is_some() => return Err(de::Error::duplicate_field("value")),
                    Field::Value => value = Some(map.next_value::<Option<AttrValue>>()?),
                    Field::Other => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(Element::Object { bytes_b64, key, value: value.flatten() })
        }
    }

    /// An object field name, matched without allocating.
    enum Field {
        BytesB64,
        Key,
        Value,
        Other,
    }

    impl<'de> Deserialize<'de> for Field {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_identifier(FieldVisitor)
        }
    }

    struct FieldVisitor;

    impl<'de> Visitor<'de> for FieldVisitor {
        type Value = Field;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a field name")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Field, E> {
            Ok(match v {
                "bytes_b64" => Field::BytesB64,
                "key" => Field::Key,
                "value" => Field::Value,
                _ => Field::Other,
            })
        }
    }
}

impl AttrValue {
    /// The value as text: strings as they are, scalars printed, structures as JSON.
    pub fn as_text(&self) -> String {
        match self {
            AttrValue::Str(s) => s.clone(),
            AttrValue::Bool(b) => b.to_string(),
            AttrValue::Int(i) => i.to_string(),
            AttrValue::Double(d) => d.to_string(),
            other => serde_json::to_string(other).unwrap_or_default(),
        }
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as an integer, if it is one or a string holding one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            AttrValue::Int(i) => Some(*i),
            AttrValue::Double(d) if d.fract() == 0.0 => Some(*d as i64),
            AttrValue::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// The value as a float, if it is numeric or a string holding a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            AttrValue::Int(i) => Some(*i as f64),
            AttrValue::Double(d) => Some(*d),
            AttrValue::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// Converts to a `serde_json::Value` (the natural JSON shape).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod attr_value_tests {
    use super::*;

    /// Today's `AttrValue` deserializer, the untagged derive, kept as an oracle.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum UntaggedAttrValue {
        Bool(bool),
        Int(i64),
        Double(f64),
        Str(String),
        Bytes { bytes_b64: String },
        Array(Vec<UntaggedAttrValue>),
        Map(Vec<UntaggedKeyValue>),
    }

    #[derive(Deserialize)]
    struct UntaggedKeyValue {
        key: String,
        value: Option<UntaggedAttrValue>,
    }

    impl From<UntaggedAttrValue> for AttrValue {
        fn from(v: UntaggedAttrValue) -> Self {
            match v {
                UntaggedAttrValue::Bool(b) => AttrValue::Bool(b),
                UntaggedAttrValue::Int(i) => AttrValue::Int(i),
                UntaggedAttrValue::Double(d) => AttrValue::Double(d),
                UntaggedAttrValue::Str(s) => AttrValue::Str(s),
                UntaggedAttrValue::Bytes { bytes_b64 } => AttrValue::Bytes { bytes_b64 },
                UntaggedAttrValue::Array(items) => AttrValue::Array(items.into_iter().map(Into::into).collect()),
                UntaggedAttrValue::Map(entries) => AttrValue::Map(
                    entries.into_iter().map(|kv| KeyValue { key: kv.key, value: kv.value.map(Into::into) }).collect(),
                ),
            }
        }
    }

    fn parse(json: &str) -> Result<AttrValue, serde_json::Error> {
        serde_json::from_str(json)
    }

    fn round_trip(value: &AttrValue) -> AttrValue {
        let json = serde_json::to_string(value).unwrap();
        parse(&json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    fn kv(key: &str, value: Option<AttrValue>) -> KeyValue {
        KeyValue { key: key.into(), value }
    }

    fn samples() -> Vec<AttrValue> {
        vec![
            AttrValue::Bool(true),
            AttrValue::Bool(false),
            AttrValue::Int(0),
            AttrValue::Int(42),
            AttrValue::Int(-7),
            AttrValue::Int(i64::MIN),
            AttrValue::Int(i64::MAX),
            AttrValue::Double(1.5),
            AttrValue::Double(-2.25),
            AttrValue::Double(3.0),
            AttrValue::Double(1e300),
            AttrValue::Str(String::new()),
            AttrValue::Str("say \"hi\"\n\tand é ☃".into()),
            AttrValue::Str("42".into()),
            AttrValue::Bytes { bytes_b64: "3q2+7w==".into() },
            AttrValue::Array(vec![]),
            AttrValue::Array(vec![AttrValue::Int(1), AttrValue::Str("a".into()), AttrValue::Double(2.5)]),
            AttrValue::Array(vec![AttrValue::Array(vec![AttrValue::Bool(true), AttrValue::Int(2)]), AttrValue::Int(3)]),
            AttrValue::Array(vec![
                AttrValue::Bytes { bytes_b64: "AA==".into() },
                AttrValue::Bytes { bytes_b64: "AQ==".into() },
            ]),
            AttrValue::Map(vec![kv("a", Some(AttrValue::Int(1))), kv("a", Some(AttrValue::Str("dup".into())))]),
            AttrValue::Map(vec![kv("empty", None)]),
            AttrValue::Map(vec![
                kv("nested", Some(AttrValue::Map(vec![kv("x", Some(AttrValue::Array(vec![AttrValue::Int(1)])))]))),
                kv("list", Some(AttrValue::Array(vec![]))),
            ]),
        ]
    }

    #[test]
    fn every_sample_value_round_trips() {
        for value in samples() {
            assert_eq!(round_trip(&value), value);
        }
    }

    #[test]
    fn what_the_serializer_writes_reads_back_as_the_untagged_derive_read_it() {
        for value in samples() {
            let json = serde_json::to_string(&value).unwrap();
            let oracle: AttrValue = serde_json::from_str::<UntaggedAttrValue>(&json).unwrap().into();
            assert_eq!(parse(&json).unwrap(), oracle, "{json}");
        }
    }

    #[test]
    fn serialized_shapes_are_natural_json() {
        let cases = [
            (AttrValue::Bool(true), "true"),
            (AttrValue::Int(-3), "-3"),
            (AttrValue::Double(3.0), "3.0"),
            (AttrValue::Str("x".into()), "\"x\""),
            (AttrValue::Bytes { bytes_b64: "AA==".into() }, r#"{"bytes_b64":"AA=="}"#),
            (AttrValue::Array(vec![AttrValue::Int(1)]), "[1]"),
            (AttrValue::Map(vec![kv("k", None)]), r#"[{"key":"k","value":null}]"#),
        ];
        for (value, json) in cases {
            assert_eq!(serde_json::to_string(&value).unwrap(), json);
        }
    }

    #[test]
    fn a_negative_integer_reads_as_int() {
        assert_eq!(parse("-12").unwrap(), AttrValue::Int(-12));
    }

    #[test]
    fn an_integer_above_i64_max_reads_as_double() {
        assert_eq!(parse("18446744073709551615").unwrap(), AttrValue::Double(u64::MAX as f64));
        assert_eq!(parse("9223372036854775808").unwrap(), AttrValue::Double(9_223_372_036_854_775_808.0));
    }

    #[test]
    fn a_double_without_a_fraction_reads_as_double() {
        assert_eq!(parse("2.0").unwrap(), AttrValue::Double(2.0));
        assert_eq!(parse("1e3").unwrap(), AttrValue::Double(1000.0));
    }

    #[test]
    fn an_empty_array_reads_as_array() {
        assert_eq!(parse("[]").unwrap(), AttrValue::Array(vec![]));
    }

    #[test]
    fn a_bytes_object_ignores_unknown_fields() {
        let value = parse(r#"{"extra": [1, {"x": null}], "bytes_b64": "AA=="}"#).unwrap();
        assert_eq!(value, AttrValue::Bytes { bytes_b64: "AA==".into() });
    }

    #[test]
    fn an_array_of_key_value_objects_reads_as_map() {
        let value = parse(r#"[{"key": "a", "value": 1}, {"value": "s", "key": "b"}]"#).unwrap();
        assert_eq!(
            value,
            AttrValue::Map(vec![kv("a", Some(AttrValue::Int(1))), kv("b", Some(AttrValue::Str("s".into())))])
        );
    }

    #[test]
    fn a_map_entry_with_a_null_or_absent_value_reads_as_none() {
        let value = parse(r#"[{"key": "a", "value": null}, {"key": "b"}]"#).unwrap();
        assert_eq!(value, AttrValue::Map(vec![kv("a", None), kv("b", None)]));
    }

    #[test]
    fn a_map_entry_ignores_unknown_fields() {
        let value = parse(r#"[{"key": "a", "note": {"x": [1]}, "value": true}]"#).unwrap();
        assert_eq!(value, AttrValue::Map(vec![kv("a", Some(AttrValue::Bool(true)))]));
    }

    #[test]
    fn a_one_string_array_round_trips_as_array() {
        let value = AttrValue::Array(vec![AttrValue::Str("stop".into())]);
        assert_eq!(round_trip(&value), value);
    }

    #[test]
    fn malformed_values_are_errors() {
        let cases = [
            "null",
            "{}",
            r#"{"bytes_b64": 1}"#,
            r#"{"bytes_b64": "AA==", "bytes_b64": "AQ=="}"#,
            r#"{"key": "a", "value": 1}"#,
            "[null]",
            r#"[1, {"key": "a", "value": 1}]"#,
            r#"[{"key": "a", "value": 1}, "x"]"#,
            r#"[{"key": 1, "value": 1}]"#,
            r#"[{"key": "a", "key": "b"}]"#,
            r#"[{"key": "a", "value": {}}]"#,
            r#"[{"value": 1}]"#,
            "1e400",
            "[1,",
        ];
        for json in cases {
            assert!(parse(json).is_err(), "{json} should not parse");
            assert!(serde_json::from_str::<UntaggedAttrValue>(json).is_err(), "oracle accepts {json}");
        }
    }

    #[test]
    fn an_object_without_bytes_b64_names_the_missing_field() {
        let err = parse(r#"{"key": "a", "value": 1}"#).unwrap_err();
        assert!(err.to_string().contains("missing field `bytes_b64`"), "{err}");
    }

    #[test]
    fn an_array_mixing_values_and_entries_says_so() {
        let err = parse(r#"[1, {"key": "a", "value": 1}]"#).unwrap_err();
        assert!(err.to_string().contains("neither attribute values nor"), "{err}");
    }

    #[test]
    fn null_is_not_an_attribute_value() {
        let err = parse("null").unwrap_err();
        assert!(err.to_string().contains("expected an attribute value"), "{err}");
    }

    #[test]
    fn a_map_entry_written_as_a_pair_is_an_error() {
        // The derive read `[["k", null]]` as a map; the serializer never writes that shape.
        assert!(serde_json::from_str::<UntaggedAttrValue>(r#"[["k", null]]"#).is_ok());
        assert!(parse(r#"[["k", null]]"#).is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let json = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse(&json).is_err());
    }

    /// Deterministic JSON generator for comparing against the untagged derive.
    struct Gen(u64);

    impl Gen {
        fn next(&mut self) -> u64 {
            // xorshift64: deterministic and dependency-free.
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
            options[(self.next() % options.len() as u64) as usize]
        }

        fn value(&mut self, depth: u32) -> String {
            let kinds = if depth == 0 { 5 } else { 7 };
            match self.next() % kinds {
                0 => self.pick(&["true", "false"]).into(),
                1 => self
                    .pick(&[
                        "0",
                        "7",
                        "-1",
                        "-9223372036854775808",
                        "9223372036854775807",
                        "9223372036854775808",
                        "18446744073709551615",
                    ])
                    .into(),
                2 => self.pick(&["1.5", "-0.0", "-0", "2.0", "1e3", "1E-2", "-3.25e10"]).into(),
                3 => self.pick(&[r#""""#, r#""a""#, r#""q\"uote\\n""#, r#""\u00e9\n""#, r#""12""#, r#""true""#]).into(),
                4 => self
                    .pick(&[
                        r#"{"bytes_b64":"AA=="}"#,
                        r#"{"extra":[1,{"x":null}],"bytes_b64":"AQ=="}"#,
                        r#"{"bytes_b64":"","other":"x"}"#,
                    ])
                    .into(),
                5 => {
                    let len = self.next() % 4;
                    let items: Vec<String> = (0..len).map(|_| self.value(depth - 1)).collect();
                    format!("[{}]", items.join(","))
                }
                _ => {
                    let len = 1 + self.next() % 3;
                    let entries: Vec<String> = (0..len)
                        .map(|_| {
                            let key = self.pick(&[r#""k""#, r#""dup""#, r#""é\"""#]);
                            let value = match self.next() % 4 {
                                0 => None,
                                1 => Some("null".to_string()),
                                _ => Some(self.value(depth - 1)),
                            };
                            let mut fields = vec![format!(r#""key":{key}"#)];
                            if let Some(v) = value {
                                fields.push(format!(r#""value":{v}"#));
                            }
                            if self.next().is_multiple_of(4) {
                                fields.push(r#""note":{"x":[1,2]}"#.into());
                            }
                            if self.next().is_multiple_of(2) {
                                fields.reverse();
                            }
                            format!("{{{}}}", fields.join(","))
                        })
                        .collect();
                    format!("[{}]", entries.join(","))
                }
            }
        }
    }

    #[test]
    fn generated_json_reads_as_the_untagged_derive_reads_it() {
        let mut gen = Gen(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let json = gen.value(4);
            let oracle: AttrValue = serde_json::from_str::<UntaggedAttrValue>(&json).unwrap().into();
            assert_eq!(parse(&json).unwrap(), oracle, "{json}");
        }
    }
}
