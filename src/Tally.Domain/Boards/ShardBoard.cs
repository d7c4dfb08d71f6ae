using System.Runtime.InteropServices;

namespace Tally.Domain.Boards;

/// <summary>
/// One board or rollup inside a shard: each member's cell, the running sum and action count (exact: decimal sums change
/// by the difference between a member's new and old absolute values), and for leaderboards the rank index. A member's
/// cell lives in one place: a leaderboard's in its rank index node, a rollup's in a plain array; the board maps member
/// numbers to those slots (<see cref="SlotMap"/>). About 58 bytes a leaderboard cell and 50 a rollup cell.
/// </summary>
/// <param name="tieBreak">How two members tying on score and reached order: by their user ids (see <see cref="RankIndex"/>).</param>
public sealed class ShardBoard(BoardKey key, bool ranked, bool countsLevels = false, Comparison<int>? tieBreak = null)
{
    private readonly SlotMap _slots = new();
    // A rollup's cells by slot, in chunks (a leaderboard's are in its rank index), and the slots of removed members to reuse.
    private ChunkedArray<BoardCell> _cells = new(0);
    private int _cellsUsed;
    private Stack<int>? _freeCells;

    public BoardKey Key { get; } = key;

    public RankIndex? Ranks { get; } = ranked ? new RankIndex(tieBreak: tieBreak) : null;

    /// <summary>Members on the board.</summary>
    public int Count => _slots.Count;

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

    public bool Contains(int member) => _slots.ContainsKey(member);

    /// <summary>The member's current cell, if the member is on the board.</summary>
    public bool TryGetCell(int member, out BoardCell cell)
    {
        if (!_slots.TryGetValue(member, out var slot))
        {
            cell = default;
            return false;
        }
        cell = CellAt(slot);
        return true;
    }

    /// <summary>Fills an empty board with many members at once (a shard's rebuild); falls back to <see cref="Apply"/> otherwise.</summary>
    public void Load(List<(int Member, BoardCell Cell)> cells)
    {
        if (Count > 0)
        {
            foreach (var (member, cell) in cells) Apply(member, cell);
            return;
        }
        _slots.EnsureCapacity(cells.Count);
        var slots = new int[cells.Count];
        if (Ranks is not null) Ranks.AddMany(CollectionsMarshal.AsSpan(cells), slots);
        else
        {
            _freeCells?.Clear();
            _cells.EnsureCapacity(cells.Count);
            for (var i = 0; i < cells.Count; i++) _cells[i] = cells[i].Cell;
            for (var i = 0; i < cells.Count; i++) slots[i] = i;
            _cellsUsed = cells.Count;
        }
        for (var i = 0; i < cells.Count; i++)
        {
            var (member, cell) = cells[i];
            Total += cell.Score;
            Actions += cell.Actions;
            CountLevel(cell, +1);
            _slots.GetValueRefOrAddDefault(member, out _) = slots[i];
        }
        Version++;
    }

    /// <summary>Takes a member out of the board (a removed user); returns whether it was a member.</summary>
    public bool Remove(int member)
    {
        if (!_slots.Remove(member, out var slot)) return false;
        var old = CellAt(slot);
        Total -= old.Score;
        Actions -= old.Actions;
        CountLevel(old, -1);
        if (Ranks is not null) Ranks.Remove(slot);
        else
        {
            _cells[slot] = default;
            (_freeCells ??= new Stack<int>()).Push(slot);
        }
        Version++;
        return true;
    }

    /// <summary>Takes the cell if it is newer than the member's; returns whether anything changed.</summary>
    public bool Apply(int member, BoardCell cell)
    {
        // One probe for both cases: this runs for every cell of every published update.
        ref var slot = ref _slots.GetValueRefOrAddDefault(member, out var exists);
        if (!exists)
        {
            slot = Ranks?.Add(member, in cell) ?? AddCell(cell);
            Total += cell.Score;
            Actions += cell.Actions;
            CountLevel(cell, +1);
            Version++;
            return true;
        }
        BoardCell old;
        if (Ranks is not null)
        {
            if (Ranks.VersionOf(slot) >= cell.Version) return false;
            old = Ranks.Move(slot, in cell);
        }
        else
        {
            old = _cells[slot];
            if (old.Version >= cell.Version) return false;
            _cells[slot] = cell;
        }
        Total += cell.Score - old.Score;
        Actions += cell.Actions - old.Actions;
        if (Levels is not null)
        {
            CountLevel(old, -1);
            CountLevel(cell, +1);
        }
        Version++;
        return true;
    }

    private BoardCell CellAt(int slot) => Ranks?.CellOf(slot) ?? _cells[slot];

    private int AddCell(in BoardCell cell)
    {
        if (_freeCells is { Count: > 0 } free)
        {
            var reused = free.Pop();
            _cells[reused] = cell;
            return reused;
        }
        _cells.EnsureCapacity(_cellsUsed + 1);
        _cells[_cellsUsed] = cell;
        return _cellsUsed++;
    }

    private void CountLevel(BoardCell cell, int change)
    {
        if (Levels is not null) Levels[Goals.GoalLevels.Clamp(cell.Score)] += change;
    }
}
