namespace Tally.Contracts;

public enum EventStatus : byte
{
    Accepted = 1,
    Duplicate = 2,
    /// <summary>Refused before the commit (e.g. a sum would leave its bounds); see <see cref="RecordResult.Errors"/>.</summary>
    Rejected = 3,
    /// <summary>Not known to be written: the user's grain did not answer within the request's deadline, or refused the
    /// call unwritten (overloaded, not durable). Sending it again with the same key applies it exactly once.</summary>
    Retry = 4,
}

/// <summary>Why a call acknowledged nothing. Each kind tells the client what it may assume.</summary>
public enum RecordFailure : byte
{
    None = 0,
    /// <summary>The log did not commit: nothing of the call was written. Retry with the same keys.</summary>
    NotDurable = 1,
    /// <summary>Refused before anything was written (the writer's queue was full, or the call waited past its deadline).
    /// Retry after a pause.</summary>
    Overloaded = 2,
    /// <summary>Some events may have been written (a partial failure, or no answer in time). Retrying with the same keys is safe: written ones answer duplicate.</summary>
    OutcomeUnknown = 3,
    /// <summary>The user's grain was replaced by a newer activation and wrote nothing; the ingest grain retries on the live one.</summary>
    Superseded = 4,
}

/// <summary>Why one event was refused or must be retried; <see cref="Field"/> is relative to the event (<c>measures.sales</c>),
/// or empty for the whole event.</summary>
[GenerateSerializer, Immutable]
public sealed record EventRejection([property: Id(0)] string Code, [property: Id(1)] string Message, [property: Id(2)] string Field);

/// <summary>
/// Outcome of recording events: a status per event in call order when <see cref="Failure"/> is
/// <see cref="RecordFailure.None"/>, with the error of each rejected or retry event in <see cref="Errors"/>; otherwise
/// nothing was acknowledged and <see cref="Statuses"/> is empty.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record RecordResult(
    [property: Id(0)] RecordFailure Failure,
    [property: Id(1)] EventStatus[] Statuses,
    [property: Id(2)] EventRejection?[]? Errors,
    [property: Id(3)] string? Error)
{
    /// <summary>Every event of the call has its outcome: accepted, duplicate or rejected (none is <see cref="EventStatus.Retry"/>).</summary>
    public bool Durable => Failure == RecordFailure.None && Array.IndexOf(Statuses, EventStatus.Retry) < 0;

    public static RecordResult Failed(RecordFailure failure, string error) => new(failure, [], null, error);
}
