using Tally.Domain.Boards;

namespace Tally.Grains.Boards;

/// <summary>
/// One board or rollup inside a shard: each member's cell, the running sum and action count (exact:
/// decimal sums change by the difference between a member's new and old absolute values), and for
/// leaderboards the rank index, whose slot each member keeps next to its cell.
/// </summary>
internal sealed class ShardBoard(BoardKey key, bool ranked)
{
    public BoardKey Key { get; } = key;
    public Dictionary<int, Member> Members { get; } = new();
    public RankIndex? Ranks { get; } = ranked ? new RankIndex() : null;
    public decimal Total { get; private set; }
    public long Actions { get; private set; }

    /// <summary>How many times the board changed in this activation of its shard.</summary>
    public long Version { get; private set; }

    /// <summary>Whether the board changed since the snapshot run last took it (true when new).</summary>
    public bool Changed { get; set; } = true;

    internal readonly record struct Member(BoardCell Cell, int Slot);

    /// <summary>Takes the cell if it is newer than the member's; returns whether anything changed.</summary>
    public bool Apply(int member, BoardCell cell)
    {
        if (Members.TryGetValue(member, out var old))
        {
            if (old.Cell.Version >= cell.Version) return false;
            Total += cell.Score - old.Cell.Score;
            Actions += cell.Actions - old.Cell.Actions;
            Ranks?.Move(old.Slot, cell.Score, cell.Reached);
            Members[member] = old with { Cell = cell };
            Changed = true;
            Version++;
            return true;
        }
        Total += cell.Score;
        Actions += cell.Actions;
        Members[member] = new Member(cell, Ranks?.Add(member, cell.Score, cell.Reached) ?? -1);
        Changed = true;
        Version++;
        return true;
    }
}
