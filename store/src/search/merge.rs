//! Which index segments tantivy merges: its log merge policy, with merges bounded in bytes.
//!
//! The indexer commits every second, so a loaded server makes one small segment per
//! indexing thread per second, and merging is most of what indexing costs after the
//! postings themselves. tantivy's default policy has two habits that cost us:
//!
//! - Every segment under 10,000 documents belongs to one bottom layer, so a merged segment
//!   of a few thousand requests is merged again with the next seven small ones, and again,
//!   until it outgrows the layer: each request is rewritten several times before its
//!   segment leaves the bottom. A bottom layer of [`MIN_LAYER_DOCS`] keeps merges between
//!   segments of like size, so each merge multiplies a segment's size by about eight.
//! - A merge reads every input segment whole through `mmap`, and nothing bounds how many
//!   documents one merge takes: late in a large index one merge can take gigabytes, all of
//!   it resident in the server while it runs. Here no merge reads more than
//!   [`MAX_MERGE_BYTES`], and a segment of half that size is final.
//!
//! Sizes are the bytes of a segment's files, scaled by the share of its documents still
//! alive, so a large segment that updates have mostly replaced merges again and gives its
//! space back. Such a segment is still read whole, so with many updates a merge can read
//! more than the cap; requests are mostly written once, so the bound holds in practice.

use std::collections::HashMap;
use std::path::PathBuf;

use tantivy::index::{SegmentComponent, SegmentId, SegmentMeta};
use tantivy::indexer::{LogMergePolicy, MergeCandidate, MergePolicy};

/// Most live bytes of segment files one merge reads (and so maps into memory).
pub const MAX_MERGE_BYTES: u64 = 256 * 1024 * 1024;
/// Segments under this many documents all count as one size class.
const MIN_LAYER_DOCS: u32 = 1_000;
/// The files a merge reads; deletes and temporary stores are small or transient.
const DATA_COMPONENTS: [SegmentComponent; 6] = [
    SegmentComponent::Postings,
    SegmentComponent::Positions,
    SegmentComponent::Terms,
    SegmentComponent::FastFields,
    SegmentComponent::FieldNorms,
    SegmentComponent::Store,
];

/// tantivy's [`LogMergePolicy`] over the segments small enough to merge, each of its
/// merges split so that none reads more than [`MAX_MERGE_BYTES`].
#[derive(Debug)]
pub struct BoundedMergePolicy {
    dir: PathBuf,
    levels: LogMergePolicy,
    max_merge_bytes: u64,
}

impl BoundedMergePolicy {
    /// The policy for the index whose files are in `dir`.
    pub fn new(dir: PathBuf) -> BoundedMergePolicy {
        let mut levels = LogMergePolicy::default();
        levels.set_min_layer_size(MIN_LAYER_DOCS);
        BoundedMergePolicy { dir, levels, max_merge_bytes: MAX_MERGE_BYTES }
    }

    /// Bytes of the segment's live documents: its files' size times the share alive. A
    /// file that cannot be read (not yet written, or just deleted) counts as empty.
    fn live_bytes(&self, segment: &SegmentMeta) -> u64 {
        let bytes: u64 = DATA_COMPONENTS
            .iter()
            .filter_map(|component| std::fs::metadata(self.dir.join(segment.relative_path(component.clone()))).ok())
            .map(|metadata| metadata.len())
            .sum();
        match segment.max_doc() {
            0 => 0,
            max_doc => bytes.saturating_mul(u64::from(segment.num_docs())) / u64::from(max_doc),
        }
    }
}

impl MergePolicy for BoundedMergePolicy {
    fn compute_merge_candidates(&self, segments: &[SegmentMeta]) -> Vec<MergeCandidate> {
        let sizes: HashMap<SegmentId, u64> = segments.iter().map(|s| (s.id(), self.live_bytes(s))).collect();
        let size = |id: &SegmentId| sizes.get(id).copied().unwrap_or(0);
        let mergeable: Vec<SegmentMeta> =
            segments.iter().filter(|s| mergeable(size(&s.id()), self.max_merge_bytes)).cloned().collect();
        self.levels
            .compute_merge_candidates(&mergeable)
            .into_iter()
            .flat_map(|candidate| {
                let sized = candidate.0.into_iter().map(|id| (id, size(&id))).collect();
                bounded_groups(sized, self.max_merge_bytes)
            })
            .map(MergeCandidate)
            .collect()
    }
}

/// Whether a segment of `bytes` may still be merged: under half the cap, so that any two
/// such segments fit in one merge.
fn mergeable(bytes: u64, max_merge_bytes: u64) -> bool {
    bytes < max_merge_bytes / 2
}

