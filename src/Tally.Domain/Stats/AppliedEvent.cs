namespace Tally.Domain.Stats;

/// <summary>The facts of a durable event that user stats are built from.</summary>
public sealed record AppliedEvent(long EventId, DateOnly LocalDay, IReadOnlyList<MeasureValue> Measures);
