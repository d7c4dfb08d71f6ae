namespace Tally.Domain.Boards;

/// <summary>
/// A user's standing on one board or rollup: the sum of the measure, the events counted, the id of
/// the event that first gave the current score (ties rank by it) and the id of the last event that
/// touched the cell (the version: a board keeps a cell only if the version is newer).
/// </summary>
public readonly record struct BoardCell(decimal Score, long Actions, long Reached, long Version)
{
    public BoardCell Add(decimal value, long eventId) =>
        new(Score + value, Actions + 1, Actions == 0 || value != 0 ? eventId : Reached, eventId);
}
