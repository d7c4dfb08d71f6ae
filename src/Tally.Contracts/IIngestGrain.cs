using Tally.Domain.Events;

namespace Tally.Contracts;

/// <summary>Entry point for a batch: fans out inside the silo to one call per user grain. Its grain is a stateless worker:
/// the key means nothing, and the API cycles through a few keys so that its calls spread over the gateways (a client
/// sends every call to one grain id through one gateway), so a gateway that stops answering (a paused silo) holds back
/// only the calls sent through it.</summary>
public interface IIngestGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Statuses come back in the order of <paramref name="events"/>. The answer comes by <paramref name="deadlineUnixMs"/>
    /// (wall clock, Unix milliseconds; 0 = <see cref="IngestDeadline.DefaultBudgetMs"/> from now): events of users whose grain has
    /// not answered by then come back <see cref="EventStatus.Retry"/>. A call that arrives with too little time left is
    /// refused whole (<see cref="RecordFailure.Overloaded"/>), before anything is written.
    /// </summary>
    Task<RecordResult> Ingest(string tenantId, long configVersion, ValidEvent[] events, long deadlineUnixMs);
}

public static class IngestDeadline
{
    /// <summary>The budget of a call that names no deadline (tests, tools).</summary>
    public const int DefaultBudgetMs = 10_000;

    /// <summary>A call without a deadline of its own gets <see cref="DefaultBudgetMs"/>.</summary>
    public static Task<RecordResult> Ingest(this IIngestGrain grain, string tenantId, long configVersion, ValidEvent[] events) =>
        grain.Ingest(tenantId, configVersion, events, 0);
}
