using System.Diagnostics.Metrics;
using Tally.Contracts;
using Tally.Domain.Boards;
using Tally.Domain.Stats;

namespace Tally.Grains;

internal sealed partial class UserGrain
{
    public async Task<UserStatsSnapshot?> GetStats(long configVersion, int? dayNumber)
    {
        await RefreshTenantAsync(configVersion);
        if (_stats.IsEmpty) return null;
        var now = clock.UtcNow;
        var today = _tenant.Calendar.LocalDate(now);
        var day = dayNumber is { } n ? DateOnly.FromDayNumber(n) : today;
        var view = _stats.View(day);
        var measures = new Dictionary<string, MeasureSnapshot>(view.Measures.Count);
        foreach (var (name, m) in view.Measures)
            measures[name] = new MeasureSnapshot(m.AllTime, m.Year, m.Month, m.Week, m.Day, m.Actions);
        // Taken before the awaits: a write of this user may apply while this read waits for its ranks.
        var ratios = Ratios(view);
        var goals = GoalSnapshots(day);
        var ranks = await RecentRanksAsync(day, today);
        var checkpoint = await CheckpointSnapshotAsync(now);
        return new UserStatsSnapshot(view.Actions, view.LastActionDate?.DayNumber, measures, view.CurrentStreak, view.LongestStreak, ranks,
            checkpoint, ratios, goals);
    }

    public async Task<BreakdownPage?> GetBreakdown(long configVersion, BreakdownRequest request)
    {
        await RefreshTenantAsync(configVersion);
        if (_stats.IsEmpty) return null;
        var config = _tenant.Config;
        var ratios = (config.Ratios ?? []).ToDictionary(r => r.Key, r => (r.Value.Numerator, r.Value.Denominator));
        var query = new BreakdownQuery(request.Sort, request.SortName, request.Descending, request.MinDenominator);
        var lines = query.Apply(_stats.Breakdowns.Of(request.Dimension, request.Period, request.PeriodKey), config.Measures.Keys, ratios);
        var page = lines.Skip(request.Offset).Take(request.Limit)
            .Select(l => new BreakdownEntry(l.Value, l.Measures, l.Actions, l.Ratios)).ToArray();
        return new BreakdownPage(lines.Count, page);
    }


    /// <summary>The ranks of this grain's last stats read, and what they were computed for.</summary>
    private sealed record RecentRanks(DateOnly Day, DateOnly Today, long TenantVersion, long CellsVersion, long AtMs,
        Dictionary<string, Dictionary<string, Dictionary<string, long>>>? Ranks);

    private RecentRanks? _recentRanks;

    /// <summary>
    /// Ranks as of at most <see cref="BoardOptions.StatsRankReuseMs"/> ago: a read that follows another of the same
    /// periods within that time, with the user's own cells unchanged, takes the ranks the first one probed. Other
    /// users' moves then show that much later, on top of the boards' own freshness; the user's own events never
    /// wait (they change <see cref="_cellsVersion"/>).
    /// </summary>
    private async Task<Dictionary<string, Dictionary<string, Dictionary<string, long>>>?> RecentRanksAsync(DateOnly day, DateOnly today)
    {
        // Elapsed time, not the tenant clock: it bounds how far ranks trail the boards, which move in real time.
        var nowMs = Environment.TickCount64;
        var reuseMs = boardOptions.Value.StatsRankReuseMs;
        if (_recentRanks is { } recent && recent.Day == day && recent.Today == today && recent.TenantVersion == _tenant.Version
            && recent.CellsVersion == _cellsVersion && nowMs - recent.AtMs < reuseMs)
        {
            if (recent.Ranks is not null) boardMetrics.RankReads.Add(1, new KeyValuePair<string, object?>("source", "recent"));
            return recent.Ranks;
        }
        var cellsVersion = _cellsVersion;
        var ranks = await RanksAsync(day, today);
        if (ranks is not null) boardMetrics.RankReads.Add(1, new KeyValuePair<string, object?>("source", "probed"));
        // Dated from before the probes, so a reused rank is never older than the option says.
        _recentRanks = reuseMs > 0 ? new RecentRanks(day, today, _tenant.Version, cellsVersion, nowMs, ranks) : null;
        return ranks;
    }

    public async Task<UserBoardUpdate> Republish()
    {
        await SaveIfChangedAsync();
        if (_unsavedEvents > 0)
            throw new InvalidOperationException($"User {_tenantId}/{_userId}: state could not be saved; reconciliation must retry.");
        var cells = new KeyedCell[_stats.Cells.Count];
        var i = 0;
        foreach (var (key, cell) in _stats.Cells) cells[i++] = new KeyedCell(key, cell);
        return new UserBoardUpdate(_userId, _stats.LastEventId, cells);
    }

    /// <summary>Each declared ratio per period: the numerator's sum over the denominator's; null where that is 0.</summary>
    private Dictionary<string, RatioSnapshot>? Ratios(UserStatsView view)
    {
        if (_tenant.Config.Ratios is not { Count: > 0 } ratios) return null;
        var result = new Dictionary<string, RatioSnapshot>(ratios.Count);
        foreach (var (name, ratio) in ratios)
        {
            var num = view.Measures.GetValueOrDefault(ratio.Numerator);
            var den = view.Measures.GetValueOrDefault(ratio.Denominator);
            result[name] = new RatioSnapshot(
                Divide(num?.AllTime, den?.AllTime), Divide(num?.Year, den?.Year), Divide(num?.Month, den?.Month),
                Divide(num?.Week, den?.Week), Divide(num?.Day, den?.Day));
        }
        return result;
    }

    private static decimal? Divide(decimal? numerator, decimal? denominator) => RatioRule.Of(numerator ?? 0m, denominator ?? 0m);

    /// <summary>measure → scope → period → rank, for the boards of the periods that contain <paramref name="day"/>
    /// and are still open; a dimension scope ranks the user where their latest event's value puts them.</summary>
    private async Task<Dictionary<string, Dictionary<string, Dictionary<string, long>>>?> RanksAsync(DateOnly day, DateOnly today)
    {
        var plan = _tenant.Plan;
        var probes = new List<RankProbe>();
        foreach (var measure in plan.BoardMeasures)
            foreach (var scope in plan.BoardScopes)
            {
                var value = "";
                if (scope != BoardKey.Global && !_stats.LatestDims.TryGetValue(scope, out value!)) continue;
                foreach (var period in plan.BoardPeriods)
                {
                    var key = new BoardKey(measure, scope, value, period, Periods.KeyOf(period, day));
                    if (Periods.IsClosed(period, key.PeriodKey, today)) continue;
                    if (_stats.Cells.TryGetValue(key, out var cell))
                        probes.Add(new RankProbe(key, _userId, cell.Score, cell.Reached));
                }
            }
        if (probes.Count == 0) return null;
        var ranks = await rankBatcher.RanksAsync(_tenantId, _tenant.Config.BoardShards, probes.ToArray());
        // Default comparers (ordinal for strings, as StringComparer.Ordinal): Orleans writes a dictionary's comparer
        // with it unless it is the default, which more than doubled this answer's serialization.
        var result = new Dictionary<string, Dictionary<string, Dictionary<string, long>>>();
        for (var i = 0; i < probes.Count; i++)
        {
            var key = probes[i].Board;
            if (!result.TryGetValue(key.Measure, out var byScope)) result[key.Measure] = byScope = new();
            if (!byScope.TryGetValue(key.Dimension, out var byPeriod)) byScope[key.Dimension] = byPeriod = new();
            byPeriod[Periods.Name(key.Period)] = ranks[i];
        }
        return result;
    }
}
