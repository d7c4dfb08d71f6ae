using Tally.Domain.Boards;

namespace Tally.Grains.Boards;

/// <summary>
/// One board or rollup inside a shard: each member's cell, the running sum and action count (exact:
/// decimal sums change by the difference between a member's new and old absolute values), and for
/// leaderboards the rank index.
/// </summary>
internal sealed class ShardBoard(BoardKey key, bool ranked)
{
    public BoardKey Key { get; } = key;
    public Dictionary<int, BoardCell> Cells { get; } = new();
    public RankIndex? Ranks { get; } = ranked ? new RankIndex() : null;
    public decimal Total { get; private set; }
    public long Actions { get; private set; }

    /// <summary>Takes the cell if it is newer than the member's; returns whether anything changed.</summary>
    public bool Apply(int member, BoardCell cell)
    {
        if (Cells.TryGetValue(member, out var old))
        {
            if (old.Version >= cell.Version) return false;
            Total += cell.Score - old.Score;
            Actions += cell.Actions - old.Actions;
        }
        else
        {
            Total += cell.Score;
            Actions += cell.Actions;
        }
        Cells[member] = cell;
        Ranks?.Set(member, cell.Score, cell.Reached);
        return true;
    }
}
