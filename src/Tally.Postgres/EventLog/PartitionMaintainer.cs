using Npgsql;

namespace Tally.Postgres.EventLog;

/// <summary>Creates monthly event-log partitions: a window around today at start-up, any other month on demand.</summary>
public sealed class PartitionMaintainer(NpgsqlDataSource dataSource)
{
    private readonly HashSet<int> _knownMonths = new();
    private readonly Lock _gate = new();

    private static int MonthOf(DateOnly day) => day.Year * 12 + day.Month - 1;

    /// <summary>Makes sure a partition exists for the month of every day given. Runs outside any caller's
    /// transaction, so a month is remembered only once its partition is committed.</summary>
    public async Task EnsureAsync(IEnumerable<DateOnly> days, CancellationToken ct = default)
    {
        var missing = new Dictionary<int, DateOnly>();
        lock (_gate)
            foreach (var day in days)
                if (!_knownMonths.Contains(MonthOf(day))) missing.TryAdd(MonthOf(day), day);
        if (missing.Count == 0) return;

        await using var conn = await dataSource.OpenConnectionAsync(ct);
        foreach (var (month, day) in missing)
        {
            await using var cmd = new NpgsqlCommand("SELECT tally_ensure_event_partition(@d)", conn);
            cmd.Parameters.AddWithValue("d", day);
            await cmd.ExecuteScalarAsync(ct);
            lock (_gate) _knownMonths.Add(month);
        }
    }

    public Task EnsureWindowAsync(DateOnly today, int behindMonths, int aheadMonths, CancellationToken ct = default)
    {
        var first = new DateOnly(today.Year, today.Month, 1);
        return EnsureAsync(Enumerable.Range(-behindMonths, behindMonths + aheadMonths + 1).Select(first.AddMonths), ct);
    }
}
