using Tally.Domain.Stats;

namespace Tally.Domain.Events;

/// <summary>An event that passed every field rule of the tenant.</summary>
public sealed record ValidEvent(
    string UserId,
    string Action,
    DateTimeOffset OccurredAt,
    string IdempotencyKey,
    MeasureValue[] Measures,
    KeyValuePair<string, string>[] Dims,
    string? PayloadJson);
