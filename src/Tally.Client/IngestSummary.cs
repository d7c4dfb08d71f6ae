namespace Tally.Client;

/// <summary>What happened to each event sent: <c>accepted</c> (durable), <c>duplicate</c> (its key was seen before),
/// <c>rejected</c> (with the error naming the field) or <c>retry</c> (still unknown after every attempt: send it again,
/// with the same key, later).</summary>
public sealed record EventResult(string Id, string Status, TallyError? Error = null);

/// <summary>The outcome of sending events, in the order they were given.</summary>
public sealed record IngestSummary(int Accepted, int Duplicates, int Rejected, int Retry, IReadOnlyList<EventResult> Results)
{
    /// <summary>Requests the client sent: one per batch, and one more each time a batch (or its events answered
    /// <c>retry</c>) was sent again. A transport retry of the same request (<see cref="TallyClientOptions.TransportRetries"/>)
    /// is not counted.</summary>
    public int Requests { get; init; }

    /// <summary>Requests answered 429 or 503 (the cluster asked the client to back off).</summary>
    public int Refused { get; init; }
}
