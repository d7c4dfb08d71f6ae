namespace Tally.Domain.Stats;

/// <summary>One named number carried by an event.</summary>
public readonly record struct MeasureValue(string Name, decimal Value);
