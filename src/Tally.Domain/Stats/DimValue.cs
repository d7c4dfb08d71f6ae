namespace Tally.Domain.Stats;

/// <summary>One dimension label carried by an event.</summary>
public readonly record struct DimValue(string Name, string Value);
