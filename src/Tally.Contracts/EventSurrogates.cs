using Tally.Domain.Events;
using Tally.Domain.Stats;

namespace Tally.Contracts;

// The domain's event types stay free of Orleans attributes; these surrogates carry them in grain calls.

[GenerateSerializer]
public struct MeasureValueSurrogate
{
    [Id(0)] public string Name;
    [Id(1)] public decimal Value;
}

[RegisterConverter]
public sealed class MeasureValueConverter : IConverter<MeasureValue, MeasureValueSurrogate>
{
    public MeasureValue ConvertFromSurrogate(in MeasureValueSurrogate s) => new(s.Name, s.Value);

    public MeasureValueSurrogate ConvertToSurrogate(in MeasureValue m) => new() { Name = m.Name, Value = m.Value };
}

[GenerateSerializer]
public struct DimValueSurrogate
{
    [Id(0)] public string Name;
    [Id(1)] public string Value;
}

[RegisterConverter]
public sealed class DimValueConverter : IConverter<DimValue, DimValueSurrogate>
{
    public DimValue ConvertFromSurrogate(in DimValueSurrogate s) => new(s.Name, s.Value);

    public DimValueSurrogate ConvertToSurrogate(in DimValue d) => new() { Name = d.Name, Value = d.Value };
}

[GenerateSerializer]
public struct ValidEventSurrogate
{
    [Id(0)] public string UserId;
    [Id(1)] public string Action;
    [Id(2)] public DateTimeOffset OccurredAt;
    [Id(3)] public string IdempotencyKey;
    [Id(4)] public MeasureValue[] Measures;
    [Id(5)] public DimValue[] Dims;
    [Id(6)] public string? PayloadJson;
}

[RegisterConverter]
public sealed class ValidEventConverter : IConverter<ValidEvent, ValidEventSurrogate>
{
    public ValidEvent ConvertFromSurrogate(in ValidEventSurrogate s) =>
        new(s.UserId, s.Action, s.OccurredAt, s.IdempotencyKey, s.Measures, s.Dims, s.PayloadJson);

    public ValidEventSurrogate ConvertToSurrogate(in ValidEvent e) => new()
    {
        UserId = e.UserId, Action = e.Action, OccurredAt = e.OccurredAt, IdempotencyKey = e.IdempotencyKey,
        Measures = e.Measures, Dims = e.Dims, PayloadJson = e.PayloadJson,
    };
}
