namespace Tally.Contracts;

/// <summary>A validated event on its way to its user's grain. JSON fields are pre-serialized.</summary>
[GenerateSerializer, Immutable]
public sealed record IngestEvent(
    [property: Id(0)] string UserId,
    [property: Id(1)] string Action,
    [property: Id(2)] DateTimeOffset OccurredAt,
    [property: Id(3)] string IdempotencyKey,
    [property: Id(4)] string[] MeasureNames,
    [property: Id(5)] decimal[] MeasureValues,
    [property: Id(6)] string MeasuresJson,
    [property: Id(7)] string? DimsJson,
    [property: Id(8)] string? PayloadJson,
    [property: Id(9)] string[] DimNames,
    [property: Id(10)] string[] DimValues);
