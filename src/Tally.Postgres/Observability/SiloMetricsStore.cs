using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace Tally.Postgres.Observability;

/// <summary>Silos publish their figures here every few seconds; the API reads them for <c>/metrics</c>.</summary>
public sealed class SiloMetricsStore(NpgsqlDataSource dataSource)
{
    public async Task PublishAsync(string silo, IReadOnlyDictionary<string, double> figures, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("""
            INSERT INTO silo_metrics (silo, updated_at, metrics) VALUES ($1, now(), $2)
            ON CONFLICT (silo) DO UPDATE SET updated_at = now(), metrics = excluded.metrics
            """);
        cmd.Parameters.Add(new() { Value = silo });
        cmd.Parameters.Add(new() { Value = JsonSerializer.Serialize(figures), NpgsqlDbType = NpgsqlDbType.Jsonb });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Figures of silos heard from within <paramref name="maxAge"/>.</summary>
    public async Task<List<(string Silo, Dictionary<string, double> Figures)>> ReadRecentAsync(TimeSpan maxAge, CancellationToken ct)
    {
        var rows = new List<(string, Dictionary<string, double>)>();
        await using var cmd = dataSource.CreateCommand("SELECT silo, metrics::text FROM silo_metrics WHERE updated_at > now() - $1 ORDER BY silo");
        cmd.Parameters.Add(new() { Value = maxAge, NpgsqlDbType = NpgsqlDbType.Interval });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            rows.Add((reader.GetString(0), JsonSerializer.Deserialize<Dictionary<string, double>>(reader.GetString(1)) ?? new()));
        return rows;
    }
}
