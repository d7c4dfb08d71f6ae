using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Tally.Postgres.EventLog;

namespace Tally.Postgres.UserState;

/// <summary>
/// Saves user state in group commits: every grain's save waiting at the same moment goes into one
/// upsert of arrays. A row only replaces a row with an older or equal watermark, so a slow save
/// can never roll a user back.
/// </summary>
internal sealed class UserStateWriter : GroupedWorker<UserStateWriter.PendingSave>
{

    // The batch arrives as one array per column: no stage table, so no COPY round trip and no TOAST
    // compression of the states in a stage (the target column stores them uncompressed, migration 0016).
    private const string Upsert = """
        INSERT INTO user_state AS s (tenant_id, user_id, shard, last_event_id, stats, checkpoint_due_at, checkpoint)
        SELECT DISTINCT ON (tenant_id, user_id) tenant_id, user_id, shard, last_event_id, stats, checkpoint_due_at, checkpoint::jsonb
          FROM unnest($1::text[], $2::text[], $3::integer[], $4::bigint[], $5::bytea[], $6::timestamptz[], $7::text[])
               AS w(tenant_id, user_id, shard, last_event_id, stats, checkpoint_due_at, checkpoint)
         ORDER BY tenant_id, user_id, last_event_id DESC
        ON CONFLICT (tenant_id, user_id) DO UPDATE
           SET shard = excluded.shard, last_event_id = excluded.last_event_id, stats = excluded.stats,
               checkpoint_due_at = excluded.checkpoint_due_at, checkpoint = excluded.checkpoint, saved_at = now()
         WHERE s.last_event_id <= excluded.last_event_id
        """;

    private readonly NpgsqlDataSource _dataSource;
    private readonly EventLogOptions _options;
    private readonly ILogger<UserStateWriter> _logger;

    private readonly Histogram<int> _batchRows;

    public UserStateWriter(NpgsqlDataSource dataSource, IOptions<EventLogOptions> options, IMeterFactory meters, ILogger<UserStateWriter> logger)
        : base("user-state writer")
    {
        _batchRows = meters.Create("Tally.UserState").CreateHistogram<int>("tally_user_state_batch_rows", "{row}", "User states per group save.");
        _dataSource = dataSource;
        _options = options.Value;
        _logger = logger;
    }

    protected override int MaxGroup => _options.MaxBatchRows;
    protected override int LingerMs => _options.LingerMs;

    public Task SaveAsync(UserStateRow row)
    {
        var pending = new PendingSave(row);
        Enqueue(pending);
        return pending.Done.Task;
    }

    protected override void Fail(PendingSave request, Exception error) => request.Done.TrySetException(error);

    protected override Task ServeAsync(List<PendingSave> group) => CommitAsync(group);

    private async Task CommitAsync(List<PendingSave> batch)
    {
        try
        {
            var n = batch.Count;
            var tenants = new string[n];
            var users = new string[n];
            var shards = new int[n];
            var watermarks = new long[n];
            var stats = new byte[n][];
            var due = new DateTime?[n];
            var checkpoints = new string?[n];
            for (var i = 0; i < n; i++)
            {
                var row = batch[i].Row;
                tenants[i] = row.TenantId;
                users[i] = row.UserId;
                shards[i] = row.Shard;
                watermarks[i] = row.LastEventId;
                stats[i] = row.Stats;
                due[i] = row.CheckpointDueAt?.UtcDateTime;
                checkpoints[i] = row.CheckpointJson;
            }
            await using var upsert = _dataSource.CreateCommand(Upsert);
            upsert.Parameters.Add(new() { Value = tenants, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            upsert.Parameters.Add(new() { Value = users, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            upsert.Parameters.Add(new() { Value = shards, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
            upsert.Parameters.Add(new() { Value = watermarks, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
            upsert.Parameters.Add(new() { Value = stats, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
            upsert.Parameters.Add(new() { Value = due, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
            upsert.Parameters.Add(new() { Value = checkpoints, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            await upsert.ExecuteNonQueryAsync();
            _batchRows.Record(batch.Count);
            foreach (var pending in batch) pending.Done.TrySetResult();
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "Saving {Users} user states failed; they stay unsaved and are retried.", batch.Count);
            foreach (var pending in batch) pending.Done.TrySetException(ex);
        }
    }

    public sealed record PendingSave(UserStateRow Row)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
