using Tally.Domain.Config;
using Tally.Domain.Goals;

namespace Tally.Domain.Boards;

/// <summary>
/// Which cells a tenant's config asks for: leaderboards (ranked) for their measures × scopes ×
/// periods, rollups (sums only) for every declared measure × the rollup scopes × periods. A user
/// keeps the union; board shards rank only the leaderboard cells.
/// </summary>
public sealed class BoardPlan
{
    private readonly HashSet<string> _boardMeasures;
    private readonly HashSet<string> _boardScopes;
    private readonly HashSet<PeriodKind> _boardPeriods;
    private readonly HashSet<string> _rollupScopes;
    private readonly HashSet<PeriodKind> _rollupPeriods;

    public BoardPlan(TenantConfig config)
    {
        var boards = config.Leaderboards;
        var rollups = config.Rollups;
        _boardMeasures = new HashSet<string>(boards?.Measures ?? [], StringComparer.Ordinal);
        _boardScopes = new HashSet<string>(boards?.Scopes ?? [], StringComparer.Ordinal);
        _boardPeriods = ParsePeriods(boards?.Periods);
        _rollupScopes = new HashSet<string>(rollups?.Scopes ?? [], StringComparer.Ordinal);
        _rollupPeriods = ParsePeriods(rollups?.Periods);
        BoardMeasures = boards?.Measures.ToArray() ?? [];
        BoardScopes = boards?.Scopes.ToArray() ?? [];
        BoardPeriods = _boardPeriods.Order().ToArray();
        TrackedScopes = _boardScopes.Union(_rollupScopes).ToArray();
        TrackedPeriods = _boardPeriods.Union(_rollupPeriods).Order().ToArray();
        Measures = config.Measures.Keys.ToArray();
        SnapshotTop = boards?.SnapshotTop ?? 10_000;
        Goals = GoalPlan.From(config);
        Breakdowns = config.Breakdowns?.ToArray() ?? [];
    }

    /// <summary>The dimensions each user keeps per-value sums for.</summary>
    public IReadOnlyList<string> Breakdowns { get; }

    /// <summary>The tenant's goals: evaluated with each applied event; their calendar instances have cells (a user's level).</summary>
    public GoalPlan Goals { get; }

    public IReadOnlyList<string> BoardMeasures { get; }
    public IReadOnlyList<string> BoardScopes { get; }
    public IReadOnlyList<PeriodKind> BoardPeriods { get; }
    public IReadOnlyList<string> Measures { get; }
    public int SnapshotTop { get; }

    /// <summary>Scopes (<c>global</c> or dimension names) any board or rollup uses.</summary>
    public IReadOnlyList<string> TrackedScopes { get; }

    public IReadOnlyList<PeriodKind> TrackedPeriods { get; }

    /// <summary>No board or rollup cell is kept (goal cells aside).</summary>
    public bool IsEmpty => TrackedScopes.Count == 0 || TrackedPeriods.Count == 0;

    public bool HasBoardFor(string measure) => _boardMeasures.Contains(measure);

    public bool IsBoard(in BoardKey key) =>
        _boardMeasures.Contains(key.Measure) && _boardScopes.Contains(key.Dimension) && _boardPeriods.Contains(key.Period);

    /// <summary>A rollup cell: a declared measure's (never a goal's) in a rollup scope and period.</summary>
    public bool IsRollup(in BoardKey key) =>
        _rollupScopes.Contains(key.Dimension) && _rollupPeriods.Contains(key.Period) && !IsGoalMeasure(key.Measure);

    /// <summary>A goal's cell: a user's level in one calendar instance of a goal the tenant has.</summary>
    public bool IsGoal(in BoardKey key) => Goals.IsGoalCell(key);

    /// <summary>Whether a shard keeps a cell with this key: a board's, a rollup's or a goal's.</summary>
    public bool Keeps(in BoardKey key) => IsGoalMeasure(key.Measure) ? Goals.IsGoalCell(key) : Tracks(key.Measure, key.Dimension, key.Period);

    private static bool IsGoalMeasure(string measure) => measure.StartsWith(GoalRule.CellPrefix, StringComparison.Ordinal);

    public bool IsBoardScope(string dimension) => _boardScopes.Contains(dimension);
    public bool IsBoardPeriod(PeriodKind period) => _boardPeriods.Contains(period);
    public bool IsRollupScope(string dimension) => _rollupScopes.Contains(dimension);
    public bool IsRollupPeriod(PeriodKind period) => _rollupPeriods.Contains(period);

    /// <summary>Whether a cell of this measure, scope and period is kept at all.</summary>
    public bool Tracks(string measure, string dimension, PeriodKind period) =>
        (_boardMeasures.Contains(measure) && _boardScopes.Contains(dimension) && _boardPeriods.Contains(period))
        || (_rollupScopes.Contains(dimension) && _rollupPeriods.Contains(period));

    private static HashSet<PeriodKind> ParsePeriods(List<string>? names)
    {
        var set = new HashSet<PeriodKind>();
        foreach (var name in names ?? [])
            if (Periods.TryParseName(name, out var kind)) set.Add(kind);
        return set;
    }
}
