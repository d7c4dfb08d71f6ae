namespace Tally.Contracts;

/// <summary>A page of a user's goal completions (API.md <c>/goals</c>), ordered by completed_at, then goal, then level.</summary>
[GenerateSerializer, Immutable]
public sealed record GoalPage([property: Id(0)] long Total, [property: Id(1)] GoalEntrySnapshot[] Entries);

/// <summary>One recorded completion; <see cref="CompletedAt"/> in UTC (the API shows the tenant's offset).</summary>
[GenerateSerializer, Immutable]
public sealed record GoalEntrySnapshot(
    [property: Id(0)] string Goal,
    [property: Id(1)] int Level,
    [property: Id(2)] decimal Target,
    [property: Id(3)] string WindowKey,
    [property: Id(4)] DateTimeOffset CompletedAt,
    [property: Id(5)] decimal Value);

/// <summary>A goal's instance for the current window, as stats show it.</summary>
[GenerateSerializer, Immutable]
public sealed record GoalSnapshot(
    [property: Id(0)] string Goal,
    [property: Id(1)] string? WindowKey,
    [property: Id(2)] decimal? Progress,
    [property: Id(3)] int Level,
    [property: Id(4)] decimal? NextTarget);
