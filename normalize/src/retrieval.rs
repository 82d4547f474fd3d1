//! A retrieval: the query, the data source, top-k and the documents that came back, from
//! OpenInference flattened documents, OTel `gen_ai.retrieval.*`, or vector-DB result events.

use serde_json::Value as Json;
use tracehound_store::model::{Document, Retrieval, SpanEvent};

use super::attrs::{json_scalar_text, json_to_text, AttrMap};

/// Keys naming the data source (index, collection, knowledge base), in precedence order.
const DATA_SOURCE_KEYS: &[&str] = &[
    "gen_ai.data_source.id",
    "aws.bedrock.knowledge_base.id",
    "db.collection.name",
    "pinecone.query.namespace",
    "qdrant.search.collection_name",
    "db.milvus.search.collection_name",
    "db.chroma.query.segment._query.collection_id",
    "gen_ai.memory.store.id",
];

/// Keys naming top-k; `gen_ai.request.top_k` is only read here, on retrieval spans.
const TOP_K_KEYS: &[&str] = &[
    "gen_ai.retrieval.top_k",
    "retrieval.top_k",
    "gen_ai.request.top_k",
    "db.vector.query.top_k",
    "reranker.top_k",
    "pinecone.query.top_k",
];

/// The retrieval of a span: always for retrieval spans, otherwise only when documents or a
/// retrieval query are present.
pub fn retrieval_of(attrs: &AttrMap<'_>, events: &[SpanEvent], is_retrieval: bool) -> Option<Retrieval> {
    // `input.value` is the query only where the span says it retrieves; elsewhere it is any input.
    let query = attrs
        .first_text(&["gen_ai.retrieval.query.text", "reranker.query", "gen_ai.memory.query.text"])
        .or_else(|| is_retrieval.then(|| attrs.json_text("input.value")).flatten());
    let retrieval = Retrieval {
        query,
        data_source: attrs.first_text(DATA_SOURCE_KEYS),
        top_k: attrs.first_int(TOP_K_KEYS),
        documents: documents(attrs, events),
    };
    let found = retrieval.query.is_some() || !retrieval.documents.is_empty();
    (is_retrieval || found).then_some(retrieval)
}

fn documents(attrs: &AttrMap<'_>, events: &[SpanEvent]) -> Vec<Document> {
    for prefix in ["retrieval.documents.", "reranker.output_documents."] {
        let flattened: Vec<Document> = attrs.indexed(prefix).values().map(flattened_document).collect();
        if !flattened.is_empty() {
            return flattened;
        }
    }
    for key in ["gen_ai.retrieval.documents", "gen_ai.memory.records"] {
        if let Some(Json::Array(items)) = attrs.json(key) {
            return items.iter().filter_map(json_document).collect();
        }
    }
    events.iter().filter_map(event_document).collect()
}

/// OpenInference `document.{id,content,score,metadata}`.
fn flattened_document(document: &AttrMap<'_>) -> Document {
    Document {
        id: document.text("document.id"),
        score: document.float("document.score"),
        content: document.json_text("document.content"),
        metadata: document.json_text("document.metadata"),
    }
}

/// `{id, score, content|text|document, metadata}`: the schema only names id and score,
/// everything else is additional properties emitters choose.
fn json_document(value: &Json) -> Option<Document> {
    let object = value.as_object()?;
    let text_of = |keys: &[&str]| keys.iter().find_map(|key| object.get(*key).and_then(json_to_text));
    Some(Document {
        id: object.get("id").and_then(json_scalar_text),
        score: object.get("score").and_then(Json::as_f64),
        content: text_of(&["content", "text", "document"]),
        metadata: text_of(&["metadata"]),
    })
}

/// OpenLLMetry vector-DB span events: `db.query.result.*` and `db.search.result.*`.
fn event_document(event: &SpanEvent) -> Option<Document> {
    let prefix = match event.name.as_str() {
        "db.query.result" => "db.query.result.",
        "db.search.result" => "db.search.result.",
        _ => return None,
    };
    let attrs = AttrMap::new(&event.attributes);
    let field = |name: &str| format!("{prefix}{name}");
    Some(Document {
        id: attrs.text(&field("id")),
        score: attrs.float(&field("score")),
        content: attrs.json_text(&field("document")).or_else(|| attrs.json_text(&field("entity"))),
        metadata: attrs.json_text(&field("metadata")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracehound_store::model::{AttrValue, KeyValue};

    fn kv(key: &str, value: AttrValue) -> KeyValue {
        KeyValue { key: key.into(), value: Some(value) }
    }

    fn s(text: &str) -> AttrValue {
        AttrValue::Str(text.into())
    }

    #[test]
    fn openinference_documents_keep_rank_order() {
        let attrs = vec![
            kv("retrieval.documents.1.document.id", s("kb-2")),
            kv("retrieval.documents.0.document.id", s("kb-1")),
            kv("retrieval.documents.0.document.score", AttrValue::Double(0.9)),
            kv("retrieval.documents.0.document.content", s("text one")),
            kv("retrieval.documents.0.document.metadata", s(r#"{"topic":"x"}"#)),
            kv("input.value", s("where is my order")),
            kv("retrieval.top_k", AttrValue::Str("3".into())),
            kv("gen_ai.data_source.id", s("acme-kb")),
        ];
        let retrieval = retrieval_of(&AttrMap::new(&attrs), &[], true).unwrap_or_default();
        assert_eq!(
            retrieval.documents.iter().map(|d| d.id.as_deref()).collect::<Vec<_>>(),
            vec![Some("kb-1"), Some("kb-2")]
        );
        assert_eq!(retrieval.documents[0].score, Some(0.9));
        assert_eq!(retrieval.query.as_deref(), Some("where is my order"));
        assert_eq!(retrieval.top_k, Some(3));
        assert_eq!(retrieval.data_source.as_deref(), Some("acme-kb"));
    }

    #[test]
    fn otel_documents_attribute_is_read() {
        let attrs = vec![kv("gen_ai.retrieval.documents", s(r#"[{"id":"d1","score":0.5},{"id":2}]"#))];
        let retrieval = retrieval_of(&AttrMap::new(&attrs), &[], false).unwrap_or_default();
        assert_eq!(retrieval.documents.len(), 2);
        assert_eq!(retrieval.documents[1].id.as_deref(), Some("2"));
    }

    #[test]
    fn vector_db_result_events_become_documents() {
        let event = SpanEvent {
            name: "db.query.result".into(),
            time_unix_nano: 0,
            attributes: vec![kv("db.query.result.id", s("v1")), kv("db.query.result.document", s("body"))],
            dropped_attributes_count: 0,
        };
        let retrieval = retrieval_of(&AttrMap::default(), &[event], true).unwrap_or_default();
        assert_eq!(retrieval.documents[0].content.as_deref(), Some("body"));
    }

    #[test]
    fn input_value_is_not_a_query_outside_retrieval_spans() {
        let attrs = vec![kv("input.value", s("hello"))];
        assert_eq!(retrieval_of(&AttrMap::new(&attrs), &[], false), None);
    }
}
