namespace Tally.Contracts;

/// <summary>A page of a user's tier history.</summary>
[GenerateSerializer, Immutable]
public sealed record TierPage([property: Id(0)] int Total, [property: Id(1)] TierEntrySnapshot[] Entries);

/// <summary>One history entry (API.md <c>/tiers</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record TierEntrySnapshot(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] string Reason,
    [property: Id(2)] string? From,
    [property: Id(3)] string To,
    [property: Id(4)] DateTimeOffset WindowStart,
    [property: Id(5)] DateTimeOffset WindowEnd,
    [property: Id(6)] Dictionary<string, decimal> Window);