/// Splits one merge of `(segment, bytes)` into merges of at most `max_bytes` each, smallest
/// segments first; a segment left alone waits for the next round.
fn bounded_groups<Id>(mut segments: Vec<(Id, u64)>, max_bytes: u64) -> Vec<Vec<Id>> {
    segments.sort_by_key(|(_, bytes)| *bytes);
    let mut groups = Vec::new();
    let mut group = Vec::new();
    let mut group_bytes = 0u64;
    for (id, bytes) in segments {
        if group.len() >= 2 && group_bytes.saturating_add(bytes) > max_bytes {
            groups.push(std::mem::take(&mut group));
            group_bytes = 0;
        }
        group.push(id);
        group_bytes = group_bytes.saturating_add(bytes);
    }
    if group.len() >= 2 {
        groups.push(group);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1024 * 1024;

    fn total(groups: &[Vec<u32>], sizes: &[(u32, u64)]) -> Vec<u64> {
        groups
            .iter()
            .map(|g| g.iter().map(|id| sizes.iter().find(|(i, _)| i == id).map_or(0, |(_, b)| *b)).sum())
            .collect()
    }

    #[test]
    fn a_merge_under_the_cap_is_kept_whole() {
        let segments: Vec<(u32, u64)> = (0..8).map(|i| (i, 10 * MB)).collect();
        assert_eq!(bounded_groups(segments, 256 * MB).len(), 1);
    }

    #[test]
    fn a_merge_over_the_cap_is_split_into_merges_under_it() {
        let segments: Vec<(u32, u64)> = (0..8).map(|i| (i, 100 * MB)).collect();
        let groups = bounded_groups(segments.clone(), 256 * MB);
        assert_eq!(groups.len(), 4);
        assert!(total(&groups, &segments).iter().all(|b| *b <= 256 * MB));
        let mut merged: Vec<u32> = groups.concat();
        merged.sort_unstable();
        assert_eq!(merged, (0..8).collect::<Vec<_>>(), "every segment is in exactly one merge");
    }

    #[test]
    fn a_segment_left_alone_waits_for_the_next_round() {
        let segments = vec![(1u32, 100 * MB), (2, 100 * MB), (3, 100 * MB)];
        assert_eq!(bounded_groups(segments, 256 * MB), vec![vec![1, 2]]);
    }

    #[test]
    fn small_segments_are_merged_first() {
        let segments = vec![(1u32, 120 * MB), (2, 10 * MB), (3, 127 * MB), (4, 20 * MB)];
        assert_eq!(bounded_groups(segments, 256 * MB), vec![vec![2, 4, 1]]);
    }

    /// An index in `dir` of `segments` committed segments of `docs` documents, each of 200
    /// words no other document holds, never merged.
    fn index_of_segments(dir: &std::path::Path, segments: usize, docs: usize) -> tantivy::Index {
        use tantivy::schema::{Schema, TEXT};
        let mut schema = Schema::builder();
        let body = schema.add_text_field("body", TEXT);
        let index = tantivy::Index::create_in_dir(dir, schema.build()).unwrap();
        let mut writer: tantivy::IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        writer.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
        for s in 0..segments {
            for d in 0..docs {
                let text: String = (0..200).map(|w| format!("w{s}x{d}x{w} ")).collect();
                writer.add_document(tantivy::doc!(body => text)).unwrap();
            }
            writer.commit().unwrap();
        }
        index
    }

    #[test]
    fn segment_sizes_are_read_from_the_index_files() {
        let dir = tempfile::tempdir().unwrap();
        let index = index_of_segments(dir.path(), 1, 50);
        let segment = index.searchable_segment_metas().unwrap().remove(0);
        let policy = BoundedMergePolicy::new(dir.path().to_path_buf());
        // Postings, positions and terms of 10,000 distinct words: far more than nothing.
        assert!(policy.live_bytes(&segment) > 10_000, "{}", policy.live_bytes(&segment));
    }

    #[test]
    fn the_policy_proposes_merges_of_real_segments_within_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let index = index_of_segments(dir.path(), 8, 20);
        let segments = index.searchable_segment_metas().unwrap();
        let mut policy = BoundedMergePolicy::new(dir.path().to_path_buf());
        let one = policy.live_bytes(&segments[0]);
        // Room for about three segments per merge, and each segment well under half of it.
        policy.max_merge_bytes = one * 7 / 2;
        let candidates = policy.compute_merge_candidates(&segments);
        assert!(!candidates.is_empty(), "eight like segments are worth merging");
        for candidate in candidates {
            let bytes: u64 = candidate
                .0
                .iter()
                .map(|id| segments.iter().find(|s| s.id() == *id).map_or(0, |s| policy.live_bytes(s)))
                .sum();
            assert!(
                candidate.0.len() >= 2 && bytes <= policy.max_merge_bytes,
                "{} segments, {bytes} bytes",
                candidate.0.len()
            );
        }
    }

    #[test]
    fn a_segment_of_half_the_cap_is_final() {
        assert!(mergeable(128 * MB - 1, 256 * MB));
        assert!(!mergeable(128 * MB, 256 * MB));
    }
}
