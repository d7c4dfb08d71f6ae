using Tally.Domain.Events;

namespace Tally.Contracts;

/// <summary>Entry point for a batch: fans out inside the silo to one call per user grain.</summary>
public interface IIngestGrain : IGrainWithIntegerKey
{
    /// <summary>Statuses come back in the order of <paramref name="events"/>.</summary>
    Task<RecordResult> Ingest(string tenantId, long configVersion, ValidEvent[] events);
}
