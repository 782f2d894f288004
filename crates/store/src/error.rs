//! What a store call can fail with.

/// Why a transaction was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    ConditionFailed,
    /// `Add` would have gone over its `max`.
    OverLimit,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    #[error("condition failed")]
    ConditionFailed,
    /// The whole transaction was rolled back because of action `index`.
    #[error("transaction cancelled by action {index}: {reason:?}")]
    TransactionCanceled { index: usize, reason: CancelReason },
    /// A request the backend refuses as malformed (too many actions, a key twice, an item
    /// over 400 KB, a bad cursor). A bug, or a caller to answer with a 4xx.
    #[error("invalid store request: {0}")]
    Invalid(String),
    /// A stored item does not read back as expected.
    #[error("corrupt item: {0}")]
    Corrupt(String),
    /// The backend failed (I/O, network, throttling after retries).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A transaction met another one in flight on the same item (DynamoDB's
    /// `TransactionConflict`): nothing was written; trying again shortly may succeed.
    #[error("transaction conflict")]
    Conflict,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
