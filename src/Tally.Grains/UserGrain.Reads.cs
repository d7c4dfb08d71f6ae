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
        var ranks = await RanksAsync(day, today);
        var checkpoint = await CheckpointSnapshotAsync(now);
        return new UserStatsSnapshot(view.Actions, view.LastActionDate?.DayNumber, measures, view.CurrentStreak, view.LongestStreak, ranks,
            checkpoint, Ratios(view));
    }

    public async Task<UserBoardUpdate> Republish()
    {
        await SaveIfChangedAsync();
        if (_unsavedEvents > 0)
            throw new InvalidOperationException($"User {_tenantId}/{_userId}: state could not be saved; reconciliation must retry.");
        var keys = new BoardKey[_stats.Cells.Count];
        var cells = new BoardCell[keys.Length];
        var i = 0;
        foreach (var (key, cell) in _stats.Cells)
        {
            keys[i] = key;
            cells[i++] = cell;
        }
        return new UserBoardUpdate(_userId, _stats.LastEventId, keys, cells);
    }

    /// <summary>Each declared ratio per period: the numerator's sum over the denominator's; null where that is 0.</summary>
    private Dictionary<string, RatioSnapshot>? Ratios(UserStatsView view)
    {
        if (_tenant.Config.Ratios is not { Count: > 0 } ratios) return null;
        var result = new Dictionary<string, RatioSnapshot>(ratios.Count, StringComparer.Ordinal);
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

    private static decimal? Divide(decimal? numerator, decimal? denominator) =>
        denominator is { } d && d != 0 ? (numerator ?? 0m) / d : null;

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
        var result = new Dictionary<string, Dictionary<string, Dictionary<string, long>>>(StringComparer.Ordinal);
        for (var i = 0; i < probes.Count; i++)
        {
            var key = probes[i].Board;
            if (!result.TryGetValue(key.Measure, out var byScope)) result[key.Measure] = byScope = new(StringComparer.Ordinal);
            if (!byScope.TryGetValue(key.Dimension, out var byPeriod)) byScope[key.Dimension] = byPeriod = new(StringComparer.Ordinal);
            byPeriod[Periods.Name(key.Period)] = ranks[i];
        }
        return result;
    }
}
