using Tally.Domain.Stats;

namespace Tally.Domain.Boards;

/// <summary>
/// A shard's rebuild: every user's cells gathered per board, then each board filled at once (a sort and a linear
/// build instead of a tree insert per cell: a million cells for 27,000 users of a busy tenant). Boards the tenant no
/// longer keeps, or closed past their grace on <paramref name="today"/>, are left out, as a live update would leave
/// them out (<see cref="Open"/>).
/// </summary>
public sealed class ShardLoad(BoardPlan plan, BoardGrace grace, DateOnly today)
{
    private readonly Dictionary<BoardKey, List<(int Member, BoardCell Cell)>> _byBoard = new();

    /// <summary>Cells gathered so far.</summary>
    public int Cells { get; private set; }

    /// <summary>Gathers the cells of one user's state under its member number.</summary>
    public void Add(int member, UserStats stats)
    {
        foreach (var (key, cell) in stats.Cells) Add(member, key, cell);
    }

    /// <summary>Gathers one user's cells (as <see cref="SavedCells"/> reads them) under its member number.</summary>
    public void Add(int member, List<(BoardKey Key, BoardCell Cell)> cells)
    {
        foreach (var (key, cell) in cells) Add(member, key, cell);
    }

    private void Add(int member, in BoardKey key, in BoardCell cell)
    {
        if (!_byBoard.TryGetValue(key, out var list))
        {
            if (!Opens(plan, grace, today, key)) return;
            _byBoard[key] = list = new List<(int, BoardCell)>();
        }
        list.Add((member, cell));
        Cells++;
    }

    /// <summary>The filled boards, members tying on score and reached ordered by <paramref name="tieBreak"/>.</summary>
    public IEnumerable<ShardBoard> Boards(Comparison<int> tieBreak)
    {
        foreach (var (key, cells) in _byBoard)
        {
            var board = Open(plan, key, tieBreak);
            board.Load(cells);
            yield return board;
        }
    }

    /// <summary>Whether a cell for <paramref name="key"/> may open a board: the tenant keeps it and it is not past its grace.</summary>
    public static bool Opens(BoardPlan plan, BoardGrace grace, DateOnly today, in BoardKey key) =>
        !grace.IsEvicted(key, today) && plan.Keeps(key);

    /// <summary>An empty board for <paramref name="key"/>: ranked when it is a leaderboard, counting levels when it holds a goal's cells.</summary>
    public static ShardBoard Open(BoardPlan plan, in BoardKey key, Comparison<int> tieBreak) =>
        new(key, plan.IsBoard(key), plan.IsGoal(key), tieBreak);
}
