using Tally.Domain.Stats;

namespace Tally.Domain.Events;

/// <summary>
/// An event that passed every field rule of its tenant: the one shape an event has from validation,
/// through the ingest and user grains, to the event-log writer and back from replay. Measures and
/// dimensions are held once, as values; the log's JSON columns are written from them.
/// <paramref name="PayloadJson"/> is the payload's JSON text as sent (already checked to be storable),
/// or null; replay leaves it null because stats never read it.
/// </summary>
public sealed record ValidEvent(
    string UserId,
    string Action,
    DateTimeOffset OccurredAt,
    string IdempotencyKey,
    MeasureValue[] Measures,
    DimValue[] Dims,
    string? PayloadJson)
{
    /// <summary>The value of a dimension this event carries, if any.</summary>
    public bool TryGetDim(string name, out string value)
    {
        foreach (var dim in Dims)
        {
            if (dim.Name != name) continue;
            value = dim.Value;
            return true;
        }
        value = "";
        return false;
    }

    /// <summary>Order of application inside one request: by time of occurrence, then by key (API.md, checkpoints).</summary>
    public static int CompareByOccurrence(ValidEvent a, ValidEvent b)
    {
        var byTime = a.OccurredAt.CompareTo(b.OccurredAt);
        return byTime != 0 ? byTime : string.CompareOrdinal(a.IdempotencyKey, b.IdempotencyKey);
    }
}
