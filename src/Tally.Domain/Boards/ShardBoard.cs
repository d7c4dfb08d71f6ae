using System.Runtime.InteropServices;

namespace Tally.Domain.Boards;

/// <summary>
/// One board or rollup inside a shard: each member's cell, the running sum and action count (exact:
/// decimal sums change by the difference between a member's new and old absolute values), and for
/// leaderboards the rank index, whose slot each member keeps next to its cell.
/// </summary>
/// <param name="tieBreak">How two members tying on score and reached order: by their user ids (see <see cref="RankIndex"/>).</param>
public sealed class ShardBoard(BoardKey key, bool ranked, bool countsLevels = false, Comparison<int>? tieBreak = null)
{
    public BoardKey Key { get; } = key;
    public Dictionary<int, Member> Members { get; } = new();
    public RankIndex? Ranks { get; } = ranked ? new RankIndex(tieBreak: tieBreak) : null;

    /// <summary>For a goal's cells (a member's score is its level in the goal's instance): members per level, index = level.</summary>
    public long[]? Levels { get; } = countsLevels ? new long[Goals.GoalLevels.Max + 1] : null;
    public decimal Total { get; private set; }
    public long Actions { get; private set; }

    /// <summary>The board key's text form (<see cref="BoardKey.ToString"/>), made once on first use: version marks name the board by it.</summary>
    public string KeyText => _keyText ??= Key.ToString();
    private string? _keyText;

    /// <summary>How many times the board changed in this activation of its shard.</summary>
    public long Version { get; private set; }

    /// <summary>The <see cref="Version"/> the snapshot run last took; the board changed since if they differ.</summary>
    public long SnapshotVersion { get; set; }

    public readonly record struct Member(BoardCell Cell, int Slot);

    /// <summary>Fills an empty board with many members at once (a shard's rebuild); falls back to <see cref="Apply"/> otherwise.</summary>
    public void Load(List<(int Member, BoardCell Cell)> cells)
    {
        if (Members.Count > 0)
        {
            foreach (var (member, cell) in cells) Apply(member, cell);
            return;
        }
        Members.EnsureCapacity(cells.Count);
        var slots = new int[cells.Count];
        if (Ranks is not null)
        {
            var entries = new RankEntry[cells.Count];
            for (var i = 0; i < cells.Count; i++) entries[i] = new RankEntry(cells[i].Member, cells[i].Cell.Score, cells[i].Cell.Reached);
            Ranks.AddMany(entries, slots);
        }
        else Array.Fill(slots, -1);
        for (var i = 0; i < cells.Count; i++)
        {
            var (member, cell) = cells[i];
            Total += cell.Score;
            Actions += cell.Actions;
            CountLevel(cell, +1);
            Members.Add(member, new Member(cell, slots[i]));
        }
        Version++;
    }

    /// <summary>Takes a member out of the board (a removed user); returns whether it was a member.</summary>
    public bool Remove(int member)
    {
        if (!Members.Remove(member, out var old)) return false;
        Total -= old.Cell.Score;
        Actions -= old.Cell.Actions;
        CountLevel(old.Cell, -1);
        if (old.Slot >= 0) Ranks?.Remove(old.Slot);
        Version++;
        return true;
    }

    /// <summary>Takes the cell if it is newer than the member's; returns whether anything changed.</summary>
    public bool Apply(int member, BoardCell cell)
    {
        // One hash lookup for both cases: this runs for every cell of every published update.
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(Members, member, out var exists);
        if (exists)
        {
            if (slot.Cell.Version >= cell.Version) return false;
            Total += cell.Score - slot.Cell.Score;
            Actions += cell.Actions - slot.Cell.Actions;
            if (Levels is not null)
            {
                CountLevel(slot.Cell, -1);
                CountLevel(cell, +1);
            }
            Ranks?.Move(slot.Slot, cell.Score, cell.Reached);
            slot = slot with { Cell = cell };
            Version++;
            return true;
        }
        Total += cell.Score;
        Actions += cell.Actions;
        CountLevel(cell, +1);
        slot = new Member(cell, Ranks?.Add(member, cell.Score, cell.Reached) ?? -1);
        Version++;
        return true;
    }

    private void CountLevel(BoardCell cell, int change)
    {
        if (Levels is not null) Levels[Goals.GoalLevels.Clamp(cell.Score)] += change;
    }
}
