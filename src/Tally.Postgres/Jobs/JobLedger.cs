using Npgsql;

namespace Tally.Postgres.Jobs;

/// <summary>
/// The background jobs' ledger (<c>tally_jobs</c>): when each job last finished and what it wrote, and each runner's last
/// run (row <c>run:NAME</c>) with its duration and the work it found, kept in the database so it outlives the silo that ran
/// it; <c>tally jobs</c> shows it to operators.
/// </summary>
internal sealed class JobLedger(NpgsqlDataSource dataSource)
{
    /// <summary>A background runner's last run: row <c>run:NAME</c> of <c>tally_jobs</c>, its duration and the work it found
    /// (users, rows; 0 for an idle run) in <c>detail</c>.</summary>
    public async Task RecordRunAsync(string runner, TimeSpan elapsed, long work, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("""
            INSERT INTO tally_jobs (job, finished_at, rows, detail) VALUES ($1, now(), 0, jsonb_build_object('duration_ms', $2::float8, 'work', $3::bigint))
            ON CONFLICT (job) DO UPDATE SET finished_at = now(), detail = excluded.detail
            """);
        cmd.Parameters.Add(new() { Value = "run:" + runner });
        cmd.Parameters.Add(new() { Value = elapsed.TotalMilliseconds });
        cmd.Parameters.Add(new() { Value = work });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task RecordJobAsync(string job, long rows, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("""
            INSERT INTO tally_jobs (job, finished_at, rows) VALUES ($1, now(), $2)
            ON CONFLICT (job) DO UPDATE SET finished_at = now(), rows = excluded.rows
            """);
        cmd.Parameters.Add(new() { Value = job });
        cmd.Parameters.Add(new() { Value = rows });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Each runner's last run, newest first: when it finished (database clock), how long it took and the work it found.</summary>
    public async Task<List<RunnerRun>> ReadRunsAsync(CancellationToken ct)
    {
        var runs = new List<RunnerRun>();
        await using var cmd = dataSource.CreateCommand("""
            SELECT substr(job, 5), finished_at, (detail ->> 'duration_ms')::float8, COALESCE((detail ->> 'work')::bigint, 0),
                   EXTRACT(EPOCH FROM now() - finished_at)::float8
              FROM tally_jobs WHERE job LIKE 'run:%' AND finished_at IS NOT NULL ORDER BY finished_at DESC
            """);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            runs.Add(new RunnerRun(reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1), TimeSpan.FromMilliseconds(reader.GetDouble(2)),
                reader.GetInt64(3), TimeSpan.FromSeconds(reader.GetDouble(4))));
        return runs;
    }
}

/// <summary>A background runner's last run as the ledger holds it.</summary>
internal sealed record RunnerRun(string Runner, DateTimeOffset FinishedAt, TimeSpan Duration, long Work, TimeSpan Age)
{
    /// <summary>When the run started, by the database clock.</summary>
    public DateTimeOffset StartedAt => FinishedAt - Duration;
}
