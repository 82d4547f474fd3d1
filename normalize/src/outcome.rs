//! The result of normalizing one export request: what was kept, and what was not and why.

/// At most this many distinct rejection reasons are kept: enough to diagnose a sender,
/// bounded so a request of a million bad spans cannot grow the reply.
pub const MAX_REASONS: usize = 10;

/// Normalized items of one export request, with the rejected count and reasons.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized<T> {
    /// Items that passed validation, in request order.
    pub items: Vec<T>,
    /// Number of items rejected.
    pub rejected: u64,
    /// Distinct human-readable reasons, at most [`MAX_REASONS`].
    pub rejection_reasons: Vec<String>,
    /// Number of attribute values cut to the configured cap.
    pub truncated_values: u64,
}

impl<T> Default for Normalized<T> {
    fn default() -> Self {
        Normalized { items: Vec::new(), rejected: 0, rejection_reasons: Vec::new(), truncated_values: 0 }
    }
}

impl<T> Normalized<T> {
    /// Counts one rejected item and keeps its reason if it is new and there is room.
    pub(crate) fn reject(&mut self, reason: String) {
        self.rejected += 1;
        if self.rejection_reasons.len() < MAX_REASONS && !self.rejection_reasons.contains(&reason) {
            self.rejection_reasons.push(reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_distinct_and_bounded() {
        let mut outcome = Normalized::<()>::default();
        for index in 0..50 {
            outcome.reject(format!("reason {}", index % 20));
        }
        outcome.reject("reason 0".to_string());
        assert_eq!(outcome.rejected, 51);
        assert_eq!(outcome.rejection_reasons.len(), MAX_REASONS);
        assert_eq!(outcome.rejection_reasons[0], "reason 0");
    }
}
