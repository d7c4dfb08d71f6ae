namespace Tally.Domain.Stats;

/// <summary>The facts of a durable event that user stats are built from.</summary>
public sealed record AppliedEvent(long EventId, DateOnly LocalDay, IReadOnlyList<MeasureValue> Measures, IReadOnlyList<DimValue> Dims)
{
    public AppliedEvent(long eventId, DateOnly localDay, IReadOnlyList<MeasureValue> measures) : this(eventId, localDay, measures, []) { }
}

/// <summary>One dimension label carried by an event.</summary>
public readonly record struct DimValue(string Name, string Value);
