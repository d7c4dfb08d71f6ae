using Npgsql;

namespace Tally.Postgres.EventLog;

/// <summary>Creates monthly event-log partitions: a window around today at start-up, any other month on demand.</summary>
public sealed class PartitionMaintainer(NpgsqlDataSource dataSource)
{
    private readonly HashSet<int> _known = new();
    private readonly Lock _gate = new();

    public bool IsKnown(DateOnly day)
    {
        lock (_gate) return _known.Contains(day.Year * 12 + day.Month);
    }

    /// <summary>Makes sure partitions exist for every month in <paramref name="days"/> (within the caller's transaction if given).</summary>
    public async Task EnsureAsync(IEnumerable<DateOnly> days, NpgsqlConnection? conn = null, CancellationToken ct = default)
    {
        List<DateOnly>? missing = null;
        lock (_gate)
            foreach (var day in days)
                if (!_known.Contains(day.Year * 12 + day.Month) && (missing ??= new()).TrueForAll(d => d.Year != day.Year || d.Month != day.Month))
                    missing.Add(day);
        if (missing is null) return;

        NpgsqlConnection? owned = null;
        if (conn is null) conn = owned = await dataSource.OpenConnectionAsync(ct);
        try
        {
            foreach (var day in missing)
            {
                await using var cmd = new NpgsqlCommand("SELECT tally_ensure_event_partition(@d)", conn);
                cmd.Parameters.AddWithValue("d", day);
                await cmd.ExecuteScalarAsync(ct);
                lock (_gate) _known.Add(day.Year * 12 + day.Month);
            }
        }
        finally
        {
            if (owned is not null) await owned.DisposeAsync();
        }
    }

    public Task EnsureWindowAsync(DateOnly today, int behindMonths, int aheadMonths, CancellationToken ct = default)
    {
        var first = new DateOnly(today.Year, today.Month, 1);
        var months = Enumerable.Range(-behindMonths, behindMonths + aheadMonths + 1).Select(first.AddMonths);
        return EnsureAsync(months, null, ct);
    }
}
