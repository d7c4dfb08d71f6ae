using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Tally.Postgres.EventLog;

namespace Tally.Postgres.UserState;

/// <summary>
/// Saves user state in group commits: every grain's save waiting at the same moment goes into one
/// COPY and one upsert. A row only replaces a row with an older or equal watermark, so a slow save
/// can never roll a user back.
/// </summary>
public sealed class UserStateWriter : GroupedWorker<UserStateWriter.PendingSave>
{
    private static readonly Meter Meter = new("Tally.UserState");
    private static readonly Histogram<int> BatchRows = Meter.CreateHistogram<int>("tally_user_state_batch_rows", "{row}", "User states per group save.");

    private const string CreateStage = """
        CREATE TEMP TABLE IF NOT EXISTS user_state_stage (
            tenant_id text, user_id text, shard integer, last_event_id bigint, stats bytea, checkpoint_due_at timestamptz) ON COMMIT DELETE ROWS
        """;

    private const string Copy = "COPY user_state_stage (tenant_id, user_id, shard, last_event_id, stats, checkpoint_due_at) FROM STDIN (FORMAT BINARY)";

    private const string Upsert = """
        INSERT INTO user_state AS s (tenant_id, user_id, shard, last_event_id, stats, checkpoint_due_at)
        SELECT DISTINCT ON (tenant_id, user_id) tenant_id, user_id, shard, last_event_id, stats, checkpoint_due_at
          FROM user_state_stage ORDER BY tenant_id, user_id, last_event_id DESC
        ON CONFLICT (tenant_id, user_id) DO UPDATE
           SET shard = excluded.shard, last_event_id = excluded.last_event_id, stats = excluded.stats,
               checkpoint_due_at = excluded.checkpoint_due_at, saved_at = now()
         WHERE s.last_event_id <= excluded.last_event_id
        """;

    private readonly NpgsqlDataSource _dataSource;
    private readonly EventLogOptions _options;
    private readonly ILogger<UserStateWriter> _logger;

    public UserStateWriter(NpgsqlDataSource dataSource, IOptions<EventLogOptions> options, ILogger<UserStateWriter> logger)
        : base("user-state writer")
    {
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
            await using var conn = await _dataSource.OpenConnectionAsync();
            await using var tx = await conn.BeginTransactionAsync();
            await using (var create = new NpgsqlCommand(CreateStage, conn, tx)) await create.ExecuteNonQueryAsync();
            await using (var copy = await conn.BeginBinaryImportAsync(Copy))
            {
                foreach (var pending in batch)
                {
                    var row = pending.Row;
                    await copy.StartRowAsync();
                    await copy.WriteAsync(row.TenantId, NpgsqlDbType.Text);
                    await copy.WriteAsync(row.UserId, NpgsqlDbType.Text);
                    await copy.WriteAsync(row.Shard, NpgsqlDbType.Integer);
                    await copy.WriteAsync(row.LastEventId, NpgsqlDbType.Bigint);
                    await copy.WriteAsync(row.Stats, NpgsqlDbType.Bytea);
                    if (row.CheckpointDueAt is { } due) await copy.WriteAsync(due.UtcDateTime, NpgsqlDbType.TimestampTz);
                    else await copy.WriteNullAsync();
                }
                await copy.CompleteAsync();
            }
            await using (var upsert = new NpgsqlCommand(Upsert, conn, tx)) await upsert.ExecuteNonQueryAsync();
            await tx.CommitAsync();
            BatchRows.Record(batch.Count);
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
