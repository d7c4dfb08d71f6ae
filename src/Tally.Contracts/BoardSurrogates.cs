using Tally.Domain.Boards;

namespace Tally.Contracts;

// Domain types stay free of Orleans attributes; these surrogates let grain calls carry them.

[GenerateSerializer]
public struct BoardKeySurrogate
{
    [Id(0)] public string Measure;
    [Id(1)] public string Dimension;
    [Id(2)] public string Value;
    [Id(3)] public PeriodKind Period;
    [Id(4)] public int PeriodKey;
}

[RegisterConverter]
public sealed class BoardKeyConverter : IConverter<BoardKey, BoardKeySurrogate>
{
    public BoardKey ConvertFromSurrogate(in BoardKeySurrogate s) => new(s.Measure, s.Dimension, s.Value, s.Period, s.PeriodKey);

    public BoardKeySurrogate ConvertToSurrogate(in BoardKey k) =>
        new() { Measure = k.Measure, Dimension = k.Dimension, Value = k.Value, Period = k.Period, PeriodKey = k.PeriodKey };
}

[GenerateSerializer]
public struct BoardCellSurrogate
{
    [Id(0)] public decimal Score;
    [Id(1)] public long Actions;
    [Id(2)] public long Reached;
    [Id(3)] public long Version;
}

[RegisterConverter]
public sealed class BoardCellConverter : IConverter<BoardCell, BoardCellSurrogate>
{
    public BoardCell ConvertFromSurrogate(in BoardCellSurrogate s) => new(s.Score, s.Actions, s.Reached, s.Version);

    public BoardCellSurrogate ConvertToSurrogate(in BoardCell c) =>
        new() { Score = c.Score, Actions = c.Actions, Reached = c.Reached, Version = c.Version };
}
