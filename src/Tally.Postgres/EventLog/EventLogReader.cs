using Npgsql;

namespace Tally.Postgres.EventLog;

/// <summary>Reads a user's events back from the log, in commit order, after a watermark.</summary>
public sealed class EventLogReader(NpgsqlDataSource dataSource)
{
    public async Task<List<LoggedEvent>> ReadUserAfterAsync(string tenantId, string userId, long afterEventId, CancellationToken ct = default)
    {
        var events = new List<LoggedEvent>();
        await using var cmd = dataSource.CreateCommand(EventLogSql.ReplayUser);
        cmd.Parameters.AddWithValue("tenant", tenantId);
        cmd.Parameters.AddWithValue("user", userId);
        cmd.Parameters.AddWithValue("after", afterEventId);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            events.Add(new LoggedEvent(reader.GetInt64(0), reader.GetFieldValue<DateOnly>(1), reader.GetString(2)));
        return events;
    }
}

public sealed record LoggedEvent(long EventId, DateOnly ActionDate, string MeasuresJson);
