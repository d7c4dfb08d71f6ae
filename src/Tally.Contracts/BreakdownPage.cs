namespace Tally.Contracts;

/// <summary>A page of a user's breakdown by one dimension in one period instance, and how many values it lists in all.</summary>
[GenerateSerializer, Immutable]
public sealed record BreakdownPage([property: Id(0)] int Total, [property: Id(1)] BreakdownEntry[] Entries);

/// <summary>One value (API.md <c>/breakdown</c>): each declared measure's sum, the events, the ratios shown.</summary>
[GenerateSerializer, Immutable]
public sealed record BreakdownEntry(
    [property: Id(0)] string Value,
    [property: Id(1)] Dictionary<string, decimal> Measures,
    [property: Id(2)] long Actions,
    [property: Id(3)] Dictionary<string, decimal> Ratios);

/// <summary>What a breakdown read asks for: the dimension, the period instance, the order and the page.</summary>
[GenerateSerializer, Immutable]
public sealed record BreakdownRequest(
    [property: Id(0)] string Dimension,
    [property: Id(1)] Tally.Domain.Boards.PeriodKind Period,
    [property: Id(2)] int PeriodKey,
    [property: Id(3)] Tally.Domain.Stats.BreakdownSort Sort,
    [property: Id(4)] string SortName,
    [property: Id(5)] bool Descending,
    [property: Id(6)] decimal MinDenominator,
    [property: Id(7)] int Offset,
    [property: Id(8)] int Limit);
