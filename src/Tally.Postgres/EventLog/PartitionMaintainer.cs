using Npgsql;
using Tally.Domain.Config;

namespace Tally.Postgres.EventLog;

/// <summary>
/// Makes sure event-log partitions exist before events need them: for each tenant's whole retention
/// range and some months ahead (at start-up, when a tenant is stored, and by the maintenance job), and
/// on demand for any other month a commit meets. Creation tolerates a concurrent creator (migration
/// 0012), so it never fails a commit.
/// </summary>
internal sealed class PartitionMaintainer(NpgsqlDataSource dataSource)
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

    /// <summary>Creates every month partition from <paramref name="from"/> to <paramref name="to"/>; returns how many were missing.</summary>
    public async Task<int> EnsureRangeAsync(DateOnly from, DateOnly to, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("SELECT tally_ensure_event_partitions($1, $2)");
        cmd.Parameters.Add(new() { Value = from });
        cmd.Parameters.Add(new() { Value = to });
        var created = (int)(await cmd.ExecuteScalarAsync(ct))!;
        lock (_gate)
            for (var day = new DateOnly(from.Year, from.Month, 1); day <= to; day = day.AddMonths(1))
                _knownMonths.Add(MonthOf(day));
        return created;
    }

    /// <summary>The months a tenant's events may fall in: its raw retention back from today, and <paramref name="aheadMonths"/> ahead.</summary>
    public static (DateOnly From, DateOnly To) RangeFor(RetentionConfig retention, DateTimeOffset now, int aheadMonths)
    {
        // A day's events may carry the previous UTC date in the tenant's zone: one month of slack behind.
        var from = DateOnly.FromDateTime(retention.OldestKept(now).UtcDateTime).AddMonths(-1);
        var to = DateOnly.FromDateTime(now.UtcDateTime).AddMonths(aheadMonths);
        return (from, to);
    }

    /// <summary>Partitions for the default retention and every given tenant's, <paramref name="aheadMonths"/> ahead; returns how many were created.</summary>
    public async Task<int> EnsureForTenantsAsync(IEnumerable<RetentionConfig> retentions, DateTimeOffset now, int aheadMonths, CancellationToken ct = default)
    {
        var created = await EnsureForTenantAsync(new RetentionConfig(), now, aheadMonths, ct);
        foreach (var retention in retentions) created += await EnsureForTenantAsync(retention, now, aheadMonths, ct);
        return created;
    }

    public Task<int> EnsureForTenantAsync(RetentionConfig retention, DateTimeOffset now, int aheadMonths, CancellationToken ct = default)
    {
        var (from, to) = RangeFor(retention, now, aheadMonths);
        return EnsureRangeAsync(from, to, ct);
    }
}
